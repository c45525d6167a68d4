#include "canaryd/config/config.h"

#include "canaryd/common/file.h"
#include "canaryd/scrape/target.h"
#include "canaryd/model/labels.h"

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


using Handlers =
    std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>;

bool Bool(std::string_view source, const YAML::Node& n, const std::string& field) {
  const std::string s = Scalar(source, n, field);
  if (s == "true") return true;
  if (s == "false") return false;
  Fail(source, n, field, "\"" + s + "\" is not true or false");
}

std::vector<std::string> StringList(std::string_view source, const YAML::Node& n,
                                    const std::string& field) {
  if (!n.IsSequence()) {
    Fail(source, n, field, "expected a list");
  }
  std::vector<std::string> out;
  for (const auto& item : n) {
    out.push_back(Scalar(source, item, field));
  }
  return out;
}

// Prometheus sizes (body_size_limit): KB, MB, GB and KiB, MiB, GiB are all powers of 1024.
uint64_t PrometheusSize(std::string_view source, const YAML::Node& n, const std::string& field) {
  const std::string s = Scalar(source, n, field);
  std::string text = s;
  for (const char* unit : {"KB", "MB", "GB"}) {
    if (text.size() > 2 && text.compare(text.size() - 2, 2, unit) == 0) {
      text.insert(text.size() - 1, "i");  // 10MB -> 10MiB
      break;
    }
  }
  uint64_t v = 0;
  if (!ParseByteSize(text, v)) {
    Fail(source, n, field, "\"" + s + "\" is not a byte size (examples: 10MB, 512KiB, 1048576)");
  }
  return v;
}

// Relative paths in the config are relative to the config file, as in Prometheus.
std::string ResolvePath(std::string_view source, const std::string& path) {
  if (path.empty() || path.front() == '/' || source.empty() || source.front() == '<') {
    return path;
  }
  const auto slash = source.rfind('/');
  return slash == std::string_view::npos ? path : std::string(source.substr(0, slash + 1)) + path;
}

std::map<std::string, std::string> LabelMap(std::string_view source, const YAML::Node& n,
                                            const std::string& field) {
  std::map<std::string, std::string> out;
  if (n.IsNull()) return out;
  if (!n.IsMap()) Fail(source, n, field, "expected a mapping of label names to values");
  for (const auto& kv : n) {
    const std::string name = Scalar(source, kv.first, field);
    if (!model::IsValidLabelName(name)) {
      Fail(source, kv.first, field, "\"" + name + "\" is not a valid label name");
    }
    out[name] = Scalar(source, kv.second, field + "." + name);
  }
  return out;
}

struct ScrapeDefaults {
  std::chrono::milliseconds interval{std::chrono::minutes(1)};
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  uint64_t body_size_limit = 0;
  uint64_t sample_limit = 0;
  uint64_t label_limit = 0;
  uint64_t label_name_length_limit = 0;
  uint64_t label_value_length_limit = 0;
};

void ParseGlobal(std::string_view source, const YAML::Node& n, const std::string& f,
                 ScrapeDefaults& d) {
  bool timeout_set = false;
  ForEachKey(source, n, f,
             Handlers{
                 {"scrape_interval",
                  [&](const YAML::Node& v, const std::string& ff) { d.interval = Positive(source, v, ff); }},
                 {"scrape_timeout",
                  [&](const YAML::Node& v, const std::string& ff) {
                    d.timeout = Positive(source, v, ff);
                    timeout_set = true;
                  }},
                 {"body_size_limit",
                  [&](const YAML::Node& v, const std::string& ff) {
                    d.body_size_limit = PrometheusSize(source, v, ff);
                  }},
                 {"sample_limit",
                  [&](const YAML::Node& v, const std::string& ff) {
                    d.sample_limit = Unsigned(source, v, ff, UINT32_MAX);
                  }},
                 {"label_limit",
                  [&](const YAML::Node& v, const std::string& ff) {
                    d.label_limit = Unsigned(source, v, ff, UINT32_MAX);
                  }},
                 {"label_name_length_limit",
                  [&](const YAML::Node& v, const std::string& ff) {
                    d.label_name_length_limit = Unsigned(source, v, ff, UINT32_MAX);
                  }},
                 {"label_value_length_limit",
                  [&](const YAML::Node& v, const std::string& ff) {
                    d.label_value_length_limit = Unsigned(source, v, ff, UINT32_MAX);
                  }},
             });
  if (!timeout_set) {
    // Prometheus: the default timeout (10s) is capped at the global interval.
    d.timeout = std::min(d.timeout, d.interval);
  } else if (d.timeout > d.interval) {
    Fail(source, n, f, "scrape_timeout (" + std::to_string(d.timeout.count()) +
                           "ms) is greater than scrape_interval (" +
                           std::to_string(d.interval.count()) + "ms)");
  }
}

scrape::ScrapeConfig ParseScrapeConfig(std::string_view source, const YAML::Node& n,
                                       const std::string& f, const ScrapeDefaults& d) {
  scrape::ScrapeConfig c;
  c.scrape_interval = d.interval;
  c.body_size_limit = d.body_size_limit;
  c.sample_limit = d.sample_limit;
  c.label_limit = d.label_limit;
  c.label_name_length_limit = d.label_name_length_limit;
  c.label_value_length_limit = d.label_value_length_limit;
  bool timeout_set = false;
  std::vector<std::pair<YAML::Node, std::string>> static_nodes;  // validated once scheme is known
  ForEachKey(
      source, n, f,
      Handlers{
          {"job_name", [&](const YAML::Node& v, const std::string& ff) { c.job_name = Scalar(source, v, ff); }},
          {"scrape_interval",
           [&](const YAML::Node& v, const std::string& ff) { c.scrape_interval = Positive(source, v, ff); }},
          {"scrape_timeout",
           [&](const YAML::Node& v, const std::string& ff) {
             c.scrape_timeout = Positive(source, v, ff);
             timeout_set = true;
           }},
          {"metrics_path",
           [&](const YAML::Node& v, const std::string& ff) {
             c.metrics_path = Scalar(source, v, ff);
             if (c.metrics_path.empty() || c.metrics_path.front() != '/') {
               Fail(source, v, ff, "\"" + c.metrics_path + "\" must start with /");
             }
           }},
          {"scheme",
           [&](const YAML::Node& v, const std::string& ff) {
             c.scheme = Scalar(source, v, ff);
             if (c.scheme != "http" && c.scheme != "https") {
               Fail(source, v, ff, "\"" + c.scheme + "\" is not http or https");
             }
           }},
          {"params",
           [&](const YAML::Node& v, const std::string& ff) {
             if (!v.IsMap()) Fail(source, v, ff, "expected a mapping of names to lists of values");
             for (const auto& kv : v) {
               const std::string name = Scalar(source, kv.first, ff);
               c.params[name] = StringList(source, kv.second, ff + "." + name);
             }
           }},
          {"honor_labels",
           [&](const YAML::Node& v, const std::string& ff) { c.honor_labels = Bool(source, v, ff); }},
          {"honor_timestamps",
           [&](const YAML::Node& v, const std::string& ff) { c.honor_timestamps = Bool(source, v, ff); }},
          {"basic_auth",
           [&](const YAML::Node& v, const std::string& ff) {
             scrape::ScrapeConfig::BasicAuth b;
             ForEachKey(source, v, ff,
                        Handlers{{"username",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    b.username = Scalar(source, x, fff);
                                  }},
                                 {"password",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    b.password = Scalar(source, x, fff);
                                  }},
                                 {"password_file", [&](const YAML::Node& x, const std::string& fff) {
                                    b.password_file = ResolvePath(source, Scalar(source, x, fff));
                                  }}});
             if (!b.password.empty() && !b.password_file.empty()) {
               Fail(source, v, ff, "at most one of password and password_file may be set");
             }
             c.basic_auth = std::move(b);
           }},
          {"authorization",
           [&](const YAML::Node& v, const std::string& ff) {
             scrape::ScrapeConfig::Authorization a;
             ForEachKey(source, v, ff,
                        Handlers{{"type",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    a.type = Scalar(source, x, fff);
                                    if (a.type == "Basic" || a.type == "basic") {
                                      Fail(source, x, fff,
                                           "type Basic is not allowed here; use basic_auth");
                                    }
                                  }},
                                 {"credentials",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    a.credentials = Scalar(source, x, fff);
                                  }},
                                 {"credentials_file",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    a.credentials_file = ResolvePath(source, Scalar(source, x, fff));
                                  }}});
             if (!a.credentials.empty() && !a.credentials_file.empty()) {
               Fail(source, v, ff, "at most one of credentials and credentials_file may be set");
             }
             c.authorization = std::move(a);
           }},
          {"tls_config",
           [&](const YAML::Node& v, const std::string& ff) {
             auto& t = c.tls_config;
             ForEachKey(source, v, ff,
                        Handlers{{"ca_file",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    t.ca_file = ResolvePath(source, Scalar(source, x, fff));
                                  }},
                                 {"cert_file",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    t.cert_file = ResolvePath(source, Scalar(source, x, fff));
                                  }},
                                 {"key_file",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    t.key_file = ResolvePath(source, Scalar(source, x, fff));
                                  }},
                                 {"server_name",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    t.server_name = Scalar(source, x, fff);
                                  }},
                                 {"insecure_skip_verify",
                                  [&](const YAML::Node& x, const std::string& fff) {
                                    t.insecure_skip_verify = Bool(source, x, fff);
                                  }}});
             if (t.cert_file.empty() != t.key_file.empty()) {
               Fail(source, v, ff, "cert_file and key_file must be set together");
             }
           }},
          {"body_size_limit",
           [&](const YAML::Node& v, const std::string& ff) { c.body_size_limit = PrometheusSize(source, v, ff); }},
          {"sample_limit",
           [&](const YAML::Node& v, const std::string& ff) { c.sample_limit = Unsigned(source, v, ff, UINT32_MAX); }},
          {"label_limit",
           [&](const YAML::Node& v, const std::string& ff) { c.label_limit = Unsigned(source, v, ff, UINT32_MAX); }},
          {"label_name_length_limit",
           [&](const YAML::Node& v, const std::string& ff) {
             c.label_name_length_limit = Unsigned(source, v, ff, UINT32_MAX);
           }},
          {"label_value_length_limit",
           [&](const YAML::Node& v, const std::string& ff) {
             c.label_value_length_limit = Unsigned(source, v, ff, UINT32_MAX);
           }},
          {"static_configs",
           [&](const YAML::Node& v, const std::string& ff) {
             if (!v.IsSequence()) Fail(source, v, ff, "expected a list of {targets, labels}");
             for (size_t i = 0; i < v.size(); ++i) {
               static_nodes.emplace_back(v[i], ff + "[" + std::to_string(i) + "]");
             }
           }},
          {"file_sd_configs",
           [&](const YAML::Node& v, const std::string& ff) {
             if (!v.IsSequence()) Fail(source, v, ff, "expected a list of {files, refresh_interval}");
             for (size_t i = 0; i < v.size(); ++i) {
               const std::string fi = ff + "[" + std::to_string(i) + "]";
               scrape::FileSdConfig sd;
               ForEachKey(source, v[i], fi,
                          Handlers{{"files",
                                    [&](const YAML::Node& x, const std::string& fff) {
                                      for (auto& file : StringList(source, x, fff)) {
                                        const auto slash = file.rfind('/');
                                        const std::string dir =
                                            slash == std::string::npos ? "" : file.substr(0, slash);
                                        if (dir.find_first_of("*?[") != std::string::npos) {
                                          Fail(source, x, fff,
                                               "\"" + file +
                                                   "\": only the last path element may be a glob");
                                        }
                                        const bool ok =
                                            file.ends_with(".json") || file.ends_with(".yml") ||
                                            file.ends_with(".yaml");
                                        if (!ok) {
                                          Fail(source, x, fff,
                                               "\"" + file +
                                                   "\": file names must end in .json, .yml or .yaml");
                                        }
                                        sd.files.push_back(ResolvePath(source, file));
                                      }
                                    }},
                                   {"refresh_interval",
                                    [&](const YAML::Node& x, const std::string& fff) {
                                      sd.refresh_interval = Positive(source, x, fff);
                                    }}});
               if (sd.files.empty()) Fail(source, v[i], fi, "files must list at least one file");
               c.file_sd_configs.push_back(std::move(sd));
             }
           }},
      });
  if (c.job_name.empty()) {
    Fail(source, n, f, "job_name is required");
  }
  if (!timeout_set) {
    // Prometheus: the global timeout, capped at the job's interval.
    c.scrape_timeout = std::min(d.timeout, c.scrape_interval);
  }
  if (c.scrape_timeout > c.scrape_interval) {
    Fail(source, n, f, "scrape_timeout (" + std::to_string(c.scrape_timeout.count()) +
                           "ms) is greater than scrape_interval (" +
                           std::to_string(c.scrape_interval.count()) + "ms)");
  }
  if (c.basic_auth && c.authorization) {
    Fail(source, n, f, "at most one of basic_auth and authorization may be set");
  }
  for (const auto& [node, field] : static_nodes) {
    scrape::TargetGroup g;
    ForEachKey(source, node, field,
               Handlers{{"targets",
                         [&](const YAML::Node& x, const std::string& ff) {
                           g.targets = StringList(source, x, ff);
                           for (size_t i = 0; i < g.targets.size(); ++i) {
                             scrape::TargetSpec spec;
                             const std::string why =
                                 scrape::MakeTargetSpec(c, g.targets[i], {}, spec);
                             if (!why.empty()) {
                               Fail(source, x[i], ff + "[" + std::to_string(i) + "]", why);
                             }
                           }
                         }},
                        {"labels", [&](const YAML::Node& x, const std::string& ff) {
                           g.labels = LabelMap(source, x, ff);
                         }}});
    c.static_configs.push_back(std::move(g));
  }
  return c;
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
  auto& srv = cfg.server;
  ScrapeDefaults scrape_defaults;
  std::vector<std::pair<YAML::Node, std::string>> scrape_nodes;
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
          {"global",
           [&](const YAML::Node& n, const std::string& f) {
             ParseGlobal(source, n, f, scrape_defaults);
           }},
          {"scrape_configs",
           [&](const YAML::Node& n, const std::string& f) {
             if (n.IsNull()) return;
             if (!n.IsSequence()) Fail(source, n, f, "expected a list of scrape jobs");
             for (size_t i = 0; i < n.size(); ++i) {
               scrape_nodes.emplace_back(n[i], f + "[" + std::to_string(i) + "]");
             }
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
  // Jobs are parsed after the whole file so `global` applies wherever it is written.
  for (const auto& [node, field] : scrape_nodes) {
    auto job = ParseScrapeConfig(source, node, field, scrape_defaults);
    for (const auto& other : cfg.scrape_configs) {
      if (other.job_name == job.job_name) {
        Fail(source, node, field, "job_name \"" + job.job_name + "\" is used by another job");
      }
    }
    cfg.scrape_configs.push_back(std::move(job));
  }
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
  std::string text, error;
  if (!ReadFile(path, text, error)) {
    throw ConfigError(path + ": cannot open: " + error);
  }
  return ParseConfig(text, path);
}

}  // namespace canaryd::config
