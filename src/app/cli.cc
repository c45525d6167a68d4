#include "canaryd/app/cli.h"

#include <signal.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "canaryd/app/demo.h"
#include "canaryd/app/service.h"
#include "canaryd/canaryconfig/canary_config.h"
#include "canaryd/common/clock.h"
#include "canaryd/common/duration.h"
#include "canaryd/common/file.h"
#include "canaryd/common/logging.h"
#include "canaryd/config/config.h"
#include "canaryd/judge/judge.h"
#include "canaryd/judge/judge_json.h"

namespace canaryd::app {
namespace {

constexpr const char* kVersion = CANARYD_VERSION;

constexpr const char* kMainHelp = R"(canaryd: continuous canary analysis for Prometheus metrics

Usage:
  canaryd <command> [flags]

Commands:
  serve          Run the server: remote-write receiver (1.0 and 2.0), embedded scraper
                 (scrape_configs), continuous analyses and their APIs, /metrics.
  check-config   Validate a configuration file and print the effective settings.
  judge          Judge a canary offline: Kayenta canary config + metric set pairs -> verdict JSON.
  demo           Run the whole product on a built-in synthetic service for about a minute: a
                 baseline and a canary (with a regression of your choice), scraped, analysed
                 and judged live. Exits 0 when the verdict is the expected one.
  version        Print the version.
  help           Show this help, or `canaryd help <command>` for a command's flags.

Run `canaryd <command> --help` for the flags of a command.
Documentation: docs/ in the source tree (configuration.md, scraping.md, remote-write.md, api.md,
integrations.md, judge.md, architecture.md).
)";

constexpr const char* kServeHelp = R"(Usage: canaryd serve [flags]

Runs the server until SIGTERM or SIGINT, then shuts down gracefully: stops accepting, lets
requests in progress finish (up to server.shutdown_grace_period), and exits 0.

Flags:
  --config FILE              YAML configuration (docs/configuration.md). Without it, defaults.
  --listen-address HOST:PORT Overrides server.listen_address (default 127.0.0.1:9464).
  --threads N                Overrides server.threads (0 = one per core).
  --log.level LEVEL          Overrides log.level: trace, debug, info, warn, error, off.
  --data-dir DIR             Overrides data_dir: where analyses are kept across restarts.
  -h, --help                 Show this help.

Endpoints:
  POST /api/v1/write         Prometheus remote-write 1.0 and 2.0 (aliases /api/v1/push,
                             /api/v1/receive). Point Prometheus's remote_write url here.
  POST /api/v1/analyses      Start an analysis (a Kayenta canary config + scopes); 201 + id.
  GET  /api/v1/analyses[/ID] Analyses; one with its history, judge result and step values.
  GET  /api/v1/analyses/ID/verdict
                             {"verdict": PASS|FAIL|CONTINUE|NODATA|ERROR|CANCELLED, ...}, always
                             200 (for Argo Rollouts' web provider). DELETE .../ID cancels.
  GET  /api/v1/targets       The embedded scraper's targets and their health (scrape_configs in
                             the config; docs/scraping.md).
  GET  /metrics              canaryd's own metrics (Prometheus text format).
  GET  /-/healthy            200 while the process runs.
  GET  /-/ready              200 while serving, 503 during shutdown.

Example Prometheus configuration:
  remote_write:
    - url: http://127.0.0.1:9464/api/v1/write

Exit codes: 0 clean shutdown, 1 runtime failure (e.g. the address is in use), 2 bad flags or
configuration.
)";

constexpr const char* kCheckConfigHelp = R"(Usage: canaryd check-config FILE

Parses FILE like `canaryd serve --config FILE` would, prints the effective settings and exits 0,
or prints the first error (file:line:column: field: problem) and exits 2.
)";

constexpr const char* kJudgeHelp = R"(Usage: canaryd judge --config FILE --pairs FILE [flags]

Judges one canary interval offline with NetflixACAJudge-v1.0, the same code the service runs,
and prints the result as JSON in Kayenta's CanaryJudgeResult shape, with the evidence behind
each metric's verdict under `details` (docs/judge.md explains every field).

Flags:
  --config FILE    Kayenta canary config (JSON), e.g. exported from Kayenta or the Spinnaker UI.
  --pairs FILE     JSON array of Kayenta MetricSetPairs, one per metric and tag set:
                   [{"name": "p99_latency", "tags": {},
                     "values": {"control": [1.2, "NaN", null], "experiment": [1.5, 1.4]}}]
                   A value is a number, "NaN" or null; names refer to the config's metrics.
  --pass N         Score needed for Pass (default 75).
  --marginal N     Score needed for Marginal (default 50); below it, Fail. As in Kayenta, the
                   config's classifier.scoreThresholds are not used: thresholds come per run.
  --seed N         Seed of the noise that breaks ties when both sides are constant (default 0;
                   Kayenta does not seed it, so its verdicts on such data vary between runs).
  -h, --help       Show this help.

Exit codes: 0 judged (whatever the verdict), 2 bad flags or a malformed file (the message names
the file and the JSON path).
)";

constexpr const char* kDemoHelp = R"(Usage: canaryd demo [flags]

Shows the whole product with nothing else running. Inside the process it starts a small
synthetic web service on loopback ports, 3 baseline pods and 3 canary pods, each serving
/metrics (requests by status code, a latency histogram, CPU seconds, a few gauges); canaryd's
embedded scraper scrapes them every second, and an analysis with a built-in Kayenta canary config
(groups Latency, Errors and Saturation; filter template pod=~"demo-${scope}-.*") judges the
canary against the baseline every third of the run, with 2 s steps.

While it runs it shows the elapsed time, the samples ingested and the steps closed, and for each
judged interval the score and a per-metric table (classification, estimate of the shift, and
its confidence interval). At the end: the verdict, the verdict the regression should produce, and
the analysis as JSON (GET /api/v1/analyses/{id}'s shape, plus the last step values seen).

Flags:
  --regression KIND  What is wrong with the canary: latency (every request twice as slow; the
                     default), errors (5xx from 1% to 8% of requests), cpu (x1.6 CPU per
                     request) or none.
  --duration D       Length of the analysis (default 60s; at least 18s). The demo takes this
                     plus a few seconds.
  --output FILE      Where the JSON result goes (default demo-result.json).
  --quiet            Print only the verdict lines.
  --seed N           Seed of the synthetic service's randomness (default 1).
  --log.level LEVEL  canaryd's log level on stderr (default warn).
  -h, --help         Show this help.

Exit codes: 0 the verdict is the expected one (FAIL for a regression, PASS for none), 1 it is
not (or the demo could not run), 2 bad flags. `.ci/run` runs it as a smoke test.
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Minimal flag parser: --name value, --name=value, boolean -h/--help.
class Flags {
 public:
  Flags(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      args_.emplace_back(argv[i]);
    }
  }
  // Removes the boolean flag --name wherever it is; true if it was there.
  bool TakeSwitch(const std::string& name) {
    const auto it = std::remove(args_.begin(), args_.end(), "--" + name);
    const bool found = it != args_.end();
    args_.erase(it, args_.end());
    return found;
  }
  bool Help() const {
    for (const auto& a : args_) {
      if (a == "-h" || a == "--help") {
        return true;
      }
    }
    return false;
  }
  // Consumes all flags; `known` lists the names that take a value.
  std::vector<std::pair<std::string, std::string>> Parse(const std::vector<std::string>& known,
                                                         std::vector<std::string>& positional) {
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i < args_.size(); ++i) {
      const std::string& a = args_[i];
      if (a.rfind("--", 0) != 0) {
        positional.push_back(a);
        continue;
      }
      std::string name = a.substr(2), value;
      const auto eq = name.find('=');
      bool has_value = false;
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        throw UsageError("unknown flag --" + name);
      }
      if (!has_value) {
        if (i + 1 >= args_.size()) {
          throw UsageError("flag --" + name + " needs a value");
        }
        value = args_[++i];
      }
      out.emplace_back(name, value);
    }
    return out;
  }

 private:
  std::vector<std::string> args_;
};

std::string Describe(const config::Config& c) {
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; };
  std::string out;
  out += "log.level: " + c.log_level + "\n";
  out += "server.listen_address: " + c.server.address + ":" + std::to_string(c.server.port) + "\n";
  out += "server.threads: " + std::to_string(c.server.threads) + " (0 = one per core)\n";
  out += "server.max_connections: " + std::to_string(c.server.max_connections) + "\n";
  out += "server.idle_timeout: " + ms(c.server.idle_timeout) + "\n";
  out += "server.read_timeout: " + ms(c.server.read_timeout) + "\n";
  out += "server.write_timeout: " + ms(c.server.write_timeout) + "\n";
  out += "server.shutdown_grace_period: " + ms(c.server.shutdown_grace) + "\n";
  out += "remote_write.max_body_bytes: " + std::to_string(c.remote_write.max_body_bytes) + "\n";
  out +=
      "remote_write.max_decoded_bytes: " + std::to_string(c.remote_write.max_decoded_bytes) + "\n";
  out += "remote_write.max_inflight_bytes: " + std::to_string(c.remote_write.max_inflight_bytes) +
         "\n";
  out += "remote_write.max_future: " + ms(c.remote_write.max_future) + "\n";
  out += "remote_write.retry_after: " + std::to_string(c.remote_write.retry_after.count()) + "s\n";
  out += "series.retention: " + std::to_string(c.series_retention.count()) + "s\n";
  out += "data_dir: " + (c.data_dir.empty() ? std::string("(none: analyses are not persisted)") : c.data_dir) + "\n";
  out += "external_url: " + (c.external_url.empty() ? std::string("(http://listen_address)") : c.external_url) + "\n";
  out += "webhooks.max_age: " + ms(c.webhooks.max_age) + "\n";
  out += "webhooks.backoff_base: " + ms(c.webhooks.backoff_base) + "\n";
  out += "webhooks.backoff_cap: " + ms(c.webhooks.backoff_cap) + "\n";
  out += "webhooks.ca_file: " + (c.webhooks.ca_file.empty() ? std::string("(system trust store)") : c.webhooks.ca_file) + "\n";
  out += "windows.lookback_delta: " + std::to_string(c.windows.lookback_delta_ms) + "ms\n";
  out += "windows.late_allowance: " +
         (c.windows.late_allowance_ms > 0 ? std::to_string(c.windows.late_allowance_ms) + "ms"
                                          : std::string("one step")) +
         "\n";
  out += "windows.max_steps: " + std::to_string(c.windows.max_steps) + "\n";
  out += "windows.max_tag_sets_per_metric: " + std::to_string(c.windows.max_tag_sets_per_metric) +
         "\n";
  out += "windows.max_samples_per_series: " + std::to_string(c.windows.max_samples_per_series) +
         "\n";
  out += "scrape_configs: " + std::to_string(c.scrape_configs.size()) + " jobs\n";
  for (const auto& job : c.scrape_configs) {
    size_t targets = 0;
    for (const auto& g : job.static_configs) targets += g.targets.size();
    out += "  " + job.job_name + ": every " + ms(job.scrape_interval) + " (timeout " +
           ms(job.scrape_timeout) + "), " + job.scheme + " " + job.metrics_path + ", " +
           std::to_string(targets) + " static targets, " +
           std::to_string(job.file_sd_configs.size()) + " file_sd configs\n";
  }
  return out;
}

int Serve(int argc, char** argv) {
  Flags flags(argc, argv, 2);
  if (flags.Help()) {
    std::cout << kServeHelp;
    return 0;
  }
  std::vector<std::string> positional;
  const auto parsed =
      flags.Parse({"config", "listen-address", "threads", "log.level", "data-dir"}, positional);
  if (!positional.empty()) {
    throw UsageError("unexpected argument \"" + positional[0] + "\"");
  }
  config::Config cfg;
  for (const auto& [name, value] : parsed) {
    if (name == "config") {
      cfg = config::LoadConfigFile(value);
    }
  }
  for (const auto& [name, value] : parsed) {
    if (name == "listen-address") {
      config::ParseListenAddress(value, "--listen-address", cfg.server);
    } else if (name == "threads") {
      cfg.server.threads = static_cast<unsigned>(std::stoul(value));
    } else if (name == "log.level") {
      cfg.log_level = value;
    } else if (name == "data-dir") {
      cfg.data_dir = value;
    }
  }
  if (!InitLogging(cfg.log_level)) {
    throw UsageError("--log.level: \"" + cfg.log_level +
                     "\" is not one of trace, debug, info, warn, error, off");
  }

  // SIGTERM/SIGINT are taken synchronously by this thread (sigtimedwait below); block them
  // before any other thread starts so that they inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Service service(cfg, SystemClock::Instance());
  if (auto r = service.Start(); !r) {
    spdlog::error("cannot listen on {}:{}: {}", cfg.server.address, cfg.server.port,
                  r.error().message());
    return 1;
  }
  spdlog::info("canaryd {} listening on {}:{} with {} threads; remote-write at /api/v1/write",
               kVersion, cfg.server.address, service.port(), service.http_server().thread_count());

  // Main thread: wait for a signal; once a second, close due analysis steps and expire series.
  for (;;) {
    timespec timeout{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, shutting down (grace period {} ms)",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg.server.shutdown_grace.count());
      break;
    }
    service.Housekeeping();
  }
  service.Shutdown();
  service.Wait();
  spdlog::info("canaryd stopped");
  return 0;
}

int CheckConfig(int argc, char** argv) {
  Flags flags(argc, argv, 2);
  if (flags.Help()) {
    std::cout << kCheckConfigHelp;
    return 0;
  }
  std::vector<std::string> positional;
  flags.Parse({}, positional);
  if (positional.size() != 1) {
    throw UsageError("check-config takes exactly one FILE");
  }
  const auto cfg = config::LoadConfigFile(positional[0]);
  std::cout << positional[0] << ": OK\n" << Describe(cfg);
  return 0;
}

std::string ReadFileOrThrow(const std::string& path) {
  std::string text, error;
  if (!ReadFile(path, text, error)) {
    throw UsageError(path + ": cannot open: " + error);
  }
  return text;
}

double NumberFlag(const std::string& name, const std::string& value) {
  double d = 0;
  const auto r = std::from_chars(value.data(), value.data() + value.size(), d);
  if (r.ec != std::errc() || r.ptr != value.data() + value.size() || !std::isfinite(d)) {
    throw UsageError("--" + name + ": \"" + value + "\" is not a number");
  }
  return d;
}

int Judge(int argc, char** argv) {
  Flags flags(argc, argv, 2);
  if (flags.Help()) {
    std::cout << kJudgeHelp;
    return 0;
  }
  std::vector<std::string> positional;
  const auto parsed = flags.Parse({"config", "pairs", "pass", "marginal", "seed"}, positional);
  if (!positional.empty()) {
    throw UsageError("unexpected argument \"" + positional[0] + "\"");
  }
  std::string config_path, pairs_path;
  judge::JudgeOptions options;
  for (const auto& [name, value] : parsed) {
    if (name == "config") {
      config_path = value;
    } else if (name == "pairs") {
      pairs_path = value;
    } else if (name == "pass") {
      options.pass = NumberFlag(name, value);
    } else if (name == "marginal") {
      options.marginal = NumberFlag(name, value);
    } else if (name == "seed") {
      const auto r = std::from_chars(value.data(), value.data() + value.size(), options.seed);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size()) {
        throw UsageError("--seed: \"" + value + "\" is not a non-negative integer");
      }
    }
  }
  if (config_path.empty() || pairs_path.empty()) {
    throw UsageError("judge needs --config FILE and --pairs FILE");
  }

  const auto config = canaryconfig::ParseCanaryConfig(ReadFileOrThrow(config_path));
  if (!config) {
    for (const auto& p : config.error().problems) {
      std::cerr << "canaryd: " << config_path << ": " << p.ToString() << "\n";
    }
    return 2;
  }
  const auto pairs = judge::ParseMetricSetPairs(ReadFileOrThrow(pairs_path));
  if (!pairs) {
    std::cerr << "canaryd: " << pairs_path << ": " << pairs.error().ToString() << "\n";
    return 2;
  }
  const auto result = judge::Judge(*config, *pairs, options);
  if (!result) {
    std::cerr << "canaryd: " << pairs_path << ": [" << result.error().pair_index
              << "].name: " << result.error().message << " (" << config_path << ")\n";
    return 2;
  }
  for (const auto& m : config->metrics) {
    const bool judged =
        std::any_of(pairs->begin(), pairs->end(),
                    [&m](const model::MetricSetPair& p) { return p.name == m.name; });
    if (!judged) {
      std::cerr << "canaryd: warning: metric \"" << m.name << "\" has no pair in " << pairs_path
                << "; it was not judged\n";
    }
  }
  std::cout << judge::JudgeResultToJson(*result);
  return 0;
}

int Demo(int argc, char** argv) {
  Flags flags(argc, argv, 2);
  if (flags.Help()) {
    std::cout << kDemoHelp;
    return 0;
  }
  DemoOptions options;
  options.quiet = flags.TakeSwitch("quiet");
  std::vector<std::string> positional;
  const auto parsed =
      flags.Parse({"regression", "duration", "output", "seed", "log.level"}, positional);
  if (!positional.empty()) {
    throw UsageError("unexpected argument \"" + positional[0] + "\"");
  }
  for (const auto& [name, value] : parsed) {
    if (name == "regression") {
      const auto r = demo::ParseRegression(value);
      if (!r) {
        throw UsageError("--regression: \"" + value +
                         "\" is not one of latency, errors, cpu, none");
      }
      options.regression = *r;
    } else if (name == "duration") {
      if (!ParseDuration(value, options.duration) || options.duration < std::chrono::seconds(18)) {
        throw UsageError("--duration: \"" + value +
                         "\" is not a duration of at least 18s (e.g. 60s, 2m)");
      }
    } else if (name == "output") {
      if (value.empty()) throw UsageError("--output needs a file name");
      options.output = value;
    } else if (name == "seed") {
      const auto r = std::from_chars(value.data(), value.data() + value.size(), options.seed);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size()) {
        throw UsageError("--seed: \"" + value + "\" is not a non-negative integer");
      }
    } else if (name == "log.level") {
      options.log_level = value;
      if (!InitLogging(value)) {
        throw UsageError("--log.level: \"" + value +
                         "\" is not one of trace, debug, info, warn, error, off");
      }
    }
  }
  std::cout.flush();
  return RunDemo(options, stdout);
}

}  // namespace

int Main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command.empty() || command == "help" || command == "-h" || command == "--help") {
      if (command == "help" && argc > 2) {
        const std::string topic = argv[2];
        if (topic == "serve") {
          std::cout << kServeHelp;
          return 0;
        }
        if (topic == "check-config") {
          std::cout << kCheckConfigHelp;
          return 0;
        }
        if (topic == "judge") {
          std::cout << kJudgeHelp;
          return 0;
        }
        if (topic == "demo") {
          std::cout << kDemoHelp;
          return 0;
        }
      }
      std::cout << kMainHelp;
      return command.empty() ? 2 : 0;
    }
    if (command == "version" || command == "--version") {
      std::cout << "canaryd " << kVersion << "\n";
      return 0;
    }
    if (command == "serve") {
      return Serve(argc, argv);
    }
    if (command == "check-config") {
      return CheckConfig(argc, argv);
    }
    if (command == "judge") {
      return Judge(argc, argv);
    }
    if (command == "demo") {
      return Demo(argc, argv);
    }
    throw UsageError("unknown command \"" + command + "\"");
  } catch (const UsageError& e) {
    std::cerr << "canaryd: " << e.what() << "\nRun `canaryd --help` for usage.\n";
    return 2;
  } catch (const config::ConfigError& e) {
    std::cerr << "canaryd: configuration error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "canaryd: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace canaryd::app
