#include "scrape/gzip.h"

#include <gtest/gtest.h>

#include "gzip_for_tests.h"

#include <random>

namespace canaryd::scrape {
namespace {

using testing::Gzip;

TEST(Gunzip, RoundTripsAndConcatenatedMembers) {
  std::string text;
  std::mt19937 rng(1);
  for (int i = 0; i < 200000; ++i) text += static_cast<char>('a' + rng() % 26);
  std::string out, err;
  ASSERT_EQ(Gunzip(Gzip(text), 1 << 20, out, err), GunzipStatus::kOk) << err;
  EXPECT_EQ(out, text);
  ASSERT_EQ(Gunzip(Gzip("abc") + Gzip("def"), 100, out, err), GunzipStatus::kOk);
  EXPECT_EQ(out, "abcdef");
  ASSERT_EQ(Gunzip(Gzip(""), 100, out, err), GunzipStatus::kOk);
  EXPECT_EQ(out, "");
}

TEST(Gunzip, LimitIsExact) {
  const std::string text(1000, 'x');
  std::string out, err;
  EXPECT_EQ(Gunzip(Gzip(text), 1000, out, err), GunzipStatus::kOk);
  EXPECT_EQ(Gunzip(Gzip(text), 999, out, err), GunzipStatus::kTooLarge);
  // A bomb stops at the limit instead of inflating 100 MB.
  EXPECT_EQ(Gunzip(Gzip(std::string(100 << 20, '\0')), 1 << 20, out, err),
            GunzipStatus::kTooLarge);
}

TEST(Gunzip, CorruptAndTruncatedInput) {
  std::string out, err;
  const std::string good = Gzip("hello world hello world");
  EXPECT_EQ(Gunzip("not gzip at all", 100, out, err), GunzipStatus::kCorrupt);
  EXPECT_FALSE(err.empty());
  EXPECT_EQ(Gunzip(good.substr(0, good.size() - 6), 100, out, err), GunzipStatus::kCorrupt);
  EXPECT_EQ(Gunzip("", 100, out, err), GunzipStatus::kCorrupt);
  std::string flipped = good;
  flipped[flipped.size() - 5] ^= 0x55;  // CRC/size trailer
  EXPECT_EQ(Gunzip(flipped, 100, out, err), GunzipStatus::kCorrupt);
}

}  // namespace
}  // namespace canaryd::scrape
