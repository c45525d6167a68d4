#include <snappy.h>
#include <zstd.h>

#include <algorithm>
#include <memory>

#include "canaryd/codec/remote_write.h"

namespace canaryd::codec {
namespace {

Result<void> DecompressSnappy(std::string_view in, size_t max_decoded, std::string& out) {
  size_t len = 0;
  // The varint preamble declares the decoded size: check it before allocating anything, so a
  // few bytes cannot make us reserve gigabytes.
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &len)) {
    return make_error_code(Errc::kCorruptCompressed);
  }
  if (len > max_decoded) {
    return make_error_code(Errc::kTooLarge);
  }
  out.resize(len);
  if (!snappy::RawUncompress(in.data(), in.size(), out.data())) {
    return make_error_code(Errc::kCorruptCompressed);
  }
  return {};
}

Result<void> DecompressZstd(std::string_view in, size_t max_decoded, std::string& out) {
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    return make_error_code(Errc::kCorruptCompressed);
  }
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > max_decoded) {
    return make_error_code(Errc::kTooLarge);  // the first frame alone is over the limit
  }
  // One frame that declares its size: decode in one call into an exactly sized buffer.
  // Several frames (or a skippable one) go through the bounded streaming loop below.
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN &&
      ZSTD_findFrameCompressedSize(in.data(), in.size()) == in.size()) {
    out.resize(declared);
    const size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(n) || n != declared) {
      return make_error_code(Errc::kCorruptCompressed);
    }
    return {};
  }
  // Streaming frames (vmagent writes these) do not declare their size: decode in steps and stop
  // as soon as the output would pass the limit.
  thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(),
                                                                         &ZSTD_freeDCtx);
  ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);
  out.clear();
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t produced = 0;
  for (;;) {
    if (out.size() - produced < ZSTD_DStreamOutSize()) {
      const size_t grow = std::max<size_t>(out.size(), ZSTD_DStreamOutSize());
      if (out.size() >= max_decoded + 1) {
        return make_error_code(Errc::kTooLarge);
      }
      out.resize(std::min(out.size() + grow, max_decoded + 1));
    }
    ZSTD_outBuffer output{out.data(), out.size(), produced};
    const size_t ret = ZSTD_decompressStream(dctx.get(), &output, &input);
    if (ZSTD_isError(ret)) {
      return make_error_code(Errc::kCorruptCompressed);
    }
    produced = output.pos;
    if (produced > max_decoded) {
      return make_error_code(Errc::kTooLarge);
    }
    if (ret == 0 && input.pos == input.size) {
      break;  // frame complete and all input consumed
    }
    if (input.pos == input.size && output.pos < output.size) {
      return make_error_code(Errc::kCorruptCompressed);  // input ended inside a frame
    }
  }
  out.resize(produced);
  return {};
}

}  // namespace

Result<void> Decompress(Compression c, std::string_view in, size_t max_decoded, std::string& out) {
  switch (c) {
    case Compression::kSnappy:
      return DecompressSnappy(in, max_decoded, out);
    case Compression::kZstd:
      return DecompressZstd(in, max_decoded, out);
    case Compression::kNone:
      if (in.size() > max_decoded) {
        return make_error_code(Errc::kTooLarge);
      }
      out.assign(in);
      return {};
  }
  return make_error_code(Errc::kUnsupportedEncoding);
}

}  // namespace canaryd::codec
