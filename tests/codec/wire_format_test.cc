// Protobuf wire-format handling: malformed bodies fail the whole request with an empty batch;
// unknown fields of every wire type are skipped wherever they appear.

#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace canaryd::codec::testing {
namespace {

using namespace std::string_literals;

class WireFormatTest : public DecodeFixture {
 protected:
  /// A valid series before `tail`, so that we can check nothing of the request survives.
  static std::string ValidV1Prefix() {
    return Pb().M(1, Pb().M(1, Pb().B(1, "__name__").B(2, "up")).M(2, Pb().D(1, 1).U(2, 1))).str();
  }
  static std::string ValidV2Prefix() {
    return Pb().B(4, "").B(4, "__name__").B(4, "up").M(5, Pb().PackedU(1, {1, 2}).M(2, Pb().D(1, 1).U(2, 1))).str();
  }
  void ExpectFails(ProtocolVersion v, const std::string& body, Errc expected) {
    const auto r = Decode(v, body);
    ASSERT_FALSE(r) << ::testing::PrintToString(body);
    EXPECT_EQ(ErrcOf(r), expected) << ::testing::PrintToString(body);
    EXPECT_TRUE(batch_.series.empty());
    EXPECT_TRUE(batch_.samples.empty());
  }
  void ExpectFails(ProtocolVersion v, const std::string& body) {
    const auto r = Decode(v, body);
    ASSERT_FALSE(r) << ::testing::PrintToString(body);
    EXPECT_TRUE(batch_.series.empty());
    EXPECT_TRUE(batch_.samples.empty());
  }
};

// The same malformation at the top level of both messages.
struct Malformed {
  std::string name;
  std::string bytes;
  Errc errc;
};

std::string Nested(int depth) {
  std::string open, close;
  for (int i = 0; i < depth; ++i) {
    open += Pb().Tag(7, 3).str();
    close = Pb().Tag(7, 4).str() + close;
  }
  return open + close;
}

std::vector<Malformed> TopLevelCases() {
  return {
      {"TruncatedVarintTag", "\x88"s, Errc::kTruncated},
      {"TruncatedVarintValue", Pb().Tag(9, 0).Raw("\xff\xff").str(), Errc::kTruncated},
      {"LengthPastEnd", Pb().Tag(9, 2).Raw("\x05" "abc").str(), Errc::kTruncated},
      {"HugeLength", Pb().Tag(9, 2).Raw(Pb::Varint(uint64_t{1} << 62)).str(), Errc::kTruncated},
      {"TruncatedFixed64", Pb().Tag(9, 1).Raw("1234567").str(), Errc::kTruncated},
      {"TruncatedFixed32", Pb().Tag(9, 5).Raw("123").str(), Errc::kTruncated},
      {"FieldNumberZero", "\x00\x01"s, Errc::kBadFieldNumber},
      {"FieldNumberZeroLen", "\x02\x00"s, Errc::kBadFieldNumber},
      {"TagAbove32Bits", Pb::Varint(uint64_t{1} << 35) + "\x00"s, Errc::kBadFieldNumber},
      {"WireType6", Pb().Tag(9, 6).Raw("\x00"s).str(), Errc::kBadWireType},
      {"WireType7", Pb().Tag(9, 7).Raw("\x00"s).str(), Errc::kBadWireType},
      {"UnmatchedEndGroup", Pb().Tag(9, 4).str(), Errc::kBadWireType},
      {"MismatchedEndGroup", Pb().Tag(9, 3).U(1, 1).Tag(10, 4).str(), Errc::kBadWireType},
      {"UnterminatedGroup", Pb().Tag(9, 3).U(1, 1).str(), Errc::kTruncated},
      {"ElevenByteVarint", Pb().Tag(9, 0).Raw("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01").str(),
       Errc::kBadVarint},
      {"ElevenByteVarintTag", "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"s, Errc::kBadVarint},
      {"ElevenByteLength", Pb().Tag(9, 2).Raw("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00").str(),
       Errc::kBadVarint},
      {"GroupsNested101Deep", Nested(101), Errc::kNestingTooDeep},
      {"GroupsNested5000Deep", Nested(5000), Errc::kNestingTooDeep},
      {"BadWireTypeInsideGroup", Pb().Tag(9, 3).Tag(1, 6).Tag(9, 4).str(), Errc::kBadWireType},
      {"FieldZeroInsideGroup", Pb().Tag(9, 3).Raw("\x00\x00"s).Tag(9, 4).str(), Errc::kBadFieldNumber},
  };
}

class WireFormatTopLevelTest : public WireFormatTest,
                               public ::testing::WithParamInterface<Malformed> {};

TEST_P(WireFormatTopLevelTest, V1FailsWithEmptyBatch) {
  ExpectFails(ProtocolVersion::kV1, ValidV1Prefix() + GetParam().bytes, GetParam().errc);
}

TEST_P(WireFormatTopLevelTest, V2FailsWithEmptyBatch) {
  ExpectFails(ProtocolVersion::kV2, ValidV2Prefix() + GetParam().bytes, GetParam().errc);
}

INSTANTIATE_TEST_SUITE_P(Cases, WireFormatTopLevelTest, ::testing::ValuesIn(TopLevelCases()),
                         [](const auto& p) { return p.param.name; });

TEST_F(WireFormatTest, TenByteVarintIsAccepted) {
  // Ten bytes is the maximum; bits past 64 are dropped, as libprotobuf does.
  const std::string ten = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f";
  Pb ts;
  ts.M(1, Pb().B(1, "__name__").B(2, "up"));
  ts.M(2, Pb().D(1, 1).Tag(2, 0).Raw(ten));
  ASSERT_TRUE(DecodeV1(Pb().M(1, ts).str()));
  ASSERT_EQ(batch_.samples.size(), 1u);
  EXPECT_EQ(batch_.samples[0].timestamp_ms, -1);
}

TEST_F(WireFormatTest, GroupsNested100DeepAreSkipped) {
  ASSERT_TRUE(DecodeV1(ValidV1Prefix() + Nested(100)));
  EXPECT_EQ(batch_.series.size(), 1u);
  ASSERT_TRUE(DecodeV2(ValidV2Prefix() + Nested(100)));
  EXPECT_EQ(batch_.series.size(), 1u);
}

// Malformed bytes inside nested messages: each must fail the request.
TEST_F(WireFormatTest, MalformedInsideV1MessagesFails) {
  const std::string bad_fields[] = {
      "\x88"s,                                 // truncated varint
      Pb().Tag(9, 2).Raw("\x09" "a").str(),    // length past end
      "\x00\x01"s,                             // field 0
      Pb().Tag(9, 6).str(),                    // wire type 6
      Pb().Tag(9, 7).str(),                    // wire type 7
      Pb().Tag(9, 4).str(),                    // unmatched end group
      Pb().Tag(9, 0).Raw("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01").str(),  // 11-byte varint
      Nested(101),
  };
  for (const auto& bad : bad_fields) {
    const Pb name = Pb().B(1, "__name__").B(2, "up");
    // In a Label.
    ExpectFails(ProtocolVersion::kV1,
                ValidV1Prefix() + Pb().M(1, Pb().M(1, Pb().B(1, "__name__").B(2, "up").Raw(bad))).str());
    // In a Sample.
    ExpectFails(ProtocolVersion::kV1,
                ValidV1Prefix() + Pb().M(1, Pb().M(1, name).M(2, Pb().D(1, 1).Raw(bad))).str());
    // In a TimeSeries.
    ExpectFails(ProtocolVersion::kV1, ValidV1Prefix() + Pb().M(1, Pb().M(1, name).Raw(bad)).str());
    // In an Exemplar and in an exemplar's Label.
    ExpectFails(ProtocolVersion::kV1,
                ValidV1Prefix() + Pb().M(1, Pb().M(1, name).M(3, Pb().D(2, 1).Raw(bad))).str());
    ExpectFails(ProtocolVersion::kV1,
                ValidV1Prefix() + Pb().M(1, Pb().M(1, name).M(3, Pb().M(1, Pb().B(1, "a").Raw(bad)))).str());
    // In a Histogram and a BucketSpan.
    ExpectFails(ProtocolVersion::kV1,
                ValidV1Prefix() + Pb().M(1, Pb().M(1, name).M(4, Pb().U(1, 0).Raw(bad))).str());
    ExpectFails(ProtocolVersion::kV1,
                ValidV1Prefix() + Pb().M(1, Pb().M(1, name).M(4, Pb().M(11, Pb().U(2, 0).Raw(bad)))).str());
    // In MetricMetadata.
    ExpectFails(ProtocolVersion::kV1, ValidV1Prefix() + Pb().M(3, Pb().U(1, 1).Raw(bad)).str());
  }
}

TEST_F(WireFormatTest, MalformedInsideV2MessagesFails) {
  const std::string bad_fields[] = {
      "\x88"s,
      Pb().Tag(9, 2).Raw("\x09" "a").str(),
      "\x00\x01"s,
      Pb().Tag(9, 6).str(),
      Pb().Tag(9, 7).str(),
      Pb().Tag(9, 4).str(),
      Pb().Tag(9, 0).Raw("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01").str(),
      Nested(101),
  };
  const std::string symbols = Pb().B(4, "").B(4, "__name__").B(4, "up").str();
  for (const auto& bad : bad_fields) {
    auto series = [&](const Pb& rest) {
      return ValidV2Prefix() + symbols + Pb().M(5, Pb().PackedU(1, {1, 2}).Raw(rest.str())).str();
    };
    ExpectFails(ProtocolVersion::kV2, series(Pb().Raw(bad)));                          // TimeSeries
    ExpectFails(ProtocolVersion::kV2, series(Pb().M(2, Pb().D(1, 1).Raw(bad))));       // Sample
    ExpectFails(ProtocolVersion::kV2, series(Pb().M(3, Pb().U(1, 0).Raw(bad))));       // Histogram
    ExpectFails(ProtocolVersion::kV2, series(Pb().M(3, Pb().M(8, Pb().Raw(bad)))));    // BucketSpan
    ExpectFails(ProtocolVersion::kV2, series(Pb().M(4, Pb().D(2, 1).Raw(bad))));       // Exemplar
    ExpectFails(ProtocolVersion::kV2, series(Pb().M(5, Pb().U(1, 1).Raw(bad))));       // Metadata
  }
  // Malformed packed labels_refs: a varint cut off at the end of the packed bytes.
  ExpectFails(ProtocolVersion::kV2, symbols + Pb().M(5, Pb().B(1, "\x01\x82"s)).str());
  // Packed doubles whose length is not a multiple of 8.
  ExpectFails(ProtocolVersion::kV2,
              symbols + Pb().M(5, Pb().PackedU(1, {1, 2}).M(3, Pb().U(1, 0).B(13, "1234567"))).str());
}

TEST_F(WireFormatTest, TopLevelFieldOfWrongWireTypeIsUnknown) {
  // timeseries (field 1) as a varint is not a TimeSeries: protobuf treats it as unknown.
  ASSERT_TRUE(DecodeV1(ValidV1Prefix() + Pb().U(1, 5).F32(3, 1).str()));
  EXPECT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(report_.metadata_accepted, 0u);
  ASSERT_TRUE(DecodeV2(ValidV2Prefix() + Pb().U(5, 1).U(4, 9).str()));
  EXPECT_EQ(batch_.series.size(), 1u);
}

TEST_F(WireFormatTest, V2BodyDecodedAsV1IsEmpty) {
  // Fields 1-3 are reserved in 2.0 so that each version parses the other's body as empty.
  testutil::V2Builder b;
  b.AddSeries({{"__name__", "up"}}, {{1, 1}});
  ASSERT_TRUE(DecodeV1(b.Encode()));
  EXPECT_TRUE(batch_.series.empty());
  prometheus::WriteRequest req;
  testutil::AddSeries(req, {{"__name__", "up"}}, {{1, 1}});
  ASSERT_TRUE(DecodeV2(testutil::Encode(req)));
  EXPECT_TRUE(batch_.series.empty());
}

// ---- unknown fields everywhere ----

TEST_F(WireFormatTest, V1UnknownFieldsAreSkippedEverywhere) {
  const Pb u = UnknownFields();
  Pb ts;
  ts.Raw(u.str());
  ts.M(1, Pb().Raw(u.str()).B(1, "__name__").Raw(u.str()).B(2, "up").Raw(u.str()));
  ts.M(1, Pb().B(1, "job").B(2, "node"));
  ts.M(2, Pb().Raw(u.str()).D(1, 2.5).Raw(u.str()).U(2, 42).Raw(u.str()));
  ts.M(3, Pb().M(1, Pb().B(1, "trace_id").Raw(u.str()).B(2, "a")).Raw(u.str()).D(2, 1).U(3, 4));
  ts.M(4, Pb().U(1, 1).Raw(u.str()).S(4, 0).M(11, Pb().S(1, 0).Raw(u.str()).U(2, 1)).PackedS(12, {1}));
  ts.Raw(u.str());
  Pb req;
  req.Raw(u.str()).M(1, ts).Raw(u.str());
  req.M(3, Pb().U(1, 1).B(2, "up").Raw(u.str()).B(4, "help"));
  req.Raw(u.str());
  ASSERT_TRUE(DecodeV1(req.str()));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "node"}}));
  ExpectHashesConsistent();
  auto s = batch_.SamplesOf(batch_.series[0]);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].value, 2.5);
  EXPECT_EQ(s[0].timestamp_ms, 42);
  EXPECT_EQ(report_.exemplars_accepted, 1u);
  EXPECT_EQ(report_.histograms_accepted, 1u);
  EXPECT_EQ(report_.metadata_accepted, 1u);
  EXPECT_FALSE(report_.HasRejections()) << report_.Summary();
}

TEST_F(WireFormatTest, V2UnknownFieldsAreSkippedEverywhere) {
  const Pb u = UnknownFields();
  Pb ts;
  ts.Raw(u.str()).PackedU(1, {3, 4}).Raw(u.str()).PackedU(1, {1, 2});
  ts.M(2, Pb().Raw(u.str()).D(1, 2.5).Raw(u.str()).U(2, 42).U(3, 40).Raw(u.str()));
  ts.M(4, Pb().PackedU(1, {5, 6}).Raw(u.str()).D(2, 1).U(3, 4));
  ts.M(5, Pb().U(1, 1).Raw(u.str()).U(3, 5).U(4, 6));
  ts.U(6, 1234).Raw(u.str());
  Pb hts;
  hts.PackedU(1, {1, 2});
  hts.M(3, Pb().U(1, 1).Raw(u.str()).S(4, 0).M(11, Pb().S(1, 0).Raw(u.str()).U(2, 1)).PackedS(12, {1}).U(17, 3));
  Pb req;
  req.Raw(u.str());
  for (const char* s : {"", "__name__", "up", "job", "node", "trace_id", "a"}) req.B(4, s).Raw(u.str());
  req.M(5, ts).Raw(u.str()).M(5, hts);
  ASSERT_TRUE(DecodeV2(req.str()));
  ASSERT_EQ(batch_.series.size(), 2u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}, {"job", "node"}}));
  EXPECT_EQ(batch_.series[1].labels, KeyOf({{"__name__", "up"}}));
  auto s = batch_.SamplesOf(batch_.series[0]);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].value, 2.5);
  EXPECT_EQ(s[0].timestamp_ms, 42);
  EXPECT_EQ(report_.exemplars_accepted, 1u);
  EXPECT_EQ(report_.histograms_accepted, 1u);
  EXPECT_FALSE(report_.HasRejections()) << report_.Summary();
}

TEST_F(WireFormatTest, UnknownGroupContainingKnownFieldNumbersIsSkipped) {
  // A group whose content looks like labels: it must not be parsed as labels.
  Pb ts;
  ts.M(1, Pb().B(1, "__name__").B(2, "up"));
  ts.Group(1, Pb().M(1, Pb().B(1, "job").B(2, "fake")));  // field 1 as a group: unknown
  ASSERT_TRUE(DecodeV1(Pb().M(1, ts).str()));
  ASSERT_EQ(batch_.series.size(), 1u);
  EXPECT_EQ(batch_.series[0].labels, KeyOf({{"__name__", "up"}}));
}

}  // namespace
}  // namespace canaryd::codec::testing
