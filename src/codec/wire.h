#pragma once
// A zero-copy reader for the protobuf wire format. Internal to the codec module.
//
// It follows libprotobuf's parser where the two could differ: a varint may take up to ten bytes
// (bits past 64 are dropped), field number 0 and wire types 6/7 are errors, unknown groups are
// skipped up to a nesting depth of 100, and an end-group tag where none was started is an error.

#include <cstdint>
#include <cstring>
#include <string_view>

#include "canaryd/common/error.h"

namespace canaryd::codec::wire {

enum WireType : uint32_t {
  kVarint = 0,
  kI64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kI32 = 5
};

inline constexpr int kMaxGroupDepth = 100;

class Reader {
 public:
  explicit Reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool AtEnd() const { return p_ >= end_; }
  const char* pos() const { return p_; }
  Errc error() const { return err_; }

  bool ReadVarint(uint64_t& v) {
    if (p_ < end_ && static_cast<uint8_t>(*p_) < 0x80) [[likely]] {
      v = static_cast<uint8_t>(*p_++);
      return true;
    }
    return ReadVarintSlow(v);
  }

  /// Reads a tag; fails on field number 0 or a tag that does not fit 32 bits.
  bool ReadTag(uint32_t& field, uint32_t& wire_type) {
    uint64_t tag;
    if (!ReadVarint(tag)) {
      return false;
    }
    if (tag > 0xffffffffULL || (tag >> 3) == 0) {
      err_ = Errc::kBadFieldNumber;
      return false;
    }
    field = static_cast<uint32_t>(tag >> 3);
    wire_type = static_cast<uint32_t>(tag & 7);
    return true;
  }

  bool ReadFixed64(uint64_t& v) {
    if (end_ - p_ < 8) {
      err_ = Errc::kTruncated;
      return false;
    }
    std::memcpy(&v, p_, 8);
    p_ += 8;
    return true;
  }

  bool ReadDouble(double& v) {
    uint64_t bits;
    if (!ReadFixed64(bits)) {
      return false;
    }
    std::memcpy(&v, &bits, 8);
    return true;
  }

  bool ReadBytes(std::string_view& out) {
    uint64_t len;
    if (!ReadVarint(len)) {
      return false;
    }
    if (len > static_cast<uint64_t>(end_ - p_)) {
      err_ = Errc::kTruncated;
      return false;
    }
    out = std::string_view(p_, len);
    p_ += len;
    return true;
  }

  /// Skips the payload of a field whose tag was just read.
  bool Skip(uint32_t field, uint32_t wire_type);

 private:
  bool ReadVarintSlow(uint64_t& v);
  bool SkipGroup(uint32_t field);

  const char* p_;
  const char* end_;
  Errc err_ = Errc::kOk;
};

inline int64_t ZigZagDecode64(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

/// Calls fn(value) for every element of a repeated varint field, packed (wire type 2) or not
/// (wire type 0). Returns false on malformed data; `reader` is positioned after the field.
template <typename Fn>
bool ForEachVarint(Reader& reader, uint32_t wire_type, Fn&& fn) {
  uint64_t v;
  if (wire_type == kVarint) {
    if (!reader.ReadVarint(v)) {
      return false;
    }
    fn(v);
    return true;
  }
  std::string_view packed;
  if (!reader.ReadBytes(packed)) {
    return false;
  }
  Reader inner(packed);
  while (!inner.AtEnd()) {
    if (!inner.ReadVarint(v)) {
      return false;
    }
    fn(v);
  }
  return true;
}

/// Same for repeated doubles: packed (wire type 2, length a multiple of 8) or not (wire type 1).
template <typename Fn>
bool ForEachDouble(Reader& reader, uint32_t wire_type, Fn&& fn) {
  double v;
  if (wire_type == kI64) {
    if (!reader.ReadDouble(v)) {
      return false;
    }
    fn(v);
    return true;
  }
  std::string_view packed;
  if (!reader.ReadBytes(packed) || packed.size() % 8 != 0) {
    return false;
  }
  for (size_t i = 0; i < packed.size(); i += 8) {
    std::memcpy(&v, packed.data() + i, 8);
    fn(v);
  }
  return true;
}

}  // namespace canaryd::codec::wire
