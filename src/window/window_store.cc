#include "canaryd/window/window_store.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <limits>
#include <mutex>
#include <span>
#include <unordered_set>

#include "canaryd/model/labels.h"
#include "canaryd/window/step_eval.h"
#include "canaryd/window/step_ring.h"

namespace canaryd::window {
namespace {

// Attachment words in the series table: 0 = not classified yet, 1 = feeds nothing, anything
// else = the address of the series' SeriesState.
constexpr uint64_t kIgnored = 1;
constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using Tags = std::vector<std::pair<std::string, std::string>>;

// A series' lock is held for a few appends or one evaluation, and contention needs two requests
// for the same series at once (or the closer), so a spin lock beats a mutex's larger footprint
// and slower uncontended path.
class SpinLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
    }
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

void AtomicMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (cur < v && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// Go's strconv.ParseFloat as histogram_quantile applies it to `le`.
bool ParseBound(std::string_view s, double& out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string TagsKey(const Tags& tags) {
  std::string key;
  for (const auto& [n, v] : tags) {
    key.append(n);
    key.push_back('\0');
    key.append(v);
    key.push_back('\0');
  }
  return key;
}

struct Membership {
  AnalysisId analysis_id;
  void* analysis;  // Analysis*, valid while the membership exists
  uint32_t metric;
  Side side;
};

}  // namespace

struct WindowStore::SelectorRef {
  Analysis* analysis;
  uint32_t metric;
  Side side;
  const select::LabelSelector* selector;
};

struct WindowStore::SeriesState {
  explicit SeriesState(series::SeriesId series_id) : id(series_id) {}

  const series::SeriesId id;
  // False once the series left the table: nothing appends any more, and the state lives on only
  // while some analysis still has its samples in range. Changed under the store's exclusive lock.
  bool in_table = true;
  // What the series feeds. Changed only while nothing else can read it: before the state is
  // published, under the exclusive lock, or (for states no longer in the table) by the closer.
  std::vector<Membership> memberships;

  // The analysis of every membership when they all share one (the common case), so that the
  // append path touches one Analysis; nullptr when several. Kept with `memberships`.
  void* sole_analysis = nullptr;

  SpinLock mu;  // guards the fields below
  int64_t last_ts = kNoTime;
  // Samples older than this can no longer count for any open step (kept by whoever moves a
  // next step or changes memberships).
  int64_t min_useful = kNoTime;
  size_t head = 0;
  std::vector<model::Sample> samples;  // strictly increasing timestamps from `head` on

  std::span<const model::Sample> Live() const {
    return {samples.data() + head, samples.size() - head};
  }
  void DropBefore(int64_t ts) {
    while (head < samples.size() && samples[head].timestamp_ms < ts) ++head;
    if (head == samples.size()) {
      samples.clear();
      head = 0;
    } else if (head >= 8 && head * 2 >= samples.size()) {
      samples.erase(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(head));
      head = 0;
    }
    // Steady state holds a handful of samples; give back what a burst or catch-up left behind.
    if (samples.capacity() > 32 && samples.capacity() > 4 * samples.size()) {
      samples.shrink_to_fit();
    }
  }
  size_t MemoryBytes() const {
    return sizeof(*this) + samples.capacity() * sizeof(model::Sample) +
           memberships.capacity() * sizeof(Membership);
  }
};

namespace {

struct Member {
  WindowStore::SeriesState* series;
  uint32_t tagset;
  double le;  // histogram bucket bound; unused otherwise
};

struct Group {
  Group(uint32_t tagset_index, Tags t, size_t capacity)
      : tagset(tagset_index), tags(std::move(t)), rings{StepRing(capacity), StepRing(capacity)} {}
  uint32_t tagset;
  Tags tags;
  StepRing rings[2];
};

struct MetricWindow {
  std::string name;
  select::QueryPlan plan[2];
  int64_t need_ms[2] = {0, 0};  // history one step evaluation reads (range or lookback)
  std::vector<Member> members[2];
  std::vector<Tags> tagsets;
  std::unordered_map<std::string, uint32_t> tagset_index;
  std::vector<int32_t> group_of_tagset;  // -1: no group yet
  std::vector<Group> groups;

  uint32_t Intern(Tags tags) {
    std::string key = TagsKey(tags);
    const auto [it, inserted] = tagset_index.try_emplace(std::move(key), 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(tagsets.size());
      tagsets.push_back(std::move(tags));
      group_of_tagset.push_back(-1);
    }
    return it->second;
  }
};

}  // namespace

struct WindowStore::Analysis {
  AnalysisId id = 0;
  int64_t start_ms = 0;
  int64_t control_offset_ms = 0;
  int64_t step_ms = 0;
  int64_t allowance_ms = 0;
  size_t capacity = 0;
  int64_t created_wall_ms = 0;
  std::vector<MetricWindow> metrics;

  std::atomic<int64_t> event_watermark{kNoTime};
  std::atomic<int64_t> last_arrival_wall{0};
  std::atomic<int64_t> next_step{0};

  mutable std::mutex mu;  // members, tag sets, groups, rings, counters below
  uint64_t steps_closed = 0;
  size_t steps_held = 0;
};

namespace {

WindowStore::Analysis& AnalysisOf(const Membership& m) {
  return *static_cast<WindowStore::Analysis*>(m.analysis);
}

// The time at which a side evaluates the analysis' next open step (the control side lags by the
// baseline offset).
int64_t NextEvalTime(const WindowStore::Analysis& an, Side side);

// Refreshes what the append path caches from the memberships. Callers hold whatever keeps the
// memberships stable (see SeriesState::memberships) and nothing appends concurrently to
// `min_useful` without the series lock, which this takes.
void RefreshMembershipCache(WindowStore::SeriesState& s) {
  void* sole = s.memberships.empty() ? nullptr : s.memberships.front().analysis;
  int64_t min_useful = std::numeric_limits<int64_t>::max();
  for (const Membership& m : s.memberships) {
    if (m.analysis != sole) sole = nullptr;
    const WindowStore::Analysis& an = AnalysisOf(m);
    min_useful = std::min(min_useful, NextEvalTime(an, m.side) -
                                          an.metrics[m.metric].need_ms[static_cast<int>(m.side)]);
  }
  s.sole_analysis = sole;
  std::lock_guard lock(s.mu);
  s.min_useful = min_useful;
}

int64_t NextEvalTime(const WindowStore::Analysis& an, Side side) {
  const int64_t next = an.next_step.load(std::memory_order_relaxed);
  return side == Side::kControl ? next - an.control_offset_ms : next;
}

}  // namespace

WindowStore::WindowStore(series::SeriesTable& table, const Clock& clock, MetricsRegistry& metrics,
                         WindowOptions options)
    : table_(table),
      clock_(clock),
      options_(options),
      origin_(clock.Monotonic()),
      series_created_(
          metrics.AddCounter("canaryd_series_created_total", "Series added to the series table.")),
      series_expired_(metrics.AddCounter("canaryd_series_expired_total",
                                         "Series removed from the series table after the "
                                         "retention period without samples.")),
      series_selected_(metrics.AddCounter(
          "canaryd_window_series_selected_total",
          "Series that matched at least one analysis' selector (on first sight or when an "
          "analysis started).")),
      samples_appended_(metrics.AddCounterFamily("canaryd_window_samples_total",
                                                 "Samples of selected series, by what happened "
                                                 "to them.",
                                                 {"result"})
                            .WithLabels({"appended"})),
      samples_out_of_order_(metrics.AddCounterFamily("canaryd_window_samples_total", "", {"result"})
                                .WithLabels({"out_of_order"})),
      samples_duplicate_(metrics.AddCounterFamily("canaryd_window_samples_total", "", {"result"})
                             .WithLabels({"duplicate"})),
      samples_too_late_(metrics.AddCounterFamily("canaryd_window_samples_total", "", {"result"})
                            .WithLabels({"too_late"})),
      steps_closed_(metrics.AddCounter("canaryd_window_steps_closed_total",
                                       "Analysis steps closed (one value per metric, tag set "
                                       "and side).")),
      tag_sets_dropped_(metrics.AddCounter(
          "canaryd_window_tag_sets_dropped_total",
          "Step values dropped because a metric reached its tag set limit.")) {
  metrics.AddCallback("canaryd_series_active", "Series in the series table.",
                      [this] { return static_cast<double>(table_.size()); });
  metrics.AddCallback("canaryd_series_table_bytes",
                      "Memory used by the series table (slots, label keys, attachments, free "
                      "lists).",
                      [this] { return static_cast<double>(table_.MemoryBytes()); });
  metrics.AddCallback("canaryd_window_analyses", "Analyses with open windows.", [this] {
    std::shared_lock lock(mu_);
    return static_cast<double>(analyses_.size());
  });
}

WindowStore::~WindowStore() {
  std::unique_lock lock(mu_);
  std::unordered_set<SeriesState*> states;
  for (auto& [id, a] : analyses_) {
    for (auto& mw : a->metrics) {
      for (auto& side : mw.members) {
        for (auto& m : side) states.insert(m.series);
      }
    }
  }
  for (SeriesState* s : states) {
    if (s->in_table) {
      table_.CompareExchangeAttachment(s->id, reinterpret_cast<uint64_t>(s), kIgnored);
    }
    delete s;
  }
}

uint32_t WindowStore::NowSeconds() const {
  return static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Monotonic() - origin_).count());
}

void WindowStore::Append(const model::SeriesBatch& batch) {
  thread_local std::vector<series::SeriesId> ids;
  thread_local std::vector<uint64_t> attachments;
  std::shared_lock lock(mu_);
  const size_t created = table_.ResolveBatch(batch, NowSeconds(), ids, &attachments);
  if (created > 0) {
    series_created_.Inc(created);
  }
  if (analyses_.empty()) {
    return;  // nothing can be selected; new series stay unclassified until an analysis starts
  }
  const int64_t now_ms = clock_.NowMillis();
  uint64_t appended = 0, out_of_order = 0, duplicate = 0, too_late = 0;
  for (size_t i = 0; i < batch.series.size(); ++i) {
    uint64_t a = attachments[i];
    if (a == 0) {
      a = Classify(ids[i], batch.series[i].labels);
    }
    if (a == kIgnored) {
      continue;
    }
    auto* state = reinterpret_cast<SeriesState*>(a);
    // The next selected states are likely cache misses: fetch them while this one is worked on.
    if (i + 4 < attachments.size() && attachments[i + 4] > kIgnored) {
      __builtin_prefetch(reinterpret_cast<const void*>(attachments[i + 4]));
    }
    int64_t newest = kNoTime;
    {
      std::lock_guard series_lock(state->mu);
      for (const model::Sample& s : batch.SamplesOf(batch.series[i])) {
        if (s.timestamp_ms <= state->last_ts) {
          ++(s.timestamp_ms == state->last_ts ? duplicate : out_of_order);
          continue;
        }
        state->last_ts = s.timestamp_ms;
        if (s.timestamp_ms < state->min_useful) {
          ++too_late;
          continue;
        }
        if (state->samples.size() - state->head >= options_.max_samples_per_series) {
          ++state->head;  // bounded history: the oldest sample goes
        }
        state->samples.push_back(s);
        newest = s.timestamp_ms;
        ++appended;
      }
    }
    if (newest != kNoTime) {
      auto advance = [&](Analysis& an) {
        // A sample from a clock far ahead must not close steps early.
        if (newest <= now_ms + an.allowance_ms &&
            an.event_watermark.load(std::memory_order_relaxed) < newest) {
          AtomicMax(an.event_watermark, newest);
        }
        if (an.last_arrival_wall.load(std::memory_order_relaxed) < now_ms) {
          an.last_arrival_wall.store(now_ms, std::memory_order_relaxed);
        }
      };
      if (state->sole_analysis != nullptr) {
        advance(*static_cast<Analysis*>(state->sole_analysis));
      } else {
        for (const Membership& m : state->memberships) advance(AnalysisOf(m));
      }
    }
  }
  if (appended > 0) samples_appended_.Inc(appended);
  if (out_of_order > 0) samples_out_of_order_.Inc(out_of_order);
  if (duplicate > 0) samples_duplicate_.Inc(duplicate);
  if (too_late > 0) samples_too_late_.Inc(too_late);
}

uint64_t WindowStore::Classify(series::SeriesId id, std::string_view key) {
  thread_local std::vector<uint64_t> tags;
  thread_local std::vector<const SelectorRef*> matched;
  tags.clear();
  matched.clear();
  index_.Match(key, tags);
  for (const uint64_t t : tags) matched.push_back(&refs_[t]);
  if (matched.empty()) {
    return table_.CompareExchangeAttachment(id, 0, kIgnored);
  }
  std::lock_guard lock(classify_mu_);
  // Another request may have classified the same new series meanwhile.
  if (const uint64_t current = table_.CompareExchangeAttachment(id, 0, 0); current != 0) {
    return current;
  }
  auto state = std::make_unique<SeriesState>(id);
  AddMemberships(*state, key, matched);
  if (state->memberships.empty()) {
    return table_.CompareExchangeAttachment(id, 0, kIgnored);
  }
  series_selected_.Inc();
  return table_.CompareExchangeAttachment(id, 0, reinterpret_cast<uint64_t>(state.release()));
}

void WindowStore::AddMemberships(SeriesState& state, std::string_view key,
                                 const std::vector<const SelectorRef*>& matched) {
  for (const SelectorRef* ref : matched) {
    Analysis& a = *ref->analysis;
    MetricWindow& mw = a.metrics[ref->metric];
    const int side = static_cast<int>(ref->side);
    const select::QueryPlan& plan = mw.plan[side];
    double le = 0;
    if (plan.quantile && !ParseBound(model::FindLabel(key, "le"), le)) {
      continue;  // histogram_quantile ignores series whose `le` is not a number
    }
    Tags tags;
    for (const std::string& label : plan.by) {
      const std::string_view v = model::FindLabel(key, label);
      if (!v.empty()) tags.emplace_back(label, std::string(v));
    }
    {
      std::lock_guard lock(a.mu);
      const uint32_t tagset = mw.Intern(std::move(tags));
      mw.members[side].push_back(Member{&state, tagset, le});
    }
    state.memberships.push_back(Membership{a.id, &a, ref->metric, ref->side});
  }
  RefreshMembershipCache(state);
}

void WindowStore::RebuildIndex() {
  index_.Clear();
  refs_.clear();
  for (auto& [id, a] : analyses_) {
    for (uint32_t m = 0; m < a->metrics.size(); ++m) {
      for (const Side side : {Side::kControl, Side::kExperiment}) {
        const select::LabelSelector& sel = a->metrics[m].plan[static_cast<int>(side)].selector;
        index_.Add(sel, refs_.size());
        refs_.push_back(SelectorRef{a.get(), m, side, &sel});
      }
    }
  }
}

AnalysisId WindowStore::AddAnalysis(AnalysisWindowSpec spec) {
  auto a = std::make_unique<Analysis>();
  a->start_ms = spec.start_ms;
  a->step_ms = std::max<int64_t>(spec.step_ms, 1);
  a->allowance_ms = options_.late_allowance_ms > 0 ? options_.late_allowance_ms : a->step_ms;
  a->capacity = options_.max_steps;
  if (spec.lookback.mode == Lookback::Mode::kSliding && spec.lookback.length_ms > 0) {
    const auto steps = static_cast<size_t>((spec.lookback.length_ms + a->step_ms - 1) / a->step_ms);
    a->capacity = std::clamp<size_t>(steps, 1, options_.max_steps);
  }
  a->created_wall_ms = clock_.NowMillis();
  a->last_arrival_wall.store(a->created_wall_ms);
  a->next_step.store(spec.start_ms);
  a->control_offset_ms = std::max<int64_t>(spec.control_offset_ms, 0);
  a->metrics.resize(spec.metrics.size());
  for (size_t i = 0; i < spec.metrics.size(); ++i) {
    MetricWindow& mw = a->metrics[i];
    mw.name = std::move(spec.metrics[i].name);
    mw.plan[0] = std::move(spec.metrics[i].control);
    mw.plan[1] = std::move(spec.metrics[i].experiment);
    for (int s = 0; s < 2; ++s) {
      mw.need_ms[s] = mw.plan[s].function == select::RangeFunction::kNone ? options_.lookback_delta_ms
                                                                         : mw.plan[s].range_ms;
    }
  }

  std::unique_lock lock(mu_);
  const AnalysisId id = next_id_++;
  a->id = id;
  Analysis* raw = a.get();
  analyses_.emplace(id, std::move(a));
  RebuildIndex();

  // Series already known meet only this analysis' selectors; the others' memberships stand.
  std::vector<SelectorRef> refs;
  select::SelectorIndex own;
  for (uint32_t m = 0; m < raw->metrics.size(); ++m) {
    for (const Side side : {Side::kControl, Side::kExperiment}) {
      const select::LabelSelector& sel = raw->metrics[m].plan[static_cast<int>(side)].selector;
      own.Add(sel, refs.size());
      refs.push_back(SelectorRef{raw, m, side, &sel});
    }
  }
  std::vector<uint64_t> tags;
  std::vector<const SelectorRef*> matched;
  table_.ForEachAttached([&](series::SeriesId sid, std::string_view key, uint64_t& attachment) {
    if (attachment == 0) {
      return;  // not classified yet: it meets the whole new index on its next sample
    }
    tags.clear();
    matched.clear();
    own.Match(key, tags);
    for (const uint64_t t : tags) matched.push_back(&refs[t]);
    if (matched.empty()) {
      return;
    }
    if (attachment == kIgnored) {
      auto state = std::make_unique<SeriesState>(sid);
      AddMemberships(*state, key, matched);
      if (!state->memberships.empty()) {
        attachment = reinterpret_cast<uint64_t>(state.release());
        series_selected_.Inc();
      }
    } else {
      AddMemberships(*reinterpret_cast<SeriesState*>(attachment), key, matched);
    }
  });
  return id;
}

bool WindowStore::RemoveAnalysis(AnalysisId id) {
  std::unique_lock lock(mu_);
  const auto it = analyses_.find(id);
  if (it == analyses_.end()) {
    return false;
  }
  Analysis& a = *it->second;
  std::unordered_set<SeriesState*> states;
  for (auto& mw : a.metrics) {
    for (auto& side : mw.members) {
      for (auto& m : side) states.insert(m.series);
    }
  }
  for (SeriesState* s : states) {
    std::erase_if(s->memberships, [id](const Membership& m) { return m.analysis_id == id; });
    RefreshMembershipCache(*s);
    if (s->memberships.empty()) {
      if (s->in_table) {
        table_.CompareExchangeAttachment(s->id, reinterpret_cast<uint64_t>(s), kIgnored);
      }
      delete s;
    }
  }
  analyses_.erase(it);
  RebuildIndex();
  return true;
}

size_t WindowStore::Tick() {
  std::lock_guard close_lock(close_mu_);
  std::shared_lock lock(mu_);
  const int64_t now = clock_.NowMillis();
  size_t closed = 0;
  for (auto& [id, a] : analyses_) {
    // The watermark is the newest sample time; when the analysis' series go quiet for longer
    // than the allowance, the wall clock moves it on so that steps still close (as NaN).
    int64_t watermark = a->event_watermark.load(std::memory_order_relaxed);
    const int64_t base = watermark == kNoTime ? a->start_ms : watermark;
    const int64_t quiet = now - a->last_arrival_wall.load(std::memory_order_relaxed);
    if (quiet > a->allowance_ms) {
      watermark = std::max(watermark, base + quiet - a->allowance_ms);
    }
    if (watermark != kNoTime) {
      closed += CloseDue(*a, watermark - a->allowance_ms);
    }
  }
  return closed;
}

size_t WindowStore::CloseThrough(AnalysisId id, int64_t t_ms) {
  std::lock_guard close_lock(close_mu_);
  std::shared_lock lock(mu_);
  const auto it = analyses_.find(id);
  return it == analyses_.end() ? 0 : CloseDue(*it->second, t_ms);
}

size_t WindowStore::CloseDue(Analysis& a, int64_t through_ms) {
  std::lock_guard lock(a.mu);
  int64_t next = a.next_step.load(std::memory_order_relaxed);
  if (next > through_ms) {
    return 0;
  }
  // Steps that would leave the rings before anyone could read them are skipped outright.
  const int64_t due = (through_ms - next) / a.step_ms + 1;
  if (static_cast<size_t>(due) > a.capacity) {
    next += (due - static_cast<int64_t>(a.capacity)) * a.step_ms;
  }
  size_t closed = 0;
  for (; next <= through_ms; next += a.step_ms) {
    CloseStep(a, next);
    ++closed;
  }
  a.next_step.store(next, std::memory_order_relaxed);
  a.steps_closed += closed;
  steps_closed_.Inc(closed);
  PruneMembers(a);
  return closed;
}

void WindowStore::CloseStep(Analysis& a, int64_t t) {
  thread_local std::vector<double> values[2];
  thread_local std::vector<uint8_t> has[2];
  thread_local std::vector<Aggregator> aggs;
  thread_local std::vector<std::vector<Bucket>> buckets;
  for (MetricWindow& mw : a.metrics) {
    const size_t ntags = mw.tagsets.size();
    for (int side = 0; side < 2; ++side) {
      const select::QueryPlan& plan = mw.plan[side];
      values[side].assign(ntags, kNaN);
      has[side].assign(ntags, 0);
      if (plan.quantile) {
        if (buckets.size() < ntags) buckets.resize(ntags);
        for (size_t i = 0; i < ntags; ++i) buckets[i].clear();
      } else {
        aggs.assign(ntags, Aggregator(plan.aggregation));
      }
      for (const Member& m : mw.members[side]) {
        double v = 0;
        bool ok = false;
        {
          std::lock_guard lock(m.series->mu);
          const auto samples = m.series->Live();
          const int64_t at = side == 0 ? t - a.control_offset_ms : t;
          ok = plan.function == select::RangeFunction::kNone
                   ? InstantValue(samples, at, options_.lookback_delta_ms, v)
                   : RangeFunctionValue(plan.function, samples, at, plan.range_ms, v);
        }
        if (!ok) continue;
        if (plan.quantile) {
          // The inner `sum by (le, ...)`: one bucket per distinct bound.
          auto& b = buckets[m.tagset];
          auto it = std::find_if(b.begin(), b.end(),
                                 [&](const Bucket& x) { return x.upper_bound == m.le; });
          if (it == b.end()) {
            b.push_back(Bucket{m.le, v});
          } else {
            it->count += v;
          }
        } else {
          aggs[m.tagset].Add(v);
        }
      }
      for (size_t i = 0; i < ntags; ++i) {
        if (plan.quantile) {
          if (!buckets[i].empty()) {
            values[side][i] = BucketQuantile(*plan.quantile, buckets[i]);
            has[side][i] = 1;
          }
        } else if (!aggs[i].empty()) {
          values[side][i] = aggs[i].Result();
          has[side][i] = 1;
        }
      }
    }
    // A tag set gets its rings when it first has a value; earlier steps are NaN.
    for (size_t i = 0; i < ntags; ++i) {
      if (mw.group_of_tagset[i] >= 0 || (!has[0][i] && !has[1][i])) continue;
      if (mw.groups.size() >= options_.max_tag_sets_per_metric) {
        tag_sets_dropped_.Inc();
        continue;
      }
      mw.group_of_tagset[i] = static_cast<int32_t>(mw.groups.size());
      mw.groups.emplace_back(static_cast<uint32_t>(i), mw.tagsets[i], a.capacity);
      for (StepRing& ring : mw.groups.back().rings) {
        for (size_t k = 0; k < a.steps_held; ++k) ring.Push(kNaN);
      }
    }
    for (Group& g : mw.groups) {
      g.rings[0].Push(values[0][g.tagset]);
      g.rings[1].Push(values[1][g.tagset]);
    }
  }
  a.steps_held = std::min(a.steps_held + 1, a.capacity);
}

void WindowStore::PruneMembers(Analysis& a) {
  for (MetricWindow& mw : a.metrics) {
    for (int side = 0; side < 2; ++side) {
      auto& members = mw.members[side];
      for (size_t i = 0; i < members.size();) {
        SeriesState* s = members[i].series;
        bool empty;
        {
          std::lock_guard lock(s->mu);
          // What the open steps of each analysis the series feeds can still read: a range
          // function reads [next - range, ...]; an instant selector only the latest sample at or
          // before the next step (within the lookback delta) and what comes after it.
          const auto live = s->Live();
          int64_t keep_from = std::numeric_limits<int64_t>::max();
          int64_t min_useful = std::numeric_limits<int64_t>::max();
          for (const Membership& m : s->memberships) {
            Analysis& an = AnalysisOf(m);
            const MetricWindow& metric = an.metrics[m.metric];
            const int side_index = static_cast<int>(m.side);
            const int64_t next = NextEvalTime(an, m.side);
            int64_t keep = next - metric.need_ms[side_index];
            min_useful = std::min(min_useful, keep);
            if (metric.plan[side_index].function == select::RangeFunction::kNone) {
              const auto after = std::upper_bound(
                  live.begin(), live.end(), next,
                  [](int64_t t, const model::Sample& x) { return t < x.timestamp_ms; });
              if (after != live.begin()) keep = std::max(keep, (after - 1)->timestamp_ms);
            }
            keep_from = std::min(keep_from, keep);
          }
          s->min_useful = min_useful;
          s->DropBefore(keep_from);
          empty = s->Live().empty();
        }
        if (!s->in_table && empty) {
          // The series left the table and its last samples are out of range: forget it here.
          std::erase_if(s->memberships, [&](const Membership& m) {
            return m.analysis == &a && m.metric == static_cast<uint32_t>(&mw - a.metrics.data()) &&
                   static_cast<int>(m.side) == side;
          });
          members[i] = members.back();
          members.pop_back();
          if (s->memberships.empty()) {
            delete s;
          } else {
            RefreshMembershipCache(*s);
          }
          continue;
        }
        ++i;
      }
    }
  }
}

bool WindowStore::Snapshot(AnalysisId id, std::vector<model::MetricSetPair>& out) const {
  out.clear();
  std::shared_lock lock(mu_);
  const auto it = analyses_.find(id);
  if (it == analyses_.end()) {
    return false;
  }
  const Analysis& a = *it->second;
  std::lock_guard analysis_lock(a.mu);
  const int64_t next = a.next_step.load(std::memory_order_relaxed);
  const int64_t first = next - static_cast<int64_t>(a.steps_held) * a.step_ms;
  for (const MetricWindow& mw : a.metrics) {
    if (mw.groups.empty()) {
      // No series had a value yet: one untagged pair of NaNs, as Kayenta pairs an empty result.
      model::MetricSetPair& p = out.emplace_back();
      p.name = mw.name;
      p.control.assign(a.steps_held, kNaN);
      p.experiment.assign(a.steps_held, kNaN);
      p.start_time_millis = first;
      p.step_millis = a.step_ms;
      continue;
    }
    std::vector<const Group*> order;
    for (const Group& g : mw.groups) order.push_back(&g);
    std::sort(order.begin(), order.end(),
              [](const Group* x, const Group* y) { return x->tags < y->tags; });
    for (const Group* g : order) {
      model::MetricSetPair& p = out.emplace_back();
      p.name = mw.name;
      p.tags = g->tags;
      g->rings[0].CopyTo(p.control);
      g->rings[1].CopyTo(p.experiment);
      p.start_time_millis = first;
      p.step_millis = a.step_ms;
    }
  }
  return true;
}

std::optional<AnalysisWindowInfo> WindowStore::Info(AnalysisId id) const {
  std::shared_lock lock(mu_);
  const auto it = analyses_.find(id);
  if (it == analyses_.end()) {
    return std::nullopt;
  }
  const Analysis& a = *it->second;
  std::lock_guard analysis_lock(a.mu);
  AnalysisWindowInfo info;
  info.start_ms = a.start_ms;
  info.step_ms = a.step_ms;
  info.next_step_ms = a.next_step.load(std::memory_order_relaxed);
  info.steps_closed = a.steps_closed;
  info.steps_held = a.steps_held;
  info.ring_capacity = a.capacity;
  size_t bytes = sizeof(Analysis);
  std::unordered_set<const SeriesState*> states;
  for (const MetricWindow& mw : a.metrics) {
    info.control_series += mw.members[0].size();
    info.experiment_series += mw.members[1].size();
    bytes += sizeof(MetricWindow);
    for (const Group& g : mw.groups) {
      bytes += sizeof(Group) + g.rings[0].MemoryBytes() + g.rings[1].MemoryBytes() - 2 * sizeof(StepRing);
    }
    for (const Tags& t : mw.tagsets) {
      bytes += sizeof(Tags) + 2 * 64;  // key + vector; label strings are short
      bytes += t.size() * (2 * sizeof(std::string));
    }
    for (const auto& side : mw.members) {
      bytes += side.capacity() * sizeof(Member);
      for (const Member& m : side) states.insert(m.series);
    }
  }
  for (const SeriesState* s : states) {
    // A series shared by several analyses is counted in full by each: an upper bound.
    std::lock_guard series_lock(const_cast<SeriesState*>(s)->mu);
    bytes += s->MemoryBytes();
  }
  info.memory_bytes = bytes;
  return info;
}

size_t WindowStore::ExpireIdle(std::chrono::seconds retention) {
  const uint32_t now = NowSeconds();
  const auto r = static_cast<uint32_t>(retention.count());
  if (now < r) {
    return 0;
  }
  std::unique_lock lock(mu_);
  const size_t removed = table_.ExpireBefore(now - r, [](series::SeriesId, uint64_t attachment) {
    if (attachment != kIgnored) {
      // Its newest sample is older than the retention (which config keeps above the lookback
      // delta), so it has nothing left to give open steps. Dropping the samples now also means a
      // label set that comes back (as a new state) is never counted twice. The closer forgets
      // the state (PruneMembers).
      auto* state = reinterpret_cast<SeriesState*>(attachment);
      state->in_table = false;
      std::lock_guard series_lock(state->mu);
      state->samples.clear();
      state->head = 0;
    }
  });
  series_expired_.Inc(removed);
  return removed;
}

}  // namespace canaryd::window
