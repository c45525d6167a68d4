// Remote-write 2.0 decoding: symbols, label references, metadata, exemplars and the 2.0 rules.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <set>

#include "canaryd/model/sample.h"
#include "codec_test_util.h"

namespace canaryd::codec::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testutil::V2Builder;
namespace v2 = io::prometheus::write::v2;

class DecoderV2Test : public DecodeFixture {};

TEST_F(DecoderV2Test, RoundTripsLabelsAndSamples) {
  V2Builder b;
  b.AddSeries({{"__name__", "up"}, {"job", "node"}, {"instance", "a:9100"}}, {{1000, 1}, {2000, 0}});
  b.AddSeries({{"__name__", "temp"}, {"city", "Zürich"}}, {{-1, -273.15}});
  ASSERT_TRUE(DecodeV2(b.Encode()));
  EXPECT_EQ(Keys(), (std::vector<std::string>{
                        KeyOf({{"__name__", "up"}, {"job", "node"}, {"instance", "a:9100"}}),
                        KeyOf({{"__name__", "temp"}, {"city", "Zürich"}})}));
  ExpectHashesConsistent();
  EXPECT_EQ(report_.series_accepted, 2u);
  EXPECT_EQ(report_.samples_accepted, 3u);
  EXPECT_FALSE(report_.HasRejections());
  auto s0 = batch_.SamplesOf(batch_.series[0]);
  ASSERT_EQ(s0.size(), 2u);
  EXPECT_EQ(s0[1].timestamp_ms, 2000);
  EXPECT_EQ(s0[1].value, 0);
  auto s1 = batch_.SamplesOf(batch_.series[1]);
  ASSERT_EQ(s1.size(), 1u);
  EXPECT_EQ(s1[0].timestamp_ms, -1);
  EXPECT_EQ(s1[0].value, -273.15);
}

TEST_F(DecoderV2Test, PreservesSpecialValuesBitExact) {
  const std::vector<uint64_t> bits = {0x7ff8000000000001ULL, model::kStaleNaNBits,
                                      0x7ff0000000000000ULL, 0xfff0000000000000ULL,
                                      0x8000000000000000ULL};
  testutil::SamplePairs samples;
  for (size_t i = 0; i < bits.size(); ++i) {
    samples.emplace_back(static_cast<int64_t>(i), std::bit_cast<double>(bits[i]));
  }
  V2Builder b;
  b.AddSeries({{"__name__", "special"}}, samples);
  ASSERT_TRUE(DecodeV2(b.Encode()));
  ASSERT_EQ(batch_.series.size(), 1u);
  auto got = batch_.SamplesOf(batch_.series[0]);
  ASSERT_EQ(got.size(), bits.size());
  for (size_t i = 0; i < bits.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(got[i].value), bits[i]) << i;
  }
  EXPECT_TRUE(model::IsStaleNaN(got[1].value));
}

TEST_F(DecoderV2Test, EmptyRequestAndEmptySymbolTableAreAccepted) {
  ASSERT_TRUE(DecodeV2(""));
  EXPECT_TRUE(batch_.series.empty());
  v2::Request req;  // no symbols at all, no series
  ASSERT_TRUE(DecodeV2(testutil::Encode(req)));
  EXPECT_FALSE(report_.HasRejections());
}

TEST_F(DecoderV2Test, FirstSymbolMustBeEmpty) {
  v2::Request req;
  req.add_symbols("__name__");
  req.add_symbols("up");
  auto* ts = req.add_timeseries();
  ts->add_labels_refs(0);
  ts->add_labels_refs(1);
  ts->add_samples()->set_timestamp(1);
  const auto r = DecodeV2(testutil::Encode(req));
  ASSERT_FALSE(r);
  EXPECT_EQ(ErrcOf(r), Errc::kBadSymbolTable);
  EXPECT_TRUE(batch_.series.empty());
  EXPECT_TRUE(batch_.samples.empty());
}

TEST_F(DecoderV2Test, SymbolsAfterSeriesAreResolved) {
  // Field order on the wire is free: the symbol table may follow the series that use it.
  V2Builder b;
  b.AddSeries({{"__name__", "up"}, {"job", "x"}}, {{1, 1}});
  v2::Request series_only;
  *series_only.mutable_timeseries() = b.request().timeseries();
  v2::Request symbols_only;
  *symbols_only.mutable_symbols() = b.request().symbols();
  // Concatenated messages merge: series first, then symbols.
  ASSERT_TRUE(DecodeV2(testutil::Encode(series_only) + testutil::Encode(symbols_only)));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "x"}}));
}

TEST_F(DecoderV2Test, DropsEmptyLabelValuesFromKey) {
  V2Builder b;
  b.AddSeries({{"job", "node"}, {"__name__", "up"}, {"empty", ""}}, {{1, 1}});
  ASSERT_TRUE(DecodeV2(b.Encode()));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "node"}}));
  ExpectHashesConsistent();
}

TEST_F(DecoderV2Test, UnpackedLabelRefsAreAccepted) {
  Pb ts;
  for (uint64_t ref : {3, 4, 1, 2}) ts.U(1, ref);  // job=x, __name__=up, unpacked and unsorted
  ts.M(2, Pb().D(1, 1).U(2, 5));
  Pb req;
  for (const char* s : {"", "__name__", "up", "job", "x"}) req.B(4, s);
  req.M(5, ts);
  ASSERT_TRUE(DecodeV2(req.str()));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "x"}}));

  // Packed and unpacked mixed in one series.
  Pb mixed;
  mixed.PackedU(1, {3, 4}).U(1, 1).U(1, 2);
  Pb req2;
  for (const char* s : {"", "__name__", "up", "job", "x"}) req2.B(4, s);
  req2.M(5, mixed);
  ASSERT_TRUE(DecodeV2(req2.str()));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "x"}}));
}

TEST_F(DecoderV2Test, LegacyCreatedTimestampAndStartTimestampsAreAccepted) {
  V2Builder b;
  auto* ts = b.AddSeries({{"__name__", "requests_total"}}, {});
  ts->set_created_timestamp(1'000);
  auto* s = ts->add_samples();
  s->set_value(5);
  s->set_timestamp(2'000);
  s->set_start_timestamp(1'000);
  auto* h_ts = b.AddSeries({{"__name__", "latency"}}, {});
  auto* h = h_ts->add_histograms();
  h->set_count_int(0);
  h->set_start_timestamp(500);
  h->set_timestamp(2'000);
  ASSERT_TRUE(DecodeV2(b.Encode()));
  ASSERT_EQ(batch_.series.size(), 2u);
  auto got = batch_.SamplesOf(batch_.series[0]);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].timestamp_ms, 2'000);
  EXPECT_EQ(got[0].value, 5);
  EXPECT_EQ(report_.histograms_accepted, 1u);
  EXPECT_FALSE(report_.HasRejections());
}

TEST_F(DecoderV2Test, MetadataOnlyAndExemplarOnlySeriesAreAccepted) {
  V2Builder b;
  auto* md = b.AddSeries({{"__name__", "with_metadata"}}, {});
  md->mutable_metadata()->set_type(v2::Metadata::METRIC_TYPE_COUNTER);
  md->mutable_metadata()->set_help_ref(b.Symbol("Total requests."));
  md->mutable_metadata()->set_unit_ref(b.Symbol("requests"));
  auto* ex = b.AddSeries({{"__name__", "with_exemplar"}}, {});
  auto* e = ex->add_exemplars();
  e->add_labels_refs(b.Symbol("trace_id"));
  e->add_labels_refs(b.Symbol("abc123"));
  e->set_value(1.5);
  e->set_timestamp(10);
  ASSERT_TRUE(DecodeV2(b.Encode()));
  EXPECT_EQ(Keys(), (std::vector<std::string>{KeyOf({{"__name__", "with_metadata"}}),
                                              KeyOf({{"__name__", "with_exemplar"}})}));
  EXPECT_EQ(report_.series_accepted, 2u);
  EXPECT_EQ(report_.samples_accepted, 0u);
  EXPECT_EQ(report_.exemplars_accepted, 1u);
  EXPECT_FALSE(report_.HasRejections());
  EXPECT_TRUE(batch_.SamplesOf(batch_.series[0]).empty());
}

TEST_F(DecoderV2Test, UnusedInvalidUtf8SymbolIsHarmless) {
  V2Builder b;
  b.Symbol("\xff\xfe");
  b.AddSeries({{"__name__", "up"}}, {{1, 1}});
  ASSERT_TRUE(DecodeV2(b.Encode()));
  EXPECT_EQ(batch_.series.size(), 1u);
  EXPECT_FALSE(report_.HasRejections());
}

TEST_F(DecoderV2Test, SameSeriesTwiceInOneRequest) {
  // Allowed (e.g. to carry different exemplars or metadata): both land with the same key.
  V2Builder b;
  b.AddSeries({{"__name__", "up"}, {"job", "a"}}, {{1, 1}});
  b.AddSeries({{"job", "a"}, {"__name__", "up"}}, {{2, 1}});
  ASSERT_TRUE(DecodeV2(b.Encode()));
  ASSERT_EQ(batch_.series.size(), 2u);
  EXPECT_EQ(batch_.series[0].labels, batch_.series[1].labels);
  EXPECT_EQ(batch_.series[0].hash, batch_.series[1].hash);
}

// ---- rejection rules ----

/// Builds a 2.0 request: good series, then the bad one made by `make_bad`, then a good one.
class DecoderV2RejectTest : public DecodeFixture {
 protected:
  template <typename MakeBad>
  void DecodeWithBad(MakeBad make_bad, DecodeLimits limits = {}) {
    V2Builder b;
    b.AddSeries({{"__name__", "good_before"}}, {{1, 1}});
    make_bad(b);
    b.AddSeries({{"__name__", "good_after"}}, {{1, 1}, {2, 2}});
    ASSERT_TRUE(DecodeV2(b.Encode(), limits));
  }
  void ExpectGoodSeriesKept() {
    EXPECT_EQ(Keys(), (std::vector<std::string>{KeyOf({{"__name__", "good_before"}}),
                                                KeyOf({{"__name__", "good_after"}})}));
    ExpectHashesConsistent();
    EXPECT_EQ(report_.series_accepted, 2u);
    EXPECT_EQ(report_.samples_accepted, 3u);
    ASSERT_EQ(batch_.samples.size(), 3u);
    EXPECT_EQ(batch_.SamplesOf(batch_.series[1])[1].value, 2);
  }
  void ExpectOneSeriesRejected(RejectReason reason, uint64_t samples, const std::string& first) {
    ExpectGoodSeriesKept();
    EXPECT_EQ(report_.series_rejected, 1u);
    EXPECT_EQ(SeriesRejected(reason), 1u);
    EXPECT_EQ(report_.samples_rejected, samples);
    EXPECT_EQ(SamplesRejected(reason), samples);
    EXPECT_THAT(report_.first_rejection, StartsWith(first));
    EXPECT_THAT(report_.Summary(), StartsWith("rejected 1 of 3 series (" +
                                              std::string(RejectReasonName(reason)) + ": 1)"));
    EXPECT_THAT(report_.Summary(), HasSubstr("; first: " + first));
  }
};

TEST_F(DecoderV2RejectTest, MissingName) {
  DecodeWithBad([](V2Builder& b) { b.AddSeries({{"job", "x"}}, {{1, 1}, {2, 2}}); });
  ExpectOneSeriesRejected(RejectReason::kMissingName, 2, "{job=\"x\"}: series has no __name__ label");
}

TEST_F(DecoderV2RejectTest, EmptyLabelName) {
  DecodeWithBad([](V2Builder& b) { b.AddSeries({{"__name__", "m"}, {"", "v"}}, {{1, 1}}); });
  ExpectOneSeriesRejected(RejectReason::kEmptyLabelName, 1, "{__name__=\"m\", =\"v\"}: empty label name");
}

TEST_F(DecoderV2RejectTest, DuplicateLabelName) {
  DecodeWithBad(
      [](V2Builder& b) { b.AddSeries({{"a", "1"}, {"__name__", "m"}, {"a", "2"}}, {{1, 1}}); });
  ExpectOneSeriesRejected(RejectReason::kDuplicateLabel, 1, "{__name__=\"m\", a=");
}

TEST_F(DecoderV2RejectTest, InvalidUtf8Name) {
  DecodeWithBad([](V2Builder& b) { b.AddSeries({{"__name__", "m"}, {"n\xc0\x80", "v"}}, {{1, 1}}); });
  ExpectOneSeriesRejected(RejectReason::kInvalidUtf8, 1,
                          "{__name__=\"m\", n\\xc0\\x80=\"v\"}: label name or value is not valid UTF-8");
}

TEST_F(DecoderV2RejectTest, InvalidUtf8Value) {
  DecodeWithBad([](V2Builder& b) { b.AddSeries({{"__name__", "m"}, {"a", "\xf4\x90\x80\x80"}}, {{1, 1}}); });
  ExpectOneSeriesRejected(RejectReason::kInvalidUtf8, 1, "{__name__=\"m\", a=\"\\xf4\\x90\\x80\\x80\"}");
}

TEST_F(DecoderV2RejectTest, BadSymbolRefInLabels) {
  DecodeWithBad([](V2Builder& b) {
    auto* ts = b.AddSeries({{"__name__", "m"}}, {{1, 1}});
    ts->add_labels_refs(b.Symbol("job"));
    ts->add_labels_refs(100000);
  });
  ExpectOneSeriesRejected(RejectReason::kBadSymbolRef, 1, "{");
  EXPECT_THAT(report_.first_rejection, HasSubstr("symbol reference out of range"));
}

TEST_F(DecoderV2RejectTest, BadSymbolRefAboveUint32IsTruncatedLikeLibprotobuf) {
  // labels_refs is uint32: libprotobuf keeps the low 32 bits, so 2^32 + 1 means 1.
  Pb ts;
  ts.U(1, (uint64_t{1} << 32) + 1).U(1, 2).M(2, Pb().D(1, 1).U(2, 1));
  Pb req;
  for (const char* s : {"", "__name__", "up"}) req.B(4, s);
  req.M(5, ts);
  ASSERT_TRUE(DecodeV2(req.str()));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}}));
}

TEST_F(DecoderV2RejectTest, BadSymbolRefInMetadata) {
  DecodeWithBad([](V2Builder& b) {
    auto* ts = b.AddSeries({{"__name__", "m"}}, {{1, 1}});
    ts->mutable_metadata()->set_help_ref(4096);
  });
  ExpectOneSeriesRejected(RejectReason::kBadSymbolRef, 1, "{");
}

TEST_F(DecoderV2RejectTest, OddLabelRefs) {
  DecodeWithBad([](V2Builder& b) {
    auto* ts = b.AddSeries({{"__name__", "m"}}, {{1, 1}, {2, 2}, {3, 3}});
    ts->add_labels_refs(b.Symbol("job"));
  });
  ExpectOneSeriesRejected(RejectReason::kOddLabelRefs, 3, "{");
  EXPECT_THAT(report_.first_rejection, HasSubstr("labels_refs has an odd length"));
}

TEST_F(DecoderV2RejectTest, SamplesAndHistogramsTogether) {
  DecodeWithBad([](V2Builder& b) {
    auto* ts = b.AddSeries({{"__name__", "m"}}, {{1, 1}});
    ts->add_histograms()->set_count_int(0);
  });
  ExpectOneSeriesRejected(RejectReason::kSamplesAndHistograms, 1,
                          "{__name__=\"m\"}: series has both samples and histograms");
  EXPECT_EQ(report_.histograms_rejected, 1u);
  EXPECT_EQ(report_.histograms_accepted, 0u);
}

TEST_F(DecoderV2RejectTest, FutureSamplesAndHistogramsTogetherStillReject) {
  DecodeLimits limits;
  limits.max_timestamp_ms = 100;
  DecodeWithBad(
      [](V2Builder& b) {
        auto* ts = b.AddSeries({{"__name__", "m"}}, {{1000, 1}});  // future: dropped, yet present
        ts->add_histograms()->set_count_int(0);
      },
      limits);
  ExpectOneSeriesRejected(RejectReason::kSamplesAndHistograms, 1, "{__name__=\"m\"}");
}

TEST_F(DecoderV2RejectTest, InvalidExemplarsAreRejectedAlone) {
  DecodeWithBad([](V2Builder& b) {
    auto* ts = b.AddSeries({{"__name__", "m"}}, {});
    auto* odd = ts->add_exemplars();
    odd->add_labels_refs(b.Symbol("trace_id"));
    auto* out_of_range = ts->add_exemplars();
    out_of_range->add_labels_refs(b.Symbol("trace_id"));
    out_of_range->add_labels_refs(9999);
    auto* empty_name = ts->add_exemplars();
    empty_name->add_labels_refs(0);
    empty_name->add_labels_refs(b.Symbol("v"));
    auto* bad_utf8 = ts->add_exemplars();
    bad_utf8->add_labels_refs(b.Symbol("trace_id"));
    bad_utf8->add_labels_refs(b.Symbol("\xed\xbf\xbf"));
    auto* ok = ts->add_exemplars();
    ok->add_labels_refs(b.Symbol("trace_id"));
    ok->add_labels_refs(b.Symbol("abc"));
    ts->add_exemplars();  // no labels: valid
  });
  EXPECT_EQ(report_.series_accepted, 3u);
  EXPECT_EQ(report_.series_rejected, 0u);
  EXPECT_EQ(report_.exemplars_rejected, 4u);
  EXPECT_EQ(report_.exemplars_accepted, 2u);
  EXPECT_EQ(report_.first_rejection, "{__name__=\"m\"}: invalid exemplar");
  EXPECT_THAT(report_.Summary(), StartsWith("rejected 4 exemplars; first: "));
}

TEST_F(DecoderV2RejectTest, FutureExemplarIsRejected) {
  DecodeLimits limits;
  limits.max_timestamp_ms = 100;
  DecodeWithBad(
      [](V2Builder& b) {
        auto* ts = b.AddSeries({{"__name__", "m"}}, {});
        ts->add_exemplars()->set_timestamp(100);
        ts->add_exemplars()->set_timestamp(101);
      },
      limits);
  EXPECT_EQ(report_.exemplars_accepted, 1u);
  EXPECT_EQ(report_.exemplars_rejected, 1u);
}

TEST_F(DecoderV2RejectTest, FutureSamplesAreDroppedOneByOne) {
  DecodeLimits limits;
  limits.max_timestamp_ms = 10;
  DecodeWithBad([](V2Builder& b) { b.AddSeries({{"__name__", "m"}}, {{5, 1}, {11, 2}}); },
                limits);
  ASSERT_EQ(batch_.series.size(), 3u);
  EXPECT_EQ(batch_.SamplesOf(batch_.series[1]).size(), 1u);
  EXPECT_EQ(report_.series_rejected, 0u);
  EXPECT_EQ(report_.samples_rejected, 1u);
  EXPECT_EQ(SamplesRejected(RejectReason::kTooFarInFuture), 1u);
  EXPECT_EQ(report_.Summary(),
            "rejected 1 samples too far in the future; first: {__name__=\"m\"}: timestamp too far "
            "in the future (1 samples)");
}

TEST_F(DecoderV2RejectTest, InvalidSymbolOnlyRejectsSeriesThatUseIt) {
  V2Builder b;
  b.AddSeries({{"__name__", "good"}}, {{1, 1}});
  b.AddSeries({{"__name__", "bad"}, {"v", "\xc3"}}, {{1, 1}});
  b.AddSeries({{"__name__", "also_bad"}, {"v", "\xc3"}}, {{1, 1}});
  ASSERT_TRUE(DecodeV2(b.Encode()));
  EXPECT_EQ(Keys(), std::vector<std::string>{KeyOf({{"__name__", "good"}})});
  EXPECT_EQ(SeriesRejected(RejectReason::kInvalidUtf8), 2u);
  EXPECT_THAT(report_.first_rejection, StartsWith("{__name__=\"bad\", v=\"\\xc3\"}"));
  EXPECT_THAT(report_.Summary(), StartsWith("rejected 2 of 3 series (invalid_utf8: 2); first: {__name__=\"bad\""));
}

TEST_F(DecoderV2RejectTest, RefsIntoEmptySymbolTable) {
  Pb req;
  req.M(5, Pb().PackedU(1, {0, 0}).M(2, Pb().D(1, 1).U(2, 1)));
  ASSERT_TRUE(DecodeV2(req.str()));
  EXPECT_TRUE(batch_.series.empty());
  EXPECT_EQ(SeriesRejected(RejectReason::kBadSymbolRef), 1u);
}

TEST_F(DecoderV2RejectTest, SummaryCountsEveryReason) {
  V2Builder b;
  b.AddSeries({{"job", "x"}}, {{1, 1}});
  b.AddSeries({{"job", "y"}}, {{1, 1}});
  b.AddSeries({{"__name__", "m"}, {"", "v"}}, {{1, 1}});
  b.AddSeries({{"__name__", "ok"}}, {{1, 1}});
  ASSERT_TRUE(DecodeV2(b.Encode()));
  EXPECT_EQ(report_.Summary(),
            "rejected 3 of 4 series (missing_name: 2, empty_label_name: 1); first: {job=\"x\"}: "
            "series has no __name__ label");
}

TEST(RejectReasonTest, NamesAreStableAndDistinct) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < static_cast<size_t>(RejectReason::kCount); ++i) {
    const auto name = RejectReasonName(static_cast<RejectReason>(i));
    EXPECT_NE(name, "unknown") << i;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(RejectReason::kCount));
  EXPECT_EQ(RejectReasonName(RejectReason::kMissingName), "missing_name");
  EXPECT_EQ(RejectReasonName(RejectReason::kTooFarInFuture), "too_far_in_future");
}

}  // namespace
}  // namespace canaryd::codec::testing
