#include "canaryd/canaryconfig/canary_config.h"

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <set>
#include <stdexcept>

#include "canaryconfig/json_walk.h"

namespace canaryd::canaryconfig {
namespace {

namespace json = boost::json;
using detail::Index;
using detail::KindName;
using detail::Member;

// Walks a parsed document, collecting every problem instead of stopping at the first: the API
// answers 400 with the whole list, so users fix a config in one round trip.
class Reader {
 public:
  std::vector<ConfigProblem>& problems() { return problems_; }

  void Problem(std::string path, std::string message) {
    problems_.push_back({std::move(path), std::move(message)});
  }

  // JSON null counts as absent, as with Jackson: Kayenta's own exports are full of nulls.
  static const json::value* Field(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }

  const json::object* Object(const json::value& v, const std::string& path) {
    if (!v.is_object()) {
      Problem(path, "expected an object, got " + std::string(KindName(v)));
      return nullptr;
    }
    return &v.get_object();
  }

  void String(const json::object& obj, std::string_view key, const std::string& base,
              std::string& out) {
    if (const json::value* v = Field(obj, key)) {
      if (v->is_string()) {
        out = std::string(v->get_string());
      } else {
        Problem(Member(base, key), "expected a string, got " + std::string(KindName(*v)));
      }
    }
  }

  void OptString(const json::object& obj, std::string_view key, const std::string& base,
                 std::optional<std::string>& out) {
    std::string s;
    if (Field(obj, key) != nullptr) {
      const size_t before = problems_.size();
      String(obj, key, base, s);
      if (problems_.size() == before) {
        out = std::move(s);
      }
    }
  }

  void StringList(const json::object& obj, std::string_view key, const std::string& base,
                  std::vector<std::string>& out) {
    const json::value* v = Field(obj, key);
    if (v == nullptr) {
      return;
    }
    const std::string path = Member(base, key);
    if (!v->is_array()) {
      Problem(path, "expected an array of strings, got " + std::string(KindName(*v)));
      return;
    }
    const json::array& arr = v->get_array();
    for (size_t i = 0; i < arr.size(); ++i) {
      if (arr[i].is_string()) {
        out.emplace_back(arr[i].get_string());
      } else {
        Problem(Index(path, i), "expected a string, got " + std::string(KindName(arr[i])));
      }
    }
  }

  std::optional<double> Number(const json::object& obj, std::string_view key,
                               const std::string& base) {
    const json::value* v = Field(obj, key);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (!v->is_number()) {
      Problem(Member(base, key), "expected a number, got " + std::string(KindName(*v)));
      return std::nullopt;
    }
    const double d = v->to_number<double>();
    if (!std::isfinite(d)) {
      Problem(Member(base, key), "expected a finite number");
      return std::nullopt;
    }
    return d;
  }

  void Bool(const json::object& obj, std::string_view key, const std::string& base, bool& out) {
    if (const json::value* v = Field(obj, key)) {
      if (v->is_bool()) {
        out = v->get_bool();
      } else {
        // Kayenta casts these and fails the judgment on "true" (a string): say so up front.
        Problem(Member(base, key), "expected true or false, got " + std::string(KindName(*v)));
      }
    }
  }

  // An enum given as a string; `names` lists the accepted spellings in the order of `values`.
  template <typename E, size_t N>
  void Enum(const json::object& obj, std::string_view key, const std::string& base,
            const std::array<std::pair<std::string_view, E>, N>& names, E& out) {
    const json::value* v = Field(obj, key);
    if (v == nullptr) {
      return;
    }
    std::string expected = "expected one of ";
    for (size_t i = 0; i < N; ++i) {
      if (v->is_string() && v->get_string() == names[i].first) {
        out = names[i].second;
        return;
      }
      expected += (i == 0 ? "\"" : ", \"") + std::string(names[i].first) + "\"";
    }
    if (v->is_string()) {
      expected += ", got \"" + std::string(v->get_string()) + "\"";
    } else {
      expected += ", got " + std::string(KindName(*v));
    }
    Problem(Member(base, key), expected);
  }

 private:
  std::vector<ConfigProblem> problems_;
};

constexpr std::array<std::pair<std::string_view, Direction>, 3> kDirections{{
    {"increase", Direction::kIncrease},
    {"decrease", Direction::kDecrease},
    {"either", Direction::kEither},
}};
// "none" is Kayenta's default spelling and means remove.
constexpr std::array<std::pair<std::string_view, NanStrategy>, 3> kNanStrategies{{
    {"remove", NanStrategy::kRemove},
    {"replace", NanStrategy::kReplace},
    {"none", NanStrategy::kRemove},
}};
constexpr std::array<std::pair<std::string_view, OutlierStrategy>, 3> kOutlierStrategies{{
    {"keep", OutlierStrategy::kKeep},
    {"remove", OutlierStrategy::kRemove},
    {"none", OutlierStrategy::kKeep},
}};
constexpr std::array<std::pair<std::string_view, EffectSizeMeasure>, 2> kMeasures{{
    {"meanRatio", EffectSizeMeasure::kMeanRatio},
    {"cles", EffectSizeMeasure::kCles},
}};

void ReadAnalysis(Reader& r, const json::object& canary, const std::string& path,
                  MetricAnalysisConfig& out) {
  r.Enum(canary, "direction", path, kDirections, out.direction);
  r.Enum(canary, "nanStrategy", path, kNanStrategies, out.nan_strategy);
  r.Bool(canary, "critical", path, out.critical);
  r.Bool(canary, "mustHaveData", path, out.must_have_data);
  r.Bool(canary, "muted", path, out.muted);
  if (const json::value* es = Reader::Field(canary, "effectSize")) {
    const std::string es_path = Member(path, "effectSize");
    if (const json::object* obj = r.Object(*es, es_path)) {
      r.Enum(*obj, "measure", es_path, kMeasures, out.effect_size.measure);
      out.effect_size.allowed_increase = r.Number(*obj, "allowedIncrease", es_path);
      out.effect_size.allowed_decrease = r.Number(*obj, "allowedDecrease", es_path);
      out.effect_size.critical_increase = r.Number(*obj, "criticalIncrease", es_path);
      out.effect_size.critical_decrease = r.Number(*obj, "criticalDecrease", es_path);
    }
  }
  if (const json::value* ol = Reader::Field(canary, "outliers")) {
    const std::string ol_path = Member(path, "outliers");
    if (const json::object* obj = r.Object(*ol, ol_path)) {
      r.Enum(*obj, "strategy", ol_path, kOutlierStrategies, out.outliers.strategy);
      if (auto f = r.Number(*obj, "outlierFactor", ol_path)) {
        out.outliers.outlier_factor = *f;
      }
    }
  }
}

void ReadQuery(Reader& r, const json::object& q, const std::string& path, PrometheusQuery& out) {
  if (Reader::Field(q, "type") == nullptr) {
    r.Problem(Member(path, "type"), "required (\"prometheus\")");
  }
  r.String(q, "type", path, out.type);
  r.String(q, "metricName", path, out.metric_name);
  r.OptString(q, "customFilterTemplate", path, out.custom_filter_template);
  r.OptString(q, "customInlineTemplate", path, out.custom_inline_template);
  r.StringList(q, "labelBindings", path, out.label_bindings);
  r.StringList(q, "groupByFields", path, out.group_by_fields);
  r.String(q, "resourceType", path, out.resource_type);
}

void ReadMetric(Reader& r, const json::object& m, const std::string& path, MetricConfig& out) {
  if (Reader::Field(m, "name") == nullptr) {
    r.Problem(Member(path, "name"), "required");
  }
  r.String(m, "name", path, out.name);
  r.StringList(m, "groups", path, out.groups);
  r.String(m, "scopeName", path, out.scope_name);
  if (const json::value* q = Reader::Field(m, "query")) {
    if (const json::object* obj = r.Object(*q, Member(path, "query"))) {
      ReadQuery(r, *obj, Member(path, "query"), out.query);
    }
  } else {
    r.Problem(Member(path, "query"), "required");
  }
  if (const json::value* ac = Reader::Field(m, "analysisConfigurations")) {
    const std::string ac_path = Member(path, "analysisConfigurations");
    if (const json::object* obj = r.Object(*ac, ac_path)) {
      if (const json::value* canary = Reader::Field(*obj, "canary")) {
        const std::string c_path = Member(ac_path, "canary");
        if (const json::object* cobj = r.Object(*canary, c_path)) {
          ReadAnalysis(r, *cobj, c_path, out.analysis);
        }
      }
    }
  }
}

void ReadConfig(Reader& r, const json::object& root, CanaryConfig& out) {
  r.String(root, "id", "", out.id);
  r.String(root, "name", "", out.name);
  r.String(root, "description", "", out.description);
  if (const json::value* v = Reader::Field(root, "configVersion"); v != nullptr && v->is_number()) {
    // Jackson coerces a number into this String field; configs written by hand use 1.
    out.config_version = json::serialize(*v);
  } else {
    r.String(root, "configVersion", "", out.config_version);
  }
  r.StringList(root, "applications", "", out.applications);

  if (const json::value* t = Reader::Field(root, "templates")) {
    if (const json::object* obj = r.Object(*t, "templates")) {
      for (const auto& kv : *obj) {
        if (kv.value().is_string()) {
          out.templates[std::string(kv.key())] = std::string(kv.value().get_string());
        } else {
          r.Problem(Member("templates", kv.key()),
                    "expected a string, got " + std::string(KindName(kv.value())));
        }
      }
    }
  }

  if (const json::value* j = Reader::Field(root, "judge")) {
    if (const json::object* obj = r.Object(*j, "judge")) {
      r.String(*obj, "name", "judge", out.judge.name);
      if (const json::value* jc = Reader::Field(*obj, "judgeConfigurations")) {
        const std::string jc_path = "judge.judgeConfigurations";
        if (const json::object* jco = r.Object(*jc, jc_path)) {
          out.judge.tolerance = r.Number(*jco, "tolerance", jc_path);
          out.judge.conf_level = r.Number(*jco, "confLevel", jc_path);
        }
      }
    }
  }

  if (const json::value* c = Reader::Field(root, "classifier")) {
    if (const json::object* obj = r.Object(*c, "classifier")) {
      if (const json::value* gw = Reader::Field(*obj, "groupWeights")) {
        if (const json::object* gwo = r.Object(*gw, "classifier.groupWeights")) {
          for (const auto& kv : *gwo) {
            if (auto w = r.Number(*gwo, kv.key(), "classifier.groupWeights")) {
              out.group_weights[std::string(kv.key())] = *w;
            }
          }
        }
      }
      if (const json::value* st = Reader::Field(*obj, "scoreThresholds")) {
        const std::string st_path = "classifier.scoreThresholds";
        if (const json::object* sto = r.Object(*st, st_path)) {
          ScoreThresholds t;
          if (auto p = r.Number(*sto, "pass", st_path)) {
            t.pass = *p;
          }
          if (auto m = r.Number(*sto, "marginal", st_path)) {
            t.marginal = *m;
          }
          out.score_thresholds = t;
        }
      }
    }
  }

  const json::value* metrics = Reader::Field(root, "metrics");
  if (metrics == nullptr) {
    r.Problem("metrics", "required: the list of metrics to judge");
    return;
  }
  if (!metrics->is_array()) {
    r.Problem("metrics", "expected an array, got " + std::string(KindName(*metrics)));
    return;
  }
  const json::array& arr = metrics->get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string path = Index("metrics", i);
    MetricConfig m;
    if (const json::object* obj = r.Object(arr[i], path)) {
      ReadMetric(r, *obj, path, m);
    }
    out.metrics.push_back(std::move(m));
  }
}

// True if `path` is `prefix` or lies inside it (`metrics[1]` contains `metrics[1].name` but not
// `metrics[10]`).
bool Within(std::string_view path, std::string_view prefix) {
  return !prefix.empty() && path.substr(0, prefix.size()) == prefix &&
         (path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[');
}

void Check(bool ok, std::vector<ConfigProblem>& problems, std::string path, std::string message) {
  if (!ok) {
    problems.push_back({std::move(path), std::move(message)});
  }
}

json::value Serialize(const MetricAnalysisConfig& a) {
  json::object c;
  c["direction"] = DirectionName(a.direction);
  c["nanStrategy"] = NanStrategyName(a.nan_strategy);
  c["critical"] = a.critical;
  c["mustHaveData"] = a.must_have_data;
  c["muted"] = a.muted;
  json::object es;
  es["measure"] = EffectSizeMeasureName(a.effect_size.measure);
  auto put = [&es](const char* key, const std::optional<double>& v) {
    if (v) {
      es[key] = *v;
    }
  };
  put("allowedIncrease", a.effect_size.allowed_increase);
  put("allowedDecrease", a.effect_size.allowed_decrease);
  put("criticalIncrease", a.effect_size.critical_increase);
  put("criticalDecrease", a.effect_size.critical_decrease);
  c["effectSize"] = std::move(es);
  c["outliers"] = json::object{{"strategy", OutlierStrategyName(a.outliers.strategy)},
                               {"outlierFactor", a.outliers.outlier_factor}};
  return c;
}

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) {
    a.emplace_back(s);
  }
  return a;
}

}  // namespace

const MetricConfig* CanaryConfig::FindMetric(std::string_view metric_name) const {
  for (const auto& m : metrics) {
    if (m.name == metric_name) {
      return &m;
    }
  }
  return nullptr;
}

std::string ConfigProblem::ToString() const {
  return path.empty() ? message : path + ": " + message;
}

std::string ConfigErrors::ToString() const {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) {
      out += '\n';
    }
    out += p.ToString();
  }
  return out;
}

void throw_exception_from_error(const ConfigErrors& e, const boost::source_location&) {
  throw std::invalid_argument("invalid canary config:\n" + e.ToString());
}

std::vector<ConfigProblem> ValidateCanaryConfig(const CanaryConfig& config) {
  std::vector<ConfigProblem> problems;
  Check(!config.metrics.empty(), problems, "metrics", "must list at least one metric");
  std::set<std::string_view> names;
  for (size_t i = 0; i < config.metrics.size(); ++i) {
    const MetricConfig& m = config.metrics[i];
    const std::string path = Index("metrics", i);
    Check(!m.name.empty(), problems, Member(path, "name"), "must not be empty");
    Check(m.name.empty() || names.insert(m.name).second, problems, Member(path, "name"),
          "duplicate metric name \"" + m.name + "\" (pairs are matched to metrics by name)");
    const std::string c_path = Member(Member(path, "analysisConfigurations"), "canary");
    const double factor = m.analysis.outliers.outlier_factor;
    Check(std::isfinite(factor) && factor > 0, problems,
          Member(Member(c_path, "outliers"), "outlierFactor"), "must be greater than 0");
    const auto& es = m.analysis.effect_size;
    for (const auto& [key, v] : {std::pair{"allowedIncrease", es.allowed_increase},
                                 std::pair{"allowedDecrease", es.allowed_decrease},
                                 std::pair{"criticalIncrease", es.critical_increase},
                                 std::pair{"criticalDecrease", es.critical_decrease}}) {
      Check(!v || std::isfinite(*v), problems, Member(Member(c_path, "effectSize"), key),
            "must be a finite number");
    }
  }
  for (const auto& [group, weight] : config.group_weights) {
    Check(std::isfinite(weight) && weight >= 0, problems, Member("classifier.groupWeights", group),
          "must be a number >= 0");
  }
  if (config.score_thresholds) {
    Check(std::isfinite(config.score_thresholds->pass), problems, "classifier.scoreThresholds.pass",
          "must be a finite number");
    Check(std::isfinite(config.score_thresholds->marginal), problems,
          "classifier.scoreThresholds.marginal", "must be a finite number");
  }
  Check(config.judge.name == "NetflixACAJudge-v1.0", problems, "judge.name",
        "canaryd implements \"NetflixACAJudge-v1.0\" only, got \"" + config.judge.name + "\"");
  if (config.judge.tolerance) {
    Check(std::isfinite(*config.judge.tolerance) && *config.judge.tolerance >= 0, problems,
          "judge.judgeConfigurations.tolerance", "must be a number >= 0 (Kayenta uses 0.25)");
  }
  if (config.judge.conf_level) {
    const double c = *config.judge.conf_level;
    Check(c > 0 && c < 1, problems, "judge.judgeConfigurations.confLevel",
          "must be between 0 and 1, exclusive (Kayenta uses 0.98)");
  }
  return problems;
}

ConfigResult<CanaryConfig> ParseCanaryConfig(std::string_view text) {
  std::string syntax_error;
  const json::value doc = detail::ParseJson(text, syntax_error);
  if (!syntax_error.empty()) {
    return ConfigErrors{{{"", syntax_error}}};
  }
  if (!doc.is_object()) {
    return ConfigErrors{{{"", "expected a JSON object (a Kayenta canary config), got " +
                                  std::string(KindName(doc))}}};
  }
  Reader r;
  CanaryConfig config;
  ReadConfig(r, doc.get_object(), config);
  // Range and cross-field checks only where the types were right, so that one mistake is not
  // reported twice.
  std::vector<ConfigProblem> semantic = ValidateCanaryConfig(config);
  for (auto& p : semantic) {
    bool already = false;
    for (const auto& q : r.problems()) {
      already = already || Within(p.path, q.path);
    }
    if (!already) {
      r.problems().push_back(std::move(p));
    }
  }
  if (!r.problems().empty()) {
    return ConfigErrors{std::move(r.problems())};
  }
  return config;
}

std::string SerializeCanaryConfig(const CanaryConfig& config) {
  json::object root;
  if (!config.id.empty()) {
    root["id"] = config.id;
  }
  root["name"] = config.name;
  root["description"] = config.description;
  root["configVersion"] = config.config_version;
  root["applications"] = Strings(config.applications);
  json::object judge_configurations;
  if (config.judge.tolerance) {
    judge_configurations["tolerance"] = *config.judge.tolerance;
  }
  if (config.judge.conf_level) {
    judge_configurations["confLevel"] = *config.judge.conf_level;
  }
  root["judge"] = json::object{{"name", config.judge.name},
                               {"judgeConfigurations", std::move(judge_configurations)}};
  json::array metrics;
  for (const auto& m : config.metrics) {
    json::object q;
    q["type"] = m.query.type;
    if (!m.query.metric_name.empty()) {
      q["metricName"] = m.query.metric_name;
    }
    if (m.query.custom_filter_template) {
      q["customFilterTemplate"] = *m.query.custom_filter_template;
    }
    if (m.query.custom_inline_template) {
      q["customInlineTemplate"] = *m.query.custom_inline_template;
    }
    if (!m.query.label_bindings.empty()) {
      q["labelBindings"] = Strings(m.query.label_bindings);
    }
    if (!m.query.group_by_fields.empty()) {
      q["groupByFields"] = Strings(m.query.group_by_fields);
    }
    if (!m.query.resource_type.empty()) {
      q["resourceType"] = m.query.resource_type;
    }
    json::object metric;
    metric["name"] = m.name;
    metric["query"] = std::move(q);
    metric["groups"] = Strings(m.groups);
    metric["analysisConfigurations"] = json::object{{"canary", Serialize(m.analysis)}};
    metric["scopeName"] = m.scope_name;
    metrics.push_back(std::move(metric));
  }
  root["metrics"] = std::move(metrics);
  json::object templates;
  for (const auto& [k, v] : config.templates) {
    templates[k] = v;
  }
  root["templates"] = std::move(templates);
  json::object classifier;
  json::object weights;
  for (const auto& [k, v] : config.group_weights) {
    weights[k] = v;
  }
  classifier["groupWeights"] = std::move(weights);
  if (config.score_thresholds) {
    classifier["scoreThresholds"] = json::object{{"pass", config.score_thresholds->pass},
                                                 {"marginal", config.score_thresholds->marginal}};
  }
  root["classifier"] = std::move(classifier);
  return detail::Serialize(root);
}

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kIncrease:
      return "increase";
    case Direction::kDecrease:
      return "decrease";
    case Direction::kEither:
      break;
  }
  return "either";
}

std::string_view NanStrategyName(NanStrategy s) {
  return s == NanStrategy::kReplace ? "replace" : "remove";
}

std::string_view OutlierStrategyName(OutlierStrategy s) {
  return s == OutlierStrategy::kRemove ? "remove" : "keep";
}

std::string_view EffectSizeMeasureName(EffectSizeMeasure m) {
  return m == EffectSizeMeasure::kCles ? "cles" : "meanRatio";
}

}  // namespace canaryd::canaryconfig
