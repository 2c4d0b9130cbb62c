// Issue 12, item 5: the catalog's self-check. A mitigation counts against a finding only when it
// counters the finding's threat at the rule's phase and layer (docs/ASSESS.md, step 5), so a
// required mitigation whose phases and layers never meet any rule's can never lower a finding, and
// a rule no profile can counter can never close. Both are catalog bugs this test catches.
#include <gtest/gtest.h>

#include <algorithm>

#include "secprof/catalog/catalog.h"

namespace secprof::catalog {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// True when `m` counts against findings of rule `r` (the engine's test, assess.cpp).
bool Counters(const Catalog& cat, const Mitigation& m, const ThreatRule& r) {
  const Threat* t = cat.FindThreat(r.threat);
  const bool threat =
      Has(m.counters, r.threat) || (t && !t->parent.empty() && Has(m.counters, t->parent));
  return threat && (m.phases.empty() || Has(m.phases, r.phase)) &&
         (m.layers.empty() || Has(m.layers, r.layer));
}

bool ProfileCounters(const Catalog& cat, const Profile& p, const ThreatRule& r) {
  for (const auto& id : p.mitigations) {
    const Mitigation* m = cat.FindMitigation(id);
    if (m && Counters(cat, *m, r)) return true;
  }
  return false;
}

std::shared_ptr<const Catalog> Builtin() {
  auto c = LoadBuiltin();
  if (!c) ADD_FAILURE() << c.error().ToString();
  return c ? *c : nullptr;
}

TEST(CatalogSelfCheck, EveryRequiredCounterLowersSomeRule) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  for (const auto& m : cat->mitigations) {
    bool required = false;
    for (const auto& p : cat->profiles) required = required || Has(p.mitigations, m.id);
    if (!required || m.counters.empty()) continue;  // accept-only mitigations lower nothing
    bool lowers = false;
    for (const auto& r : cat->rules) lowers = lowers || Counters(*cat, m, r);
    EXPECT_TRUE(lowers) << m.id << " is required by a profile but its phases and layers meet no "
                        << "rule of a threat it counters";
  }
}

TEST(CatalogSelfCheck, EveryRuleIsCounteredByTheStrongestProfileOrSaysWhy) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  const Profile& top = cat->profiles.back();
  for (const auto& r : cat->rules) {
    if (!r.uncountered.empty()) continue;
    EXPECT_TRUE(ProfileCounters(*cat, top, r))
        << r.id << ": no mitigation of " << top.id << " counters it at " << r.phase << "/"
        << r.layer << ", and the rule gives no `uncountered` reason";
  }
}

// A finding a profile cannot close names what would: a stronger profile must counter every rule a
// weaker one does not (so the "cannot close" state always has an answer), and profiles only grow.
TEST(CatalogSelfCheck, WhatAWeakProfileCannotCloseAStrongerOneCan) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  for (const auto& r : cat->rules) {
    for (size_t i = 0; i + 1 < cat->profiles.size(); ++i) {
      const Profile& weak = cat->profiles[i];
      const Profile& strong = cat->profiles[i + 1];
      if (ProfileCounters(*cat, weak, r)) {
        EXPECT_TRUE(ProfileCounters(*cat, strong, r))
            << r.id << " is countered by " << weak.id << " but not by the stronger " << strong.id;
      }
    }
  }
}

// The self-check can fail: a mitigation moved out of every rule's reach is caught.
TEST(CatalogSelfCheck, DetectsAMitigationThatLowersNothing) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  Mitigation m = *cat->FindMitigation("M.app.dtls");
  m.phases = {"manufacturing"};  // DTLS never acts at manufacturing, where no T3/T4 rule is
  bool lowers = false;
  for (const auto& r : cat->rules) lowers = lowers || Counters(*cat, m, r);
  EXPECT_FALSE(lowers);
}

}  // namespace
}  // namespace secprof::catalog
