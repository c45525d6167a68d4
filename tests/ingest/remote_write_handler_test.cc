// RemoteWriteHandler without sockets: header parsing, status codes, budget, what reaches the sink.

#include "canaryd/ingest/remote_write_handler.h"

#include <gtest/gtest.h>

#include <mutex>

#include "canaryd/ingest/series_table_sink.h"
#include "canaryd/model/labels.h"
#include "remote_write_builders.h"

namespace canaryd::ingest {
namespace {

// Records what the handler hands to the sink (copies, since batches are views).
class RecordingSink final : public SampleSink {
 public:
  void Append(const model::SeriesBatch& batch) override {
    std::lock_guard lock(mu_);
    ++calls;
    for (const auto& s : batch.series) {
      series.push_back(model::FormatLabelKey(s.labels));
      samples += s.num_samples;
    }
  }
  int calls = 0;
  std::vector<std::string> series;
  uint64_t samples = 0;

 private:
  std::mutex mu_;
};

class RemoteWriteHandlerTest : public ::testing::Test {
 protected:
  WriteResponse Send(const std::string& content_type, const std::string& encoding,
                     const std::string& body) {
    WriteRequestHeader h;
    h.content_type = content_type;
    h.content_encoding = encoding;
    h.content_length = body.size();
    InflightReservation r;
    if (auto early = handler_.Admit(h, r)) {
      return *early;
    }
    return handler_.Handle(h, body, r);
  }
  std::string Header(const WriteResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }

  ManualClock clock_{1'700'000'000'000};
  MetricsRegistry metrics_;
  RecordingSink sink_;
  RemoteWriteOptions options_;
  RemoteWriteHandler handler_{options_, sink_, clock_, metrics_};
};

std::string V1Body() {
  prometheus::WriteRequest req;
  testutil::AddSeries(req, {{"__name__", "up"}, {"job", "a"}}, {{1'700'000'000'000, 1}});
  return testutil::Snappy(testutil::Encode(req));
}

TEST_F(RemoteWriteHandlerTest, ContentTypeVariants) {
  for (const char* ct : {"", "application/x-protobuf", "APPLICATION/X-PROTOBUF",
                         "application/x-protobuf; proto=prometheus.WriteRequest",
                         "application/x-protobuf;proto=\"prometheus.WriteRequest\"",
                         "application/x-protobuf;charset=binary;proto=prometheus.WriteRequest"}) {
    EXPECT_EQ(Send(ct, "snappy", V1Body()).status, 204u) << ct;
  }
  EXPECT_EQ(Send("application/x-protobuf;proto=io.prometheus.write.v3.Request", "snappy", V1Body()).status, 415u);
  EXPECT_EQ(Send("application/protobuf", "snappy", V1Body()).status, 415u);
  EXPECT_EQ(sink_.calls, 6);
}

TEST_F(RemoteWriteHandlerTest, EncodingVariants) {
  EXPECT_EQ(Send("", "", V1Body()).status, 204u);  // missing means snappy
  EXPECT_EQ(Send("", "Snappy", V1Body()).status, 204u);
  EXPECT_EQ(Send("", " snappy ", V1Body()).status, 204u);
  EXPECT_EQ(Send("", "gzip", V1Body()).status, 415u);
}

TEST_F(RemoteWriteHandlerTest, V1SendsNoWrittenHeadersV2Does) {
  auto r1 = Send("application/x-protobuf", "snappy", V1Body());
  EXPECT_TRUE(r1.headers.empty());
  testutil::V2Builder b;
  b.AddSeries({{"__name__", "up"}}, {{1'700'000'000'000, 1}});
  auto r2 = Send("application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy",
                 testutil::Snappy(b.Encode()));
  EXPECT_EQ(r2.status, 204u);
  EXPECT_EQ(Header(r2, "X-Prometheus-Remote-Write-Samples-Written"), "1");
  // Even a 415 on an unsupported encoding of a 2.0 request says nothing was written.
  auto r3 = Send("application/x-protobuf;proto=io.prometheus.write.v2.Request", "br", "x");
  EXPECT_EQ(r3.status, 415u);
  EXPECT_EQ(Header(r3, "X-Prometheus-Remote-Write-Samples-Written"), "0");
}

TEST_F(RemoteWriteHandlerTest, MalformedBodyReachesNoSink) {
  std::string raw = testutil::Encode(testutil::RealisticV1(10, 1'700'000'000'000));
  raw.resize(raw.size() - 5);  // cut inside the last series
  auto r = Send("", "snappy", testutil::Snappy(raw));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("malformed prometheus.WriteRequest"), std::string::npos) << r.body;
  EXPECT_EQ(sink_.calls, 0);
}

TEST_F(RemoteWriteHandlerTest, FutureSamplesRejectedAgainstInjectedClock) {
  prometheus::WriteRequest req;
  testutil::AddSeries(req, {{"__name__", "m"}},
                      {{1'700'000'000'000, 1}, {1'700'000'000'000 + 11 * 60'000, 2}});
  auto r = Send("", "snappy", testutil::Snappy(testutil::Encode(req)));
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(sink_.samples, 1u);
  // Once the clock has moved on, the same sample is fine.
  clock_.Advance(std::chrono::minutes(5));
  EXPECT_EQ(Send("", "snappy", testutil::Snappy(testutil::Encode(req))).status, 204u);
}

TEST_F(RemoteWriteHandlerTest, BudgetIsReservedAndReleased) {
  RemoteWriteOptions small;
  small.max_body_bytes = 1000;
  small.max_decoded_bytes = 1000;
  small.max_inflight_bytes = 1500;
  MetricsRegistry m;
  RemoteWriteHandler h(small, sink_, clock_, m);
  WriteRequestHeader head;
  head.content_length = 1000;
  InflightReservation first;
  EXPECT_FALSE(h.Admit(head, first).has_value());
  EXPECT_EQ(first.bytes(), 1000u);
  InflightReservation second;
  auto busy = h.Admit(head, second);
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->status, 503u);
  first.Release();
  EXPECT_FALSE(h.Admit(head, second).has_value());
  head.content_length = 1001;
  InflightReservation third;
  auto big = h.Admit(head, third);
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->status, 413u);
  EXPECT_EQ(third.bytes(), 0u);
}

TEST(SeriesTableSinkTest, CountsNewSeriesAndExpiresIdleOnes) {
  ManualClock clock;
  MetricsRegistry metrics;
  series::SeriesTable table;
  SeriesTableSink sink(table, clock, metrics);
  codec::RemoteWriteDecoder decoder;
  model::SeriesBatch batch;
  codec::DecodeReport report;
  const std::string raw = testutil::Encode(testutil::RealisticV1(20, 1));
  ASSERT_TRUE(decoder.Decode(codec::ProtocolVersion::kV1, raw, {}, batch, report));
  sink.Append(batch);
  sink.Append(batch);
  EXPECT_EQ(table.size(), 20u);
  clock.Advance(std::chrono::minutes(10));
  EXPECT_EQ(sink.ExpireIdle(std::chrono::minutes(15)), 0u);
  clock.Advance(std::chrono::minutes(6));
  EXPECT_EQ(sink.ExpireIdle(std::chrono::minutes(15)), 20u);
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("canaryd_series_created_total 20\n"), std::string::npos) << text;
  EXPECT_NE(text.find("canaryd_series_expired_total 20\n"), std::string::npos) << text;
  EXPECT_NE(text.find("canaryd_series_active 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace canaryd::ingest
