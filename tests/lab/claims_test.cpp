// The claimed matrix, the verdicts, and the catalog's verified_by (secprof/lab/claims.h;
// docs/LAB.md "Claims", docs/CATALOG.md "mitigations.yaml").
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "fake_scenario.h"
#include "secprof/catalog/catalog.h"
#include "secprof/lab/baseline.h"
#include "secprof/lab/claims.h"
#include "support/catalog_copy.h"

namespace secprof::lab {
namespace {

using testing::FakeInfo;
using testing::Measured;

std::shared_ptr<const catalog::Catalog> Builtin() {
  auto c = catalog::LoadBuiltin();
  EXPECT_TRUE(c.has_value());
  return *c;
}

const ClaimedCell& Cell(const std::vector<ClaimedCell>& m, const std::string& profile,
                        const std::string& threat) {
  for (const auto& c : m)
    if (c.profile == profile && c.threat == threat) return c;
  ADD_FAILURE() << "no claimed cell " << profile << " " << threat;
  static ClaimedCell none;
  return none;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// ---- the claimed matrix ------------------------------------------------------------------------

TEST(LabClaims, EveryProfileAndThreatHasACellThatFollowsTheCatalog) {
  auto cat = Builtin();
  auto m = ClaimedMatrix(*cat);
  ASSERT_EQ(m.size(), cat->profiles.size() * cat->threats.size());
  for (const auto& c : m) {
    const catalog::Profile* p = cat->FindProfile(c.profile);
    ASSERT_NE(p, nullptr);
    for (const auto& id : c.mitigations) EXPECT_TRUE(Has(p->mitigations, id)) << id;
    for (const auto& id : c.accepted_by) EXPECT_TRUE(Has(p->mitigations, id)) << id;
    // Independently: a required mitigation countering the threat (or its parent) is listed.
    const catalog::Threat* t = cat->FindThreat(c.threat);
    for (const auto& id : p->mitigations) {
      const catalog::Mitigation* mit = cat->FindMitigation(id);
      const bool counters =
          Has(mit->counters, c.threat) || (!t->parent.empty() && Has(mit->counters, t->parent));
      EXPECT_EQ(counters, Has(c.mitigations, id)) << c.profile << " " << c.threat << " " << id;
    }
    const Claim want = !c.accepted_by.empty()   ? Claim::kAccepted
                       : !c.mitigations.empty() ? Claim::kMitigated
                                                : Claim::kNotCovered;
    EXPECT_EQ(c.claim, want) << c.profile << " " << c.threat;
  }
}

TEST(LabClaims, TheDraftsFirstKeyInTheClearIsAcceptedInSecProf1And2Only) {
  auto cat = Builtin();
  auto m = ClaimedMatrix(*cat);
  for (const char* p : {"SecProf_1", "SecProf_2"}) {
    EXPECT_EQ(Cell(m, p, "T3").claim, Claim::kAccepted) << p;
    EXPECT_TRUE(Has(Cell(m, p, "T3").accepted_by, "M.boot.pairing_window")) << p;
  }
  for (const char* p : {"SecProf_3", "SecProf_4"}) {
    EXPECT_EQ(Cell(m, p, "T3").claim, Claim::kMitigated) << p;
    EXPECT_TRUE(Has(Cell(m, p, "T3").mitigations, "M.boot.authenticated_join")) << p;
  }
  // SecProf_2 mitigates T3 in operation (DTLS) while accepting it at installation.
  EXPECT_TRUE(Has(Cell(m, "SecProf_2", "T3").mitigations, "M.app.dtls"));
  // A sub-attack inherits its parent's mitigations (T7 -> T7.1).
  EXPECT_TRUE(Has(Cell(m, "SecProf_3", "T7.1").mitigations, "M.net.secure_routing"));
}

TEST(LabClaims, AScenarioIsHeldToTheMitigationsItTestsAndTheAcceptanceAtItsPhase) {
  auto cat = Builtin();
  // Eavesdropping the join: accepted where the pairing window is required (installation) ...
  ScenarioInfo join = FakeInfo("lab.eavesdrop_join", "T3", "installation", {}, false);
  for (const char* p : {"SecProf_1", "SecProf_2"}) {
    ScenarioClaim c = ClaimFor(*cat, p, join);
    EXPECT_EQ(c.claim, Claim::kAccepted) << p;
    EXPECT_EQ(c.accepted_by, std::vector<std::string>{"M.boot.pairing_window"});
  }
  // ... and claimed mitigated by authenticated join (its verified_by names the scenario).
  ScenarioClaim c3 = ClaimFor(*cat, "SecProf_3", join);
  EXPECT_EQ(c3.claim, Claim::kMitigated);
  EXPECT_TRUE(Has(c3.mitigations, "M.boot.authenticated_join"));
  EXPECT_TRUE(c3.accepted_by.empty());
  // The same threat in operation is not accepted in SecProf_2: DTLS, which the scenario tests.
  ScenarioInfo op = FakeInfo("lab.x_operation", "T3", "operation", {"M.app.dtls"}, false);
  EXPECT_EQ(ClaimFor(*cat, "SecProf_2", op).claim, Claim::kMitigated);
  // SecProf_1 requires nothing that counters T3 in operation.
  EXPECT_EQ(ClaimFor(*cat, "SecProf_1", op).claim, Claim::kNotCovered);
  // A mitigation the scenario does not test does not make a claim for it.
  ScenarioInfo untested = FakeInfo("lab.x_untested", "T3", "operation", {}, false);
  EXPECT_EQ(ClaimFor(*cat, "SecProf_2", untested).claim, Claim::kNotCovered);
}

// ---- verdicts ----------------------------------------------------------------------------------

RunRecord Rec(Outcome o) { return RunRecord{Measured(o), ""}; }
RunRecord ErrorRec() { return RunRecord{Measurement{}, "no port"}; }

TEST(LabVerdict, TheTable) {
  EXPECT_EQ(Judge(Claim::kMitigated, Rec(Outcome::kBlocked)), Verdict::kHolds);
  EXPECT_EQ(Judge(Claim::kMitigated, Rec(Outcome::kSucceeded)), Verdict::kFinding);
  EXPECT_EQ(Judge(Claim::kAccepted, Rec(Outcome::kSucceeded)), Verdict::kAccepted);
  EXPECT_EQ(Judge(Claim::kAccepted, Rec(Outcome::kBlocked)), Verdict::kBlockedUnclaimed);
  EXPECT_EQ(Judge(Claim::kNotCovered, Rec(Outcome::kSucceeded)), Verdict::kOpen);
  EXPECT_EQ(Judge(Claim::kNotCovered, Rec(Outcome::kBlocked)), Verdict::kBlockedUnclaimed);
  EXPECT_EQ(Judge(Claim::kMitigated, Rec(Outcome::kNotApplicable)), Verdict::kNotApplicable);
  EXPECT_EQ(Judge(Claim::kMitigated, Rec(Outcome::kNotTestable)), Verdict::kNotTestable);
  // A lab error is never blocked, whatever its measurement says.
  RunRecord err = ErrorRec();
  err.measurement.outcome = Outcome::kBlocked;
  EXPECT_EQ(Judge(Claim::kMitigated, err), Verdict::kLabError);
}

TEST(LabVerdict, NegativeControls) {
  const RunRecord blocked = Rec(Outcome::kBlocked);
  EXPECT_EQ(JudgeNegative(blocked, std::nullopt), NegativeStatus::kNone);
  EXPECT_EQ(JudgeNegative(blocked, Rec(Outcome::kSucceeded)), NegativeStatus::kConfirmed);
  EXPECT_EQ(JudgeNegative(blocked, Rec(Outcome::kBlocked)), NegativeStatus::kDefect);
  EXPECT_EQ(JudgeNegative(blocked, Rec(Outcome::kNotTestable)), NegativeStatus::kDefect);
  EXPECT_EQ(JudgeNegative(blocked, ErrorRec()), NegativeStatus::kDefect);
  const RunRecord na = Rec(Outcome::kNotApplicable);
  EXPECT_EQ(JudgeNegative(na, Rec(Outcome::kNotApplicable)), NegativeStatus::kInapplicable);
  EXPECT_EQ(JudgeNegative(na, Rec(Outcome::kBlocked)), NegativeStatus::kDefect);
}

TEST(LabVerdict, CompareCountsFindingsAndDefectsButNotAcceptedRisks) {
  auto cat = Builtin();
  MeasuredMatrix m;
  m.profiles = {domain::Profile::kSecProf2, domain::Profile::kSecProf3};
  ScenarioInfo join = FakeInfo("lab.eavesdrop_join", "T3", "installation", {}, true);
  m.scenarios = {join.id};
  m.infos = {join};
  MeasuredCell p2{join.id, "T3", domain::Profile::kSecProf2, Rec(Outcome::kSucceeded), {}};
  MeasuredCell p3{join.id, "T3", domain::Profile::kSecProf3, Rec(Outcome::kSucceeded),
                  Rec(Outcome::kSucceeded)};
  m.cells = {p2, p3};
  LabReport r = Compare(*cat, m);
  ASSERT_EQ(r.cells.size(), 2u);
  EXPECT_EQ(r.cells[0].verdict, Verdict::kAccepted);  // SecProf_2: as the draft says
  EXPECT_EQ(r.cells[1].verdict, Verdict::kFinding);   // SecProf_3 claims authenticated join
  EXPECT_EQ(r.findings, 1);
  EXPECT_EQ(r.defects, 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.claimed.size(), 2 * cat->threats.size());  // the selected profiles only

  // Blocked as claimed, but the negative control was blocked too: a lab defect, not a pass.
  m.cells[1].attack = Rec(Outcome::kBlocked);
  m.cells[1].negative = Rec(Outcome::kBlocked);
  r = Compare(*cat, m);
  EXPECT_EQ(r.cells[1].verdict, Verdict::kHolds);
  EXPECT_EQ(r.cells[1].negative, NegativeStatus::kDefect);
  EXPECT_EQ(r.findings, 0);
  EXPECT_EQ(r.defects, 1);
  EXPECT_FALSE(r.ok());

  m.cells[1].negative = Rec(Outcome::kSucceeded);
  r = Compare(*cat, m);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.cells[1].negative, NegativeStatus::kConfirmed);
}

// ---- the known-findings baseline (lab/baseline.h) ---------------------------------------------

TEST(LabBaseline, ParsesStrictly) {
  auto ok =
      ParseBaseline("# header\n\nlab.eavesdrop_join SecProf_3  # why\nlab.substitute 2\n", "f");
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].profile, "SecProf_2");
  EXPECT_EQ((*ok)[1].line, 4);
  for (const char* bad :
       {"lab.no_such SecProf_2\n", "lab.substitute\n", "lab.substitute SecProf_9\n",
        "lab.substitute SecProf_2 extra\n", "lab.substitute SecProf_2\nlab.substitute 2\n"}) {
    auto r = ParseBaseline(bad, "known.txt");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
    EXPECT_NE(r.error().message().find("known.txt:"), std::string::npos) << r.error().message();
  }
}

TEST(LabBaseline, NewFindingsAndStaleEntriesFailKnownOnesPass) {
  auto cat = Builtin();
  MeasuredMatrix m;
  m.profiles = {domain::Profile::kSecProf2, domain::Profile::kSecProf3};
  ScenarioInfo join = FakeInfo("lab.eavesdrop_join", "T3", "installation", {}, false);
  m.scenarios = {join.id};
  m.infos = {join};
  m.cells = {{join.id, "T3", domain::Profile::kSecProf2, Rec(Outcome::kSucceeded), {}},
             {join.id, "T3", domain::Profile::kSecProf3, Rec(Outcome::kSucceeded), {}}};
  LabReport r = Compare(*cat, m);
  ASSERT_EQ(r.findings, 1);  // SecProf_3 claims the authenticated join
  // Listed: known, ok.
  auto known = *ParseBaseline("lab.eavesdrop_join SecProf_3\n", "f");
  BaselineCheck c = CheckBaseline(r, known);
  EXPECT_EQ(c.known.size(), 1u);
  EXPECT_TRUE(c.ok(r.defects));
  // Not listed: new.
  c = CheckBaseline(r, {});
  EXPECT_EQ(c.fresh, std::vector<std::string>{"lab.eavesdrop_join SecProf_3"});
  EXPECT_FALSE(c.ok(r.defects));
  // Fixed but still listed: stale. An entry for a profile not run is neither.
  m.cells[1].attack = Rec(Outcome::kBlocked);
  r = Compare(*cat, m);
  c = CheckBaseline(r, *ParseBaseline("lab.eavesdrop_join SecProf_3\nlab.eavesdrop_join 4\n", "f"));
  EXPECT_EQ(c.stale, std::vector<std::string>{"lab.eavesdrop_join SecProf_3"});
  EXPECT_FALSE(c.ok(r.defects));
  // An unstable entry (a race the attacker wins only sometimes) is never stale.
  c = CheckBaseline(r, *ParseBaseline("lab.eavesdrop_join SecProf_3 unstable # load\n", "f"));
  EXPECT_TRUE(c.ok(r.defects));
  EXPECT_FALSE(ParseBaseline("lab.eavesdrop_join SecProf_3 flaky\n", "f").has_value());
  // A lab defect fails even with a matching baseline.
  EXPECT_FALSE(BaselineCheck{}.ok(1));
}

// ---- verified_by (issue 11 item 4) --------------------------------------------------------------

TEST(LabVerifiedBy, EveryIdNamesAScenario) {
  auto cat = Builtin();
  for (const auto& m : cat->mitigations) {
    for (const auto& id : m.verified_by) {
      EXPECT_TRUE(FindScenario(id) != nullptr)
          << m.id << " is verified_by " << id << ", which is no lab scenario";
    }
  }
}

TEST(LabVerifiedBy, EveryRequiredCounteringMitigationIsVerifiedOrSaysWhyNot) {
  auto cat = Builtin();
  for (const auto& m : cat->mitigations) {
    bool required = false;
    for (const auto& p : cat->profiles) required = required || Has(p.mitigations, m.id);
    if (!required || m.counters.empty()) continue;
    EXPECT_TRUE(!m.verified_by.empty() || !m.not_testable.empty())
        << m.id << " is required by a profile and counters a threat, but has neither "
        << "verified_by nor not_testable (catalog/mitigations.yaml)";
  }
}

TEST(LabVerifiedBy, ScenariosNameMitigationsThatExist) {
  auto cat = Builtin();
  for (const auto& s : AllScenarios()) {
    for (const auto& id : s->info().mitigations)
      EXPECT_NE(cat->FindMitigation(id), nullptr) << s->info().id << " names " << id;
    EXPECT_NE(cat->FindThreat(s->info().threat), nullptr) << s->info().id;
  }
}

TEST(LabVerifiedBy, TheLegacyLabScenarioFieldLoadsAsOneIdAndNotBesideVerifiedBy) {
  secprof::testing::CatalogCopy c;
  c.Replace("mitigations.yaml", "    verified_by: [lab.substitute, lab.flood]\n",
            "    lab_scenario: lab.substitute\n");
  auto cat = catalog::LoadDirectory(c.dir().string());
  ASSERT_TRUE(cat.has_value()) << cat.error().ToString();
  EXPECT_EQ((*cat)->FindMitigation("M.arch.local_kdc")->verified_by,
            std::vector<std::string>{"lab.substitute"});

  secprof::testing::CatalogCopy both;
  both.Replace("mitigations.yaml", "    verified_by: [lab.substitute, lab.flood]\n",
               "    verified_by: [lab.substitute, lab.flood]\n    lab_scenario: lab.flood\n");
  auto bad = catalog::LoadDirectory(both.dir().string());
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().ToString().find("both lab_scenario and verified_by"), std::string::npos)
      << bad.error().ToString();
}

TEST(LabVerifiedBy, TheLoaderRefusesBadIdsAndEmptyOrContradictoryReasons) {
  secprof::testing::CatalogCopy bad_id;
  bad_id.Replace("mitigations.yaml", "verified_by: [lab.substitute, lab.flood]",
                 "verified_by: [lab.substitute, Lab-Flood]");
  auto a = catalog::LoadDirectory(bad_id.dir().string());
  ASSERT_FALSE(a.has_value());
  EXPECT_NE(a.error().ToString().find("a lab scenario id like lab.clone"), std::string::npos);

  secprof::testing::CatalogCopy both;
  both.Replace("mitigations.yaml", "    verified_by: [lab.substitute, lab.flood]\n",
               "    verified_by: [lab.substitute, lab.flood]\n    not_testable: because\n");
  auto b = catalog::LoadDirectory(both.dir().string());
  ASSERT_FALSE(b.has_value());
  EXPECT_NE(b.error().ToString().find("not_testable at once"), std::string::npos);

  secprof::testing::CatalogCopy empty;
  empty.Replace("mitigations.yaml",
                "not_testable: a design property (configurable suites and algorithms); no attack "
                "on a live domain verifies it",
                "not_testable: \"\"");
  auto e = catalog::LoadDirectory(empty.dir().string());
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().ToString().find("needs a reason"), std::string::npos);
}

}  // namespace
}  // namespace secprof::lab
