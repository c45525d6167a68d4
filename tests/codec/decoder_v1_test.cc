// Remote-write 1.0 decoding: round trips through the generated classes and the validation rules.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "canaryd/model/sample.h"
#include "codec_test_util.h"

namespace canaryd::codec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testutil::AddSeries;
using testutil::Encode;

class DecoderV1Test : public DecodeFixture {};

TEST_F(DecoderV1Test, EmptyBodyIsAnEmptyRequest) {
  ASSERT_TRUE(DecodeV1(""));
  EXPECT_TRUE(batch_.series.empty());
  EXPECT_FALSE(report_.HasRejections());
  EXPECT_EQ(report_.Summary(), "");
}

TEST_F(DecoderV1Test, RoundTripsLabelsAndSamples) {
  prometheus::WriteRequest req;
  AddSeries(req, {{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}},
            {{1000, 1}, {2000, 0}, {3000, 1}});
  AddSeries(req, {{"__name__", "http_requests_total"}, {"code", "200"}}, {{-5, 12345.678}});
  AddSeries(req, {{"__name__", "temp"}, {"city", "Zürich"}}, {});
  ASSERT_TRUE(DecodeV1(Encode(req)));

  ASSERT_EQ(batch_.series.size(), 3u);
  EXPECT_EQ(Keys(), (std::vector<std::string>{
                        KeyOf({{"__name__", "up"}, {"instance", "a:9100"}, {"job", "node"}}),
                        KeyOf({{"__name__", "http_requests_total"}, {"code", "200"}}),
                        KeyOf({{"__name__", "temp"}, {"city", "Zürich"}})}));
  ExpectHashesConsistent();
  EXPECT_EQ(report_.series_accepted, 3u);
  EXPECT_EQ(report_.samples_accepted, 4u);
  EXPECT_FALSE(report_.HasRejections());

  auto s0 = batch_.SamplesOf(batch_.series[0]);
  ASSERT_EQ(s0.size(), 3u);
  EXPECT_EQ(s0[0].timestamp_ms, 1000);
  EXPECT_EQ(s0[0].value, 1);
  EXPECT_EQ(s0[1].timestamp_ms, 2000);
  EXPECT_EQ(s0[1].value, 0);
  EXPECT_EQ(s0[2].timestamp_ms, 3000);
  auto s1 = batch_.SamplesOf(batch_.series[1]);
  ASSERT_EQ(s1.size(), 1u);
  EXPECT_EQ(s1[0].timestamp_ms, -5);  // negative timestamps are 10-byte varints
  EXPECT_EQ(s1[0].value, 12345.678);
  EXPECT_TRUE(batch_.SamplesOf(batch_.series[2]).empty());
  EXPECT_EQ(model::FindLabel(batch_.series[2].labels, "city"), "Zürich");
}

TEST_F(DecoderV1Test, CanonicalKeyPointsIntoTheBody) {
  // Well-formed sorted labels are hashed in place: the key is the request's own bytes.
  prometheus::WriteRequest req;
  AddSeries(req, {{"__name__", "up"}, {"job", "node"}}, {{1, 1}});
  ASSERT_TRUE(DecodeV1(Encode(req)));
  ASSERT_EQ(batch_.series.size(), 1u);
  const char* p = batch_.series[0].labels.data();
  EXPECT_GE(p, body_.data());
  EXPECT_LE(p + batch_.series[0].labels.size(), body_.data() + body_.size());
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "node"}}));
}

TEST_F(DecoderV1Test, PreservesSpecialValuesBitExact) {
  const std::vector<uint64_t> bits = {
      0x7ff8000000000001ULL,  // Prometheus's ordinary NaN
      model::kStaleNaNBits,   // the stale marker
      0x7ff0000000000000ULL,  // +Inf
      0xfff0000000000000ULL,  // -Inf
      0x8000000000000000ULL,  // -0.0
      0x0000000000000001ULL,  // smallest denormal
      0x7ff4000000000000ULL,  // a signalling NaN
      0xfff8000000000000ULL,  // negative quiet NaN
  };
  prometheus::WriteRequest req;
  testutil::SamplePairs samples;
  for (size_t i = 0; i < bits.size(); ++i) {
    samples.emplace_back(static_cast<int64_t>(i), std::bit_cast<double>(bits[i]));
  }
  AddSeries(req, {{"__name__", "special"}}, samples);
  const std::string body = Encode(req);
  ASSERT_TRUE(DecodeV1(body));
  ASSERT_EQ(batch_.series.size(), 1u);
  auto got = batch_.SamplesOf(batch_.series[0]);
  ASSERT_EQ(got.size(), bits.size());
  for (size_t i = 0; i < bits.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(got[i].value), bits[i]) << i;
    EXPECT_EQ(got[i].timestamp_ms, static_cast<int64_t>(i));
  }
  EXPECT_TRUE(model::IsStaleNaN(got[1].value));
  EXPECT_FALSE(model::IsStaleNaN(got[0].value));
  EXPECT_FALSE(report_.HasRejections());
}

TEST_F(DecoderV1Test, DecodesSampleFieldsInAnyOrder) {
  // Timestamp before value, and value repeated (last wins), defeat the fast path.
  Pb ts;
  ts.M(1, Pb().B(1, "__name__").B(2, "m"));
  ts.M(2, Pb().U(2, 77).D(1, 1.0).D(1, 2.5));
  ts.M(2, Pb().U(2, 78));  // value absent: 0
  ts.M(2, Pb().D(1, 3.5));  // timestamp absent: 0
  ASSERT_TRUE(DecodeV1(Pb().M(1, ts).str()));
  ASSERT_EQ(batch_.series.size(), 1u);
  auto s = batch_.SamplesOf(batch_.series[0]);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].timestamp_ms, 77);
  EXPECT_EQ(s[0].value, 2.5);
  EXPECT_EQ(s[1].timestamp_ms, 78);
  EXPECT_EQ(s[1].value, 0);
  EXPECT_EQ(s[2].timestamp_ms, 0);
  EXPECT_EQ(s[2].value, 3.5);
}

TEST_F(DecoderV1Test, SortsUnsortedLabels) {
  const LabelPairs labels = {{"job", "node"}, {"__name__", "up"}, {"zone", "b"}, {"instance", "x"}};
  prometheus::WriteRequest req;
  AddSeries(req, labels, {{1, 1}});
  ASSERT_TRUE(DecodeV1(Encode(req)));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf(labels));
  ExpectHashesConsistent();
  EXPECT_FALSE(report_.HasRejections());
}

TEST_F(DecoderV1Test, SameKeyAndHashForSortedUnsortedAndV2) {
  const LabelPairs sorted = {{"__name__", "node_cpu_seconds_total"},
                             {"cpu", "0"},
                             {"instance", "localhost:9100"},
                             {"job", "node"},
                             {"mode", "idle"}};
  const LabelPairs unsorted = {{"mode", "idle"},
                               {"job", "node"},
                               {"__name__", "node_cpu_seconds_total"},
                               {"instance", "localhost:9100"},
                               {"cpu", "0"}};
  std::vector<std::pair<std::string, uint64_t>> seen;

  prometheus::WriteRequest a;
  AddSeries(a, sorted, {{1, 1}});
  ASSERT_TRUE(DecodeV1(Encode(a)));
  ASSERT_EQ(batch_.series.size(), 1u);
  seen.emplace_back(batch_.series[0].labels, batch_.series[0].hash);

  prometheus::WriteRequest b;
  AddSeries(b, unsorted, {{1, 1}});
  ASSERT_TRUE(DecodeV1(Encode(b)));
  ASSERT_EQ(batch_.series.size(), 1u);
  seen.emplace_back(batch_.series[0].labels, batch_.series[0].hash);

  testutil::V2Builder v2;
  v2.Symbol("zzz");  // symbol order differs from label order
  v2.AddSeries(unsorted, {{1, 1}});
  ASSERT_TRUE(DecodeV2(v2.Encode()));
  ASSERT_EQ(batch_.series.size(), 1u);
  seen.emplace_back(batch_.series[0].labels, batch_.series[0].hash);

  EXPECT_EQ(seen[0].first, KeyOf(sorted));
  EXPECT_EQ(seen[0].second, model::HashLabelKey(KeyOf(sorted)));
  EXPECT_EQ(seen[1], seen[0]);
  EXPECT_EQ(seen[2], seen[0]);
}

TEST_F(DecoderV1Test, DropsEmptyLabelValuesFromKey) {
  const LabelPairs with_empty = {{"__name__", "up"}, {"a", ""}, {"job", "node"}, {"z", ""}};
  prometheus::WriteRequest req;
  AddSeries(req, with_empty, {{1, 1}});
  AddSeries(req, {{"__name__", "up"}, {"job", "node"}}, {{2, 1}});
  ASSERT_TRUE(DecodeV1(Encode(req)));
  ASSERT_EQ(batch_.series.size(), 2u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "node"}}));
  EXPECT_EQ(batch_.series[0].labels, batch_.series[1].labels);
  EXPECT_EQ(batch_.series[0].hash, batch_.series[1].hash);
  EXPECT_EQ(model::FindLabel(batch_.series[0].labels, "a"), "");
  EXPECT_FALSE(report_.HasRejections());
}

TEST_F(DecoderV1Test, NonMinimalLabelEncodingIsCanonicalized) {
  // Value before name, a non-minimal length varint and an unknown field: all legal protobuf.
  Pb ts;
  ts.M(1, Pb().B(2, "up").B(1, "__name__"));
  // A label whose length (6) is written as the non-minimal varint 0x86 0x00.
  ts.Tag(1, 2).Raw(std::string_view("\x86\x00", 2)).Raw(Pb().B(1, "a").B(2, "b").str());
  ts.M(1, Pb().B(1, "job").U(99, 1).B(2, "x"));
  ts.M(2, Pb().D(1, 1).U(2, 5));
  std::string body = Pb().M(1, ts).str();
  ASSERT_TRUE(DecodeV1(body));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"a", "b"}, {"job", "x"}}));
  ExpectHashesConsistent();
}

TEST_F(DecoderV1Test, LabelsInterleavedWithSamplesAreCanonicalized) {
  Pb ts;
  ts.M(1, Pb().B(1, "__name__").B(2, "up"));
  ts.M(2, Pb().D(1, 1).U(2, 5));
  ts.M(1, Pb().B(1, "job").B(2, "x"));
  ASSERT_TRUE(DecodeV1(Pb().M(1, ts).str()));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "x"}}));
  ExpectHashesConsistent();
  EXPECT_EQ(batch_.SamplesOf(batch_.series[0]).size(), 1u);
}

TEST_F(DecoderV1Test, LastLabelFieldValueWins) {
  Pb ts;
  ts.M(1, Pb().B(1, "__name__").B(2, "first").B(2, "up"));
  ts.M(1, Pb().B(1, "xx").B(1, "job").B(2, "node"));
  ASSERT_TRUE(DecodeV1(Pb().M(1, ts).str()));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "node"}}));
}

TEST_F(DecoderV1Test, LongLabelsUseMultiByteLengths) {
  const std::string long_value(300, 'v');
  const std::string long_name(200, 'n');
  prometheus::WriteRequest req;
  AddSeries(req, {{"__name__", "m"}, {long_name, long_value}}, {{1, 1}});
  ASSERT_TRUE(DecodeV1(Encode(req)));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "m"}, {long_name, long_value}}));
  EXPECT_EQ(model::FindLabel(batch_.series[0].labels, long_name), long_value);
  ExpectHashesConsistent();
}

TEST_F(DecoderV1Test, CountsMetadataEntries) {
  prometheus::WriteRequest req;
  for (int i = 0; i < 3; ++i) {
    auto* md = req.add_metadata();
    md->set_type(prometheus::MetricMetadata::COUNTER);
    md->set_metric_family_name("m" + std::to_string(i));
    md->set_help("help text");
    md->set_unit("seconds");
  }
  AddSeries(req, {{"__name__", "up"}}, {{1, 1}});
  ASSERT_TRUE(DecodeV1(Encode(req)));
  EXPECT_EQ(report_.metadata_accepted, 3u);
  EXPECT_EQ(report_.series_accepted, 1u);
  EXPECT_EQ(batch_.series.size(), 1u);
}

TEST_F(DecoderV1Test, MalformedMetadataFailsTheRequest) {
  std::string body = Pb().M(1, Pb().M(1, Pb().B(1, "__name__").B(2, "up"))).str();
  body += Pb().B(3, Pb().Tag(1, 7).str()).str();  // wire type 7 inside MetricMetadata
  EXPECT_FALSE(DecodeV1(body));
  EXPECT_TRUE(batch_.series.empty());
}

// ---- rejection rules: the offending series is dropped and reported, the others stay ----

struct RejectCase {
  std::string name;
  LabelPairs labels;
  RejectReason reason;
  std::string first_contains;  // the offending series as the report prints it
};

class DecoderV1RejectTest : public DecodeFixture, public ::testing::WithParamInterface<RejectCase> {};

TEST_P(DecoderV1RejectTest, RejectsSeriesAndKeepsTheOthers) {
  const auto& c = GetParam();
  prometheus::WriteRequest req;
  AddSeries(req, {{"__name__", "good_before"}, {"job", "a"}}, {{1, 1}});
  AddSeries(req, c.labels, {{1, 1}, {2, 2}, {3, 3}});
  AddSeries(req, {{"__name__", "good_after"}, {"job", "a"}}, {{1, 1}, {2, 2}});
  // The same bad series again: counted again, but `first` still names the first one.
  AddSeries(req, c.labels, {{4, 4}});
  ASSERT_TRUE(DecodeV1(Encode(req)));

  EXPECT_EQ(Keys(), (std::vector<std::string>{KeyOf({{"__name__", "good_before"}, {"job", "a"}}),
                                              KeyOf({{"__name__", "good_after"}, {"job", "a"}})}));
  ExpectHashesConsistent();
  // The good series' samples are theirs, not the rejected series'.
  ASSERT_EQ(batch_.samples.size(), 3u);
  EXPECT_EQ(batch_.SamplesOf(batch_.series[1]).size(), 2u);
  EXPECT_EQ(batch_.SamplesOf(batch_.series[1])[1].value, 2);

  EXPECT_EQ(report_.series_accepted, 2u);
  EXPECT_EQ(report_.samples_accepted, 3u);
  EXPECT_EQ(report_.series_rejected, 2u);
  EXPECT_EQ(report_.samples_rejected, 4u);
  EXPECT_EQ(SeriesRejected(c.reason), 2u);
  EXPECT_EQ(SamplesRejected(c.reason), 4u);
  uint64_t total = 0;
  for (auto n : report_.series_rejected_by_reason) total += n;
  EXPECT_EQ(total, 2u);
  EXPECT_TRUE(report_.HasRejections());

  EXPECT_THAT(report_.first_rejection, StartsWith(c.first_contains));
  const std::string summary = report_.Summary();
  EXPECT_THAT(summary, StartsWith("rejected 2 of 4 series ("));
  EXPECT_THAT(summary, HasSubstr(std::string(RejectReasonName(c.reason)) + ": 2"));
  EXPECT_THAT(summary, HasSubstr("; first: " + c.first_contains));
}

INSTANTIATE_TEST_SUITE_P(
    Rules, DecoderV1RejectTest,
    ::testing::Values(
        RejectCase{"MissingName", {{"job", "a"}, {"instance", "x"}}, RejectReason::kMissingName,
                   "{instance=\"x\", job=\"a\"}: series has no __name__"},
        RejectCase{"EmptyName", {{"__name__", ""}, {"job", "a"}}, RejectReason::kMissingName,
                   "{__name__=\"\", job=\"a\"}: series has no __name__"},
        RejectCase{"NoLabels", {}, RejectReason::kMissingName, "{}: series has no __name__"},
        RejectCase{"EmptyLabelName", {{"__name__", "m"}, {"", "v"}}, RejectReason::kEmptyLabelName,
                   "{__name__=\"m\", =\"v\"}: empty label name"},
        RejectCase{"DuplicateSorted", {{"__name__", "m"}, {"a", "1"}, {"a", "2"}},
                   RejectReason::kDuplicateLabel, "{__name__=\"m\", a=\"1\", a=\"2\"}: duplicate"},
        RejectCase{"DuplicateUnsorted", {{"a", "1"}, {"__name__", "m"}, {"a", "1"}},
                   RejectReason::kDuplicateLabel, "{__name__=\"m\", a=\"1\", a=\"1\"}: duplicate"},
        RejectCase{"DuplicateName", {{"__name__", "m"}, {"__name__", "n"}},
                   RejectReason::kDuplicateLabel, "{__name__=\"m\", __name__=\"n\"}: duplicate"},
        RejectCase{"InvalidUtf8Name", {{"__name__", "m"}, {"b\xff" "ad", "v"}},
                   RejectReason::kInvalidUtf8, "{__name__=\"m\", b\\xffad=\"v\"}: label name or value is not valid UTF-8"},
        RejectCase{"InvalidUtf8Value", {{"__name__", "m"}, {"a", "\xed\xa0\x80"}},
                   RejectReason::kInvalidUtf8, "{__name__=\"m\", a=\"\\xed\\xa0\\x80\"}: label name"},
        RejectCase{"InvalidUtf8MetricName", {{"__name__", "m\xc0\xaf"}},
                   RejectReason::kInvalidUtf8, "{__name__=\"m\\xc0\\xaf\"}: label name"}),
    [](const auto& p) { return p.param.name; });

TEST_F(DecoderV1Test, DuplicateLabelWithEmptyValueIsStillDuplicate) {
  // Prometheus checks duplicates before it drops empty values.
  prometheus::WriteRequest req;
  AddSeries(req, {{"__name__", "m"}, {"a", ""}, {"a", "1"}}, {{1, 1}});
  ASSERT_TRUE(DecodeV1(Encode(req)));
  EXPECT_TRUE(batch_.series.empty());
  EXPECT_EQ(SeriesRejected(RejectReason::kDuplicateLabel), 1u);
}

TEST_F(DecoderV1Test, RejectsFutureSamplesOneByOne) {
  DecodeLimits limits;
  limits.max_timestamp_ms = 10'000;
  prometheus::WriteRequest req;
  AddSeries(req, {{"__name__", "ok"}}, {{9'000, 1}, {10'000, 2}});
  AddSeries(req, {{"__name__", "mixed"}, {"job", "j"}}, {{5'000, 1}, {10'001, 2}, {6'000, 3}, {99'999, 4}});
  AddSeries(req, {{"__name__", "all_future"}}, {{20'000, 1}});
  ASSERT_TRUE(DecodeV1(Encode(req), limits));

  ASSERT_EQ(batch_.series.size(), 3u);  // series stay, samples go
  EXPECT_EQ(batch_.SamplesOf(batch_.series[0]).size(), 2u);
  auto mixed = batch_.SamplesOf(batch_.series[1]);
  ASSERT_EQ(mixed.size(), 2u);
  EXPECT_EQ(mixed[0].timestamp_ms, 5'000);
  EXPECT_EQ(mixed[1].timestamp_ms, 6'000);
  EXPECT_TRUE(batch_.SamplesOf(batch_.series[2]).empty());

  EXPECT_EQ(report_.series_accepted, 3u);
  EXPECT_EQ(report_.series_rejected, 0u);
  EXPECT_EQ(report_.samples_accepted, 4u);
  EXPECT_EQ(report_.samples_rejected, 3u);
  EXPECT_EQ(SamplesRejected(RejectReason::kTooFarInFuture), 3u);
  EXPECT_EQ(SeriesRejected(RejectReason::kTooFarInFuture), 0u);
  EXPECT_TRUE(report_.HasRejections());
  EXPECT_EQ(report_.first_rejection,
            "{__name__=\"mixed\", job=\"j\"}: timestamp too far in the future (2 samples)");
  EXPECT_EQ(report_.Summary(),
            "rejected 3 samples too far in the future; first: {__name__=\"mixed\", job=\"j\"}: "
            "timestamp too far in the future (2 samples)");
}

TEST_F(DecoderV1Test, FutureSamplesOfRejectedSeriesCountUnderTheSeriesReason) {
  DecodeLimits limits;
  limits.max_timestamp_ms = 100;
  prometheus::WriteRequest req;
  AddSeries(req, {{"job", "x"}}, {{1, 1}, {1000, 2}});
  ASSERT_TRUE(DecodeV1(Encode(req), limits));
  EXPECT_TRUE(batch_.series.empty());
  EXPECT_TRUE(batch_.samples.empty());
  EXPECT_EQ(report_.samples_rejected, 2u);
  EXPECT_EQ(SamplesRejected(RejectReason::kMissingName), 2u);
  EXPECT_EQ(SamplesRejected(RejectReason::kTooFarInFuture), 0u);
}

TEST_F(DecoderV1Test, InvalidExemplarIsRejectedAloneAndSeriesStays) {
  prometheus::WriteRequest req;
  auto* ts = AddSeries(req, {{"__name__", "m"}, {"job", "a"}}, {{1, 1}});
  auto* good = ts->add_exemplars();
  good->set_value(1);
  good->set_timestamp(1);
  auto* gl = good->add_labels();
  gl->set_name("trace_id");
  gl->set_value("abc");
  auto* empty_name = ts->add_exemplars();
  empty_name->add_labels()->set_value("v");
  auto* bad_utf8 = ts->add_exemplars();
  auto* bl = bad_utf8->add_labels();
  bl->set_name("trace_id");
  bl->set_value("\xff");
  ts->add_exemplars();  // no labels at all: valid (labels are optional)
  ASSERT_TRUE(DecodeV1(Encode(req)));

  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(report_.series_accepted, 1u);
  EXPECT_EQ(report_.samples_accepted, 1u);
  EXPECT_EQ(report_.exemplars_accepted, 2u);
  EXPECT_EQ(report_.exemplars_rejected, 2u);
  EXPECT_EQ(report_.series_rejected, 0u);
  EXPECT_EQ(report_.samples_rejected, 0u);
  EXPECT_EQ(report_.first_rejection, "{__name__=\"m\", job=\"a\"}: invalid exemplar");
  EXPECT_THAT(report_.Summary(), StartsWith("rejected 2 exemplars; first: {__name__=\"m\""));
}

TEST_F(DecoderV1Test, FutureExemplarIsRejected) {
  // DecodeLimits: "samples, histograms and exemplars stamped after this are rejected".
  DecodeLimits limits;
  limits.max_timestamp_ms = 100;
  prometheus::WriteRequest req;
  auto* ts = AddSeries(req, {{"__name__", "m"}}, {{1, 1}});
  ts->add_exemplars()->set_timestamp(100);
  ts->add_exemplars()->set_timestamp(101);
  ASSERT_TRUE(DecodeV1(Encode(req), limits));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(report_.exemplars_accepted, 1u);
  EXPECT_EQ(report_.exemplars_rejected, 1u);
  EXPECT_TRUE(report_.HasRejections());
}

TEST_F(DecoderV1Test, RejectedSeriesExemplarsAndHistogramsAreCounted) {
  prometheus::WriteRequest req;
  auto* ts = AddSeries(req, {{"job", "no_name"}}, {});
  ts->add_exemplars()->set_value(1);
  auto* h = ts->add_histograms();
  h->set_count_int(0);
  ASSERT_TRUE(DecodeV1(Encode(req)));
  EXPECT_EQ(report_.series_rejected, 1u);
  EXPECT_EQ(report_.exemplars_rejected, 1u);
  EXPECT_EQ(report_.histograms_rejected, 1u);
  EXPECT_EQ(report_.exemplars_accepted, 0u);
  EXPECT_EQ(report_.histograms_accepted, 0u);
}

TEST_F(DecoderV1Test, DecoderIsReusableAcrossRequests) {
  prometheus::WriteRequest bad;
  AddSeries(bad, {{"job", "x"}}, {{1, 1}});
  AddSeries(bad, {{"b", "1"}, {"__name__", "m"}}, {{1, 1}});  // unsorted: key built in the arena
  ASSERT_TRUE(DecodeV1(Encode(bad)));
  EXPECT_EQ(report_.series_rejected, 1u);
  ASSERT_EQ(batch_.series.size(), 1u);

  prometheus::WriteRequest good;
  AddSeries(good, {{"z", "1"}, {"__name__", "n"}}, {{2, 2}});
  ASSERT_TRUE(DecodeV1(Encode(good)));
  EXPECT_FALSE(report_.HasRejections());
  EXPECT_EQ(report_.first_rejection, "");
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"z", "1"}, {"__name__", "n"}}));
  EXPECT_EQ(batch_.samples.size(), 1u);
}

TEST_F(DecoderV1Test, ManyUnsortedSeriesKeepValidKeysAcrossArenaGrowth) {
  // Keys built in the decoder's arena must stay valid as the arena grows during decoding.
  prometheus::WriteRequest req;
  std::vector<std::string> expected;
  for (int i = 0; i < 2000; ++i) {
    const LabelPairs l = {{"pod", "p" + std::to_string(i)}, {"__name__", "m"}, {"a", std::string(i % 50, 'x')}};
    AddSeries(req, l, {{i, i}});
    expected.push_back(KeyOf(l));
  }
  ASSERT_TRUE(DecodeV1(Encode(req)));
  EXPECT_EQ(Keys(), expected);
  ExpectHashesConsistent();
}

TEST_F(DecoderV1Test, RealisticRequestRoundTrips) {
  const auto req = testutil::RealisticV1(500, 1'700'000'000'000);
  ASSERT_TRUE(DecodeV1(Encode(req)));
  ASSERT_EQ(batch_.series.size(), 500u);
  ExpectHashesConsistent();
  for (int i = 0; i < 500; ++i) {
    const auto& ts = req.timeseries(i);
    LabelPairs l;
    for (const auto& p : ts.labels()) l.emplace_back(p.name(), p.value());
    EXPECT_EQ(batch_.series[i].labels, KeyOf(l));
    auto s = batch_.SamplesOf(batch_.series[i]);
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].value, ts.samples(0).value());
  }
}

}  // namespace
}  // namespace canaryd::codec::testing
