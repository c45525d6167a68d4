#pragma once
// Kayenta's Prometheus query building (PrometheusMetricsService.buildQuery and
// QueryConfigUtils.expandCustomFilter), reproduced so that a canary config brought from Spinnaker
// selects the same series here as it queried there, then parsed into a QueryPlan.
//
//   template  = customInlineTemplate if non-empty, else templates[customFilterTemplate]
//   expanded  = template with ${scope}, ${location}, the query's ${resourceType} and every
//               extendedScopeParams key substituted (later ones win; undefined = error)
//   "PromQL:<q>"  -> q, verbatim
//   otherwise     -> avg(<metricName>{<expanded>,<labelBindings...>}) [by (<groupByFields>)]
//   no template   -> resourceType gce_instance / aws_ec2_instance filters, as Kayenta builds them
//
// Thread safety: pure functions.

#include <map>
#include <string>
#include <vector>

#include <boost/system/result.hpp>

#include "canaryd/canaryconfig/canary_config.h"
#include "canaryd/select/promql.h"

namespace canaryd::select {

/// One side of an analysis: Kayenta's CanaryScope fields that shape queries.
struct Scope {
  std::string scope;     // e.g. "baseline", "canary", a server group
  std::string location;  // region, zone or namespace
  std::map<std::string, std::string> extended_params;
};

/// The PromQL text Kayenta would send for `metric` in `scope`. On failure, the problem names the
/// metric's JSON path, the template and the variable.
boost::system::result<std::string, canaryconfig::ConfigProblem> BuildKayentaQuery(
    const canaryconfig::CanaryConfig& config, size_t metric_index, const Scope& scope);

/// BuildKayentaQuery, then ParseQuery. A query outside the supported subset, or one that does not
/// parse, is a problem naming the column in the built query.
boost::system::result<QueryPlan, canaryconfig::ConfigProblem> PlanKayentaQuery(
    const canaryconfig::CanaryConfig& config, size_t metric_index, const Scope& scope);

}  // namespace canaryd::select
