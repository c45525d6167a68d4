#include "canaryd/scrape/target.h"

#include <algorithm>
#include <charconv>

namespace canaryd::scrape {
namespace {

// The report series Prometheus writes for every scrape, in the order of their values.
constexpr std::string_view kReportNames[] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added"};

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

void AppendQueryEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (IsUnreserved(c)) {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
}

void AddLabel(std::vector<std::pair<std::string, std::string>>& labels, std::string name,
              std::string value) {
  for (auto& [n, v] : labels) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  labels.emplace_back(std::move(name), std::move(value));
}

}  // namespace

std::string_view ScrapeFailureName(ScrapeFailure f) {
  switch (f) {
    case ScrapeFailure::kNone: return "success";
    case ScrapeFailure::kConnect: return "connect";
    case ScrapeFailure::kTimeout: return "timeout";
    case ScrapeFailure::kHttpStatus: return "http_status";
    case ScrapeFailure::kBodySizeLimit: return "body_size_limit";
    case ScrapeFailure::kBadEncoding: return "bad_encoding";
    case ScrapeFailure::kParse: return "parse_error";
    case ScrapeFailure::kSampleLimit: return "sample_limit";
    case ScrapeFailure::kLabelLimit: return "label_limit";
    case ScrapeFailure::kRead: return "read";
  }
  return "unknown";
}

std::string TargetSpec::Instance() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + port;
}

std::string TargetSpec::Url() const {
  std::string url = scheme + "://" + Instance() + path;
  if (!query.empty()) {
    url += (path.find('?') == std::string::npos ? "?" : "&") + query;
  }
  return url;
}

std::string TargetSpec::Key() const {
  std::string key = job;
  key += '\0';
  key += Url();
  for (const auto& [n, v] : labels) {
    key += '\0';
    key += n;
    key += '=';
    key += v;
  }
  return key;
}

std::string MakeTargetSpec(const ScrapeConfig& job, std::string_view address,
                           const std::map<std::string, std::string>& group_labels,
                           TargetSpec& out) {
  out = TargetSpec{};
  out.job = job.job_name;
  out.scheme = job.scheme;
  out.path = job.metrics_path;
  auto params = job.params;
  std::vector<std::pair<std::string, std::string>> labels;
  labels.emplace_back("job", job.job_name);
  for (const auto& [name, value] : group_labels) {
    if (name == "__scheme__") {
      out.scheme = value;
    } else if (name == "__metrics_path__") {
      out.path = value;
    } else if (name.rfind("__param_", 0) == 0) {
      params[name.substr(8)] = {value};
    } else if (name == "__address__") {
      address = value;  // an explicit address label wins, as after relabeling
    } else if (name.rfind("__", 0) != 0 && !value.empty()) {
      AddLabel(labels, name, value);
    }
  }
  if (out.scheme != "http" && out.scheme != "https") {
    return "scheme \"" + out.scheme + "\" is not http or https";
  }
  if (out.path.empty() || out.path.front() != '/') {
    return "metrics path \"" + out.path + "\" must start with /";
  }
  if (address.empty()) {
    return "empty target address";
  }
  if (address.find("://") != std::string_view::npos || address.find('/') != std::string_view::npos) {
    return "\"" + std::string(address) +
           "\" is not host:port (the scheme and path are set by scheme and metrics_path)";
  }
  std::string_view host = address;
  std::string_view port;
  if (address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos) {
      return "\"" + std::string(address) + "\": unterminated [IPv6] address";
    }
    host = address.substr(1, close - 1);
    const auto rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return "\"" + std::string(address) + "\" is not [host]:port";
      }
      port = rest.substr(1);
    }
  } else if (const auto colon = address.rfind(':'); colon != std::string_view::npos) {
    if (address.find(':') != colon) {
      return "\"" + std::string(address) + "\": write IPv6 addresses as [address]:port";
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.empty()) {
    return "\"" + std::string(address) + "\" has no host";
  }
  if (!port.empty() || address.back() == ':') {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 ||
        p > 65535) {
      return "\"" + std::string(address) + "\": port \"" + std::string(port) +
             "\" is not a number from 1 to 65535";
    }
  }
  out.host = std::string(host);
  // Prometheus 2.x adds the scheme's default port to the address (and so to `instance`).
  out.port = !port.empty() ? std::string(port) : (out.scheme == "https" ? "443" : "80");
  bool has_instance = false;
  for (const auto& [n, v] : labels) {
    has_instance = has_instance || n == "instance";
  }
  if (!has_instance) {
    labels.emplace_back("instance", out.Instance());
  }
  std::sort(labels.begin(), labels.end());
  out.labels = std::move(labels);
  for (const auto& [name, values] : params) {
    for (const auto& v : values) {
      if (!out.query.empty()) out.query += '&';
      AppendQueryEscaped(out.query, name);
      out.query += '=';
      AppendQueryEscaped(out.query, v);
    }
  }
  return "";
}

size_t TargetScraper::TextHash::operator()(std::string_view s) const noexcept {
  return static_cast<size_t>(model::HashLabelKey(s));
}

TargetScraper::TargetScraper(TargetSpec spec, const ScrapeConfig& job, ingest::SampleSink& sink)
    : spec_(std::move(spec)),
      honor_labels_(job.honor_labels),
      honor_timestamps_(job.honor_timestamps),
      sample_limit_(job.sample_limit),
      label_limit_(job.label_limit),
      label_name_length_limit_(job.label_name_length_limit),
      label_value_length_limit_(job.label_value_length_limit),
      sink_(sink) {
  for (std::string_view name : kReportNames) {
    std::vector<std::pair<std::string_view, std::string_view>> labels;
    labels.emplace_back("__name__", name);
    for (const auto& [n, v] : spec_.labels) {
      labels.emplace_back(n, v);
    }
    std::sort(labels.begin(), labels.end());
    std::string key;
    for (const auto& [n, v] : labels) {
      model::AppendLabel(key, n, v);
    }
    report_hashes_.push_back(model::HashLabelKey128(key));
    report_keys_.push_back(std::move(key));
  }
}

bool TargetScraper::BuildKey(const ExpositionSample& sample, std::string& key,
                             std::string& why) const {
  auto& labels = scratch_labels_;
  labels.clear();
  labels.emplace_back("__name__", sample.name);
  for (const auto& l : sample.labels) {
    if (!l.value.empty()) {
      labels.emplace_back(l.name, l.value);
    }
  }
  const size_t scraped = labels.size();
  auto find = [&](std::string_view name, size_t limit) -> ptrdiff_t {
    for (size_t i = 0; i < limit; ++i) {
      if (labels[i].first == name) return static_cast<ptrdiff_t>(i);
    }
    return -1;
  };
  // Renamed names live in scratch_names_; reserve so no view into it moves.
  scratch_names_.clear();
  scratch_names_.reserve(spec_.labels.size());
  for (const auto& [tname, tvalue] : spec_.labels) {
    const ptrdiff_t at = find(tname, scraped);
    if (at < 0) {
      labels.emplace_back(tname, tvalue);
    } else if (!honor_labels_) {
      // Prometheus: the exposed label becomes exported_<name> (exported_exported_<name> if that
      // is taken too), and the target's value takes the name.
      std::string renamed = "exported_" + std::string(tname);
      while (find(renamed, labels.size()) >= 0) {
        renamed.insert(0, "exported_");
      }
      scratch_names_.push_back(std::move(renamed));
      labels[static_cast<size_t>(at)].first = scratch_names_.back();
      labels.emplace_back(tname, tvalue);
    }
    // honor_labels: the exposed value wins.
  }
  if (label_limit_ != 0 && labels.size() > label_limit_) {
    why = "label_limit exceeded: a series has " + std::to_string(labels.size()) +
          " labels, limit " + std::to_string(label_limit_);
    return false;
  }
  for (const auto& [n, v] : labels) {
    if (label_name_length_limit_ != 0 && n.size() > label_name_length_limit_) {
      why = "label_name_length_limit exceeded: label name \"" + std::string(n.substr(0, 64)) +
            "\" has " + std::to_string(n.size()) + " bytes, limit " +
            std::to_string(label_name_length_limit_);
      return false;
    }
    if (label_value_length_limit_ != 0 && v.size() > label_value_length_limit_) {
      why = "label_value_length_limit exceeded: label \"" + std::string(n) + "\" has a " +
            std::to_string(v.size()) + "-byte value, limit " +
            std::to_string(label_value_length_limit_);
      return false;
    }
  }
  std::sort(labels.begin(), labels.end());
  size_t size = 0;
  for (const auto& [n, v] : labels) {
    size += model::EncodedLabelSize(n.size(), v.size());
  }
  key.resize(size);
  char* out = key.data();
  for (const auto& [n, v] : labels) {
    out = model::WriteLabel(out, n, v);
  }
  return true;
}

void TargetScraper::AddSample(std::string_view key, model::LabelHash hash, int64_t ts,
                              double value) {
  batch_.series.push_back(model::BatchSeries{key, hash.lo, hash.hi,
                                             static_cast<uint32_t>(batch_.samples.size()), 1});
  batch_.samples.push_back(model::Sample{ts, value});
}

void TargetScraper::AddReportSeries(int64_t ts, double up, double duration_s, double scraped,
                                    double added) {
  const double values[] = {up, duration_s, scraped, scraped, added};
  for (size_t i = 0; i < std::size(kReportNames); ++i) {
    AddSample(report_keys_[i], report_hashes_[i], ts, values[i]);
  }
}

void TargetScraper::AddStaleForPrevious(int64_t ts, uint64_t except_scrape) {
  for (SeriesEntry* e : seen_prev_) {
    if (e->last_scrape != except_scrape && !e->explicit_timestamp) {
      AddSample(e->key, e->hash, ts, model::StaleNaN());
    }
  }
}

class TargetScraper::Visitor final : public ExpositionVisitor {
 public:
  Visitor(TargetScraper& t, uint64_t number, int64_t start_ms)
      : t_(t), number_(number), start_ms_(start_ms) {}

  void OnSample(const ExpositionSample& s) override {
    if (failure != ScrapeFailure::kNone) {
      return;
    }
    ++report.samples_scraped;
    if (t_.sample_limit_ != 0 && report.samples_scraped > t_.sample_limit_) {
      failure = ScrapeFailure::kSampleLimit;
      error = "sample_limit exceeded: more than " + std::to_string(t_.sample_limit_) + " samples";
      return;
    }
    const auto& prev = t_.seen_prev_;
    SeriesEntry* e = nullptr;
    if (cursor_ < prev.size()) {
      // Two-stage prefetch along the predicted order: the entry 8 ahead, and the text of the
      // entry 4 ahead (whose node the first stage brought in).
      if (cursor_ + 8 < prev.size()) __builtin_prefetch(prev[cursor_ + 8]);
      if (cursor_ + 4 < prev.size()) __builtin_prefetch(prev[cursor_ + 4]->text->data());
      SeriesEntry* predicted = prev[cursor_];
      if (*predicted->text == s.series_text) e = predicted;
    }
    if (e == nullptr) {
      auto it = t_.cache_.find(s.series_text);
      if (it == t_.cache_.end()) {
        SeriesEntry fresh;
        if (!t_.BuildKey(s, fresh.key, error)) {
          failure = ScrapeFailure::kLabelLimit;
          return;
        }
        fresh.hash = model::HashLabelKey128(fresh.key);
        it = t_.cache_.emplace(std::string(s.series_text), std::move(fresh)).first;
        it->second.text = &it->first;
        ++report.series_added;
      }
      e = &it->second;
    }
    if (e->prev_index < prev.size() && prev[e->prev_index] == e) {
      cursor_ = e->prev_index + 1;
    }
    if (e->last_scrape == number_) {
      ++report.duplicates;  // Prometheus: "duplicate sample for timestamp"; the first one stays
      return;
    }
    e->last_scrape = number_;
    e->explicit_timestamp = s.has_timestamp && t_.honor_timestamps_;
    t_.seen_now_.push_back(e);
    t_.AddSample(e->key, e->hash, e->explicit_timestamp ? s.timestamp_ms : start_ms_, s.value);
  }

  ScrapeReport report;
  ScrapeFailure failure = ScrapeFailure::kNone;
  std::string error;

 private:
  TargetScraper& t_;
  uint64_t number_;
  int64_t start_ms_;
  size_t cursor_ = 0;  // the predicted position in seen_prev_ of the next line
};

ScrapeReport TargetScraper::Process(const ScrapeResponse& response, int64_t start_ms,
                                    std::chrono::duration<double> duration) {
  const auto process_start = std::chrono::steady_clock::now();
  const uint64_t number = ++scrape_number_;
  ever_scraped_ = true;
  batch_.Clear();
  seen_now_.clear();
  Visitor visitor(*this, number, start_ms);
  ScrapeFailure failure = response.failure;
  std::string error = response.error;
  if (failure == ScrapeFailure::kNone) {
    ParseError perr;
    if (!parser_.Parse(response.body, FormatFromContentType(response.content_type), visitor,
                       perr)) {
      failure = ScrapeFailure::kParse;
      error = perr.line != 0 ? "line " + std::to_string(perr.line) + ": " + perr.message
                             : perr.message;
    } else if (visitor.failure != ScrapeFailure::kNone) {
      failure = visitor.failure;
      error = std::move(visitor.error);
    }
  }
  // As in Prometheus, scrape_duration_seconds covers the fetch and the processing of the body.
  duration += std::chrono::steady_clock::now() - process_start;
  ScrapeReport report = visitor.report;
  report.duration_s = duration.count();
  report.failure = failure;
  report.error = error;
  if (failure != ScrapeFailure::kNone) {
    // The whole scrape is rolled back and handled as an empty one.
    batch_.Clear();
    seen_now_.clear();
    report.series_added = 0;
    report.duplicates = 0;
    const size_t before = batch_.samples.size();
    AddStaleForPrevious(start_ms, 0);
    report.stale_markers = batch_.samples.size() - before;
    AddReportSeries(start_ms, 0, duration.count(), 0, 0);
    report.samples_scraped = 0;
  } else {
    const size_t before = batch_.samples.size();
    AddStaleForPrevious(start_ms, number);
    report.stale_markers = batch_.samples.size() - before;
    AddReportSeries(start_ms, 1, duration.count(),
                    static_cast<double>(report.samples_scraped),
                    static_cast<double>(report.series_added));
  }
  sink_.Append(batch_);
  seen_prev_.swap(seen_now_);
  seen_now_.clear();
  if (failure != ScrapeFailure::kNone) {
    seen_prev_.clear();  // everything went stale
  }
  for (size_t i = 0; i < seen_prev_.size(); ++i) {
    seen_prev_[i]->prev_index = static_cast<uint32_t>(i);
  }
  // Drop cache entries that the last successful scrape did not expose, once they pile up (failed
  // scrapes and churning series leave them behind).
  if (cache_.size() > 2 * seen_prev_.size() + 1024) {
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = it->second.last_scrape == number && failure == ScrapeFailure::kNone ? std::next(it)
                                                                                : cache_.erase(it);
    }
  }
  batch_.Clear();
  return report;
}

void TargetScraper::EndOfRun(int64_t at_ms) {
  if (!ever_scraped_) {
    return;
  }
  batch_.Clear();
  AddStaleForPrevious(at_ms, 0);
  for (size_t i = 0; i < std::size(kReportNames); ++i) {
    AddSample(report_keys_[i], report_hashes_[i], at_ms, model::StaleNaN());
  }
  sink_.Append(batch_);
  batch_.Clear();
  seen_prev_.clear();
  cache_.clear();
  ever_scraped_ = false;
}

}  // namespace canaryd::scrape
