#include "canaryd/select/selector_index.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "canaryd/model/labels.h"
#include "canaryd/select/promql.h"

namespace canaryd::select {
namespace {

std::string Key(std::vector<std::pair<std::string, std::string>> labels) {
  std::sort(labels.begin(), labels.end());
  std::string key;
  for (const auto& [n, v] : labels) model::AppendLabel(key, n, v);
  return key;
}

LabelSelector Sel(std::string_view q) { return ParseQuery(q)->selector; }

std::vector<uint64_t> Match(const SelectorIndex& index, const std::string& key) {
  std::vector<uint64_t> out;
  index.Match(key, out);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SelectorIndexTest, AgreesWithMatchingEachSelector) {
  const std::vector<std::string> queries = {
      "cpu{pod=~\"app-1-.*\",job=\"kubelet\"}", "cpu{pod=~\"app-2-.*\",job=\"kubelet\"}",
      "cpu{pod=~\"app-1-.*\",job!=\"kubelet\"}", "mem{pod=~\"app-1-.*\",job=\"kubelet\"}",
      "{__name__=~\"cpu|mem\",pod=\"app-2-x\"}", "cpu{env=\"\"}",
      "cpu{pod=~\"app-1-.*\",pod!~\".*-canary\"}"};
  SelectorIndex index;
  for (size_t i = 0; i < queries.size(); ++i) index.Add(Sel(queries[i]), i);
  EXPECT_EQ(index.selectors(), queries.size());
  EXPECT_LT(index.unique_matchers(), 14u);  // shared matchers are stored once
  const std::vector<std::string> keys = {
      Key({{"__name__", "cpu"}, {"pod", "app-1-a"}, {"job", "kubelet"}}),
      Key({{"__name__", "cpu"}, {"pod", "app-1-canary"}, {"job", "kubelet"}, {"env", "prod"}}),
      Key({{"__name__", "cpu"}, {"pod", "app-2-x"}, {"job", "kubelet"}}),
      Key({{"__name__", "mem"}, {"pod", "app-2-x"}}),
      Key({{"__name__", "disk"}, {"pod", "app-1-a"}, {"job", "kubelet"}}),
      Key({{"__name__", "cpu"}, {"pod", "app-1-a"}}),
  };
  // Several series in a row on one thread: the per-series memo must not leak between them.
  for (int round = 0; round < 3; ++round) {
    for (const std::string& key : keys) {
      std::vector<uint64_t> expected;
      for (size_t i = 0; i < queries.size(); ++i) {
        if (Sel(queries[i]).MatchesKey(key)) expected.push_back(i);
      }
      EXPECT_EQ(Match(index, key), expected) << model::FormatLabelKey(key);
    }
  }
  index.Clear();
  EXPECT_TRUE(Match(index, keys[0]).empty());
}

}  // namespace
}  // namespace canaryd::select
