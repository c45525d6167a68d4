#include "canaryd/common/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace canaryd {

void Gauge::Add(double d) noexcept {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(std::initializer_list<std::string_view> values) {
  std::vector<std::string> key;
  key.reserve(values.size());
  for (auto v : values) {
    key.emplace_back(v);
  }
  return WithLabels(key);
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& values) {
  std::lock_guard lock(mu_);
  auto& slot = children_[values];
  if (!slot) {
    slot = std::make_unique<Metric>();
  }
  return *slot;
}

template <typename Metric>
void Family<Metric>::ForEach(
    const std::function<void(const std::vector<std::string>&, const Metric&)>& fn) const {
  std::lock_guard lock(mu_);
  for (const auto& [labels, metric] : children_) {
    fn(labels, *metric);
  }
}

template class Family<Counter>;
template class Family<Gauge>;

namespace {

void AppendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
  }
}

void AppendNumber(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values) {
  if (names.empty()) {
    return;
  }
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) {
      out += ',';
    }
    out += names[i];
    out += "=\"";
    AppendEscapedLabelValue(out, i < values.size() ? values[i] : std::string_view{});
    out += '"';
  }
  out += '}';
}

void AppendHelpLine(std::string& out, const std::string& name, const std::string& help,
                    std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  for (char c : help) {  // HELP escapes only backslash and newline
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// /proc/self/stat fields after the command name (field 3 onwards).
struct ProcStat {
  double cpu_seconds = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
  double start_time_seconds = 0;
};

ProcStat ReadProcStat() {
  ProcStat st;
  std::ifstream f("/proc/self/stat");
  std::string line;
  if (!std::getline(f, line)) {
    return st;
  }
  // The command name may contain spaces; fields resume after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) {
    return st;
  }
  std::istringstream in(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string tok; in >> tok;) {
    fields.push_back(tok);
  }
  // fields[0] is field 3 (state); utime=14, stime=15, starttime=22, vsize=23, rss=24.
  auto field = [&](int n) -> double {
    const size_t idx = static_cast<size_t>(n - 3);
    return idx < fields.size() ? std::strtod(fields[idx].c_str(), nullptr) : 0.0;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  st.cpu_seconds = (field(14) + field(15)) / ticks;
  st.virtual_bytes = field(23);
  st.resident_bytes = field(24) * static_cast<double>(sysconf(_SC_PAGESIZE));
  double boot_time = 0;
  std::ifstream stat("/proc/stat");
  for (std::string l; std::getline(stat, l);) {
    if (l.rfind("btime ", 0) == 0) {
      boot_time = std::strtod(l.c_str() + 6, nullptr);
    }
  }
  st.start_time_seconds = boot_time + field(22) / ticks;
  return st;
}

double CountOpenFds() {
  double n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') {
        ++n;
      }
    }
    closedir(d);
    --n;  // the directory stream itself
  }
  return n;
}

}  // namespace

void AppendEscapedLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

struct MetricsRegistry::Entry {
  enum class Kind { kCounter, kGauge, kCounterFamily, kGaugeFamily, kCallback };
  Kind kind;
  std::string name;
  std::string help;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Family<Counter>> counter_family;
  std::unique_ptr<Family<Gauge>> gauge_family;
  std::function<double()> callback;
  bool callback_is_counter = false;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::AddCounter(std::string name, std::string help) {
  auto e = std::make_unique<Entry>();
  e->kind = Entry::Kind::kCounter;
  e->name = std::move(name);
  e->help = std::move(help);
  e->counter = std::make_unique<Counter>();
  Counter& ref = *e->counter;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return ref;
}

Gauge& MetricsRegistry::AddGauge(std::string name, std::string help) {
  auto e = std::make_unique<Entry>();
  e->kind = Entry::Kind::kGauge;
  e->name = std::move(name);
  e->help = std::move(help);
  e->gauge = std::make_unique<Gauge>();
  Gauge& ref = *e->gauge;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return ref;
}

Family<Counter>& MetricsRegistry::AddCounterFamily(std::string name, std::string help,
                                                   std::vector<std::string> label_names) {
  auto e = std::make_unique<Entry>();
  e->kind = Entry::Kind::kCounterFamily;
  e->name = std::move(name);
  e->help = std::move(help);
  e->counter_family = std::make_unique<Family<Counter>>(std::move(label_names));
  auto& ref = *e->counter_family;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return ref;
}

Family<Gauge>& MetricsRegistry::AddGaugeFamily(std::string name, std::string help,
                                               std::vector<std::string> label_names) {
  auto e = std::make_unique<Entry>();
  e->kind = Entry::Kind::kGaugeFamily;
  e->name = std::move(name);
  e->help = std::move(help);
  e->gauge_family = std::make_unique<Family<Gauge>>(std::move(label_names));
  auto& ref = *e->gauge_family;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
  return ref;
}

void MetricsRegistry::AddCallback(std::string name, std::string help, std::function<double()> fn,
                                  bool is_counter) {
  auto e = std::make_unique<Entry>();
  e->kind = Entry::Kind::kCallback;
  e->name = std::move(name);
  e->help = std::move(help);
  e->callback = std::move(fn);
  e->callback_is_counter = is_counter;
  std::lock_guard lock(mu_);
  entries_.push_back(std::move(e));
}

void MetricsRegistry::AddProcessMetrics() {
  AddCallback(
      "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
      [] { return ReadProcStat().cpu_seconds; }, /*is_counter=*/true);
  AddCallback("process_resident_memory_bytes", "Resident memory size in bytes.",
              [] { return ReadProcStat().resident_bytes; });
  AddCallback("process_virtual_memory_bytes", "Virtual memory size in bytes.",
              [] { return ReadProcStat().virtual_bytes; });
  AddCallback("process_start_time_seconds",
              "Start time of the process since unix epoch in seconds.",
              [] { return ReadProcStat().start_time_seconds; });
  AddCallback("process_open_fds", "Number of open file descriptors.",
              [] { return CountOpenFds(); });
  AddCallback("process_max_fds", "Maximum number of open file descriptors.",
              [] { return static_cast<double>(sysconf(_SC_OPEN_MAX)); });
}

std::string MetricsRegistry::Render() const {
  std::string out;
  out.reserve(8192);
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    switch (e->kind) {
      case Entry::Kind::kCounter:
        AppendHelpLine(out, e->name, e->help, "counter");
        out += e->name;
        out += ' ';
        AppendNumber(out, e->counter->Value());
        out += '\n';
        break;
      case Entry::Kind::kGauge:
        AppendHelpLine(out, e->name, e->help, "gauge");
        out += e->name;
        out += ' ';
        AppendNumber(out, e->gauge->Value());
        out += '\n';
        break;
      case Entry::Kind::kCounterFamily:
        AppendHelpLine(out, e->name, e->help, "counter");
        e->counter_family->ForEach([&](const std::vector<std::string>& labels, const Counter& c) {
          out += e->name;
          AppendLabels(out, e->counter_family->label_names(), labels);
          out += ' ';
          AppendNumber(out, c.Value());
          out += '\n';
        });
        break;
      case Entry::Kind::kGaugeFamily:
        AppendHelpLine(out, e->name, e->help, "gauge");
        e->gauge_family->ForEach([&](const std::vector<std::string>& labels, const Gauge& g) {
          out += e->name;
          AppendLabels(out, e->gauge_family->label_names(), labels);
          out += ' ';
          AppendNumber(out, g.Value());
          out += '\n';
        });
        break;
      case Entry::Kind::kCallback:
        AppendHelpLine(out, e->name, e->help, e->callback_is_counter ? "counter" : "gauge");
        out += e->name;
        out += ' ';
        AppendNumber(out, e->callback());
        out += '\n';
        break;
    }
  }
  return out;
}

}  // namespace canaryd
