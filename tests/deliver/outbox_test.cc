#include <canaryd/deliver/outbox.h>
#include <canaryd/deliver/outbox_record.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace canaryd::deliver {
namespace {

namespace fs = std::filesystem;

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("canaryd_outbox_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Outbox> Open(uint64_t compaction_bytes = 1u << 20) {
    auto box = Outbox::Open({dir_, compaction_bytes});
    EXPECT_TRUE(box.has_value());
    return box ? std::move(*box) : nullptr;
  }

  static Delivery Make(const std::string& id, const std::string& url, const std::string& body) {
    Delivery d;
    d.id = id;
    d.endpoint = {url, "s3cret", {{"X-Team", "payments"}, {"Authorization", "Bearer x"}}};
    d.event = "analysis.interval";
    d.body = body;
    d.created_ms = 1'700'000'000'123;
    return d;
  }

  fs::path Log() const { return dir_ / "outbox.log"; }

  fs::path dir_;
};

TEST_F(OutboxTest, FrameRoundTrip) {
  Record r{RecordType::kEnqueue, Make("id-1", "http://a/x", "{\"v\":1}"), Completion::kDelivered};
  r.delivery.seq = 42;
  const std::string frame = EncodeFrame(r);
  const auto parsed = ParseFrame({reinterpret_cast<const uint8_t*>(frame.data()), frame.size()});
  ASSERT_EQ(parsed.status, ParsedFrame::Status::kOk);
  EXPECT_EQ(parsed.size, frame.size());
  EXPECT_EQ(parsed.record.delivery, r.delivery);
  // Every strict prefix is incomplete, never corrupt or OK.
  for (size_t n = 0; n < frame.size(); ++n) {
    EXPECT_EQ(ParseFrame({reinterpret_cast<const uint8_t*>(frame.data()), n}).status,
              ParsedFrame::Status::kIncomplete)
        << n;
  }
  // Any flipped payload byte is caught by the checksum.
  for (size_t i = kFrameHeaderBytes; i < frame.size(); ++i) {
    std::string bad = frame;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    EXPECT_EQ(ParseFrame({reinterpret_cast<const uint8_t*>(bad.data()), bad.size()}).status,
              ParsedFrame::Status::kCorrupt)
        << i;
  }
}

TEST_F(OutboxTest, AppendCompleteAndReopen) {
  {
    auto box = Open();
    auto a = box->Append(Make("a", "http://one/", "1"));
    auto b = box->Append(Make("b", "http://two/", "2"));
    auto c = box->Append(Make("c", "http://one/", "3"));
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(a->seq, 0u);
    EXPECT_EQ(b->seq, 0u);
    EXPECT_EQ(c->seq, 1u);
    EXPECT_FALSE(box->Append(Make("a", "http://one/", "dup")));  // ids are unique
    ASSERT_TRUE(box->Complete("a", Completion::kDelivered));
    ASSERT_TRUE(box->Complete("nope", Completion::kDelivered));  // unknown: ignored
    EXPECT_EQ(box->PendingCount(), 2u);
  }
  auto box = Open();
  EXPECT_EQ(box->corrupt_records(), 0u);
  const auto pending = box->Pending();
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, "b");
  EXPECT_EQ(pending[1].id, "c");
  Delivery want = Make("c", "http://one/", "3");
  want.seq = 1;
  EXPECT_EQ(pending[1], want);
  // Sequences continue after a reopen.
  auto d = box->Append(Make("d", "http://one/", "4"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->seq, 2u);
}

TEST_F(OutboxTest, TornTailIsTruncatedAndCounted) {
  uint64_t good_bytes = 0;
  {
    auto box = Open();
    ASSERT_TRUE(box->Append(Make("a", "http://one/", "first")));
    good_bytes = box->LogBytes();
    ASSERT_TRUE(box->Append(Make("b", "http://one/", std::string(100, 'x'))));
  }
  // Cut the second record in the middle, as a crash during write() would.
  fs::resize_file(Log(), good_bytes + 30);
  {
    auto box = Open();
    EXPECT_EQ(box->corrupt_records(), 1u);
    ASSERT_EQ(box->PendingCount(), 1u);
    EXPECT_EQ(box->Pending()[0].id, "a");
    EXPECT_EQ(fs::file_size(Log()), good_bytes);
    // Appends after recovery land on a clean boundary.
    ASSERT_TRUE(box->Append(Make("c", "http://one/", "third")));
  }
  auto box = Open();
  EXPECT_EQ(box->corrupt_records(), 0u);
  ASSERT_EQ(box->PendingCount(), 2u);
  EXPECT_EQ(box->Pending()[1].id, "c");
  EXPECT_EQ(box->Pending()[1].seq, 1u);
}

TEST_F(OutboxTest, GarbageTailIsTruncated) {
  uint64_t good_bytes = 0;
  {
    auto box = Open();
    ASSERT_TRUE(box->Append(Make("a", "http://one/", "first")));
    good_bytes = box->LogBytes();
  }
  {
    std::ofstream f(Log(), std::ios::binary | std::ios::app);
    f << std::string("\x10\x00\x00\x00garbage-garbage-garbage", 27);
  }
  auto box = Open();
  EXPECT_EQ(box->corrupt_records(), 1u);
  EXPECT_EQ(box->PendingCount(), 1u);
  EXPECT_EQ(fs::file_size(Log()), good_bytes);
}

TEST_F(OutboxTest, CompactionKeepsOnlyPendingAndSequences) {
  auto box = Open(/*compaction_bytes=*/4096);
  const std::string body(200, 'b');
  for (int i = 0; i < 100; ++i) {
    const std::string id = "d" + std::to_string(i);
    ASSERT_TRUE(box->Append(Make(id, i % 2 ? "http://odd/" : "http://even/", body)));
    if (i < 95) {
      ASSERT_TRUE(box->Complete(id, i % 3 ? Completion::kDelivered : Completion::kDropped));
    }
  }
  EXPECT_GE(box->compactions(), 1u);
  EXPECT_LT(box->LogBytes(), 8192u);
  EXPECT_FALSE(fs::exists(dir_ / "outbox.log.tmp"));
  ASSERT_TRUE(box->CompactForTest());
  const auto before = box->Pending();
  ASSERT_EQ(before.size(), 5u);
  box.reset();
  box = Open(4096);
  EXPECT_EQ(box->Pending(), before);
  // Complete everything, compact: the log keeps sequence marks so numbers are never reused.
  for (const auto& d : before) {
    ASSERT_TRUE(box->Complete(d.id, Completion::kDelivered));
  }
  ASSERT_TRUE(box->CompactForTest());
  box.reset();
  box = Open(4096);
  EXPECT_EQ(box->PendingCount(), 0u);
  auto next = box->Append(Make("new", "http://odd/", "x"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 50u);
}

TEST_F(OutboxTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto box = Open();
  auto second = Outbox::Open({dir_});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), make_error_code(DeliverErrc::kLocked));
  box.reset();
  EXPECT_TRUE(Outbox::Open({dir_}));  // released with the first
}

}  // namespace
}  // namespace canaryd::deliver
