#pragma once
// canaryd's own metrics, exposed on GET /metrics in the Prometheus text format 0.0.4.
//
// Hot paths hold a Counter& obtained once (families hand out stable references), so an increment
// is one relaxed atomic add. Values computed at scrape time (series count, process CPU) are
// registered as callbacks.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace canaryd {

/// A monotonically increasing count. Thread-safe, lock-free.
class Counter {
 public:
  void Inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void Set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) noexcept;
  double Value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// A metric with label dimensions. `WithLabels` returns a reference that stays valid for the
/// family's lifetime; cache it instead of calling WithLabels on a hot path.
/// Thread-safe: WithLabels takes a mutex; the returned metric is lock-free.
template <typename Metric>
class Family {
 public:
  explicit Family(std::vector<std::string> label_names) : label_names_(std::move(label_names)) {}

  /// REQUIRES: values.size() equals the number of label names.
  Metric& WithLabels(std::initializer_list<std::string_view> values);
  Metric& WithLabels(const std::vector<std::string>& values);

  const std::vector<std::string>& label_names() const { return label_names_; }
  /// Calls fn(label values, metric) for every child, in label-value order.
  void ForEach(const std::function<void(const std::vector<std::string>&, const Metric&)>& fn) const;

 private:
  std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

/// Owns all metrics and renders them. Registration happens at start-up; rendering at any time.
/// Thread-safe.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& AddCounter(std::string name, std::string help);
  Gauge& AddGauge(std::string name, std::string help);
  Family<Counter>& AddCounterFamily(std::string name, std::string help,
                                    std::vector<std::string> label_names);
  Family<Gauge>& AddGaugeFamily(std::string name, std::string help,
                                std::vector<std::string> label_names);
  /// A gauge (or counter, with is_counter) whose value is computed when /metrics is rendered.
  void AddCallback(std::string name, std::string help, std::function<double()> fn,
                   bool is_counter = false);

  /// Standard process_* metrics (CPU seconds, resident and virtual memory, open fds, start time),
  /// read from /proc/self at render time.
  void AddProcessMetrics();

  /// The whole registry in the Prometheus text exposition format 0.0.4.
  std::string Render() const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

/// Escapes a label value for the text exposition format (backslash, double quote, newline).
void AppendEscapedLabelValue(std::string& out, std::string_view value);

}  // namespace canaryd
