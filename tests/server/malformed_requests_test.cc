// A table of malformed or unacceptable requests, each with the exact status canaryd must answer,
// and after each one proof that the server still serves a good request and kept what it had.

#include <gtest/gtest.h>
#include <zstd.h>

#include <cmath>
#include <functional>

#include "server_fixture.h"

namespace canaryd::testing {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

using testutil::Varint;

std::string Field(uint32_t field, uint32_t wire_type) { return Varint((field << 3) | wire_type); }
std::string Len(uint32_t field, const std::string& payload) {
  return Field(field, 2) + Varint(payload.size()) + payload;
}
std::string Label(const std::string& n, const std::string& v) {
  return Len(1, Len(1, n) + Len(2, v));
}
std::string Sample(int64_t ts, double v) {
  std::string s = Field(1, 1);
  s.append(reinterpret_cast<const char*>(&v), 8);
  return s + Field(2, 0) + Varint(static_cast<uint64_t>(ts));
}
std::string V1Series(const std::string& labels, int64_t ts = 1'700'000'000'000) {
  return Len(1, labels + Len(2, Sample(ts, 1)));
}
const std::string kGoodSeries = V1Series(Label("__name__", "ok_metric") + Label("job", "a"));

Headers V1() {
  return {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "snappy"}};
}
Headers V2() {
  return {{"Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
          {"Content-Encoding", "snappy"}};
}
Headers With(Headers h, const std::string& name, const std::string& value) {
  for (auto& [n, v] : h) {
    if (n == name) {
      v = value;
      return h;
    }
  }
  h.emplace_back(name, value);
  return h;
}

std::string SnappyV2(const std::function<void(testutil::V2Builder&)>& build) {
  testutil::V2Builder b;
  build(b);
  return testutil::Snappy(b.Encode());
}

struct Case {
  std::string name;
  std::string body;
  Headers headers;
  int status;
  std::string body_contains = {};
  std::string method = "POST";
  std::string target = "/api/v1/write";
  std::string raw = {};  // if set, sent as-is instead of a built request
};

std::vector<Case> Cases() {
  const std::string good_raw = testutil::Encode(testutil::RealisticV1(5, 1'700'000'000'000));
  const std::string good = testutil::Snappy(good_raw);
  std::vector<Case> c;
  c.push_back({"TruncatedSnappy", good.substr(0, good.size() / 2), V1(), 400, "not valid snappy"});
  {
    // Framed (stream) snappy: stream identifier chunk, then a compressed-data chunk.
    std::string framed("\xff\x06\x00\x00sNaPpY", 10);
    const size_t len = good.size() + 4;  // checksum + data
    framed += '\x00';
    framed += static_cast<char>(len & 0xff);
    framed += static_cast<char>((len >> 8) & 0xff);
    framed += static_cast<char>((len >> 16) & 0xff);
    framed += std::string(4, '\x00') + good;
    c.push_back({"FramedSnappy", framed, V1(), 400});
  }
  {
    // A real gzip member header followed by deflate bytes.
    std::string gzip("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x4b\x4c\x4a\x06\x00\xc2\x41\x24\x35\x03\x00\x00\x00", 23);
    c.push_back({"GzipDeclared", gzip, With(V1(), "Content-Encoding", "gzip"), 415, "gzip"});
    c.push_back({"GzipBodyClaimedSnappy", gzip, V1(), 400});
  }
  c.push_back({"JsonContentType", R"({"timeseries":[]})",
               {{"Content-Type", "application/json"}}, 415, "application/json"});
  c.push_back({"JsonBodyAsProtobuf", testutil::Snappy(R"({"timeseries":[{"labels":[]}]})"), V1(), 400});
  c.push_back({"PlainTextContentType", good, With(V1(), "Content-Type", "text/plain"), 415});
  c.push_back({"UnknownProtoParam", good,
               With(V1(), "Content-Type", "application/x-protobuf;proto=foo.Bar"), 415, "foo.Bar"});
  c.push_back({"DeflateEncoding", good, With(V1(), "Content-Encoding", "deflate"), 415});
  c.push_back({"BrotliEncoding", good, With(V1(), "Content-Encoding", "br"), 415});
  c.push_back({"BrokenVarint", testutil::Snappy(std::string("\x0a") + std::string(11, '\xff')),
               V1(), 400, "malformed prometheus.WriteRequest"});
  c.push_back({"TruncatedVarint", testutil::Snappy(kGoodSeries + "\x0a\xff\xff"), V1(), 400});
  c.push_back({"LengthPastEnd", testutil::Snappy("\x0a" + Varint(1000) + "abc"), V1(), 400});
  c.push_back({"NestedLengthPastEnd",
               testutil::Snappy(Len(1, "\x0a" + Varint(50) + "short")), V1(), 400});
  c.push_back({"HugeDeclaredSnappyLength", Varint(0xffffffffULL) + "\x00", V1(), 413});
  c.push_back({"DeclaredLengthJustOverLimit", Varint((32u << 20) + 1) + "\x00\x01", V1(), 413});
  {
    std::string nest;
    for (int i = 0; i < 150; ++i) nest += Field(9, 3);
    for (int i = 0; i < 150; ++i) nest += Field(9, 4);
    c.push_back({"GroupsNestedTooDeep", testutil::Snappy(nest), V1(), 400});
  }
  c.push_back({"FieldNumberZero", testutil::Snappy(kGoodSeries + Field(0, 0) + "\x01"), V1(), 400});
  c.push_back({"WireType7", testutil::Snappy(kGoodSeries + Field(5, 7)), V1(), 400});
  c.push_back({"UnmatchedEndGroup", testutil::Snappy(kGoodSeries + Field(5, 4)), V1(), 400});
  c.push_back({"InvalidUtf8Value",
               testutil::Snappy(kGoodSeries + V1Series(Label("__name__", "m") + Label("job", "\xc3\x28"))),
               V1(), 400, "UTF-8"});
  c.push_back({"DuplicateLabel",
               testutil::Snappy(kGoodSeries + V1Series(Label("__name__", "m") + Label("job", "a") +
                                                       Label("job", "b"))),
               V1(), 400, "duplicate label name"});
  c.push_back({"EmptyLabelName",
               testutil::Snappy(kGoodSeries + V1Series(Label("__name__", "m") + Label("", "a"))),
               V1(), 400, "empty label name"});
  c.push_back({"MissingName", testutil::Snappy(kGoodSeries + V1Series(Label("job", "nameless"))),
               V1(), 400, "job=\"nameless\""});
  c.push_back({"SampleTooFarInFuture",
               testutil::Snappy(V1Series(Label("__name__", "m") + Label("job", "f"),
                                         1'700'000'000'000 + 3'600'000)),
               V1(), 400, "future"});
  c.push_back({"V2FirstSymbolNotEmpty",
               testutil::Snappy(Len(4, "x") + Len(4, "__name__") +
                                Len(5, Len(1, Varint(1) + Varint(0)))),
               V2(), 400, "symbols[0]"});
  c.push_back({"V2BadSymbolRef", SnappyV2([](testutil::V2Builder& b) {
                 b.AddSeries({{"__name__", "ok"}}, {{1'700'000'000'000, 1}});
                 auto* ts = b.request().add_timeseries();
                 ts->add_labels_refs(1);
                 ts->add_labels_refs(999);
                 ts->add_samples()->set_timestamp(1'700'000'000'000);
               }),
               V2(), 400, "symbol reference"});
  c.push_back({"V2OddLabelRefs", SnappyV2([](testutil::V2Builder& b) {
                 auto* ts = b.AddSeries({{"__name__", "odd"}}, {{1'700'000'000'000, 1}});
                 ts->add_labels_refs(1);
               }),
               V2(), 400, "odd"});
  c.push_back({"V2SamplesAndHistograms", SnappyV2([](testutil::V2Builder& b) {
                 auto* ts = b.AddSeries({{"__name__", "both"}}, {{1'700'000'000'000, 1}});
                 auto* h = ts->add_histograms();
                 h->set_count_int(0);
                 h->set_timestamp(1'700'000'000'000);
               }),
               V2(), 400, "both samples and histograms"});
  c.push_back({"V2HistogramBadCount", SnappyV2([](testutil::V2Builder& b) {
                 auto* ts = b.AddSeries({{"__name__", "hist"}}, {});
                 auto* h = ts->add_histograms();
                 h->set_count_int(5);  // buckets below hold 2 + zero count 1 = 3
                 h->set_sum(10);
                 h->set_zero_count_int(1);
                 auto* span = h->add_positive_spans();
                 span->set_offset(0);
                 span->set_length(2);
                 h->add_positive_deltas(1);
                 h->add_positive_deltas(0);
                 h->set_timestamp(1'700'000'000'000);
               }),
               V2(), 400, "histogram"});
  {
    std::string bad_zstd = testutil::Zstd(good_raw);
    bad_zstd[bad_zstd.size() / 2] ^= 0x55;
    bad_zstd.resize(bad_zstd.size() - 3);
    c.push_back({"CorruptZstd", bad_zstd, With(V1(), "Content-Encoding", "zstd"), 400});
    std::string big(33 << 20, 'a');
    c.push_back({"ZstdDeclaredOverLimit", testutil::Zstd(big), With(V1(), "Content-Encoding", "zstd"),
                 413});
  }
  c.push_back({"EmptySnappyBody", "", V1(), 400});
  c.push_back({"BodyOverLimit", std::string((32 << 20) + 10, 'x'), V1(), 413, "over the limit"});
  c.push_back({"GetOnWriteEndpoint", "", {}, 405, "", "GET"});
  c.push_back({"UnknownPath", good, V1(), 404, "", "POST", "/api/v1/nope"});
  c.push_back({"GarbageRequestLine", "", {}, 400, "", "", "", "NOT HTTP AT ALL\r\n\r\n"});
  c.push_back({"HeaderTooLarge", "", {}, 431, "", "", "",
               "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') +
                   "\r\nContent-Length: 0\r\n\r\n"});
  {
    // Chunked body growing past the limit: no Content-Length to reject it early.
    std::string raw =
        "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        "Content-Encoding: snappy\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string chunk(1 << 20, 'z');
    for (int i = 0; i < 34; ++i) {
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
      raw += size + chunk + "\r\n";
    }
    raw += "0\r\n\r\n";
    c.push_back({"ChunkedBodyOverLimit", "", {}, 413, "", "", "", raw});
  }
  return c;
}

class MalformedRequestTest : public ServerTest, public ::testing::WithParamInterface<Case> {};

TEST_P(MalformedRequestTest, AnswersExactStatusAndKeepsServing) {
  const Case& c = GetParam();
  auto client = Client();
  const double before = Metric("canaryd_remote_write_samples_total");
  testutil::HttpResult res;
  if (!c.raw.empty()) {
    res = client.Raw(c.raw);
  } else if (c.method == "GET") {
    res = client.Get(c.target);
  } else {
    res = client.Post(c.target, c.body, c.headers);
  }
  EXPECT_EQ(res.status, c.status) << res.body;
  if (!c.body_contains.empty()) {
    EXPECT_NE(res.body.find(c.body_contains), std::string::npos) << res.body;
  }
  if (c.status == 405) {
    EXPECT_EQ(res.Header("allow"), "POST");
  }
  // The next good request is served (on a new connection if this one was closed).
  auto next = Client();
  auto ok = next.Post("/api/v1/write", GoodV1Body(4), V1Headers());
  EXPECT_EQ(ok.status, 204) << ok.body;
  // The good request's samples, plus any valid series of the bad request, were kept.
  EXPECT_GE(Metric("canaryd_remote_write_samples_total"), before + 4);
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedRequestTest, ::testing::ValuesIn(Cases()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(MalformedRequestTableTest, HasAtLeastThirtyCases) { EXPECT_GE(Cases().size(), 30u); }

TEST_F(ServerTest, PartiallyInvalidRequestIngestsValidSeries) {
  auto client = Client();
  const std::string body =
      testutil::Snappy(kGoodSeries + V1Series(Label("job", "nameless")) +
                       V1Series(Label("__name__", "second") + Label("job", "b")));
  auto res = client.Post("/api/v1/write", body, V1());
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("rejected 1 of 3 series (missing_name: 1)"), std::string::npos)
      << res.body;
  EXPECT_EQ(Metric("canaryd_remote_write_samples_total"), 2);
  EXPECT_EQ(Metric("canaryd_remote_write_series_rejected_total{reason=\"missing_name\"}"), 1);
  EXPECT_EQ(Metric("canaryd_remote_write_requests_total{code=\"400\"}"), 1);
  EXPECT_EQ(service_->series_table().size(), 2u);
}

}  // namespace
}  // namespace canaryd::testing
