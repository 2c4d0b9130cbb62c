// Finding groups are lossless (docs/ASSESS.md, "Findings are grouped"): every finding of the
// ungrouped view (a rule fired on an element; Options::group = false) appears in exactly one group
// of the grouped assessment, with the same outcome, and nothing else does.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>

#include "assess_fixture.h"
#include "secprof/assess/assess.h"

namespace secprof::assess {
namespace {

using model::Model;
using testing::Cat;
using testing::LoadExample;

Assessment AssessAt(const Model& m, bool group) {
  Options o;
  o.today = "2026-12-07";
  o.group = group;
  auto a = Assess(Cat(), m, o);
  EXPECT_TRUE(a) << a.error().ToString();
  return a ? *a : Assessment{};
}

// Everything of a group but its elements: what elements of one group share.
auto Outcome(const Finding& f) {
  return std::tie(f.threat, f.threat_name, f.addition, f.rule, f.phase, f.layer, f.scope, f.why,
                  f.likelihood, f.impact, f.impact_fallback, f.risk, f.must_mitigate,
                  f.mitigated_by, f.required, f.missing, f.accepted_by, f.residual_likelihood,
                  f.residual_risk, f.residual_must_mitigate, f.residual_state, f.closes_with,
                  f.contradicted, f.uncountered);
}

// A plant of `n` things (varied classes, capabilities and link protections, some links whose
// facts contradict the declared DTLS), assets on some of them, and risk-tracking entries.
Model Plant(int n) {
  std::string y = "name: plant\nfeatures: {multi_hop: true, physical_exposure: moderate}\n";
  y += "lifecycle: {installer: professional, maintenance: remote, lifetime_years: 15}\n";
  y += "nodes:\n  - {id: backend, kind: backend, location: cloud, internet_facing: true}\n";
  y += "  - {id: kdc, kind: kdc}\nthings:\n";
  const char* caps[] = {"[updatable]", "[updatable, tamper_resistant_storage]",
                        "[actuator, updatable]", "[battery, personal_data]", "[]"};
  const char* cls[] = {"C0", "C1", "C2", "unconstrained"};
  for (int i = 0; i < n; ++i) {
    y += "  - {id: t" + std::to_string(i) + ", vendor: v" + std::to_string(i % 3) +
         ", class: " + cls[i % 4] + ", capabilities: " + caps[i % 5] + "}\n";
  }
  y += "links:\n";
  const char* prot[] = {"dtls", "oscore", "link_key", "none"};
  for (int i = 0; i < n; ++i) {
    y += "  - {id: l" + std::to_string(i) + ", from: kdc, to: t" + std::to_string(i) +
         ", protection: " + prot[i % 4] + (i % 7 == 0 ? ", bootstrapping: true" : "") + "}\n";
  }
  y += "assets:\n  - {id: a0, confidentiality: high, integrity: critical, personal: true}\n";
  y += "  - {id: a1, confidentiality: low, availability: high}\nflows:\n";
  for (int i = 0; i < n; i += 5) {
    y += "  - {id: f" + std::to_string(i) + ", from: t" + std::to_string(i) +
         ", to: backend, via: [kdc], assets: [a" + std::to_string((i / 5) % 2) + "]}\n";
  }
  y += "mitigations: [M.app.dtls, M.boot.voucher, M.app.signed_fw_update]\n";
  y += "risk_tracking:\n";
  y += "  - {rule: R.T10.unpatchable, element: t4, status: accepted, justification: j, by: b, "
       "date: 2026-11-01}\n";
  y += "  - {rule: R.T3.unprotected-link, element: l3, status: false_positive, justification: j, "
       "by: b, date: 2026-11-01, expires: 2026-12-01}\n";
  auto m = model::Parse("plant.yaml", y);
  EXPECT_TRUE(m) << m.error().ToString();
  return m ? *m : Model{};
}

void CheckLossless(const Model& m, const std::string& label) {
  const Assessment grouped = AssessAt(m, true), flat = AssessAt(m, false);
  // (rule, element) -> the group holding it, counted.
  std::map<std::pair<std::string, std::string>, std::pair<const Finding*, int>> in;
  std::map<std::pair<std::string, std::string>, const FindingElement*> element_of;
  size_t grouped_elements = 0;
  for (const auto& g : grouped.findings) {
    ASSERT_FALSE(g.elements.empty()) << label << ": empty group of " << g.rule;
    for (const auto& e : g.elements) {
      auto& slot = in[{g.rule, e.id}];
      slot.first = &g;
      ++slot.second;
      element_of[{g.rule, e.id}] = &e;
      ++grouped_elements;
    }
  }
  size_t flat_elements = 0;
  for (const auto& f : flat.findings) {
    ASSERT_EQ(f.elements.size(), 1u) << label << ": ungrouped " << f.rule;
    const FindingElement& e = f.elements.front();
    ++flat_elements;
    auto it = in.find({f.rule, e.id});
    ASSERT_NE(it, in.end()) << label << ": " << f.rule << " on " << e.id << " is in no group";
    EXPECT_EQ(it->second.second, 1) << label << ": " << f.rule << " on " << e.id;
    EXPECT_TRUE(Outcome(*it->second.first) == Outcome(f))
        << label << ": " << f.rule << " on " << e.id << " changed its outcome in its group";
    const FindingElement& ge = *element_of[{f.rule, e.id}];
    EXPECT_EQ(ge.line, e.line);
    EXPECT_EQ(ge.column, e.column);
    ASSERT_EQ(!ge.tracking, !e.tracking) << label << ": " << f.rule << " on " << e.id;
    if (e.tracking) {
      EXPECT_EQ(ge.tracking->decision.status, e.tracking->decision.status);
      EXPECT_EQ(ge.tracking->exempt, e.tracking->exempt);
      EXPECT_EQ(ge.tracking->expired, e.tracking->expired);
    }
  }
  // Nothing in a group that the ungrouped view lacks.
  EXPECT_EQ(grouped_elements, flat_elements) << label;
  EXPECT_EQ(grouped.summary.findings, flat_elements) << label;
  // Grouping does group: the groups of one rule differ in their outcome.
  for (size_t i = 0; i < grouped.findings.size(); ++i) {
    for (size_t k = i + 1; k < grouped.findings.size(); ++k) {
      if (grouped.findings[i].rule != grouped.findings[k].rule) continue;
      EXPECT_FALSE(Outcome(grouped.findings[i]) == Outcome(grouped.findings[k]))
          << label << ": two groups of " << grouped.findings[i].rule << " share an outcome";
    }
  }
  // What is derived from the findings is the same either way.
  EXPECT_EQ(grouped.summary.by_risk, flat.summary.by_risk) << label;
  EXPECT_EQ(grouped.summary.by_residual_risk, flat.summary.by_residual_risk) << label;
  EXPECT_EQ(grouped.summary.by_state, flat.summary.by_state) << label;
  EXPECT_EQ(grouped.summary.by_tracking, flat.summary.by_tracking) << label;
  EXPECT_EQ(grouped.summary.must_mitigate, flat.summary.must_mitigate) << label;
  EXPECT_EQ(grouped.summary.residual_must_mitigate, flat.summary.residual_must_mitigate) << label;
  for (const char* level : {"low", "moderate", "high"}) {
    EXPECT_EQ(CountFailing(grouped, level), CountFailing(flat, level)) << label << " " << level;
  }
  ASSERT_EQ(grouped.gaps.size(), flat.gaps.size()) << label;
  for (size_t i = 0; i < grouped.gaps.size(); ++i) {
    EXPECT_EQ(grouped.gaps[i].threats, flat.gaps[i].threats) << label;
    EXPECT_EQ(grouped.gaps[i].highest_risk, flat.gaps[i].highest_risk) << label;
  }
  ASSERT_EQ(grouped.bia.size(), flat.bia.size()) << label;
  for (size_t i = 0; i < grouped.bia.size(); ++i) {
    EXPECT_EQ(grouped.bia[i].threatened, flat.bia[i].threatened) << label;
    EXPECT_EQ(grouped.bia[i].highest_residual_risk, flat.bia[i].highest_residual_risk) << label;
  }
  EXPECT_EQ(grouped.warnings.size(), flat.warnings.size()) << label;
}

TEST(FindingGroups, LosslessOnEveryExample) {
  for (const char* ex : {"home-lighting", "managed-home", "office-building", "industrial-plant",
                         "industrial-plant-tracked"}) {
    CheckLossless(LoadExample(ex), ex);
  }
}

TEST(FindingGroups, LosslessOnAGeneratedPlant) {
  const Model m = Plant(120);
  CheckLossless(m, "plant");
  // The plant's findings do group: far fewer groups than findings.
  const Assessment a = AssessAt(m, true);
  EXPECT_LT(a.summary.groups * 4, a.summary.findings);
  // An expired false-positive entry is kept on its element and counts again.
  bool seen = false;
  for (const auto& f : a.findings) {
    for (const auto& e : f.elements) {
      if (e.tracking && e.id == "l3") {
        seen = true;
        EXPECT_TRUE(e.tracking->expired);
        EXPECT_FALSE(e.tracking->exempt);
      }
    }
  }
  EXPECT_TRUE(seen);
}

TEST(FindingGroups, ElementsAreSortedAndWhyNamesEach) {
  const Assessment a = AssessAt(Plant(30), true);
  for (const auto& f : a.findings) {
    for (size_t i = 1; i < f.elements.size(); ++i) {
      EXPECT_LT(f.elements[i - 1].id, f.elements[i].id) << f.rule;
    }
    for (const auto& e : f.elements) {
      const std::string why = f.WhyFor(e);
      EXPECT_EQ(why.find("{element}"), std::string::npos) << f.rule;
      if (f.why.find("{element}") != std::string::npos) {
        EXPECT_NE(why.find(e.id), std::string::npos) << f.rule;
      }
    }
  }
}

}  // namespace
}  // namespace secprof::assess
