// The built-in catalog: it loads, it says what the draft says, and its invariants hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "secprof/catalog/catalog.h"
#include "testutil.h"

namespace secprof::catalog {
namespace {

std::shared_ptr<const Catalog> Builtin() {
  auto cat = LoadBuiltin();
  EXPECT_TRUE(cat) << cat.error().ToString();
  return cat ? *cat : nullptr;
}

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(CatalogBuiltin, LoadsAndValidates) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  EXPECT_EQ(cat->version, "1.0.0");
  EXPECT_EQ(cat->building_blocks,
            (std::vector<std::string>{"architecture", "model", "bootstrapping", "network",
                                      "application"}));
  EXPECT_GE(cat->mitigations.size(), 40u);
  EXPECT_LE(cat->mitigations.size(), 70u);
  EXPECT_EQ(cat->processes.size(), 4u);
  EXPECT_FALSE(cat->facts.empty());
}

TEST(CatalogBuiltin, MatchesTheSourceDirectory) {
  // The compiled-in data is the checked-in data (the build re-embeds it when a file changes).
  auto builtin = Builtin();
  auto dir = LoadDirectory((secprof::testing::SourceDir() / "catalog").string());
  ASSERT_TRUE(dir) << dir.error().ToString();
  ASSERT_TRUE(builtin);
  EXPECT_EQ((*dir)->threats.size(), builtin->threats.size());
  EXPECT_EQ((*dir)->mitigations.size(), builtin->mitigations.size());
  EXPECT_EQ((*dir)->rules.size(), builtin->rules.size());
  EXPECT_EQ((*dir)->profiles.back().mitigations, builtin->profiles.back().mitigations);
}

TEST(CatalogBuiltin, PhasesAndLayersUseTheStableIds) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  std::vector<std::string> phases, fig2, layers;
  for (const auto& p : cat->phases) {
    phases.push_back(p.id);
    if (p.figure2) fig2.push_back(p.id);
  }
  for (const auto& l : cat->layers) layers.push_back(l.id);
  EXPECT_EQ(phases, (std::vector<std::string>{"manufacturing", "installation", "operation",
                                              "maintenance", "decommissioning", "reownership"}));
  EXPECT_EQ(fig2, (std::vector<std::string>{"manufacturing", "installation", "operation"}));
  EXPECT_EQ(layers,
            (std::vector<std::string>{"thing", "application", "transport", "network", "physical"}));
  // Figure 1's lifecycle: bootstrapping commissions an installed thing; maintenance loops back.
  auto has_edge = [&](const std::string& from, const std::string& to) {
    return std::any_of(cat->transitions.begin(), cat->transitions.end(),
                       [&](const Transition& t) { return t.from == from && t.to == to; });
  };
  EXPECT_TRUE(has_edge("installed", "commissioned"));
  EXPECT_TRUE(has_edge("operational", "sw_update"));
  EXPECT_TRUE(has_edge("sw_update", "operational"));
  EXPECT_TRUE(has_edge("decommissioned", "reowned_recommissioned"));
}

TEST(CatalogBuiltin, ThreatsHaveTheBriefsIds) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  std::vector<std::string> ids;
  for (const auto& t : cat->threats) ids.push_back(t.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T7.1", "T7.2",
                                           "T7.3", "T7.4", "T8", "T9", "T10", "T11"}));
  EXPECT_EQ(cat->FindThreat("T7")->sub_attacks,
            (std::vector<std::string>{"T7.1", "T7.2", "T7.3", "T7.4"}));
  EXPECT_EQ(cat->FindThreat("T7.3")->parent, "T7");
  EXPECT_TRUE(cat->FindThreat("T10")->addition);
  EXPECT_TRUE(cat->FindThreat("T11")->addition);
  EXPECT_FALSE(cat->FindThreat("T9")->addition);
  EXPECT_EQ(cat->FindThreat("T3")->affects, std::vector<std::string>{"confidentiality"});
  EXPECT_EQ(cat->FindThreat("T12"), nullptr);
}

// The draft's Figure 2 ("Classification of threats according to the lifecycle phases and
// security building blocks", draft-garcia-security-mitigations-and-profiles, Section 4, page 10;
// unflattened as fig3 of the earlier revision), transcribed cell by cell. The installation column
// has no border between transport and network: its threat names and RFC7925 are printed in the
// transport row, the four RFCs in the network row. RFC7925 is not printed in operation x transport.
TEST(CatalogFigure2, MatchesTheDraftCellByCell) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  using V = std::vector<std::string>;
  struct Expected {
    std::string phase, layer;
    V threats, references;
  };
  const std::vector<Expected> expected = {
      {"manufacturing", "thing", {"T1"}, {}},
      {"manufacturing", "application", {}, {}},
      {"manufacturing", "transport", {}, {}},
      {"manufacturing", "network", {}, {}},
      {"manufacturing", "physical", {}, {}},
      {"installation", "thing", {"T2"}, {"ACE-OAuth(draft)"}},
      {"installation", "application", {}, {"RFC2818", "RFC7252", "OSCOAP(draft)"}},
      {"installation", "transport", {"T3", "T4"}, {"RFC7925"}},
      {"installation", "network", {}, {"RFC4919", "RFC5713", "RFC3833", "RFC3756"}},
      {"installation", "physical", {}, {}},
      {"operation", "thing", {"T6", "T8"}, {}},
      {"operation", "application", {"T5"}, {"RFC2818"}},
      {"operation", "transport", {"T3", "T4"}, {}},
      {"operation", "network", {"T7", "T9"}, {"RFC4919", "RFC3833"}},
      {"operation", "physical", {"T9"}, {}},
  };
  const Figure2Grid g = ComputeFigure2(*cat);
  EXPECT_EQ(g.phases, (V{"manufacturing", "installation", "operation"}));
  EXPECT_EQ(g.layers, (V{"thing", "application", "transport", "network", "physical"}));
  ASSERT_EQ(g.cells.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& e = expected[i];
    SCOPED_TRACE(e.phase + " x " + e.layer);
    EXPECT_EQ(g.cells[i].phase, e.phase);
    EXPECT_EQ(g.cells[i].layer, e.layer);
    EXPECT_EQ(g.cells[i].threats, e.threats);
    EXPECT_EQ(g.cells[i].references, e.references);
    ASSERT_NE(g.At(e.phase, e.layer), nullptr);
    EXPECT_EQ(g.At(e.phase, e.layer)->threats, e.threats);
  }
  EXPECT_EQ(g.At("maintenance", "thing"), nullptr);  // not a column of Figure 2
}

TEST(CatalogThreats, EveryThreatIsCountered) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  for (const auto& t : cat->threats) {
    EXPECT_FALSE(cat->MitigationsFor(t.id).empty()) << t.id << " has no mitigation";
  }
  // Sub-attacks inherit what counters their parent.
  auto ids = [&](const std::string& t) {
    std::set<std::string> out;
    for (const auto* m : cat->MitigationsFor(t)) out.insert(m->id);
    return out;
  };
  EXPECT_TRUE(ids("T7.2").count("M.net.secure_routing"));
  EXPECT_TRUE(ids("T7.2").count("M.net.routing_monitoring"));
  EXPECT_FALSE(ids("T7.4").count("M.net.routing_monitoring"));
  EXPECT_FALSE(ids("T7").count("M.net.routing_monitoring"));  // counters T7.1-T7.3 only
  EXPECT_TRUE(ids("T5").count("M.app.signed_fw_update"));
}

TEST(CatalogMitigations, IdsMatchTheirBuildingBlock) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  const std::map<std::string, std::string> prefix = {
      {"architecture", "M.arch."}, {"model", "M.model."},     {"bootstrapping", "M.boot."},
      {"network", "M.net."},       {"application", "M.app."}, {"process", "M.proc."}};
  for (const auto& m : cat->mitigations) {
    EXPECT_EQ(m.id.rfind(prefix.at(m.building_block), 0), 0u) << m.id;
    EXPECT_FALSE(m.counters.empty() && m.accepts.empty()) << m.id;
    EXPECT_FALSE(m.source.empty()) << m.id;
  }
  // Brief section 3's controls are all there.
  for (const char* id : {"M.model.tamper_resistant_keys",
                         "M.model.key_separation",
                         "M.model.sandboxing",
                         "M.boot.pairing_window",
                         "M.boot.authenticated_join",
                         "M.boot.voucher",
                         "M.arch.local_kdc",
                         "M.net.l2_network_key",
                         "M.net.secure_routing",
                         "M.net.multicast_origin_auth",
                         "M.net.inter_domain_auth",
                         "M.net.proxy_verification",
                         "M.app.dtls",
                         "M.app.dtls_suite_policy",
                         "M.app.session_key_policy",
                         "M.app.pairwise_keys",
                         "M.app.group_keys",
                         "M.app.translation_privacy",
                         "M.app.backend_dtls",
                         "M.app.oscore",
                         "M.app.secure_broadcast",
                         "M.app.signed_fw_update",
                         "M.app.fw_rollback_protection",
                         "M.proc.incident_response"}) {
    EXPECT_NE(cat->FindMitigation(id), nullptr) << id;
  }
  // The first key in the clear leaves eavesdropping and MitM at installation open.
  EXPECT_EQ(cat->FindMitigation("M.boot.pairing_window")->accepts,
            (std::vector<std::string>{"T3", "T4"}));
}

TEST(CatalogProfiles, RanksAndRequiredMitigationsExist) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  ASSERT_EQ(cat->profiles.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const Profile& p = cat->profiles[i];
    EXPECT_EQ(p.id, "SecProf_" + std::to_string(i + 1));
    EXPECT_EQ(p.rank, i + 1);
    ASSERT_EQ(p.building_blocks.size(), 5u) << p.id;
    for (const auto& id : p.mitigations) EXPECT_NE(cat->FindMitigation(id), nullptr) << id;
    std::set<std::string> unique(p.mitigations.begin(), p.mitigations.end());
    EXPECT_EQ(unique.size(), p.mitigations.size()) << p.id;
    // Signed, rollback-protected firmware in every profile (brief section 3).
    EXPECT_TRUE(Has(p.mitigations, "M.app.signed_fw_update")) << p.id;
    EXPECT_TRUE(Has(p.mitigations, "M.app.fw_rollback_protection")) << p.id;
    EXPECT_EQ(p.triggers.empty(), i == 0) << p.id;
  }
  EXPECT_TRUE(Has(cat->profiles[0].mitigations, "M.boot.pairing_window"));
  EXPECT_FALSE(Has(cat->profiles[0].mitigations, "M.app.dtls"));  // figure 11: SecProf_1 "-"
  EXPECT_TRUE(Has(cat->profiles[1].mitigations, "M.app.dtls"));
  EXPECT_TRUE(Has(cat->profiles[2].mitigations, "M.boot.voucher"));
  EXPECT_FALSE(Has(cat->profiles[2].mitigations, "M.boot.pairing_window"));
  EXPECT_TRUE(Has(cat->profiles[3].mitigations, "M.app.oscore"));
  EXPECT_FALSE(Has(cat->profiles[2].mitigations, "M.app.oscore"));
}

// SecProf_N+1 requires everything SecProf_N does ("as SecProf_N plus ..."), except a mitigation
// it replaces by that mitigation's declared successor (the pairing window by authenticated join).
TEST(CatalogProfiles, MitigationsAreCumulative) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  for (size_t i = 0; i + 1 < cat->profiles.size(); ++i) {
    const Profile& lower = cat->profiles[i];
    const Profile& upper = cat->profiles[i + 1];
    EXPECT_GT(upper.mitigations.size(), lower.mitigations.size());
    for (const auto& id : lower.mitigations) {
      if (Has(upper.mitigations, id)) continue;
      const Mitigation* m = cat->FindMitigation(id);
      ASSERT_NE(m, nullptr);
      EXPECT_FALSE(m->superseded_by.empty())
          << upper.id << " drops " << id << " without a successor";
      EXPECT_TRUE(Has(upper.mitigations, m->superseded_by))
          << upper.id << " drops " << id << " but lacks " << m->superseded_by;
    }
  }
}

TEST(CatalogProfiles, StandardsMappingStatesTheConflicts) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  auto conflicts = [&](const std::string& id) {
    std::set<std::string> out;
    for (const auto& c : cat->FindProfile(id)->standards.conflicts) {
      if (c.standard == "ETSI EN 303 645") out.insert(c.provision);
    }
    return out;
  };
  for (const char* id : {"SecProf_1", "SecProf_2"}) {
    EXPECT_TRUE(conflicts(id).count("5.4-1")) << id;  // first key in the clear
    EXPECT_TRUE(conflicts(id).count("5.5-1")) << id;
  }
  EXPECT_TRUE(conflicts("SecProf_3").empty());
  EXPECT_TRUE(conflicts("SecProf_4").empty());
  std::vector<std::string> isvs, iec;
  for (const auto& p : cat->profiles) {
    isvs.push_back(p.standards.owasp_isvs_level);
    iec.push_back(p.standards.iec_62443_4_2_sl);
    // Provisions met are never also in conflict (the loader checks this too).
    for (const auto& c : p.standards.conflicts) {
      EXPECT_FALSE(Has(p.standards.etsi_en_303_645, c.provision)) << p.id << " " << c.provision;
    }
  }
  EXPECT_EQ(isvs, (std::vector<std::string>{"L1", "L1", "L2", "L3"}));
  EXPECT_EQ(iec, (std::vector<std::string>{"SL1", "SL1", "SL2", "SL3"}));
}

TEST(CatalogProfiles, TriggersAreMonotoneSystemConditions) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  for (const auto& p : cat->profiles) {
    for (const auto& t : p.triggers) {
      EXPECT_FALSE(t.reason.empty());
      std::vector<Condition> all = t.when.all;
      all.insert(all.end(), t.when.any.begin(), t.when.any.end());
      for (const auto& c : all) {
        const Fact* f = cat->FindFact(c.fact);
        ASSERT_NE(f, nullptr) << c.fact;
        EXPECT_EQ(f->scope, "system") << c.fact;
        const bool monotone =
            c.at_least.has_value() || (f->type == "bool" && c.equals && *c.equals == "true");
        EXPECT_TRUE(monotone) << p.id << ": " << c.fact;
      }
    }
  }
}

TEST(CatalogRisk, MatrixHasTheDraftsShape) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  const RiskMatrix& r = cat->risk;
  EXPECT_EQ(r.likelihood_levels, (std::vector<std::string>{"low", "moderate", "high"}));
  EXPECT_EQ(r.impact_levels, (std::vector<std::string>{"low", "moderate", "high", "critical"}));
  EXPECT_EQ(r.must_mitigate, (std::vector<std::string>{"moderate", "high"}));  // draft §6
  ASSERT_EQ(r.risk.size(), 3u);
  for (const auto& row : r.risk) EXPECT_EQ(row.size(), 4u);
  EXPECT_EQ(r.risk[0][0], "low");
  EXPECT_EQ(r.risk[2][3], "high");
}

TEST(CatalogLookups, FindHelpersReturnNullForUnknownIds) {
  auto cat = Builtin();
  ASSERT_TRUE(cat);
  EXPECT_NE(cat->FindPhase("reownership"), nullptr);
  EXPECT_EQ(cat->FindPhase("design"), nullptr);
  EXPECT_EQ(cat->FindLayer("thing")->name, "Thing's Model");
  EXPECT_EQ(cat->FindLayer("session"), nullptr);
  EXPECT_EQ(cat->FindProfile("SecProf_5"), nullptr);
  EXPECT_EQ(cat->FindMitigation("M.app.nonexistent"), nullptr);
  EXPECT_NE(cat->FindFact("system.central_device"), nullptr);
  EXPECT_TRUE(cat->MitigationsFor("T99").empty());
}

}  // namespace
}  // namespace secprof::catalog
