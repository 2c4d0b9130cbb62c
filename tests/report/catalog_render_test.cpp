// report::Render* over the built-in catalog: every view in every format, in-process. The CLI's
// byte-for-byte output is checked by tests/catalog/catalog_cli_test.cpp.
#include "secprof/report/catalog.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace secprof::report {
namespace {

const catalog::Catalog& Builtin() {
  static auto cat = catalog::LoadBuiltin();
  EXPECT_TRUE(cat.has_value());
  return **cat;
}

TEST(ReportCatalog, ParsesTheThreeFormatsOnly) {
  EXPECT_EQ(*ParseCatalogFormat("text"), CatalogFormat::kText);
  EXPECT_EQ(*ParseCatalogFormat("json"), CatalogFormat::kJson);
  EXPECT_EQ(*ParseCatalogFormat("md"), CatalogFormat::kMarkdown);
  auto bad = ParseCatalogFormat("html");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
}

TEST(ReportCatalog, ListsTheSevenViewsInHelpOrder) {
  std::vector<std::string> names;
  for (const auto& v : CatalogViews()) names.push_back(v.name);
  EXPECT_EQ(names, (std::vector<std::string>{"threats", "mitigations", "profiles", "lifecycle",
                                             "processes", "figure2", "figure3"}));
}

TEST(ReportCatalog, EveryViewIsValidJsonAndEndsInANewline) {
  for (const auto& v : CatalogViews()) {
    for (auto f : {CatalogFormat::kText, CatalogFormat::kJson, CatalogFormat::kMarkdown}) {
      std::string out = v.render(Builtin(), f);
      ASSERT_FALSE(out.empty()) << v.name;
      EXPECT_EQ(out.back(), '\n') << v.name;
      if (f == CatalogFormat::kJson) {
        EXPECT_TRUE(nlohmann::json::accept(out)) << v.name;
      }
    }
  }
}

TEST(ReportCatalog, ThreatsNameEveryThreatInEveryFormat) {
  const auto& cat = Builtin();
  ASSERT_FALSE(cat.threats.empty());
  auto json = nlohmann::json::parse(RenderThreats(cat, CatalogFormat::kJson));
  ASSERT_EQ(json["threats"].size(), cat.threats.size());
  std::string text = RenderThreats(cat, CatalogFormat::kText);
  std::string md = RenderThreats(cat, CatalogFormat::kMarkdown);
  for (size_t i = 0; i < cat.threats.size(); ++i) {
    EXPECT_EQ(json["threats"][i]["id"], cat.threats[i].id);
    EXPECT_NE(text.find(cat.threats[i].id + " "), std::string::npos) << cat.threats[i].id;
    EXPECT_NE(md.find("| " + cat.threats[i].id + " | "), std::string::npos) << cat.threats[i].id;
  }
}

TEST(ReportCatalog, Figure2JsonHasTheShapeIssue2Fixed) {
  const auto& cat = Builtin();
  auto j = nlohmann::json::parse(RenderFigure2(cat, CatalogFormat::kJson));
  ASSERT_TRUE(j.contains("phases") && j.contains("layers") && j.contains("cells"));
  EXPECT_EQ(j["cells"].size(), j["phases"].size() * j["layers"].size());
  for (const auto& c : j["cells"]) {
    EXPECT_TRUE(c.contains("phase") && c.contains("layer") && c.contains("threats") &&
                c.contains("references"));
  }
  std::string text = RenderFigure2(cat, CatalogFormat::kText);
  EXPECT_EQ(text.rfind("Figure 2: classification of threats by lifecycle phase and layer\n", 0),
            0u);
}

TEST(ReportCatalog, MarkdownEscapesPipesInCells) {
  catalog::Catalog cat = Builtin();
  ASSERT_FALSE(cat.processes.empty());
  cat.processes[0].name = "a|b";
  std::string md = RenderProcesses(cat, CatalogFormat::kMarkdown);
  EXPECT_NE(md.find("a\\|b"), std::string::npos);
}

}  // namespace
}  // namespace secprof::report
