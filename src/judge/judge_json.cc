#include "canaryd/judge/judge_json.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

// The config module's JSON helpers (syntax errors with line:column, path spelling), shared so
// that both documents report errors the same way.
#include "canaryconfig/json_walk.h"

namespace canaryd::judge {
namespace {

namespace json = boost::json;
using canaryconfig::detail::Index;
using canaryconfig::detail::KindName;
using canaryconfig::detail::Member;

struct Fail {
  JsonError error;
};

bool ParseValue(const json::value& v, double& out) {
  if (v.is_number()) {
    out = v.to_number<double>();
    return true;
  }
  if (v.is_null()) {
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (v.is_string()) {
    const json::string& s = v.get_string();
    if (s == "NaN") {
      out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    if (s == "Infinity" || s == "+Infinity" || s == "+Inf" || s == "Inf") {
      out = std::numeric_limits<double>::infinity();
      return true;
    }
    if (s == "-Infinity" || s == "-Inf") {
      out = -std::numeric_limits<double>::infinity();
      return true;
    }
  }
  return false;
}

bool ReadValues(const json::object& values, std::string_view side, const std::string& base,
                std::vector<double>& out, JsonError& err) {
  const std::string path = Member(base, side);
  const json::value* v = values.if_contains(side);
  if (v == nullptr) {
    err = {path, "required (an array of numbers)"};
    return false;
  }
  if (!v->is_array()) {
    err = {path, "expected an array of numbers, got " + std::string(KindName(*v))};
    return false;
  }
  const json::array& arr = v->get_array();
  out.resize(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!ParseValue(arr[i], out[i])) {
      err = {Index(path, i),
             "expected a number, \"NaN\" or null, got " +
                 (arr[i].is_string() ? "\"" + std::string(arr[i].get_string()) + "\""
                                     : std::string(KindName(arr[i])))};
      return false;
    }
  }
  return true;
}

bool ReadPair(const json::value& v, const std::string& path, model::MetricSetPair& pair,
              JsonError& err) {
  if (!v.is_object()) {
    err = {path, "expected a MetricSetPair object, got " + std::string(KindName(v))};
    return false;
  }
  const json::object& obj = v.get_object();
  const json::value* name = obj.if_contains("name");
  if (name == nullptr || !name->is_string()) {
    err = {Member(path, "name"), name == nullptr
                                     ? "required (the metric's name in the config)"
                                     : "expected a string, got " + std::string(KindName(*name))};
    return false;
  }
  pair.name = std::string(name->get_string());
  if (const json::value* tags = obj.if_contains("tags"); tags != nullptr && !tags->is_null()) {
    const std::string tpath = Member(path, "tags");
    if (!tags->is_object()) {
      err = {tpath, "expected an object of strings, got " + std::string(KindName(*tags))};
      return false;
    }
    for (const auto& kv : tags->get_object()) {
      if (!kv.value().is_string()) {
        err = {Member(tpath, kv.key()),
               "expected a string, got " + std::string(KindName(kv.value()))};
        return false;
      }
      pair.tags.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
    }
    std::sort(pair.tags.begin(), pair.tags.end());
  }
  const json::value* values = obj.if_contains("values");
  const std::string vpath = Member(path, "values");
  if (values == nullptr || !values->is_object()) {
    err = {vpath, values == nullptr ? "required ({\"control\": [...], \"experiment\": [...]})"
                                    : "expected an object, got " + std::string(KindName(*values))};
    return false;
  }
  if (!ReadValues(values->get_object(), "control", vpath, pair.control, err) ||
      !ReadValues(values->get_object(), "experiment", vpath, pair.experiment, err)) {
    return false;
  }
  // Kayenta keeps window start and step per side under scopes; the pair has one of each.
  if (const json::value* scopes = obj.if_contains("scopes");
      scopes != nullptr && scopes->is_object()) {
    if (const json::value* c = scopes->get_object().if_contains("control");
        c != nullptr && c->is_object()) {
      const json::object& co = c->get_object();
      const std::string cpath = Member(Member(path, "scopes"), "control");
      for (const auto& [key, field] : {std::pair{"startTimeMillis", &pair.start_time_millis},
                                       std::pair{"stepMillis", &pair.step_millis}}) {
        const json::value* t = co.if_contains(key);
        if (t == nullptr || t->is_null()) {
          continue;
        }
        if (!t->is_int64() && !t->is_uint64()) {
          err = {Member(cpath, key), "expected an integer, got " + std::string(KindName(*t))};
          return false;
        }
        if (t->is_uint64() && t->get_uint64() > static_cast<uint64_t>(INT64_MAX)) {
          err = {Member(cpath, key), "out of range"};
          return false;
        }
        *field = t->is_int64() ? t->get_int64() : static_cast<int64_t>(t->get_uint64());
      }
    }
  }
  return true;
}

// A small streaming writer: Kayenta's number style (doubles always with a fraction or exponent,
// NaN and infinities as strings like Jackson) and optional indentation.
class Writer {
 public:
  explicit Writer(bool pretty) : pretty_(pretty) {}

  std::string& out() { return out_; }

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  void Key(std::string_view k) {
    Separate();
    String(k);
    out_ += pretty_ ? ": " : ":";
    after_key_ = true;
  }

  void Str(std::string_view s) {
    Separate();
    String(s);
  }
  void Bool(bool b) {
    Separate();
    out_ += b ? "true" : "false";
  }
  void Null() {
    Separate();
    out_ += "null";
  }
  void Int(int64_t v) {
    Separate();
    out_ += std::to_string(v);
  }
  void Double(double v) {
    Separate();
    if (std::isnan(v)) {
      out_ += "\"NaN\"";
      return;
    }
    if (std::isinf(v)) {
      out_ += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
      return;
    }
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    const std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
    out_ += s;
    if (s.find_first_of(".e") == std::string_view::npos) {
      out_ += ".0";
    }
  }
  void Optional(const std::optional<double>& v) {
    if (v) {
      Double(*v);
    } else {
      Null();
    }
  }

 private:
  void Open(char c) {
    Separate();
    out_ += c;
    ++depth_;
    first_ = true;
  }
  void Close(char c) {
    --depth_;
    if (!first_) {
      Newline();
    }
    out_ += c;
    first_ = false;
  }
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (depth_ > 0) {
      if (!first_) {
        out_ += ',';
      }
      Newline();
    }
    first_ = false;
  }
  void Newline() {
    if (pretty_) {
      out_ += '\n';
      out_.append(static_cast<size_t>(depth_) * 2, ' ');
    }
  }
  void String(std::string_view s) {
    out_ += json::serialize(json::string_view(s.data(), s.size()));
  }

  std::string out_;
  bool pretty_;
  int depth_ = 0;
  bool first_ = true;
  bool after_key_ = false;
};

void WriteStats(Writer& w, const DescriptiveStats& s) {
  w.BeginObject();
  w.Key("stats");
  w.BeginObject();
  w.Key("min");
  w.Double(s.min);
  w.Key("max");
  w.Double(s.max);
  w.Key("mean");
  w.Double(s.mean);
  w.Key("std");
  w.Double(s.std);
  w.Key("count");
  w.Int(s.count);
  w.EndObject();
  w.EndObject();
}

void WriteTags(Writer& w, const std::vector<std::pair<std::string, std::string>>& tags) {
  w.BeginObject();
  for (const auto& [k, v] : tags) {
    w.Key(k);
    w.Str(v);
  }
  w.EndObject();
}

void WriteValues(Writer& w, const std::vector<double>& values) {
  w.BeginArray();
  for (const double v : values) {
    w.Double(v);
  }
  w.EndArray();
}

}  // namespace

std::string JsonError::ToString() const { return path.empty() ? message : path + ": " + message; }

void throw_exception_from_error(const JsonError& e, const boost::source_location&) {
  throw std::invalid_argument(e.ToString());
}

boost::system::result<std::vector<model::MetricSetPair>, JsonError> ParseMetricSetPairs(
    std::string_view text) {
  std::string syntax_error;
  const json::value doc = canaryconfig::detail::ParseJson(text, syntax_error);
  if (!syntax_error.empty()) {
    return JsonError{"", syntax_error};
  }
  if (!doc.is_array()) {
    return JsonError{"",
                     "expected a JSON array of MetricSetPairs, got " + std::string(KindName(doc))};
  }
  const json::array& arr = doc.get_array();
  std::vector<model::MetricSetPair> pairs(arr.size());
  JsonError err;
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!ReadPair(arr[i], Index("", i), pairs[i], err)) {
      return err;
    }
  }
  return pairs;
}

std::string MetricSetPairsToJson(std::span<const model::MetricSetPair> pairs) {
  Writer w(false);
  w.BeginArray();
  for (const auto& p : pairs) {
    w.BeginObject();
    w.Key("name");
    w.Str(p.name);
    w.Key("tags");
    WriteTags(w, p.tags);
    w.Key("values");
    w.BeginObject();
    w.Key("control");
    WriteValues(w, p.control);
    w.Key("experiment");
    WriteValues(w, p.experiment);
    w.EndObject();
    if (p.start_time_millis != 0 || p.step_millis != 0) {
      w.Key("scopes");
      w.BeginObject();
      for (const char* side : {"control", "experiment"}) {
        w.Key(side);
        w.BeginObject();
        w.Key("startTimeMillis");
        w.Int(p.start_time_millis);
        w.Key("stepMillis");
        w.Int(p.step_millis);
        w.EndObject();
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  return std::move(w.out());
}

std::string JudgeResultToJson(const JudgeResult& result, bool pretty) {
  Writer w(pretty);
  w.BeginObject();
  w.Key("judgeName");
  w.Str(result.judge_name);
  w.Key("score");
  w.BeginObject();
  w.Key("score");
  w.Double(result.score.score);
  w.Key("classification");
  w.Str(ScoreClassificationName(result.score.classification));
  w.Key("classificationReason");
  w.Str(result.score.reason);
  w.EndObject();
  w.Key("groupScores");
  w.BeginArray();
  for (const GroupScore& g : result.group_scores) {
    w.BeginObject();
    w.Key("name");
    w.Str(g.name);
    w.Key("score");
    w.Double(g.score);
    w.Key("classification");
    w.Str("");
    w.Key("classificationReason");
    w.Str("");
    w.EndObject();
  }
  w.EndArray();
  w.Key("results");
  w.BeginArray();
  for (const MetricResult& r : result.results) {
    const MetricClassification& c = r.classification;
    const Evidence& e = c.evidence;
    w.BeginObject();
    w.Key("name");
    w.Str(r.name);
    w.Key("tags");
    WriteTags(w, r.tags);
    w.Key("groups");
    w.BeginArray();
    for (const auto& g : r.groups) {
      w.Str(g);
    }
    w.EndArray();
    w.Key("classification");
    w.Str(ClassificationName(c.classification));
    w.Key("classificationReason");
    w.Str(c.reason);
    w.Key("critical");
    w.Bool(c.critical);
    w.Key("muted");
    w.Bool(r.muted);
    w.Key("resultMetadata");
    w.BeginObject();
    w.Key("ratio");
    w.Double(c.deviation);
    w.EndObject();
    w.Key("experimentMetadata");
    WriteStats(w, r.experiment_stats);
    w.Key("controlMetadata");
    WriteStats(w, r.control_stats);
    w.Key("details");
    w.BeginObject();
    w.Key("rule");
    w.Str(RuleName(c.rule));
    w.Key("ciLower");
    w.Optional(e.ci_lower);
    w.Key("ciUpper");
    w.Optional(e.ci_upper);
    w.Key("estimate");
    w.Optional(e.estimate);
    w.Key("bound");
    w.Optional(e.bound);
    w.Key("effectSize");
    w.Optional(e.effect_size);
    w.Key("effectSizeMeasure");
    w.Str(canaryconfig::EffectSizeMeasureName(e.effect_size_measure));
    w.Key("pValue");
    w.Optional(e.p_value);
    w.Key("controlCount");
    w.Int(e.control_count);
    w.Key("experimentCount");
    w.Int(e.experiment_count);
    w.Key("tolerance");
    w.Double(e.tolerance);
    w.Key("confLevel");
    w.Double(e.conf_level);
    w.Key("noiseAdded");
    w.Bool(e.noise_added);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  if (pretty) {
    w.out() += '\n';
  }
  return std::move(w.out());
}

}  // namespace canaryd::judge
