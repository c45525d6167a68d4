// libFuzzer target: codec::Decompress on untrusted bodies.
//
// Input layout: byte 0 picks the codec (snappy, zstd, none), byte 1 picks a small max_decoded so
// that the declared-size and streaming limit checks are reached often; the rest is the body.
// Results are checked against the reference libraries: whatever Decompress accepts must be what
// snappy/zstd themselves decode, within the limit, and its errors must be the documented ones.
#include <snappy.h>
#include <zstd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/codec/remote_write.h"

namespace {

using canaryd::Errc;
using canaryd::codec::Compression;

constexpr std::array<size_t, 8> kLimits = {0, 1, 64, 1000, 4096, 65536, 300'000, size_t{1} << 20};

void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

void CheckSnappy(std::string_view in, size_t limit, const canaryd::Result<void>& r,
                 const std::string& out) {
  size_t declared = 0;
  const bool header_ok = snappy::GetUncompressedLength(in.data(), in.size(), &declared);
  if (r) {
    Check(header_ok && declared <= limit && out.size() == declared);
    std::string ref;
    Check(snappy::Uncompress(in.data(), in.size(), &ref) && ref == out);
    return;
  }
  if (r.error() == make_error_code(Errc::kTooLarge)) {
    Check(header_ok && declared > limit);
    return;
  }
  Check(r.error() == make_error_code(Errc::kCorruptCompressed));
  Check(!header_ok || (declared <= limit && !snappy::IsValidCompressedBuffer(in.data(), in.size())));
}

// The reference: libzstd's streaming decoder in one call sequence into a buffer one byte over the
// limit. (Not ZSTD_decompress: the one-shot API rejects some frames the streaming API accepts,
// e.g. a compressed block of size 0, and production uses the streaming API for frames that do
// not declare their size.)
bool ReferenceZstd(std::string_view in, size_t limit, std::vector<char>& ref) {
  static ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  ref.assign(limit + 1, '\0');
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  ZSTD_outBuffer output{ref.data(), ref.size(), 0};
  for (int i = 0; i < 1'000'000; ++i) {
    const size_t ret = ZSTD_decompressStream(dctx, &output, &input);
    if (ZSTD_isError(ret) || output.pos == output.size) {
      return false;  // corrupt, or over the limit
    }
    if (input.pos == input.size) {
      if (ret == 0) {
        ref.resize(output.pos);
        return true;
      }
      return false;  // truncated inside a frame
    }
  }
  return false;
}

void CheckZstd(std::string_view in, size_t limit, const canaryd::Result<void>& r,
               const std::string& out) {
  if (r) {
    Check(out.size() <= limit);
    // Whatever we accept, the reference accepts too, with the same bytes.
    static std::vector<char> ref;
    Check(ReferenceZstd(in, limit, ref) &&
          std::string_view(ref.data(), ref.size()) == std::string_view(out));
    return;
  }
  Check(r.error() == make_error_code(Errc::kTooLarge) ||
        r.error() == make_error_code(Errc::kCorruptCompressed));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  static constexpr std::array<Compression, 3> kCodecs = {Compression::kSnappy, Compression::kZstd,
                                                         Compression::kNone};
  const Compression codec = kCodecs[data[0] % kCodecs.size()];
  const size_t limit = kLimits[data[1] % kLimits.size()];
  // An exactly-sized copy, so that ASan catches reads past the end of the body.
  const std::vector<char> body(data + 2, data + size);
  const std::string_view in(body.data(), body.size());

  // Reused across inputs, as the server reuses its per-thread buffer: stale contents must never
  // leak into a result.
  static std::string out;
  const auto r = canaryd::codec::Decompress(codec, in, limit, out);
  switch (codec) {
    case Compression::kSnappy:
      CheckSnappy(in, limit, r, out);
      break;
    case Compression::kZstd:
      CheckZstd(in, limit, r, out);
      break;
    case Compression::kNone:
      Check(r ? in.size() <= limit && out == in
              : in.size() > limit && r.error() == make_error_code(Errc::kTooLarge));
      break;
  }
  return 0;
}
