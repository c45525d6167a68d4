#include "canaryd/config/config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace canaryd::config {
namespace {

std::string Where(std::string_view source, const YAML::Node& node) {
  const auto mark = node.Mark();
  std::string out(source);
  if (mark.line >= 0) {
    out += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  return out;
}

[[noreturn]] void Fail(std::string_view source, const YAML::Node& node, std::string_view field,
                       std::string_view what) {
  throw ConfigError(Where(source, node) + ": " + std::string(field) + ": " + std::string(what));
}

// Walks one mapping, calling the handler registered for each key; unknown keys are errors.
void ForEachKey(
    std::string_view source, const YAML::Node& node, std::string_view section,
    const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>&
        handlers) {
  if (node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    Fail(source, node, section, "expected a mapping");
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      // as<std::string>() would throw a yaml-cpp exception rather than a ConfigError.
      Fail(source, kv.first, section.empty() ? "<root>" : section, "keys must be plain strings");
    }
    const std::string key = kv.first.as<std::string>();
    const std::string field = section.empty() ? key : std::string(section) + "." + key;
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::string known;
      for (const auto& [k, _] : handlers) {
        known += known.empty() ? k : ", " + k;
      }
      Fail(source, kv.first, field, "unknown key (known keys: " + known + ")");
    }
    it->second(kv.second, field);
  }
}

std::string Scalar(std::string_view source, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) {
    Fail(source, n, field, "expected a scalar value");
  }
  return n.Scalar();
}

std::chrono::milliseconds Duration(std::string_view source, const YAML::Node& n,
                                   const std::string& field) {
  std::chrono::milliseconds d;
  const std::string s = Scalar(source, n, field);
  if (!ParseDuration(s, d)) {
    Fail(source, n, field, "\"" + s + "\" is not a duration (examples: 30s, 5m, 1h30m, 500ms)");
  }
  return d;
}

uint64_t Size(std::string_view source, const YAML::Node& n, const std::string& field) {
  uint64_t v;
  const std::string s = Scalar(source, n, field);
  if (!ParseByteSize(s, v) || v == 0) {
    Fail(source, n, field,
         "\"" + s + "\" is not a positive byte size (examples: 32MiB, 1GiB, 65536)");
  }
  return v;
}

uint64_t Unsigned(std::string_view source, const YAML::Node& n, const std::string& field,
                  uint64_t max) {
  const std::string s = Scalar(source, n, field);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > max) {
    Fail(source, n, field, "\"" + s + "\" is not an integer from 0 to " + std::to_string(max));
  }
  return v;
}

std::chrono::milliseconds Positive(std::string_view source, const YAML::Node& n,
                                   const std::string& field) {
  auto d = Duration(source, n, field);
  if (d.count() <= 0) {
    Fail(source, n, field, "must be greater than 0");
  }
  return d;
}

// For fields kept in whole seconds: a positive duration below 1s would silently become 0s.
std::chrono::seconds PositiveSeconds(std::string_view source, const YAML::Node& n,
                                     const std::string& field) {
  const auto d = std::chrono::duration_cast<std::chrono::seconds>(Positive(source, n, field));
  if (d.count() <= 0) {
    Fail(source, n, field, "must be at least 1s");
  }
  return d;
}

}  // namespace

bool ParseByteSize(std::string_view text, uint64_t& out) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p == text.data()) {
    return false;
  }
  std::string_view unit = text.substr(static_cast<size_t>(p - text.data()));
  static const std::pair<std::string_view, uint64_t> kUnits[] = {{"", 1},
                                                                 {"B", 1},
                                                                 {"KB", 1000},
                                                                 {"MB", 1000'000},
                                                                 {"GB", 1000'000'000},
                                                                 {"KiB", 1ULL << 10},
                                                                 {"MiB", 1ULL << 20},
                                                                 {"GiB", 1ULL << 30}};
  for (const auto& [name, mult] : kUnits) {
    if (unit == name) {
      if (n > UINT64_MAX / mult) {
        return false;
      }
      out = n * mult;
      return true;
    }
  }
  return false;
}

void ParseListenAddress(std::string_view value, std::string_view field,
                        server::ServerOptions& out) {
  // host:port, with [v6]:port for IPv6.
  const auto colon = value.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == value.size()) {
    throw ConfigError(std::string(field) + ": \"" + std::string(value) +
                      "\" is not host:port (example: 127.0.0.1:9464, 0.0.0.0:9464, [::1]:9464)");
  }
  std::string_view host = value.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const auto ps = value.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port > 65535) {
    throw ConfigError(std::string(field) + ": port \"" + std::string(ps) +
                      "\" is not a number from 0 to 65535");
  }
  out.address = host.empty() ? "0.0.0.0" : std::string(host);
  out.port = static_cast<uint16_t>(port);
}

Config ParseConfig(std::string_view yaml, std::string_view source) {
  Config cfg;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(std::string(source) + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  using Handlers =
      std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>;
  auto& srv = cfg.server;
  auto& rw = cfg.remote_write;
  ForEachKey(
      source, root, "",
      Handlers{
          {"log",
           [&](const YAML::Node& n, const std::string& f) {
             ForEachKey(source, n, f,
                        Handlers{{"level", [&](const YAML::Node& v, const std::string& ff) {
                                    cfg.log_level = Scalar(source, v, ff);
                                    static const char* kLevels[] = {"trace", "debug", "info",
                                                                    "warn",  "error", "off"};
                                    for (const char* l : kLevels) {
                                      if (cfg.log_level == l) {
                                        return;
                                      }
                                    }
                                    Fail(source, v, ff,
                                         "\"" + cfg.log_level +
                                             "\" is not one of trace, debug, info, warn, "
                                             "error, off");
                                  }}});
           }},
          {"server",
           [&](const YAML::Node& n, const std::string& f) {
             ForEachKey(source, n, f,
                        Handlers{
                            {"listen_address",
                             [&](const YAML::Node& v, const std::string& ff) {
                               try {
                                 ParseListenAddress(Scalar(source, v, ff), ff, srv);
                               } catch (const ConfigError& e) {
                                 throw ConfigError(Where(source, v) + ": " + e.what());
                               }
                             }},
                            {"threads",
                             [&](const YAML::Node& v, const std::string& ff) {
                               srv.threads = static_cast<unsigned>(Unsigned(source, v, ff, 1024));
                             }},
                            {"max_connections",
                             [&](const YAML::Node& v, const std::string& ff) {
                               srv.max_connections = Unsigned(source, v, ff, 1'000'000);
                             }},
                            {"idle_timeout",
                             [&](const YAML::Node& v, const std::string& ff) {
                               srv.idle_timeout = Positive(source, v, ff);
                             }},
                            {"read_timeout",
                             [&](const YAML::Node& v, const std::string& ff) {
                               srv.read_timeout = Positive(source, v, ff);
                             }},
                            {"write_timeout",
                             [&](const YAML::Node& v, const std::string& ff) {
                               srv.write_timeout = Positive(source, v, ff);
                             }},
                            {"shutdown_grace_period",
                             [&](const YAML::Node& v, const std::string& ff) {
                               srv.shutdown_grace = Duration(source, v, ff);
                             }},
                        });
           }},
          {"remote_write",
           [&](const YAML::Node& n, const std::string& f) {
             ForEachKey(source, n, f,
                        Handlers{
                            {"max_body_bytes",
                             [&](const YAML::Node& v, const std::string& ff) {
                               rw.max_body_bytes = Size(source, v, ff);
                             }},
                            {"max_decoded_bytes",
                             [&](const YAML::Node& v, const std::string& ff) {
                               rw.max_decoded_bytes = Size(source, v, ff);
                             }},
                            {"max_inflight_bytes",
                             [&](const YAML::Node& v, const std::string& ff) {
                               rw.max_inflight_bytes = Size(source, v, ff);
                             }},
                            {"max_future",
                             [&](const YAML::Node& v, const std::string& ff) {
                               rw.max_future = Duration(source, v, ff);
                             }},
                            {"retry_after",
                             [&](const YAML::Node& v, const std::string& ff) {
                               rw.retry_after = PositiveSeconds(source, v, ff);
                             }},
                        });
           }},
          {"series",
           [&](const YAML::Node& n, const std::string& f) {
             ForEachKey(source, n, f,
                        Handlers{{"retention", [&](const YAML::Node& v, const std::string& ff) {
                                    cfg.series_retention = PositiveSeconds(source, v, ff);
                                  }}});
           }},
          {"data_dir",
           [&](const YAML::Node& v, const std::string& f) { cfg.data_dir = Scalar(source, v, f); }},
          {"external_url",
           [&](const YAML::Node& v, const std::string& f) {
             cfg.external_url = Scalar(source, v, f);
             if (cfg.external_url.rfind("http://", 0) != 0 && cfg.external_url.rfind("https://", 0) != 0) {
               Fail(source, v, f, "must start with http:// or https://");
             }
             while (!cfg.external_url.empty() && cfg.external_url.back() == '/') cfg.external_url.pop_back();
           }},
          {"webhooks",
           [&](const YAML::Node& n, const std::string& f) {
             ForEachKey(source, n, f,
                        Handlers{{"max_age",
                                  [&](const YAML::Node& v, const std::string& ff) {
                                    cfg.webhooks.max_age = Positive(source, v, ff);
                                  }},
                                 {"backoff_base",
                                  [&](const YAML::Node& v, const std::string& ff) {
                                    cfg.webhooks.backoff_base = Positive(source, v, ff);
                                  }},
                                 {"backoff_cap",
                                  [&](const YAML::Node& v, const std::string& ff) {
                                    cfg.webhooks.backoff_cap = Positive(source, v, ff);
                                  }},
                                 {"ca_file", [&](const YAML::Node& v, const std::string& ff) {
                                    cfg.webhooks.ca_file = Scalar(source, v, ff);
                                  }}});
           }},
          {"windows",
           [&](const YAML::Node& n, const std::string& f) {
             auto& w = cfg.windows;
             ForEachKey(source, n, f,
                        Handlers{
                            {"lookback_delta",
                             [&](const YAML::Node& v, const std::string& ff) {
                               w.lookback_delta_ms = Positive(source, v, ff).count();
                             }},
                            {"late_allowance",
                             [&](const YAML::Node& v, const std::string& ff) {
                               w.late_allowance_ms = Duration(source, v, ff).count();
                             }},
                            {"max_steps",
                             [&](const YAML::Node& v, const std::string& ff) {
                               w.max_steps = Unsigned(source, v, ff, 1'000'000);
                               if (w.max_steps == 0) Fail(source, v, ff, "must be at least 1");
                             }},
                            {"max_tag_sets_per_metric",
                             [&](const YAML::Node& v, const std::string& ff) {
                               w.max_tag_sets_per_metric = Unsigned(source, v, ff, 100'000);
                               if (w.max_tag_sets_per_metric == 0) {
                                 Fail(source, v, ff, "must be at least 1");
                               }
                             }},
                            {"max_samples_per_series",
                             [&](const YAML::Node& v, const std::string& ff) {
                               w.max_samples_per_series = Unsigned(source, v, ff, 1'000'000);
                               if (w.max_samples_per_series < 2) {
                                 Fail(source, v, ff, "must be at least 2");
                               }
                             }},
                        });
           }},
      });
  // An idle series leaves the table after the retention; if that could happen while its last
  // sample is still inside the lookback delta, a step would lose it.
  if (std::chrono::milliseconds(cfg.series_retention).count() <= cfg.windows.lookback_delta_ms) {
    throw ConfigError(std::string(source) +
                      ": series.retention must be longer than windows.lookback_delta (" +
                      std::to_string(cfg.windows.lookback_delta_ms / 1000) + "s)");
  }
  // Written without the sum, which can overflow for huge sizes.
  if (rw.max_inflight_bytes < rw.max_body_bytes ||
      rw.max_inflight_bytes - rw.max_body_bytes < rw.max_decoded_bytes) {
    // Otherwise a request at the limits could never be admitted and would be retried forever.
    const bool overflow = rw.max_body_bytes > SIZE_MAX - rw.max_decoded_bytes;
    throw ConfigError(std::string(source) +
                      ": remote_write.max_inflight_bytes must be at least max_body_bytes + "
                      "max_decoded_bytes (" +
                      (overflow ? std::string("more than ") + std::to_string(SIZE_MAX)
                                : std::to_string(rw.max_body_bytes + rw.max_decoded_bytes)) +
                      ")");
  }
  return cfg;
}

Config LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path);
}

}  // namespace canaryd::config
