#include "canaryd/api/kayenta_api.h"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "api/json_response.h"
#include "canaryconfig/json_walk.h"
#include "canaryd/common/iso_time.h"

namespace canaryd::api {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;
using canaryconfig::detail::Serialize;


http::response<http::string_body> Error(const server::Request& req, http::status status,
                                        const std::string& message) {
  return JsonResponse(req, status, Serialize(json::object{{"error", http::obsolete_reason(status)}, {"message", message}}));
}

http::response<http::string_body> Problems(const server::Request& req,
                                           const canaryconfig::ConfigErrors& errors) {
  json::array problems;
  for (const auto& p : errors.problems) problems.push_back(json::object{{"path", p.path}, {"message", p.message}});
  return JsonResponse(req, http::status::bad_request,
              Serialize(json::object{{"error", "Bad Request"},
                                     {"message", errors.ToString()},
                                     {"problems", std::move(problems)}}));
}

std::string_view PathOf(const server::Request& req) {
  std::string_view t = req.target();
  return t.substr(0, t.find('?'));
}

// The segment after `prefix/`.
std::string Tail(const server::Request& req, std::string_view prefix) {
  std::string_view p = PathOf(req);
  p.remove_prefix(std::min(p.size(), prefix.size() + 1));
  return std::string(p.substr(0, p.find('/')));
}

// The value of query parameter `name` (not percent-decoded: application names are plain).
std::string Query(const server::Request& req, std::string_view name) {
  std::string_view t = req.target();
  const size_t q = t.find('?');
  if (q == std::string_view::npos) return {};
  t.remove_prefix(q + 1);
  while (!t.empty()) {
    const std::string_view part = t.substr(0, t.find('&'));
    if (part.substr(0, name.size()) == name && part.size() > name.size() && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    if (part.size() == t.size()) break;
    t.remove_prefix(part.size() + 1);
  }
  return {};
}



class ConfigListHandler final : public server::Handler {
 public:
  ConfigListHandler(analysis::ConfigStore& c) : configs_(c) {}
  size_t BodyLimit() const override { return 4 << 20; }
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    if (req.method() == http::verb::post) {
      auto parsed = canaryconfig::ParseCanaryConfig(req.body());
      if (!parsed) return Problems(req, parsed.error());
      const std::string id = configs_.Create(std::move(*parsed));
      return JsonResponse(req, http::status::ok, Serialize(json::object{{"canaryConfigId", id}}));
    }
    json::array out;
    for (const auto& c : configs_.List(Query(req, "application"))) {
      json::array apps;
      for (const auto& a : c.config.applications) apps.push_back(json::string(a));
      out.push_back(json::object{{"id", c.config.id},
                                 {"name", c.config.name},
                                 {"updatedTimestamp", c.updated_ms},
                                 {"updatedTimestampIso", FormatIsoInstant(c.updated_ms)},
                                 {"applications", std::move(apps)}});
    }
    return JsonResponse(req, http::status::ok, Serialize(out));
  }

 private:
  analysis::ConfigStore& configs_;
};

class ConfigItemHandler final : public server::Handler {
 public:
  ConfigItemHandler(analysis::ConfigStore& c) : configs_(c) {}
  size_t BodyLimit() const override { return 4 << 20; }
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    const std::string id = Tail(req, PathOf(req).rfind("/api/v1/canary-configs", 0) == 0
                                          ? std::string_view("/api/v1/canary-configs")
                                          : std::string_view("/canaryConfig"));
    if (req.method() == http::verb::put) {
      auto parsed = canaryconfig::ParseCanaryConfig(req.body());
      if (!parsed) return Problems(req, parsed.error());
      if (!configs_.Update(id, std::move(*parsed))) return NotFound(req, id);
      return JsonResponse(req, http::status::ok, Serialize(json::object{{"canaryConfigId", id}}));
    }
    if (req.method() == http::verb::delete_) {
      if (!configs_.Delete(id)) return NotFound(req, id);
      return JsonResponse(req, http::status::ok, "");
    }
    const auto c = configs_.Get(id);
    if (!c) return NotFound(req, id);
    return JsonResponse(req, http::status::ok, canaryconfig::SerializeCanaryConfig(c->config));
  }

 private:
  static server::Response NotFound(const server::Request& req, const std::string& id) {
    return Error(req, http::status::not_found, "Canary config '" + id + "' not found");
  }
  analysis::ConfigStore& configs_;
};

class CanaryStartHandler final : public server::Handler {
 public:
  CanaryStartHandler(analysis::ConfigStore& c, analysis::AnalysisManager& a) : configs_(c), analyses_(a) {}
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    const std::string config_id = Tail(req, "/canary");
    const auto stored = configs_.Get(config_id);
    if (!stored) return Error(req, http::status::not_found, "Canary config '" + config_id + "' not found");
    canaryconfig::ConfigErrors errors;
    auto problem = [&](std::string path, std::string message) {
      errors.problems.push_back({std::move(path), std::move(message)});
    };
    std::string syntax;
    const json::value doc = canaryconfig::detail::ParseJson(req.body(), syntax);
    if (!syntax.empty() || !doc.is_object()) {
      problem("", syntax.empty() ? "expected a CanaryExecutionRequest object" : syntax);
      return Problems(req, errors);
    }
    analysis::AnalysisDefinition d;
    d.config = stored->config;
    int64_t start = -1, end = -1;
    double step = 60;
    const json::object& o = doc.as_object();
    const json::value* scopes = o.if_contains("scopes");
    if (scopes == nullptr || !scopes->is_object() || scopes->as_object().empty()) {
      problem("scopes", "is required: {\"default\": {\"controlScope\": ..., \"experimentScope\": ...}}");
    } else {
      for (const auto& [name, pair] : scopes->as_object()) {
        window::ScopePair sp;
        for (const char* side : {"controlScope", "experimentScope"}) {
          const std::string path = "scopes." + std::string(name) + "." + side;
          const json::value* s = pair.is_object() ? pair.as_object().if_contains(side) : nullptr;
          if (s == nullptr || !s->is_object()) {
            problem(path, "is required");
            continue;
          }
          select::Scope scope;
          const json::object& so = s->as_object();
          if (const auto* v = so.if_contains("scope"); v && v->is_string()) scope.scope = std::string(v->as_string());
          if (const auto* v = so.if_contains("location"); v && v->is_string()) scope.location = std::string(v->as_string());
          if (const auto* v = so.if_contains("step"); v && v->is_number()) step = v->to_number<double>();
          if (const auto* v = so.if_contains("extendedScopeParams"); v && v->is_object()) {
            for (const auto& [k, pv] : v->as_object()) {
              if (pv.is_string()) scope.extended_params[std::string(k)] = std::string(pv.as_string());
            }
          }
          for (const char* field : {"start", "end"}) {
            const auto* v = so.if_contains(field);
            if (v == nullptr || v->is_null()) continue;
            int64_t ms = 0;
            if (!v->is_string() || !ParseIsoInstant(v->as_string(), ms)) {
              problem(path + "." + field, "expected an ISO-8601 instant such as 2019-03-29T01:08:34Z");
            } else if (field[0] == 's') {
              start = ms;
            } else {
              end = ms;
            }
          }
          (side[0] == 'c' ? sp.control : sp.experiment) = std::move(scope);
        }
        d.scopes[std::string(name)] = std::move(sp);
      }
    }
    if (const auto* t = o.if_contains("thresholds"); t && t->is_object()) {
      if (const auto* v = t->as_object().if_contains("pass"); v && v->is_number()) d.pass = v->to_number<double>();
      if (const auto* v = t->as_object().if_contains("marginal"); v && v->is_number()) d.marginal = v->to_number<double>();
    } else {
      problem("thresholds", "is required: {\"pass\": ..., \"marginal\": ...}");
    }
    d.step_ms = static_cast<int64_t>(step * 1000);
    // One judgment over a window as long as the one asked for, of data arriving from now on.
    d.lifetime_ms = start >= 0 && end > start ? end - start : 60 * 60'000;
    d.interval_ms = 0;
    if (!errors.problems.empty()) return Problems(req, errors);
    auto id = analyses_.Create(std::move(d));
    if (!id) return Problems(req, id.error());
    return JsonResponse(req, http::status::ok, Serialize(json::object{{"canaryExecutionId", *id}}));
  }

 private:
  analysis::ConfigStore& configs_;
  analysis::AnalysisManager& analyses_;
};

class CanaryStatusHandler final : public server::Handler {
 public:
  CanaryStatusHandler(analysis::AnalysisManager& a) : analyses_(a) {}
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    const std::string id = Tail(req, "/canary");
    const auto s = analyses_.Get(id);
    if (!s) return Error(req, http::status::not_found, "Canary execution '" + id + "' not found");
    json::object o;
    const bool judged = !s->latest_judge_result_json.empty();
    std::string status = "running";
    if (s->complete) {
      status = s->verdict == analysis::Verdict::kCancelled ? "canceled" : judged ? "succeeded" : "terminal";
    }
    o["application"] = s->definition.config.applications.empty() ? "" : s->definition.config.applications.front();
    o["canaryConfigId"] = s->definition.config.id;
    o["complete"] = s->complete;
    o["status"] = status;
    const std::string stage = s->complete ? status : "running";
    o["stageStatus"] = json::object{{"setupContext", "succeeded"}, {"judge", stage}};
    o["exception"] = status == "terminal" ? json::value(json::object{{"message", s->reason}}) : json::value(nullptr);
    if (s->complete && judged) {
      std::string ignored;
      json::object result;
      result["judgeResult"] = canaryconfig::detail::ParseJson(s->latest_judge_result_json, ignored);
      result["canaryDuration"] = "PT" + std::to_string(s->definition.lifetime_ms / 1000) + "S";
      o["result"] = std::move(result);
    }
    std::string ignored;
    o["config"] = canaryconfig::detail::ParseJson(canaryconfig::SerializeCanaryConfig(s->definition.config), ignored);
    o["startTimeMillis"] = s->start_ms;
    o["startTimeIso"] = FormatIsoInstant(s->start_ms);
    if (!s->history.empty()) {
      o["endTimeMillis"] = s->history.back().judged_at_ms;
      o["endTimeIso"] = FormatIsoInstant(s->history.back().judged_at_ms);
    }
    o["canaryd"] = json::object{{"verdict", analysis::VerdictName(s->verdict)}, {"reason", s->reason},
                                {"analysis", "/api/v1/analyses/" + s->id}};
    return JsonResponse(req, http::status::ok, Serialize(o));
  }

 private:
  analysis::AnalysisManager& analyses_;
};

}  // namespace

void AddKayentaRoutes(server::Router& router, analysis::ConfigStore& configs,
                      analysis::AnalysisManager& analyses) {
  auto list = std::make_shared<ConfigListHandler>(configs);
  router.Add(http::verb::get, "/canaryConfig", list);
  router.Add(http::verb::post, "/canaryConfig", list);
  auto item = std::make_shared<ConfigItemHandler>(configs);
  router.Add(http::verb::get, "/canaryConfig/{id}", item);
  router.Add(http::verb::put, "/canaryConfig/{id}", item);
  router.Add(http::verb::delete_, "/canaryConfig/{id}", item);
  // The same store under canaryd's own API prefix.
  router.Add(http::verb::get, "/api/v1/canary-configs", list);
  router.Add(http::verb::post, "/api/v1/canary-configs", list);
  router.Add(http::verb::get, "/api/v1/canary-configs/{id}", item);
  router.Add(http::verb::put, "/api/v1/canary-configs/{id}", item);
  router.Add(http::verb::delete_, "/api/v1/canary-configs/{id}", item);
  router.Add(http::verb::post, "/canary/{configId}", std::make_shared<CanaryStartHandler>(configs, analyses));
  router.Add(http::verb::get, "/canary/{id}", std::make_shared<CanaryStatusHandler>(analyses));
}

}  // namespace canaryd::api
