// The lab's JSON (docs/LAB.md "JSON"), the scenario list, and reading a lab JSON back
// (secprof/lab/report.h).
#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "secprof/core/fs.h"
#include "secprof/lab/report.h"

namespace secprof::lab {
namespace {

using ordered_json = nlohmann::ordered_json;

ordered_json InfoJson(const ScenarioInfo& i) {
  return ordered_json{{"id", i.id},
                      {"threat", i.threat},
                      {"phase", i.phase},
                      {"layer", i.layer},
                      {"attacker", i.attacker},
                      {"success", i.success},
                      {"mitigations", i.mitigations},
                      {"controls", i.controls},
                      {"has_negative_control", i.has_negative_control}};
}

ordered_json RecordJson(const RunRecord& r) {
  ordered_json j;
  if (r.ok()) {
    j["outcome"] = OutcomeName(r.measurement.outcome);
  } else {
    j["outcome"] = nullptr;
  }
  j["control"] = r.measurement.control;
  j["reason"] = r.measurement.reason;
  ordered_json ev = ordered_json::array();
  for (const auto& e : r.measurement.evidence)
    ev.push_back({{"kind", e.kind}, {"summary", e.summary}, {"data", e.data}});
  j["evidence"] = ev;
  j["seconds"] = std::round(r.measurement.seconds * 1000) / 1000;
  j["error"] = r.error;
  return j;
}

}  // namespace

Result<ReportFormat> ParseReportFormat(std::string_view s) {
  if (s == "text") return ReportFormat::kText;
  if (s == "json") return ReportFormat::kJson;
  if (s == "html") return ReportFormat::kHtml;
  if (s == "sarif") return ReportFormat::kSarif;
  return Fail(ErrorCode::kInvalidInput,
              "unknown format \"" + std::string(s) + "\" (text, json, html, sarif)");
}

std::string RenderLab(const LabReport& r, ReportFormat f) {
  switch (f) {
    case ReportFormat::kText:
      return RenderLabText(r);
    case ReportFormat::kJson:
      return RenderLabJson(r);
    case ReportFormat::kHtml:
      return RenderLabHtml(r);
    case ReportFormat::kSarif:
      return RenderLabSarif(r);
  }
  return RenderLabText(r);
}

std::string RenderLabJson(const LabReport& r) {
  const MeasuredMatrix& m = r.matrix;
  ordered_json j;
  j["schema"] = "secprof-lab";
  j["schema_version"] = kLabJsonSchemaVersion;
  j["catalog_version"] = r.catalog_version;
  j["seed"] = m.seed;
  j["jobs"] = m.jobs;
  j["negative_controls"] = m.negative_controls;
  j["seconds"] = std::round(m.seconds * 10) / 10;
  j["tokens"] = {{"available", m.tokens_problem.empty()}, {"problem", m.tokens_problem}};
  ordered_json profiles = ordered_json::array();
  for (auto p : m.profiles) profiles.push_back(domain::ProfileName(p));
  j["profiles"] = profiles;
  ordered_json scenarios = ordered_json::array();
  for (const auto& i : r.scenarios) scenarios.push_back(InfoJson(i));
  j["scenarios"] = scenarios;
  ordered_json claimed = ordered_json::array();
  for (const auto& c : r.claimed) {
    claimed.push_back({{"profile", c.profile},
                       {"threat", c.threat},
                       {"claim", ClaimName(c.claim)},
                       {"mitigations", c.mitigations},
                       {"accepted_by", c.accepted_by},
                       {"phases", c.phases},
                       {"layers", c.layers}});
  }
  j["claimed"] = claimed;
  ordered_json cells = ordered_json::array();
  std::map<std::string, int> by_verdict;
  for (const auto& c : r.cells) {
    ordered_json cj;
    cj["scenario"] = c.measured.scenario;
    cj["threat"] = c.measured.threat;
    cj["profile"] = domain::ProfileName(c.measured.profile);
    cj["claim"] = {{"status", ClaimName(c.claim.claim)},
                   {"mitigations", c.claim.mitigations},
                   {"accepted_by", c.claim.accepted_by}};
    cj["measured"] = RecordJson(c.measured.attack);
    if (c.measured.negative) {
      ordered_json n = RecordJson(*c.measured.negative);
      n["status"] = NegativeStatusName(c.negative);
      cj["negative_control"] = n;
    } else {
      cj["negative_control"] = nullptr;
    }
    cj["verdict"] = VerdictName(c.verdict);
    cj["finding"] = c.verdict == Verdict::kFinding;
    cj["defect"] = c.defect;
    ++by_verdict[std::string(VerdictName(c.verdict))];
    cells.push_back(cj);
  }
  j["cells"] = cells;
  ordered_json bv = ordered_json::object();
  for (const auto& [k, n] : by_verdict) bv[k] = n;
  j["summary"] = {{"cells", r.cells.size()},
                  {"findings", r.findings},
                  {"defects", r.defects},
                  {"by_verdict", bv}};
  return j.dump(2) + "\n";
}

std::string RenderScenarioList(bool json) {
  if (json) {
    ordered_json arr = ordered_json::array();
    for (const auto& s : AllScenarios()) arr.push_back(InfoJson(s->info()));
    return ordered_json{{"schema", "secprof-lab-list"}, {"schema_version", 1}, {"scenarios", arr}}
               .dump(2) +
           "\n";
  }
  std::ostringstream out;
  for (const auto& s : AllScenarios()) {
    const ScenarioInfo& i = s->info();
    out << i.id << "  (" << i.threat << ", " << i.phase << ", " << i.layer << ")"
        << (i.has_negative_control ? "  [negative control]" : "") << "\n"
        << "  attacker: " << i.attacker << "\n"
        << "  success:  " << i.success << "\n";
    if (!i.mitigations.empty()) {
      out << "  tests:   ";
      for (const auto& m : i.mitigations) out << " " << m;
      for (const auto& c : i.controls) out << " " << c;
      out << "\n";
    }
  }
  out << AllScenarios().size() << " scenario(s)\n";
  return out.str();
}

std::string RenderScenarioTable() {
  auto cell = [](std::string s) {
    for (size_t p = s.find('|'); p != std::string::npos; p = s.find('|', p + 2)) s.insert(p, "\\");
    return s;
  };
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
    return out;
  };
  std::ostringstream out;
  out << "| Scenario | Threat | Phase / layer | Attacker | Succeeds when | Tests | Negative "
         "control "
         "|\n|---|---|---|---|---|---|---|\n";
  for (const auto& s : AllScenarios()) {
    const ScenarioInfo& i = s->info();
    out << "| `" << i.id << "` | " << i.threat << " | " << i.phase << " / " << i.layer << " | "
        << cell(i.attacker) << " | " << cell(i.success) << " | "
        << cell(join(i.mitigations) + (i.controls.empty() ? "" : "; " + join(i.controls))) << " | "
        << (i.has_negative_control ? "yes" : "no") << " |\n";
  }
  return out.str();
}

// ---- reading back ------------------------------------------------------------------------------

std::vector<LabOutcome> LabResults::For(const std::string& profile,
                                        const std::string& threat) const {
  std::vector<LabOutcome> out;
  auto p = by_profile.find(profile);
  if (p == by_profile.end()) return out;
  for (const auto& [t, v] : p->second) {
    if (t == threat || t.rfind(threat + ".", 0) == 0) out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

Result<LabResults> ReadLabJson(const std::string& path) {
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto bad = [&](const std::string& what) {
    return Fail(ErrorCode::kInvalidInput, path + ": " + what);
  };
  ordered_json j = ordered_json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON document");
  if (j.value("schema", "") != "secprof-lab")
    return bad("field \"schema\": not a secprof lab report (secprof lab run --format json)");
  if (!j.contains("schema_version") || !j["schema_version"].is_number_integer())
    return bad("field \"schema_version\" missing");
  if (j["schema_version"].get<int>() > kLabJsonSchemaVersion)
    return bad("field \"schema_version\": " + j["schema_version"].dump() +
               " is newer than this secprof reads (" + std::to_string(kLabJsonSchemaVersion) + ")");
  if (!j.contains("cells") || !j["cells"].is_array()) return bad("field \"cells\" missing");
  LabResults r;
  r.path = path;
  if (j.contains("seed") && j["seed"].is_number_unsigned()) r.seed = j["seed"].get<uint64_t>();
  size_t i = 0;
  for (const auto& c : j["cells"]) {
    const std::string at = "cells[" + std::to_string(i++) + "]";
    if (!c.is_object()) return bad("field \"" + at + "\" is not an object");
    for (const char* k : {"scenario", "threat", "profile", "verdict"})
      if (!c.contains(k) || !c[k].is_string())
        return bad("field \"" + at + "." + k + "\" missing or not a string");
    if (!c.contains("measured") || !c["measured"].is_object())
      return bad("field \"" + at + ".measured\" missing");
    const auto& m = c["measured"];
    LabOutcome o;
    o.scenario = c["scenario"].get<std::string>();
    o.verdict = c["verdict"].get<std::string>();
    o.outcome = m.contains("outcome") && m["outcome"].is_string() ? m["outcome"].get<std::string>()
                                                                  : "lab-error";
    o.control = m.value("control", "");
    o.reason = m.value("reason", "");
    r.by_profile[c["profile"].get<std::string>()][c["threat"].get<std::string>()].push_back(o);
  }
  return r;
}

std::string SummariseOutcomes(const std::vector<LabOutcome>& v) {
  std::string out;
  for (const auto& o : v) {
    if (!out.empty()) out += "; ";
    out += o.scenario + ": " + o.outcome;
    if (o.outcome == "blocked" && !o.control.empty()) out += " by " + o.control;
    if (o.verdict == "finding") out += " (FINDING)";
    if (o.verdict == "accepted") out += " (accepted, as the draft says)";
  }
  return out.empty() ? "not measured by the lab" : out;
}

}  // namespace secprof::lab
