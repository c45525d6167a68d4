#pragma once
// Builders for remote-write request bodies in tests, through the generated protobuf classes
// (an encoder independent of the decoder under test).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/prometheus/write/v2/types.pb.h"
#include "prometheus/remote.pb.h"

namespace canaryd::testutil {

using LabelPairs = std::vector<std::pair<std::string, std::string>>;
using SamplePairs = std::vector<std::pair<int64_t, double>>;  // (timestamp ms, value)

std::string Snappy(std::string_view raw);

/// A protobuf base-128 varint, for hand-built (and deliberately malformed) wire bytes.
std::string Varint(uint64_t v);
std::string Zstd(std::string_view raw);

/// Adds a 1.0 series with the labels in the given order (not sorted: tests control order).
prometheus::TimeSeries* AddSeries(prometheus::WriteRequest& req, const LabelPairs& labels,
                                  const SamplePairs& samples);
std::string Encode(const google::protobuf::MessageLite& msg);

/// 2.0 requests with a symbol table that starts with "".
class V2Builder {
 public:
  V2Builder();
  uint32_t Symbol(const std::string& s);
  io::prometheus::write::v2::TimeSeries* AddSeries(const LabelPairs& labels,
                                                   const SamplePairs& samples);
  io::prometheus::write::v2::Request& request() { return req_; }
  std::string Encode() const;

 private:
  io::prometheus::write::v2::Request req_;
  std::map<std::string, uint32_t> index_;
};

/// A realistic 1.0 request: `series` series with a dozen cAdvisor-style labels, one sample each.
prometheus::WriteRequest RealisticV1(int series, int64_t timestamp_ms, int seed = 0);

}  // namespace canaryd::testutil
