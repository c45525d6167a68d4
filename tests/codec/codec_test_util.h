#pragma once
// Helpers for the codec tests: a tiny hand-rolled protobuf writer (for bytes the generated classes
// cannot produce: unpacked repeated fields, unknown fields, malformed data) and a decode fixture.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "canaryd/codec/remote_write.h"
#include "canaryd/model/labels.h"
#include "remote_write_builders.h"

namespace canaryd::codec::testing {

using testutil::LabelPairs;

/// Raw protobuf writer.
class Pb {
 public:
  static std::string Varint(uint64_t v) { return testutil::Varint(v); }
  static uint64_t ZigZag(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  }
  Pb& Tag(uint32_t field, uint32_t wt) {
    s_ += Varint((uint64_t{field} << 3) | wt);
    return *this;
  }
  Pb& U(uint32_t field, uint64_t v) {  // varint field
    Tag(field, 0);
    s_ += Varint(v);
    return *this;
  }
  Pb& S(uint32_t field, int64_t v) {  // sint (zigzag) field
    return U(field, ZigZag(v));
  }
  Pb& F64(uint32_t field, uint64_t bits) {
    Tag(field, 1);
    s_.append(reinterpret_cast<const char*>(&bits), 8);
    return *this;
  }
  Pb& D(uint32_t field, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    return F64(field, bits);
  }
  Pb& F32(uint32_t field, uint32_t bits) {
    Tag(field, 5);
    s_.append(reinterpret_cast<const char*>(&bits), 4);
    return *this;
  }
  Pb& B(uint32_t field, std::string_view bytes) {  // length-delimited field
    Tag(field, 2);
    s_ += Varint(bytes.size());
    s_.append(bytes);
    return *this;
  }
  Pb& M(uint32_t field, const Pb& msg) { return B(field, msg.str()); }
  Pb& PackedU(uint32_t field, const std::vector<uint64_t>& vs) {
    std::string p;
    for (auto v : vs) p += Varint(v);
    return B(field, p);
  }
  Pb& PackedS(uint32_t field, const std::vector<int64_t>& vs) {
    std::string p;
    for (auto v : vs) p += Varint(ZigZag(v));
    return B(field, p);
  }
  Pb& PackedD(uint32_t field, const std::vector<double>& vs) {
    std::string p(vs.size() * 8, '\0');
    if (!vs.empty()) std::memcpy(p.data(), vs.data(), p.size());
    return B(field, p);
  }
  Pb& Group(uint32_t field, const Pb& content) {
    Tag(field, 3);
    s_ += content.str();
    Tag(field, 4);
    return *this;
  }
  Pb& Raw(std::string_view bytes) {
    s_.append(bytes);
    return *this;
  }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

/// One field of every wire type (including a nested group), with field numbers no schema uses.
inline Pb UnknownFields() {
  Pb g;
  g.U(1, 7).D(2, 1.5).B(3, "x").Group(4, Pb().U(1, 1).Group(9, Pb().F32(2, 3))).F32(5, 9);
  Pb p;
  p.U(1000, 123456789).F64(1001, 42).B(1002, "unknown bytes").Group(1003, g).F32(1004, 77);
  return p;
}

/// The canonical key of a label set: sorted, empty values dropped.
inline std::string KeyOf(LabelPairs labels) {
  std::sort(labels.begin(), labels.end());
  std::string key;
  for (const auto& [n, v] : labels) {
    if (!v.empty()) {
      model::AppendLabel(key, n, v);
    }
  }
  return key;
}

/// Decodes a body and keeps everything alive for the assertions.
class DecodeFixture : public ::testing::Test {
 protected:
  Result<void> Decode(ProtocolVersion v, std::string body, DecodeLimits limits = {}) {
    body_ = std::move(body);
    return decoder_.Decode(v, body_, limits, batch_, report_);
  }
  Result<void> DecodeV1(std::string body, DecodeLimits limits = {}) {
    return Decode(ProtocolVersion::kV1, std::move(body), limits);
  }
  Result<void> DecodeV2(std::string body, DecodeLimits limits = {}) {
    return Decode(ProtocolVersion::kV2, std::move(body), limits);
  }
  /// Keys of the accepted series, in batch order.
  std::vector<std::string> Keys() const {
    std::vector<std::string> out;
    for (const auto& s : batch_.series) out.emplace_back(s.labels);
    return out;
  }
  /// Checks every accepted series' hash is the hash of its key.
  void ExpectHashesConsistent() const {
    for (const auto& s : batch_.series) {
      EXPECT_EQ(s.hash, model::HashLabelKey(s.labels)) << model::FormatLabelKey(s.labels);
    }
  }
  uint64_t SeriesRejected(RejectReason r) const {
    return report_.series_rejected_by_reason[static_cast<size_t>(r)];
  }
  uint64_t SamplesRejected(RejectReason r) const {
    return report_.samples_rejected_by_reason[static_cast<size_t>(r)];
  }

  RemoteWriteDecoder decoder_;
  model::SeriesBatch batch_;
  DecodeReport report_;
  std::string body_;
};

inline Errc ErrcOf(const Result<void>& r) {
  if (r) return Errc::kOk;
  EXPECT_EQ(&r.error().category(), &CanarydCategory());
  return static_cast<Errc>(r.error().value());
}

}  // namespace canaryd::codec::testing
