// src/catalog/loader_threats.cpp — the catalog loader's parsers for threats.yaml, mitigations.yaml,
// processes.yaml and risk.yaml, and the final check that every threat is countered.
#include "loader_impl.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <utility>

#include "secprof/yamlio/reader.h"

namespace secprof::catalog::internal {

Status Loader::Threats(const Node& root) {
  SECPROF_TRY(root.CheckKeys({"threats", "figure2_references"}));
  SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("threats"));
  SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
  static const std::regex kThreatId(R"(T[0-9]+(\.[0-9]+)?)");
  std::vector<std::pair<std::string, Node>> parents;  // (parent id, node of `parent`)
  for (const auto& item : items) {
    SECPROF_TRY(item.CheckKeys({"id", "name", "description", "parent", "addition", "phases",
                                "layers", "figure2", "affects", "references"}));
    Threat t;
    SECPROF_ASSIGN_OR_RETURN(t.id, NonEmpty(item, "id"));
    const Node idn = *item.Get("id");
    SECPROF_TRY(MatchPattern(idn, t.id, kThreatId, "a threat id like T3 or T7.2"));
    SECPROF_TRY(Define(threat_seen_, t.id, idn, "threat"));
    SECPROF_ASSIGN_OR_RETURN(t.name, NonEmpty(item, "name"));
    SECPROF_ASSIGN_OR_RETURN(t.description, NonEmpty(item, "description"));
    SECPROF_ASSIGN_OR_RETURN(t.parent, item.OptionalString("parent", ""));
    if (!t.parent.empty()) {
      if (t.id.rfind(t.parent + ".", 0) != 0) {
        return Fail(item.Get("parent")->MakeError(
            "sub-attack '" + t.id + "' must be numbered under its parent '" + t.parent + "'"));
      }
      parents.emplace_back(t.parent, *item.Get("parent"));
    } else if (t.id.find('.') != std::string::npos) {
      return Fail(idn.MakeError("sub-attack '" + t.id + "' needs a `parent`"));
    }
    SECPROF_ASSIGN_OR_RETURN(t.addition, item.OptionalBool("addition", false));
    SECPROF_ASSIGN_OR_RETURN(t.phases, IdList(item, "phases", phase_ids_, "phase", true));
    SECPROF_ASSIGN_OR_RETURN(t.layers, IdList(item, "layers", layer_ids_, "layer", true));
    SECPROF_ASSIGN_OR_RETURN(t.affects, IdList(item, "affects", kCia, "security goal", true));
    SECPROF_ASSIGN_OR_RETURN(auto refs, LocatedList(item, "references"));
    SECPROF_TRY(NoDuplicates(refs, "reference"));
    t.references = Strings(refs);
    if (auto f2 = item.Get("figure2"); f2 && !f2->IsNull()) {
      SECPROF_ASSIGN_OR_RETURN(auto cells, f2->Items());
      std::set<std::pair<std::string, std::string>> seen_cells;
      for (const auto& cn : cells) {
        if (cn.Get("references"))
          return Fail(
              cn.Get("references")
                  ->MakeError("references of a Figure 2 cell belong in `figure2_references`"));
        SECPROF_ASSIGN_OR_RETURN(Figure2Cell c, Cell(cn));
        if (!Contains(t.phases, c.phase) || !Contains(t.layers, c.layer)) {
          return Fail(cn.MakeError("Figure 2 cell " + c.phase + " x " + c.layer +
                                   " is outside the threat's own phases and layers"));
        }
        if (!seen_cells.emplace(c.phase, c.layer).second) {
          return Fail(
              cn.MakeError("Figure 2 cell " + c.phase + " x " + c.layer + " is listed twice"));
        }
        t.figure2.push_back(std::move(c));
      }
    }
    if ((t.addition || !t.parent.empty()) && !t.figure2.empty()) {
      return Fail(item.Get("figure2")->MakeError(
          "additions and sub-attacks are not in the draft's Figure 2"));
    }
    cat_.threats.push_back(std::move(t));
  }
  for (const auto& [parent, n] : parents) {
    Threat* p = FindThreatMutable(parent);
    if (!p) return Fail(n.MakeError("unknown threat '" + parent + "'"));
    if (!p->parent.empty()) return Fail(n.MakeError("sub-attacks cannot be nested"));
  }
  for (const auto& t : cat_.threats) {
    if (!t.parent.empty()) FindThreatMutable(t.parent)->sub_attacks.push_back(t.id);
  }
  // Figure 2's references per cell.
  if (auto refs = root.Get("figure2_references"); refs && !refs->IsNull()) {
    SECPROF_ASSIGN_OR_RETURN(auto cells, refs->Items());
    std::set<std::pair<std::string, std::string>> seen_cells;
    for (const auto& cn : cells) {
      SECPROF_ASSIGN_OR_RETURN(Figure2Cell c, Cell(cn));
      if (!seen_cells.emplace(c.phase, c.layer).second) {
        return Fail(
            cn.MakeError("Figure 2 cell " + c.phase + " x " + c.layer + " is listed twice"));
      }
      SECPROF_ASSIGN_OR_RETURN(auto list, LocatedList(cn, "references"));
      if (list.empty()) return Fail(cn.MakeError("`references` must not be empty"));
      SECPROF_TRY(NoDuplicates(list, "reference"));
      cat_.figure2_references.push_back({c.phase, c.layer, Strings(list)});
    }
  }
  for (const auto& t : cat_.threats) threat_ids_.push_back(t.id);
  return Ok();
}

Threat* Loader::FindThreatMutable(const std::string& id) {
  for (auto& t : cat_.threats) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

Status Loader::Mitigations(const Node& root) {
  SECPROF_TRY(root.CheckKeys({"mitigations"}));
  SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("mitigations"));
  SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
  static const std::regex kMitigationId(R"(M\.([a-z]+)\.[a-z0-9_]+)");
  static const std::regex kRfc(R"(RFC[0-9]+)");
  static const std::regex kEtsi(R"([0-9]+(\.[0-9]+)?-[0-9]+)");
  static const std::regex kControl(R"([a-z0-9_]+(\.[a-z0-9_]+)+)");
  static const std::regex kLab(R"(lab\.[a-z0-9_]+)");
  std::vector<std::string> blocks = cat_.building_blocks;
  blocks.push_back("process");
  std::vector<std::pair<std::string, Node>> supersessions;
  for (const auto& item : items) {
    SECPROF_TRY(
        item.CheckKeys({"id", "name", "building_block", "description", "counters", "accepts",
                        "superseded_by", "phases", "layers", "references", "controls",
                        "verified_by", "not_testable", "lab_scenario", "source", "contradicted_by"}));
    Mitigation m;
    SECPROF_ASSIGN_OR_RETURN(m.id, NonEmpty(item, "id"));
    const Node idn = *item.Get("id");
    std::smatch match;
    if (!std::regex_match(m.id, match, kMitigationId)) {
      return Fail(idn.MakeError("'" + m.id + "' is not a mitigation id like M.boot.voucher"));
    }
    SECPROF_TRY(Define(mitigation_seen_, m.id, idn, "mitigation"));
    SECPROF_ASSIGN_OR_RETURN(m.name, NonEmpty(item, "name"));
    SECPROF_ASSIGN_OR_RETURN(m.building_block, NonEmpty(item, "building_block"));
    SECPROF_TRY(
        MustBeOneOf(*item.Get("building_block"), m.building_block, blocks, "building block"));
    const std::string prefix = kBlockPrefix.at(m.building_block);
    if (match[1].str() != prefix) {
      return Fail(idn.MakeError("mitigation of building block '" + m.building_block +
                                "' must have an id starting with M." + prefix + "."));
    }
    SECPROF_ASSIGN_OR_RETURN(m.description, NonEmpty(item, "description"));
    SECPROF_ASSIGN_OR_RETURN(m.counters, IdList(item, "counters", threat_ids_, "threat", false));
    SECPROF_ASSIGN_OR_RETURN(m.accepts, IdList(item, "accepts", threat_ids_, "threat", false));
    if (m.counters.empty() && m.accepts.empty()) {
      return Fail(item.MakeError("mitigation '" + m.id +
                                 "' must name the threats it `counters` (or `accepts`)"));
    }
    for (const auto& a : m.accepts) {
      if (Contains(m.counters, a)) {
        return Fail(
            item.Get("accepts")->MakeError("threat '" + a + "' is both countered and accepted"));
      }
    }
    SECPROF_ASSIGN_OR_RETURN(m.superseded_by, item.OptionalString("superseded_by", ""));
    if (!m.superseded_by.empty())
      supersessions.emplace_back(m.superseded_by, *item.Get("superseded_by"));
    SECPROF_ASSIGN_OR_RETURN(m.phases, IdList(item, "phases", phase_ids_, "phase", true));
    SECPROF_ASSIGN_OR_RETURN(m.layers, IdList(item, "layers", layer_ids_, "layer", true));
    if (auto cn = item.Get("contradicted_by"); cn && !cn->IsNull()) {
      SECPROF_ASSIGN_OR_RETURN(auto conds, cn->Items());
      for (const auto& c : conds) {
        // Each condition is on one element scope (never the system): the fact says which.
        SECPROF_ASSIGN_OR_RETURN(std::string fact, NonEmpty(c, "fact"));
        const Fact* f = cat_.FindFact(fact);
        if (!f || f->scope == "system") {
          return Fail(c.Get("fact")->MakeError(
              "`contradicted_by` needs a thing, link, node or asset fact, not '" + fact + "'"));
        }
        SECPROF_ASSIGN_OR_RETURN(Condition cond, ParseCondition(c, f->scope, false));
        m.contradicted_by.push_back(std::move(cond));
      }
    }
    if (auto refs = item.Get("references"); refs && !refs->IsNull()) {
      SECPROF_TRY(refs->CheckKeys({"rfc", "etsi", "other"}));
      SECPROF_ASSIGN_OR_RETURN(auto rfc, LocatedList(*refs, "rfc"));
      SECPROF_TRY(NoDuplicates(rfc, "RFC"));
      for (const auto& [s, n] : rfc) SECPROF_TRY(MatchPattern(n, s, kRfc, "an RFC like RFC8613"));
      SECPROF_ASSIGN_OR_RETURN(auto etsi, LocatedList(*refs, "etsi"));
      SECPROF_TRY(NoDuplicates(etsi, "provision"));
      for (const auto& [s, n] : etsi) {
        SECPROF_TRY(MatchPattern(n, s, kEtsi, "an EN 303 645 provision like 5.4-1"));
        SECPROF_TRY(VerifiedEtsi(n, s));
      }
      SECPROF_ASSIGN_OR_RETURN(auto other, LocatedList(*refs, "other"));
      for (const auto& [s, n] : other) SECPROF_TRY(VerifiedOtherReference(n, s));
      m.references = {Strings(rfc), Strings(etsi), Strings(other)};
    }
    SECPROF_ASSIGN_OR_RETURN(auto controls, LocatedList(item, "controls"));
    SECPROF_TRY(NoDuplicates(controls, "control"));
    for (const auto& [s, n] : controls) {
      SECPROF_TRY(MatchPattern(n, s, kControl, "a control id like kdc.voucher_check"));
    }
    m.controls = Strings(controls);
    // verified_by: the lab scenarios that verify it. `lab_scenario` (one id, or "") is the field's
    // earlier form and still loads, as a one-element verified_by; a mitigation may not have both.
    SECPROF_ASSIGN_OR_RETURN(auto verified, LocatedList(item, "verified_by"));
    SECPROF_TRY(NoDuplicates(verified, "lab scenario"));
    SECPROF_ASSIGN_OR_RETURN(std::string legacy, item.OptionalString("lab_scenario", ""));
    if (!legacy.empty()) {
      if (!verified.empty()) {
        return Fail(item.Get("lab_scenario")
                        ->MakeError("mitigation '" + m.id +
                                    "' has both lab_scenario and verified_by; keep verified_by"));
      }
      verified.emplace_back(legacy, *item.Get("lab_scenario"));
    }
    for (const auto& [s, n] : verified) {
      SECPROF_TRY(MatchPattern(n, s, kLab, "a lab scenario id like lab.clone"));
    }
    m.verified_by = Strings(verified);
    SECPROF_ASSIGN_OR_RETURN(m.not_testable, item.OptionalString("not_testable", ""));
    if (auto nt = item.Get("not_testable"); nt && !nt->IsNull() && m.not_testable.empty()) {
      return Fail(nt->MakeError("not_testable needs a reason (or leave the field out)"));
    }
    if (!m.not_testable.empty() && !m.verified_by.empty()) {
      return Fail(item.Get("not_testable")
                      ->MakeError("mitigation '" + m.id +
                                  "' is verified_by a lab scenario and not_testable at once"));
    }
    SECPROF_ASSIGN_OR_RETURN(m.source, NonEmpty(item, "source"));
    cat_.mitigations.push_back(std::move(m));
  }
  for (const auto& m : cat_.mitigations) mitigation_ids_.push_back(m.id);
  for (const auto& [id, n] : supersessions) {
    SECPROF_TRY(MustBeOneOf(n, id, mitigation_ids_, "mitigation"));
  }
  return Ok();
}

Status Loader::Processes(const Node& root) {
  SECPROF_TRY(root.CheckKeys({"processes"}));
  SECPROF_ASSIGN_OR_RETURN(Node list, root.Required("processes"));
  SECPROF_ASSIGN_OR_RETURN(auto items, list.Items());
  std::map<std::string, SourceLocation> seen;
  for (const auto& item : items) {
    SECPROF_TRY(item.CheckKeys({"id", "name", "description", "needs", "produces", "phases"}));
    Process p;
    SECPROF_ASSIGN_OR_RETURN(p.id, NonEmpty(item, "id"));
    SECPROF_TRY(Define(seen, p.id, *item.Get("id"), "process"));
    SECPROF_ASSIGN_OR_RETURN(p.name, NonEmpty(item, "name"));
    SECPROF_ASSIGN_OR_RETURN(p.description, NonEmpty(item, "description"));
    SECPROF_ASSIGN_OR_RETURN(p.needs, item.OptionalStringList("needs"));
    SECPROF_ASSIGN_OR_RETURN(p.produces, item.OptionalStringList("produces"));
    if (p.needs.empty() || p.produces.empty()) {
      return Fail(item.MakeError("process '" + p.id + "' must list what it needs and produces"));
    }
    SECPROF_ASSIGN_OR_RETURN(p.phases, IdList(item, "phases", phase_ids_, "phase", true));
    cat_.processes.push_back(std::move(p));
  }
  return Ok();
}

Status Loader::Risk(const Node& root) {
  SECPROF_TRY(root.CheckKeys(
      {"likelihood_levels", "impact_levels", "risk_levels", "matrix", "must_mitigate"}));
  RiskMatrix& r = cat_.risk;
  for (auto [key, out] :
       {std::pair{"likelihood_levels", &r.likelihood_levels},
        std::pair{"impact_levels", &r.impact_levels}, std::pair{"risk_levels", &r.risk_levels}}) {
    SECPROF_ASSIGN_OR_RETURN(auto levels, LocatedList(root, key));
    if (levels.empty())
      return Fail(root.MakeError(std::string("`") + key + "` must list at least one level"));
    SECPROF_TRY(NoDuplicates(levels, "level"));
    *out = Strings(levels);
  }
  SECPROF_ASSIGN_OR_RETURN(Node matrix, root.Required("matrix"));
  SECPROF_ASSIGN_OR_RETURN(auto rows, matrix.Entries());
  std::vector<std::string> keys;
  for (const auto& [k, n] : rows) keys.push_back(k);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i >= r.likelihood_levels.size() || rows[i].first != r.likelihood_levels[i]) {
      return Fail(matrix.MakeError("matrix rows must be exactly the likelihood levels in order (" +
                                   JoinList(r.likelihood_levels) + "), found " + JoinList(keys)));
    }
  }
  if (rows.size() != r.likelihood_levels.size()) {
    return Fail(matrix.MakeError("matrix rows must be exactly the likelihood levels in order (" +
                                 JoinList(r.likelihood_levels) + "), found " + JoinList(keys)));
  }
  auto rank = [&](const std::string& level) {
    return std::find(r.risk_levels.begin(), r.risk_levels.end(), level) - r.risk_levels.begin();
  };
  for (size_t l = 0; l < rows.size(); ++l) {
    SECPROF_ASSIGN_OR_RETURN(auto cells, rows[l].second.Items());
    if (cells.size() != r.impact_levels.size()) {
      return Fail(rows[l].second.MakeError(
          "row '" + rows[l].first + "' must have one risk level per impact level (" +
          std::to_string(r.impact_levels.size()) + "), found " + std::to_string(cells.size())));
    }
    std::vector<std::string> row;
    for (size_t i = 0; i < cells.size(); ++i) {
      SECPROF_ASSIGN_OR_RETURN(std::string v, cells[i].AsString());
      SECPROF_TRY(MustBeOneOf(cells[i], v, r.risk_levels, "risk level"));
      // Risk must not fall when likelihood or impact rises: residual-risk reasoning relies on it.
      if ((i > 0 && rank(v) < rank(row[i - 1])) || (l > 0 && rank(v) < rank(r.risk[l - 1][i]))) {
        return Fail(cells[i].MakeError("risk must not decrease as likelihood or impact grows"));
      }
      row.push_back(v);
    }
    r.risk.push_back(std::move(row));
  }
  SECPROF_ASSIGN_OR_RETURN(auto must, LocatedList(root, "must_mitigate"));
  SECPROF_TRY(NoDuplicates(must, "level"));
  for (const auto& [s, n] : must) SECPROF_TRY(MustBeOneOf(n, s, r.risk_levels, "risk level"));
  r.must_mitigate = Strings(must);
  return Ok();
}

// Every threat (directly, or through its parent for sub-attacks) is countered by a mitigation.
Status Loader::EveryThreatCountered() {
  for (const auto& t : cat_.threats) {
    if (!cat_.MitigationsFor(t.id).empty()) continue;
    const SourceLocation& l = threat_seen_.at(t.id);
    return Fail(ErrorCode::kInvalidInput,
                "threat '" + t.id + "' is not countered by any mitigation in mitigations.yaml", l);
  }
  return Ok();
}

}  // namespace secprof::catalog::internal
