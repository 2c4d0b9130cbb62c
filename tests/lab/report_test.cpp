// The lab's reports (secprof/lab/report.h): JSON (and reading it back), SARIF, HTML, text, list.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "fake_scenario.h"
#include "secprof/lab/report.h"
#include "testutil.h"

namespace secprof::lab {
namespace {

using nlohmann::json;
using testing::FakeInfo;
using testing::Measured;

// A report with one cell of every kind that matters: a finding (SecProf_3), an accepted risk
// (SecProf_2), a hold with a confirmed negative control (SecProf_4), a lab error (SecProf_1).
LabReport Sample() {
  auto cat = catalog::LoadBuiltin();
  EXPECT_TRUE(cat.has_value());
  ScenarioInfo join = FakeInfo("lab.eavesdrop_join", "T3", "installation", {}, true);
  MeasuredMatrix m;
  m.seed = 7;
  m.jobs = 2;
  m.seconds = 1.25;
  m.profiles = {domain::Profile::kSecProf1, domain::Profile::kSecProf2, domain::Profile::kSecProf3,
                domain::Profile::kSecProf4};
  m.scenarios = {join.id};
  m.infos = {join};
  Measurement got = Measured(Outcome::kSucceeded, "", "recovered the key <b>&</b>");
  got.evidence.push_back({"recovered", "the domain key", "<script>alert(1)</script>"});
  m.cells.push_back({join.id, "T3", domain::Profile::kSecProf1, RunRecord{{}, "no free port"}, {}});
  m.cells.push_back({join.id, "T3", domain::Profile::kSecProf2, RunRecord{got, ""}, {}});
  m.cells.push_back({join.id, "T3", domain::Profile::kSecProf3, RunRecord{got, ""}, {}});
  m.cells.push_back(
      {join.id, "T3", domain::Profile::kSecProf4,
       RunRecord{Measured(Outcome::kBlocked, "thing.voucher_check", "untrusted-kdc"), ""},
       RunRecord{Measured(Outcome::kSucceeded, "", "defence off"), ""}});
  return Compare(**cat, m);
}

TEST(LabReportJson, SchemaAndCells) {
  LabReport r = Sample();
  json j = json::parse(RenderLabJson(r));
  EXPECT_EQ(j["schema"], "secprof-lab");
  EXPECT_EQ(j["schema_version"], kLabJsonSchemaVersion);
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["profiles"].size(), 4u);
  ASSERT_EQ(j["cells"].size(), 4u);
  EXPECT_EQ(j["cells"][0]["verdict"], "lab-error");
  EXPECT_TRUE(j["cells"][0]["measured"]["outcome"].is_null());
  EXPECT_EQ(j["cells"][0]["measured"]["error"], "no free port");
  EXPECT_TRUE(j["cells"][0]["defect"]);
  EXPECT_EQ(j["cells"][1]["verdict"], "accepted");
  EXPECT_EQ(j["cells"][1]["claim"]["status"], "accepted");
  EXPECT_FALSE(j["cells"][1]["finding"]);
  EXPECT_EQ(j["cells"][2]["verdict"], "finding");
  EXPECT_TRUE(j["cells"][2]["finding"]);
  EXPECT_EQ(j["cells"][2]["measured"]["evidence"][0]["kind"], "recovered");
  EXPECT_EQ(j["cells"][3]["verdict"], "holds");
  EXPECT_EQ(j["cells"][3]["measured"]["control"], "thing.voucher_check");
  EXPECT_EQ(j["cells"][3]["negative_control"]["status"], "confirmed");
  EXPECT_EQ(j["summary"]["findings"], 1);
  EXPECT_EQ(j["summary"]["defects"], 1);
  EXPECT_EQ(j["claimed"].size(), 4 * r.threats.size());
  EXPECT_EQ(j["scenarios"][0]["id"], "lab.eavesdrop_join");
}

TEST(LabReportJson, ReadsBackByProfileAndThreat) {
  secprof::testing::TempDir dir;
  const std::string path = (dir.path() / "lab.json").string();
  std::ofstream(path) << RenderLabJson(Sample());
  auto r = ReadLabJson(path);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->seed, 7u);
  auto p3 = r->For("SecProf_3", "T3");
  ASSERT_EQ(p3.size(), 1u);
  EXPECT_EQ(p3[0].outcome, "succeeded");
  EXPECT_EQ(p3[0].verdict, "finding");
  EXPECT_NE(SummariseOutcomes(p3).find("FINDING"), std::string::npos);
  auto p4 = r->For("SecProf_4", "T3");
  ASSERT_EQ(p4.size(), 1u);
  EXPECT_EQ(SummariseOutcomes(p4), "lab.eavesdrop_join: blocked by thing.voucher_check");
  EXPECT_EQ(r->For("SecProf_1", "T3")[0].outcome, "lab-error");
  EXPECT_TRUE(r->For("SecProf_2", "T9").empty());
  EXPECT_EQ(SummariseOutcomes({}), "not measured by the lab");
}

TEST(LabReportJson, ReadingRefusesOtherDocumentsNamingTheFileAndField) {
  secprof::testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    std::string p = (dir.path() / name).string();
    std::ofstream(p) << text;
    return p;
  };
  auto a = ReadLabJson(write("a.json", "{not json"));
  ASSERT_FALSE(a.has_value());
  EXPECT_NE(a.error().message().find("a.json"), std::string::npos);
  auto b = ReadLabJson(write("b.json", R"({"schema":"secprof-assess","schema_version":1})"));
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().message().find("\"schema\""), std::string::npos);
  auto c =
      ReadLabJson(write("c.json", R"({"schema":"secprof-lab","schema_version":99,"cells":[]})"));
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("newer"), std::string::npos);
  auto d = ReadLabJson(
      write("d.json", R"({"schema":"secprof-lab","schema_version":1,"cells":[{"scenario":1}]})"));
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message().find("cells[0].scenario"), std::string::npos);
  EXPECT_FALSE(ReadLabJson((dir.path() / "missing.json").string()).has_value());
}

TEST(LabReportSarif, OneResultPerFindingAndDefectsAsNotifications) {
  json j = json::parse(RenderLabSarif(Sample()));
  EXPECT_EQ(j["version"], "2.1.0");
  const json& run = j["runs"][0];
  ASSERT_EQ(run["results"].size(), 1u);
  EXPECT_EQ(run["results"][0]["ruleId"], "lab.eavesdrop_join");
  EXPECT_EQ(run["results"][0]["level"], "error");
  EXPECT_EQ(run["results"][0]["properties"]["profile"], "SecProf_3");
  EXPECT_EQ(run["tool"]["driver"]["rules"][0]["id"], "lab.eavesdrop_join");
  EXPECT_FALSE(run["invocations"][0]["executionSuccessful"]);
  EXPECT_EQ(run["invocations"][0]["toolExecutionNotifications"].size(), 1u);
}

TEST(LabReportHtml, SelfContainedEscapedAndEveryCellOpensItsEvidence) {
  const std::string html = RenderLabHtml(Sample());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // the evidence's script is escaped
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("recovered the key &lt;b&gt;&amp;&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);  // nothing loaded from elsewhere
  EXPECT_EQ(html.find("<link"), std::string::npos);
  size_t details = 0;
  for (size_t p = html.find("<details"); p != std::string::npos; p = html.find("<details", p + 1))
    ++details;
  EXPECT_EQ(details, 4u);  // one per cell
  // Colour and words: the finding's class and text, the accepted risk's.
  EXPECT_NE(html.find("class=\"finding\""), std::string::npos);
  EXPECT_NE(html.find("FINDING: the profile claims"), std::string::npos);
  EXPECT_NE(html.find("accepted, as the draft says"), std::string::npos);
  EXPECT_NE(html.find("LAB ERROR"), std::string::npos);
  EXPECT_NE(html.find("claim: accepted by the draft"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(LabReportText, BothMatricesAndTheAlarmsFirst) {
  const std::string t = RenderLabText(Sample());
  EXPECT_NE(t.find("Measured:"), std::string::npos);
  EXPECT_NE(t.find("Claimed by the catalog"), std::string::npos);
  EXPECT_NE(t.find("!! FINDING"), std::string::npos);
  EXPECT_NE(t.find("~ accepted"), std::string::npos);
  EXPECT_NE(t.find("OK blocked +neg"), std::string::npos);
  EXPECT_NE(t.find("1 finding(s), 1 lab defect(s)"), std::string::npos);
  // Alarms (the finding, the lab error) are listed before the cells that hold.
  EXPECT_LT(t.find("SecProf_3 lab.eavesdrop_join"), t.find("SecProf_4 lab.eavesdrop_join"));
  EXPECT_LT(t.find("SecProf_1 lab.eavesdrop_join"), t.find("SecProf_2 lab.eavesdrop_join"));
}

TEST(LabReportList, EveryScenarioInTextAndJson) {
  json j = json::parse(RenderScenarioList(true));
  EXPECT_EQ(j["schema"], "secprof-lab-list");
  ASSERT_EQ(j["scenarios"].size(), AllScenarios().size());
  const std::string text = RenderScenarioList(false);
  for (const auto& s : AllScenarios()) {
    EXPECT_NE(text.find(s->info().id), std::string::npos);
    bool found = false;
    for (const auto& e : j["scenarios"]) found = found || e["id"] == s->info().id;
    EXPECT_TRUE(found) << s->info().id;
  }
}

TEST(LabReportFormat, Parse) {
  EXPECT_EQ(*ParseReportFormat("sarif"), ReportFormat::kSarif);
  EXPECT_EQ(*ParseReportFormat("html"), ReportFormat::kHtml);
  EXPECT_FALSE(ParseReportFormat("xml").has_value());
}

}  // namespace
}  // namespace secprof::lab
