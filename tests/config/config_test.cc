#include "canaryd/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include <unistd.h>

namespace canaryd::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ErrorOf(std::string_view yaml, std::string_view source = "canaryd.yaml") {
  try {
    ParseConfig(yaml, source);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError for:\n" << yaml;
  return "";
}

// ---- ParseDuration ----

std::optional<int64_t> Ms(std::string_view s) {
  std::chrono::milliseconds d{-12345};
  if (!ParseDuration(s, d)) return std::nullopt;
  return d.count();
}

TEST(ParseDurationTest, AcceptsPrometheusSyntax) {
  EXPECT_EQ(Ms("0"), 0);
  EXPECT_EQ(Ms("0s"), 0);
  EXPECT_EQ(Ms("500ms"), 500);
  EXPECT_EQ(Ms("15s"), 15'000);
  EXPECT_EQ(Ms("5m"), 300'000);
  EXPECT_EQ(Ms("1h30m"), 5'400'000);
  EXPECT_EQ(Ms("2d"), 172'800'000);
  EXPECT_EQ(Ms("1w"), 604'800'000);
  EXPECT_EQ(Ms("1y"), 31'536'000'000);
  EXPECT_EQ(Ms("1h1m1s1ms"), 3'661'001);
  EXPECT_EQ(Ms("1y2w3d4h5m6s7ms"), 31'536'000'000 + 2 * 604'800'000 + 3 * 86'400'000 +
                                       4 * 3'600'000 + 5 * 60'000 + 6'000 + 7);
  EXPECT_EQ(Ms("90m"), 5'400'000);  // no carrying rules: 90m is fine
  EXPECT_EQ(Ms("007s"), 7'000);
}

TEST(ParseDurationTest, RejectsMalformed) {
  for (const char* bad : {"", "5", "10x", "5m1h", "1s1s", "1ms1s", "1h30", "h", "ms", "-5s",
                          "+5s", "1.5h", "5 m", " 5m", "5m ", "5M", "5S", "1h-30m", "1d1y",
                          "0x10s", "1e3s", "5mm", "5sm", "9223372036854775808ms"}) {
    EXPECT_EQ(Ms(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(ParseDurationTest, RejectsOverflow) {
  // Each part on its own fits, but the sum would overflow int64 milliseconds.
  EXPECT_EQ(Ms("146000000y7000000000w"), int64_t{146000000} * 31'536'000'000 +
                                              int64_t{7000000000} * 604'800'000);
  EXPECT_EQ(Ms("146000000y7000000000w5000000000d"), std::nullopt);
  EXPECT_EQ(Ms("146000000y7000000000w5000000000d4000000000h"), std::nullopt);
  EXPECT_EQ(Ms("9223372036854775807ms"), std::nullopt);  // over Prometheus's limit too
  EXPECT_EQ(Ms("300000000y"), std::nullopt);
  EXPECT_EQ(Ms("100000y"), int64_t{100000} * 31'536'000'000);
}

TEST(ParseDurationTest, LeavesOutputAloneOnFailure) {
  std::chrono::milliseconds d{42};
  EXPECT_FALSE(ParseDuration("10x", d));
  EXPECT_EQ(d.count(), 42);
}

// ---- ParseByteSize ----

std::optional<uint64_t> Bytes(std::string_view s) {
  uint64_t v = 777;
  if (!ParseByteSize(s, v)) return std::nullopt;
  return v;
}

TEST(ParseByteSizeTest, AcceptsUnits) {
  EXPECT_EQ(Bytes("0"), 0u);
  EXPECT_EQ(Bytes("1048576"), 1048576u);
  EXPECT_EQ(Bytes("10B"), 10u);
  EXPECT_EQ(Bytes("512KB"), 512'000u);
  EXPECT_EQ(Bytes("3MB"), 3'000'000u);
  EXPECT_EQ(Bytes("2GB"), 2'000'000'000u);
  EXPECT_EQ(Bytes("512KiB"), 512u << 10);
  EXPECT_EQ(Bytes("32MiB"), 32u << 20);
  EXPECT_EQ(Bytes("1GiB"), 1u << 30);
  EXPECT_EQ(Bytes("16GiB"), uint64_t{16} << 30);
  EXPECT_EQ(Bytes("18446744073709551615"), UINT64_MAX);
}

TEST(ParseByteSizeTest, RejectsMalformed) {
  for (const char* bad : {"", "MiB", "1.5MiB", "32 MiB", " 32", "32mib", "32mb", "32K", "32Ki",
                          "-1", "+1", "1TiB", "0x10", "18446744073709551616", "17179869184GiB",
                          "18446744073709551615B0"}) {
    EXPECT_EQ(Bytes(bad), std::nullopt) << '"' << bad << '"';
  }
}

// ---- ParseListenAddress ----

TEST(ParseListenAddressTest, AcceptsHostPortForms) {
  server::ServerOptions o;
  ParseListenAddress("127.0.0.1:9464", "f", o);
  EXPECT_EQ(o.address, "127.0.0.1");
  EXPECT_EQ(o.port, 9464);
  ParseListenAddress("0.0.0.0:0", "f", o);
  EXPECT_EQ(o.address, "0.0.0.0");
  EXPECT_EQ(o.port, 0);
  ParseListenAddress(":8080", "f", o);
  EXPECT_EQ(o.address, "0.0.0.0");
  EXPECT_EQ(o.port, 8080);
  ParseListenAddress("[::1]:65535", "f", o);
  EXPECT_EQ(o.address, "::1");
  EXPECT_EQ(o.port, 65535);
  ParseListenAddress("localhost:1", "f", o);
  EXPECT_EQ(o.address, "localhost");
}

TEST(ParseListenAddressTest, RejectsBadAddressesNamingTheField) {
  for (const char* bad : {"9464", "localhost", "host:", "host:65536", "host:-1", "host:http",
                          "host:80x", "host: 80", ""}) {
    server::ServerOptions o;
    try {
      ParseListenAddress(bad, "server.listen_address", o);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), StartsWith("server.listen_address: ")) << bad;
    }
  }
}

// ---- ParseConfig ----

TEST(ParseConfigTest, EmptyDocumentGivesDefaults) {
  for (const char* yaml : {"", "# just a comment\n", "---\n", "{}"}) {
    const Config c = ParseConfig(yaml);
    const Config d;
    EXPECT_EQ(c.log_level, "info");
    EXPECT_EQ(c.server.address, d.server.address);
    EXPECT_EQ(c.server.port, 9464);
    EXPECT_EQ(c.server.threads, 0u);
    EXPECT_EQ(c.server.idle_timeout, d.server.idle_timeout);
    EXPECT_EQ(c.server.read_timeout, d.server.read_timeout);
    EXPECT_EQ(c.server.write_timeout, d.server.write_timeout);
    EXPECT_EQ(c.server.shutdown_grace, d.server.shutdown_grace);
    EXPECT_EQ(c.server.max_connections, d.server.max_connections);
    EXPECT_EQ(c.remote_write.max_body_bytes, 32u << 20);
    EXPECT_EQ(c.remote_write.max_decoded_bytes, 32u << 20);
    EXPECT_EQ(c.remote_write.max_inflight_bytes, 256u << 20);
    EXPECT_EQ(c.remote_write.max_future, 10min);
    EXPECT_EQ(c.remote_write.retry_after, 5s);
    EXPECT_EQ(c.series_retention, 15min);
  }
}

TEST(ParseConfigTest, EveryKey) {
  const Config c = ParseConfig(R"(
log:
  level: debug
server:
  listen_address: "[::]:19464"
  threads: 8
  max_connections: 100
  idle_timeout: 90s
  read_timeout: 5s
  write_timeout: 7s
  shutdown_grace_period: 0
remote_write:
  max_body_bytes: 8MiB
  max_decoded_bytes: 64MiB
  max_inflight_bytes: 1GiB
  max_future: 1m
  retry_after: 30s
series:
  retention: 1h30m
)");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.server.address, "::");
  EXPECT_EQ(c.server.port, 19464);
  EXPECT_EQ(c.server.threads, 8u);
  EXPECT_EQ(c.server.max_connections, 100u);
  EXPECT_EQ(c.server.idle_timeout, 90s);
  EXPECT_EQ(c.server.read_timeout, 5s);
  EXPECT_EQ(c.server.write_timeout, 7s);
  EXPECT_EQ(c.server.shutdown_grace, 0s);
  EXPECT_EQ(c.remote_write.max_body_bytes, 8u << 20);
  EXPECT_EQ(c.remote_write.max_decoded_bytes, 64u << 20);
  EXPECT_EQ(c.remote_write.max_inflight_bytes, 1u << 30);
  EXPECT_EQ(c.remote_write.max_future, 1min);
  EXPECT_EQ(c.remote_write.retry_after, 30s);
  EXPECT_EQ(c.series_retention, 90min);
}

TEST(ParseConfigTest, EveryLogLevel) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    EXPECT_EQ(ParseConfig(std::string("log:\n  level: ") + level).log_level, level);
  }
  EXPECT_THAT(ErrorOf("log:\n  level: verbose\n"),
              HasSubstr("canaryd.yaml:2:10: log.level: \"verbose\" is not one of"));
}

TEST(ParseConfigTest, UnknownKeyNamesFileLineColumnAndField) {
  EXPECT_THAT(ErrorOf("server:\n  threads: 2\n  listen_adress: \":1\"\n"),
              StartsWith("canaryd.yaml:3:3: server.listen_adress: unknown key (known keys: "));
  EXPECT_THAT(ErrorOf("server:\n  listen_adress: x\n"), HasSubstr("listen_address"));  // lists keys
  EXPECT_THAT(ErrorOf("servers: {}\n"), StartsWith("canaryd.yaml:1:1: servers: unknown key"));
  EXPECT_THAT(ErrorOf("remote_write:\n    max_bodybytes: 1\n"),
              StartsWith("canaryd.yaml:2:5: remote_write.max_bodybytes: unknown key"));
  EXPECT_THAT(ErrorOf("series:\n  retention: 1h\n  ttl: 1h\n"),
              StartsWith("canaryd.yaml:3:3: series.ttl: unknown key"));
  EXPECT_THAT(ErrorOf("log:\n  lvl: info\n", "/etc/canaryd/canaryd.yaml"),
              StartsWith("/etc/canaryd/canaryd.yaml:2:3: log.lvl: unknown key"));
}

TEST(ParseConfigTest, BadDurationMessages) {
  EXPECT_EQ(ErrorOf("server:\n  idle_timeout: 5 minutes\n"),
            "canaryd.yaml:2:17: server.idle_timeout: \"5 minutes\" is not a duration (examples: "
            "30s, 5m, 1h30m, 500ms)");
  EXPECT_THAT(ErrorOf("remote_write:\n  max_future: 5m1h\n"),
              StartsWith("canaryd.yaml:2:15: remote_write.max_future: \"5m1h\" is not a duration"));
  EXPECT_EQ(ErrorOf("server:\n  read_timeout: 0s\n"),
            "canaryd.yaml:2:17: server.read_timeout: must be greater than 0");
  EXPECT_THAT(ErrorOf("series:\n  retention: 0\n"), HasSubstr("series.retention: must be greater than 0"));
  EXPECT_THAT(ErrorOf("server:\n  write_timeout: [1s]\n"),
              HasSubstr("server.write_timeout: expected a scalar value"));
  EXPECT_THAT(ErrorOf("server:\n  write_timeout:\n"),
              HasSubstr("server.write_timeout: expected a scalar value"));
}

TEST(ParseConfigTest, SubSecondValuesOfSecondFieldsAreRejected) {
  // retry_after and retention are whole seconds: 500ms must not silently become 0s.
  EXPECT_THAT(ErrorOf("remote_write:\n  retry_after: 500ms\n"),
              HasSubstr("remote_write.retry_after: "));
  EXPECT_THAT(ErrorOf("series:\n  retention: 999ms\n"), HasSubstr("series.retention: "));
  EXPECT_EQ(ParseConfig("remote_write:\n  retry_after: 1s\n").remote_write.retry_after, 1s);
}

TEST(ParseConfigTest, BadSizeMessages) {
  EXPECT_EQ(ErrorOf("remote_write:\n  max_body_bytes: 32 MiB\n"),
            "canaryd.yaml:2:19: remote_write.max_body_bytes: \"32 MiB\" is not a positive byte size "
            "(examples: 32MiB, 1GiB, 65536)");
  EXPECT_THAT(ErrorOf("remote_write:\n  max_decoded_bytes: 0\n"),
              HasSubstr("remote_write.max_decoded_bytes: \"0\" is not a positive byte size"));
  EXPECT_THAT(ErrorOf("remote_write:\n  max_inflight_bytes: lots\n"),
              HasSubstr("remote_write.max_inflight_bytes: \"lots\""));
}

TEST(ParseConfigTest, BadIntegerMessages) {
  EXPECT_EQ(ErrorOf("server:\n  threads: 1025\n"),
            "canaryd.yaml:2:12: server.threads: \"1025\" is not an integer from 0 to 1024");
  EXPECT_THAT(ErrorOf("server:\n  threads: -1\n"), HasSubstr("server.threads: \"-1\""));
  EXPECT_THAT(ErrorOf("server:\n  threads: 2.5\n"), HasSubstr("server.threads: \"2.5\""));
  EXPECT_THAT(ErrorOf("server:\n  max_connections: 1000001\n"),
              HasSubstr("server.max_connections: \"1000001\" is not an integer from 0 to 1000000"));
  EXPECT_EQ(ParseConfig("server:\n  threads: 1024\n").server.threads, 1024u);
}

TEST(ParseConfigTest, BadListenAddressMessages) {
  EXPECT_EQ(ErrorOf("server:\n  listen_address: localhost\n"),
            "canaryd.yaml:2:19: server.listen_address: \"localhost\" is not host:port (example: "
            "127.0.0.1:9464, 0.0.0.0:9464, [::1]:9464)");
  EXPECT_EQ(ErrorOf("server:\n  listen_address: \"h:70000\"\n"),
            "canaryd.yaml:2:19: server.listen_address: port \"70000\" is not a number from 0 to 65535");
}

TEST(ParseConfigTest, StructureErrors) {
  EXPECT_THAT(ErrorOf("just a string\n"), HasSubstr("expected a mapping"));
  EXPECT_THAT(ErrorOf("- a\n- b\n"), HasSubstr("expected a mapping"));
  EXPECT_THAT(ErrorOf("server: 5\n"), HasSubstr("canaryd.yaml:1:9: server: expected a mapping"));
  EXPECT_THAT(ErrorOf("server:\n  - threads\n"), HasSubstr("server: expected a mapping"));
  EXPECT_THAT(ErrorOf("server: {threads: [1, 2}\n"), StartsWith("canaryd.yaml:1:"));
  EXPECT_THAT(ErrorOf("server:\n  threads: 1\n threads: 2\n"), HasSubstr("invalid YAML"));
}

TEST(ParseConfigTest, NonScalarKeyIsAConfigError) {
  // A key that is a sequence or a mapping must give a ConfigError, not a yaml-cpp exception.
  EXPECT_THAT(ErrorOf("? [a, b]\n: 1\n"), HasSubstr("canaryd.yaml:1:"));
  EXPECT_THAT(ErrorOf("server:\n  ? {a: 1}\n  : 2\n"), HasSubstr("canaryd.yaml:2:"));
}

TEST(ParseConfigTest, InflightMustHoldBodyPlusDecoded) {
  EXPECT_EQ(ErrorOf("remote_write:\n  max_body_bytes: 100MiB\n  max_decoded_bytes: 200MiB\n"),
            "canaryd.yaml: remote_write.max_inflight_bytes must be at least max_body_bytes + "
            "max_decoded_bytes (314572800)");
  // Exactly equal is fine.
  const Config c = ParseConfig(
      "remote_write:\n  max_body_bytes: 1MiB\n  max_decoded_bytes: 3MiB\n  max_inflight_bytes: 4MiB\n");
  EXPECT_EQ(c.remote_write.max_inflight_bytes, 4u << 20);
  EXPECT_THAT(ErrorOf("remote_write:\n  max_body_bytes: 1MiB\n  max_decoded_bytes: 3MiB\n"
                      "  max_inflight_bytes: 4194303\n"),
              HasSubstr("max_inflight_bytes must be at least"));
}

TEST(ParseConfigTest, InflightRuleDoesNotOverflow) {
  // body + decoded overflows 64 bits: the rule must still reject it.
  EXPECT_THAT(ErrorOf("remote_write:\n  max_body_bytes: 18446744073709551615\n"
                      "  max_decoded_bytes: 2\n  max_inflight_bytes: 18446744073709551615\n"),
              HasSubstr("max_inflight_bytes must be at least"));
}

TEST(LoadConfigFileTest, ReadsFileAndNamesItInErrors) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto path = (dir / ("canaryd_config_test_" + std::to_string(::getpid()) + ".yaml")).string();
  {
    std::ofstream out(path);
    out << "server:\n  threads: 3\n";
  }
  EXPECT_EQ(LoadConfigFile(path).server.threads, 3u);
  {
    std::ofstream out(path);
    out << "server:\n  thread: 3\n";
  }
  try {
    LoadConfigFile(path);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), StartsWith(path + ":2:3: server.thread: unknown key"));
  }
  std::filesystem::remove(path);
  try {
    LoadConfigFile(path);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), StartsWith(path + ": cannot open"));
  }
}

}  // namespace
}  // namespace canaryd::config

namespace canaryd::config {
namespace {

TEST(ParseConfigTest, WindowsSection) {
  const Config c = ParseConfig(
      "windows:\n"
      "  lookback_delta: 2m\n"
      "  late_allowance: 30s\n"
      "  max_steps: 720\n"
      "  max_tag_sets_per_metric: 20\n"
      "  max_samples_per_series: 100\n");
  EXPECT_EQ(c.windows.lookback_delta_ms, 120'000);
  EXPECT_EQ(c.windows.late_allowance_ms, 30'000);
  EXPECT_EQ(c.windows.max_steps, 720u);
  EXPECT_EQ(c.windows.max_tag_sets_per_metric, 20u);
  EXPECT_EQ(c.windows.max_samples_per_series, 100u);
  const Config d = ParseConfig("");
  EXPECT_EQ(d.windows.lookback_delta_ms, 300'000);
  EXPECT_EQ(d.windows.late_allowance_ms, 0);  // one step of each analysis
}

TEST(ParseConfigTest, WindowsErrorsNameTheField) {
  EXPECT_THAT(ErrorOf("windows:\n  max_steps: 0\n"),
              ::testing::AllOf(::testing::HasSubstr("canaryd.yaml:2:"),
                               ::testing::HasSubstr("windows.max_steps"),
                               ::testing::HasSubstr("at least 1")));
  EXPECT_THAT(ErrorOf("windows:\n  lookback_dleta: 1m\n"),
              ::testing::HasSubstr("windows.lookback_dleta"));
  EXPECT_THAT(ErrorOf("series:\n  retention: 4m\n"),
              ::testing::HasSubstr("series.retention must be longer than windows.lookback_delta"));
}

}  // namespace
}  // namespace canaryd::config
