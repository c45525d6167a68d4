// The canaryd binary as a user runs it: help, exit codes, config errors, serve and SIGTERM.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "http_client.h"

namespace {

struct Run {
  int exit_code;
  std::string output;  // stdout and stderr
};

Run Canaryd(const std::string& args) {
  const std::string cmd = std::string(CANARYD_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) {
    out.append(buf.data(), n);
  }
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string TempFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

TEST(CliTest, HelpAnswersQuestions) {
  auto r = Canaryd("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("serve"), std::string::npos);
  EXPECT_NE(r.output.find("check-config"), std::string::npos);
  auto s = Canaryd("serve --help");
  EXPECT_EQ(s.exit_code, 0);
  for (const char* what : {"--config", "--listen-address", "/api/v1/write", "/metrics", "SIGTERM",
                           "remote_write:"}) {
    EXPECT_NE(s.output.find(what), std::string::npos) << what;
  }
  EXPECT_EQ(Canaryd("help serve").output, s.output);
  EXPECT_EQ(Canaryd("version").exit_code, 0);
}

TEST(CliTest, UsageErrorsExitTwo) {
  auto r = Canaryd("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown command \"frobnicate\""), std::string::npos) << r.output;
  auto f = Canaryd("serve --no-such-flag 1");
  EXPECT_EQ(f.exit_code, 2);
  EXPECT_NE(f.output.find("unknown flag --no-such-flag"), std::string::npos) << f.output;
  EXPECT_EQ(Canaryd("").exit_code, 2);
}

TEST(CliTest, CheckConfigNamesFileLineAndField) {
  const auto good = TempFile("good.yaml", "server:\n  listen_address: 127.0.0.1:9999\n");
  auto ok = Canaryd("check-config " + good);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("server.listen_address: 127.0.0.1:9999"), std::string::npos);
  const auto bad = TempFile("bad.yaml", "server:\n  threads: 2\n  idle_timout: 5s\n");
  auto err = Canaryd("check-config " + bad);
  EXPECT_EQ(err.exit_code, 2);
  EXPECT_NE(err.output.find(bad + ":3:3: server.idle_timout: unknown key"), std::string::npos)
      << err.output;
  auto missing = Canaryd("serve --config /nonexistent/canaryd.yaml");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("/nonexistent/canaryd.yaml: cannot open"), std::string::npos);
}

TEST(CliTest, ServeAnswersThenStopsCleanlyOnSigterm) {
  // Find a free port by binding to 0 through a short-lived serve is racy; pick from the
  // ephemeral range and retry if taken.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = 20000 + (getpid() * 7 + attempt * 131) % 20000;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const std::string addr = "127.0.0.1:" + std::to_string(port);
      execl(CANARYD_BINARY, CANARYD_BINARY, "serve", "--listen-address", addr.c_str(),
            "--log.level", "error", static_cast<char*>(nullptr));
      _exit(127);
    }
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      canaryd::testutil::HttpClient client(static_cast<uint16_t>(port));
      up = client.Get("/-/ready").status == 200;
    }
    int status = 0;
    if (!up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      continue;  // port taken: try another
    }
    canaryd::testutil::HttpClient client(static_cast<uint16_t>(port));
    EXPECT_EQ(client.Get("/-/healthy").status, 200);
    EXPECT_NE(client.Get("/metrics").body.find("canaryd_build_info"), std::string::npos);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    return;
  }
  FAIL() << "could not start canaryd serve on any port";
}

}  // namespace
