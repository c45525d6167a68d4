#pragma once
// Finds every selector, among many, that matches a series, without running them all.
//
// Selectors are bucketed by metric name (their `__name__="x"` matcher); a series only meets the
// selectors of its own name plus those without one. Matchers are deduplicated across selectors
// (the same `job="kubelet"` or `pod=~"app-3-.*"` in a hundred analyses is one matcher) and each is
// evaluated at most once per series, on labels decoded once. With 100 analyses x 10 metrics that
// is a few dozen matcher runs per new series instead of thousands.
//
// Thread safety: Add is not thread-safe; once built, Match may run on any number of threads.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "canaryd/select/matcher.h"

namespace canaryd::select {

class SelectorIndex {
 public:
  /// Adds a selector; Match reports `tag` for series it matches.
  void Add(const LabelSelector& selector, uint64_t tag);
  void Clear();

  /// Appends to `out` the tag of every selector matching the canonical label key.
  void Match(std::string_view label_key, std::vector<uint64_t>& out) const;

  size_t selectors() const { return selectors_; }
  size_t unique_matchers() const { return matchers_.size(); }

 private:
  struct Entry {
    uint64_t tag;
    std::vector<uint32_t> matchers;  // ids into matchers_, without the name matcher
  };
  uint32_t Intern(const Matcher& m);

  std::vector<Matcher> matchers_;
  std::unordered_map<std::string, uint32_t> matcher_ids_;
  std::unordered_map<std::string, std::vector<Entry>> by_name_;
  std::vector<Entry> unnamed_;
  size_t selectors_ = 0;
};

}  // namespace canaryd::select
