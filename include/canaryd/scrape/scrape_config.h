#pragma once
// The `scrape_configs` section of canaryd's YAML, in Prometheus's shape (docs/scraping.md lists
// every key). These are plain values: the config module parses them from YAML (start-up work,
// errors are exceptions there) and the ScrapeManager reads them.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace canaryd::scrape {

/// A group of targets sharing labels: one entry of `static_configs`, or one entry of a
/// file_sd file.
struct TargetGroup {
  std::vector<std::string> targets;           // "host:port"
  std::map<std::string, std::string> labels;  // added to every series of these targets
};

struct FileSdConfig {
  /// Paths of JSON or YAML files; the last path element may be a glob (`*.json`, `targets/*.yml`).
  std::vector<std::string> files;
  /// Files are re-read when their modification time or size changes (checked every second) and
  /// at least this often.
  std::chrono::milliseconds refresh_interval{std::chrono::minutes(5)};
};

struct TlsConfig {
  std::string ca_file;    // PEM CAs to trust; "" = the system trust store
  std::string cert_file;  // client certificate (mTLS), with key_file
  std::string key_file;
  std::string server_name;  // SNI and the name verified; "" = the target's host
  bool insecure_skip_verify = false;
};

struct ScrapeConfig {
  std::string job_name;
  std::chrono::milliseconds scrape_interval{std::chrono::minutes(1)};
  std::chrono::milliseconds scrape_timeout{std::chrono::seconds(10)};
  std::string metrics_path = "/metrics";
  std::string scheme = "http";  // "http" or "https"
  std::map<std::string, std::vector<std::string>> params;  // URL query parameters
  bool honor_labels = false;
  bool honor_timestamps = true;
  /// basic_auth: username with password or password_file.
  struct BasicAuth {
    std::string username;
    std::string password;
    std::string password_file;
  };
  std::optional<BasicAuth> basic_auth;
  /// authorization: `type` (default Bearer) with credentials or credentials_file.
  struct Authorization {
    std::string type = "Bearer";
    std::string credentials;
    std::string credentials_file;
  };
  std::optional<Authorization> authorization;
  TlsConfig tls_config;
  /// Uncompressed body size limit; 0 = canaryd's default cap (see ScrapeOptions).
  uint64_t body_size_limit = 0;
  /// A scrape with more samples than this fails as a whole; 0 = unlimited.
  uint64_t sample_limit = 0;
  /// Same semantics as Prometheus; 0 = unlimited.
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
  std::vector<TargetGroup> static_configs;
  std::vector<FileSdConfig> file_sd_configs;
};

/// Scraper-wide settings: the YAML `global` section and canaryd's own defaults.
struct ScrapeOptions {
  /// Body cap when a job sets no body_size_limit (vmagent's default; Prometheus has none).
  uint64_t default_body_size_limit = 16ull << 20;
  /// Threads running scrapes (parsing and ingesting happen on them).
  unsigned threads = 1;
  /// Sent as User-Agent.
  std::string user_agent = "canaryd";
};

}  // namespace canaryd::scrape
