#include "canaryd/select/kayenta_query.h"

#include "canaryd/select/template.h"

namespace canaryd::select {
namespace {

constexpr std::string_view kPromQLPrefix = "PromQL:";
// Kayenta's kayenta.prometheus.scopeLabel default.
constexpr std::string_view kScopeLabel = "instance";

std::string MetricPath(size_t index) { return "metrics[" + std::to_string(index) + "]"; }

canaryconfig::ConfigProblem Problem(size_t index, std::string_view field, std::string message) {
  std::string path = MetricPath(index);
  if (!field.empty()) {
    path += ".";
    path += field;
  }
  return canaryconfig::ConfigProblem{std::move(path), std::move(message)};
}

// Java's String.split(","): trailing empty strings are dropped.
std::string JoinKayentaFilter(std::string_view filter) {
  while (!filter.empty() && filter.back() == ',') filter.remove_suffix(1);
  return std::string(filter);
}

}  // namespace

boost::system::result<std::string, canaryconfig::ConfigProblem> BuildKayentaQuery(
    const canaryconfig::CanaryConfig& config, size_t metric_index, const Scope& scope) {
  const canaryconfig::MetricConfig& metric = config.metrics[metric_index];
  const canaryconfig::PrometheusQuery& q = metric.query;
  const std::string who = "metric \"" + metric.name + "\"";

  std::string template_text;
  std::string template_name;
  std::string_view field;
  if (q.custom_inline_template && !q.custom_inline_template->empty()) {
    template_text = *q.custom_inline_template;
    template_name = "customInlineTemplate";
    field = "query.customInlineTemplate";
  } else if (q.custom_filter_template && !q.custom_filter_template->empty()) {
    const auto it = config.templates.find(*q.custom_filter_template);
    if (it == config.templates.end()) {
      return Problem(metric_index, "query.customFilterTemplate",
                     who + ": custom filter template \"" + *q.custom_filter_template +
                         "\" was not found in templates");
    }
    template_text = it->second;
    template_name = "template \"" + it->first + "\"";
    field = "query.customFilterTemplate";
  }

  Bindings bindings;
  if (!scope.scope.empty()) bindings["scope"] = scope.scope;
  if (!scope.location.empty()) bindings["location"] = scope.location;
  if (!q.resource_type.empty()) bindings["resourceType"] = q.resource_type;
  for (const auto& [k, v] : scope.extended_params) bindings[k] = v;

  std::string filter;
  if (!template_text.empty()) {
    auto expanded = ExpandTemplate(template_text, bindings);
    if (!expanded) {
      return Problem(metric_index, field,
                     who + ": " + template_name + ": " + expanded.error().message +
                         " (defined: scope, location, resourceType and the scope's "
                         "extendedScopeParams)");
    }
    filter = std::move(*expanded);
  }
  if (filter.rfind(kPromQLPrefix, 0) == 0) {
    return {boost::system::in_place_value, filter.substr(kPromQLPrefix.size())};
  }
  if (q.metric_name.empty()) {
    return Problem(metric_index, "query.metricName",
                   who + ": metricName is required unless customInlineTemplate starts with "
                         "\"PromQL:\"");
  }

  std::vector<std::string> filters;
  if (filter.empty()) {
    for (const std::string& b : q.label_bindings) filters.push_back(b);
    std::string resource_type = q.resource_type;
    if (resource_type.empty()) {
      if (const auto it = scope.extended_params.find("resourceType"); it != scope.extended_params.end()) {
        resource_type = it->second;
      }
    }
    if (resource_type == "gce_instance") {
      if (!scope.scope.empty()) {
        filters.push_back(std::string(kScopeLabel) + "=~\"" + scope.scope + "-.{4}\"");
      }
      if (scope.location.empty()) {
        return Problem(metric_index, "query.resourceType",
                       who + ": resourceType gce_instance needs the scope's location");
      }
      std::string zone = "zone=~\".+/";
      if (const auto it = scope.extended_params.find("project"); it != scope.extended_params.end()) {
        zone += "projects/" + it->second + "/";
      }
      zone += "zones/" + scope.location + "-.{1}\"";
      filters.push_back(std::move(zone));
    } else if (resource_type == "aws_ec2_instance") {
      if (!scope.scope.empty()) filters.push_back("asg_groupName=\"" + scope.scope + "\"");
      if (scope.location.empty()) {
        return Problem(metric_index, "query.resourceType",
                       who + ": resourceType aws_ec2_instance needs the scope's location");
      }
      filters.push_back("zone=~\"" + scope.location + ".{1}\"");
    } else if (!resource_type.empty()) {
      return Problem(metric_index, "query.resourceType",
                     who + ": there is no explicit support for resourceType \"" + resource_type +
                         "\"; use a customFilterTemplate or customInlineTemplate");
    } else {
      return Problem(metric_index, "query",
                     who + ": either a resource type or a custom filter template is required "
                           "(without one, control and experiment would select the same series)");
    }
  } else {
    filters.push_back(JoinKayentaFilter(filter));
    for (const std::string& b : q.label_bindings) filters.push_back(b);
  }

  std::string query = "avg(" + q.metric_name;
  if (!filters.empty()) {
    query += "{";
    for (size_t i = 0; i < filters.size(); ++i) {
      if (i > 0) query += ",";
      query += filters[i];
    }
    query += "}";
  }
  query += ")";
  if (!q.group_by_fields.empty()) {
    query += " by (";
    for (size_t i = 0; i < q.group_by_fields.size(); ++i) {
      if (i > 0) query += ",";
      query += q.group_by_fields[i];
    }
    query += ")";
  }
  return {boost::system::in_place_value, std::move(query)};
}

boost::system::result<QueryPlan, canaryconfig::ConfigProblem> PlanKayentaQuery(
    const canaryconfig::CanaryConfig& config, size_t metric_index, const Scope& scope) {
  auto text = BuildKayentaQuery(config, metric_index, scope);
  if (!text) {
    return text.error();
  }
  auto plan = ParseQuery(*text);
  if (!plan) {
    const canaryconfig::MetricConfig& metric = config.metrics[metric_index];
    return Problem(metric_index, "query",
                   "metric \"" + metric.name + "\": query `" + *text + "` (for scope \"" +
                       scope.scope + "\") does not parse at column " +
                       std::to_string(plan.error().column) + ": " + plan.error().message);
  }
  return std::move(*plan);
}

}  // namespace canaryd::select
