// `canaryd demo` as `.ci/run` runs it: the real binary, its exit code and its JSON result. Each run
// takes about its --duration plus a few seconds (label `integration`).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "run_command.h"

namespace {

using CliRun = canaryd::testutil::CommandResult;

CliRun Canaryd(const std::string& args) { return canaryd::testutil::RunCommand(CANARYD_BINARY, args); }

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/demo_cli_" + std::to_string(getpid()) + "_" + name;
}

boost::json::object ReadResult(const std::string& path) {
  std::ifstream f(path);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << path << ": " << ec.message() << "\n" << text;
  EXPECT_TRUE(v.is_object()) << text;
  return v.is_object() ? v.as_object() : boost::json::object{};
}

// Classification of `metric` in the result's latest judge result.
std::string Classification(const boost::json::object& result, const std::string& metric) {
  const auto* judge = result.if_contains("judgeResult");
  if (judge == nullptr || !judge->is_object()) return "";
  for (const auto& r : judge->at("results").as_array()) {
    if (r.at("name").as_string() == metric) return std::string(r.at("classification").as_string());
  }
  return "";
}

TEST(DemoCliTest, NoRegressionPasses) {
  const std::string out = TempPath("none.json");
  const CliRun r = Canaryd("demo --regression none --duration 30s --output " + out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: PASS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("expected: PASS for regression \"none\": as expected"), std::string::npos)
      << r.out;
  // Not a terminal: plain lines, no cursor movement.
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  EXPECT_EQ(r.out.find('\033'), std::string::npos);
  const boost::json::object result = ReadResult(out);
  EXPECT_EQ(result.at("verdict").as_string(), "PASS");
  EXPECT_EQ(result.at("complete").as_bool(), true);
  EXPECT_EQ(result.at("intervalsJudged").to_number<int>(), 3);
  EXPECT_EQ(result.at("history").as_array().size(), 3u);
  EXPECT_EQ(result.at("canaryConfig").at("name").as_string(), "canaryd-demo");
  EXPECT_EQ(result.at("judgeResult").at("results").as_array().size(), 6u);
  EXPECT_FALSE(result.at("stepValues").as_array().empty());
  for (const char* metric : {"latency_p50", "latency_p90", "requests_in_flight", "error_rate",
                             "cpu_usage", "resident_memory"}) {
    EXPECT_EQ(Classification(result, metric), "Pass") << metric;
  }
  std::remove(out.c_str());
}

TEST(DemoCliTest, LatencyRegressionFails) {
  const std::string out = TempPath("latency.json");
  const CliRun r = Canaryd("demo --regression latency --duration 30s --output " + out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("verdict: FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("interval 1/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("latency_p90"), std::string::npos) << r.out;
  const boost::json::object result = ReadResult(out);
  EXPECT_EQ(result.at("verdict").as_string(), "FAIL");
  EXPECT_EQ(Classification(result, "latency_p50"), "High");
  EXPECT_EQ(Classification(result, "latency_p90"), "High");
  EXPECT_EQ(Classification(result, "error_rate"), "Pass");
  EXPECT_EQ(Classification(result, "cpu_usage"), "Pass");
  std::remove(out.c_str());
}

TEST(DemoCliTest, QuietPrintsOnlyTheVerdict) {
  const std::string out = TempPath("quiet.json");
  const CliRun r = Canaryd("demo --quiet --regression errors --duration 18s --output " + out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("samples scraped"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("interval 1/3"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;  // verdict, expected, file
  EXPECT_NE(r.out.find("verdict: FAIL"), std::string::npos) << r.out;
  EXPECT_EQ(ReadResult(out).at("verdict").as_string(), "FAIL");
  std::remove(out.c_str());
}

TEST(DemoCliTest, UsageErrorsExitTwo) {
  for (const char* args : {"demo --regression slow", "demo --duration 5s", "demo --duration soon",
                           "demo --bogus 1", "demo extra", "demo --seed -1"}) {
    const CliRun r = Canaryd(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find("canaryd: "), std::string::npos) << args << "\n" << r.err;
  }
  const CliRun help = Canaryd("demo --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--regression KIND"), std::string::npos) << help.out;
  const CliRun main_help = Canaryd("help");
  EXPECT_NE(main_help.out.find("  demo "), std::string::npos) << main_help.out;
}

}  // namespace
