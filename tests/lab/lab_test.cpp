// The lab's scenario list and live domain (secprof/lab/scenario.h, live_domain.h).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>

#include "secprof/lab/live_domain.h"
#include "secprof/lab/scenario.h"
#include "testutil.h"

namespace secprof::lab {
namespace {

TEST(LabScenarios, IdsAreUniqueAndMetadataComplete) {
  std::set<std::string> ids;
  ASSERT_FALSE(AllScenarios().empty());
  for (const auto& s : AllScenarios()) {
    const ScenarioInfo& i = s->info();
    EXPECT_TRUE(ids.insert(i.id).second) << "duplicate " << i.id;
    EXPECT_EQ(i.id.rfind("lab.", 0), 0u) << i.id;
    EXPECT_FALSE(i.threat.empty()) << i.id;
    EXPECT_FALSE(i.phase.empty()) << i.id;
    EXPECT_FALSE(i.layer.empty()) << i.id;
    EXPECT_FALSE(i.attacker.empty()) << i.id;
    EXPECT_FALSE(i.success.empty()) << i.id;
    EXPECT_EQ(FindScenario(i.id), s.get());
  }
  EXPECT_EQ(FindScenario("lab.no-such-scenario"), nullptr);
}

TEST(LabOutcome, NamesRoundTrip) {
  for (Outcome o :
       {Outcome::kSucceeded, Outcome::kBlocked, Outcome::kNotApplicable, Outcome::kNotTestable}) {
    auto p = ParseOutcome(OutcomeName(o));
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(*p, o);
  }
  EXPECT_FALSE(ParseOutcome("won").has_value());
}

TEST(LabLiveDomain, SecProf2ThingsJoinAndTheSpareStaysOut) {
  secprof::testing::TempDir dir;
  DomainOptions o;
  o.profile = domain::Profile::kSecProf2;
  o.dir = dir.path();
  o.things = 2;
  o.spares = 1;
  auto d = LiveDomain::Start(o);
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ((*d)->size(), 3);
  EXPECT_EQ((*d)->thing(0).state().state, thing::State::kOperational);
  EXPECT_EQ((*d)->thing(1).state().state, thing::State::kOperational);
  EXPECT_EQ((*d)->thing(2).state().state, thing::State::kManufactured);
}

TEST(LabSubstitute, UnadmittedDeviceIsRefusedByAdmissionInSecProf2) {
  secprof::testing::TempDir dir;
  const Scenario* s = FindScenario("lab.substitute");
  ASSERT_NE(s, nullptr);
  RunContext ctx;
  ctx.profile = domain::Profile::kSecProf2;
  ctx.dir = dir.path();
  auto m = s->Run(ctx);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->outcome, Outcome::kBlocked) << m->reason;
  EXPECT_EQ(m->control, "kdc.admission");
  EXPECT_FALSE(m->reason.empty());
}

}  // namespace
}  // namespace secprof::lab

namespace secprof::lab {
namespace {

TEST(LabSubstitute, UnadmittedDeviceIsRefusedInSecProf3WithTokenKeys) {
  secprof::testing::TempDir dir;
  TokenPool pool = TokenPool::Prepare(dir.path());
  if (!pool.ok()) GTEST_SKIP() << pool.problem();
  RunContext ctx;
  ctx.profile = domain::Profile::kSecProf3;
  ctx.dir = dir.path() / "run";
  ctx.tokens = &pool;
  auto m = FindScenario("lab.substitute")->Run(ctx);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->outcome, Outcome::kBlocked) << m->reason;
  EXPECT_EQ(m->control, "kdc.admission");
  EXPECT_EQ(m->reason, "no-voucher");  // the KDC's own refusal reason
}

}  // namespace
}  // namespace secprof::lab

namespace secprof::lab {
namespace {

// docs/LAB.md documents every scenario (its table is `secprof lab list --format md`).
TEST(LabDocs, EveryScenarioIsInLabMd) {
  std::ifstream in(secprof::testing::SourceDir() / "docs" / "LAB.md");
  ASSERT_TRUE(in.good()) << "docs/LAB.md missing";
  const std::string doc((std::istreambuf_iterator<char>(in)), {});
  for (const auto& s : AllScenarios()) {
    EXPECT_NE(doc.find("| `" + s->info().id + "` |"), std::string::npos)
        << s->info().id << " is not in docs/LAB.md: regenerate its table with "
        << "`secprof lab list --format md`";
  }
}

}  // namespace
}  // namespace secprof::lab
