#include "canaryd/select/selector_index.h"

#include "canaryd/model/labels.h"

namespace canaryd::select {

uint32_t SelectorIndex::Intern(const Matcher& m) {
  std::string key = m.name();
  key.push_back('\0');
  key.append(MatchOpText(m.op()));
  key.push_back('\0');
  key.append(m.value());
  const auto [it, inserted] = matcher_ids_.try_emplace(std::move(key), 0);
  if (inserted) {
    it->second = static_cast<uint32_t>(matchers_.size());
    matchers_.push_back(m);
  }
  return it->second;
}

void SelectorIndex::Add(const LabelSelector& selector, uint64_t tag) {
  Entry entry{tag, {}};
  const std::string_view name = selector.MetricName();
  bool name_skipped = false;
  for (const Matcher& m : selector.matchers()) {
    if (!name_skipped && !name.empty() && m.name() == "__name__" && m.op() == MatchOp::kEqual &&
        m.value() == name) {
      name_skipped = true;  // implied by the bucket
      continue;
    }
    entry.matchers.push_back(Intern(m));
  }
  if (name.empty()) {
    unnamed_.push_back(std::move(entry));
  } else {
    by_name_[std::string(name)].push_back(std::move(entry));
  }
  ++selectors_;
}

void SelectorIndex::Clear() {
  matchers_.clear();
  matcher_ids_.clear();
  by_name_.clear();
  unnamed_.clear();
  selectors_ = 0;
}

void SelectorIndex::Match(std::string_view label_key, std::vector<uint64_t>& out) const {
  // Per-thread memo of matcher results for this series: a generation stamp per matcher avoids
  // clearing it between series.
  thread_local std::vector<uint32_t> memo_generation;
  thread_local std::vector<uint8_t> memo_result;
  thread_local uint32_t generation = 0;
  thread_local std::vector<model::LabelView> labels;
  if (memo_generation.size() < matchers_.size()) {
    memo_generation.resize(matchers_.size(), 0);
    memo_result.resize(matchers_.size(), 0);
  }
  if (++generation == 0) {  // wrapped: forget every stamp
    std::fill(memo_generation.begin(), memo_generation.end(), 0);
    generation = 1;
  }
  labels.clear();
  model::LabelKeyReader reader(label_key);
  model::LabelView label;
  std::string_view name;
  while (reader.Next(label)) {
    labels.push_back(label);
    if (label.name == "__name__") name = label.value;
  }
  auto value_of = [&](std::string_view label_name) -> std::string_view {
    for (const model::LabelView& l : labels) {
      if (l.name == label_name) return l.value;
    }
    return {};
  };
  auto matches = [&](const Entry& e) {
    for (const uint32_t id : e.matchers) {
      if (memo_generation[id] != generation) {
        memo_generation[id] = generation;
        memo_result[id] = matchers_[id].Matches(value_of(matchers_[id].name())) ? 1 : 0;
      }
      if (memo_result[id] == 0) return false;
    }
    return true;
  };
  if (!name.empty() && !by_name_.empty()) {
    // Heterogeneous lookup is C++20 for unordered_map but needs a transparent hash; one short
    // string per new series is cheap next to the matching.
    if (const auto it = by_name_.find(std::string(name)); it != by_name_.end()) {
      for (const Entry& e : it->second) {
        if (matches(e)) out.push_back(e.tag);
      }
    }
  }
  for (const Entry& e : unnamed_) {
    if (matches(e)) out.push_back(e.tag);
  }
}

}  // namespace canaryd::select
