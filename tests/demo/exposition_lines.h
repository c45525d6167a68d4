#pragma once
// A strict reader of the subset of the text format 0.0.4 the synthetic fleet writes (no escapes,
// no timestamps), for the demo tests. The scrape module's parser is not needed to read it.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace canaryd::demo::testing {

struct Line {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  // `name{labels}` as written, to compare series across scrapes.
  std::string series;
};

/// Every sample line of `text`; adds a gtest failure for any line that is not a valid comment
/// (`# HELP name text`, `# TYPE name counter|gauge|histogram`) or sample line, and checks that each
/// sample's family was declared by a TYPE line before it.
inline std::vector<Line> ParseLines(std::string_view text) {
  static const std::regex kHelp(R"re(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)re");
  static const std::regex kType(
      R"re(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))re");
  static const std::regex kSample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? ([^ ]+))re");
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)")re");
  std::vector<Line> out;
  std::map<std::string, std::string> types;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the exposition must end with a newline";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string line(text.substr(start, end - start));
    start = end + 1;
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) continue;
    if (std::regex_match(line, m, kType)) {
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "second TYPE for " << m[1];
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "not a valid exposition line: `" << line << "`";
      continue;
    }
    Line l;
    l.name = m[1];
    const std::string value = m[m.size() - 1];
    l.series = line.substr(0, line.size() - value.size() - 1);
    char* parse_end = nullptr;
    l.value = std::strtod(value.c_str(), &parse_end);
    EXPECT_EQ(*parse_end, '\0') << "bad value in `" << line << "`";
    const std::string labels = m[2];
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), kLabel);
         it != std::sregex_iterator(); ++it) {
      EXPECT_TRUE(l.labels.emplace((*it)[1], (*it)[2]).second) << "duplicate label in " << line;
    }
    std::string family = l.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string_view s(suffix);
      if (!types.contains(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0 &&
          types.contains(family.substr(0, family.size() - s.size()))) {
        family = family.substr(0, family.size() - s.size());
      }
    }
    EXPECT_TRUE(types.contains(family)) << "no TYPE before `" << line << "`";
    out.push_back(std::move(l));
  }
  return out;
}

/// Sum of the values of the lines named `name` whose labels include `match`.
inline double Sum(const std::vector<Line>& lines, std::string_view name,
                  const std::map<std::string, std::string>& match = {}) {
  double sum = 0;
  for (const Line& l : lines) {
    if (l.name != name) continue;
    bool ok = true;
    for (const auto& [k, v] : match) {
      auto it = l.labels.find(k);
      if (it == l.labels.end() || it->second != v) ok = false;
    }
    if (ok) sum += l.value;
  }
  return sum;
}

}  // namespace canaryd::demo::testing
