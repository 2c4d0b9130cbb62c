// JSON rendering: the stable schema "secprof-assessment/3" (docs/ASSESS.md).
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "secprof/report/report.h"

namespace secprof::report {
namespace {

using nlohmann::ordered_json;

ordered_json TriggerJson(const assess::Trigger& t) {
  return {{"profile", t.profile},
          {"reason", t.reason},
          {"conditions", t.conditions},
          {"holds", t.holds},
          {"source", t.source}};
}

ordered_json Triggers(const std::vector<assess::Trigger>& ts) {
  ordered_json out = ordered_json::array();
  for (const auto& t : ts) out.push_back(TriggerJson(t));
  return out;
}

// Dumps `j` as nlohmann's dump(2) would at nesting depth `depth` (its lines indented by 2 * depth
// more spaces). Strings never hold a raw line break (dump escapes it), so indenting after every
// '\n' is exact. Bad UTF-8 is replaced, not thrown on: text from outside the model (its file
// name) may be any byte string.
void DumpAt(const ordered_json& j, int depth, std::string& out) {
  const std::string text = j.dump(2, ' ', false, ordered_json::error_handler_t::replace);
  const std::string pad(static_cast<size_t>(2 * depth), ' ');
  out.reserve(out.size() + text.size() + text.size() / 8);
  out += pad;
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
}

// A placeholder value for the top-level "threats" key, which the streamed array replaces.
constexpr const char* kThreatsSlot = "@secprof:threats-stream@";
// The same for each group's "elements".
constexpr const char* kElementsSlot = "@secprof:elements-stream@";

ordered_json TrackingJson(const assess::Tracking& t) {
  const auto& d = t.decision;
  return {{"status", d.status},   {"justification", d.justification},
          {"by", d.by},           {"date", d.date},
          {"expires", d.expires}, {"expired", t.expired},
          {"exempt", t.exempt},   {"line", d.where.line}};
}

// One element of a finding group, on one line: {"id": ..., "line": ..., "column": ...,
// "tracking": ...}.
void ElementLine(const assess::FindingElement& e, std::string& out) {
  out += "{\"id\": ";
  out += ordered_json(e.id).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  out += ", \"line\": " + std::to_string(e.line) + ", \"column\": " + std::to_string(e.column) +
         ", \"tracking\": ";
  out +=
      e.tracking
          ? TrackingJson(*e.tracking).dump(-1, ' ', false, ordered_json::error_handler_t::replace)
          : "null";
  out += "}";
}

ordered_json ClosesWith(const assess::Finding& f) {
  ordered_json out = ordered_json::array();
  for (const auto& [id, profile] : f.closes_with) {
    out.push_back({{"mitigation", id}, {"profile", profile}});
  }
  return out;
}

}  // namespace

// The findings array is streamed to `out`: each finding group becomes a small JSON tree (its
// elements written one per line, without a tree), is written, and is freed, so the renderer holds
// neither a tree of all findings nor the whole text (docs/PERFORMANCE.md).
void WriteJson(const assess::Assessment& a, std::ostream& out) {
  ordered_json j;
  j["schema"] = "secprof-assessment/3";
  j["tool"] = {{"name", "secprof"}, {"version", "0.1.0"}};
  j["catalog_version"] = a.catalog_version;
  j["date"] = a.date;
  j["model"] = {
      {"name", a.model_name}, {"file", a.model_file}, {"description", a.model_description}};
  j["facts"] = a.system_facts;
  j["profile"] = {{"id", a.profile.id},
                  {"name", a.profile.name},
                  {"decided_by", Triggers(a.profile.decided_by)},
                  {"move_up", Triggers(a.profile.move_up)},
                  {"held_lower", Triggers(a.profile.held_lower)}};
  auto finding = [](const assess::Finding& f) -> ordered_json {
    return {{"id", f.threat},
            {"name", f.threat_name},
            {"addition", f.addition},
            {"rule", f.rule},
            {"phase", f.phase},
            {"layer", f.layer},
            {"scope", f.scope},
            {"count", f.elements.size()},
            {"elements", kElementsSlot},
            {"why", f.why},
            {"likelihood", f.likelihood},
            {"impact", f.impact},
            {"impact_fallback", f.impact_fallback},
            {"risk", f.risk},
            {"must_mitigate", f.must_mitigate},
            {"mitigated_by", f.mitigated_by},
            {"required", f.required},
            {"missing", f.missing},
            {"accepted_by", f.accepted_by},
            {"residual_likelihood", f.residual_likelihood},
            {"residual_risk", f.residual_risk},
            {"residual_must_mitigate", f.residual_must_mitigate},
            {"residual_state", f.residual_state},
            {"closes_with", ClosesWith(f)},
            {"contradicted", f.contradicted},
            {"uncountered", f.uncountered}};
  };
  j["threats"] = kThreatsSlot;
  ordered_json warnings = ordered_json::array();
  for (const auto& w : a.warnings) {
    warnings.push_back({{"kind", w.kind},
                        {"message", w.message},
                        {"line", w.where.line},
                        {"column", w.where.column}});
  }
  j["warnings"] = std::move(warnings);
  ordered_json gaps = ordered_json::array();
  for (const auto& g : a.gaps) {
    gaps.push_back({{"mitigation", g.mitigation},
                    {"name", g.name},
                    {"building_block", g.building_block},
                    {"threats", g.threats},
                    {"highest_risk", g.highest_risk},
                    {"etsi_en_303_645", g.etsi}});
  }
  j["gaps"] = std::move(gaps);
  j["declared_mitigations"] = a.declared;
  j["beyond_profile"] = a.beyond_profile;
  ordered_json bia = ordered_json::array();
  for (const auto& b : a.bia) {
    bia.push_back({{"asset", b.asset},
                   {"description", b.description},
                   {"confidentiality", b.confidentiality},
                   {"integrity", b.integrity},
                   {"availability", b.availability},
                   {"personal", b.personal},
                   {"threatened", b.threatened},
                   {"highest_residual_risk", b.highest_residual_risk}});
  }
  j["bia"] = std::move(bia);
  ordered_json pia = ordered_json::array();
  for (const auto& x : a.pia) {
    pia.push_back({{"asset", x.asset},
                   {"kind", x.kind},
                   {"element", x.element},
                   {"description", x.description},
                   {"required", x.required},
                   {"missing", x.missing}});
  }
  j["pia"] = std::move(pia);
  ordered_json prov = ordered_json::array();
  for (const auto& p : a.standards.etsi_en_303_645) {
    prov.push_back({{"provision", p.provision}, {"met", p.met}, {"by", p.by}});
  }
  ordered_json conflicts = ordered_json::array();
  for (const auto& c : a.standards.conflicts) {
    conflicts.push_back(
        {{"standard", c.standard}, {"provision", c.provision}, {"description", c.description}});
  }
  j["standards"] = {{"etsi_en_303_645", std::move(prov)},
                    {"conflicts", std::move(conflicts)},
                    {"owasp_isvs_level", a.standards.owasp_isvs_level},
                    {"iec_62443_4_2_sl", a.standards.iec_62443_4_2_sl},
                    {"nist_ir_8259a", a.standards.nist_ir_8259a}};
  j["risk_matrix"] = {{"likelihood_levels", a.risk_matrix.likelihood_levels},
                      {"impact_levels", a.risk_matrix.impact_levels},
                      {"risk_levels", a.risk_matrix.risk_levels},
                      {"risk", a.risk_matrix.risk},
                      {"must_mitigate", a.risk_matrix.must_mitigate}};
  j["summary"] = {{"findings", a.summary.findings},
                  {"groups", a.summary.groups},
                  {"by_risk", a.summary.by_risk},
                  {"by_residual_risk", a.summary.by_residual_risk},
                  {"must_mitigate", a.summary.must_mitigate},
                  {"residual_must_mitigate", a.summary.residual_must_mitigate},
                  {"highest_risk", a.summary.highest_risk},
                  {"highest_residual_risk", a.summary.highest_residual_risk},
                  {"by_residual_state", a.summary.by_state},
                  {"by_tracking", a.summary.by_tracking},
                  {"gaps", a.gaps.size()}};
  std::string head;
  DumpAt(j, 0, head);
  // The top-level key is the only one indented by exactly two spaces after a line break.
  const std::string slot = std::string("\n  \"threats\": \"") + kThreatsSlot + "\"";
  const size_t at = head.find(slot);
  out.write(head.data(), static_cast<std::streamsize>(at));
  out << "\n  \"threats\": ";
  if (a.findings.empty()) {
    out << "[]";
  } else {
    out << "[\n";
    const std::string eslot = std::string("\"") + kElementsSlot + "\"";
    std::string text, line;
    for (size_t i = 0; i < a.findings.size(); ++i) {
      const assess::Finding& f = a.findings[i];
      text.clear();
      if (i) text += ",\n";
      DumpAt(finding(f), 2, text);
      const size_t e = text.find(eslot);
      out.write(text.data(), static_cast<std::streamsize>(e));
      out << "[";
      for (size_t k = 0; k < f.elements.size(); ++k) {
        line.assign(k ? ",\n        " : "\n        ");
        ElementLine(f.elements[k], line);
        out << line;
      }
      out << "\n      ]";
      out.write(text.data() + e + eslot.size(),
                static_cast<std::streamsize>(text.size() - e - eslot.size()));
    }
    out << "\n  ]";
  }
  out.write(head.data() + at + slot.size(),
            static_cast<std::streamsize>(head.size() - at - slot.size()));
  out << "\n";
}

std::string RenderJson(const assess::Assessment& a) {
  std::ostringstream out;
  WriteJson(a, out);
  return std::move(out).str();
}

Result<Format> ParseFormat(const std::string& name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  if (name == "md" || name == "markdown") return Format::kMarkdown;
  if (name == "html") return Format::kHtml;
  if (name == "sarif") return Format::kSarif;
  return Fail(ErrorCode::kInvalidInput,
              "unknown format '" + name + "' (choose text, json, md, html or sarif)");
}

std::string Render(const assess::Assessment& a, const catalog::Catalog& cat, Format format,
                   const model::Model* model) {
  switch (format) {
    case Format::kText:
      return RenderText(a, cat);
    case Format::kJson:
      return RenderJson(a);
    case Format::kMarkdown:
      return RenderMarkdown(a, cat);
    case Format::kHtml:
      return RenderHtml(a, cat, model);
    case Format::kSarif:
      return RenderSarif(a, cat);
  }
  return RenderJson(a);
}

}  // namespace secprof::report
