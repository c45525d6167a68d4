#pragma once
// canaryd's YAML configuration (documented in docs/configuration.md). Loading is start-up work,
// so errors are exceptions (ConfigError) whose message names the file, line, column and field.

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/common/duration.h"
#include "canaryd/ingest/remote_write_handler.h"
#include "canaryd/scrape/scrape_config.h"
#include "canaryd/server/http_server.h"
#include "canaryd/window/window_store.h"

namespace canaryd::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Config {
  std::string log_level = "info";
  server::ServerOptions server;
  ingest::RemoteWriteOptions remote_write;
  /// Series with no sample for this long leave the series table.
  std::chrono::seconds series_retention{std::chrono::minutes(15)};
  /// Step windows of analyses: lookback delta, late allowance, size limits.
  window::WindowOptions windows;
  /// Where analyses (definitions, interval history), stored canary configs and the webhook
  /// outbox are kept across restarts; "" = nowhere.
  std::string data_dir;
  /// How users reach canaryd (links in webhook payloads); "" = http://<listen_address>.
  std::string external_url;
  struct Webhooks {
    /// A delivery not made within this long after its event is dropped and counted.
    std::chrono::milliseconds max_age{std::chrono::hours(24)};
    /// PEM CA certificates trusted for https webhooks; "" = the system trust store.
    std::string ca_file;
    /// Retry n waits uniform(0, min(backoff_cap, backoff_base * 2^(n-1))).
    std::chrono::milliseconds backoff_base{std::chrono::seconds(1)};
    std::chrono::milliseconds backoff_cap{std::chrono::minutes(5)};
  } webhooks;
  /// The embedded scraper: `global` scrape defaults and the `scrape_configs` jobs.
  scrape::ScrapeOptions scrape;
  std::vector<scrape::ScrapeConfig> scrape_configs;
};

/// Parses YAML text; `source` names it in error messages (a file path, or "<string>").
/// Unknown keys, wrong types and out-of-range values are errors. Missing keys keep defaults.
Config ParseConfig(std::string_view yaml, std::string_view source = "<string>");

/// Reads and parses a file.
Config LoadConfigFile(const std::string& path);

/// "host:port" -> ServerOptions address and port; throws ConfigError naming `field`.
void ParseListenAddress(std::string_view value, std::string_view field, server::ServerOptions& out);

using canaryd::ParseDuration;

/// Byte sizes: "32MiB", "512KB", "1GiB", "1048576". Returns false if malformed.
bool ParseByteSize(std::string_view text, uint64_t& out);

}  // namespace canaryd::config
