// `secprof assess --lab FILE`: the lab's measured outcomes added to an assessment report
// (secprof/lab/report.h, AnnotateAssessReport).
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "secprof/lab/report.h"

namespace secprof::lab {
namespace {

using ordered_json = nlohmann::ordered_json;

std::string Esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// The distinct threats of the findings, in first-seen order.
std::vector<std::string> Distinct(const std::vector<std::string>& threats) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& t : threats)
    if (seen.insert(t).second) out.push_back(t);
  return out;
}

}  // namespace

std::string AnnotateAssessReport(const std::string& rendered, std::string_view format,
                                 const std::string& profile,
                                 const std::vector<std::string>& finding_threats,
                                 const LabResults& lab) {
  if (format == "json") {
    ordered_json j = ordered_json::parse(rendered, nullptr, false);
    if (j.is_discarded() || !j.contains("threats") || !j["threats"].is_array()) return rendered;
    for (auto& finding : j["threats"]) {
      if (!finding.contains("id") || !finding["id"].is_string()) continue;
      auto outcomes = lab.For(profile, finding["id"].get<std::string>());
      ordered_json arr = ordered_json::array();
      for (const auto& o : outcomes) {
        arr.push_back({{"scenario", o.scenario},
                       {"outcome", o.outcome},
                       {"verdict", o.verdict},
                       {"control", o.control},
                       {"reason", o.reason}});
      }
      finding["lab"] = {{"outcomes", arr}, {"summary", SummariseOutcomes(outcomes)}};
    }
    j["lab"] = {{"file", lab.path}, {"seed", lab.seed}, {"profile", profile}};
    return j.dump(2) + "\n";
  }
  if (format == "sarif") {
    ordered_json j = ordered_json::parse(rendered, nullptr, false);
    if (j.is_discarded() || !j.contains("runs")) return rendered;
    for (auto& run : j["runs"]) {
      if (!run.contains("results")) continue;
      for (auto& r : run["results"]) {
        if (!r.contains("properties") || !r["properties"].contains("threat") ||
            !r["properties"]["threat"].is_string())
          continue;
        r["properties"]["lab"] =
            SummariseOutcomes(lab.For(profile, r["properties"]["threat"].get<std::string>()));
      }
    }
    return j.dump(2) + "\n";
  }
  const std::vector<std::string> threats = Distinct(finding_threats);
  std::ostringstream s;
  if (format == "html") {
    s << "<section id=\"lab\"><h2>Measured by the lab (" << Esc(profile) << ")</h2>"
      << "<p>From " << Esc(lab.path) << " (seed " << lab.seed
      << "): what each attack on the finding's threat achieved against a live " << Esc(profile)
      << " domain.</p><table><thead><tr><th>threat</th><th>lab</th></tr></thead><tbody>";
    for (const auto& t : threats)
      s << "<tr><td>" << Esc(t) << "</td><td>" << Esc(SummariseOutcomes(lab.For(profile, t)))
        << "</td></tr>";
    s << "</tbody></table></section>\n";
    std::string out = rendered;
    const auto at = out.rfind("</body>");
    out.insert(at == std::string::npos ? out.size() : at, s.str());
    return out;
  }
  const bool md = format == "md" || format == "markdown";
  s << (md ? "\n## Measured by the lab (" : "\nMeasured by the lab (") << profile << ", "
    << lab.path << ", seed " << lab.seed << ")\n";
  if (md) s << "\n| Threat | Lab |\n|---|---|\n";
  for (const auto& t : threats) {
    if (md) {
      s << "| " << t << " | " << SummariseOutcomes(lab.For(profile, t)) << " |\n";
    } else {
      s << "  " << t << ": " << SummariseOutcomes(lab.For(profile, t)) << "\n";
    }
  }
  return rendered + s.str();
}

}  // namespace secprof::lab
