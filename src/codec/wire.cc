#include "wire.h"

#include <array>

namespace canaryd::codec::wire {

bool Reader::ReadVarintSlow(uint64_t& v) {
  uint64_t result = 0;
  for (int i = 0; i < 10; ++i) {
    if (p_ >= end_) {
      err_ = Errc::kTruncated;
      return false;
    }
    const auto b = static_cast<uint8_t>(*p_++);
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      v = result;
      return true;
    }
  }
  err_ = Errc::kBadVarint;
  return false;
}

bool Reader::Skip(uint32_t field, uint32_t wire_type) {
  switch (wire_type) {
    case kVarint: {
      uint64_t v;
      return ReadVarint(v);
    }
    case kI64:
      if (end_ - p_ < 8) {
        err_ = Errc::kTruncated;
        return false;
      }
      p_ += 8;
      return true;
    case kLen: {
      std::string_view ignored;
      return ReadBytes(ignored);
    }
    case kStartGroup:
      return SkipGroup(field);
    case kI32:
      if (end_ - p_ < 4) {
        err_ = Errc::kTruncated;
        return false;
      }
      p_ += 4;
      return true;
    default:  // an end-group with no group open, or wire types 6 and 7
      err_ = Errc::kBadWireType;
      return false;
  }
}

bool Reader::SkipGroup(uint32_t field) {
  // Iterative, so that hostile nesting cannot exhaust the stack.
  std::array<uint32_t, kMaxGroupDepth> open;
  size_t depth = 0;
  open[depth++] = field;
  while (depth > 0) {
    uint32_t f, wt;
    if (!ReadTag(f, wt)) {
      if (err_ == Errc::kOk) {
        err_ = Errc::kTruncated;
      }
      return false;
    }
    if (wt == kEndGroup) {
      if (open[depth - 1] != f) {
        err_ = Errc::kBadWireType;
        return false;
      }
      --depth;
    } else if (wt == kStartGroup) {
      if (depth == open.size()) {
        err_ = Errc::kNestingTooDeep;
        return false;
      }
      open[depth++] = f;
    } else if (!Skip(f, wt)) {
      return false;
    }
  }
  return true;
}

}  // namespace canaryd::codec::wire
