// SARIF 2.1.0 (OASIS) rendering: one result per threat finding and per gap, located in the model.
#include <map>
#include <nlohmann/json.hpp>

#include "secprof/report/report.h"

namespace secprof::report {
namespace {

using nlohmann::ordered_json;

// SARIF result.level from a residual risk (§3.27.10: error | warning | note).
std::string Level(const assess::Assessment& a, const std::string& risk) {
  int r = assess::RiskRank(a.risk_matrix, risk);
  int top = static_cast<int>(a.risk_matrix.risk_levels.size()) - 1;
  if (r >= top) return "error";
  if (r >= 1) return "warning";
  return "note";
}

ordered_json Location(const assess::Assessment& a, int line, int column) {
  ordered_json region = {{"startLine", std::max(1, line)}};
  if (column > 0) region["startColumn"] = column;
  return ordered_json::array(
      {{{"physicalLocation",
         {{"artifactLocation", {{"uri", a.model_file}}}, {"region", region}}}}});
}

}  // namespace

std::string RenderSarif(const assess::Assessment& a, const catalog::Catalog& cat) {
  ordered_json rules = ordered_json::array();
  std::map<std::string, int> rule_index;
  auto add_rule = [&](const std::string& id, const std::string& name, const std::string& short_text,
                      const std::string& full_text, const std::vector<std::string>& tags) {
    if (rule_index.count(id)) return;
    rule_index[id] = static_cast<int>(rules.size());
    rules.push_back({{"id", id},
                     {"name", name},
                     {"shortDescription", {{"text", short_text}}},
                     {"fullDescription", {{"text", full_text}}},
                     {"properties", {{"tags", tags}}}});
  };
  ordered_json results = ordered_json::array();
  // One result per finding: per element of each finding group, so that each location carries
  // its own risk-tracking suppression.
  for (const auto& f : a.findings) {
    const catalog::Threat* t = cat.FindThreat(f.threat);
    add_rule(f.rule, f.threat + " " + f.threat_name, f.threat + " " + f.threat_name,
             t ? t->description : f.threat_name, {"security", f.threat, f.phase, f.layer});
    std::string missing;
    if (!f.missing.empty()) {
      missing = " Missing:";
      for (const auto& m : f.missing) missing += " " + m;
      missing += ".";
    }
    for (const auto& e : f.elements) {
      const std::string text = f.threat + " " + f.threat_name + " (" + f.phase + ", " + f.layer +
                               "): " + f.WhyFor(e) + " Risk " + f.risk + ", residual " +
                               f.residual_risk + "." + missing;
      ordered_json result = {{"ruleId", f.rule},
                             {"ruleIndex", rule_index[f.rule]},
                             {"level", Level(a, f.residual_risk)},
                             {"message", {{"text", text}}},
                             {"locations", Location(a, e.line, e.column)},
                             {"properties",
                              {{"threat", f.threat},
                               {"element", e.id},
                               {"risk", f.risk},
                               {"residual_risk", f.residual_risk},
                               {"residual_state", f.residual_state}}}};
      // Risk tracking that exempts the finding is an external, accepted suppression (SARIF
      // 2.1.0 §3.35); an expired or non-exempting decision is only a property.
      if (e.tracking) {
        const auto& d = e.tracking->decision;
        result["properties"]["tracking"] = {{"status", d.status},
                                            {"by", d.by},
                                            {"date", d.date},
                                            {"expires", d.expires},
                                            {"expired", e.tracking->expired}};
        if (e.tracking->exempt) {
          result["suppressions"] =
              ordered_json::array({{{"kind", "external"},
                                    {"status", "accepted"},
                                    {"justification", d.status + " by " + d.by + " on " + d.date +
                                                          ": " + d.justification}}});
        }
      }
      results.push_back(std::move(result));
    }
  }
  for (const auto& w : a.warnings) {
    const std::string id = "warning." + w.kind;
    add_rule(id, "Consistency warning: " + w.kind, "Consistency warning: " + w.kind,
             "The model contradicts itself or its risk tracking is stale (docs/ASSESS.md, "
             "Warnings).",
             {"consistency", w.kind});
    results.push_back({{"ruleId", id},
                       {"ruleIndex", rule_index[id]},
                       {"level", "warning"},
                       {"message", {{"text", w.message}}},
                       {"locations", Location(a, w.where.line, w.where.column)}});
  }
  for (const auto& g : a.gaps) {
    const std::string id = "gap." + g.mitigation;
    const catalog::Mitigation* m = cat.FindMitigation(g.mitigation);
    add_rule(id, "Missing " + g.mitigation,
             "Mitigation required by " + a.profile.id + ": " + g.name, m ? m->description : g.name,
             {"security", "gap", g.building_block});
    std::string text = a.profile.id + " requires " + g.mitigation + " (" + g.name +
                       "), which the model does not declare.";
    if (!g.threats.empty()) {
      text += " It would counter:";
      for (const auto& t : g.threats) text += " " + t;
      text += ".";
    }
    results.push_back(
        {{"ruleId", id},
         {"ruleIndex", rule_index[id]},
         {"level", g.highest_risk.empty() ? "note" : Level(a, g.highest_risk)},
         {"message", {{"text", text}}},
         {"locations", Location(a, a.mitigations_where.line, a.mitigations_where.column)}});
  }
  ordered_json sarif = {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs", ordered_json::array({{{"tool",
                                      {{"driver",
                                        {{"name", "secprof"},
                                         {"version", "0.1.0"},
                                         {"informationUri",
                                          "https://datatracker.ietf.org/doc/"
                                          "draft-garcia-security-mitigations-and-profiles/"},
                                         {"rules", rules}}}}},
                                     {"results", results}}})}};
  // Replace, not throw: text from outside the model (its file name) may be any byte string.
  return sarif.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace secprof::report
