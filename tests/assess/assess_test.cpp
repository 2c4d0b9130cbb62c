// Tests of the assessment engine: one case per threat rule, profile classification of the worked
// examples, and the two monotonicity properties of assess.h.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>

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

Assessment MustAssess(const Model& m) {
  auto a = Assess(Cat(), m);
  EXPECT_TRUE(a) << a.error().ToString();
  return a ? *a : Assessment{};
}

// One group per element (Options::group = false).
Assessment MustAssessUngrouped(const Model& m) {
  Options o;
  o.group = false;
  auto a = Assess(Cat(), m, o);
  EXPECT_TRUE(a) << a.error().ToString();
  return a ? *a : Assessment{};
}

// A quiet system: one tamper-resistant, updatable, C2 thing from one vendor, nothing else.
Model Quiet() {
  Model m;
  m.file = "quiet.yaml";
  m.name = "quiet";
  model::Thing t;
  t.id = "dev";
  t.vendor = "V";
  t.device_class = "C2";
  t.capabilities = {"tamper_resistant_storage", "updatable"};
  m.things.push_back(t);
  m.lifecycle.lifetime_years = 3;
  return m;
}

void AddNode(Model& m, const std::string& id, const std::string& kind, bool internet = false) {
  model::Node n;
  n.id = id;
  n.kind = kind;
  n.internet_facing = internet;
  n.translates = kind == "proxy";
  if (kind == "backend") n.location = "cloud";
  m.nodes.push_back(n);
}

void AddLink(Model& m, const std::string& id, const std::string& protection, bool bootstrapping,
             const std::string& medium = "radio") {
  AddNode(m, "kdc-" + id, "kdc");
  model::Link l;
  l.id = id;
  l.from = "kdc-" + id;
  l.to = "dev";
  l.protection = protection;
  l.bootstrapping = bootstrapping;
  l.medium = medium;
  m.links.push_back(l);
}

void AddPersonalAsset(Model& m, bool via_proxy = false) {
  model::Asset a;
  a.id = "pdata";
  a.personal = true;
  a.confidentiality = "moderate";
  m.assets.push_back(a);
  if (via_proxy) {
    AddNode(m, "px", "proxy");
    AddNode(m, "be", "backend");
    model::Flow f;
    f.id = "up";
    f.from = "dev";
    f.to = "be";
    f.via = {"px"};
    f.assets = {"pdata"};
    f.protection = "hop_by_hop";
    m.flows.push_back(f);
  }
}

// A backend node `be` sends to `dev` with the given flow protection.
void AddBackendFlow(Model& m, const std::string& protection) {
  AddNode(m, "be", "backend");
  model::Flow f;
  f.id = "cmd";
  f.from = "be";
  f.to = "dev";
  f.protection = protection;
  m.flows.push_back(f);
}

void RemoveCap(Model& m, const std::string& cap) {
  auto& c = m.things[0].capabilities;
  c.erase(std::remove(c.begin(), c.end(), cap), c.end());
}

struct RuleCase {
  std::string rule;
  std::function<void(Model&)> silent;  // applied to Quiet(): the rule must not fire
  std::function<void(Model&)> fires;   // applied on top: the rule must fire
};

// gtest prints a parameter with this instead of dumping its bytes.
void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.rule; }

void Nothing(Model&) {}

const std::vector<RuleCase>& Cases() {
  static const std::vector<RuleCase> cases = {
      {"R.T1.extractable-identity", Nothing,
       [](Model& m) { RemoveCap(m, "tamper_resistant_storage"); }},
      {"R.T1.multi-vendor-supply-chain", Nothing, [](Model& m) { m.features.multi_vendor = true; }},
      {"R.T2.third-party-installer", Nothing,
       [](Model& m) { m.lifecycle.installer = "professional"; }},
      {"R.T2.unauthenticated-join", [](Model& m) { AddLink(m, "j", "dtls", true); },
       [](Model& m) { m.links[0].protection = "none"; }},
      {"R.T3.clear-bootstrap", [](Model& m) { AddLink(m, "j", "dtls", true); },
       [](Model& m) { m.links[0].protection = "link_key"; }},
      {"R.T3.unprotected-link", [](Model& m) { AddLink(m, "l", "oscore", false); },
       [](Model& m) { m.links[0].protection = "none"; }},
      {"R.T3.long-lived-keys", Nothing, [](Model& m) { m.lifecycle.lifetime_years = 10; }},
      {"R.T4.clear-bootstrap", [](Model& m) { AddLink(m, "j", "dtls", true); },
       [](Model& m) { m.links[0].protection = "none"; }},
      {"R.T4.unauthenticated-link", [](Model& m) { AddLink(m, "l", "link_key", false); },
       [](Model& m) { m.links[0].protection = "none"; }},
      {"R.T4.translating-proxy", [](Model& m) { AddNode(m, "gw", "gateway"); },
       [](Model& m) { AddNode(m, "px", "proxy"); }},
      {"R.T5.updatable-thing", [](Model& m) { RemoveCap(m, "updatable"); },
       [](Model& m) { m.things[0].capabilities.push_back("updatable"); }},
      {"R.T5.remote-update-channel", [](Model& m) { m.lifecycle.maintenance = "remote"; },
       [](Model& m) { m.features.internet = "gateway"; }},
      {"R.T6.captured-keys", [](Model& m) { m.features.physical_exposure = "moderate"; },
       [](Model& m) { RemoveCap(m, "tamper_resistant_storage"); }},
      {"R.T6.stored-personal-data", Nothing,
       [](Model& m) { m.things[0].capabilities.push_back("personal_data"); }},
      {"R.T7.multi-hop-routing", Nothing, [](Model& m) { m.features.multi_hop = true; }},
      {"R.T7.1.sinkhole", [](Model& m) { m.features.multi_hop = true; },
       [](Model& m) { m.things[0].count = 100; }},
      {"R.T7.2.selective-forwarding", Nothing, [](Model& m) { m.features.multi_hop = true; }},
      {"R.T7.3.wormhole", [](Model& m) { m.features.multi_hop = true; },
       [](Model& m) { m.features.physical_exposure = "moderate"; }},
      {"R.T7.4.sybil", [](Model& m) { m.features.multi_hop = true; },
       [](Model& m) { m.features.adhoc = true; }},
      {"R.T8.personal-data", Nothing, [](Model& m) { AddPersonalAsset(m); }},
      {"R.T8.translation-point", [](Model& m) { AddPersonalAsset(m, true); },
       [](Model& m) { m.flows[0].protection = "hop_by_hop"; }},
      {"R.T8.lifecycle-transition", [](Model& m) { AddPersonalAsset(m); },
       [](Model& m) { m.lifecycle.ownership_changes = true; }},
      {"R.T9.internet-facing-node", [](Model& m) { AddNode(m, "gw", "gateway"); },
       [](Model& m) { m.nodes[0].internet_facing = true; }},
      {"R.T9.constrained-reachable", [](Model& m) { m.features.internet = "gateway"; },
       [](Model& m) { m.things[0].device_class = "C1"; }},
      {"R.T9.radio-jamming", [](Model& m) { AddLink(m, "l", "dtls", false, "wired"); },
       [](Model& m) { m.links[0].medium = "radio"; }},
      {"R.T10.unpatchable", Nothing, [](Model& m) { RemoveCap(m, "updatable"); }},
      {"R.T10.long-lived-connected", [](Model& m) { m.features.internet = "gateway"; },
       [](Model& m) { m.lifecycle.lifetime_years = 5; }},
      {"R.T11.remote-actuator", [](Model& m) { m.things[0].capabilities.push_back("actuator"); },
       [](Model& m) { m.features.internet = "gateway"; }},
      {"R.T11.backend-manager", [](Model& m) { AddNode(m, "gw", "gateway"); },
       [](Model& m) { AddNode(m, "bm", "backend"); }},
      // Issue 12, item 4: the threats that did not fire before.
      {"R.T2.adhoc-relationship", Nothing, [](Model& m) { m.features.adhoc = true; }},
      {"R.T4.adhoc-pairing", Nothing, [](Model& m) { m.features.adhoc = true; }},
      {"R.T4.roaming-handoff", Nothing, [](Model& m) { m.features.roaming = true; }},
      {"R.T4.backend-hop-by-hop", [](Model& m) { AddBackendFlow(m, "end_to_end"); },
       [](Model& m) { m.flows[0].protection = "hop_by_hop"; }},
      {"R.T6.network-key-extraction", [](Model& m) { RemoveCap(m, "tamper_resistant_storage"); },
       [](Model& m) { AddLink(m, "l", "link_key", false); }},
      {"R.T6.disposal", Nothing, [](Model& m) { RemoveCap(m, "tamper_resistant_storage"); }},
      {"R.T9.internet-reachable-thing", [](Model& m) { AddLink(m, "l", "dtls", false, "wired"); },
       [](Model& m) { m.links[0].medium = "internet"; }},
      {"R.T9.ddos-source", Nothing, [](Model& m) { m.features.internet = "gateway"; }},
      {"R.T10.internet-reachable-thing", [](Model& m) { AddLink(m, "l", "dtls", false, "wired"); },
       [](Model& m) { m.links[0].medium = "internet"; }},
      {"R.T11.internet-reachable-thing", [](Model& m) { AddLink(m, "l", "dtls", false, "wired"); },
       [](Model& m) { m.links[0].medium = "internet"; }},
  };
  return cases;
}

bool Fired(const Assessment& a, const std::string& rule) {
  return std::any_of(a.findings.begin(), a.findings.end(),
                     [&](const Finding& f) { return f.rule == rule; });
}

class RuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RuleTest, FiresOnlyWhenItsConditionsHold) {
  const RuleCase& c = GetParam();
  Model m = Quiet();
  c.silent(m);
  // The translation-point case is silent while its flow is protected end to end.
  if (c.rule == "R.T8.translation-point") m.flows[0].protection = "end_to_end";
  Assessment before = MustAssess(m);
  EXPECT_FALSE(Fired(before, c.rule)) << c.rule << " fired on the quiet model";
  c.fires(m);
  Assessment after = MustAssess(m);
  ASSERT_TRUE(Fired(after, c.rule)) << c.rule << " did not fire";
  const catalog::ThreatRule* rule = nullptr;
  for (const auto& r : Cat().rules) {
    if (r.id == c.rule) rule = &r;
  }
  ASSERT_NE(rule, nullptr);
  for (const auto& f : after.findings) {
    if (f.rule != c.rule) continue;
    EXPECT_EQ(f.threat, rule->threat);
    EXPECT_EQ(f.phase, rule->phase);
    EXPECT_EQ(f.layer, rule->layer);
    EXPECT_EQ(f.scope, rule->scope);
    EXPECT_FALSE(f.why.empty());
    ASSERT_FALSE(f.elements.empty());
    for (const auto& e : f.elements) {
      EXPECT_EQ(f.WhyFor(e).find("{element}"), std::string::npos);
    }
    EXPECT_FALSE(f.risk.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(EveryRule, RuleTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<RuleCase>& info) {
                           std::string n = info.param.rule;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(RuleCoverageTest, EveryCatalogRuleHasATestCase) {
  std::set<std::string> tested;
  for (const auto& c : Cases()) tested.insert(c.rule);
  for (const auto& r : Cat().rules) EXPECT_TRUE(tested.count(r.id)) << "no test case for " << r.id;
  EXPECT_EQ(tested.size(), Cat().rules.size()) << "a test case names a rule the catalog lacks";
  // Every threat, T1..T11 and the T7 sub-attacks, is reachable by at least one rule.
  std::set<std::string> threats;
  for (const auto& r : Cat().rules) threats.insert(r.threat);
  for (const auto& t : Cat().threats) EXPECT_TRUE(threats.count(t.id)) << "no rule for " << t.id;
}

TEST(RuleTest, RaiseIncreasesLikelihood) {
  Model m = Quiet();
  RemoveCap(m, "tamper_resistant_storage");
  auto find = [](const Assessment& a, const std::string& rule) {
    for (const auto& f : a.findings) {
      if (f.rule == rule) return f;
    }
    return Finding{};
  };
  EXPECT_EQ(find(MustAssess(m), "R.T1.extractable-identity").likelihood, "moderate");
  m.features.physical_exposure = "high";
  EXPECT_EQ(find(MustAssess(m), "R.T1.extractable-identity").likelihood, "high");
}

TEST(AssessTest, ExamplesLandInTheirProfiles) {
  EXPECT_EQ(MustAssess(LoadExample("home-lighting")).profile.id, "SecProf_1");
  EXPECT_EQ(MustAssess(LoadExample("managed-home")).profile.id, "SecProf_2");
  EXPECT_EQ(MustAssess(LoadExample("office-building")).profile.id, "SecProf_3");
  EXPECT_EQ(MustAssess(LoadExample("industrial-plant")).profile.id, "SecProf_4");
}

TEST(AssessTest, ProfileDecisionExplainsItself) {
  Assessment a = MustAssess(LoadExample("managed-home"));
  ASSERT_FALSE(a.profile.decided_by.empty());
  for (const auto& t : a.profile.decided_by) {
    EXPECT_TRUE(t.holds);
    EXPECT_EQ(t.profile, "SecProf_2");
    EXPECT_FALSE(t.conditions.empty());
  }
  ASSERT_FALSE(a.profile.move_up.empty());
  for (const auto& t : a.profile.move_up) EXPECT_FALSE(t.holds);
}

TEST(AssessTest, UnknownDeclaredMitigationIsLocatedBadInput) {
  auto m =
      model::Parse("m.yaml", "name: t\nthings: [{id: a, vendor: V}]\nmitigations:\n  - M.nope\n");
  ASSERT_TRUE(m);
  auto a = Assess(Cat(), *m);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(a.error().where()->line, 4);
  EXPECT_NE(a.error().message().find("M.nope"), std::string::npos);
}

TEST(AssessTest, GapsAreRequiredMinusDeclared) {
  Model m = LoadExample("office-building");
  Assessment a = MustAssess(m);
  const catalog::Profile* p = Cat().FindProfile(a.profile.id);
  ASSERT_NE(p, nullptr);
  std::set<std::string> declared(a.declared.begin(), a.declared.end());
  size_t expected = 0;
  for (const auto& id : p->mitigations) expected += declared.count(id) ? 0 : 1;
  EXPECT_EQ(a.gaps.size(), expected);
  for (const auto& g : a.gaps) EXPECT_FALSE(declared.count(g.mitigation)) << g.mitigation;
  // Declaring every required mitigation closes every gap and lowers every residual to the floor.
  for (const auto& id : p->mitigations) {
    if (!declared.count(id)) m.mitigations.push_back({id, "", {}});
  }
  Assessment full = MustAssess(m);
  EXPECT_TRUE(full.gaps.empty());
  for (const auto& f : full.findings) {
    // Only a mitigation the element's own facts contradict stays missing (it does not count there).
    for (const auto& id : f.missing) {
      EXPECT_NE(std::find(f.contradicted.begin(), f.contradicted.end(), id), f.contradicted.end())
          << f.rule << " on " << f.ElementIds() << " misses " << id;
    }
    if (!f.required.empty() && f.missing.empty()) {
      EXPECT_EQ(f.residual_likelihood, Cat().risk.likelihood_levels.front());
    }
  }
}

TEST(AssessTest, OutputIsDeterministicAndSorted) {
  Model m = LoadExample("industrial-plant");
  Assessment a = MustAssess(m), b = MustAssess(m);
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (size_t i = 0; i < a.findings.size(); ++i) {
    EXPECT_EQ(a.findings[i].rule, b.findings[i].rule);
    EXPECT_EQ(a.findings[i].ElementIds(), b.findings[i].ElementIds());
  }
  EXPECT_TRUE(std::is_sorted(a.gaps.begin(), a.gaps.end(), [](const Gap& x, const Gap& y) {
    return x.mitigation < y.mitigation;
  }));
}

TEST(AssessTest, PiaFindsTranslationPointAndBackend) {
  Assessment a = MustAssess(LoadExample("industrial-plant"));
  bool translation = false, backend = false;
  for (const auto& x : a.pia) {
    if (x.asset == "worker-location" && x.kind == "translation_point" && x.element == "proxy") {
      translation = true;
    }
    if (x.asset == "worker-location" && x.kind == "backend") backend = true;
  }
  EXPECT_TRUE(translation);
  EXPECT_TRUE(backend);
}

// Property: declaring one more mitigation never raises any finding's residual risk (and never
// changes which threats apply).
TEST(AssessPropertyTest, ExtraMitigationNeverRaisesRisk) {
  for (const char* ex : {"home-lighting", "managed-home", "office-building", "industrial-plant"}) {
    Model m = LoadExample(ex);
    Assessment base = MustAssessUngrouped(m);
    std::set<std::string> declared(base.declared.begin(), base.declared.end());
    for (const auto& mit : Cat().mitigations) {
      if (declared.count(mit.id)) continue;
      Model more = m;
      more.mitigations.push_back({mit.id, "", {}});
      Assessment after = MustAssessUngrouped(more);
      // Per finding (rule on element): the ungrouped view, whose findings correspond one to one.
      ASSERT_EQ(after.findings.size(), base.findings.size()) << ex << " + " << mit.id;
      for (size_t i = 0; i < base.findings.size(); ++i) {
        ASSERT_EQ(after.findings[i].rule, base.findings[i].rule);
        EXPECT_LE(RiskRank(Cat().risk, after.findings[i].residual_risk),
                  RiskRank(Cat().risk, base.findings[i].residual_risk))
            << ex << " + " << mit.id << ": " << base.findings[i].rule;
      }
    }
  }
}

// Property: raising any classifying feature never lowers the profile (random base systems).
TEST(AssessPropertyTest, ProfileIsMonotoneInFeatures) {
  struct Feature {
    std::vector<std::string> values;  // ascending
    std::function<void(Model&, const std::string&)> set;
  };
  auto b = [](bool model::Features::*field) {
    return [field](Model& m, const std::string& v) { m.features.*field = v == "true"; };
  };
  auto s = [](std::string model::Features::*field) {
    return [field](Model& m, const std::string& v) { m.features.*field = v; };
  };
  std::vector<Feature> features = {
      {{"small", "medium", "large"}, s(&model::Features::network_size)},
      {{"none", "local", "backend", "local_and_backend"}, s(&model::Features::central_device)},
      {{"none", "gateway", "direct"}, s(&model::Features::internet)},
      {{"low", "moderate", "high", "critical"}, s(&model::Features::data_value)},
      {{"low", "moderate", "high"}, s(&model::Features::physical_exposure)},
      {{"false", "true"}, b(&model::Features::multi_vendor)},
      {{"false", "true"}, b(&model::Features::adhoc)},
      {{"false", "true"}, b(&model::Features::roaming)},
      {{"false", "true"}, b(&model::Features::ownership_transfer)},
      {{"false", "true"}, b(&model::Features::multi_hop)},
      {{"none", "local", "remote"},
       [](Model& m, const std::string& v) { m.lifecycle.maintenance = v; }},
  };
  auto rank = [](const Model& m) {
    Assessment a = MustAssess(m);
    return Cat().FindProfile(a.profile.id)->rank;
  };
  std::mt19937 rng(20261124);  // fixed seed: the run is reproducible
  int checked = 0;
  for (int trial = 0; trial < 150; ++trial) {
    Model base = Quiet();
    std::vector<size_t> pos(features.size());
    for (size_t f = 0; f < features.size(); ++f) {
      pos[f] = rng() % features[f].values.size();
      features[f].set(base, features[f].values[pos[f]]);
    }
    const int r0 = rank(base);
    for (size_t f = 0; f < features.size(); ++f) {
      for (size_t v = pos[f] + 1; v < features[f].values.size(); ++v) {
        Model up = base;
        features[f].set(up, features[f].values[v]);
        EXPECT_GE(rank(up), r0) << "raising feature " << f << " to " << features[f].values[v]
                                << " lowered the profile";
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 300);
}

}  // namespace
}  // namespace secprof::assess

namespace secprof::assess {
namespace {

// The draft's SecProf_2 sends the first key in the clear. An assessment must not let operational
// DTLS lower that risk, and must say the profile accepts it (brief section 3).
TEST(AssessTest, FirstKeyInTheClearIsAcceptedNotMitigated) {
  Assessment a = MustAssess(LoadExample("managed-home"));
  int seen = 0;
  for (const auto& f : a.findings) {
    if (f.rule != "R.T3.clear-bootstrap" && f.rule != "R.T4.clear-bootstrap") continue;
    ++seen;
    EXPECT_TRUE(f.mitigated_by.empty()) << f.rule << " lowered by " << f.mitigated_by.front();
    EXPECT_EQ(f.residual_risk, f.risk) << f.rule;
    EXPECT_EQ(f.accepted_by, std::vector<std::string>{"M.boot.pairing_window"}) << f.rule;
  }
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace secprof::assess
