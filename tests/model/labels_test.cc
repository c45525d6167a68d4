#include "canaryd/model/labels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "canaryd/model/sample.h"
#include "prometheus/types.pb.h"

namespace canaryd::model {
namespace {

using namespace std::string_literals;

// ---------------------------------------------------------------------------------------------
// IsValidUtf8

TEST(Utf8Test, AcceptsEmptyAndAscii) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("a"));
  EXPECT_TRUE(IsValidUtf8("http_requests_total"));
  // Every ASCII byte including NUL and DEL, long enough to use the 8-byte fast path.
  std::string all;
  for (int c = 0; c < 0x80; ++c) {
    all.push_back(static_cast<char>(c));
  }
  EXPECT_TRUE(IsValidUtf8(all));
}

TEST(Utf8Test, AcceptsMultibyteAtEveryLength) {
  EXPECT_TRUE(IsValidUtf8("\xc2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xdf\xbf"));          // U+07FF, largest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xe0\xa0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8("\xee\x80\x80"));      // U+E000, just above the surrogates
  EXPECT_TRUE(IsValidUtf8("\xef\xbf\xbf"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xf0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, largest code point
  EXPECT_TRUE(IsValidUtf8("Grüße, 世界 🙂"));
  EXPECT_TRUE(IsValidUtf8("abcdefgh\xc3\xa9" "abcdefgh"));  // multibyte between fast-path runs
}

TEST(Utf8Test, RejectsOverlongEncodings) {
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // NUL as 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // U+007F as 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\x80"));      // NUL as 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x9f\xbf"));      // U+07FF as 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x80\x80\x80"));  // NUL as 4 bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));  // U+FFFF as 4 bytes
  EXPECT_FALSE(IsValidUtf8("/\xc0\xaf"));         // the classic overlong '/'
}

TEST(Utf8Test, RejectsSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // U+D800
  EXPECT_FALSE(IsValidUtf8("\xed\xaf\xbf"));  // U+DBFF
  EXPECT_FALSE(IsValidUtf8("\xed\xb0\x80"));  // U+DC00
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));  // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\xbd\xed\xb8\x82"));  // CESU-8 surrogate pair
}

TEST(Utf8Test, RejectsCodePointsAboveMax) {
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xf7\xbf\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // old 5-byte form
  EXPECT_FALSE(IsValidUtf8("\xfc\x84\x80\x80\x80\x80"));  // old 6-byte form
  EXPECT_FALSE(IsValidUtf8("\xfe"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(Utf8Test, RejectsTruncatedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x99"));
  EXPECT_FALSE(IsValidUtf8("abc\xf0\x9f"));
  // Truncated in the middle, followed by ASCII: the continuation check must catch it.
  EXPECT_FALSE(IsValidUtf8("\xe2\x82" "a"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x99" "abcdefghij"));
}

TEST(Utf8Test, RejectsStrayContinuationBytes) {
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xbf"));
  EXPECT_FALSE(IsValidUtf8("a\x80z"));
  EXPECT_FALSE(IsValidUtf8("\xc3\xa9\xa9"));  // one continuation too many
  EXPECT_FALSE(IsValidUtf8("abcdefgh\x80"));  // right after a fast-path run
}

TEST(Utf8Test, RejectsBadContinuationByte) {
  EXPECT_FALSE(IsValidUtf8("\xc3\x28"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x28\xa1"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82\x28"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x28\x8c\xbc"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x90\x28\xbc"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x90\x8c\x28"));
  EXPECT_FALSE(IsValidUtf8("\xc3\xc3"));
}

TEST(Utf8Test, DoesNotReadPastTheView) {
  // The view ends inside a sequence whose continuation bytes exist in the buffer behind it.
  const std::string buf = "ab\xc3\xa9";
  EXPECT_TRUE(IsValidUtf8(buf));
  EXPECT_FALSE(IsValidUtf8(std::string_view(buf).substr(0, 3)));
  const std::string four = "\xf0\x9f\x99\x82";
  for (size_t n = 1; n < four.size(); ++n) {
    EXPECT_FALSE(IsValidUtf8(std::string_view(four).substr(0, n))) << n;
  }
}

// Cross-check against a straightforward decoder on every 1-, 2- and 3-byte string built from a
// set of interesting bytes (covers all the boundary lead and continuation bytes).
bool ReferenceUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;  // truncated
    }
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

TEST(Utf8Test, MatchesReferenceOnAllShortCombinations) {
  const std::vector<unsigned char> bytes = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                            0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec,
                                            0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff};
  size_t checked = 0;
  for (auto a : bytes) {
    for (auto b : bytes) {
      for (auto c : bytes) {
        for (auto d : bytes) {
          std::string s{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                        static_cast<char>(d)};
          for (size_t len = 1; len <= 4; ++len) {
            const std::string_view v(s.data(), len);
            ASSERT_EQ(IsValidUtf8(v), ReferenceUtf8(v)) << testing::PrintToString(std::string(v));
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 1000000u);
}

// ---------------------------------------------------------------------------------------------
// Label keys

// The key for a sorted label set, encoded by libprotobuf (an independent encoder).
std::string ProtoKey(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out;
  for (const auto& [n, v] : labels) {
    prometheus::Label l;
    l.set_name(n);
    l.set_value(v);
    const std::string inner = l.SerializeAsString();
    out.push_back('\x0a');
    size_t len = inner.size();
    while (len >= 0x80) {
      out.push_back(static_cast<char>((len & 0x7f) | 0x80));
      len >>= 7;
    }
    out.push_back(static_cast<char>(len));
    out += inner;
  }
  return out;
}

TEST(LabelKeyTest, AppendLabelMatchesProtobufEncoding) {
  const std::vector<std::pair<std::string, std::string>> labels = {
      {"__name__", "up"}, {"instance", "localhost:9090"}, {"job", "prometheus"}};
  std::string key;
  for (const auto& [n, v] : labels) {
    AppendLabel(key, n, v);
  }
  EXPECT_EQ(key, ProtoKey(labels));
  // Label 1 is "0a <inner len 14> 0a 08 __name__ 12 02 up".
  EXPECT_EQ(key.substr(0, 16), "\x0a\x0e\x0a\x08__name__\x12\x02up"s);
}

TEST(LabelKeyTest, AppendLabelUsesMultiByteVarintsForLongText) {
  // 127/128 and 16383/16384 are the one/two/three byte varint boundaries.
  for (size_t name_len : {1u, 127u, 128u, 300u}) {
    for (size_t value_len : {1u, 120u, 127u, 128u, 16383u, 16384u, 70000u}) {
      const std::string name(name_len, 'n');
      const std::string value(value_len, 'v');
      std::string key;
      AppendLabel(key, name, value);
      EXPECT_EQ(key, ProtoKey({{name, value}})) << name_len << "/" << value_len;
      EXPECT_EQ(key.size(), EncodedLabelSize(name_len, value_len)) << name_len << "/" << value_len;

      std::string written(EncodedLabelSize(name_len, value_len), '\0');
      char* end = WriteLabel(written.data(), name, value);
      EXPECT_EQ(end, written.data() + written.size());
      EXPECT_EQ(written, key);

      LabelKeyReader reader(key);
      LabelView l;
      ASSERT_TRUE(reader.Next(l));
      EXPECT_EQ(l.name, name);
      EXPECT_EQ(l.value, value);
      EXPECT_FALSE(reader.Next(l));
    }
  }
}

TEST(LabelKeyTest, ReaderRoundTripsAppendedLabels) {
  const std::vector<std::pair<std::string, std::string>> labels = {
      {"__name__", "http_requests_total"},
      {"code", "200"},
      {"handler", "/api/v1/write"},
      {"le", "+Inf"},
      {"path", std::string(200, 'p')},
      {"zone", "eu-west-1a \"quoted\" \\ ü"}};
  std::string key;
  for (const auto& [n, v] : labels) {
    AppendLabel(key, n, v);
  }
  LabelKeyReader reader(key);
  LabelView l;
  std::vector<std::pair<std::string, std::string>> read;
  while (reader.Next(l)) {
    read.emplace_back(l.name, l.value);
  }
  EXPECT_EQ(read, labels);
  EXPECT_FALSE(reader.Next(l));  // stays at the end
}

TEST(LabelKeyTest, ReaderOnEmptyKeyReturnsNothing) {
  LabelKeyReader reader("");
  LabelView l;
  EXPECT_FALSE(reader.Next(l));
}

TEST(LabelKeyTest, ReaderStopsEarlyOnGarbageWithoutOverreading) {
  std::string good;
  AppendLabel(good, "__name__", "up");
  AppendLabel(good, "job", "node");
  // Every truncation of a valid key yields only the complete labels before the cut.
  for (size_t cut = 0; cut < good.size(); ++cut) {
    const std::string truncated = good.substr(0, cut);  // own buffer: ASan catches overreads
    LabelKeyReader reader(truncated);
    LabelView l;
    int n = 0;
    while (reader.Next(l)) {
      ++n;
    }
    EXPECT_LE(n, 1) << cut;
  }
  const std::vector<std::string> garbage = {
      "\x0a",           "\x0a\xff",         "\x0a\x05\x0a\x09xx",   "\x12\x02\x0a\x00",
      "\x0a\x02\x0a\x05", "\x0a\x04\x12\x00\x0a\x00", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
      "\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"};
  for (const auto& g : garbage) {
    const std::string copy = g;
    LabelKeyReader reader(copy);
    LabelView l;
    EXPECT_FALSE(reader.Next(l)) << testing::PrintToString(g);
  }
}

TEST(LabelKeyTest, FindLabelReturnsValueOrEmpty) {
  std::string key;
  AppendLabel(key, "__name__", "up");
  AppendLabel(key, "instance", "a:1");
  AppendLabel(key, "job", "node");
  EXPECT_EQ(FindLabel(key, "__name__"), "up");
  EXPECT_EQ(FindLabel(key, "instance"), "a:1");
  EXPECT_EQ(FindLabel(key, "job"), "node");
  EXPECT_EQ(FindLabel(key, "missing"), "");
  EXPECT_EQ(FindLabel(key, "jo"), "");
  EXPECT_EQ(FindLabel(key, ""), "");
  EXPECT_EQ(FindLabel("", "job"), "");
}

TEST(LabelKeyTest, FormatLabelKeyPutsNameFirstAndEscapes) {
  std::string key;
  AppendLabel(key, "__name__", "up");
  AppendLabel(key, "instance", "a:1");
  AppendLabel(key, "msg", "say \"hi\"\\\nbye");
  EXPECT_EQ(FormatLabelKey(key), "up{instance=\"a:1\", msg=\"say \\\"hi\\\"\\\\\\nbye\"}");

  std::string no_name;
  AppendLabel(no_name, "job", "x");
  EXPECT_EQ(FormatLabelKey(no_name), "{job=\"x\"}");

  std::string only_name;
  AppendLabel(only_name, "__name__", "up");
  EXPECT_EQ(FormatLabelKey(only_name), "up{}");
  EXPECT_EQ(FormatLabelKey(""), "{}");
}

TEST(LabelKeyTest, FormatLabelKeyTruncatesAtMaxLen) {
  std::string key;
  AppendLabel(key, "__name__", "metric");
  for (int i = 0; i < 100; ++i) {
    AppendLabel(key, "label_" + std::to_string(1000 + i), std::string(20, 'x'));
  }
  const std::string full = FormatLabelKey(key, 1u << 20);
  EXPECT_GT(full.size(), 512u);
  EXPECT_EQ(full.back(), '}');

  const std::string cut = FormatLabelKey(key);
  EXPECT_EQ(cut.size(), 512u + 3);
  EXPECT_EQ(cut.substr(cut.size() - 3), "...");
  EXPECT_EQ(cut.substr(0, 512), full.substr(0, 512));

  const std::string tiny = FormatLabelKey(key, 10);
  EXPECT_EQ(tiny, "metric{lab...");

  // Exactly at the limit: no ellipsis.
  std::string small;
  AppendLabel(small, "__name__", "up");
  AppendLabel(small, "a", "b");
  const std::string s = FormatLabelKey(small);
  EXPECT_EQ(s, "up{a=\"b\"}");
  EXPECT_EQ(FormatLabelKey(small, s.size()), s);
  EXPECT_EQ(FormatLabelKey(small, s.size() - 1), s.substr(0, s.size() - 1) + "...");
}

TEST(LabelKeyTest, HashIsDeterministicAndKeySensitive) {
  std::string a, b, c;
  AppendLabel(a, "__name__", "up");
  AppendLabel(a, "job", "node");
  AppendLabel(b, "__name__", "up");
  AppendLabel(b, "job", "node");
  AppendLabel(c, "__name__", "up");
  AppendLabel(c, "job", "nodf");
  EXPECT_EQ(HashLabelKey(a), HashLabelKey(b));
  EXPECT_EQ(HashLabelKey(a), HashLabelKey(std::string_view(a)));
  EXPECT_NE(HashLabelKey(a), HashLabelKey(c));
  EXPECT_NE(HashLabelKey(a), HashLabelKey(""));
  // Label boundaries are part of the key: {ab="c"} and {a="bc"} differ.
  std::string d, e;
  AppendLabel(d, "ab", "c");
  AppendLabel(e, "a", "bc");
  EXPECT_NE(d, e);
  EXPECT_NE(HashLabelKey(d), HashLabelKey(e));
}

TEST(LabelKeyTest, HashDependsOnBytesNotAddress) {
  std::string key;
  AppendLabel(key, "__name__", "up");
  std::string padded = "xxx" + key;
  EXPECT_EQ(HashLabelKey(key), HashLabelKey(std::string_view(padded).substr(3)));
}

// ---------------------------------------------------------------------------------------------
// Samples

TEST(SampleTest, StaleNaNHasExactBitPattern) {
  const double stale = StaleNaN();
  EXPECT_TRUE(std::isnan(stale));
  EXPECT_TRUE(IsStaleNaN(stale));
  EXPECT_EQ(std::bit_cast<uint64_t>(stale), 0x7ff0000000000002ULL);
  EXPECT_FALSE(IsStaleNaN(std::bit_cast<double>(0x7ff8000000000001ULL)));  // Prometheus NaN
  EXPECT_FALSE(IsStaleNaN(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(IsStaleNaN(std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(IsStaleNaN(0.0));
}

}  // namespace
}  // namespace canaryd::model
