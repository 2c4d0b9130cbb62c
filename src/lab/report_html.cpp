// The lab's HTML report: one self-contained page (no scripts, no external resources) with the
// matrix as a picture: threats down, profiles across; each cell shows what the catalog claims and
// what each attack measured, by colour AND by a symbol and words, and opens its evidence
// (<details>). Every text from a scenario or the catalog is escaped (secprof/lab/report.h).
#include <iomanip>
#include <sstream>

#include "report_common.h"
#include "secprof/lab/report.h"

namespace secprof::lab {
namespace {

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The CSS class and the symbol of a verdict (colour is never the only signal).
const char* VerdictClass(Verdict v) {
  switch (v) {
    case Verdict::kHolds:
      return "holds";
    case Verdict::kFinding:
      return "finding";
    case Verdict::kAccepted:
      return "accepted";
    case Verdict::kOpen:
      return "open";
    case Verdict::kBlockedUnclaimed:
      return "unclaimed";
    case Verdict::kNotApplicable:
      return "na";
    case Verdict::kNotTestable:
      return "nt";
    case Verdict::kLabError:
      return "error";
  }
  return "nt";
}

const char* VerdictSymbol(Verdict v) {
  switch (v) {
    case Verdict::kHolds:
      return "&#10004;";  // check mark
    case Verdict::kFinding:
      return "&#10008;";  // heavy ballot X
    case Verdict::kAccepted:
      return "&#9888;";  // warning sign
    case Verdict::kOpen:
      return "&#9675;";  // white circle
    case Verdict::kBlockedUnclaimed:
      return "&#10004;";
    case Verdict::kNotApplicable:
      return "&#8211;";  // en dash
    case Verdict::kNotTestable:
      return "?";
    case Verdict::kLabError:
      return "!";
  }
  return "?";
}

constexpr const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a;max-width:90rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table.matrix{border-collapse:collapse;width:100%}
.matrix th,.matrix td{border:1px solid #888;padding:.4rem;vertical-align:top;text-align:left}
.matrix th{background:#eee}
.claim{font-size:.85rem;margin-bottom:.3rem;color:#333}
details{margin:.2rem 0;padding:.2rem .4rem;border-radius:4px;border-left:6px solid #888}
summary{cursor:pointer}
.holds{background:#d9f2dd;border-left-color:#1b7a2e}
.finding{background:#fbd5d5;border-left-color:#b00020;font-weight:bold}
.accepted{background:#fff1c7;border-left-color:#8a6100}
.open{background:#f3e5e5;border-left-color:#7a4a4a}
.unclaimed{background:#e3eefb;border-left-color:#1f4e8c}
.na{background:#f2f2f2;border-left-color:#777}
.nt{background:#f7f7f7;border-left-color:#999;font-style:italic}
.error{background:#ecdcf5;border-left-color:#5e1f87;font-weight:bold}
.ev{font-size:.85rem;margin:.3rem 0 .3rem 1rem}
pre{white-space:pre-wrap;word-break:break-all;font-size:.8rem;background:#fafafa;padding:.3rem}
.legend span{display:inline-block;margin:.2rem .4rem;padding:.1rem .4rem;border-left:6px solid}
.summary{font-size:1.1rem;padding:.5rem;border:2px solid #444;display:inline-block}
)";

void RenderRecord(std::ostringstream& out, const std::string& title, const RunRecord& r) {
  out << "<div class=\"ev\"><b>" << Esc(title) << ":</b> ";
  if (!r.ok()) {
    out << "lab error: " << Esc(r.error) << "</div>\n";
    return;
  }
  const Measurement& m = r.measurement;
  out << Esc(OutcomeName(m.outcome));
  if (!m.control.empty()) out << " by <code>" << Esc(m.control) << "</code>";
  if (!m.reason.empty()) out << ": " << Esc(m.reason);
  out << " <small>(" << std::fixed << std::setprecision(2) << m.seconds << " s)</small>";
  if (!m.evidence.empty()) {
    out << "<ul>";
    for (const auto& e : m.evidence) {
      out << "<li>[" << Esc(e.kind) << "] " << Esc(e.summary);
      if (!e.data.empty()) out << "<pre>" << Esc(e.data) << "</pre>";
      out << "</li>";
    }
    out << "</ul>";
  }
  out << "</div>\n";
}

}  // namespace

std::string RenderLabHtml(const LabReport& r) {
  const MeasuredMatrix& m = r.matrix;
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<title>secprof lab: threats against profiles, measured</title><style>" << kStyle
      << "</style></head><body>\n<h1>secprof lab: each threat attacked in each profile</h1>\n"
      << "<p>Each security profile (SecProf_1 home, SecProf_2 managed home, SecProf_3 industrial, "
         "SecProf_4 advanced industrial) claims to stop some threats. The lab starts a real "
         "domain of things for each profile on this machine and attacks it the way an attacker "
         "would. Each cell shows what the profile claims (top line) and what each attack "
         "achieved; open a result to see its evidence. A <b>finding</b> is a claim that did not "
         "hold.</p>\n";
  out << "<p class=\"summary\">" << r.findings << " finding(s), " << r.defects
      << " lab defect(s) &mdash; " << m.scenarios.size() << " attack(s) &times; "
      << m.profiles.size() << " profile(s), seed " << m.seed << ", " << std::fixed
      << std::setprecision(1) << m.seconds << " s; catalog " << Esc(r.catalog_version) << "</p>\n";
  if (!m.tokens_problem.empty())
    out << "<p>Note: no SoftHSM2 tokens (" << Esc(m.tokens_problem)
        << "); SecProf_3/4 ran with file key stores.</p>\n";
  out << "<p class=\"legend\">";
  for (Verdict v : {Verdict::kHolds, Verdict::kFinding, Verdict::kAccepted, Verdict::kOpen,
                    Verdict::kBlockedUnclaimed, Verdict::kNotApplicable, Verdict::kNotTestable,
                    Verdict::kLabError}) {
    out << "<span class=\"" << VerdictClass(v) << "\">" << VerdictSymbol(v) << " "
        << Esc(VerdictText(v)) << "</span>";
  }
  out << "</p>\n";

  out << "<table class=\"matrix\"><thead><tr><th scope=\"col\">threat</th>";
  for (auto p : m.profiles) out << "<th scope=\"col\">" << domain::ProfileName(p) << "</th>";
  out << "</tr></thead><tbody>\n";
  for (const auto& [tid, tname] : r.threats) {
    out << "<tr><th scope=\"row\">" << Esc(tid) << "<br><small>" << Esc(tname) << "</small></th>";
    for (auto p : m.profiles) {
      const std::string profile = domain::ProfileName(p);
      out << "<td>";
      for (const auto& c : r.claimed) {
        if (c.profile != profile || c.threat != tid) continue;
        out << "<div class=\"claim\">claim: ";
        if (c.claim == Claim::kNotCovered) out << "not covered";
        if (!c.mitigations.empty())
          out << "mitigated by " << Esc(internal::Join(c.mitigations)) << " (at "
              << Esc(internal::Join(c.phases)) << "; " << Esc(internal::Join(c.layers)) << ")";
        if (!c.accepted_by.empty())
          out << (c.mitigations.empty() ? "" : "; ") << "accepted by the draft ("
              << Esc(internal::Join(c.accepted_by)) << ")";
        out << "</div>";
      }
      for (const auto& c : r.cells) {
        if (c.measured.profile != p || c.measured.threat != tid) continue;
        out << "<details class=\"" << VerdictClass(c.verdict) << "\"><summary>"
            << VerdictSymbol(c.verdict) << " " << Esc(c.measured.scenario) << ": "
            << Esc(VerdictText(c.verdict));
        if (c.negative == NegativeStatus::kDefect) out << " &mdash; LAB DEFECT";
        out << "</summary>\n";
        for (const auto& i : r.scenarios) {
          if (i.id != c.measured.scenario) continue;
          out << "<div class=\"ev\"><b>attacker:</b> " << Esc(i.attacker)
              << "<br><b>succeeds when:</b> " << Esc(i.success) << "</div>\n";
        }
        if (!c.claim.mitigations.empty())
          out << "<div class=\"ev\"><b>claimed by:</b> " << Esc(internal::Join(c.claim.mitigations))
              << "</div>";
        RenderRecord(out, "measured", c.measured.attack);
        if (c.measured.negative) {
          RenderRecord(out, "negative control (defence off)", *c.measured.negative);
          out << "<div class=\"ev\">" << Esc(internal::NegativeText(c.negative)) << "</div>";
        }
        out << "</details>\n";
      }
      out << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</tbody></table>\n<p><small>secprof lab report, JSON schema version "
      << kLabJsonSchemaVersion << "; docs/LAB.md explains every scenario.</small></p>\n"
      << "</body></html>\n";
  return out.str();
}

}  // namespace secprof::lab
