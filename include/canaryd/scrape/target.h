#pragma once
// One scrape target and what a scrape of it turns into: the per-target half of the scraper, with
// no I/O, so its Prometheus semantics are unit-tested without sockets or sleeping.
//
// Per scrape, TargetScraper takes the response (or the failure) and the scrape's start time and
// appends one SeriesBatch to the sink:
//   - every exposed sample, labelled with the target's labels (`job`, `instance`, static or
//     file_sd labels; on a conflict the scraped label is renamed `exported_<name>` unless
//     honor_labels), stamped with the scrape start time unless it carries its own timestamp (and
//     honor_timestamps);
//   - a stale marker (Prometheus's StaleNaN) for every series of the previous successful scrape
//     that this scrape lacks; a failed scrape counts as an empty one;
//   - the report series `up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
//     `scrape_samples_post_metric_relabeling` and `scrape_series_added`.
// A parse error or an exceeded limit fails the whole scrape: nothing it exposed is ingested.
//
// Thread safety: none; a target is driven by one scrape loop at a time.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "canaryd/ingest/sample_sink.h"
#include "canaryd/model/series_batch.h"
#include "canaryd/scrape/exposition.h"
#include "canaryd/scrape/scrape_config.h"

namespace canaryd::scrape {

/// Where and how to scrape one target, resolved from its job and target group.
struct TargetSpec {
  std::string job;
  std::string scheme;        // http or https
  std::string host;          // from the address
  std::string port;          // from the address, or 80/443 by scheme
  std::string path;          // metrics_path (or a __metrics_path__ label)
  std::string query;         // encoded params ("" or "a=b&c=d")
  /// Target labels, sorted by name: job, instance and the group's labels (labels starting with
  /// "__" are dropped, as after Prometheus's relabeling).
  std::vector<std::pair<std::string, std::string>> labels;

  std::string Instance() const;  // host:port
  std::string Url() const;       // scheme://host:port/path?query
  /// Identity: two specs with equal keys are the same target (Prometheus hashes the same things).
  std::string Key() const;
};

/// Builds the target of `address` ("host:port", "host", "[v6]:port") in `group` of `job`.
/// Returns "" on success, or why the address or a label is invalid.
std::string MakeTargetSpec(const ScrapeConfig& job, std::string_view address,
                           const std::map<std::string, std::string>& group_labels, TargetSpec& out);

/// Why a scrape failed; also the `result` label of canaryd_scrapes_total.
enum class ScrapeFailure {
  kNone,
  kConnect,        // DNS, TCP connect or TLS handshake
  kTimeout,        // scrape_timeout passed before the body was complete
  kHttpStatus,     // a status other than 200
  kBodySizeLimit,  // uncompressed body over body_size_limit
  kBadEncoding,    // unsupported Content-Encoding, or corrupt gzip
  kParse,          // the exposition is invalid
  kSampleLimit,
  kLabelLimit,     // label_limit, label_name_length_limit or label_value_length_limit
  kRead,           // the connection failed while reading, or a credentials file is unreadable
};
std::string_view ScrapeFailureName(ScrapeFailure f);

/// What the HTTP layer hands to a TargetScraper.
struct ScrapeResponse {
  ScrapeFailure failure = ScrapeFailure::kNone;
  std::string error;         // readable reason when failure != kNone
  std::string_view body;     // decompressed body (valid during Process)
  std::string content_type;  // the response's Content-Type
};

/// Counts of one processed scrape, for logs, /metrics and the targets API.
struct ScrapeReport {
  ScrapeFailure failure = ScrapeFailure::kNone;
  std::string error;
  size_t samples_scraped = 0;
  size_t series_added = 0;
  size_t stale_markers = 0;
  size_t duplicates = 0;  // repeated series in one exposition: the later sample is dropped
  double duration_s = 0;  // scrape_duration_seconds: the fetch plus the processing of the body
};

class TargetScraper {
 public:
  TargetScraper(TargetSpec spec, const ScrapeConfig& job, ingest::SampleSink& sink);

  /// Turns one scrape into samples for the sink. `start_ms` is the scrape start (wall clock),
  /// `duration` how long the request took.
  ScrapeReport Process(const ScrapeResponse& response, int64_t start_ms,
                       std::chrono::duration<double> duration);

  /// The target is gone (end of run): appends stale markers, stamped `at_ms`, for every series
  /// of the last scrape and for the report series. Nothing is appended if it was never scraped.
  void EndOfRun(int64_t at_ms);

  const TargetSpec& spec() const { return spec_; }
  /// Series of the last successful scrape (its staleness set).
  size_t active_series() const { return seen_prev_.size(); }

 private:
  struct SeriesEntry {
    std::string key;  // canonical label key
    model::LabelHash hash;
    const std::string* text = nullptr;  // its series_text (the cache's key)
    uint64_t last_scrape = 0;           // scrape number that last exposed it
    uint32_t prev_index = UINT32_MAX;   // its position in seen_prev_, if there
    bool explicit_timestamp = false;
  };
  class Visitor;
  friend class Visitor;

  // Builds the key of a sample's series from its name, labels and the target labels; "" on a
  // label limit violation (reason in `why`).
  bool BuildKey(const ExpositionSample& sample, std::string& key, std::string& why) const;
  void AddReportSeries(int64_t ts, double up, double duration_s, double scraped, double added);
  void AddStaleForPrevious(int64_t ts, uint64_t except_scrape);
  void AddSample(std::string_view key, model::LabelHash hash, int64_t ts, double value);

  TargetSpec spec_;
  bool honor_labels_;
  bool honor_timestamps_;
  uint64_t sample_limit_;
  uint64_t label_limit_;
  uint64_t label_name_length_limit_;
  uint64_t label_value_length_limit_;
  ingest::SampleSink& sink_;

  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
  };
  // series_text -> series; node-based, so entries (and their key strings) have stable addresses.
  std::unordered_map<std::string, SeriesEntry, TextHash, std::equal_to<>> cache_;
  // Exposed by the last successful scrape, in exposition order. Targets expose their series in
  // the same order every time, so the next line is usually the entry after the last match: a
  // lookup is then one comparison instead of a hash-table probe.
  std::vector<SeriesEntry*> seen_prev_;
  std::vector<SeriesEntry*> seen_now_;
  std::vector<std::string> report_keys_;  // up, scrape_duration_seconds, ... label keys
  std::vector<model::LabelHash> report_hashes_;
  uint64_t scrape_number_ = 0;
  bool ever_scraped_ = false;
  ExpositionParser parser_;
  model::SeriesBatch batch_;
  // scratch for BuildKey
  mutable std::vector<std::pair<std::string_view, std::string_view>> scratch_labels_;
  mutable std::vector<std::string> scratch_names_;
};

}  // namespace canaryd::scrape
