#include "scrape/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace canaryd::scrape {

GunzipStatus Gunzip(std::string_view in, size_t limit, std::string& out, std::string& error) {
  out.clear();
  z_stream zs{};
  // 16 + MAX_WBITS: gzip framing only (a zlib or raw deflate body is not gzip).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    error = "zlib initialisation failed";
    return GunzipStatus::kCorrupt;
  }
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&zs};
  // Bodies compress 5-20x; start there and grow geometrically.
  out.resize(std::min(limit + 1, std::max<size_t>(in.size() * 8, 64 * 1024)));
  size_t produced = 0;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  size_t in_left = in.size();
  while (true) {
    if (produced == out.size()) {
      if (out.size() > limit) {
        return GunzipStatus::kTooLarge;
      }
      out.resize(std::min(limit + 1, out.size() * 2));
    }
    const size_t in_chunk = std::min<size_t>(in_left, UINT_MAX);
    const size_t out_chunk = std::min<size_t>(out.size() - produced, UINT_MAX);
    zs.avail_in = static_cast<uInt>(in_chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out_chunk);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    produced += out_chunk - zs.avail_out;
    if (produced > limit) {
      return GunzipStatus::kTooLarge;
    }
    if (rc == Z_STREAM_END) {
      if (in_left == 0) {
        break;
      }
      // Another gzip member follows.
      if (inflateReset(&zs) != Z_OK) {
        error = "zlib reset failed";
        return GunzipStatus::kCorrupt;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && in_left == 0 && zs.avail_out != 0) {
      error = "gzip data ends early";
      return GunzipStatus::kCorrupt;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      error = zs.msg != nullptr ? zs.msg : "invalid gzip data";
      return GunzipStatus::kCorrupt;
    }
  }
  out.resize(produced);
  return GunzipStatus::kOk;
}

}  // namespace canaryd::scrape
