#include "canaryd/demo/demo_config.h"

#include <algorithm>

namespace canaryd::demo {

std::string_view DemoCanaryConfigJson() {
  // Rates use a 5 s range: five samples at the demo's 1 s scrape interval. A longer range makes
  // the first steps of the window ramp up for longer (samples from before the analysis started
  // are not kept, so early ranges are only partly covered), which hides a CPU regression from the
  // first interval.
  static constexpr std::string_view kConfig = R"json({
  "name": "canaryd-demo",
  "description": "Built-in config of `canaryd demo`: the synthetic service's latency, errors and saturation, baseline against canary.",
  "configVersion": "1",
  "applications": ["demo"],
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "templates": {
    "pods": "app=\"demo\",pod=~\"demo-${scope}-.*\""
  },
  "classifier": {
    "groupWeights": {"Latency": 40, "Errors": 30, "Saturation": 30},
    "scoreThresholds": {"pass": 75, "marginal": 50}
  },
  "metrics": [
    {
      "name": "latency_p50",
      "groups": ["Latency"],
      "scopeName": "default",
      "analysisConfigurations": {"canary": {"direction": "increase", "effectSize": {"allowedIncrease": 1.2}}},
      "query": {"type": "prometheus",
                "customInlineTemplate": "PromQL:histogram_quantile(0.5, sum by (le) (rate(demo_http_request_duration_seconds_bucket{app=\"demo\",pod=~\"demo-${scope}-.*\"}[5s])))"}
    },
    {
      "name": "latency_p90",
      "groups": ["Latency"],
      "scopeName": "default",
      "analysisConfigurations": {"canary": {"direction": "increase", "effectSize": {"allowedIncrease": 1.2}}},
      "query": {"type": "prometheus",
                "customInlineTemplate": "PromQL:histogram_quantile(0.9, sum by (le) (rate(demo_http_request_duration_seconds_bucket{app=\"demo\",pod=~\"demo-${scope}-.*\"}[5s])))"}
    },
    {
      "name": "requests_in_flight",
      "groups": ["Latency"],
      "scopeName": "default",
      "analysisConfigurations": {"canary": {"direction": "increase", "effectSize": {"allowedIncrease": 1.2}}},
      "query": {"type": "prometheus", "metricName": "demo_http_requests_in_flight",
                "customFilterTemplate": "pods"}
    },
    {
      "name": "error_rate",
      "groups": ["Errors"],
      "scopeName": "default",
      "analysisConfigurations": {"canary": {"direction": "increase", "critical": true,
                                            "effectSize": {"allowedIncrease": 1.5, "criticalIncrease": 2}}},
      "query": {"type": "prometheus",
                "customInlineTemplate": "PromQL:sum(rate(demo_http_requests_total{app=\"demo\",pod=~\"demo-${scope}-.*\",code=~\"5..\"}[5s]))"}
    },
    {
      "name": "cpu_usage",
      "groups": ["Saturation"],
      "scopeName": "default",
      "analysisConfigurations": {"canary": {"direction": "increase", "effectSize": {"allowedIncrease": 1.2}}},
      "query": {"type": "prometheus",
                "customInlineTemplate": "PromQL:sum(rate(process_cpu_seconds_total{app=\"demo\",pod=~\"demo-${scope}-.*\"}[5s]))"}
    },
    {
      "name": "resident_memory",
      "groups": ["Saturation"],
      "scopeName": "default",
      "analysisConfigurations": {"canary": {"direction": "increase", "muted": true,
                                            "effectSize": {"allowedIncrease": 1.2}}},
      "query": {"type": "prometheus", "metricName": "process_resident_memory_bytes",
                "customFilterTemplate": "pods"}
    }
  ]
})json";
  return kConfig;
}

analysis::AnalysisDefinition DemoAnalysis(std::chrono::milliseconds duration) {
  analysis::AnalysisDefinition d;
  auto config = canaryconfig::ParseCanaryConfig(DemoCanaryConfigJson());
  // The built-in config is a constant, checked by the tests.
  d.config = std::move(config).value();
  const select::Scope control{std::string(kControlScope), "", {}};
  const select::Scope experiment{std::string(kExperimentScope), "", {}};
  d.scopes[std::string(kScopeName)] = window::ScopePair{control, experiment};
  d.step_ms = kStep.count();
  const int64_t steps_per_interval =
      std::max<int64_t>(3, duration.count() / (kIntervals * d.step_ms));
  d.interval_ms = steps_per_interval * d.step_ms;
  d.lifetime_ms = kIntervals * d.interval_ms;
  d.pass = 75;
  d.marginal = 50;
  d.labels["app"] = "canaryd-demo";
  return d;
}

scrape::ScrapeConfig DemoScrapeConfig(const SyntheticFleet& fleet) {
  scrape::ScrapeConfig c;
  c.job_name = "demo";
  c.scrape_interval = kScrapeInterval;
  c.scrape_timeout = kScrapeInterval;
  c.static_configs = fleet.TargetGroups();
  return c;
}

std::string_view ExpectedVerdict(Regression regression) {
  return regression == Regression::kNone ? "PASS" : "FAIL";
}

}  // namespace canaryd::demo
