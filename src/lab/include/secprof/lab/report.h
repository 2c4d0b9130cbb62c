// secprof/lab/report.h — the lab's reports: text (the measured matrix next to the claimed one),
// JSON (documented and stable, docs/LAB.md "JSON"), SARIF 2.1.0 (one result per finding), and a
// self-contained HTML page; the scenario list (`secprof lab list`); and reading a lab JSON back
// (`secprof assess --lab FILE`).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/lab/claims.h"

namespace secprof::lab {

// The lab JSON's schema version: bumped when a field changes meaning or goes away (adding a field
// does not bump it). The document says {"schema": "secprof-lab", "schema_version": N, ...}.
inline constexpr int kLabJsonSchemaVersion = 1;

enum class ReportFormat { kText, kJson, kHtml, kSarif };
Result<ReportFormat> ParseReportFormat(std::string_view s);  // text|json|html|sarif

std::string RenderLabText(const LabReport& r);
std::string RenderLabJson(const LabReport& r);
std::string RenderLabSarif(const LabReport& r);
std::string RenderLabHtml(const LabReport& r);
std::string RenderLab(const LabReport& r, ReportFormat f);

// Every scenario's metadata (`secprof lab list`): text table or JSON
// {"schema":"secprof-lab-list","schema_version":1,"scenarios":[{id,threat,phase,layer,attacker,
// success,mitigations,controls,has_negative_control}]}.
std::string RenderScenarioList(bool json);
// The same as a Markdown table (docs/LAB.md's scenario table is this output).
std::string RenderScenarioTable();

// ---- Reading a lab JSON back (secprof assess --lab) -------------------------------------------

struct LabOutcome {
  std::string scenario;
  std::string outcome;  // OutcomeName, or "lab-error"
  std::string verdict;  // VerdictName
  std::string control;  // when blocked
  std::string reason;
};

struct LabResults {
  std::string path;
  uint64_t seed = 0;
  // profile -> threat -> outcomes of the scenarios of that threat (and of its sub-attacks under
  // their own ids), in the file's order.
  std::map<std::string, std::map<std::string, std::vector<LabOutcome>>> by_profile;
  // The outcomes for a finding's threat in a profile: its own and its sub-attacks' ("T7" gets
  // T7.1..T7.4). Empty when the lab did not measure it.
  std::vector<LabOutcome> For(const std::string& profile, const std::string& threat) const;
};

// Reads a `secprof lab run --format json` document; kInvalidInput naming the file and the field
// for anything else (another schema, a newer schema_version, a missing field).
Result<LabResults> ReadLabJson(const std::string& path);
// One line summarising outcomes ("blocked by kdc.admission (lab.substitute); succeeded ...").
std::string SummariseOutcomes(const std::vector<LabOutcome>& v);

// `secprof assess --lab FILE`: adds the lab's measured outcomes to an assessment report already
// rendered in `format` (text|md|markdown|json|html|sarif), for the model's `profile`:
// `finding_threats` are the threats of its findings (text, md and html list each once).
//   json   each finding (an element of "threats", by its "id") gains "lab": {outcomes:
//          [{scenario, outcome, verdict, control, reason}], summary}; the document gains
//          "lab": {file, seed, profile};
//   sarif  each result whose properties name a threat gains properties.lab (the summary);
//   html   a section before </body>; text and md: a section at the end (one line per threat).
// The report's own content is left as it was (additive only).
std::string AnnotateAssessReport(const std::string& rendered, std::string_view format,
                                 const std::string& profile,
                                 const std::vector<std::string>& finding_threats,
                                 const LabResults& lab);

}  // namespace secprof::lab
