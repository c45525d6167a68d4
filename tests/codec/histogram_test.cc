// Native histogram validation, through both protocol versions (the Histogram message is the same
// on the wire for fields 1-16).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "canaryd/model/sample.h"
#include "codec_test_util.h"

namespace canaryd::codec::testing {
namespace {

using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Pb Span(int32_t offset, uint32_t length) { return Pb().S(1, offset).U(2, length); }

// count 6 = zero 1 + positive {1,2,1} + negative {1}.
Pb ValidIntHistogram() {
  Pb h;
  h.U(1, 6).D(3, 10).S(4, 3).D(5, 0.001).U(6, 1);
  h.M(8, Span(-2, 1)).PackedS(9, {1});
  h.M(11, Span(0, 2)).M(11, Span(1, 1)).PackedS(12, {1, 1, -1});
  h.U(14, 1).U(15, 1000);
  return h;
}

Pb ValidFloatHistogram() {
  Pb h;
  h.D(2, 6.5).D(3, 3.25).S(4, 0).D(5, 0.001).D(7, 0.5);
  h.M(8, Span(0, 1)).PackedD(10, {1.5});
  h.M(11, Span(0, 2)).PackedD(13, {1.5, 3});
  h.U(15, 1000);
  return h;
}

Pb ValidCustomBucketsHistogram() {
  Pb h;
  h.U(1, 4).D(3, 1.2).S(4, -53);
  h.M(11, Span(0, 4)).PackedS(12, {1, 0, 0, 0});
  h.PackedD(16, {0.1, 0.5, 1});
  h.U(15, 1000);
  return h;
}

class HistogramTest : public DecodeFixture, public ::testing::WithParamInterface<ProtocolVersion> {
 protected:
  /// Decodes one series named "h" carrying `histograms`, plus a plain good series.
  void DecodeHistograms(const std::vector<Pb>& histograms, DecodeLimits limits = {}) {
    if (GetParam() == ProtocolVersion::kV1) {
      Pb ts;
      ts.M(1, Pb().B(1, "__name__").B(2, "h"));
      for (const auto& h : histograms) ts.M(4, h);
      const Pb good = Pb().M(1, Pb().B(1, "__name__").B(2, "good")).M(2, Pb().D(1, 1).U(2, 1));
      ASSERT_TRUE(DecodeV1(Pb().M(1, ts).M(1, good).str(), limits));
    } else {
      Pb ts;
      ts.PackedU(1, {1, 2});
      for (const auto& h : histograms) ts.M(3, h);
      Pb req;
      for (const char* s : {"", "__name__", "h", "good"}) req.B(4, s);
      req.M(5, ts).M(5, Pb().PackedU(1, {1, 3}).M(2, Pb().D(1, 1).U(2, 1)));
      ASSERT_TRUE(DecodeV2(req.str(), limits));
    }
    // The histogram series stays whatever its histograms hold.
    EXPECT_EQ(Keys(), (std::vector<std::string>{KeyOf({{"__name__", "h"}}), KeyOf({{"__name__", "good"}})}));
    EXPECT_EQ(report_.series_rejected, 0u);
  }
  void ExpectValid(const Pb& h) {
    DecodeHistograms({h});
    EXPECT_EQ(report_.histograms_accepted, 1u);
    EXPECT_EQ(report_.histograms_rejected, 0u);
    EXPECT_FALSE(report_.HasRejections()) << report_.Summary();
  }
  void ExpectInvalid(const Pb& h) {
    DecodeHistograms({ValidIntHistogram(), h});
    EXPECT_EQ(report_.histograms_accepted, 1u);
    EXPECT_EQ(report_.histograms_rejected, 1u);
    EXPECT_EQ(report_.first_rejection, "{__name__=\"h\"}: invalid native histogram");
    EXPECT_EQ(report_.Summary(), "rejected 1 histograms; first: {__name__=\"h\"}: invalid native histogram");
  }
};

INSTANTIATE_TEST_SUITE_P(Versions, HistogramTest,
                         ::testing::Values(ProtocolVersion::kV1, ProtocolVersion::kV2),
                         [](const auto& p) { return p.param == ProtocolVersion::kV1 ? "V1" : "V2"; });

TEST_P(HistogramTest, AcceptsIntHistogram) { ExpectValid(ValidIntHistogram()); }
TEST_P(HistogramTest, AcceptsFloatHistogram) { ExpectValid(ValidFloatHistogram()); }
TEST_P(HistogramTest, AcceptsCustomBuckets) { ExpectValid(ValidCustomBucketsHistogram()); }
TEST_P(HistogramTest, AcceptsEmptyHistogram) { ExpectValid(Pb().U(1, 0)); }
TEST_P(HistogramTest, AcceptsEmptyMessage) { ExpectValid(Pb()); }

TEST_P(HistogramTest, AcceptsSchemaBounds) {
  ExpectValid(Pb().U(1, 0).S(4, -4));
  ExpectValid(Pb().U(1, 0).S(4, 8));
}

TEST_P(HistogramTest, AcceptsStaleMarkerWhateverElseItHolds) {
  // Only sum matters in a stale marker: count, schema and buckets are ignored.
  ExpectValid(Pb().U(1, 99).F64(3, model::kStaleNaNBits).S(4, 100).M(11, Span(0, 5)).PackedS(12, {-7}));
}

TEST_P(HistogramTest, AcceptsNaNSumWithCountAboveBuckets) {
  // With a NaN sum (not the stale marker) the count may exceed the buckets' total.
  ExpectValid(Pb().U(1, 10).D(3, kNaN).M(11, Span(0, 1)).PackedS(12, {3}));
}

TEST_P(HistogramTest, AcceptsUnpackedRepeatedFields) {
  Pb h;
  h.U(1, 6).D(3, 1).S(4, 0).U(6, 1);
  h.M(8, Span(0, 1)).S(9, 1);                                   // unpacked negative_deltas
  h.M(11, Span(0, 3)).S(12, 1).S(12, 1).S(12, -1);              // unpacked positive_deltas
  ExpectValid(h);
  Pb f;
  f.D(2, 4).S(4, 0).M(8, Span(0, 1)).D(10, 1).M(11, Span(0, 2)).D(13, 1).D(13, 2);  // unpacked counts
  ExpectValid(f);
  Pb c;
  c.U(1, 2).S(4, -53).M(11, Span(0, 2)).S(12, 1).S(12, 0).D(16, 0.5).D(16, 1.0);     // unpacked bounds
  ExpectValid(c);
  // Packed and unpacked mixed in one field.
  ExpectValid(Pb().U(1, 3).M(11, Span(0, 3)).PackedS(12, {1}).S(12, 0).PackedS(12, {0}));
}

TEST_P(HistogramTest, IntCountMismatch) {
  Pb h = Pb().U(1, 7).D(3, 10).M(11, Span(0, 2)).PackedS(12, {1, 1});  // buckets 1+2=3
  ExpectInvalid(h);
  ExpectInvalid(Pb().U(1, 2).D(3, 10).M(11, Span(0, 2)).PackedS(12, {1, 1}));  // count below buckets
  ExpectInvalid(Pb().U(1, 0).U(6, 1));  // zero bucket not counted
}

TEST_P(HistogramTest, NaNSumCountBelowBuckets) {
  ExpectInvalid(Pb().U(1, 1).D(3, kNaN).M(11, Span(0, 1)).PackedS(12, {3}));
}

TEST_P(HistogramTest, SpansDoNotMatchDeltas) {
  ExpectInvalid(Pb().U(1, 2).M(11, Span(0, 3)).PackedS(12, {1, 0}));
  ExpectInvalid(Pb().U(1, 2).M(11, Span(0, 1)).PackedS(12, {1, 0}));
  ExpectInvalid(Pb().U(1, 1).PackedS(9, {1}));                        // deltas without spans
  ExpectInvalid(Pb().U(1, 0).M(8, Span(0, 1)));                       // spans without deltas
}

TEST_P(HistogramTest, FloatSpansDoNotMatchCounts) {
  ExpectInvalid(Pb().D(2, 3).M(11, Span(0, 3)).PackedD(13, {1, 2}));
  ExpectInvalid(Pb().D(2, 3).M(8, Span(0, 1)).PackedD(10, {1, 2}));
}

TEST_P(HistogramTest, SchemaOutOfRange) {
  for (int schema : {9, -5, 52, -52, -54, 100, -1000}) {
    SCOPED_TRACE(schema);
    ExpectInvalid(Pb().U(1, 0).S(4, schema));
  }
}

TEST_P(HistogramTest, NegativeBucketCount) {
  ExpectInvalid(Pb().U(1, 0).M(11, Span(0, 2)).PackedS(12, {2, -3}));  // second bucket -1
  ExpectInvalid(Pb().U(1, 0).M(8, Span(0, 1)).PackedS(9, {-1}));
  ExpectInvalid(Pb().D(2, 1).M(11, Span(0, 2)).PackedD(13, {2, -1}));
  ExpectInvalid(Pb().D(2, 1).M(8, Span(0, 1)).PackedD(10, {-0.5}));
}

TEST_P(HistogramTest, NegativeSpanOffsetAfterTheFirst) {
  ExpectInvalid(Pb().U(1, 2).M(11, Span(0, 1)).M(11, Span(-1, 1)).PackedS(12, {1, 0}));
  // A negative first offset is fine for exponential schemas.
  ExpectValid(Pb().U(1, 2).M(11, Span(-5, 1)).M(11, Span(1, 1)).PackedS(12, {1, 0}));
}

TEST_P(HistogramTest, CustomBucketsRules) {
  // Bounds must strictly increase.
  ExpectInvalid(Pb().U(1, 0).S(4, -53).PackedD(16, {1, 1}));
  ExpectInvalid(Pb().U(1, 0).S(4, -53).PackedD(16, {2, 1}));
  ExpectInvalid(Pb().U(1, 0).S(4, -53).PackedD(16, {kNaN}));
  // No negative buckets, zero bucket or zero threshold.
  ExpectInvalid(Pb().U(1, 1).S(4, -53).PackedD(16, {1}).M(8, Span(0, 1)).PackedS(9, {1}));
  ExpectInvalid(Pb().U(1, 1).S(4, -53).PackedD(16, {1}).U(6, 1));
  ExpectInvalid(Pb().U(1, 0).S(4, -53).PackedD(16, {1}).D(5, 0.5));
  // Custom bounds on an exponential schema.
  ExpectInvalid(Pb().U(1, 0).S(4, 0).PackedD(16, {1}));
}

TEST_P(HistogramTest, CustomBucketsMustCoverSpansAndOmitInf) {
  // Prometheus's checkHistogramCustomBounds: the +Inf bound is implicit, span offsets are never
  // negative, and the spans may not reach past the last bucket (bounds + 1).
  ExpectInvalid(Pb().U(1, 0).S(4, -53).PackedD(16, {1, kInf}));
  ExpectInvalid(Pb().U(1, 1).S(4, -53).PackedD(16, {1, 2}).M(11, Span(-1, 1)).PackedS(12, {1}));
  ExpectInvalid(Pb().U(1, 4).S(4, -53).PackedD(16, {1, 2}).M(11, Span(0, 4)).PackedS(12, {1, 0, 0, 0}));
  ExpectInvalid(Pb().U(1, 2).S(4, -53).PackedD(16, {1, 2}).M(11, Span(1, 1)).M(11, Span(1, 1)).PackedS(12, {1, 0}));
  // Exactly covered: 2 bounds give 3 buckets.
  ExpectValid(Pb().U(1, 2).S(4, -53).PackedD(16, {1, 2}).M(11, Span(1, 1)).M(11, Span(0, 1)).PackedS(12, {1, 0}));
  ExpectInvalid(Pb().U(1, 0).S(4, -53).PackedD(16, {-kInf, 1}));  // bounds start above -Inf
}

TEST_P(HistogramTest, FutureHistogramIsRejected) {
  DecodeLimits limits;
  limits.max_timestamp_ms = 1000;
  DecodeHistograms({ValidIntHistogram(), Pb(ValidIntHistogram()).U(15, 1001)}, limits);
  EXPECT_EQ(report_.histograms_accepted, 1u);
  EXPECT_EQ(report_.histograms_rejected, 1u);
}

TEST_P(HistogramTest, BucketDeltaOverflowIsNegativeNotUndefined) {
  // Deltas that overflow int64 wrap, as in Prometheus (Go), giving a negative bucket.
  const int64_t max = std::numeric_limits<int64_t>::max();
  ExpectInvalid(Pb().U(1, 0).M(11, Span(0, 2)).PackedS(12, {max, max}));
  ExpectInvalid(Pb().U(1, 0).M(11, Span(0, 2)).PackedS(12, {std::numeric_limits<int64_t>::min(), -1}));
}

TEST_P(HistogramTest, LastOneofMemberWins) {
  // zero_count is a oneof: a later zero_count_float clears zero_count_int, so the int count no
  // longer includes the zero bucket (Prometheus reads zero count 0 here).
  ExpectInvalid(Pb().U(1, 5).U(6, 5).D(7, 0));
  ExpectValid(Pb().U(1, 0).U(6, 5).D(7, 0));
  // count is a oneof too: count_float then count_int is an int histogram.
  ExpectValid(Pb().D(2, -1).U(1, 1).M(11, Span(0, 1)).PackedS(12, {1}));
  ExpectValid(Pb().U(1, 99).D(2, 1).M(11, Span(0, 1)).PackedD(13, {1}));
}

TEST_P(HistogramTest, CountsManyHistograms) {
  std::vector<Pb> hs(50, ValidIntHistogram());
  hs.push_back(ValidFloatHistogram());
  hs.push_back(Pb().U(1, 1));  // invalid
  DecodeHistograms(hs);
  EXPECT_EQ(report_.histograms_accepted, 51u);
  EXPECT_EQ(report_.histograms_rejected, 1u);
}

TEST(HistogramV1Test, SamplesAndHistogramsTogetherAreFineInV1) {
  // The "never both" rule is 2.0's; 1.0 has no such rule.
  RemoteWriteDecoder decoder;
  model::SeriesBatch batch;
  DecodeReport report;
  prometheus::WriteRequest req;
  auto* ts = testutil::AddSeries(req, {{"__name__", "m"}}, {{1, 1}});
  ts->add_histograms()->set_count_int(0);
  const std::string body = testutil::Encode(req);
  ASSERT_TRUE(decoder.Decode(ProtocolVersion::kV1, body, {}, batch, report));
  EXPECT_EQ(batch.series.size(), 1u);
  EXPECT_EQ(report.histograms_accepted, 1u);
  EXPECT_EQ(report.samples_accepted, 1u);
  EXPECT_FALSE(report.HasRejections());
}

TEST(HistogramV1Test, GeneratedClassesRoundTrip) {
  // Through libprotobuf rather than the hand-written encoder.
  prometheus::WriteRequest req;
  auto* ts = testutil::AddSeries(req, {{"__name__", "latency"}, {"job", "api"}}, {});
  auto* h = ts->add_histograms();
  h->set_count_int(3);
  h->set_sum(0.3);
  h->set_schema(1);
  h->set_zero_count_int(1);
  auto* span = h->add_positive_spans();
  span->set_offset(1);
  span->set_length(2);
  h->add_positive_deltas(1);
  h->add_positive_deltas(0);
  h->set_timestamp(5);
  auto* f = ts->add_histograms();
  f->set_count_float(2);
  f->set_schema(-53);
  f->add_custom_values(0.25);
  auto* fspan = f->add_positive_spans();
  fspan->set_length(2);
  f->add_positive_counts(1);
  f->add_positive_counts(1);
  auto* stale = ts->add_histograms();
  stale->set_sum(model::StaleNaN());
  stale->set_count_int(1);  // ignored in a stale marker
  RemoteWriteDecoder decoder;
  model::SeriesBatch batch;
  DecodeReport report;
  const std::string body = testutil::Encode(req);
  ASSERT_TRUE(decoder.Decode(ProtocolVersion::kV1, body, {}, batch, report));
  ASSERT_EQ(batch.series.size(), 1u);
  EXPECT_EQ(report.histograms_accepted, 3u);
  EXPECT_FALSE(report.HasRejections()) << report.Summary();
}

}  // namespace
}  // namespace canaryd::codec::testing
