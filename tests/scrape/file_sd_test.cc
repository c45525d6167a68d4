#include "scrape/file_sd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace canaryd::scrape {
namespace {

using ::testing::HasSubstr;

TEST(FileSd, JsonAndYamlGroups) {
  std::vector<TargetGroup> g;
  ASSERT_EQ(ParseTargetGroups("t.json",
                              R"([{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}},
                                  {"targets": ["c:3"]}])",
                              g),
            "");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].targets, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(g[0].labels.at("env"), "prod");
  EXPECT_TRUE(g[1].labels.empty());
  ASSERT_EQ(ParseTargetGroups("t.yml", "- targets: [a:1]\n  labels:\n    team: x\n", g), "");
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].labels.at("team"), "x");
  EXPECT_EQ(ParseTargetGroups("t.yaml", "", g), "");
  EXPECT_TRUE(g.empty());
}

TEST(FileSd, ErrorsNameFileAndPlace) {
  std::vector<TargetGroup> g;
  EXPECT_THAT(ParseTargetGroups("t.json", "[{\"targets\": [1]}]", g),
              HasSubstr("t.json: [0].targets: expected strings"));
  EXPECT_THAT(ParseTargetGroups("t.json", "{", g), HasSubstr("t.json: invalid JSON"));
  EXPECT_THAT(ParseTargetGroups("t.json", "[{\"targets\": [], \"lables\": {}}]", g),
              HasSubstr("unknown key \"lables\""));
  EXPECT_THAT(ParseTargetGroups("t.json", "[{\"labels\": {\"a-b\": \"x\"}}]", g),
              HasSubstr("\"a-b\" is not a valid label name"));
  EXPECT_THAT(ParseTargetGroups("t.yml", "- targets: [a:1]\n- targets: {x: 1}\n", g),
              HasSubstr("t.yml:2: [1].targets"));
  EXPECT_THAT(ParseTargetGroups("t.yml", "- targets: [a:1\n", g), HasSubstr("invalid YAML"));
  EXPECT_THAT(ParseTargetGroups("t.txt", "", g), HasSubstr("unknown file type"));
  EXPECT_THAT(ReadTargetGroupFile("/nonexistent/t.json", g), HasSubstr("cannot open"));
}

}  // namespace
}  // namespace canaryd::scrape
