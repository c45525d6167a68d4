#pragma once
// gzip decoding of scrape bodies (Content-Encoding: gzip), with a cap on the decoded size so a
// small compressed body cannot expand without bound.

#include <cstddef>
#include <string>
#include <string_view>

namespace canaryd::scrape {

enum class GunzipStatus { kOk, kTooLarge, kCorrupt };

/// Decodes `in` (one or more concatenated gzip members, as Go's reader accepts) into `out`.
/// kTooLarge as soon as the output would exceed `limit` bytes. `error` gets zlib's reason on
/// kCorrupt.
GunzipStatus Gunzip(std::string_view in, size_t limit, std::string& out, std::string& error);

}  // namespace canaryd::scrape
