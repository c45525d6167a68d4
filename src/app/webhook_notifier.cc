#include "canaryd/app/webhook_notifier.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "canaryconfig/json_walk.h"

namespace canaryd::app {

namespace json = boost::json;

std::string IntervalEventJson(const analysis::AnalysisStatus& s, const analysis::IntervalRecord& r,
                              const std::string& base_url) {
  json::object o;
  o["event"] = s.complete ? "analysis.completed" : "analysis.interval";
  o["analysisId"] = s.id;
  o["name"] = s.definition.config.name;
  o["verdict"] = analysis::VerdictName(s.verdict);
  o["complete"] = s.complete;
  o["interval"] = r.index;
  o["intervals"] = s.intervals;
  o["score"] = r.score ? json::value(*r.score) : json::value(nullptr);
  o["classification"] = r.classification;
  o["reason"] = r.reason;
  o["windowStartMillis"] = r.window_start_ms;
  o["windowEndMillis"] = r.window_end_ms;
  o["judgedAtMillis"] = r.judged_at_ms;
  json::object labels;
  for (const auto& [k, v] : s.definition.labels) labels[k] = v;
  o["labels"] = std::move(labels);
  // Per metric and tag set: the classification and the evidence a reader acts on first.
  json::array metrics;
  if (!s.latest_judge_result_json.empty() && r.score) {
    std::string error;
    const json::value result = canaryconfig::detail::ParseJson(s.latest_judge_result_json, error);
    if (error.empty() && result.is_object()) {
      if (const auto* results = result.as_object().if_contains("results"); results && results->is_array()) {
        for (const auto& m : results->as_array()) {
          const auto& mo = m.as_object();
          json::object summary;
          for (const char* key : {"name", "tags", "classification", "classificationReason", "critical"}) {
            if (const auto* v = mo.if_contains(key)) summary[key] = *v;
          }
          if (const auto* details = mo.if_contains("details"); details && details->is_object()) {
            for (const char* key : {"estimate", "ciLower", "ciUpper", "effectSize", "pValue"}) {
              if (const auto* v = details->as_object().if_contains(key)) summary[key] = *v;
            }
          }
          metrics.push_back(std::move(summary));
        }
      }
    }
  }
  o["metrics"] = std::move(metrics);
  o["links"] = json::object{{"analysis", base_url + "/api/v1/analyses/" + s.id},
                            {"verdict", base_url + "/api/v1/analyses/" + s.id + "/verdict"}};
  return canaryconfig::detail::Serialize(o);
}

void WebhookNotifier::OnInterval(const analysis::AnalysisStatus& status,
                                 const analysis::IntervalRecord& interval) {
  if (status.definition.webhooks.empty()) return;
  const std::string body = IntervalEventJson(status, interval, base_url_);
  const std::string event = status.complete ? "analysis.completed" : "analysis.interval";
  for (const auto& hook : status.definition.webhooks) {
    deliver::Endpoint endpoint{hook.url, hook.secret, hook.headers};
    if (auto id = dispatcher_.Enqueue(endpoint, event, body); !id) {
      spdlog::error("analysis {}: cannot queue webhook to {}: {}", status.id, hook.url, id.error().message());
    }
  }
}

}  // namespace canaryd::app
