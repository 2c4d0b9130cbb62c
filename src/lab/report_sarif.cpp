// The lab's SARIF 2.1.0 report: one result per finding, whose rule is the scenario
// (secprof/lab/report.h). Lab defects are tool execution notifications, not results: they say the
// lab could not confirm a cell, not that the system under test is weak.
#include <nlohmann/json.hpp>

#include "report_common.h"
#include "secprof/lab/report.h"

namespace secprof::lab {

std::string RenderLabSarif(const LabReport& r) {
  using ordered_json = nlohmann::ordered_json;
  ordered_json rules = ordered_json::array();
  for (const auto& i : r.scenarios) {
    rules.push_back({{"id", i.id},
                     {"name", i.id},
                     {"shortDescription", {{"text", i.threat + ": an attacker who " + i.attacker}}},
                     {"fullDescription", {{"text", "Succeeds when " + i.success}}},
                     {"defaultConfiguration", {{"level", "error"}}},
                     {"properties",
                      {{"threat", i.threat},
                       {"phase", i.phase},
                       {"layer", i.layer},
                       {"mitigations", i.mitigations},
                       {"controls", i.controls}}}});
  }
  ordered_json results = ordered_json::array();
  ordered_json notes = ordered_json::array();
  for (const auto& c : r.cells) {
    const std::string profile = domain::ProfileName(c.measured.profile);
    const Measurement& m = c.measured.attack.measurement;
    if (c.verdict == Verdict::kFinding) {
      ordered_json evidence = ordered_json::array();
      for (const auto& e : m.evidence)
        evidence.push_back({{"kind", e.kind}, {"summary", e.summary}, {"data", e.data}});
      results.push_back(
          {{"ruleId", c.measured.scenario},
           {"level", "error"},
           {"message",
            {{"text", profile + " claims " + c.measured.threat + " mitigated by " +
                          internal::Join(c.claim.mitigations) + ", but the attack " +
                          c.measured.scenario + " succeeded: " + m.reason}}},
           {"locations",
            {{{"physicalLocation", {{"artifactLocation", {{"uri", "catalog/profiles.yaml"}}}}},
              {"logicalLocations",
               {{{"name", profile + "/" + c.measured.threat},
                 {"fullyQualifiedName",
                  profile + "/" + c.measured.threat + "/" + c.measured.scenario},
                 {"kind", "module"}}}}}}},
           {"partialFingerprints", {{"secprofLabCell/v1", profile + "/" + c.measured.scenario}}},
           {"properties",
            {{"profile", profile},
             {"threat", c.measured.threat},
             {"claimed_by", c.claim.mitigations},
             {"reason", m.reason},
             {"evidence", evidence}}}});
    }
    if (c.defect) {
      std::string why = !c.measured.attack.ok() ? "lab error: " + c.measured.attack.error
                                                : internal::NegativeText(c.negative);
      notes.push_back({{"level", "error"},
                       {"message", {{"text", profile + " " + c.measured.scenario + ": " + why}}},
                       {"descriptor", {{"id", c.measured.scenario}}}});
    }
  }
  ordered_json run = {
      {"tool",
       {{"driver",
         {{"name", "secprof-lab"},
          {"informationUri",
           "https://datatracker.ietf.org/doc/draft-garcia-security-mitigations-and-profiles/"},
          {"version", r.catalog_version},
          {"rules", rules}}}}},
      {"invocations",
       {{{"executionSuccessful", r.defects == 0}, {"toolExecutionNotifications", notes}}}},
      {"results", results},
      {"properties", {{"seed", r.matrix.seed}, {"findings", r.findings}, {"defects", r.defects}}}};
  ordered_json doc = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                      {"version", "2.1.0"},
                      {"runs", ordered_json::array({run})}};
  return doc.dump(2) + "\n";
}

}  // namespace secprof::lab
