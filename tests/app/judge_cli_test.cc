// `canaryd judge` as a user runs it: the verdict JSON on real files, and malformed input named by
// file and JSON path with exit code 2.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "run_command.h"

namespace {

using CliRun = canaryd::testutil::CommandResult;

CliRun Canaryd(const std::string& args) { return canaryd::testutil::RunCommand(CANARYD_BINARY, args); }

std::string TempFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

const std::string kConfig = std::string(CANARYD_APP_TESTDATA) + "/judge-config.json";
const std::string kPairs = std::string(CANARYD_APP_TESTDATA) + "/judge-pairs.json";

boost::json::object Find(const boost::json::array& results, const std::string& name,
                         const std::string& route = "") {
  for (const auto& r : results) {
    const auto& o = r.as_object();
    const auto& tags = o.at("tags").as_object();
    if (o.at("name") == name.c_str() &&
        (route.empty() || (tags.contains("route") && tags.at("route") == route.c_str()))) {
      return o;
    }
  }
  ADD_FAILURE() << "no result for " << name << " " << route;
  return {};
}

TEST(JudgeCliTest, JudgesFilesIntoKayentaShapedJson) {
  const CliRun r =
      Canaryd("judge --config " + kConfig + " --pairs " + kPairs + " --pass 95 --marginal 75");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const boost::json::object doc = boost::json::parse(r.out).as_object();
  EXPECT_EQ(doc.at("judgeName"), "NetflixACAJudge-v1.0");
  const auto& score = doc.at("score").as_object();
  // Groups: system 15 (Pass), errors 40 (Pass), latency 30 (High), traffic 15 (/cart Pass; /pay
  // Nodata counts in no total): 15 + 40 + 0 + 15.
  EXPECT_EQ(score.at("score").as_double(), 70.0);
  EXPECT_EQ(score.at("classification"), "Fail");
  EXPECT_EQ(doc.at("groupScores").as_array().size(), 4u);
  const auto& results = doc.at("results").as_array();
  ASSERT_EQ(results.size(), 5u);

  const auto latency = Find(results, "p99_latency");
  EXPECT_EQ(latency.at("classification"), "High");
  EXPECT_EQ(latency.at("critical"), false);
  EXPECT_EQ(latency.at("groups").as_array().at(0), "latency");
  EXPECT_EQ(latency.at("experimentMetadata").at("stats").at("count"), 60);
  EXPECT_GT(latency.at("resultMetadata").at("ratio").as_double(), 1.2);
  const auto& d = latency.at("details").as_object();
  EXPECT_EQ(d.at("rule"), "high");
  EXPECT_GT(d.at("ciLower").as_double(), d.at("bound").as_double());
  EXPECT_LT(d.at("pValue").as_double(), 1e-10);
  EXPECT_EQ(d.at("confLevel").as_double(), 0.98);
  EXPECT_EQ(d.at("tolerance").as_double(), 0.25);
  EXPECT_NE(std::string(latency.at("classificationReason").as_string())
                .find("p99_latency was classified as High: the 98% confidence interval"),
            std::string::npos);

  const auto pay = Find(results, "requests_per_second", "/pay");
  EXPECT_EQ(pay.at("classification"), "Nodata");
  EXPECT_TRUE(pay.at("details").at("ciLower").is_null());
  EXPECT_EQ(pay.at("details").at("experimentCount"), 0);
  EXPECT_EQ(pay.at("resultMetadata").at("ratio").as_double(), 1.0);

  const auto errors = Find(results, "http_5xx_rate");  // nanStrategy replace: the NaN became 0
  EXPECT_EQ(errors.at("experimentMetadata").at("stats").at("count"), 60);

  // Default thresholds 75/50.
  const CliRun d2 = Canaryd("judge --config " + kConfig + " --pairs " + kPairs);
  ASSERT_EQ(d2.exit_code, 0);
  EXPECT_EQ(boost::json::parse(d2.out).at("score").at("classification"), "Marginal");
}

TEST(JudgeCliTest, SameSeedSameOutput) {
  const std::string pairs = TempFile(
      "constant-pairs.json",
      R"([{"name": "cpu_usage", "values": {"control": [1, 1, 1, 1], "experiment": [10, 10, 10]}}])");
  const CliRun a = Canaryd("judge --seed 7 --config " + kConfig + " --pairs " + pairs);
  const CliRun b = Canaryd("judge --seed 7 --config " + kConfig + " --pairs " + pairs);
  const CliRun c = Canaryd("judge --seed 8 --config " + kConfig + " --pairs " + pairs);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);  // the noise differs, the verdict does not
  const boost::json::value doc = boost::json::parse(a.out);
  const auto& r = doc.at("results").at(0);
  EXPECT_EQ(r.at("classification"), "High");
  EXPECT_EQ(r.at("details").at("noiseAdded"), true);
  EXPECT_EQ(boost::json::parse(c.out).at("results").at(0).at("classification"), "High");
  // Metrics of the config without a pair are reported on stderr.
  EXPECT_NE(a.err.find("warning: metric \"p99_latency\" has no pair"), std::string::npos) << a.err;
}

TEST(JudgeCliTest, HelpDescribesTheCommand) {
  const CliRun h = Canaryd("judge --help");
  EXPECT_EQ(h.exit_code, 0);
  for (const char* what : {"--config", "--pairs", "--pass", "--marginal", "--seed", "\"NaN\"",
                           "CanaryJudgeResult", "Exit codes"}) {
    EXPECT_NE(h.out.find(what), std::string::npos) << what;
  }
  EXPECT_EQ(Canaryd("help judge").out, h.out);
  EXPECT_NE(Canaryd("--help").out.find("judge "), std::string::npos);
}

TEST(JudgeCliTest, MalformedPairsNameFileAndPath) {
  const std::string bad_value = TempFile(
      "bad-value.json", R"([{"name": "cpu_usage", "values": {"control": [1], "experiment": [2]}},
        {"name": "cpu_usage", "values": {"control": [1, 2, 3, "abc"], "experiment": [2]}}])");
  CliRun r = Canaryd("judge --config " + kConfig + " --pairs " + bad_value);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find(bad_value + ": [1].values.control[3]: expected a number, \"NaN\" or null, "
                                   "got \"abc\""),
            std::string::npos)
      << r.err;

  const std::string no_values = TempFile("no-values.json", R"([{"name": "cpu_usage"}])");
  r = Canaryd("judge --config " + kConfig + " --pairs " + no_values);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(no_values + ": [0].values: required"), std::string::npos) << r.err;

  const std::string syntax = TempFile("syntax.json", "[\n  {\"name\": \"cpu_usage\",\n");
  r = Canaryd("judge --config " + kConfig + " --pairs " + syntax);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(syntax + ": invalid JSON at line 3"), std::string::npos) << r.err;

  const std::string unknown = TempFile(
      "unknown.json", R"([{"name": "nope", "values": {"control": [1], "experiment": [2]}}])");
  r = Canaryd("judge --config " + kConfig + " --pairs " + unknown);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(unknown + ": [0].name: metric \"nope\" is not in the canary config"),
            std::string::npos)
      << r.err;
}

TEST(JudgeCliTest, MalformedConfigListsEveryProblem) {
  const std::string config = TempFile("bad-config.json", R"({"metrics": [
      {"name": "cpu_usage", "query": {"type": "prometheus"},
       "analysisConfigurations": {"canary": {"direction": "up", "critical": "yes"}}}]})");
  const CliRun r = Canaryd("judge --config " + config + " --pairs " + kPairs);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(config + ": metrics[0].analysisConfigurations.canary.direction: expected "
                                "one of \"increase\", \"decrease\", \"either\", got \"up\""),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(config + ": metrics[0].analysisConfigurations.canary.critical: expected "
                                "true or false"),
            std::string::npos)
      << r.err;
}

TEST(JudgeCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Canaryd("judge --config " + kConfig).exit_code, 2);
  CliRun r = Canaryd("judge --config /nonexistent/c.json --pairs " + kPairs);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/c.json: cannot open"), std::string::npos) << r.err;
  r = Canaryd("judge --config " + kConfig + " --pairs " + kPairs + " --pass high");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--pass: \"high\" is not a number"), std::string::npos) << r.err;
  r = Canaryd("judge --config " + kConfig + " --pairs " + kPairs + " --seed -1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Canaryd("judge --frob 1").exit_code, 2);
}

}  // namespace
