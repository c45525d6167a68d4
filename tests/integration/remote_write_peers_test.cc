// End-to-end tests against real remote-write senders: an in-process canaryd (app::Service on a free
// loopback port, SystemClock) receives from a real Prometheus and a real vmagent, both scraping a
// real node_exporter. Everything listens on 127.0.0.1 only.
//
// The peers come from Debian packages (deploy/install-deps.sh): prometheus (2.42, remote-write 1.0
// only, so there is no 2.0 sender test), victoria-metrics (vmagent) and prometheus-node-exporter.
// A missing binary skips its test. CANARYD_PROMETHEUS, CANARYD_VMAGENT and CANARYD_NODE_EXPORTER
// override the binary paths.
//
// Each test polls (every 200 ms, at most kWaitLimit) for what it expects; on failure it prints
// the tail of every peer's log and canaryd's remote-write metrics, and keeps its temp directory.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "canaryd/app/service.h"
#include "canaryd/common/clock.h"
#include "canaryd/common/logging.h"
#include "canaryd/model/labels.h"
#include "http_client.h"
#include "subprocess.h"

namespace canaryd::testing {
namespace {

using namespace std::chrono_literals;

constexpr auto kWaitLimit = 60s;
constexpr auto kPollInterval = 200ms;

struct Peer {
  const char* env;
  const char* default_path;
  const char* package;
};
constexpr Peer kPrometheus{"CANARYD_PROMETHEUS", "/usr/bin/prometheus", "prometheus"};
constexpr Peer kVmagent{"CANARYD_VMAGENT", "/usr/bin/vmagent", "victoria-metrics"};
constexpr Peer kNodeExporter{"CANARYD_NODE_EXPORTER", "/usr/bin/prometheus-node-exporter",
                             "prometheus-node-exporter"};

std::string BinaryPath(const Peer& peer) {
  const char* env = std::getenv(peer.env);
  return env != nullptr && *env != '\0' ? env : peer.default_path;
}

/// "" if the binary is there, else why the test skips.
std::string MissingBinary(const Peer& peer) {
  const std::string path = BinaryPath(peer);
  if (access(path.c_str(), X_OK) == 0) {
    return "";
  }
  return path + " not found or not executable: install the Debian package '" + peer.package +
         "' (deploy/install-deps.sh), or set " + peer.env;
}

/// Canonical label key from labels given sorted by name.
std::string LabelKey(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
  std::string key;
  for (const auto& [name, value] : labels) {
    model::AppendLabel(key, name, value);
  }
  return key;
}

/// Sum of the values of `family{...}` lines whose `code` label is not 2xx.
double NonSuccessRequests(std::string_view exposition, std::string_view family) {
  double sum = 0;
  std::istringstream in{std::string(exposition)};
  std::string line;
  const std::string prefix = std::string(family) + "{";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) {
      continue;
    }
    const auto code = line.find("code=\"");
    const auto space = line.rfind(' ');
    if (code == std::string::npos || space == std::string::npos) {
      continue;
    }
    if (line[code + 6] != '2') {
      sum += std::strtod(line.c_str() + space + 1, nullptr);
    }
  }
  return sum;
}

/// The `canaryd_remote_write_*` and `canaryd_http_requests_total` lines of an exposition.
std::string RemoteWriteLines(std::string_view exposition) {
  std::istringstream in{std::string(exposition)};
  std::string line;
  std::string out;
  while (std::getline(in, line)) {
    if (line.rfind("canaryd_remote_write_", 0) == 0 ||
        line.rfind("canaryd_http_requests_total", 0) == 0) {
      out += "  " + line + "\n";
    }
  }
  return out;
}

class PeersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitLogging("info"));
    tmp_ = std::make_unique<TempDir>("canaryd-integ-");
    config::Config cfg;
    cfg.server.address = "127.0.0.1";
    cfg.server.port = 0;
    cfg.server.threads = 2;
    cfg.server.shutdown_grace = 2s;
    cfg.log_level = "info";
    service_ = std::make_unique<app::Service>(std::move(cfg), SystemClock::Instance());
    auto started = service_->Start();
    ASSERT_TRUE(started) << started.error().message();
  }

  void TearDown() override {
    if (HasFailure()) {
      for (auto& p : peers_) {
        std::cerr << "----- " << p->name() << " (" << p->Status() << "), log "
                  << p->log_path().string() << ", tail:\n"
                  << p->LogTail() << "\n----- end of " << p->name() << " log\n";
      }
      if (service_ != nullptr) {
        std::cerr << "canaryd remote-write metrics:\n" << RemoteWriteLines(Metrics());
      }
      if (tmp_ != nullptr) {
        tmp_->Keep();
        std::cerr << "kept temp dir " << tmp_->path().string() << "\n";
      }
    }
    // Senders first (they flush to canaryd on SIGTERM), then canaryd, then the files.
    for (auto it = peers_.rbegin(); it != peers_.rend(); ++it) {
      (*it)->Stop();
    }
    peers_.clear();
    service_.reset();
    tmp_.reset();
  }

  /// Starts a peer logging to <tmp>/<log_name>; fails the test (returns nullptr) if it cannot.
  Subprocess* StartPeer(const std::vector<std::string>& argv, const std::string& log_name) {
    auto p = std::make_unique<Subprocess>();
    std::string error;
    if (!p->Start(argv, tmp_->path() / log_name, error)) {
      ADD_FAILURE() << "cannot start " << argv[0] << ": " << error;
      return nullptr;
    }
    peers_.push_back(std::move(p));
    return peers_.back().get();
  }

  /// Starts node_exporter on a free port with a few cheap collectors; returns its port.
  uint16_t StartNodeExporter() {
    const uint16_t port = FreeLoopbackPort();
    StartPeer({BinaryPath(kNodeExporter), "--web.listen-address=127.0.0.1:" + std::to_string(port),
               "--collector.disable-defaults", "--collector.cpu", "--collector.meminfo",
               "--collector.loadavg", "--collector.stat", "--log.level=info"},
              "node_exporter.log");
    return port;
  }

  std::string Metrics() {
    testutil::HttpClient client(service_->port());
    return client.Get("/metrics").body;
  }

  double Metric(std::string_view exposition, std::string_view series) {
    const double v = testutil::MetricValue(exposition, series);
    return std::isnan(v) ? 0 : v;
  }

  bool HasSeries(const std::string& key) {
    series::SeriesId id = 0;
    return service_->series_table().Find(key, model::HashLabelKey(key), id);
  }

  /// True if some series has __name__ `name` and job `job`.
  bool HasSeriesNamed(std::string_view name, std::string_view job) {
    bool found = false;
    service_->series_table().ForEach([&](series::SeriesId, std::string_view key) {
      if (!found && model::FindLabel(key, "__name__") == name && model::FindLabel(key, "job") == job) {
        found = true;
      }
    });
    return found;
  }

  /// Polls `done` every kPollInterval until it is true or kWaitLimit passes; fails early if a
  /// peer exits. Returns whether `done` became true.
  bool WaitFor(const std::string& what, const std::function<bool()>& done) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < kWaitLimit) {
      if (done()) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
        std::cout << "[ integ    ] " << what << ": after " << ms.count() << " ms\n";
        return true;
      }
      for (auto& p : peers_) {
        if (!p->Running()) {
          ADD_FAILURE() << p->name() << " " << p->Status() << " while waiting for " << what;
          return false;
        }
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    ADD_FAILURE() << "timed out after " << kWaitLimit.count() << " s waiting for " << what;
    return false;
  }

  /// Asserts canaryd answered remote-write with 204 only, and prints what the sender sent.
  void ExpectOnly204(const std::string& sender) {
    const std::string m = Metrics();
    EXPECT_GT(Metric(m, "canaryd_remote_write_requests_total{code=\"204\"}"), 0);
    EXPECT_EQ(NonSuccessRequests(m, "canaryd_remote_write_requests_total"), 0)
        << RemoteWriteLines(m);
    EXPECT_EQ(NonSuccessRequests(m, "canaryd_http_requests_total"), 0) << RemoteWriteLines(m);
    EXPECT_EQ(Metric(m, "canaryd_remote_write_samples_rejected_total"), 0);
    const double requests = Metric(m, "canaryd_remote_write_requests_total{code=\"204\"}");
    const double samples = Metric(m, "canaryd_remote_write_samples_total");
    std::cout << "[ integ    ] " << sender << ": " << requests << " requests, " << samples
              << " samples (" << (requests > 0 ? samples / requests : 0) << " per request), "
              << service_->series_table().size() << " series; snappy bytes "
              << Metric(m, "canaryd_remote_write_bytes_total{encoding=\"snappy\"}") << ", zstd bytes "
              << Metric(m, "canaryd_remote_write_bytes_total{encoding=\"zstd\"}")
              << ", identity bytes "
              << Metric(m, "canaryd_remote_write_bytes_total{encoding=\"identity\"}")
              << ", decoded bytes " << Metric(m, "canaryd_remote_write_decoded_bytes_total")
              << ", metadata " << Metric(m, "canaryd_remote_write_metadata_total") << "\n";
  }

  std::string WriteUrl() const {
    return "http://127.0.0.1:" + std::to_string(service_->port()) + "/api/v1/write";
  }

  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<app::Service> service_;
  std::vector<std::unique_ptr<Subprocess>> peers_;
};

TEST_F(PeersTest, PrometheusRemoteWrite) {
  for (const Peer* peer : {&kPrometheus, &kNodeExporter}) {
    if (const auto why = MissingBinary(*peer); !why.empty()) {
      GTEST_SKIP() << why;
    }
  }
  const uint16_t node_port = StartNodeExporter();
  ASSERT_FALSE(HasFailure());
  const uint16_t prom_port = FreeLoopbackPort();
  const std::string prom_addr = "127.0.0.1:" + std::to_string(prom_port);
  const std::string node_addr = "127.0.0.1:" + std::to_string(node_port);
  const auto config = tmp_->path() / "prometheus.yml";
  WriteFile(config, "global:\n"
                    "  scrape_interval: 1s\n"
                    "  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: prometheus\n"
                    "    static_configs:\n"
                    "      - targets: ['" + prom_addr + "']\n"
                    "  - job_name: node\n"
                    "    static_configs:\n"
                    "      - targets: ['" + node_addr + "']\n"
                    "remote_write:\n"
                    "  - url: " + WriteUrl() + "\n"
                    "    queue_config:\n"
                    "      batch_send_deadline: 1s\n"
                    "      min_backoff: 100ms\n"
                    "      max_backoff: 1s\n"
                    "    metadata_config:\n"
                    "      send_interval: 1s\n");
  ASSERT_TRUE(StartPeer({BinaryPath(kPrometheus), "--config.file=" + config.string(),
                         "--storage.tsdb.path=" + (tmp_->path() / "tsdb").string(),
                         "--web.listen-address=" + prom_addr, "--storage.remote.flush-deadline=5s",
                         "--log.level=info"},
                        "prometheus.log"));

  const std::string up_key =
      LabelKey({{"__name__", "up"}, {"instance", prom_addr}, {"job", "prometheus"}});
  const std::string node_up_key =
      LabelKey({{"__name__", "up"}, {"instance", node_addr}, {"job", "node"}});
  // Prometheus 2.42 sends metadata in requests of their own (metadata_config above).
  ASSERT_TRUE(WaitFor("prometheus: >300 samples, metadata, up of both jobs, node_cpu_seconds_total",
                      [&] {
                        const std::string m = Metrics();
                        return Metric(m, "canaryd_remote_write_samples_total") > 300 &&
                               Metric(m, "canaryd_remote_write_metadata_total") > 0 &&
                               HasSeries(up_key) && HasSeries(node_up_key) &&
                               HasSeriesNamed("node_cpu_seconds_total", "node");
                      }));
  ExpectOnly204("prometheus");
}

TEST_F(PeersTest, VmagentRemoteWrite) {
  for (const Peer* peer : {&kVmagent, &kNodeExporter}) {
    if (const auto why = MissingBinary(*peer); !why.empty()) {
      GTEST_SKIP() << why;
    }
  }
  const uint16_t node_port = StartNodeExporter();
  ASSERT_FALSE(HasFailure());
  const std::string node_addr = "127.0.0.1:" + std::to_string(node_port);
  const uint16_t vm_port = FreeLoopbackPort();
  const auto config = tmp_->path() / "scrape.yml";
  WriteFile(config, "global:\n"
                    "  scrape_interval: 1s\n"
                    "scrape_configs:\n"
                    "  - job_name: node-vmagent\n"
                    "    static_configs:\n"
                    "      - targets: ['" + node_addr + "']\n");
  ASSERT_TRUE(StartPeer({BinaryPath(kVmagent), "-httpListenAddr=127.0.0.1:" + std::to_string(vm_port),
                         "-remoteWrite.url=" + WriteUrl(),
                         "-remoteWrite.tmpDataPath=" + (tmp_->path() / "vmagent-data").string(),
                         "-promscrape.config=" + config.string(), "-remoteWrite.flushInterval=1s",
                         "-loggerLevel=INFO"},
                        "vmagent.log"));

  const std::string up_key =
      LabelKey({{"__name__", "up"}, {"instance", node_addr}, {"job", "node-vmagent"}});
  // Three flushes at least, so that later requests resolve series already in the table.
  ASSERT_TRUE(WaitFor("vmagent: 3 requests, >100 samples, up and node_cpu_seconds_total", [&] {
    const std::string m = Metrics();
    return Metric(m, "canaryd_remote_write_requests_total{code=\"204\"}") >= 3 &&
           Metric(m, "canaryd_remote_write_samples_total") > 100 && HasSeries(up_key) &&
           HasSeriesNamed("node_cpu_seconds_total", "node-vmagent");
  }));
  ExpectOnly204("vmagent");
}

}  // namespace
}  // namespace canaryd::testing
