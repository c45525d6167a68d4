#include "canaryd/analysis/analysis_manager.h"

#include "canaryd/analysis/config_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <spdlog/spdlog.h>

#include "canaryconfig/json_walk.h"
#include "canaryd/judge/judge.h"
#include "canaryd/judge/judge_json.h"

namespace canaryd::analysis {
namespace {

namespace json = boost::json;

int64_t EffectiveInterval(const AnalysisDefinition& d) {
  return d.interval_ms <= 0 || d.interval_ms > d.lifetime_ms ? d.lifetime_ms : d.interval_ms;
}

json::object ScopeToJson(const select::Scope& s) {
  json::object o;
  o["scope"] = s.scope;
  o["location"] = s.location;
  json::object params;
  for (const auto& [k, v] : s.extended_params) params[k] = v;
  o["extendedScopeParams"] = std::move(params);
  return o;
}

select::Scope ScopeFromJson(const json::value& v) {
  select::Scope s;
  s.scope = json::value_to<std::string>(v.at("scope"));
  s.location = json::value_to<std::string>(v.at("location"));
  for (const auto& [k, p] : v.at("extendedScopeParams").as_object()) {
    s.extended_params[std::string(k)] = json::value_to<std::string>(p);
  }
  return s;
}

// The persisted form: the definition (config as Kayenta JSON) and what happened so far.
std::string ToJson(const AnalysisStatus& s) {
  const AnalysisDefinition& d = s.definition;
  json::object o;
  o["version"] = 1;
  o["id"] = s.id;
  std::string ignored;
  o["canaryConfig"] = canaryconfig::detail::ParseJson(canaryconfig::SerializeCanaryConfig(d.config), ignored);
  json::object scopes;
  for (const auto& [name, pair] : d.scopes) {
    scopes[name] = json::object{{"controlScope", ScopeToJson(pair.control)},
                                {"experimentScope", ScopeToJson(pair.experiment)}};
  }
  o["scopes"] = std::move(scopes);
  o["stepMillis"] = d.step_ms;
  o["lookback"] = d.lookback.mode == window::Lookback::Mode::kSliding ? "sliding" : "growing";
  o["lookbackMillis"] = d.lookback.length_ms;
  o["pass"] = d.pass;
  o["marginal"] = d.marginal;
  o["lifetimeMillis"] = d.lifetime_ms;
  o["intervalMillis"] = d.interval_ms;
  o["beginAfterMillis"] = d.begin_after_ms;
  o["baselineOffsetMillis"] = d.baseline_offset_ms;
  o["minSteps"] = d.min_steps;
  o["seed"] = d.seed;
  json::array hooks;
  for (const Webhook& w : d.webhooks) {
    json::array headers;
    for (const auto& [k, v] : w.headers) headers.push_back(json::array{json::string(k), json::string(v)});
    hooks.push_back(json::object{{"url", w.url}, {"secret", w.secret}, {"headers", headers}});
  }
  o["webhooks"] = std::move(hooks);
  json::object labels;
  for (const auto& [k, v] : d.labels) labels[k] = v;
  o["labels"] = std::move(labels);
  o["createdMillis"] = s.created_ms;
  o["startMillis"] = s.start_ms;
  o["intervals"] = s.intervals;
  o["verdict"] = VerdictName(s.verdict);
  o["complete"] = s.complete;
  o["reason"] = s.reason;
  json::array history;
  for (const IntervalRecord& r : s.history) {
    json::object h;
    h["index"] = r.index;
    h["windowStartMillis"] = r.window_start_ms;
    h["windowEndMillis"] = r.window_end_ms;
    h["judgedAtMillis"] = r.judged_at_ms;
    if (r.score) h["score"] = *r.score;
    h["classification"] = r.classification;
    h["verdict"] = VerdictName(r.verdict);
    h["reason"] = r.reason;
    history.push_back(std::move(h));
  }
  o["history"] = std::move(history);
  o["latestJudgeResult"] = s.latest_judge_result_json;
  return canaryconfig::detail::Serialize(o);
}

Verdict VerdictFromName(std::string_view name) {
  for (const Verdict v : {Verdict::kContinue, Verdict::kPass, Verdict::kFail, Verdict::kNoData,
                          Verdict::kError, Verdict::kCancelled}) {
    if (VerdictName(v) == name) return v;
  }
  throw std::runtime_error("unknown verdict \"" + std::string(name) + "\"");
}

// Throws on malformed files (start-up only).
AnalysisStatus FromJson(std::string_view text) {
  std::string syntax;
  const json::value v = canaryconfig::detail::ParseJson(text, syntax);  // exact doubles
  if (!syntax.empty()) throw std::runtime_error(syntax);
  AnalysisStatus s;
  AnalysisDefinition& d = s.definition;
  s.id = json::value_to<std::string>(v.at("id"));
  auto config = canaryconfig::ParseCanaryConfig(canaryconfig::detail::Serialize(v.at("canaryConfig")));
  if (!config) throw std::runtime_error("canaryConfig: " + config.error().ToString());
  d.config = std::move(*config);
  for (const auto& [name, pair] : v.at("scopes").as_object()) {
    d.scopes[std::string(name)] = window::ScopePair{ScopeFromJson(pair.at("controlScope")),
                                                    ScopeFromJson(pair.at("experimentScope"))};
  }
  d.step_ms = v.at("stepMillis").to_number<int64_t>();
  d.lookback.mode = json::value_to<std::string>(v.at("lookback")) == "sliding"
                        ? window::Lookback::Mode::kSliding
                        : window::Lookback::Mode::kGrowing;
  d.lookback.length_ms = v.at("lookbackMillis").to_number<int64_t>();
  d.pass = v.at("pass").to_number<double>();
  d.marginal = v.at("marginal").to_number<double>();
  d.lifetime_ms = v.at("lifetimeMillis").to_number<int64_t>();
  d.interval_ms = v.at("intervalMillis").to_number<int64_t>();
  d.begin_after_ms = v.at("beginAfterMillis").to_number<int64_t>();
  if (const auto* off = v.as_object().if_contains("baselineOffsetMillis")) d.baseline_offset_ms = off->to_number<int64_t>();
  d.min_steps = v.at("minSteps").to_number<int64_t>();
  d.seed = v.at("seed").to_number<uint64_t>();
  for (const auto& w : v.at("webhooks").as_array()) {
    Webhook hook{json::value_to<std::string>(w.at("url")), json::value_to<std::string>(w.at("secret")), {}};
    for (const auto& h : w.at("headers").as_array()) {
      hook.headers.emplace_back(json::value_to<std::string>(h.at(0)), json::value_to<std::string>(h.at(1)));
    }
    d.webhooks.push_back(std::move(hook));
  }
  if (const auto* labels = v.as_object().if_contains("labels")) {
    for (const auto& [k, l] : labels->as_object()) d.labels[std::string(k)] = json::value_to<std::string>(l);
  }
  s.created_ms = v.at("createdMillis").to_number<int64_t>();
  s.start_ms = v.at("startMillis").to_number<int64_t>();
  s.intervals = v.at("intervals").to_number<int>();
  s.verdict = VerdictFromName(json::value_to<std::string>(v.at("verdict")));
  s.complete = v.at("complete").as_bool();
  s.reason = json::value_to<std::string>(v.at("reason"));
  for (const auto& h : v.at("history").as_array()) {
    IntervalRecord r;
    r.index = h.at("index").to_number<int>();
    r.window_start_ms = h.at("windowStartMillis").to_number<int64_t>();
    r.window_end_ms = h.at("windowEndMillis").to_number<int64_t>();
    r.judged_at_ms = h.at("judgedAtMillis").to_number<int64_t>();
    if (const auto* score = h.as_object().if_contains("score")) r.score = score->to_number<double>();
    r.classification = json::value_to<std::string>(h.at("classification"));
    r.verdict = VerdictFromName(json::value_to<std::string>(h.at("verdict")));
    r.reason = json::value_to<std::string>(h.at("reason"));
    s.history.push_back(std::move(r));
  }
  s.latest_judge_result_json = json::value_to<std::string>(v.at("latestJudgeResult"));
  return s;
}

// The values of `pair` at steps in [lo, hi].
model::MetricSetPair Trim(const model::MetricSetPair& pair, int64_t lo, int64_t hi) {
  model::MetricSetPair out;
  out.name = pair.name;
  out.tags = pair.tags;
  out.step_millis = pair.step_millis;
  for (size_t k = 0; k < pair.control.size(); ++k) {
    const int64_t t = pair.start_time_millis + static_cast<int64_t>(k) * pair.step_millis;
    if (t < lo || t > hi) continue;
    if (out.control.empty()) out.start_time_millis = t;
    out.control.push_back(pair.control[k]);
    out.experiment.push_back(pair.experiment[k]);
  }
  if (out.control.empty()) out.start_time_millis = lo;
  return out;
}

int64_t Valued(const std::vector<double>& v) {
  int64_t n = 0;
  for (const double x : v) n += std::isnan(x) ? 0 : 1;
  return n;
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kContinue: return "CONTINUE";
    case Verdict::kPass: return "PASS";
    case Verdict::kFail: return "FAIL";
    case Verdict::kNoData: return "NODATA";
    case Verdict::kError: return "ERROR";
    case Verdict::kCancelled: return "CANCELLED";
  }
  return "?";
}

bool IsFinal(Verdict v) { return v != Verdict::kContinue; }

struct AnalysisManager::Entry {
  AnalysisStatus status;
  std::optional<window::AnalysisId> window_id;  // while running
};

AnalysisManager::AnalysisManager(window::WindowStore& windows, const Clock& clock,
                                 MetricsRegistry& metrics, std::filesystem::path data_dir)
    : windows_(windows),
      clock_(clock),
      data_dir_(std::move(data_dir)),
      intervals_total_(metrics.AddCounter("canaryd_analysis_intervals_total",
                                          "Analysis intervals judged (or found without data).")),
      persist_errors_(metrics.AddCounter("canaryd_analysis_persist_errors_total",
                                         "Failed writes of an analysis to the data directory.")),
      recover_errors_(metrics.AddCounter(
          "canaryd_analysis_recover_errors_total",
          "Analysis files in the data directory that could not be read at start-up.")) {
  metrics.AddCallback("canaryd_analyses_running", "Analyses not yet complete.", [this] {
    std::lock_guard lock(mu_);
    double n = 0;
    for (const auto& [id, e] : entries_) n += e->status.complete ? 0 : 1;
    return n;
  });
  if (!data_dir_.empty()) {
    std::filesystem::create_directories(data_dir_ / "analyses");
  }
}

AnalysisManager::~AnalysisManager() {
  std::lock_guard lock(mu_);
  for (auto& [id, e] : entries_) {
    if (e->window_id) windows_.RemoveAnalysis(*e->window_id);
  }
}

void AnalysisManager::SetListener(Listener* listener) {
  std::lock_guard lock(mu_);
  listener_ = listener;
}

void AnalysisManager::Persist(const Entry& e) {
  if (data_dir_.empty()) return;
  const auto path = data_dir_ / "analyses" / (e.status.id + ".json");
  if (!WriteFileAtomically(path, ToJson(e.status))) {
    persist_errors_.Inc();
    spdlog::error("cannot write {}: {}", path.string(), std::strerror(errno));
  }
}

canaryconfig::ConfigResult<window::AnalysisId> AnalysisManager::StartWindows(const AnalysisStatus& s) {
  window::WindowRequest request;
  request.scopes = s.definition.scopes;
  request.start_ms = s.start_ms;
  request.step_ms = s.definition.step_ms;
  request.lookback = s.definition.lookback;
  request.control_offset_ms = s.definition.baseline_offset_ms;
  auto spec = window::MakeWindowSpec(s.definition.config, request);
  if (!spec) {
    return spec.error();
  }
  return windows_.AddAnalysis(std::move(*spec));
}

boost::system::result<std::string, canaryconfig::ConfigErrors> AnalysisManager::Create(
    AnalysisDefinition def, const std::string& requested_id) {
  canaryconfig::ConfigErrors errors;
  auto problem = [&](std::string path, std::string message) {
    errors.problems.push_back({std::move(path), std::move(message)});
  };
  if (!requested_id.empty() &&
      (requested_id.size() > 128 ||
       !std::all_of(requested_id.begin(), requested_id.end(), [](char c) {
         return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
       }) ||
       requested_id.find("..") != std::string::npos || requested_id.front() == '.')) {
    problem("id", "must be 1-128 letters, digits, '-', '_' or '.' (not starting with '.')");
  }
  for (auto& p : canaryconfig::ValidateCanaryConfig(def.config)) {
    p.path = "canaryConfig" + (p.path.empty() ? "" : "." + p.path);
    errors.problems.push_back(std::move(p));
  }
  if (def.step_ms <= 0) problem("step", "must be positive");
  if (def.lifetime_ms <= 0) problem("lifetime", "is required and must be positive");
  if (def.interval_ms < 0) problem("interval", "must not be negative");
  if (def.begin_after_ms < 0) problem("beginAfter", "must not be negative");
  if (def.baseline_offset_ms < 0) problem("baselineOffset", "must not be negative");
  if (def.min_steps < 1) problem("minSteps", "must be at least 1");
  if (!(def.marginal >= 0 && def.pass <= 100 && def.marginal <= def.pass)) {
    problem("thresholds", "need 0 <= marginal <= pass <= 100");
  }
  if (def.step_ms > 0 && def.lifetime_ms > 0 && EffectiveInterval(def) < def.step_ms) {
    problem("interval", "must be at least one step");
  }
  for (size_t i = 0; i < def.webhooks.size(); ++i) {
    const std::string path = "webhooks[" + std::to_string(i) + "]";
    const std::string& url = def.webhooks[i].url;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      problem(path + ".url", "must start with http:// or https://");
    }
    for (const auto& [name, value] : def.webhooks[i].headers) {
      std::string lower;
      for (const char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
      const bool bad_chars = name.empty() || std::any_of(name.begin(), name.end(), [](char c) {
                               return c == '\r' || c == '\n' || c == '\0' || c == ':' || c == ' ';
                             }) || value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos;
      const bool reserved = lower.rfind("x-canaryd-", 0) == 0 || lower == "content-type" ||
                            lower == "content-length" || lower == "host" || lower == "connection" ||
                            lower == "transfer-encoding";
      if (bad_chars) {
        problem(path + ".headers." + name, "header names and values may not contain CR, LF or NUL");
      } else if (reserved) {
        problem(path + ".headers." + name, "canaryd sets this header itself");
      }
    }
  }
  AnalysisStatus s;
  s.created_ms = clock_.NowMillis();
  if (def.step_ms > 0) {
    // Steps sit on multiples of the step, like Prometheus range-query steps aligned by users.
    const int64_t begin =
        def.start_ms.value_or(s.created_ms) + std::max<int64_t>(def.begin_after_ms, 0);
    s.start_ms = (begin + def.step_ms - 1) / def.step_ms * def.step_ms;
    if (def.lifetime_ms > 0 && s.start_ms + def.lifetime_ms <= s.created_ms) {
      problem("end", "the window has already ended: canaryd judges data as it arrives and keeps no "
                     "history to look back into");
    }
  }
  if (def.lifetime_ms > 0) {
    s.intervals = static_cast<int>(std::max<int64_t>(1, def.lifetime_ms / EffectiveInterval(def)));
  }
  s.definition = std::move(def);
  std::optional<window::AnalysisId> window_id;
  if (errors.problems.empty()) {
    auto started = StartWindows(s);
    if (started) {
      window_id = *started;
    } else {
      // MakeWindowSpec's problems carry config-relative paths; the request nests the config.
      for (auto p : started.error().problems) {
        if (p.path.rfind("metrics", 0) == 0) p.path = "canaryConfig." + p.path;
        errors.problems.push_back(std::move(p));
      }
    }
  }
  if (!errors.problems.empty()) {
    return errors;
  }
  auto e = std::make_unique<Entry>();
  e->status = std::move(s);
  e->window_id = window_id;
  std::lock_guard lock(mu_);
  if (!requested_id.empty() && entries_.contains(requested_id)) {
    if (window_id) windows_.RemoveAnalysis(*window_id);
    errors.problems.push_back({"id", "analysis \"" + requested_id + "\" already exists"});
    return errors;
  }
  e->status.id = requested_id.empty() ? RandomId() : requested_id;
  const std::string id = e->status.id;
  Persist(*e);
  spdlog::info("analysis {} started: {} metrics, {} interval(s), first step {}", id,
               e->status.definition.config.metrics.size(), e->status.intervals, e->status.start_ms);
  entries_.emplace(id, std::move(e));
  return id;
}

bool AnalysisManager::Cancel(const std::string& id) {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  Entry& e = *it->second;
  if (!e.status.complete) {
    e.status.verdict = Verdict::kCancelled;
    e.status.complete = true;
    e.status.reason = "cancelled";
    if (e.window_id) windows_.RemoveAnalysis(*e.window_id);
    e.window_id.reset();
    Persist(e);
  }
  return true;
}

std::optional<AnalysisStatus> AnalysisManager::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second->status;
}

std::vector<AnalysisStatus> AnalysisManager::List() const {
  std::lock_guard lock(mu_);
  std::vector<AnalysisStatus> out;
  for (const auto& [id, e] : entries_) out.push_back(e->status);
  return out;
}

std::optional<AnalysisStatus> AnalysisManager::FindByLabels(
    const std::map<std::string, std::string>& labels) const {
  std::lock_guard lock(mu_);
  const AnalysisStatus* best = nullptr;
  for (const auto& [id, e] : entries_) {
    const auto& have = e->status.definition.labels;
    const bool all = std::all_of(labels.begin(), labels.end(), [&](const auto& kv) {
      const auto it = have.find(kv.first);
      return it != have.end() && it->second == kv.second;
    });
    if (all && (best == nullptr || e->status.created_ms > best->created_ms)) best = &e->status;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::vector<model::MetricSetPair> AnalysisManager::StepValues(const std::string& id) const {
  std::lock_guard lock(mu_);
  std::vector<model::MetricSetPair> out;
  const auto it = entries_.find(id);
  if (it != entries_.end() && it->second->window_id) {
    windows_.Snapshot(*it->second->window_id, out);
  }
  return out;
}

size_t AnalysisManager::Tick() {
  std::vector<std::pair<AnalysisStatus, IntervalRecord>> events;
  Listener* listener = nullptr;
  size_t judged = 0;
  {
    std::lock_guard lock(mu_);
    listener = listener_;
    for (auto& [id, ep] : entries_) {
      Entry& e = *ep;
      AnalysisStatus& s = e.status;
      if (s.complete || !e.window_id) continue;
      const AnalysisDefinition& d = s.definition;
      const int index = static_cast<int>(s.history.size()) + 1;
      const int64_t end = s.start_ms + static_cast<int64_t>(index) * EffectiveInterval(d);
      // The interval's last step is the last step boundary at or before its end.
      const int64_t last_step = s.start_ms + (end - s.start_ms) / d.step_ms * d.step_ms;
      const auto info = windows_.Info(*e.window_id);
      if (!info || info->next_step_ms <= last_step) continue;  // not all steps closed yet
      int64_t lo = s.start_ms;
      if (d.lookback.mode == window::Lookback::Mode::kSliding && d.lookback.length_ms > 0) {
        lo = std::max(s.start_ms, last_step - d.lookback.length_ms + d.step_ms);
      }
      std::vector<model::MetricSetPair> pairs;
      windows_.Snapshot(*e.window_id, pairs);
      int64_t best = 0;
      for (auto& p : pairs) {
        p = Trim(p, lo, last_step);
        best = std::max(best, std::min(Valued(p.control), Valued(p.experiment)));
      }
      IntervalRecord r;
      r.index = index;
      r.window_start_ms = lo;
      r.window_end_ms = last_step;
      r.judged_at_ms = clock_.NowMillis();
      const bool last = index >= s.intervals;
      if (best < d.min_steps) {
        r.verdict = last ? Verdict::kNoData : Verdict::kContinue;
        r.reason = "not enough data: no metric has " + std::to_string(d.min_steps) +
                   " steps with values on both sides (best: " + std::to_string(best) + ")";
      } else {
        judge::JudgeOptions options;
        options.pass = d.pass;
        options.marginal = d.marginal;
        options.seed = d.seed;
        auto result = judge::Judge(d.config, pairs, options);
        if (!result) {
          r.verdict = Verdict::kError;
          r.reason = "judge error: " + result.error().message;
        } else {
          const double score = result->score.score;
          r.score = score;
          r.classification = std::string(judge::ScoreClassificationName(result->score.classification));
          s.latest_judge_result_json = judge::JudgeResultToJson(*result, false);
          char buf[160];
          if (score <= d.marginal) {
            r.verdict = Verdict::kFail;
            std::snprintf(buf, sizeof buf, "interval %d score %.2f is not above the marginal threshold %.2f",
                          index, score, d.marginal);
          } else if (last) {
            r.verdict = score >= d.pass ? Verdict::kPass : Verdict::kFail;
            std::snprintf(buf, sizeof buf, "final score %.2f %s the pass threshold %.2f", score,
                          score >= d.pass ? "met or exceeded" : "is below", d.pass);
          } else {
            r.verdict = Verdict::kContinue;
            std::snprintf(buf, sizeof buf, "interval %d of %d: score %.2f", index, s.intervals, score);
          }
          r.reason = buf;
        }
      }
      s.history.push_back(r);
      s.verdict = r.verdict;
      s.reason = r.reason;
      if (IsFinal(r.verdict)) {
        s.complete = true;
        windows_.RemoveAnalysis(*e.window_id);
        e.window_id.reset();
      }
      Persist(e);
      intervals_total_.Inc();
      ++judged;
      spdlog::info("analysis {} interval {}/{}: {} ({})", s.id, index, s.intervals,
                   VerdictName(r.verdict), r.reason);
      if (listener != nullptr) events.emplace_back(s, r);
    }
  }
  for (const auto& [status, record] : events) listener->OnInterval(status, record);
  return judged;
}

size_t AnalysisManager::Recover() {
  if (data_dir_.empty()) return 0;
  size_t loaded = 0;
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(data_dir_ / "analyses", ec)) {
    if (file.path().extension() != ".json") continue;
    try {
      std::ifstream in(file.path());
      std::stringstream text;
      text << in.rdbuf();
      auto e = std::make_unique<Entry>();
      e->status = FromJson(text.str());
      if (!e->status.complete) {
        auto started = StartWindows(e->status);
        if (!started) throw std::runtime_error(started.error().ToString());
        e->window_id = *started;
      }
      std::lock_guard lock(mu_);
      entries_[e->status.id] = std::move(e);
      ++loaded;
    } catch (const std::exception& ex) {
      recover_errors_.Inc();
      spdlog::error("{}: cannot load analysis: {}", file.path().string(), ex.what());
    }
  }
  return loaded;
}

}  // namespace canaryd::analysis
