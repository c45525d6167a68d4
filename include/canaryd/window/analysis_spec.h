#pragma once
// From a Kayenta canary config and the scopes of a run to the WindowStore's AnalysisWindowSpec:
// one query plan per metric and side, built the way Kayenta builds its queries.

#include <map>
#include <string>

#include "canaryd/canaryconfig/canary_config.h"
#include "canaryd/select/kayenta_query.h"
#include "canaryd/window/window_store.h"

namespace canaryd::window {

/// Kayenta's `scopes.<scopeName>`: the control and experiment scope of one scope name.
struct ScopePair {
  select::Scope control;
  select::Scope experiment;
};

struct WindowRequest {
  std::map<std::string, ScopePair> scopes;  // by scopeName ("default" for most configs)
  int64_t start_ms = 0;
  int64_t step_ms = 60'000;
  Lookback lookback;
  int64_t control_offset_ms = 0;  // see AnalysisWindowSpec
};

/// Builds the spec, or returns every problem (unknown scope names, template errors, queries
/// outside the supported subset), each with the metric's JSON path.
canaryconfig::ConfigResult<AnalysisWindowSpec> MakeWindowSpec(
    const canaryconfig::CanaryConfig& config, const WindowRequest& request);

}  // namespace canaryd::window
