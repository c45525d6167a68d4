// `global` and `scrape_configs`: Prometheus's keys and defaults, and errors naming line and field.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "canaryd/config/config.h"

namespace canaryd::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string ErrorOf(std::string_view yaml) {
  try {
    ParseConfig(yaml, "/etc/canaryd/canaryd.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << yaml;
  return "";
}

TEST(ScrapeConfigYaml, PrometheusShapeAndDefaults) {
  const Config c = ParseConfig(R"(
global:
  scrape_interval: 15s
  scrape_timeout: 12s
scrape_configs:
  - job_name: node
    scrape_interval: 10s
    static_configs:
      - targets: ["localhost:9100", "db:9100"]
        labels: {env: prod}
  - job_name: app
    scrape_interval: 5s
    scrape_timeout: 2s
    metrics_path: /custom/metrics
    scheme: https
    params: {module: [http_2xx]}
    honor_labels: true
    honor_timestamps: false
    authorization: {credentials_file: token}
    tls_config: {ca_file: /etc/ca.pem, server_name: app.internal, insecure_skip_verify: false}
    body_size_limit: 10MB
    sample_limit: 5000
    label_limit: 30
    label_name_length_limit: 100
    label_value_length_limit: 200
    file_sd_configs:
      - files: [targets/*.json, extra.yml]
        refresh_interval: 1m
)",
                               "/etc/canaryd/canaryd.yaml");
  ASSERT_EQ(c.scrape_configs.size(), 2u);
  const auto& node = c.scrape_configs[0];
  EXPECT_EQ(node.job_name, "node");
  EXPECT_EQ(node.scrape_interval, 10s);
  EXPECT_EQ(node.scrape_timeout, 10s) << "the global timeout, capped at the interval";
  EXPECT_EQ(node.metrics_path, "/metrics");
  EXPECT_EQ(node.scheme, "http");
  ASSERT_EQ(node.static_configs.size(), 1u);
  EXPECT_EQ(node.static_configs[0].targets.size(), 2u);
  EXPECT_EQ(node.static_configs[0].labels.at("env"), "prod");
  const auto& app = c.scrape_configs[1];
  EXPECT_EQ(ParseConfig("global: {scrape_interval: 15s}\nscrape_configs: [{job_name: x}]\n")
                .scrape_configs[0]
                .scrape_timeout,
            10s);
  EXPECT_EQ(app.scrape_interval, 5s);
  EXPECT_EQ(app.scrape_timeout, 2s);
  EXPECT_EQ(app.metrics_path, "/custom/metrics");
  EXPECT_EQ(app.scheme, "https");
  EXPECT_EQ(app.params.at("module"), std::vector<std::string>{"http_2xx"});
  EXPECT_TRUE(app.honor_labels);
  EXPECT_FALSE(app.honor_timestamps);
  ASSERT_TRUE(app.authorization.has_value());
  EXPECT_EQ(app.authorization->type, "Bearer");
  EXPECT_EQ(app.authorization->credentials_file, "/etc/canaryd/token") << "relative to the file";
  EXPECT_EQ(app.tls_config.server_name, "app.internal");
  EXPECT_EQ(app.body_size_limit, 10u << 20) << "Prometheus sizes are powers of 1024";
  EXPECT_EQ(app.sample_limit, 5000u);
  EXPECT_EQ(app.label_limit, 30u);
  ASSERT_EQ(app.file_sd_configs.size(), 1u);
  EXPECT_EQ(app.file_sd_configs[0].files[0], "/etc/canaryd/targets/*.json");
  EXPECT_EQ(app.file_sd_configs[0].refresh_interval, 1min);
}

TEST(ScrapeConfigYaml, ErrorsNameTheLineAndField) {
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    relabel_configs: []\n"),
              HasSubstr("canaryd.yaml:3:5: scrape_configs[0].relabel_configs: unknown key"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - scrape_interval: 5s\n"),
              HasSubstr("job_name is required"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n  - job_name: a\n"),
              HasSubstr("canaryd.yaml:3:5: scrape_configs[1]: job_name \"a\" is used by another job"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n"
                      "    scrape_timeout: 6s\n"),
              HasSubstr("scrape_timeout (6000ms) is greater than scrape_interval (5000ms)"));
  EXPECT_THAT(ErrorOf("global: {scrape_interval: 5s, scrape_timeout: 6s}\n"),
              HasSubstr("global: scrape_timeout"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    scheme: ftp\n"),
              HasSubstr("scrape_configs[0].scheme: \"ftp\" is not http or https"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    static_configs:\n"
                      "      - targets: [\"ok:1\", \"http://bad:2/x\"]\n"),
              HasSubstr("canaryd.yaml:4:"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    static_configs:\n"
                      "      - targets: [\"ok:1\", \"http://bad:2/x\"]\n"),
              HasSubstr("static_configs[0].targets[1]: \"http://bad:2/x\" is not host:port"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    static_configs:\n"
                      "      - targets: [\"h:1\"]\n        labels: {\"bad-name\": x}\n"),
              HasSubstr("\"bad-name\" is not a valid label name"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n"
                      "    authorization: {credentials: t}\n"),
              HasSubstr("at most one of basic_auth and authorization"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n"
                      "    basic_auth: {username: u, password: p, password_file: f}\n"),
              HasSubstr("at most one of password and password_file"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: c}\n"),
              HasSubstr("cert_file and key_file must be set together"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    body_size_limit: lots\n"),
              HasSubstr("body_size_limit: \"lots\" is not a byte size"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    sample_limit: -1\n"),
              HasSubstr("sample_limit"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    honor_labels: yes please\n"),
              HasSubstr("is not true or false"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    file_sd_configs:\n"
                      "      - files: [targets.txt]\n"),
              HasSubstr("must end in .json, .yml or .yaml"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    file_sd_configs:\n"
                      "      - files: [\"*/t.json\"]\n"),
              HasSubstr("only the last path element may be a glob"));
  EXPECT_THAT(ErrorOf("scrape_configs:\n  - job_name: a\n    authorization: {type: Basic}\n"),
              HasSubstr("use basic_auth"));
  EXPECT_THAT(ErrorOf("scrape_configs: {job_name: a}\n"), HasSubstr("expected a list"));
}

}  // namespace
}  // namespace canaryd::config
