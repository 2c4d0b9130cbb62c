// Issue 12, item 1: residual risk that can close. Declaring every mitigation the chosen profile
// requires must leave no finding above the lowest risk level, unless the finding says explicitly
// why it cannot close: no mitigation of this profile counters it (kCannotClose, naming what would),
// or the model's own facts contradict a declared mitigation on that element, or it is tracked as
// accepted. Checked on the worked examples and on random systems.
#include <gtest/gtest.h>

#include <random>

#include "assess_fixture.h"
#include "secprof/assess/assess.h"
#include "secprof/catalog/catalog.h"
#include "secprof/model/model.h"

namespace secprof::assess {
namespace {

using model::Model;
using testing::Cat;
using testing::ExamplePath;
using testing::LoadExample;

Assessment AssessAt(const Model& m) {
  auto a = Assess(Cat(), m, {"2026-12-01"});
  EXPECT_TRUE(a) << a.error().ToString();
  return a ? *a : Assessment{};
}

// Declares every mitigation the profile `m` lands in requires.
Model DeclareProfile(Model m) {
  const Assessment a = AssessAt(m);
  for (const auto& g : a.gaps) m.mitigations.push_back({g.mitigation, "", {}});
  return m;
}

// The property, for one model. Returns how many findings stayed above low with a stated reason.
int CheckClosure(const Model& base, const std::string& label) {
  const Model m = DeclareProfile(base);
  const Assessment a = AssessAt(m);
  EXPECT_TRUE(a.gaps.empty()) << label;
  const std::string low = Cat().risk.risk_levels.front();
  int explained = 0;
  for (const auto& f : a.findings) {
    if (f.residual_risk == low) {
      if (!f.required.empty() && f.contradicted.empty()) {
        EXPECT_EQ(f.residual_state, kClosed) << label << ": " << f.rule << " on " << f.ElementIds();
      }
      continue;
    }
    const bool cannot =
        f.residual_state == kCannotClose && (!f.closes_with.empty() || !f.uncountered.empty());
    const bool contradicted = !f.contradicted.empty();
    for (const auto& e : f.elements) {
      const bool accepted = e.tracking && e.tracking->exempt;
      EXPECT_TRUE(cannot || contradicted || accepted)
          << label << ": " << f.rule << " on " << e.id << " stays " << f.residual_risk << " (state "
          << f.residual_state << ") with every required mitigation declared";
      ++explained;
    }
  }
  return explained;
}

TEST(ClosureProperty, EveryExampleClosesOrSaysWhy) {
  for (const char* ex : {"home-lighting", "managed-home", "office-building", "industrial-plant"}) {
    CheckClosure(LoadExample(ex), ex);
  }
}

// In the two industrial examples, following the report's own advice closes every finding: their
// profiles require a counter for every threat they produce (the draft's Section 6 goal).
TEST(ClosureProperty, IndustrialExamplesCloseCompletely) {
  for (const char* ex : {"office-building", "industrial-plant"}) {
    Model m = LoadExample(ex);
    // The examples describe things without tamper-resistant storage and links without security;
    // the model's own facts contradict some mitigations there. Make the facts agree first.
    for (auto& t : m.things) {
      t.capabilities = {"tamper_resistant_storage", "updatable", "secure_boot"};
    }
    for (auto& l : m.links) l.protection = "dtls";
    for (auto& f : m.flows) f.protection = "end_to_end";
    const Assessment a = AssessAt(DeclareProfile(m));
    for (const auto& f : a.findings) {
      EXPECT_EQ(f.residual_risk, Cat().risk.risk_levels.front())
          << ex << ": " << f.rule << " on " << f.ElementIds() << " (" << f.residual_state << ")";
    }
    EXPECT_EQ(a.summary.residual_must_mitigate, 0) << ex;
  }
}

// A radio link's jamming finding closes with the new jamming mitigations where the profile
// requires them, and says what would close it where it does not.
TEST(ClosureProperty, JammingClosesFromSecProf2AndNamesItsCounterBelow) {
  Model m;
  m.file = "j.yaml";
  m.name = "j";
  m.things.push_back({});
  m.things[0].id = "dev";
  m.things[0].vendor = "V";
  m.things[0].capabilities = {"tamper_resistant_storage", "updatable"};
  model::Node n;
  n.id = "peer";
  n.kind = "gateway";
  m.nodes.push_back(n);
  model::Link l;
  l.id = "air";
  l.from = "peer";
  l.to = "dev";
  l.protection = "dtls";
  m.links.push_back(l);
  m.features.physical_exposure = "high";
  auto jam = [](const Assessment& a) {
    for (const auto& f : a.findings) {
      if (f.rule == "R.T9.radio-jamming") return f;
    }
    ADD_FAILURE() << "no jamming finding";
    return Finding{};
  };
  // SecProf_1: no profile mitigation counters jamming; the report names what would.
  Assessment home = AssessAt(DeclareProfile(m));
  ASSERT_EQ(home.profile.id, "SecProf_1");
  Finding f1 = jam(home);
  EXPECT_EQ(f1.residual_state, kCannotClose);
  bool names_detection = false;
  for (const auto& [id, profile] : f1.closes_with) {
    if (id == "M.net.jamming_detection") names_detection = profile == "SecProf_2";
  }
  EXPECT_TRUE(names_detection);
  // Declaring it beyond the profile closes it.
  Model more = DeclareProfile(m);
  more.mitigations.push_back({"M.net.jamming_detection", "", {}});
  EXPECT_EQ(jam(AssessAt(more)).residual_state, kClosed);
  // SecProf_3 (a large network): channel hopping and detection are required and close it.
  m.things[0].count = 500;
  Assessment ind = AssessAt(DeclareProfile(m));
  ASSERT_EQ(ind.profile.id, "SecProf_3");
  Finding f3 = jam(ind);
  EXPECT_EQ(f3.residual_state, kClosed);
  EXPECT_NE(std::find(f3.required.begin(), f3.required.end(), "M.net.channel_hopping"),
            f3.required.end());
}

// Random systems: the property holds whatever the features, capabilities and links.
TEST(ClosureProperty, RandomSystemsCloseOrSayWhy) {
  std::mt19937 rng(20261207);  // fixed seed: reproducible
  auto pick = [&](std::vector<std::string> v) { return v[rng() % v.size()]; };
  auto coin = [&] { return rng() % 2 == 0; };
  const std::vector<std::string> caps = {"tamper_resistant_storage",
                                         "updatable",
                                         "secure_boot",
                                         "actuator",
                                         "personal_data",
                                         "battery"};
  for (int trial = 0; trial < 60; ++trial) {
    Model m;
    m.file = "r.yaml";
    m.name = "random";
    m.features.physical_exposure = pick({"low", "moderate", "high"});
    m.features.adhoc = coin();
    m.features.roaming = rng() % 4 == 0;
    m.features.multi_hop = coin();
    m.features.internet = pick({"none", "gateway", "direct"});
    m.lifecycle.lifetime_years = static_cast<int64_t>(rng() % 25);
    m.lifecycle.maintenance = pick({"none", "local", "remote"});
    m.lifecycle.installer = pick({"owner", "professional", "vendor"});
    m.lifecycle.ownership_changes = coin();
    for (int i = 0; i < 3; ++i) {
      model::Thing t;
      t.id = "t" + std::to_string(i);
      t.vendor = pick({"A", "B"});
      t.device_class = pick({"C0", "C1", "C2", "unconstrained"});
      t.count = 1 + static_cast<int64_t>(rng() % 300);
      for (const auto& c : caps) {
        if (coin()) t.capabilities.push_back(c);
      }
      m.things.push_back(t);
    }
    for (const auto& [id, kind] : std::vector<std::pair<std::string, std::string>>{
             {"kdc", "kdc"}, {"px", "proxy"}, {"be", "backend"}}) {
      if (!coin()) continue;
      model::Node n;
      n.id = id;
      n.kind = kind;
      n.translates = kind == "proxy";
      n.internet_facing = coin();
      m.nodes.push_back(n);
    }
    for (int i = 0; i < 3; ++i) {
      model::Link l;
      l.id = "l" + std::to_string(i);
      l.from = "t" + std::to_string(i);
      l.to = "t" + std::to_string((i + 1) % 3);
      l.medium = pick({"wired", "radio", "internet"});
      l.protection = pick({"none", "link_key", "dtls", "tls", "oscore"});
      l.bootstrapping = coin();
      m.links.push_back(l);
    }
    model::Asset a;
    a.id = "data";
    a.confidentiality = pick({"low", "moderate", "high", "critical"});
    a.integrity = pick({"low", "moderate", "high", "critical"});
    a.personal = coin();
    m.assets.push_back(a);
    model::Flow f;
    f.id = "up";
    f.from = "t0";
    f.to = "t1";
    f.assets = {"data"};
    f.protection = pick({"none", "hop_by_hop", "end_to_end"});
    m.flows.push_back(f);
    CheckClosure(m, "trial " + std::to_string(trial));
  }
}

}  // namespace
}  // namespace secprof::assess
