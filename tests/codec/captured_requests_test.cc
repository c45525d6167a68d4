// The real Prometheus 2.42 captures (see README.md in CANARYD_TESTDATA_DIR): every request decodes
// with no rejections and matches libprotobuf's reading of the same bytes.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "codec_test_util.h"

namespace canaryd::codec::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> Captures() {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(CANARYD_TESTDATA_DIR, ec)) {
    if (e.path().extension() == ".bin") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CapturedRequestsTest : public DecodeFixture {
 protected:
  void SetUp() override {
    files_ = Captures();
    if (files_.empty()) {
      GTEST_SKIP() << "no captures in " << CANARYD_TESTDATA_DIR;
    }
  }
  std::vector<fs::path> files_;
};

TEST_F(CapturedRequestsTest, AllDecodeWithoutRejections) {
  ASSERT_EQ(files_.size(), 26u);
  size_t total_series = 0;
  for (size_t i = 0; i < files_.size(); ++i) {
    const auto& f = files_[i];
    SCOPED_TRACE(f.filename().string());
    std::string raw;
    ASSERT_TRUE(Decompress(Compression::kSnappy, ReadFile(f), 32 << 20, raw));
    ASSERT_TRUE(DecodeV1(raw));
    EXPECT_FALSE(report_.HasRejections()) << report_.Summary();
    EXPECT_EQ(report_.series_rejected, 0u);
    ExpectHashesConsistent();

    if (f.filename() == "0102.bin") {
      EXPECT_EQ(report_.metadata_accepted, 449u);
      EXPECT_TRUE(batch_.series.empty());
      continue;
    }
    EXPECT_EQ(report_.metadata_accepted, 0u);
    const bool last = i + 2 == files_.size();  // 0102.bin sorts after the last sample request
    if (last) {
      EXPECT_GT(batch_.series.size(), 0u);
      EXPECT_LE(batch_.series.size(), 500u);
    } else {
      EXPECT_EQ(batch_.series.size(), 500u);
    }
    EXPECT_EQ(report_.samples_accepted, batch_.series.size());
    EXPECT_EQ(batch_.samples.size(), batch_.series.size());
    total_series += batch_.series.size();

    // Prometheus sends sorted, canonical labels: every key is the request's own bytes.
    for (const auto& s : batch_.series) {
      EXPECT_GE(s.labels.data(), body_.data());
      EXPECT_LE(s.labels.data() + s.labels.size(), body_.data() + body_.size());
    }

    // Cross-check against libprotobuf.
    prometheus::WriteRequest req;
    ASSERT_TRUE(req.ParseFromString(raw));
    ASSERT_EQ(static_cast<size_t>(req.timeseries_size()), batch_.series.size());
    for (int k = 0; k < req.timeseries_size(); ++k) {
      const auto& ts = req.timeseries(k);
      LabelPairs labels;
      for (const auto& l : ts.labels()) labels.emplace_back(l.name(), l.value());
      ASSERT_EQ(batch_.series[k].labels, KeyOf(labels)) << k;
      auto samples = batch_.SamplesOf(batch_.series[k]);
      ASSERT_EQ(samples.size(), static_cast<size_t>(ts.samples_size()));
      for (int j = 0; j < ts.samples_size(); ++j) {
        EXPECT_EQ(samples[j].timestamp_ms, ts.samples(j).timestamp());
        EXPECT_EQ(std::bit_cast<uint64_t>(samples[j].value),
                  std::bit_cast<uint64_t>(ts.samples(j).value()));
      }
    }
  }
  EXPECT_GT(total_series, 12000u);
}

TEST_F(CapturedRequestsTest, LimitsApplyToRealTimestamps) {
  // Samples are from 2026-11-29: a limit before that rejects every sample and keeps the series.
  std::string raw;
  ASSERT_TRUE(Decompress(Compression::kSnappy, ReadFile(files_[0]), 32 << 20, raw));
  DecodeLimits limits;
  limits.max_timestamp_ms = 1'700'000'000'000;  // 2023
  ASSERT_TRUE(DecodeV1(raw, limits));
  EXPECT_EQ(batch_.series.size(), 500u);
  EXPECT_TRUE(batch_.samples.empty());
  EXPECT_EQ(SamplesRejected(RejectReason::kTooFarInFuture), 500u);
}

TEST_F(CapturedRequestsTest, EveryTruncationFailsOrDecodesAPrefix) {
  // Cutting a real body anywhere must never crash; a cut inside a series fails the request.
  std::string raw;
  ASSERT_TRUE(Decompress(Compression::kSnappy, ReadFile(files_[0]), 32 << 20, raw));
  for (size_t cut = 1; cut < raw.size(); cut += 97) {
    const auto r = DecodeV1(raw.substr(0, cut));
    if (r) {
      EXPECT_LE(batch_.series.size(), 500u);
    } else {
      EXPECT_TRUE(batch_.series.empty());
    }
  }
}

}  // namespace
}  // namespace canaryd::codec::testing
