// An analysis and its webhook deliveries survive `kill -9`: the real canaryd binary with a data
// directory gets an analysis over HTTP (1 s steps, three 8 s intervals) with a webhook to a
// receiver in this process, and remote-write data at the wall clock. The receiver is down at
// first (connection refused), so the first interval's delivery waits in the outbox; canaryd is
// then killed with SIGKILL and restarted on the same data directory; the receiver comes up. The
// analysis continues with the data that arrives after the restart and ends PASS with the interval
// judged before the crash in its history, and the receiver gets every interval's event at least
// once, in order, each with a valid signature.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <iostream>
#include <thread>
#include <set>
#include <algorithm>

#include "canaryd/common/clock.h"
#include "http_client.h"
#include "remote_write_builders.h"
#include "subprocess.h"
#include "webhook_receiver.h"

namespace canaryd::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kRequest = R"json({
  "canaryConfig": {
    "name": "restart",
    "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
    "templates": {"pods": "pod=~\"svc-${scope}-.*\""},
    "classifier": {"groupWeights": {"g": 100}},
    "metrics": [{"name": "latency", "groups": ["g"], "scopeName": "default",
                 "analysisConfigurations": {"canary": {"direction": "increase"}},
                 "query": {"type": "prometheus", "metricName": "restart_latency_seconds",
                           "customFilterTemplate": "pods"}}]
  },
  "scopes": {"default": {"controlScope": {"scope": "baseline", "step": 1},
                         "experimentScope": {"scope": "canary", "step": 1}}},
  "thresholds": {"pass": 75, "marginal": 50},
  "lifetime": "24s",
  "interval": "8s",
  "webhooks": [{"url": "WEBHOOK_URL", "secret": "hook-secret", "headers": {"X-Team": "shop"}}]
})json";

class AnalysisRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::make_unique<TempDir>("canaryd-restart-");
    port_ = FreeLoopbackPort();
    hook_port_ = FreeLoopbackPort();
    // Retries at most 1 s apart, so the test does not wait for a long backoff once the receiver
    // is back.
    WriteFile(tmp_->path() / "canaryd.yaml", "webhooks:\n  backoff_base: 200ms\n  backoff_cap: 1s\n");
  }
  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "canaryd log tail:\n" << canaryd_->LogTail() << "\n";
      tmp_->Keep();
    }
    canaryd_->Stop();
  }

  void Start() {
    canaryd_ = std::make_unique<Subprocess>();
    std::string error;
    ASSERT_TRUE(canaryd_->Start({CANARYD_BINARY, "serve", "--config", (tmp_->path() / "canaryd.yaml").string(),
                                 "--listen-address",
                                 "127.0.0.1:" + std::to_string(port_), "--data-dir",
                                 (tmp_->path() / "data").string(), "--threads", "1"},
                                tmp_->path() / "canaryd.log", error))
        << error;
    for (int i = 0; i < 100; ++i) {
      testutil::HttpClient probe(port_);
      if (probe.Get("/-/ready").status == 200) return;
      std::this_thread::sleep_for(100ms);
    }
    FAIL() << "canaryd did not become ready";
  }

  void SendSamples() {
    prometheus::WriteRequest req;
    const int64_t now = SystemClock::Instance().NowMillis();
    for (int pod = 0; pod < 3; ++pod) {
      for (const char* side : {"baseline", "canary"}) {
        testutil::AddSeries(req,
                            {{"__name__", "restart_latency_seconds"},
                             {"pod", std::string("svc-") + side + "-" + std::to_string(pod)}},
                            {{now, 0.2 + 0.01 * ((now / 250 + pod) % 5)}});
      }
    }
    testutil::HttpClient client(port_);
    client.Post("/api/v1/write", testutil::Snappy(testutil::Encode(req)),
                {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "snappy"},
                 {"X-Prometheus-Remote-Write-Version", "0.1.0"}});
  }

  json::value Verdict(const std::string& id) {
    testutil::HttpClient client(port_);
    const auto r = client.Get("/api/v1/analyses/" + id + "/verdict");
    return r.status == 200 ? json::parse(r.body) : json::value(nullptr);
  }

  // Sends data every 250 ms until `done` or the deadline; returns whether `done` held.
  bool FeedUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      SendSamples();
      if (done()) return true;
      std::this_thread::sleep_for(250ms);
    }
    return false;
  }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<Subprocess> canaryd_;
  uint16_t port_ = 0;
  uint16_t hook_port_ = 0;
  testutil::WebhookReceiver receiver_{{{"/hooks/canary", "hook-secret"}}};
};

TEST_F(AnalysisRestartTest, ContinuesAfterKill9) {
  ASSERT_NO_FATAL_FAILURE(Start());
  testutil::HttpClient client(port_);
  std::string request = kRequest;
  request.replace(request.find("WEBHOOK_URL"), 11,
                  "http://127.0.0.1:" + std::to_string(hook_port_) + "/hooks/canary");
  const auto created = client.Post("/api/v1/analyses", request, {{"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(json::parse(created.body).at("id").as_string());

  ASSERT_TRUE(FeedUntil([&] {
    const auto v = Verdict(id);
    return !v.is_null() && v.at("interval").to_number<int>() >= 1;
  }, 30s)) << "first interval not judged";
  ASSERT_EQ(Verdict(id).at("verdict").as_string(), "CONTINUE");

  ::kill(canaryd_->pid(), SIGKILL);
  for (int i = 0; i < 50 && canaryd_->Running(); ++i) std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(canaryd_->Running());
  ASSERT_NO_FATAL_FAILURE(Start());
  auto v = Verdict(id);
  ASSERT_FALSE(v.is_null()) << "analysis lost across kill -9";
  EXPECT_EQ(v.at("interval").to_number<int>(), 1);

  receiver_.Start(hook_port_);  // the webhook receiver comes up only now

  ASSERT_TRUE(FeedUntil([&] { return Verdict(id).at("complete").as_bool(); }, 40s))
      << "analysis did not finish after the restart: " << json::serialize(Verdict(id));
  v = Verdict(id);
  EXPECT_EQ(v.at("verdict").as_string(), "PASS") << json::serialize(v);
  EXPECT_EQ(v.at("interval").to_number<int>(), 3);
  std::cout << "[ restart  ] " << json::serialize(v) << "\n";

  // Every interval's event arrives (at least once), in order, signed; the first one waited in the
  // outbox through the kill -9.
  std::vector<int> intervals;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    intervals.clear();
    for (const auto& body : receiver_.Delivered("/hooks/canary")) {
      intervals.push_back(json::parse(body).at("interval").to_number<int>());
    }
    if (!intervals.empty() && intervals.back() == 3) break;
    receiver_.WaitForRequest(500ms);
  }
  ASSERT_FALSE(intervals.empty()) << "no webhook delivered";
  EXPECT_EQ(intervals.front(), 1);
  EXPECT_EQ(intervals.back(), 3);
  EXPECT_TRUE(std::is_sorted(intervals.begin(), intervals.end()));
  for (int i = 1; i <= 3; ++i) {
    EXPECT_NE(std::find(intervals.begin(), intervals.end(), i), intervals.end()) << "interval " << i;
  }
  std::set<std::string> ids;
  for (const auto& r : receiver_.Requests()) {
    EXPECT_TRUE(r.signature_ok) << r.body;
    EXPECT_EQ(r.team, "shop");
    EXPECT_FALSE(r.id.empty());
    if (r.answered / 100 == 2) ids.insert(r.id);
  }
  const auto last = json::parse(receiver_.Delivered("/hooks/canary").back());
  EXPECT_EQ(last.at("event").as_string(), "analysis.completed");
  EXPECT_EQ(last.at("verdict").as_string(), "PASS");
  EXPECT_EQ(last.at("analysisId").as_string(), id);
  std::cout << "[ restart  ] webhook deliveries: " << receiver_.Requests().size() << " requests, "
            << ids.size() << " distinct deliveries\n";
}

}  // namespace
}  // namespace canaryd::testing
