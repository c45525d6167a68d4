// Decompress: snappy block format, zstd (with and without a declared frame size) and identity,
// each with the decoded-size limit checked before allocating.

#include <gtest/gtest.h>
#include <snappy.h>
#include <zstd.h>

#include <random>

#include "codec_test_util.h"

namespace canaryd::codec::testing {
namespace {

using namespace std::string_literals;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Compressible(size_t n) {
  std::string s;
  s.reserve(n);
  while (s.size() < n) s += "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} ";
  s.resize(n);
  return s;
}

// A zstd frame without a content size, as streaming compressors (vmagent) write.
std::string ZstdStreaming(std::string_view raw) {
  ZSTD_CStream* cs = ZSTD_createCStream();
  ZSTD_initCStream(cs, 3);
  std::string out(ZSTD_compressBound(raw.size()) + ZSTD_CStreamOutSize(), '\0');
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  // Feed in pieces so the compressor cannot know the total size.
  for (size_t off = 0; off < raw.size(); off += 1000) {
    ZSTD_inBuffer in{raw.data() + off, std::min<size_t>(1000, raw.size() - off), 0};
    while (in.pos < in.size) {
      const size_t r = ZSTD_compressStream(cs, &o, &in);
      EXPECT_FALSE(ZSTD_isError(r));
    }
  }
  for (;;) {
    const size_t r = ZSTD_endStream(cs, &o);
    EXPECT_FALSE(ZSTD_isError(r));
    if (r == 0) break;
  }
  ZSTD_freeCStream(cs);
  out.resize(o.pos);
  return out;
}

TEST(DecompressTest, SnappyRoundTrip) {
  for (size_t n : {0u, 1u, 100u, 65536u, 1000000u}) {
    const std::string raw = n % 2 ? RandomBytes(n, 7) : Compressible(n);
    std::string out = "stale contents";
    ASSERT_TRUE(Decompress(Compression::kSnappy, testutil::Snappy(raw), 1 << 20, out)) << n;
    EXPECT_EQ(out, raw) << n;
  }
}

TEST(DecompressTest, SnappyAtTheLimitIsAccepted) {
  const std::string raw = Compressible(4096);
  std::string out;
  EXPECT_TRUE(Decompress(Compression::kSnappy, testutil::Snappy(raw), 4096, out));
  EXPECT_EQ(out, raw);
  const auto r = Decompress(Compression::kSnappy, testutil::Snappy(raw), 4095, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrcOf(r), Errc::kTooLarge);
}

TEST(DecompressTest, CorruptSnappyIsRejected) {
  const std::string good = testutil::Snappy(Compressible(10000));
  std::string out;
  const std::vector<std::string> bad = {
      ""s,                                          // no preamble
      "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"s,  // preamble is not a varint32
      good.substr(0, good.size() / 2),              // truncated
      "\x0a\xf0"s,                                  // declares 10 bytes, then garbage
      "sNaPpY"s,                                    // framed-format stream identifier
  };
  for (const auto& b : bad) {
    const auto r = Decompress(Compression::kSnappy, b, 1 << 20, out);
    ASSERT_FALSE(r) << ::testing::PrintToString(b);
    EXPECT_EQ(ErrcOf(r), Errc::kCorruptCompressed) << ::testing::PrintToString(b);
  }
  // A copy reaching before the start of the output.
  std::string corrupt = good;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  corrupt[corrupt.size() / 3] ^= 0x33;
  std::string tmp;
  if (!snappy::Uncompress(corrupt.data(), corrupt.size(), &tmp)) {
    EXPECT_FALSE(Decompress(Compression::kSnappy, corrupt, 1 << 20, out));
  }
}

TEST(DecompressTest, SnappyDeclaredSizeOverLimitFailsBeforeAllocating) {
  // Five bytes declaring 4 GiB - 1 of output (the largest varint32), followed by a literal tag.
  const std::string bomb = "\xff\xff\xff\xff\x0f\x00"s;
  size_t declared = 0;
  ASSERT_TRUE(snappy::GetUncompressedLength(bomb.data(), bomb.size(), &declared));
  EXPECT_EQ(declared, 0xffffffffu);
  std::string out;
  const auto r = Decompress(Compression::kSnappy, bomb, 32 << 20, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrcOf(r), Errc::kTooLarge);
  EXPECT_LT(out.capacity(), 1024u);  // nothing was reserved for the declared size
  // 4 GiB exactly does not fit snappy's 32-bit length: the preamble itself is corrupt.
  const std::string four_gib = "\x80\x80\x80\x80\x10\x00"s;
  const auto r2 = Decompress(Compression::kSnappy, four_gib, 32 << 20, out);
  ASSERT_FALSE(r2);
  EXPECT_LT(out.capacity(), 1024u);
}

TEST(DecompressTest, ZstdWithDeclaredSize) {
  const std::string raw = Compressible(200000);
  const std::string z = testutil::Zstd(raw);
  ASSERT_EQ(ZSTD_getFrameContentSize(z.data(), z.size()), raw.size());
  std::string out;
  ASSERT_TRUE(Decompress(Compression::kZstd, z, raw.size(), out));
  EXPECT_EQ(out, raw);
  const auto r = Decompress(Compression::kZstd, z, raw.size() - 1, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrcOf(r), Errc::kTooLarge);
}

TEST(DecompressTest, ZstdDeclaredSizeOverLimitFailsBeforeAllocating) {
  const std::string raw = Compressible(1 << 20);
  const std::string z = testutil::Zstd(raw);
  std::string out;
  const auto r = Decompress(Compression::kZstd, z, 1000, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrcOf(r), Errc::kTooLarge);
  EXPECT_LT(out.capacity(), 1024u);
}

TEST(DecompressTest, ZstdStreamingFrameWithoutDeclaredSize) {
  for (size_t n : {0u, 1u, 5000u, 131072u, 131073u, 1000000u}) {
    const std::string raw = n % 2 ? RandomBytes(n, 3) : Compressible(n);
    const std::string z = ZstdStreaming(raw);
    if (n > 0) {  // an empty stream ends before any input, so zstd does know its size (0)
      ASSERT_EQ(ZSTD_getFrameContentSize(z.data(), z.size()), ZSTD_CONTENTSIZE_UNKNOWN) << n;
    }
    std::string out = "stale";
    ASSERT_TRUE(Decompress(Compression::kZstd, z, 1 << 20, out)) << n;
    EXPECT_EQ(out, raw) << n;
    // Exactly at the limit is fine; one byte under is not.
    ASSERT_TRUE(Decompress(Compression::kZstd, z, n, out)) << n;
    EXPECT_EQ(out, raw);
    if (n > 0) {
      const auto r = Decompress(Compression::kZstd, z, n - 1, out);
      ASSERT_FALSE(r) << n;
      EXPECT_EQ(ErrcOf(r), Errc::kTooLarge) << n;
    }
  }
}

TEST(DecompressTest, ZstdStreamingBombStopsAtTheLimit) {
  // 64 MiB of zeros compress to a few KiB; decoding must stop near the 1 MiB limit.
  const std::string raw(64 << 20, '\0');
  const std::string z = ZstdStreaming(raw);
  ASSERT_LT(z.size(), 64u << 10);
  std::string out;
  const auto r = Decompress(Compression::kZstd, z, 1 << 20, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrcOf(r), Errc::kTooLarge);
  EXPECT_LE(out.size(), (1u << 20) + 1);
  EXPECT_LE(out.capacity(), 4u << 20);
}

TEST(DecompressTest, CorruptZstdIsRejected) {
  const std::string raw = RandomBytes(50000, 1) + Compressible(50000);
  const std::string sized = testutil::Zstd(raw);
  const std::string streamed = ZstdStreaming(raw);
  std::string out;
  const std::vector<std::string> bad = {
      ""s,
      "not zstd at all"s,
      "\x28\xb5\x2f\xfd"s,                      // magic number only
      sized.substr(0, sized.size() - 10),       // truncated, declared size
      streamed.substr(0, streamed.size() - 10),  // truncated, streaming
      streamed.substr(0, streamed.size() / 2),
      streamed + "trailing garbage",
      testutil::Snappy(raw),                    // the wrong codec
  };
  for (const auto& b : bad) {
    const auto r = Decompress(Compression::kZstd, b, 1 << 20, out);
    ASSERT_FALSE(r) << b.size();
    EXPECT_EQ(ErrcOf(r), Errc::kCorruptCompressed) << b.size();
  }
}

TEST(DecompressTest, TwoStreamingZstdFramesConcatenate) {
  // zstd defines concatenated frames as the concatenation of their contents.
  const std::string a = Compressible(3000), b = RandomBytes(3000, 9);
  std::string out;
  ASSERT_TRUE(Decompress(Compression::kZstd, ZstdStreaming(a) + ZstdStreaming(b), 1 << 20, out));
  EXPECT_EQ(out, a + b);
}

TEST(DecompressTest, TwoZstdFramesWithDeclaredSizesConcatenate) {
  const std::string a = Compressible(3000), b = RandomBytes(3000, 7);
  const std::string z = testutil::Zstd(a) + testutil::Zstd(b);
  ASSERT_EQ(ZSTD_getFrameContentSize(z.data(), z.size()), a.size());  // first frame only
  std::string out;
  ASSERT_TRUE(Decompress(Compression::kZstd, z, 1 << 20, out));
  EXPECT_EQ(out, a + b);
  // The limit applies to the total, not to the first frame.
  const auto r = Decompress(Compression::kZstd, z, a.size() + b.size() - 1, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrcOf(r), Errc::kTooLarge);
}

TEST(DecompressTest, SkippableFrameBeforeDataIsIgnored) {
  const std::string a = Compressible(5000);
  std::string skippable("\x50\x2a\x4d\x18\x04\x00\x00\x00" "abcd", 12);  // magic, size 4, payload
  std::string out;
  ASSERT_TRUE(Decompress(Compression::kZstd, skippable + testutil::Zstd(a), 1 << 20, out));
  EXPECT_EQ(out, a);
}

TEST(DecompressTest, NoneCopiesAndChecksTheLimit) {
  std::string out = "previous";
  ASSERT_TRUE(Decompress(Compression::kNone, "hello", 5, out));
  EXPECT_EQ(out, "hello");
  ASSERT_TRUE(Decompress(Compression::kNone, "", 0, out));
  EXPECT_EQ(out, "");
  const auto r = Decompress(Compression::kNone, "hello", 4, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrcOf(r), Errc::kTooLarge);
}

TEST(DecompressTest, OutputBufferIsReused) {
  const std::string raw = Compressible(100000);
  const std::string z = testutil::Snappy(raw);
  std::string out;
  ASSERT_TRUE(Decompress(Compression::kSnappy, z, 1 << 20, out));
  const char* data = out.data();
  ASSERT_TRUE(Decompress(Compression::kSnappy, testutil::Snappy(raw.substr(0, 5000)), 1 << 20, out));
  EXPECT_EQ(out.data(), data);  // shrinking does not reallocate
  EXPECT_EQ(out, raw.substr(0, 5000));
}

TEST(DecompressTest, DecompressedRequestDecodes) {
  const std::string body = testutil::Encode(testutil::RealisticV1(100, 1'700'000'000'000));
  for (auto [c, wire] : {std::pair{Compression::kSnappy, testutil::Snappy(body)},
                         std::pair{Compression::kZstd, testutil::Zstd(body)},
                         std::pair{Compression::kZstd, ZstdStreaming(body)},
                         std::pair{Compression::kNone, body}}) {
    std::string out;
    ASSERT_TRUE(Decompress(c, wire, 32 << 20, out));
    ASSERT_EQ(out, body);
    RemoteWriteDecoder decoder;
    model::SeriesBatch batch;
    DecodeReport report;
    ASSERT_TRUE(decoder.Decode(ProtocolVersion::kV1, out, {}, batch, report));
    EXPECT_EQ(batch.series.size(), 100u);
  }
}

}  // namespace
}  // namespace canaryd::codec::testing
