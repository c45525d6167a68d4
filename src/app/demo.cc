#include "canaryd/app/demo.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdarg>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>
#include <vector>

#include "canaryd/api/analyses_api.h"
#include "canaryd/app/service.h"
#include "canaryd/common/logging.h"
#include "canaryd/demo/demo_config.h"

namespace canaryd::app {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

// The sum of the samples named `name` (any labels) in a text exposition whose line contains
// `must_contain`.
double SumSamples(std::string_view text, std::string_view name,
                  std::string_view must_contain = "") {
  double sum = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#' || !line.starts_with(name) || line.size() <= name.size()) {
      continue;
    }
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    if (!must_contain.empty() && line.find(must_contain) == std::string_view::npos) continue;
    const size_t space = line.rfind(' ');
    sum += std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
  }
  return sum;
}

std::string MinSec(int64_t ms) {
  if (ms < 0) ms = 0;
  const int64_t s = ms / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d:%02d", static_cast<int>(s / 60), static_cast<int>(s % 60));
  return buf;
}

// A judge JSON number: a number, "NaN"/"Infinity"/"-Infinity", or null (NaN).
double JsonNumber(const json::value* v) {
  if (v == nullptr) return std::nan("");
  if (v->is_number()) return v->to_number<double>();
  if (v->is_string()) {
    const std::string_view s = v->get_string();
    if (s == "Infinity") return INFINITY;
    if (s == "-Infinity") return -INFINITY;
  }
  return std::nan("");
}

std::string Signed(double v) {
  if (std::isnan(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.4g", v);
  return buf;
}

class Output {
 public:
  Output(std::FILE* out, bool quiet)
      : out_(out), quiet_(quiet), tty_(::isatty(::fileno(out)) != 0) {}

  // A line that stays.
  void Line(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    ClearStatus();
    va_list args;
    va_start(args, fmt);
    std::vfprintf(out_, fmt, args);
    va_end(args);
    std::fputc('\n', out_);
    std::fflush(out_);
  }
  // Live progress: rewritten in place on a terminal, one line each time otherwise.
  void Status(const std::string& text) {
    if (quiet_) return;
    if (tty_) {
      std::fprintf(out_, "\r\033[K%s", text.c_str());
      status_shown_ = true;
    } else {
      std::fprintf(out_, "%s\n", text.c_str());
    }
    std::fflush(out_);
  }
  void ClearStatus() {
    if (status_shown_) {
      std::fputs("\r\033[K", out_);
      status_shown_ = false;
    }
  }
  bool quiet() const { return quiet_; }
  bool tty() const { return tty_; }

 private:
  std::FILE* out_;
  const bool quiet_;
  const bool tty_;
  bool status_shown_ = false;
};

// The per-metric table of a judge result (Kayenta CanaryJudgeResult + canaryd's details).
void PrintJudgeTable(Output& o, std::string_view judge_json) {
  boost::system::error_code ec;
  const json::value doc = json::parse(judge_json, ec);
  if (ec || !doc.is_object()) return;
  const json::object& root = doc.get_object();
  if (const auto* groups = root.if_contains("groupScores"); groups && groups->is_array()) {
    std::string line = "    groups:";
    for (const auto& g : groups->get_array()) {
      if (!g.is_object()) continue;
      const auto* name = g.get_object().if_contains("name");
      char buf[96];
      std::snprintf(buf, sizeof buf, " %s %.0f",
                    name && name->is_string() ? name->get_string().c_str() : "?",
                    JsonNumber(g.get_object().if_contains("score")));
      line += buf;
    }
    o.Line("%s", line.c_str());
  }
  const auto* results = root.if_contains("results");
  if (results == nullptr || !results->is_array()) return;
  double conf_level = 0.98;
  o.Line("    %-20s %-11s %-17s %11s   %s", "metric", "group", "classification", "estimate",
         "confidence interval");
  for (const auto& r : results->get_array()) {
    if (!r.is_object()) continue;
    const json::object& m = r.get_object();
    auto str = [&m](std::string_view key) -> std::string {
      const auto* v = m.if_contains(key);
      return v && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    std::string group;
    if (const auto* g = m.if_contains("groups");
        g && g->is_array() && !g->get_array().empty() && g->get_array()[0].is_string()) {
      group = g->get_array()[0].get_string();
    }
    std::string classification = str("classification");
    if (const auto* c = m.if_contains("critical"); c && c->is_bool() && c->get_bool()) {
      classification += " (critical)";
    }
    if (const auto* mu = m.if_contains("muted"); mu && mu->is_bool() && mu->get_bool()) {
      classification += " (muted)";
    }
    double estimate = std::nan(""), lower = std::nan(""), upper = std::nan("");
    if (const auto* d = m.if_contains("details"); d && d->is_object()) {
      estimate = JsonNumber(d->get_object().if_contains("estimate"));
      lower = JsonNumber(d->get_object().if_contains("ciLower"));
      upper = JsonNumber(d->get_object().if_contains("ciUpper"));
      const double cl = JsonNumber(d->get_object().if_contains("confLevel"));
      if (std::isfinite(cl)) conf_level = cl;
    }
    const std::string ci = std::isnan(lower) && std::isnan(upper)
                               ? std::string("-")
                               : "[" + Signed(lower) + " .. " + Signed(upper) + "]";
    o.Line("    %-20s %-11s %-17s %11s   %s", str("name").c_str(), group.c_str(),
           classification.c_str(), Signed(estimate).c_str(), ci.c_str());
  }
  o.Line("    (estimate: shift of canary against baseline, in the metric's unit; %.0f%% interval)",
         conf_level * 100);
}

bool WriteFile(const std::string& path, const std::string& text) {
  const std::filesystem::path p(path);
  const std::filesystem::path tmp = p.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return false;
    f << text << '\n';
    if (!f.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, p, ec);
  return !ec;
}

}  // namespace

int RunDemo(const DemoOptions& options, std::FILE* out) {
  Output o(out, options.quiet);
  const std::string_view expected = demo::ExpectedVerdict(options.regression);
  if (!InitLogging(options.log_level)) {
    std::fprintf(stderr, "canaryd: unknown log level \"%s\"\n", options.log_level.c_str());
    return 1;
  }

  // Signals are taken by this thread (sigtimedwait in the loop); block them before any thread
  // starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const Clock& clock = SystemClock::Instance();
  const int64_t demo_start = clock.NowMillis();
  analysis::AnalysisDefinition def = demo::DemoAnalysis(options.duration);
  const int steps_total = static_cast<int>(def.lifetime_ms / def.step_ms);

  demo::SyntheticFleet fleet({.regression = options.regression, .seed = options.seed}, clock);
  if (auto r = fleet.Start(); !r) {
    std::fprintf(stderr, "canaryd: demo: cannot start the synthetic service: %s\n",
                 r.error().message().c_str());
    return 1;
  }
  if (!o.quiet()) {
    o.Line("canaryd demo: regression \"%s\" in the canary; expected verdict %s",
           std::string(demo::RegressionName(options.regression)).c_str(),
           std::string(expected).c_str());
    std::string pods;
    for (const auto& t : fleet.targets()) {
      pods += (pods.empty() ? "" : ", ") + t.pod + " " + t.address;
    }
    o.Line("  synthetic service: %s", pods.c_str());
  }

  // A private data directory: the service keeps the analysis and its webhook outbox there.
  char tmpl[] = "/tmp/canaryd-demo-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::fprintf(stderr, "canaryd: demo: cannot create a temporary directory\n");
    return 1;
  }
  const std::filesystem::path data_dir = tmpl;
  struct RemoveDir {
    std::filesystem::path dir;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } remove_dir{data_dir};

  config::Config cfg;
  cfg.log_level = options.log_level;
  cfg.server.address = "127.0.0.1";
  cfg.server.port = 0;
  cfg.server.threads = 1;
  cfg.server.shutdown_grace = std::chrono::seconds(2);
  cfg.data_dir = data_dir.string();
  cfg.scrape_configs.push_back(demo::DemoScrapeConfig(fleet));
  Service service(cfg, clock);
  if (auto r = service.Start(); !r) {
    std::fprintf(stderr, "canaryd: demo: cannot start canaryd: %s\n", r.error().message().c_str());
    return 1;
  }
  if (!o.quiet()) {
    o.Line(
        "  canaryd: http://127.0.0.1:%u (try GET /api/v1/analyses while the demo runs), "
        "scraping every %llds",
        static_cast<unsigned>(service.port()),
        static_cast<long long>(demo::kScrapeInterval.count() / 1000));
  }

  auto wait = [&signals](milliseconds d) {
    timespec timeout{static_cast<time_t>(d.count() / 1000),
                     static_cast<long>((d.count() % 1000) * 1'000'000)};
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    return sig == SIGINT || sig == SIGTERM;
  };

  // Start the analysis once every pod has been scraped, so its first steps have data.
  const int64_t scrape_deadline = clock.NowMillis() + 10'000;
  while (fleet.scrapes_served() < fleet.size()) {
    if (clock.NowMillis() > scrape_deadline) {
      o.ClearStatus();
      std::fprintf(stderr,
                   "canaryd: demo: the synthetic service was not scraped within 10 s "
                   "(%llu of %zu pods); is the embedded scraper running?\n",
                   static_cast<unsigned long long>(fleet.scrapes_served()), fleet.size());
      return 1;
    }
    if (wait(milliseconds(100))) {
      o.Line("interrupted");
      return 1;
    }
  }
  auto created = service.analyses().Create(def);
  if (!created) {
    std::fprintf(stderr, "canaryd: demo: cannot start the analysis: %s\n",
                 created.error().ToString().c_str());
    return 1;
  }
  const std::string id = *created;
  std::optional<analysis::AnalysisStatus> status = service.analyses().Get(id);
  if (!o.quiet()) {
    o.Line(
        "  analysis %s: built-in config \"%s\" (%zu metrics, groups Latency 40 / Errors 30 / "
        "Saturation 30), scopes baseline vs canary,",
        id.c_str(), def.config.name.c_str(), def.config.metrics.size());
    o.Line("    %s in %d intervals of %s, step %llds; pass >= %.0f, fail at <= %.0f",
           MinSec(def.lifetime_ms).c_str(), status->intervals, MinSec(def.interval_ms).c_str(),
           static_cast<long long>(def.step_ms / 1000), def.pass, def.marginal);
  }

  // The live loop: housekeeping closes steps and judges intervals; progress once a second.
  const int64_t give_up = status->start_ms + def.lifetime_ms + 30'000;
  std::vector<model::MetricSetPair> last_steps;
  size_t intervals_shown = 0;
  int64_t next_progress = 0;
  bool interrupted = false;
  for (;;) {
    if (wait(milliseconds(250))) {
      interrupted = true;
      service.analyses().Cancel(id);
      status = service.analyses().Get(id);
      break;
    }
    service.Housekeeping();
    status = service.analyses().Get(id);
    if (auto steps = service.analyses().StepValues(id); !steps.empty()) {
      last_steps = std::move(steps);
    }
    const int64_t now = clock.NowMillis();
    for (; intervals_shown < status->history.size(); ++intervals_shown) {
      const analysis::IntervalRecord& h = status->history[intervals_shown];
      if (o.quiet()) continue;
      o.Line("%s", "");
      char score[32] = "-";
      if (h.score) std::snprintf(score, sizeof score, "%.2f", *h.score);
      const std::string classification =
          h.classification.empty() ? "" : " (" + h.classification + ")";
      o.Line("  interval %d/%d [%s - %s]: score %s%s -> %s", h.index, status->intervals,
             MinSec(h.window_start_ms - status->start_ms).c_str(),
             MinSec(h.window_end_ms - status->start_ms).c_str(), score, classification.c_str(),
             std::string(analysis::VerdictName(h.verdict)).c_str());
      if (analysis::IsFinal(h.verdict) && !h.reason.empty()) o.Line("    %s", h.reason.c_str());
      // The manager keeps the latest judge result only: show it with the newest interval.
      if (intervals_shown + 1 == status->history.size() &&
          !status->latest_judge_result_json.empty()) {
        PrintJudgeTable(o, status->latest_judge_result_json);
      }
    }
    if (status->complete) break;
    if (now >= next_progress) {
      next_progress = now + 1000;
      const std::string metrics = service.metrics().Render();
      const double samples = SumSamples(metrics, "canaryd_scrape_samples_total");
      const double series = SumSamples(metrics, "canaryd_series_active");
      const double failed = SumSamples(metrics, "canaryd_scrapes_total") -
                            SumSamples(metrics, "canaryd_scrapes_total", "result=\"success\"");
      size_t up = 0;
      if (service.scraper() != nullptr) {
        for (const auto& t : service.scraper()->Targets()) up += t.health == "up" ? 1 : 0;
      }
      const size_t steps_closed = last_steps.empty() ? 0 : last_steps.front().experiment.size();
      char buf[320];
      const std::string elapsed =
          now < status->start_ms
              ? "window starts in " + std::to_string((status->start_ms - now + 999) / 1000) + "s"
              : MinSec(now - status->start_ms) + " / " + MinSec(def.lifetime_ms);
      const std::string failures =
          failed > 0 ? ", " + std::to_string(static_cast<uint64_t>(failed)) + " failed scrapes"
                     : std::string();
      std::snprintf(buf, sizeof buf,
                    "  [%s] %zu/%zu pods up, %.0f samples scraped (%.0f series)%s, steps closed "
                    "%zu/%d, intervals judged %zu/%d",
                    elapsed.c_str(), up, fleet.size(), samples, series, failures.c_str(),
                    steps_closed, steps_total, status->history.size(), status->intervals);
      o.Status(buf);
    }
    if (now > give_up) {
      o.ClearStatus();
      std::fprintf(stderr, "canaryd: demo: the analysis did not finish within 30 s of its end\n");
      break;
    }
  }
  o.ClearStatus();

  // The result, as GET /api/v1/analyses/{id} shows it, with the last step values seen (the API
  // drops them once an analysis is complete).
  const std::string result_json = api::AnalysisToJson(*status, &last_steps, true);
  const bool written = WriteFile(options.output, result_json);
  const std::string_view verdict = analysis::VerdictName(status->verdict);
  const bool as_expected = status->complete && !interrupted && verdict == expected;
  if (!o.quiet()) o.Line("%s", "");
  if (interrupted) o.Line("interrupted: analysis cancelled");
  o.Line("verdict: %s (%s)", std::string(verdict).c_str(), status->reason.c_str());
  o.Line("expected: %s for regression \"%s\": %s", std::string(expected).c_str(),
         std::string(demo::RegressionName(options.regression)).c_str(),
         as_expected ? "as expected" : "NOT as expected");
  if (written) {
    o.Line("result: %s", options.output.c_str());
  } else {
    std::fprintf(stderr, "canaryd: demo: cannot write %s\n", options.output.c_str());
  }
  if (!o.quiet()) {
    o.Line("took %s", MinSec(clock.NowMillis() - demo_start).c_str());
  }
  service.Shutdown();
  service.Wait();
  fleet.Stop();
  return as_expected && written ? 0 : 1;
}

}  // namespace canaryd::app
