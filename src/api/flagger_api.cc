#include "canaryd/api/flagger_api.h"

#include <boost/json.hpp>
#include <chrono>

#include "api/json_response.h"
#include "canaryconfig/json_walk.h"
#include "canaryd/common/duration.h"

namespace canaryd::api {
namespace {

namespace json = boost::json;
namespace http = boost::beast::http;
using canaryconfig::detail::Serialize;

server::Response Json(const server::Request& req, http::status status, const json::object& body) {
  return JsonResponse(req, status, Serialize(body));
}

// Flagger's CanaryWebhookPayload.
struct Payload {
  std::string name, ns, checksum, phase;
  std::map<std::string, std::string> metadata;
};

bool ParsePayload(std::string_view body, Payload& out, std::string& error) {
  const json::value doc = canaryconfig::detail::ParseJson(body, error);
  if (!error.empty()) return false;
  if (!doc.is_object()) {
    error = "expected Flagger's webhook payload (a JSON object)";
    return false;
  }
  const json::object& o = doc.as_object();
  auto str = [&](const char* key) -> std::string {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  out.name = str("name");
  out.ns = str("namespace");
  out.checksum = str("checksum");
  out.phase = str("phase");
  if (const json::value* m = o.if_contains("metadata"); m != nullptr && m->is_object()) {
    for (const auto& [k, v] : m->as_object()) {
      if (v.is_string()) out.metadata[std::string(k)] = std::string(v.as_string());
    }
  }
  if (out.name.empty() || out.ns.empty()) {
    error = "the payload needs \"name\" and \"namespace\" (Flagger sends them)";
    return false;
  }
  return true;
}

std::map<std::string, std::string> Key(const Payload& p) {
  return {{"flagger.name", p.name}, {"flagger.namespace", p.ns}, {"flagger.checksum", p.checksum}};
}

std::string Describe(const analysis::AnalysisStatus& s) {
  std::string text = "canaryd analysis " + s.id + ": " + std::string(analysis::VerdictName(s.verdict));
  if (!s.reason.empty()) text += " (" + s.reason + ")";
  return text;
}

json::object Summary(const analysis::AnalysisStatus& s) {
  const bool scored = !s.history.empty() && s.history.back().score.has_value();
  return json::object{{"analysisId", s.id},
                      {"verdict", analysis::VerdictName(s.verdict)},
                      {"score", scored ? json::value(*s.history.back().score) : json::value(nullptr)},
                      {"reason", s.reason},
                      {"interval", s.history.size()},
                      {"intervals", s.intervals},
                      {"complete", s.complete},
                      {"message", Describe(s)}};
}

class PreRolloutHandler final : public server::Handler {
 public:
  PreRolloutHandler(analysis::ConfigStore& c, analysis::AnalysisManager& a) : configs_(c), analyses_(a) {}
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    Payload p;
    std::string error;
    if (!ParsePayload(req.body(), p, error)) {
      return Json(req, http::status::bad_request, {{"error", error}});
    }
    if (const auto existing = analyses_.FindByLabels(Key(p))) {
      return Json(req, http::status::ok, Summary(*existing));  // Flagger retries hooks
    }
    const auto config_ref = p.metadata.find("canaryConfig");
    if (config_ref == p.metadata.end()) {
      return Json(req, http::status::bad_request,
                  {{"error", "webhook metadata needs canaryConfig: the id or name of a canary config "
                             "stored with POST /canaryConfig"}});
    }
    const auto stored = configs_.Find(config_ref->second);
    if (!stored) {
      return Json(req, http::status::not_found,
                  {{"error", "no stored canary config with id or name \"" + config_ref->second + "\""}});
    }
    analysis::AnalysisDefinition d;
    d.config = stored->config;
    auto meta = [&](const char* key, std::string fallback) {
      const auto it = p.metadata.find(key);
      return it == p.metadata.end() ? fallback : it->second;
    };
    std::vector<std::string> problems;
    auto duration = [&](const char* key, const char* fallback, int64_t& out) {
      std::chrono::milliseconds ms{};
      const std::string text = meta(key, fallback);
      if (!ParseDuration(text, ms)) {
        problems.push_back(std::string("metadata.") + key + ": \"" + text + "\" is not a duration");
      }
      out = ms.count();
    };
    duration("lifetime", "30m", d.lifetime_ms);
    duration("interval", "0s", d.interval_ms);
    duration("step", "60s", d.step_ms);
    duration("beginAfter", "0s", d.begin_after_ms);
    for (const char* key : {"pass", "marginal"}) {
      const auto it = p.metadata.find(key);
      if (it == p.metadata.end()) continue;
      char* end = nullptr;
      const double v = std::strtod(it->second.c_str(), &end);
      if (end == it->second.c_str() || *end != '\0') {
        problems.push_back(std::string("metadata.") + key + ": \"" + it->second + "\" is not a number");
      } else {
        (key[0] == 'p' ? d.pass : d.marginal) = v;
      }
    }
    // Flagger's naming: the baseline runs as <name>-primary, the canary as <name>.
    window::ScopePair scopes;
    scopes.control.scope = meta("controlScope", p.name + "-primary");
    scopes.experiment.scope = meta("experimentScope", p.name);
    scopes.control.location = scopes.experiment.location = meta("location", p.ns);
    std::map<std::string, std::string> params = p.metadata;
    params["name"] = p.name;
    params["namespace"] = p.ns;
    params["checksum"] = p.checksum;
    scopes.control.extended_params = scopes.experiment.extended_params = params;
    d.scopes[meta("scopeName", "default")] = std::move(scopes);
    d.labels = Key(p);
    if (!problems.empty()) {
      std::string text;
      for (const auto& s : problems) text += (text.empty() ? "" : "; ") + s;
      return Json(req, http::status::bad_request, {{"error", text}});
    }
    auto id = analyses_.Create(std::move(d));
    if (!id) {
      return Json(req, http::status::bad_request, {{"error", id.error().ToString()}});
    }
    return Json(req, http::status::ok, Summary(*analyses_.Get(*id)));
  }

 private:
  analysis::ConfigStore& configs_;
  analysis::AnalysisManager& analyses_;
};

class RolloutHandler final : public server::Handler {
 public:
  explicit RolloutHandler(analysis::AnalysisManager& a) : analyses_(a) {}
  server::Response Handle(const server::Request& req, server::RequestState&) override {
    Payload p;
    std::string error;
    if (!ParsePayload(req.body(), p, error)) {
      return Json(req, http::status::bad_request, {{"error", error}});
    }
    const auto s = analyses_.FindByLabels(Key(p));
    if (!s) {
      return Json(req, http::status::not_found,
                  {{"error", "no canaryd analysis for " + p.ns + "/" + p.name + " at checksum " + p.checksum +
                                 ": add the pre-rollout webhook (POST /api/v1/flagger/pre-rollout)"}});
    }
    const bool ok = s->verdict == analysis::Verdict::kContinue || s->verdict == analysis::Verdict::kPass;
    return Json(req, ok ? http::status::ok : http::status::conflict, Summary(*s));
  }

 private:
  analysis::AnalysisManager& analyses_;
};

}  // namespace

void AddFlaggerRoutes(server::Router& router, analysis::ConfigStore& configs,
                      analysis::AnalysisManager& analyses) {
  router.Add(http::verb::post, "/api/v1/flagger/pre-rollout", std::make_shared<PreRolloutHandler>(configs, analyses));
  router.Add(http::verb::post, "/api/v1/flagger/rollout", std::make_shared<RolloutHandler>(analyses));
}

}  // namespace canaryd::api
