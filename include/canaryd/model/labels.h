#pragma once
// Label sets in canaryd have one canonical byte form, the "label key": the protobuf encoding of
// `repeated prometheus.Label` (TimeSeries field 1) for the labels sorted by name, without
// duplicates and without empty values (an empty value is the same as an absent label in PromQL),
// each with minimal varints and fields in order (name, then value).
//
// The same label set therefore has the same key whether it arrived over remote-write 1.0, 2.0 or
// a scrape, and for well-formed 1.0 requests the key is the request's own label bytes, so the
// decoder hashes them in place without copying.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace canaryd::model {

/// One label as views into some buffer.
struct LabelView {
  std::string_view name;
  std::string_view value;
  friend bool operator==(const LabelView&, const LabelView&) = default;
};

/// Appends one label to a key. REQUIRES: labels are appended sorted by name, value non-empty.
void AppendLabel(std::string& key, std::string_view name, std::string_view value);

/// Bytes a varint of `v` takes.
inline size_t VarintSize(uint64_t v) noexcept {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

/// Bytes AppendLabel would write for this label.
inline size_t EncodedLabelSize(size_t name_len, size_t value_len) noexcept {
  const size_t inner = 1 + VarintSize(name_len) + name_len + 1 + VarintSize(value_len) + value_len;
  return 1 + VarintSize(inner) + inner;
}

/// Writes what AppendLabel appends at `out`, which must have EncodedLabelSize bytes free;
/// returns the end of what was written. Inline: decoders call it once per label.
inline char* WriteLabel(char* out, std::string_view name, std::string_view value) noexcept {
  auto put_varint = [&out](uint64_t v) {
    while (v >= 0x80) {
      *out++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *out++ = static_cast<char>(v);
  };
  const size_t inner =
      1 + VarintSize(name.size()) + name.size() + 1 + VarintSize(value.size()) + value.size();
  *out++ = '\x0a';
  put_varint(inner);
  *out++ = '\x0a';
  put_varint(name.size());
  std::memcpy(out, name.data(), name.size());
  out += name.size();
  *out++ = '\x12';
  put_varint(value.size());
  std::memcpy(out, value.data(), value.size());
  return out + value.size();
}

/// Iterates the labels of a key produced by AppendLabel (or verified canonical by a decoder).
/// The key is trusted: behaviour on arbitrary bytes is to stop early, never to read out of bounds.
class LabelKeyReader {
 public:
  explicit LabelKeyReader(std::string_view key) : rest_(key) {}
  /// Reads the next label; false at the end.
  bool Next(LabelView& out);

 private:
  std::string_view rest_;
};

/// The value of label `name` in `key`, or "" if absent.
std::string_view FindLabel(std::string_view key, std::string_view name);

/// `metric{a="b", ...}` for messages and logs; at most `max_len` bytes (then ends with "...").
std::string FormatLabelKey(std::string_view key, size_t max_len = 512);

/// 128-bit hash of a label key (XXH3-128). Equal keys give equal hashes; the series table treats
/// equal 128-bit hashes as the same series without comparing keys (a collision among a million
/// series has a probability near 1e-27).
struct LabelHash {
  uint64_t lo = 0;
  uint64_t hi = 0;
  friend bool operator==(const LabelHash&, const LabelHash&) = default;
};
LabelHash HashLabelKey128(std::string_view key) noexcept;

/// The low 64 bits of HashLabelKey128.
uint64_t HashLabelKey(std::string_view key) noexcept;

/// Prometheus's legacy label-name rule: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view name) noexcept;

/// True if `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view s) noexcept;

}  // namespace canaryd::model
