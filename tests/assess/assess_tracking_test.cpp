// Issue 12, items 2, 3 and 6: risk tracking in the model, consistency warnings, and impact/BIA
// from each element's own data.
#include <gtest/gtest.h>

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

Assessment At(const Model& m, const std::string& date) {
  auto a = Assess(Cat(), m, {date});
  EXPECT_TRUE(a) << a.error().ToString();
  return a ? *a : Assessment{};
}

Model Parse(const std::string& text) {
  auto m = model::Parse("t.yaml", text);
  EXPECT_TRUE(m) << m.error().ToString();
  return m ? *m : Model{};
}

bool HasWarning(const Assessment& a, const std::string& kind) {
  return std::any_of(a.warnings.begin(), a.warnings.end(),
                     [&](const Warning& w) { return w.kind == kind; });
}

// The finding group of `rule` that holds `element`, and that element in it.
struct Found {
  const Finding* group = nullptr;
  const FindingElement* element = nullptr;
  explicit operator bool() const { return group != nullptr; }
  const Finding* operator->() const { return group; }
};

Found Find(const Assessment& a, const std::string& rule, const std::string& element) {
  for (const auto& f : a.findings) {
    if (f.rule != rule) continue;
    for (const auto& e : f.elements) {
      if (e.id == element) return {&f, &e};
    }
  }
  return {};
}

// A thing that cannot be updated: R.T10.unpatchable fires on it with moderate residual risk.
const char* kBase = R"(name: t
things:
  - {id: cam, vendor: V, capabilities: [tamper_resistant_storage]}
assets:
  - {id: video, confidentiality: high}
lifecycle: {lifetime_years: 3}
)";

TEST(RiskTracking, TrackedExamplesPassFailOnModerate) {
  for (const char* ex : {"home-lighting", "managed-home", "office-building", "industrial-plant"}) {
    auto plain = model::LoadFile(ExamplePath(ex));
    auto tracked = model::LoadFile(ExamplePath(std::string(ex) + "-tracked"));
    ASSERT_TRUE(plain && tracked) << ex;
    const Assessment a = At(*tracked, "2026-12-07");
    EXPECT_EQ(CountFailing(a, "moderate"), 0) << ex;
    EXPECT_FALSE(HasWarning(a, "tracking_dangling")) << ex;
    EXPECT_FALSE(HasWarning(a, "tracking_expired")) << ex;
    EXPECT_GE(CountFailing(At(*plain, "2026-12-07"), "moderate"),
              std::string(ex) == "home-lighting" ? 0 : 1)
        << ex;
  }
}

TEST(RiskTracking, AcceptedExemptsUntilItExpires) {
  Model m = Parse(std::string(kBase) + R"(risk_tracking:
  - rule: R.T10.unpatchable
    element: cam
    status: accepted
    justification: isolated network segment
    by: J. Doe
    date: 2026-11-01
    expires: 2027-01-01
)");
  const Assessment before = At(m, "2026-12-31");
  const Found f = Find(before, "R.T10.unpatchable", "cam");
  ASSERT_TRUE(f);
  ASSERT_TRUE(f.element->tracking);
  EXPECT_TRUE(f.element->tracking->exempt);
  EXPECT_EQ(f.element->tracking->decision.by, "J. Doe");
  EXPECT_NE(f->residual_risk, "low");  // tracking records a decision; it does not lower risk
  const int failing = CountFailing(before, "moderate");
  EXPECT_FALSE(HasWarning(before, "tracking_expired"));
  // On the expiry date the decision no longer holds: the finding counts again, with a warning.
  const Assessment after = At(m, "2027-01-01");
  const Found g = Find(after, "R.T10.unpatchable", "cam");
  ASSERT_TRUE(g && g.element->tracking);
  EXPECT_TRUE(g.element->tracking->expired);
  EXPECT_FALSE(g.element->tracking->exempt);
  EXPECT_EQ(CountFailing(after, "moderate"), failing + 1);
  EXPECT_TRUE(HasWarning(after, "tracking_expired"));
}

TEST(RiskTracking, OnlyAcceptedAndFalsePositiveExempt) {
  for (const char* status : {"accepted", "false_positive", "in_progress", "mitigated"}) {
    Model m =
        Parse(std::string(kBase) +
              "risk_tracking:\n  - {rule: R.T10.unpatchable, element: cam, status: " + status +
              ", justification: j, by: b, date: 2026-11-01}\n");
    const Assessment a = At(m, "2026-12-07");
    const Found f = Find(a, "R.T10.unpatchable", "cam");
    ASSERT_TRUE(f && f.element->tracking) << status;
    const bool exempt =
        std::string(status) == "accepted" || std::string(status) == "false_positive";
    EXPECT_EQ(f.element->tracking->exempt, exempt) << status;
    EXPECT_EQ(a.summary.by_tracking.at(status), 1);
  }
}

TEST(RiskTracking, DanglingEntriesAreReportedAndChangeNothing) {
  const Assessment plain = At(Parse(kBase), "2026-12-07");
  for (const char* entry : {"{rule: R.T99.nope, element: cam",
                            "{rule: R.T10.unpatchable, "
                            "element: ghost",
                            "{rule: R.T5.updatable-thing, element: cam"}) {
    Model m = Parse(std::string(kBase) + "risk_tracking:\n  - " + entry +
                    ", status: accepted, justification: j, by: b, date: 2026-11-01}\n");
    const Assessment a = At(m, "2026-12-07");
    EXPECT_TRUE(HasWarning(a, "tracking_dangling")) << entry;
    EXPECT_EQ(CountFailing(a, "moderate"), CountFailing(plain, "moderate")) << entry;
  }
}

TEST(RiskTracking, BadEntriesAreLocatedErrors) {
  const std::string head = std::string(kBase) + "risk_tracking:\n  - ";
  for (const char* bad : {
           "{rule: R.T10.unpatchable, element: cam, status: ignored, justification: j, by: b, "
           "date: 2026-11-01}",
           "{rule: R.T10.unpatchable, element: cam, status: accepted, justification: j, by: b, "
           "date: 2026-13-01}",
           "{rule: R.T10.unpatchable, element: cam, status: accepted, justification: j, by: b, "
           "date: 2026-11-01, expires: 2026-10-01}",
           "{rule: R.T10.unpatchable, element: cam, status: accepted, justification: ' ', by: b, "
           "date: 2026-11-01}",
           "{rule: R.T10.unpatchable, element: cam, status: accepted, by: b, date: 2026-11-01}",
           "{rule: R.T10.unpatchable, element: cam, status: accepted, justification: j, by: b, "
           "date: 2026-02-29}",
       }) {
    auto m = model::Parse("t.yaml", head + bad + "\n");
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().code(), ErrorCode::kInvalidInput) << bad;
    ASSERT_TRUE(m.error().where()) << bad;
    EXPECT_GE(m.error().where()->line, 7) << bad;
  }
  // The same decision twice is an error too.
  const std::string e =
      "{rule: R.T10.unpatchable, element: cam, status: accepted, justification: j, by: b, date: "
      "2026-11-01}\n";
  EXPECT_FALSE(model::Parse("t.yaml", head + e + "  - " + e));
  // The legitimate entry parses (leap day included).
  EXPECT_TRUE(model::Parse("t.yaml", head +
                                         "{rule: R.T10.unpatchable, element: cam, status: "
                                         "accepted, justification: j, by: b, date: 2028-02-29}\n"));
}

// ---- consistency (item 3) ----

TEST(Consistency, DeclaredFeatureBelowTheModelIsRaisedAndWarned) {
  Model m = Parse(R"(name: t
features: {data_value: low, network_size: small}
things:
  - {id: s, vendor: V, count: 800, capabilities: [tamper_resistant_storage, updatable]}
assets:
  - {id: records, confidentiality: critical, personal: true}
)");
  const Assessment a = At(m, "2026-12-07");
  EXPECT_EQ(a.system_facts.at("system.data_value"), "critical");
  EXPECT_EQ(a.system_facts.at("system.network_size"), "large");
  int below = 0;
  for (const auto& w : a.warnings) below += w.kind == "feature_below_model";
  EXPECT_EQ(below, 2);
  // A declaration at or above the model's content is no contradiction.
  m.features.data_value = "critical";
  m.features.network_size = "large";
  EXPECT_FALSE(HasWarning(At(m, "2026-12-07"), "feature_below_model"));
}

TEST(Consistency, ContradictedMitigationDoesNotCountAndIsWarned) {
  Model m = Parse(R"(name: t
features: {central_device: local}
things:
  - {id: s, vendor: V, capabilities: [tamper_resistant_storage, updatable]}
nodes:
  - {id: kdc, kind: kdc}
links:
  - {id: air, from: kdc, to: s, protection: none}
mitigations: [M.app.dtls]
)");
  const Assessment bad = At(m, "2026-12-07");
  const Found f = Find(bad, "R.T3.unprotected-link", "air");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->mitigated_by.empty());
  EXPECT_EQ(f->contradicted, std::vector<std::string>{"M.app.dtls"});
  EXPECT_EQ(f->residual_risk, f->risk);
  EXPECT_TRUE(HasWarning(bad, "mitigation_contradicted"));
  // Legitimate path: on a link the model protects, DTLS counts (R.T4 fires on none only; T3 on
  // link_key too).
  m.links[0].protection = "link_key";
  const Assessment good = At(m, "2026-12-07");
  const Found g = Find(good, "R.T3.unprotected-link", "air");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->mitigated_by, std::vector<std::string>{"M.app.dtls"});
  EXPECT_FALSE(HasWarning(good, "mitigation_contradicted"));
}

TEST(Consistency, UpdateMitigationsDoNotPatchAThingThatCannotBeUpdated) {
  Model m = Parse(std::string(kBase) + "mitigations: [M.app.update_delivery]\n");
  const Assessment a = At(m, "2026-12-07");
  const Found f = Find(a, "R.T10.unpatchable", "cam");
  ASSERT_TRUE(f);
  EXPECT_TRUE(std::find(f->mitigated_by.begin(), f->mitigated_by.end(), "M.app.update_delivery") ==
              f->mitigated_by.end());
  EXPECT_TRUE(HasWarning(a, "mitigation_contradicted"));
}

TEST(Consistency, AcceptanceTheProfileDoesNotGrantIsNotCarried) {
  // A SecProf_3 system (backend manager) that declares the first key in the clear.
  Model m = Parse(R"(name: t
things:
  - {id: s, vendor: V, capabilities: [tamper_resistant_storage, updatable]}
nodes:
  - {id: kdc, kind: kdc}
  - {id: bm, kind: backend}
links:
  - {id: join, from: kdc, to: s, protection: none, bootstrapping: true}
mitigations: [M.boot.pairing_window]
)");
  const Assessment a = At(m, "2026-12-07");
  ASSERT_EQ(a.profile.id, "SecProf_3");
  const Found f = Find(a, "R.T3.clear-bootstrap", "join");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->accepted_by.empty());
  EXPECT_TRUE(HasWarning(a, "acceptance_not_granted"));
  // In SecProf_2, whose profile accepts it, the acceptance carries and nothing is warned.
  m.nodes.pop_back();
  const Assessment home = At(m, "2026-12-07");
  ASSERT_EQ(home.profile.id, "SecProf_2");
  const Found h = Find(home, "R.T3.clear-bootstrap", "join");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->accepted_by, std::vector<std::string>{"M.boot.pairing_window"});
  EXPECT_FALSE(HasWarning(home, "acceptance_not_granted"));
}

// ---- impact and BIA (item 6) ----

TEST(ImpactAndBia, FallbackIsMarkedAndBiaRowsAreTheAssetsOwn) {
  Model m = Parse(R"(name: t
features: {physical_exposure: high}
things:
  - {id: meter, vendor: V}
  - {id: lamp, vendor: V, capabilities: [updatable]}
  - {id: spare, vendor: V, capabilities: [updatable]}
nodes:
  - {id: hub, kind: kdc}
flows:
  - {id: f1, from: meter, to: hub, assets: [readings]}
  - {id: f2, from: lamp, to: hub, assets: [state]}
assets:
  - {id: readings, confidentiality: high}
  - {id: state, integrity: moderate}
)");
  const Assessment a = At(m, "2026-12-07");
  const Found meter = Find(a, "R.T6.captured-keys", "meter");
  const Found spare = Find(a, "R.T6.captured-keys", "spare");
  ASSERT_TRUE(meter && spare);
  EXPECT_FALSE(meter->impact_fallback);
  EXPECT_EQ(meter->impact, "high");
  EXPECT_TRUE(spare->impact_fallback);  // no flow reaches it: the system's data value stands in
  ASSERT_EQ(a.bia.size(), 2u);
  // Each row holds only the findings on its own elements: the two rows differ.
  EXPECT_NE(a.bia[0].threatened, a.bia[1].threatened);
}

// ---- profile decision in the draft's terms (item 7) ----

TEST(ProfileDecision, ExtractionTriggerReadsConfidentialDataOnThingsAndIsMarked) {
  // Critical integrity (a control command) is not confidential data to extract: no SecProf_4.
  Model m = Parse(R"(name: t
things:
  - {id: valve, vendor: V, capabilities: [tamper_resistant_storage, updatable, actuator]}
nodes:
  - {id: kdc, kind: kdc}
flows:
  - {id: cmd, from: kdc, to: valve, assets: [command]}
assets:
  - {id: command, integrity: critical}
)");
  const Assessment integrity = At(m, "2026-12-07");
  EXPECT_NE(integrity.profile.id, "SecProf_4");
  EXPECT_EQ(integrity.system_facts.at("system.device_confidentiality"), "low");
  // Critical confidential data carried by the thing: the project's extraction trigger holds, and
  // the decision says it is the project's, not the draft's.
  m.assets[0].confidentiality = "critical";
  const Assessment conf = At(m, "2026-12-07");
  ASSERT_EQ(conf.profile.id, "SecProf_4");
  ASSERT_FALSE(conf.profile.decided_by.empty());
  for (const auto& t : conf.profile.decided_by) EXPECT_EQ(t.source, "project") << t.reason;
  // The draft's own SecProf_4 features (roaming) are not marked.
  m.features.roaming = true;
  bool draft = false;
  for (const auto& t : At(m, "2026-12-07").profile.decided_by) draft = draft || t.source == "draft";
  EXPECT_TRUE(draft);
}

}  // namespace
}  // namespace secprof::assess
