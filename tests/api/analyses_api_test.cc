#include "canaryd/api/analyses_api.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>

#include "canaryd/common/iso_time.h"

#include "../server/server_fixture.h"

namespace canaryd::testing {
namespace {

namespace json = boost::json;

constexpr const char* kRequest = R"json({
  "canaryConfig": {
    "name": "checkout",
    "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
    "templates": {"pods": "namespace=\"${namespace}\",pod=~\"checkout-${scope}-.*\""},
    "classifier": {"groupWeights": {"latency": 100}},
    "metrics": [{"name": "latency", "groups": ["latency"], "scopeName": "default",
                 "analysisConfigurations": {"canary": {"direction": "increase"}},
                 "query": {"type": "prometheus", "metricName": "latency_seconds",
                           "customFilterTemplate": "pods"}}]
  },
  "scopes": {"default": {
    "controlScope": {"scope": "baseline", "location": "eu", "step": 60,
                     "extendedScopeParams": {"namespace": "shop"}},
    "experimentScope": {"scope": "canary", "location": "eu", "step": 60,
                        "extendedScopeParams": {"namespace": "shop"}}}},
  "thresholds": {"pass": 95, "marginal": 75},
  "lifetime": "PT20M",
  "interval": "10m",
  "lookback": "growing",
  "webhooks": [{"url": "http://127.0.0.1:9/hook", "secret": "s3cret", "headers": {"X-Team": "shop"}}]
})json";

TEST(ParseAnalysisRequestTest, DecodesEveryField) {
  auto r = api::ParseAnalysisRequest(kRequest);
  ASSERT_TRUE(r) << r.error().ToString();
  const auto* d = &r->definition;
  EXPECT_EQ(d->config.name, "checkout");
  EXPECT_EQ(d->scopes.at("default").experiment.scope, "canary");
  EXPECT_EQ(d->scopes.at("default").control.extended_params.at("namespace"), "shop");
  EXPECT_EQ(d->step_ms, 60'000);
  EXPECT_EQ(d->pass, 95);
  EXPECT_EQ(d->marginal, 75);
  EXPECT_EQ(d->lifetime_ms, 20 * 60'000);
  EXPECT_EQ(d->interval_ms, 10 * 60'000);
  ASSERT_EQ(d->webhooks.size(), 1u);
  EXPECT_EQ(d->webhooks[0].headers[0].first, "X-Team");
  auto sliding = api::ParseAnalysisRequest(
      R"({"canaryConfig": {"metrics": []}, "scopes": {}, "lookback": {"sliding": "10m"}})");
  ASSERT_FALSE(sliding);  // empty scopes and no metrics, but the lookback itself parsed
  EXPECT_EQ(sliding.error().ToString().find("lookback"), std::string::npos) << sliding.error().ToString();
}

TEST(ParseAnalysisRequestTest, ListsEveryProblemWithItsPath) {
  auto r = api::ParseAnalysisRequest(R"json({
    "canaryConfig": {"metrics": [{"name": "m", "analysisConfigurations": {"canary": {"direction": "up"}}}]},
    "scopes": {"default": {"controlScope": {"scope": 7, "step": 60},
                           "experimentScope": {"scope": "c", "step": 30, "start": "yesterday"}}},
    "lifetime": "forever",
    "lookback": "sideways",
    "baselineOffset": "soon",
    "webhooks": [{"secret": "x"}],
    "colour": "blue"
  })json");
  ASSERT_FALSE(r);
  const std::string text = r.error().ToString();
  for (const char* expected :
       {"canaryConfig.metrics[0].analysisConfigurations.canary.direction", "scopes.default.controlScope.scope",
        "same step", "scopes.default.experimentScope.start: expected an ISO-8601", "lifetime: expected a duration",
        "lookback: expected", "baselineOffset", "webhooks[0].url", "colour: unknown field"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " missing from:\n" << text;
  }
  auto syntax = api::ParseAnalysisRequest("{\"scopes\": ");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().ToString().find("line 1"), std::string::npos) << syntax.error().ToString();
}

class AnalysesApiTest : public ServerTest {
 protected:
  // Three pods per scope report latency at the clock's time; the canary's is `factor` x.
  void SendLatency(double factor) {
    prometheus::WriteRequest req;
    std::normal_distribution<double> noise(0.2, 0.02);
    for (int pod = 0; pod < 3; ++pod) {
      for (const char* side : {"baseline", "canary"}) {
        const double v = noise(rng_) * (side[0] == 'c' ? factor : 1.0);
        testutil::AddSeries(req,
                            {{"__name__", "latency_seconds"}, {"namespace", "shop"},
                             {"pod", std::string("checkout-") + side + "-" + std::to_string(pod)}},
                            {{clock_.NowMillis(), v}});
      }
    }
    auto client = Client();
    ASSERT_EQ(client.Post("/api/v1/write", testutil::Snappy(testutil::Encode(req)), V1Headers()).status, 204);
  }
  json::value GetJson(const std::string& target, int expected_status = 200) {
    auto client = Client();
    const auto r = client.Get(target);
    EXPECT_EQ(r.status, expected_status) << target << ": " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json");
    return json::parse(r.body);
  }
  std::mt19937_64 rng_{11};
};

TEST_F(AnalysesApiTest, RejectsInvalidRequestsWith400ListingProblems) {
  auto client = Client();
  const auto r = client.Post("/api/v1/analyses", R"({"scopes": 3, "interval": "soon"})",
                             {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
  const auto doc = json::parse(r.body);
  EXPECT_GE(doc.at("problems").as_array().size(), 3u) << r.body;
  EXPECT_EQ(GetJson("/api/v1/analyses/nope", 404).at("error").as_string(), "no analysis \"nope\"");
  EXPECT_EQ(client.Post("/api/v1/analyses/nope/verdict", "", {}).status, 405);
}

TEST_F(AnalysesApiTest, RegressedCanaryFailsAndTheVerdictStays200) {
  auto client = Client();
  const auto created = client.Post("/api/v1/analyses", kRequest, {{"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(json::parse(created.body).at("id").as_string());
  EXPECT_EQ(created.Header("location"), "/api/v1/analyses/" + id);
  auto verdict = GetJson("/api/v1/analyses/" + id + "/verdict");
  EXPECT_EQ(verdict.at("verdict").as_string(), "CONTINUE");
  EXPECT_FALSE(verdict.at("complete").as_bool());
  // 12 minutes of data, 15 s apart, the canary 60 % slower.
  for (int i = 0; i < 12 * 4 + 8; ++i) {
    clock_.Advance(std::chrono::seconds(15));
    SendLatency(1.6);
    service_->Housekeeping();
  }
  verdict = GetJson("/api/v1/analyses/" + id + "/verdict");
  EXPECT_EQ(verdict.at("verdict").as_string(), "FAIL") << verdict;
  EXPECT_TRUE(verdict.at("complete").as_bool());
  EXPECT_EQ(verdict.at("score").to_number<double>(), 0);
  EXPECT_EQ(verdict.at("interval").to_number<int>(), 1);
  const auto full = GetJson("/api/v1/analyses/" + id);
  EXPECT_EQ(full.at("history").as_array().size(), 1u);
  EXPECT_EQ(full.at("judgeResult").at("results").as_array()[0].at("classification").as_string(), "High");
  EXPECT_EQ(full.at("webhooks").as_array()[0].as_object().count("secret"), 0u);  // never echoed
  const auto list = GetJson("/api/v1/analyses");
  ASSERT_EQ(list.at("analyses").as_array().size(), 1u);
  EXPECT_EQ(list.at("analyses").as_array()[0].at("verdict").as_string(), "FAIL");
}

TEST_F(AnalysesApiTest, RunningAnalysisShowsStepValuesAndCanBeCancelled) {
  auto client = Client();
  const auto created = client.Post("/api/v1/analyses", kRequest, {{"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(json::parse(created.body).at("id").as_string());
  for (int i = 0; i < 4 * 4; ++i) {
    clock_.Advance(std::chrono::seconds(15));
    SendLatency(1.0);
    service_->Housekeeping();
  }
  const auto full = GetJson("/api/v1/analyses/" + id);
  const auto& steps = full.at("stepValues").as_array();
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_GE(steps[0].at("values").at("control").as_array().size(), 2u) << full;
  const auto deleted = client.Get("/api/v1/analyses/" + id);  // keep-alive reuse
  EXPECT_EQ(deleted.status, 200);
  testutil::HttpClient del(service_->port());
  const auto r = del.Raw("DELETE /api/v1/analyses/" + id + " HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(GetJson("/api/v1/analyses/" + id + "/verdict").at("verdict").as_string(), "CANCELLED");
  const auto missing = del.Raw("DELETE /api/v1/analyses/nope HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(missing.status, 404);
}

}  // namespace
}  // namespace canaryd::testing

namespace canaryd::testing {
namespace {

constexpr const char* kKayentaConfig = R"json({
  "name": "my-test",
  "applications": ["guestbook"],
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "templates": {"pods": "pod=~\"${scope}-.*\""},
  "classifier": {"groupWeights": {"latency": 100}, "scoreThresholds": {"pass": 90, "marginal": 75}},
  "metrics": [{"name": "latency", "groups": ["latency"], "scopeName": "default",
               "analysisConfigurations": {"canary": {"direction": "increase"}},
               "query": {"type": "prometheus", "metricName": "latency_seconds", "customFilterTemplate": "pods"}}]
})json";

class KayentaApiTest : public AnalysesApiTest {
 protected:
  void Send(double factor) {
    prometheus::WriteRequest req;
    std::normal_distribution<double> noise(0.2, 0.02);
    for (int pod = 0; pod < 3; ++pod) {
      testutil::AddSeries(req, {{"__name__", "latency_seconds"}, {"pod", "stable-" + std::to_string(pod)}},
                          {{clock_.NowMillis(), noise(rng_)}});
      testutil::AddSeries(req, {{"__name__", "latency_seconds"}, {"pod", "canary-" + std::to_string(pod)}},
                          {{clock_.NowMillis(), noise(rng_) * factor}});
    }
    auto client = Client();
    ASSERT_EQ(client.Post("/api/v1/write", testutil::Snappy(testutil::Encode(req)), V1Headers()).status, 204);
  }
};

// The three calls of Argo Rollouts' kayenta provider, with its exact parameters and body shape.
TEST_F(KayentaApiTest, ArgoRolloutsKayentaProviderFlow) {
  auto client = Client();
  const auto created = client.Post("/canaryConfig?configurationAccountName=intuit-kayenta", kKayentaConfig,
                                   {{"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string config_id(json::parse(created.body).at("canaryConfigId").as_string());

  // 1. GET /canaryConfig?application=...&configurationAccountName=... -> find by name.
  const auto list = GetJson("/canaryConfig?application=guestbook&configurationAccountName=intuit-kayenta");
  ASSERT_EQ(list.as_array().size(), 1u);
  EXPECT_EQ(list.as_array()[0].at("name").as_string(), "my-test");
  EXPECT_EQ(list.as_array()[0].at("id").as_string(), config_id);
  EXPECT_TRUE(list.as_array()[0].as_object().contains("updatedTimestampIso"));
  EXPECT_EQ(GetJson("/canaryConfig?application=other").as_array().size(), 0u);

  // 2. POST /canary/{configId}?... -> exactly 200 with canaryExecutionId.
  const std::string body = R"json({"scopes": {"default": {
      "controlScope": {"scope": "stable", "location": "us-west-2", "step": 60,
                       "start": "2019-03-29T01:08:34Z", "end": "2019-03-29T01:18:34Z"},
      "experimentScope": {"scope": "canary", "location": "us-west-2", "step": 60,
                          "start": "2019-03-29T01:08:34Z", "end": "2019-03-29T01:18:34Z"}}},
      "thresholds": {"pass": 90, "marginal": 75}})json";
  const auto started = client.Post("/canary/" + config_id +
                                       "?application=guestbook&metricsAccountName=prom&configurationAccountName="
                                       "intuit-kayenta&storageAccountName=intuit-kayenta",
                                   body, {{"Content-Type", "application/json"}});
  ASSERT_EQ(started.status, 200) << started.body;
  const std::string exec_id(json::parse(started.body).at("canaryExecutionId").as_string());

  // 3. GET /canary/{id}: complete false while running, then result.judgeResult.score.score.
  auto status = GetJson("/canary/" + exec_id);
  EXPECT_FALSE(status.at("complete").as_bool());
  EXPECT_EQ(status.at("status").as_string(), "running");
  for (int i = 0; i < 12 * 4; ++i) {
    clock_.Advance(std::chrono::seconds(15));
    Send(1.0);
    service_->Housekeeping();
  }
  status = GetJson("/canary/" + exec_id);
  ASSERT_TRUE(status.at("complete").as_bool()) << status;
  EXPECT_EQ(status.at("status").as_string(), "succeeded");
  EXPECT_EQ(status.at("result").at("judgeResult").at("score").at("score").to_number<double>(), 100);
  EXPECT_EQ(status.at("result").at("judgeResult").at("judgeName").as_string(), "NetflixACAJudge-v1.0");
  EXPECT_EQ(status.at("canaryConfigId").as_string(), config_id);

  // CRUD: PUT, GET by id, DELETE, 404s.
  const auto put = client.Raw("PUT /canaryConfig/" + config_id + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                              std::to_string(std::string(kKayentaConfig).size()) + "\r\n\r\n" + kKayentaConfig);
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(GetJson("/canaryConfig/" + config_id).at("name").as_string(), "my-test");
  testutil::HttpClient raw(service_->port());
  EXPECT_EQ(raw.Raw("DELETE /canaryConfig/" + config_id + " HTTP/1.1\r\nHost: x\r\n\r\n").status, 200);
  GetJson("/canaryConfig/" + config_id, 404);
  GetJson("/canary/unknown", 404);
  EXPECT_EQ(client.Post("/canary/unknown", body, {}).status, 404);
  const auto bad = client.Post("/canaryConfig", R"({"metrics": [{"name": 3}]})", {});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("metrics[0].name"), std::string::npos) << bad.body;
}

}  // namespace
}  // namespace canaryd::testing

namespace canaryd::testing {
namespace {

constexpr const char* kFlaggerConfig = R"json({
  "name": "flagger-latency",
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "templates": {"app": "app=\"${scope}\",namespace=\"${namespace}\""},
  "classifier": {"groupWeights": {"latency": 100}},
  "metrics": [{"name": "latency", "groups": ["latency"], "scopeName": "default",
               "analysisConfigurations": {"canary": {"direction": "increase"}},
               "query": {"type": "prometheus", "metricName": "latency_seconds", "customFilterTemplate": "app"}}]
})json";

// Flagger's CanaryWebhookPayload, as it posts it.
std::string FlaggerPayload(const std::string& checksum) {
  return R"({"name":"podinfo","namespace":"test","phase":"Progressing","checksum":")" + checksum +
         R"(","metadata":{"canaryConfig":"flagger-latency","lifetime":"10m","interval":"5m"}})";
}

class FlaggerApiTest : public AnalysesApiTest {
 protected:
  void Send(double factor) {
    prometheus::WriteRequest req;
    std::normal_distribution<double> noise(0.2, 0.02);
    for (int pod = 0; pod < 3; ++pod) {
      for (const char* app : {"podinfo-primary", "podinfo"}) {
        const double v = noise(rng_) * (std::string(app) == "podinfo" ? factor : 1.0);
        testutil::AddSeries(req, {{"__name__", "latency_seconds"}, {"app", app}, {"namespace", "test"},
                                  {"pod", std::string(app) + "-" + std::to_string(pod)}},
                            {{clock_.NowMillis(), v}});
      }
    }
    auto client = Client();
    ASSERT_EQ(client.Post("/api/v1/write", testutil::Snappy(testutil::Encode(req)), V1Headers()).status, 204);
  }
};

TEST_F(FlaggerApiTest, PreRolloutStartsAndRolloutGatesOnTheVerdict) {
  auto client = Client();
  ASSERT_EQ(client.Post("/canaryConfig", kFlaggerConfig, {{"Content-Type", "application/json"}}).status, 200);
  const auto json_headers = std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"}};

  auto gate = client.Post("/api/v1/flagger/rollout", FlaggerPayload("85d557f47b"), json_headers);
  EXPECT_EQ(gate.status, 404) << gate.body;  // no pre-rollout yet: a failed check, explained
  EXPECT_NE(gate.body.find("pre-rollout"), std::string::npos);

  const auto started = client.Post("/api/v1/flagger/pre-rollout", FlaggerPayload("85d557f47b"), json_headers);
  ASSERT_EQ(started.status, 200) << started.body;
  const std::string id(json::parse(started.body).at("analysisId").as_string());
  const auto again = client.Post("/api/v1/flagger/pre-rollout", FlaggerPayload("85d557f47b"), json_headers);
  EXPECT_EQ(json::parse(again.body).at("analysisId").as_string(), id);  // idempotent per revision

  gate = client.Post("/api/v1/flagger/rollout", FlaggerPayload("85d557f47b"), json_headers);
  EXPECT_EQ(gate.status, 200) << gate.body;
  EXPECT_EQ(json::parse(gate.body).at("verdict").as_string(), "CONTINUE");

  for (int i = 0; i < 7 * 4; ++i) {
    clock_.Advance(std::chrono::seconds(15));
    Send(1.6);
    service_->Housekeeping();
  }
  gate = client.Post("/api/v1/flagger/rollout", FlaggerPayload("85d557f47b"), json_headers);
  EXPECT_EQ(gate.status, 409) << gate.body;
  EXPECT_EQ(json::parse(gate.body).at("verdict").as_string(), "FAIL");
  EXPECT_NE(gate.body.find("not above the marginal threshold"), std::string::npos) << gate.body;

  // A new revision (checksum) gets its own analysis.
  const auto next = client.Post("/api/v1/flagger/pre-rollout", FlaggerPayload("99aa00bb11"), json_headers);
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_NE(json::parse(next.body).at("analysisId").as_string(), id);

  const auto missing = client.Post("/api/v1/flagger/pre-rollout",
                                   R"({"name":"x","namespace":"y","checksum":"z","metadata":{}})", json_headers);
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("canaryConfig"), std::string::npos);
  const auto unknown = client.Post("/api/v1/flagger/pre-rollout",
                                   R"({"name":"x","namespace":"y","checksum":"z","metadata":{"canaryConfig":"nope"}})",
                                   json_headers);
  EXPECT_EQ(unknown.status, 404);
}

}  // namespace
}  // namespace canaryd::testing

namespace canaryd::testing {
namespace {

std::string Put(uint16_t port, const std::string& target, const std::string& body, int& status) {
  testutil::HttpClient c(port);
  const auto r = c.Raw("PUT " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
  status = r.status;
  return r.body;
}

// One Argo `web` metric with method PUT both starts the analysis and polls it.
TEST_F(AnalysesApiTest, PutCreatesOnceWithAClientChosenIdThenAnswersTheVerdict) {
  int status = 0;
  auto body = Put(service_->port(), "/api/v1/analyses/guestbook-7f9c4d", kRequest, status);
  EXPECT_EQ(status, 201) << body;
  EXPECT_EQ(json::parse(body).at("verdict").as_string(), "CONTINUE");
  EXPECT_EQ(json::parse(body).at("id").as_string(), "guestbook-7f9c4d");
  body = Put(service_->port(), "/api/v1/analyses/guestbook-7f9c4d", kRequest, status);
  EXPECT_EQ(status, 200) << body;
  body = Put(service_->port(), "/api/v1/analyses/guestbook-7f9c4d", "", status);  // body ignored once it exists
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(GetJson("/api/v1/analyses").at("analyses").as_array().size(), 1u);
  body = Put(service_->port(), "/api/v1/analyses/bad..id", kRequest, status);
  EXPECT_EQ(status, 400) << body;
  EXPECT_NE(body.find("\"path\":\"id\""), std::string::npos) << body;
}

}  // namespace
}  // namespace canaryd::testing

namespace canaryd::testing {
namespace {

TEST_F(AnalysesApiTest, ExplicitWindowsAndBaselineOffset) {
  auto client = Client();
  json::object body = json::parse(kRequest).as_object();
  body.erase("lifetime");
  body["baselineOffset"] = "10m";
  auto& scopes = body["scopes"].as_object()["default"].as_object();
  // A window that ended an hour ago cannot be judged: no history.
  for (const char* side : {"controlScope", "experimentScope"}) {
    scopes[side].as_object()["start"] = FormatIsoInstant(clock_.NowMillis() - 2 * 3'600'000);
    scopes[side].as_object()["end"] = FormatIsoInstant(clock_.NowMillis() - 3'600'000);
  }
  auto r = client.Post("/api/v1/analyses", json::serialize(body), {});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("already ended"), std::string::npos) << r.body;
  // A window from now to 20 minutes ahead: its length is the lifetime.
  for (const char* side : {"controlScope", "experimentScope"}) {
    scopes[side].as_object()["start"] = FormatIsoInstant(clock_.NowMillis());
    scopes[side].as_object()["end"] = FormatIsoInstant(clock_.NowMillis() + 20 * 60'000);
  }
  r = client.Post("/api/v1/analyses", json::serialize(body), {});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id(json::parse(r.body).at("id").as_string());
  const auto full = GetJson("/api/v1/analyses/" + id);
  EXPECT_EQ(full.at("lifetimeMillis").to_number<int64_t>(), 20 * 60'000);
  EXPECT_EQ(full.at("intervals").to_number<int>(), 2);
}

TEST_F(AnalysesApiTest, AnalysisFromAStoredConfig) {
  auto client = Client();
  const json::value request = json::parse(kRequest);
  const std::string config = json::serialize(request.at("canaryConfig"));
  const auto stored = client.Post("/api/v1/canary-configs", config, {{"Content-Type", "application/json"}});
  ASSERT_EQ(stored.status, 200) << stored.body;
  const std::string config_id(json::parse(stored.body).at("canaryConfigId").as_string());
  EXPECT_EQ(GetJson("/api/v1/canary-configs/" + config_id).at("name").as_string(), "checkout");
  json::object by_ref = request.as_object();
  by_ref.erase("canaryConfig");
  by_ref["canaryConfigId"] = "checkout";  // by name
  const auto created = client.Post("/api/v1/analyses", json::serialize(by_ref), {});
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(json::parse(created.body).at("id").as_string());
  EXPECT_EQ(GetJson("/api/v1/analyses/" + id).at("canaryConfig").at("name").as_string(), "checkout");
  by_ref["canaryConfigId"] = "missing";
  const auto bad = client.Post("/api/v1/analyses", json::serialize(by_ref), {});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("canaryConfigId"), std::string::npos) << bad.body;
  json::object both = request.as_object();
  both["canaryConfigId"] = config_id;
  EXPECT_EQ(client.Post("/api/v1/analyses", json::serialize(both), {}).status, 400);
}

}  // namespace
}  // namespace canaryd::testing
