// The embedded scraper against real targets, with a real Prometheus 2.42 as the oracle: a
// prometheus-node-exporter and Prometheus's own /metrics are scraped, over the same half minute,
// by canaryd's scraper (from the same YAML text Prometheus reads) and by Prometheus. Then:
//   - the series sets are the same (node_exporter exactly; Prometheus's own metrics up to the
//     few series that appear or vanish between the two scrapers' phases, which are listed);
//   - every series whose value did not change in Prometheus's samples has exactly that value in
//     canaryd's samples (build info, memory totals, up, ...), but for gauges that count the
//     scrapers' own sockets and a rare gauge that moved only at canaryd's instants;
//   - every counter-like series (non-decreasing in Prometheus's samples) has canaryd values that
//     fit between Prometheus's samples around the same time.
//
// CANARYD_PROMETHEUS / CANARYD_NODE_EXPORTER override the binaries; without them the test skips.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "canaryd/common/clock.h"
#include "canaryd/common/logging.h"
#include "canaryd/config/config.h"
#include "canaryd/model/labels.h"
#include "canaryd/scrape/scrape_manager.h"
#include "http_client.h"
#include "recording_sink.h"
#include "subprocess.h"

namespace canaryd::testing {
namespace {

using namespace std::chrono_literals;

std::string Binary(const char* env, const char* fallback) {
  const char* v = std::getenv(env);
  return v != nullptr && *v != '\0' ? v : fallback;
}

bool WaitReady(uint16_t port, const std::string& path, Subprocess& p) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline && p.Running()) {
    testutil::HttpClient probe(port);
    if (probe.Get(path).status == 200) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

struct Point {
  int64_t ts;
  double value;
};
using SeriesPoints = std::map<std::string, std::vector<Point>>;  // FormatLabelKey form

// A Prometheus API metric object in model::FormatLabelKey's form (the sink's rows).
std::string Format(const boost::json::object& metric) {
  std::map<std::string, std::string> labels;  // sorted, as a label key wants them
  for (const auto& [k, v] : metric) {
    labels[std::string(k)] = std::string(v.as_string());
  }
  std::string key;
  for (const auto& [k, v] : labels) {
    model::AppendLabel(key, k, v);
  }
  return model::FormatLabelKey(key, 1 << 20);
}

double ParseValue(const boost::json::value& v) {
  const std::string s(v.as_string());
  if (s == "NaN") return std::nan("");
  if (s == "+Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  return std::stod(s);
}

// Gauges that count the scrapers' own activity: the sockets each scraper holds open, and
// Prometheus's appenders (1 whenever Prometheus reads it during its own scrape).
bool IsObserverEffect(const std::string& series) {
  for (const char* prefix : {"node_sockstat_", "node_netstat_Tcp_CurrEstab", "process_open_fds",
                             "prometheus_tsdb_head_active_appenders"}) {
    if (series.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// Counters and the cumulative parts of histograms and summaries (a gauge may happen to rise
// over half a minute without being bound to).
bool IsCounterLike(const std::string& series) {
  const std::string name = series.substr(0, series.find('{'));
  for (const char* suffix : {"_total", "_count", "_sum", "_bucket"}) {
    if (name.ends_with(suffix)) return true;
  }
  return false;
}

bool Same(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

class ScrapePeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prometheus_bin_ = Binary("CANARYD_PROMETHEUS", "/usr/bin/prometheus");
    node_bin_ = Binary("CANARYD_NODE_EXPORTER", "/usr/bin/prometheus-node-exporter");
    for (const auto& b : {prometheus_bin_, node_bin_}) {
      if (access(b.c_str(), X_OK) != 0) {
        GTEST_SKIP() << b << " not found: install the Debian packages (deploy/install-deps.sh)";
      }
    }
    ASSERT_TRUE(InitLogging("warn"));
    tmp_ = std::make_unique<TempDir>("canaryd-scrape-peers-");
    node_port_ = FreeLoopbackPort();
    prom_port_ = FreeLoopbackPort();
    std::string error;
    ASSERT_TRUE(node_.Start({node_bin_, "--web.listen-address=127.0.0.1:" + std::to_string(node_port_)},
                            tmp_->path() / "node_exporter.log", error))
        << error;
    ASSERT_TRUE(WaitReady(node_port_, "/metrics", node_)) << node_.LogTail();
  }

  void TearDown() override {
    if (HasFailure() && tmp_ != nullptr) {
      std::cerr << "prometheus log tail:\n" << prometheus_.LogTail() << "\nkept " << tmp_->path() << "\n";
      tmp_->Keep();
    }
  }

  // Prometheus's raw samples of `selector` in (t1 - range, t1], per series.
  SeriesPoints PrometheusSamples(const std::string& selector, int64_t t1_ms, int range_s) {
    testutil::HttpClient client(prom_port_);
    std::string q = selector + "[" + std::to_string(range_s) + "s]";
    std::string enc;
    for (unsigned char c : q) {
      if (std::isalnum(c) != 0) {
        enc += static_cast<char>(c);
      } else {
        char buf[4];
        std::snprintf(buf, sizeof buf, "%%%02X", c);
        enc += buf;
      }
    }
    char t[32];
    std::snprintf(t, sizeof t, "%.3f", static_cast<double>(t1_ms) / 1000);
    const auto res = client.Get("/api/v1/query?query=" + enc + "&time=" + t);
    EXPECT_EQ(res.status, 200) << res.body;
    SeriesPoints out;
    const auto root = boost::json::parse(res.body).as_object();
    for (const auto& r : root.at("data").at("result").as_array()) {
      const auto& o = r.as_object();
      auto& points = out[Format(o.at("metric").as_object())];
      for (const auto& v : o.at("values").as_array()) {
        const auto& pair = v.as_array();
        points.push_back(Point{static_cast<int64_t>(std::llround(pair[0].to_number<double>() * 1000)),
                               ParseValue(pair[1])});
      }
    }
    return out;
  }

  std::string prometheus_bin_, node_bin_;
  std::unique_ptr<TempDir> tmp_;
  uint16_t node_port_ = 0, prom_port_ = 0;
  Subprocess node_, prometheus_;
};

TEST_F(ScrapePeersTest, SameSeriesAndValuesAsPrometheus) {
  constexpr int kIntervalS = 2;
  constexpr auto kRun = 30s;
  const std::string yaml =
      "global:\n  scrape_interval: " + std::to_string(kIntervalS) + "s\n"
      "scrape_configs:\n"
      "  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:" +
      std::to_string(node_port_) + "']\n        labels: {env: test}\n"
      "  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:" +
      std::to_string(prom_port_) + "']\n";
  WriteFile(tmp_->path() / "prometheus.yml", yaml);
  std::string error;
  ASSERT_TRUE(prometheus_.Start({prometheus_bin_, "--config.file=" + (tmp_->path() / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (tmp_->path() / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prom_port_),
                                 "--log.level=warn"},
                                tmp_->path() / "prometheus.log", error))
      << error;
  ASSERT_TRUE(WaitReady(prom_port_, "/-/ready", prometheus_)) << prometheus_.LogTail();

  // canaryd reads the very same YAML.
  const config::Config cfg = config::ParseConfig(yaml, "prometheus.yml");
  scrape::testing::RecordingSink sink;
  MetricsRegistry metrics;
  scrape::ScrapeManager manager(cfg.scrape_configs, {}, sink, SystemClock::Instance(), metrics);
  const int64_t t0 = SystemClock::Instance().NowMillis();
  manager.Start();
  std::this_thread::sleep_for(kRun);
  manager.Stop();
  const int64_t t1 = SystemClock::Instance().NowMillis();
  for (const auto& t : manager.Targets()) {
    EXPECT_EQ(t.health, "up") << t.url << ": " << t.last_error;
  }

  // canaryd's samples, per series (stale markers aside: there are none while targets stay up).
  SeriesPoints ours;
  for (const auto& batch : sink.batches()) {
    for (const auto& r : batch) {
      EXPECT_FALSE(r.stale) << r.series;
      ours[r.series].push_back(Point{r.ts, r.value});
    }
  }
  const int range_s = static_cast<int>((t1 - t0) / 1000) + 2 * kIntervalS;
  for (const std::string job : {"node", "prometheus"}) {
    SCOPED_TRACE(job);
    const SeriesPoints theirs = PrometheusSamples("{job=\"" + job + "\"}", t1, range_s);
    ASSERT_GT(theirs.size(), 50u);
    std::set<std::string> only_ours, only_theirs;
    size_t ours_in_job = 0;
    for (const auto& [s, p] : ours) {
      if (s.find(", job=\"" + job + "\"") == std::string::npos &&
          s.find("{job=\"" + job + "\"") == std::string::npos) {
        continue;
      }
      ++ours_in_job;
      if (!theirs.count(s)) only_ours.insert(s);
    }
    for (const auto& [s, p] : theirs) {
      if (!ours.count(s)) only_theirs.insert(s);
    }
    std::string diff;
    for (const auto& s : only_ours) diff += "  only canaryd:    " + s + "\n";
    for (const auto& s : only_theirs) diff += "  only Prometheus: " + s + "\n";
    std::cout << job << ": " << ours_in_job << " series in canaryd, " << theirs.size()
              << " in Prometheus, " << only_ours.size() + only_theirs.size() << " differ\n"
              << diff;
    if (job == "node") {
      EXPECT_TRUE(diff.empty()) << diff;
    } else {
      // Prometheus's own metrics gain and lose a few series between the scrapers' phases
      // (e.g. a histogram bucket that first fills in between).
      EXPECT_LE(only_ours.size() + only_theirs.size(), theirs.size() / 50) << diff;
    }
    if (job == "node") {
      EXPECT_TRUE(theirs.count("up{env=\"test\", instance=\"127.0.0.1:" +
                               std::to_string(node_port_) + "\", job=\"node\"}"));
    }

    size_t constant = 0, monotonic = 0, monotonic_ok = 0, constant_ok = 0;
    std::string bad;
    for (const auto& [s, pp] : theirs) {
      auto it = ours.find(s);
      if (it == ours.end() || pp.size() < 3) continue;
      bool is_constant = true, is_monotonic = true;
      for (size_t i = 1; i < pp.size(); ++i) {
        is_constant = is_constant && Same(pp[i].value, pp[0].value);
        is_monotonic = is_monotonic && pp[i].value >= pp[i - 1].value;
      }
      if (s.rfind("scrape_", 0) == 0) continue;  // durations and counts of each scraper's own scrapes
      if (IsObserverEffect(s)) continue;
      if (is_constant) {
        ++constant;
        bool ok = true;
        for (const auto& p : it->second) {
          // Only while Prometheus was scraping too (it starts scraping itself a moment after
          // canaryd's first scrape of it, when e.g. its TSDB is still empty).
          if (p.ts >= pp.front().ts && p.ts <= pp.back().ts) ok = ok && Same(p.value, pp[0].value);
        }
        constant_ok += ok ? 1 : 0;
        if (!ok && bad.size() < 3000) {
          bad += "  constant in Prometheus (" + std::to_string(pp[0].value) + ") but not in canaryd: " + s + "\n";
        }
      } else if (is_monotonic && IsCounterLike(s)) {
        ++monotonic;
        // Each of our samples lies between Prometheus's samples one scrape before and after it
        // (a target renders its response a little after the scrape starts).
        bool ok = true;
        for (const auto& p : it->second) {
          if (p.ts < pp.front().ts || p.ts > pp.back().ts) continue;
          size_t after = 0;
          while (after < pp.size() && pp[after].ts < p.ts) ++after;
          const double lo = pp[after >= 2 ? after - 2 : 0].value;
          const double hi = pp[std::min(after + 1, pp.size() - 1)].value;
          ok = ok && p.value >= lo && p.value <= hi;
        }
        monotonic_ok += ok ? 1 : 0;
        if (!ok && bad.size() < 3000) bad += "  counter out of Prometheus's bracket: " + s + "\n";
      }
    }
    std::cout << job << ": " << constant_ok << "/" << constant << " constant series equal, "
              << monotonic_ok << "/" << monotonic << " counters within Prometheus's bracket\n"
              << bad;
    EXPECT_GT(constant, 10u);
    EXPECT_GT(monotonic, 10u);
    // A gauge that held still for Prometheus's 15 samples can still move at canaryd's instants
    // (seen: node_memory_Writeback_bytes), so up to 1 % (at least 2) may differ.
    EXPECT_LE(constant - constant_ok, std::max<size_t>(2, constant / 100)) << bad;
    // A counter can (rarely) move between a scrape's start and the render of our copy by more
    // than one Prometheus scrape apart; allow 1 %.
    EXPECT_GE(monotonic_ok * 100, monotonic * 99) << bad;
  }
  // The report series of every scrape: up = 1.
  size_t ups = 0;
  for (const auto& [s, pp] : ours) {
    if (s.rfind("up{", 0) == 0) {
      ++ups;
      for (const auto& p : pp) EXPECT_EQ(p.value, 1) << s;
    }
  }
  EXPECT_EQ(ups, 2u);
}

}  // namespace
}  // namespace canaryd::testing
