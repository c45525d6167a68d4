#include "scrape/file_sd.h"

#include "canaryd/common/file.h"
#include "canaryd/model/labels.h"

#include <yaml-cpp/yaml.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace canaryd::scrape {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string ParseJsonGroups(const std::string& path, const std::string& text,
                            std::vector<TargetGroup>& out) {
  boost::system::error_code ec;
  const boost::json::value root = boost::json::parse(text, ec);
  if (ec) {
    return path + ": invalid JSON: " + ec.message();
  }
  if (!root.is_array()) {
    return path + ": expected a JSON array of {\"targets\": [...], \"labels\": {...}}";
  }
  size_t i = 0;
  for (const auto& item : root.as_array()) {
    const std::string where = path + ": [" + std::to_string(i++) + "]";
    if (!item.is_object()) {
      return where + ": expected an object with \"targets\" and \"labels\"";
    }
    TargetGroup group;
    for (const auto& [key, value] : item.as_object()) {
      if (key == "targets") {
        if (!value.is_array()) return where + ".targets: expected an array of \"host:port\"";
        for (const auto& t : value.as_array()) {
          if (!t.is_string()) return where + ".targets: expected strings";
          group.targets.emplace_back(t.as_string());
        }
      } else if (key == "labels") {
        if (!value.is_object()) return where + ".labels: expected an object of strings";
        for (const auto& [name, v] : value.as_object()) {
          if (!v.is_string()) {
            return where + ".labels." + std::string(name) + ": expected a string value";
          }
          if (!model::IsValidLabelName(name)) {
            return where + ".labels: \"" + std::string(name) + "\" is not a valid label name";
          }
          group.labels[std::string(name)] = std::string(v.as_string());
        }
      } else {
        return where + ": unknown key \"" + std::string(key) + "\" (known keys: labels, targets)";
      }
    }
    out.push_back(std::move(group));
  }
  return "";
}

std::string ParseYamlGroups(const std::string& path, const std::string& text,
                            std::vector<TargetGroup>& out) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg;
  }
  auto where = [&](const YAML::Node& n, const std::string& field) {
    const auto m = n.Mark();
    return path + (m.line >= 0 ? ":" + std::to_string(m.line + 1) : std::string()) + ": " + field;
  };
  if (root.IsNull()) {
    return "";  // an empty file: no targets
  }
  if (!root.IsSequence()) {
    return where(root, "expected a list of {targets: [...], labels: {...}}");
  }
  for (size_t i = 0; i < root.size(); ++i) {
    const YAML::Node item = root[i];
    const std::string field = "[" + std::to_string(i) + "]";
    if (!item.IsMap()) {
      return where(item, field + ": expected a mapping with targets and labels");
    }
    TargetGroup group;
    for (const auto& kv : item) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (key == "targets") {
        if (!kv.second.IsSequence()) {
          return where(kv.second, field + ".targets: expected a list of \"host:port\"");
        }
        for (const auto& t : kv.second) {
          if (!t.IsScalar()) return where(t, field + ".targets: expected strings");
          group.targets.push_back(t.Scalar());
        }
      } else if (key == "labels") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap()) {
          return where(kv.second, field + ".labels: expected a mapping of strings");
        }
        for (const auto& l : kv.second) {
          if (!l.first.IsScalar() || !l.second.IsScalar()) {
            return where(l.first, field + ".labels: expected name: value strings");
          }
          if (!model::IsValidLabelName(l.first.Scalar())) {
            return where(l.first, field + ".labels: \"" + l.first.Scalar() +
                                      "\" is not a valid label name");
          }
          group.labels[l.first.Scalar()] = l.second.Scalar();
        }
      } else {
        return where(kv.first, field + ": unknown key \"" + key + "\" (known keys: labels, targets)");
      }
    }
    out.push_back(std::move(group));
  }
  return "";
}

}  // namespace

std::string ParseTargetGroups(const std::string& path, const std::string& text,
                              std::vector<TargetGroup>& out) {
  out.clear();
  if (EndsWith(path, ".json")) {
    return ParseJsonGroups(path, text, out);
  }
  if (EndsWith(path, ".yml") || EndsWith(path, ".yaml")) {
    return ParseYamlGroups(path, text, out);
  }
  return path + ": unknown file type (use .json, .yml or .yaml)";
}

std::string ReadTargetGroupFile(const std::string& path, std::vector<TargetGroup>& out) {
  std::string text, error;
  if (!ReadFile(path, text, error)) {
    return path + ": cannot open: " + error;
  }
  return ParseTargetGroups(path, text, out);
}

}  // namespace canaryd::scrape
