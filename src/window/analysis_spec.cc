#include "canaryd/window/analysis_spec.h"

namespace canaryd::window {

canaryconfig::ConfigResult<AnalysisWindowSpec> MakeWindowSpec(
    const canaryconfig::CanaryConfig& config, const WindowRequest& request) {
  canaryconfig::ConfigErrors errors;
  AnalysisWindowSpec spec;
  spec.start_ms = request.start_ms;
  spec.step_ms = request.step_ms;
  spec.lookback = request.lookback;
  spec.control_offset_ms = request.control_offset_ms;
  if (request.control_offset_ms < 0) {
    errors.problems.push_back({"baselineOffset", "must not be negative"});
  }
  if (request.step_ms <= 0) {
    errors.problems.push_back({"step", "must be a positive duration"});
  }
  if (request.lookback.mode == Lookback::Mode::kSliding && request.lookback.length_ms < request.step_ms) {
    errors.problems.push_back({"lookback", "a sliding lookback must be at least one step long"});
  }
  if (config.metrics.empty()) {
    errors.problems.push_back({"metrics", "the canary config has no metrics"});
  }
  for (size_t i = 0; i < config.metrics.size(); ++i) {
    const canaryconfig::MetricConfig& metric = config.metrics[i];
    const auto scope = request.scopes.find(metric.scope_name);
    if (scope == request.scopes.end()) {
      errors.problems.push_back({"metrics[" + std::to_string(i) + "].scopeName",
                                 "metric \"" + metric.name + "\" uses scope \"" + metric.scope_name +
                                     "\", which the request does not define"});
      continue;
    }
    auto control = select::PlanKayentaQuery(config, i, scope->second.control);
    auto experiment = select::PlanKayentaQuery(config, i, scope->second.experiment);
    if (!control) errors.problems.push_back(control.error());
    if (!experiment && (control || experiment.error().message != control.error().message)) {
      errors.problems.push_back(experiment.error());
    }
    if (control && experiment) {
      spec.metrics.push_back(MetricQueries{metric.name, std::move(*control), std::move(*experiment)});
    }
  }
  if (!errors.problems.empty()) {
    return errors;
  }
  return spec;
}

}  // namespace canaryd::window
