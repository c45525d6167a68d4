#include "canaryd/api/analyses_api.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "api/json_response.h"
#include "canaryconfig/json_walk.h"
#include "canaryd/common/iso_time.h"
#include "canaryd/common/duration.h"

namespace canaryd::api {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;
using canaryconfig::ConfigErrors;
using canaryconfig::detail::Index;
using canaryconfig::detail::KindName;
using canaryconfig::detail::Member;

constexpr std::string_view kPrefix = "/api/v1/analyses";

class Problems {
 public:
  void Add(std::string path, std::string message) {
    errors_.problems.push_back({std::move(path), std::move(message)});
  }
  bool empty() const { return errors_.problems.empty(); }
  ConfigErrors Take() { return std::move(errors_); }

 private:
  ConfigErrors errors_;
};

// "30m", "1h30m" (Prometheus) or "PT30M", "PT1H30M" (ISO-8601, as Spinnaker writes lifetimes).
bool ParseAnyDuration(std::string_view text, int64_t& ms) {
  std::chrono::milliseconds d{};
  if (ParseDuration(text, d)) {
    ms = d.count();
    return true;
  }
  if (text.size() > 2 && (text.substr(0, 2) == "PT" || text.substr(0, 2) == "pt")) {
    std::string lower;
    for (const char c : text.substr(2)) lower.push_back(static_cast<char>(std::tolower(c)));
    if (ParseDuration(lower, d)) {
      ms = d.count();
      return true;
    }
  }
  return false;
}

void Duration(const json::object& o, std::string_view key, const std::string& path, int64_t& out,
              Problems& p) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return;
  const std::string where = Member(path, key);
  if (!v->is_string() || !ParseAnyDuration(v->as_string(), out)) {
    p.Add(where, "expected a duration such as \"30m\", \"1h30m\" or \"PT30M\", got " +
                     (v->is_string() ? "\"" + std::string(v->as_string()) + "\"" : std::string(KindName(*v))));
  }
}

std::string String(const json::object& o, std::string_view key, const std::string& path, Problems& p) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) {
    p.Add(Member(path, key), "expected a string, got " + std::string(KindName(*v)));
    return {};
  }
  return std::string(v->as_string());
}

std::optional<double> Number(const json::object& o, std::string_view key, const std::string& path,
                             Problems& p) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_number()) {
    p.Add(Member(path, key), "expected a number, got " + std::string(KindName(*v)));
    return std::nullopt;
  }
  return v->to_number<double>();
}

const json::object* Object(const json::object& o, std::string_view key, const std::string& path,
                           Problems& p, bool required) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) p.Add(Member(path, key), "is required");
    return nullptr;
  }
  if (!v->is_object()) {
    p.Add(Member(path, key), "expected an object, got " + std::string(KindName(*v)));
    return nullptr;
  }
  return &v->as_object();
}


select::Scope ParseScope(const json::object& o, const std::string& path, Problems& p,
                         std::optional<double>& step_s) {
  select::Scope s;
  s.scope = String(o, "scope", path, p);
  s.location = String(o, "location", path, p);
  step_s = Number(o, "step", path, p);
  if (const json::object* params = Object(o, "extendedScopeParams", path, p, false)) {
    for (const auto& [k, v] : *params) {
      if (!v.is_string()) {
        p.Add(Member(Member(path, "extendedScopeParams"), k),
              "expected a string, got " + std::string(KindName(v)));
        continue;
      }
      s.extended_params[std::string(k)] = std::string(v.as_string());
    }
  }
  return s;
}

json::value Nullable(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value NumberOrNull(double v) { return std::isfinite(v) ? json::value(v) : json::value(nullptr); }


http::response<http::string_body> ErrorResponse(const server::Request& req, http::status status,
                                                std::string message) {
  return JsonResponse(req, status, canaryconfig::detail::Serialize(json::object{{"error", message}}));
}

// The {id} segment of /api/v1/analyses/{id}[/verdict].
std::string IdOf(const server::Request& req) {
  std::string_view t = req.target();
  t = t.substr(0, t.find('?'));
  t.remove_prefix(std::min(t.size(), kPrefix.size() + 1));
  return std::string(t.substr(0, t.find('/')));
}

server::Response Invalid(const server::Request& req, const ConfigErrors& errors) {
  json::array problems;
  for (const auto& p : errors.problems) {
    problems.push_back(json::object{{"path", p.path}, {"message", p.message}});
  }
  return JsonResponse(req, http::status::bad_request,
                      canaryconfig::detail::Serialize(
                          json::object{{"error", "invalid analysis request"}, {"problems", std::move(problems)}}));
}

// A request naming a stored config (canaryConfigId) gets that config; false (and a 400) if none.
bool ResolveConfig(AnalysisRequest& r, const analysis::ConfigStore& configs, ConfigErrors& errors) {
  if (r.canary_config_id.empty()) return true;
  const auto stored = configs.Find(r.canary_config_id);
  if (!stored) {
    errors.problems.push_back(
        {"canaryConfigId", "no stored canary config with id or name \"" + r.canary_config_id + "\""});
    return false;
  }
  r.definition.config = stored->config;
  return true;
}

class CreateHandler final : public server::Handler {
 public:
  CreateHandler(analysis::AnalysisManager& m, const analysis::ConfigStore& c) : manager_(m), configs_(c) {}
  size_t BodyLimit() const override { return 4 << 20; }
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    auto def = ParseAnalysisRequest(req.body());
    if (!def) return Invalid(req, def.error());
    ConfigErrors unresolved;
    if (!ResolveConfig(*def, configs_, unresolved)) return Invalid(req, unresolved);
    auto id = manager_.Create(std::move(def->definition));
    if (!id) return Invalid(req, id.error());
    const std::string location = std::string(kPrefix) + "/" + *id;  // NOLINT
    auto res = JsonResponse(req, http::status::created,
                            canaryconfig::detail::Serialize(json::object{{"id", *id},
                                                         {"status", location},
                                                         {"verdict", location + "/verdict"}}));
    res.set(http::field::location, location);
    return res;
  }

 private:
  analysis::AnalysisManager& manager_;
  const analysis::ConfigStore& configs_;
};

// PUT /api/v1/analyses/{id}: idempotent creation with a client-chosen id. The answer is always the
// verdict document, so Argo Rollouts' web provider can use one PUT metric both to start the
// analysis (first call) and to poll it (later calls; the body is then ignored).
class PutHandler final : public server::Handler {
 public:
  PutHandler(analysis::AnalysisManager& m, const analysis::ConfigStore& c) : manager_(m), configs_(c) {}
  size_t BodyLimit() const override { return 4 << 20; }
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    const std::string id = IdOf(req);
    if (const auto existing = manager_.Get(id)) {
      return JsonResponse(req, http::status::ok, VerdictToJson(*existing));
    }
    auto def = ParseAnalysisRequest(req.body());
    if (!def) return Invalid(req, def.error());
    ConfigErrors unresolved;
    if (!ResolveConfig(*def, configs_, unresolved)) return Invalid(req, unresolved);
    auto created = manager_.Create(std::move(def->definition), id);
    if (!created) {
      if (const auto raced = manager_.Get(id)) {  // another PUT created it meanwhile
        return JsonResponse(req, http::status::ok, VerdictToJson(*raced));
      }
      return Invalid(req, created.error());
    }
    auto res = JsonResponse(req, http::status::created, VerdictToJson(*manager_.Get(id)));
    res.set(http::field::location, std::string(kPrefix) + "/" + id);
    return res;
  }

 private:
  analysis::AnalysisManager& manager_;
  const analysis::ConfigStore& configs_;
};

class ListHandler final : public server::Handler {
 public:
  explicit ListHandler(analysis::AnalysisManager& m) : manager_(m) {}
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    std::string body = "{\"analyses\":[";
    bool first = true;
    for (const auto& s : manager_.List()) {
      if (!first) body += ",";
      first = false;
      body += AnalysisToJson(s, nullptr, false);
    }
    body += "]}";
    return JsonResponse(req, http::status::ok, std::move(body));
  }

 private:
  analysis::AnalysisManager& manager_;
};

class ItemHandler final : public server::Handler {
 public:
  ItemHandler(analysis::AnalysisManager& m, bool verdict_only) : manager_(m), verdict_only_(verdict_only) {}
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    const std::string id = IdOf(req);
    if (req.method() == http::verb::delete_) {
      if (!manager_.Cancel(id)) return ErrorResponse(req, http::status::not_found, "no analysis \"" + id + "\"");
      return JsonResponse(req, http::status::ok, AnalysisToJson(*manager_.Get(id), nullptr, false));
    }
    const auto status = manager_.Get(id);
    if (!status) return ErrorResponse(req, http::status::not_found, "no analysis \"" + id + "\"");
    if (verdict_only_) return JsonResponse(req, http::status::ok, VerdictToJson(*status));
    const auto steps = manager_.StepValues(id);
    return JsonResponse(req, http::status::ok, AnalysisToJson(*status, &steps, true));
  }

 private:
  analysis::AnalysisManager& manager_;
  bool verdict_only_;
};

}  // namespace

boost::system::result<AnalysisRequest, ConfigErrors> ParseAnalysisRequest(std::string_view body) {
  Problems p;
  std::string syntax;
  const json::value doc = canaryconfig::detail::ParseJson(body, syntax);
  if (!syntax.empty()) {
    p.Add("", syntax);
    return p.Take();
  }
  if (!doc.is_object()) {
    p.Add("", "expected a JSON object, got " + std::string(KindName(doc)));
    return p.Take();
  }
  const json::object& o = doc.as_object();
  AnalysisRequest request;
  analysis::AnalysisDefinition& d = request.definition;
  const json::value* config_id = o.if_contains("canaryConfigId");
  if (config_id != nullptr && !config_id->is_null()) {
    if (!config_id->is_string() || config_id->as_string().empty()) {
      p.Add("canaryConfigId", "expected the id or name of a stored canary config");
    } else if (o.contains("canaryConfig")) {
      p.Add("canaryConfigId", "give either canaryConfig (inline) or canaryConfigId, not both");
    } else {
      request.canary_config_id = std::string(config_id->as_string());  // resolved by the handler
    }
  }
  if (const json::object* config = !request.canary_config_id.empty()
                                       ? nullptr
                                       : Object(o, "canaryConfig", "", p, true)) {
    auto parsed = canaryconfig::ParseCanaryConfig(canaryconfig::detail::Serialize(*config));
    if (parsed) {
      d.config = std::move(*parsed);
    } else {
      for (auto problem : parsed.error().problems) {
        problem.path = problem.path.empty() ? "canaryConfig" : "canaryConfig." + problem.path;
        p.Add(std::move(problem.path), std::move(problem.message));
      }
    }
  }
  std::optional<double> step_s;
  std::optional<int64_t> window_start, window_end;
  if (const json::object* scopes = Object(o, "scopes", "", p, true)) {
    if (scopes->empty()) p.Add("scopes", "needs at least one scope (usually \"default\")");
    for (const auto& [name, v] : *scopes) {
      const std::string path = Member("scopes", name);
      if (!v.is_object()) {
        p.Add(path, "expected an object with controlScope and experimentScope");
        continue;
      }
      window::ScopePair pair;
      std::optional<double> control_step, experiment_step;
      if (const json::object* c = Object(v.as_object(), "controlScope", path, p, true)) {
        pair.control = ParseScope(*c, Member(path, "controlScope"), p, control_step);
      }
      if (const json::object* e = Object(v.as_object(), "experimentScope", path, p, true)) {
        pair.experiment = ParseScope(*e, Member(path, "experimentScope"), p, experiment_step);
      }
      for (const char* side : {"controlScope", "experimentScope"}) {
        const json::value* sv = v.as_object().if_contains(side);
        if (sv == nullptr || !sv->is_object()) continue;
        for (const char* field : {"start", "end"}) {
          const json::value* t = sv->as_object().if_contains(field);
          if (t == nullptr || t->is_null()) continue;
          int64_t ms = 0;
          const std::string where = Member(Member(path, side), field);
          if (!t->is_string() || !ParseIsoInstant(t->as_string(), ms)) {
            p.Add(where, "expected an ISO-8601 instant such as 2026-11-29T12:00:00Z");
          } else if (field[0] == 's') {
            if (window_start && *window_start != ms) p.Add(where, "all scopes must share one start");
            window_start = ms;
          } else {
            if (window_end && *window_end != ms) p.Add(where, "all scopes must share one end");
            window_end = ms;
          }
        }
      }
      for (const auto& s : {control_step, experiment_step}) {
        if (!s) continue;
        if (!(*s > 0) || *s != std::floor(*s)) {
          p.Add(path, "step must be a positive whole number of seconds");
        } else if (step_s && *step_s != *s) {
          p.Add(path, "all scopes must use the same step");
        } else {
          step_s = s;
        }
      }
      d.scopes[std::string(name)] = std::move(pair);
    }
  }
  if (step_s) d.step_ms = static_cast<int64_t>(*step_s * 1000);
  // Kayenta's scope start/end: the window, in place of creation time and lifetime.
  if (window_start) d.start_ms = window_start;
  if (window_end) {
    if (!window_start) {
      p.Add("scopes", "an end needs a start");
    } else if (*window_end <= *window_start) {
      p.Add("scopes", "end must be after start");
    } else if (!o.contains("lifetime")) {
      d.lifetime_ms = *window_end - *window_start;
    }
  }
  if (const json::object* t = Object(o, "thresholds", "", p, false)) {
    if (auto pass = Number(*t, "pass", "thresholds", p)) d.pass = *pass;
    if (auto marginal = Number(*t, "marginal", "thresholds", p)) d.marginal = *marginal;
  }
  Duration(o, "lifetime", "", d.lifetime_ms, p);
  Duration(o, "interval", "", d.interval_ms, p);
  Duration(o, "beginAfter", "", d.begin_after_ms, p);
  Duration(o, "baselineOffset", "", d.baseline_offset_ms, p);
  if (const json::value* lb = o.if_contains("lookback"); lb != nullptr && !lb->is_null()) {
    if (lb->is_string() && lb->as_string() == "growing") {
      d.lookback.mode = window::Lookback::Mode::kGrowing;
    } else if (lb->is_object() && lb->as_object().contains("sliding")) {
      d.lookback.mode = window::Lookback::Mode::kSliding;
      Duration(lb->as_object(), "sliding", "lookback", d.lookback.length_ms, p);
    } else {
      p.Add("lookback", "expected \"growing\" or {\"sliding\": \"<duration>\"}");
    }
  }
  if (auto min_steps = Number(o, "minSteps", "", p)) d.min_steps = static_cast<int64_t>(*min_steps);
  if (auto seed = Number(o, "seed", "", p)) d.seed = static_cast<uint64_t>(*seed);
  if (const json::value* hooks = o.if_contains("webhooks"); hooks != nullptr && !hooks->is_null()) {
    if (!hooks->is_array()) {
      p.Add("webhooks", "expected an array, got " + std::string(KindName(*hooks)));
    } else {
      for (size_t i = 0; i < hooks->as_array().size(); ++i) {
        const json::value& h = hooks->as_array()[i];
        const std::string path = Index("webhooks", i);
        if (!h.is_object()) {
          p.Add(path, "expected an object with url and secret");
          continue;
        }
        analysis::Webhook w;
        w.url = String(h.as_object(), "url", path, p);
        w.secret = String(h.as_object(), "secret", path, p);
        if (w.url.empty()) p.Add(Member(path, "url"), "is required");
        if (const json::object* headers = Object(h.as_object(), "headers", path, p, false)) {
          for (const auto& [k, v] : *headers) {
            if (v.is_string()) {
              w.headers.emplace_back(std::string(k), std::string(v.as_string()));
            } else {
              p.Add(Member(Member(path, "headers"), k), "expected a string");
            }
          }
        }
        d.webhooks.push_back(std::move(w));
      }
    }
  }
  static const char* kKnown[] = {"canaryConfig", "canaryConfigId", "scopes", "thresholds", "lifetime", "interval",
                                 "beginAfter", "baselineOffset", "lookback", "minSteps", "seed",
                                 "webhooks"};
  for (const auto& [k, v] : o) {
    if (std::find(std::begin(kKnown), std::end(kKnown), std::string_view(k)) == std::end(kKnown)) {
      p.Add(Member("", k), "unknown field");
    }
  }
  if (!p.empty()) return p.Take();
  return request;
}

std::string AnalysisToJson(const analysis::AnalysisStatus& s,
                           const std::vector<model::MetricSetPair>* step_values, bool full) {
  json::object o;
  o["id"] = s.id;
  o["name"] = s.definition.config.name;
  o["verdict"] = analysis::VerdictName(s.verdict);
  o["complete"] = s.complete;
  o["reason"] = s.reason;
  o["createdMillis"] = s.created_ms;
  o["windowStartMillis"] = s.start_ms;
  o["stepMillis"] = s.definition.step_ms;
  o["intervals"] = s.intervals;
  o["intervalsJudged"] = s.history.size();
  o["score"] = s.history.empty() ? json::value(nullptr) : Nullable(s.history.back().score);
  if (!full) return canaryconfig::detail::Serialize(o);
  const auto& d = s.definition;
  o["thresholds"] = json::object{{"pass", d.pass}, {"marginal", d.marginal}};
  o["lifetimeMillis"] = d.lifetime_ms;
  o["intervalMillis"] = d.interval_ms;
  o["beginAfterMillis"] = d.begin_after_ms;
  o["baselineOffsetMillis"] = d.baseline_offset_ms;
  o["lookback"] = d.lookback.mode == window::Lookback::Mode::kSliding
                      ? json::value(json::object{{"slidingMillis", d.lookback.length_ms}})
                      : json::value("growing");
  json::object scopes;
  for (const auto& [name, pair] : d.scopes) {
    auto scope = [](const select::Scope& sc) {
      json::object params;
      for (const auto& [k, v] : sc.extended_params) params[k] = v;
      return json::object{{"scope", sc.scope}, {"location", sc.location}, {"extendedScopeParams", params}};
    };
    scopes[name] = json::object{{"controlScope", scope(pair.control)}, {"experimentScope", scope(pair.experiment)}};
  }
  o["scopes"] = std::move(scopes);
  std::string ignored;
  o["canaryConfig"] = canaryconfig::detail::ParseJson(canaryconfig::SerializeCanaryConfig(d.config), ignored);
  json::array hooks;
  for (const auto& w : d.webhooks) hooks.push_back(json::object{{"url", w.url}});  // secrets stay in
  o["webhooks"] = std::move(hooks);
  json::array history;
  for (const auto& r : s.history) {
    history.push_back(json::object{{"interval", r.index},
                                   {"windowStartMillis", r.window_start_ms},
                                   {"windowEndMillis", r.window_end_ms},
                                   {"judgedAtMillis", r.judged_at_ms},
                                   {"score", Nullable(r.score)},
                                   {"classification", r.classification},
                                   {"verdict", analysis::VerdictName(r.verdict)},
                                   {"reason", r.reason}});
  }
  o["history"] = std::move(history);
  o["judgeResult"] = s.latest_judge_result_json.empty()
                         ? json::value(nullptr)
                         : canaryconfig::detail::ParseJson(s.latest_judge_result_json, ignored);
  json::array steps;
  if (step_values != nullptr) {
    for (const auto& pair : *step_values) {
      json::object tags;
      for (const auto& [k, v] : pair.tags) tags[k] = v;
      json::array control, experiment;
      for (const double v : pair.control) control.push_back(NumberOrNull(v));
      for (const double v : pair.experiment) experiment.push_back(NumberOrNull(v));
      steps.push_back(json::object{{"name", pair.name},
                                   {"tags", std::move(tags)},
                                   {"startTimeMillis", pair.start_time_millis},
                                   {"stepMillis", pair.step_millis},
                                   {"values", json::object{{"control", std::move(control)},
                                                           {"experiment", std::move(experiment)}}}});
    }
  }
  o["stepValues"] = std::move(steps);
  return canaryconfig::detail::Serialize(o);
}

std::string VerdictToJson(const analysis::AnalysisStatus& s) {
  json::object o;
  o["id"] = s.id;
  o["verdict"] = analysis::VerdictName(s.verdict);
  o["score"] = s.history.empty() ? json::value(nullptr) : Nullable(s.history.back().score);
  o["reason"] = s.reason.empty() ? std::string("waiting for the first interval") : s.reason;
  o["interval"] = s.history.size();
  o["intervals"] = s.intervals;
  o["complete"] = s.complete;
  return canaryconfig::detail::Serialize(o);
}

void AddAnalysesRoutes(server::Router& router, analysis::AnalysisManager& manager,
                       const analysis::ConfigStore& configs) {
  const std::string base(kPrefix);
  router.Add(http::verb::post, base, std::make_shared<CreateHandler>(manager, configs));
  router.Add(http::verb::get, base, std::make_shared<ListHandler>(manager));
  auto item = std::make_shared<ItemHandler>(manager, false);
  router.Add(http::verb::get, base + "/{id}", item);
  router.Add(http::verb::delete_, base + "/{id}", item);
  router.Add(http::verb::put, base + "/{id}", std::make_shared<PutHandler>(manager, configs));
  router.Add(http::verb::get, base + "/{id}/verdict", std::make_shared<ItemHandler>(manager, true));
}

}  // namespace canaryd::api
