#include "canaryd/model/labels.h"

#include <xxhash.h>

#include <cstring>
#include <random>

namespace canaryd::model {
namespace {

void AppendVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool ReadVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto b = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) {
      return true;
    }
  }
  return false;
}

bool ReadString(std::string_view& in, uint8_t tag, std::string_view& out) {
  if (in.empty() || static_cast<uint8_t>(in.front()) != tag) {
    return false;
  }
  in.remove_prefix(1);
  uint64_t len = 0;
  if (!ReadVarint(in, len) || len > in.size()) {
    return false;
  }
  out = in.substr(0, len);
  in.remove_prefix(len);
  return true;
}

}  // namespace

void AppendLabel(std::string& key, std::string_view name, std::string_view value) {
  const size_t inner =
      1 + VarintSize(name.size()) + name.size() + 1 + VarintSize(value.size()) + value.size();
  key.push_back('\x0a');
  AppendVarint(key, inner);
  key.push_back('\x0a');
  AppendVarint(key, name.size());
  key.append(name);
  key.push_back('\x12');
  AppendVarint(key, value.size());
  key.append(value);
}

bool LabelKeyReader::Next(LabelView& out) {
  std::string_view label;
  if (!ReadString(rest_, 0x0a, label)) {
    rest_ = {};
    return false;
  }
  if (!ReadString(label, 0x0a, out.name) || !ReadString(label, 0x12, out.value)) {
    rest_ = {};
    return false;
  }
  return true;
}

std::string_view FindLabel(std::string_view key, std::string_view name) {
  LabelKeyReader reader(key);
  LabelView l;
  while (reader.Next(l)) {
    if (l.name == name) {
      return l.value;
    }
  }
  return {};
}

std::string FormatLabelKey(std::string_view key, size_t max_len) {
  std::string out = std::string(FindLabel(key, "__name__"));
  out += '{';
  bool first = true;
  LabelKeyReader reader(key);
  LabelView l;
  while (reader.Next(l)) {
    if (l.name == "__name__") {
      continue;
    }
    if (!first) {
      out += ", ";
    }
    first = false;
    out.append(l.name);
    out += "=\"";
    for (char c : l.value) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += '"';
    if (out.size() > max_len) {
      break;
    }
  }
  out += '}';
  if (out.size() > max_len) {
    out.resize(max_len);
    out += "...";
  }
  return out;
}

namespace {
// A per-process random seed: label sets come from the network, and a seed an attacker cannot
// know keeps them from crafting two label sets that the series table would take for one.
const uint64_t kHashSeed = [] {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}();
}  // namespace

LabelHash HashLabelKey128(std::string_view key) noexcept {
  const XXH128_hash_t h = XXH3_128bits_withSeed(key.data(), key.size(), kHashSeed);
  return {h.low64, h.high64};
}

uint64_t HashLabelKey(std::string_view key) noexcept { return HashLabelKey128(key).lo; }

bool IsValidUtf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    // ASCII fast path, eight bytes at a time: label text is almost always ASCII.
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (w & 0x8080808080808080ULL) {
        break;
      }
      p += 8;
    }
    if (p >= end) {
      break;
    }
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong 2-byte lead (c0/c1) or f5..ff
    }
    if (end - p <= n) {
      return false;
    }
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      return false;
    }
    p += n + 1;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace canaryd::model
