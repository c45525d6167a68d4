#include "canaryd/select/kayenta_query.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace canaryd::select {
namespace {

using canaryconfig::CanaryConfig;
using canaryconfig::MetricConfig;

// The cases asserted by Kayenta's PrometheusMetricsServiceSpec.groovy.
CanaryConfig SpecConfig(MetricConfig metric) {
  CanaryConfig c;
  c.templates = {{"someTemplate", "some-label=${scope}"}, {"anotherTemplate", "my-server-group=${scope}"}};
  c.metrics.push_back(std::move(metric));
  return c;
}

MetricConfig SpecMetric(std::string resource_type, std::optional<std::string> filter_template,
                        std::optional<std::string> inline_template) {
  MetricConfig m;
  m.name = "m";
  m.query.type = "prometheus";
  m.query.metric_name = "some-metric-name";
  m.query.label_bindings = {"a=b"};
  m.query.resource_type = std::move(resource_type);
  m.query.custom_filter_template = std::move(filter_template);
  m.query.custom_inline_template = std::move(inline_template);
  return m;
}

std::string Build(const CanaryConfig& c, const Scope& s) {
  auto r = BuildKayentaQuery(c, 0, s);
  return r ? *r : "ERROR: " + r.error().ToString();
}

TEST(KayentaQueryTest, ReproducesKayentasSpecTable) {
  const Scope sg{"some-server-group", "us-central1", {}};
  EXPECT_EQ(Build(SpecConfig(SpecMetric("gce_instance", {}, {})), sg),
            "avg(some-metric-name{a=b,instance=~\"some-server-group-.{4}\",zone=~\".+/zones/us-central1-.{1}\"})");
  EXPECT_EQ(Build(SpecConfig(SpecMetric("aws_ec2_instance", {}, {})), sg),
            "avg(some-metric-name{a=b,asg_groupName=\"some-server-group\",zone=~\"us-central1.{1}\"})");
  EXPECT_EQ(Build(SpecConfig(SpecMetric("gce_instance", "someTemplate", {})),
                  Scope{"some-app-canary", "us-central1", {}}),
            "avg(some-metric-name{some-label=some-app-canary,a=b})");
  for (const char* rt : {"gce_instance", "aws_ec2_instance", "anything"}) {
    EXPECT_EQ(Build(SpecConfig(SpecMetric(rt, "someTemplate", "customFilter=something,andSomething=else")),
                    Scope{"", "us-central1", {}}),
              "avg(some-metric-name{customFilter=something,andSomething=else,a=b})");
  }
  EXPECT_EQ(Build(SpecConfig(SpecMetric("", "anotherTemplate", {})), Scope{"some-baseline", "us-central1", {}}),
            "avg(some-metric-name{my-server-group=some-baseline,a=b})");
  MetricConfig promql = SpecMetric("", {}, "PromQL:histogram_quantile(${quantile}, prometheus_http_response_size_bytes_bucket{instance=\"localhost:9090\",handler=\"${scope}\"})");
  promql.query.label_bindings.clear();
  EXPECT_EQ(Build(SpecConfig(promql), Scope{"/graph", "", {{"quantile", "0.99"}}}),
            "histogram_quantile(0.99, prometheus_http_response_size_bytes_bucket{instance=\"localhost:9090\",handler=\"/graph\"})");
}

TEST(KayentaQueryTest, GroupByFieldsAndExtendedScopeParams) {
  CanaryConfig c;
  c.templates = {{"pod-scope", "namespace=\"${namespace}\",pod_name=~\"checkout-${scope}.*\",region=\"${location}\""}};
  MetricConfig m;
  m.name = "rps";
  m.query.metric_name = "http_requests_per_second";
  m.query.custom_filter_template = "pod-scope";
  m.query.group_by_fields = {"route", "code"};
  c.metrics.push_back(m);
  const Scope canary{"canary", "us-east-1", {{"namespace", "shop"}}};
  EXPECT_EQ(Build(c, canary),
            "avg(http_requests_per_second{namespace=\"shop\",pod_name=~\"checkout-canary.*\",region=\"us-east-1\"}) by (route,code)");
  auto plan = PlanKayentaQuery(c, 0, canary);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->by, (std::vector<std::string>{"code", "route"}));
  // extendedScopeParams win over scope and location.
  EXPECT_EQ(Build(c, Scope{"canary", "us-east-1", {{"namespace", "shop"}, {"scope", "override"}}}),
            "avg(http_requests_per_second{namespace=\"shop\",pod_name=~\"checkout-override.*\",region=\"us-east-1\"}) by (route,code)");
}

TEST(KayentaQueryTest, ErrorsNameMetricTemplateAndVariable) {
  CanaryConfig c;
  c.templates = {{"pod-scope", "namespace=\"${namespace}\",pod=~\"app-${scope}.*\""}};
  MetricConfig m;
  m.name = "cpu";
  m.query.metric_name = "cpu";
  m.query.custom_filter_template = "pod-scope";
  c.metrics.push_back(m);
  auto r = BuildKayentaQuery(c, 0, Scope{"canary", "", {}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().path, "metrics[0].query.customFilterTemplate");
  EXPECT_NE(r.error().message.find("metric \"cpu\""), std::string::npos);
  EXPECT_NE(r.error().message.find("template \"pod-scope\""), std::string::npos);
  EXPECT_NE(r.error().message.find("\"namespace\""), std::string::npos);

  c.metrics[0].query.custom_filter_template = "missing";
  r = BuildKayentaQuery(c, 0, Scope{"canary", "", {}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("\"missing\" was not found"), std::string::npos);

  // Kayenta's own unquoted example is not PromQL; the error shows the query and the column.
  c.templates["bad"] = "some-label=${scope}";
  c.metrics[0].query.custom_filter_template = "bad";
  auto plan = PlanKayentaQuery(c, 0, Scope{"canary", "", {}});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("avg(cpu{some-label=canary})"), std::string::npos);
  EXPECT_NE(plan.error().message.find("column 13"), std::string::npos) << plan.error().message;

  c.metrics[0].query.custom_filter_template.reset();
  c.metrics[0].query.custom_inline_template = "PromQL:stddev(cpu{pod=\"${scope}\"})";
  plan = PlanKayentaQuery(c, 0, Scope{"canary", "", {}});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("supported query shapes"), std::string::npos);

  c.metrics[0].query.custom_inline_template.reset();
  auto no_filter = BuildKayentaQuery(c, 0, Scope{"canary", "", {}});
  ASSERT_FALSE(no_filter);
  EXPECT_NE(no_filter.error().message.find("custom filter template is required"), std::string::npos);
}

TEST(KayentaQueryTest, RealisticConfigBuildsEveryQueryShape) {
  std::ifstream in(std::string(CANARYD_CANARYCONFIG_TESTDATA) + "/checkout-golden-signals.json");
  ASSERT_TRUE(in) << "missing test data";
  std::stringstream text;
  text << in.rdbuf();
  auto config = canaryconfig::ParseCanaryConfig(text.str());
  ASSERT_TRUE(config) << config.error().ToString();
  const Scope baseline{"baseline", "us-east-1", {{"namespace", "shop-prod"}}};
  std::vector<std::string> shapes;
  for (size_t i = 0; i < config->metrics.size(); ++i) {
    auto plan = PlanKayentaQuery(*config, i, baseline);
    ASSERT_TRUE(plan) << plan.error().ToString();
    shapes.push_back(plan->ToPromQL());
  }
  EXPECT_EQ(shapes[0],
            "avg (container_cpu_usage_rate{namespace=\"shop-prod\",pod_name=~\"checkout-baseline.*\",region=\"us-east-1\",container=\"checkout\"})");
  EXPECT_EQ(shapes[1], "sum (rate(http_requests_total{status=~\"5..\",pod_name=~\"checkout-baseline.*\"}[1m]))");
  EXPECT_EQ(shapes[2], "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{pod_name=~\"checkout-baseline.*\"}[1m])))");
  EXPECT_EQ(shapes[3], "avg by (route) (http_requests_per_second{namespace=\"shop-prod\",pod_name=~\"checkout-baseline.*\",region=\"us-east-1\"})");
}

}  // namespace
}  // namespace canaryd::select
