// `secprof catalog`: every view prints valid JSON, figure2 has the issue's shape, and a broken
// --catalog directory exits 2 with the located message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "support/catalog_copy.h"
#include "testutil.h"

namespace secprof::catalog {
namespace {

using secprof::testing::Binary;
// Named so as not to collide with ::testing::Test::Run inside TEST bodies.
secprof::testing::RunResult Cli(const std::string& cmd) { return secprof::testing::Run(cmd); }

nlohmann::json RunJson(const std::string& args) {
  auto r = Cli(Binary() + " catalog " + args + " --format json");
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << args << ": not JSON:\n" << r.out.substr(0, 400);
  return j;
}

TEST(CatalogCli, EveryViewPrintsJson) {
  EXPECT_EQ(RunJson("threats")["threats"].size(), 15u);
  EXPECT_GE(RunJson("mitigations")["mitigations"].size(), 40u);
  EXPECT_EQ(RunJson("profiles")["profiles"].size(), 4u);
  EXPECT_EQ(RunJson("lifecycle")["phases"].size(), 6u);
  EXPECT_EQ(RunJson("processes")["processes"].size(), 4u);
  EXPECT_EQ(RunJson("figure3")["profiles"][0]["application"], "Home usage");
}

TEST(CatalogCli, Figure2JsonHasTheIssuesShape) {
  auto j = RunJson("figure2");
  ASSERT_TRUE(j.is_object());
  // The issue's three members, after the schema name and the catalog version (docs/CLI.md).
  EXPECT_EQ(j.size(), 5u);
  EXPECT_EQ(j["schema"], "secprof.catalog.figure2.v1");
  EXPECT_TRUE(j["catalog_version"].is_string());
  EXPECT_EQ(j["phases"], nlohmann::json({"manufacturing", "installation", "operation"}));
  EXPECT_EQ(j["layers"],
            nlohmann::json({"thing", "application", "transport", "network", "physical"}));
  ASSERT_EQ(j["cells"].size(), 15u);
  bool found = false;
  for (const auto& c : j["cells"]) {
    EXPECT_EQ(c.size(), 4u);
    if (c["phase"] == "installation" && c["layer"] == "transport") {
      found = true;
      EXPECT_EQ(c["threats"], nlohmann::json({"T3", "T4"}));
      EXPECT_EQ(c["references"], nlohmann::json({"RFC7925"}));
    }
  }
  EXPECT_TRUE(found);
}

TEST(CatalogCli, TextAndMarkdownRender) {
  for (const char* view :
       {"threats", "mitigations", "profiles", "lifecycle", "processes", "figure2", "figure3"}) {
    for (const char* format : {"text", "md"}) {
      auto r = Cli(Binary() + " catalog " + view + " --format " + format);
      EXPECT_EQ(r.exit_code, 0) << view << " " << format;
      EXPECT_FALSE(r.out.empty()) << view << " " << format;
    }
  }
  auto fig2 = Cli(Binary() + " catalog figure2");
  EXPECT_NE(fig2.out.find("T1 Cloning of things"), std::string::npos) << fig2.out;
  EXPECT_NE(fig2.out.find("Installation/Commissioning"), std::string::npos);
}

TEST(CatalogCli, HelpEverywhere) {
  EXPECT_EQ(Cli(Binary() + " catalog --help").exit_code, 0);
  for (const char* view :
       {"threats", "mitigations", "profiles", "lifecycle", "processes", "figure2", "figure3"}) {
    auto r = Cli(Binary() + " catalog " + view + " --help");
    EXPECT_EQ(r.exit_code, 0) << view;
    EXPECT_NE(r.out.find("--format"), std::string::npos) << view;
  }
}

TEST(CatalogCli, BadInputExitsTwo) {
  testing::CatalogCopy c;
  c.Replace("threats.yaml", "    name: Eavesdropping\n", "    name: Eavesdropping\n    oops: 1\n");
  auto r = Cli(Binary() + " catalog threats --catalog " + c.dir().string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(c.Where("threats.yaml", "oops") + ": "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown key 'oops'"), std::string::npos) << r.out;

  EXPECT_EQ(Cli(Binary() + " catalog threats --catalog /nonexistent/dir 2>&1").exit_code, 2);
  EXPECT_EQ(Cli(Binary() + " catalog figure2 --format xml 2>&1").exit_code, 2);
  EXPECT_EQ(Cli(Binary() + " catalog 2>&1").exit_code, 2);
}

TEST(CatalogCli, DirectoryCatalogIsUsed) {
  testing::CatalogCopy c;
  c.Replace("profiles.yaml", "    name: Home usage\n", "    name: Home usage (edited)\n");
  auto r = Cli(Binary() + " catalog profiles --format json --catalog " + c.dir().string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["profiles"][0]["name"], "Home usage (edited)");
}

}  // namespace
}  // namespace secprof::catalog
