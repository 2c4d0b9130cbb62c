// Text (terminal) and Markdown renderings of an assessment.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "secprof/report/report.h"

namespace secprof::report {
namespace {

std::string Join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out.empty() ? "-" : out;
}

// Left-aligns `s` in a column of `w` characters, cutting it with '~' so columns never run together.
std::string Pad(std::string s, size_t w) {
  if (s.size() >= w) s = s.substr(0, w - 2) + "~";
  s.append(w - s.size(), ' ');
  return s;
}

// Groups findings per threat: the row of the summary tables.
struct ThreatRow {
  std::string id, name;
  size_t count = 0;
  std::string risk, residual;
  std::set<std::string> cells;  // "phase/layer"
  std::vector<std::string> missing;
};

std::vector<ThreatRow> Rows(const assess::Assessment& a) {
  std::vector<ThreatRow> rows;
  std::map<std::string, size_t> pos;
  for (const auto& f : a.findings) {
    auto it = pos.find(f.threat);
    if (it == pos.end()) {
      it = pos.emplace(f.threat, rows.size()).first;
      rows.push_back({f.threat, f.threat_name, 0, f.risk, f.residual_risk, {}, f.missing});
    }
    ThreatRow& r = rows[it->second];
    r.count += f.elements.size();
    if (assess::RiskRank(a.risk_matrix, f.risk) > assess::RiskRank(a.risk_matrix, r.risk))
      r.risk = f.risk;
    if (assess::RiskRank(a.risk_matrix, f.residual_risk) >
        assess::RiskRank(a.risk_matrix, r.residual)) {
      r.residual = f.residual_risk;
    }
    r.cells.insert(f.phase + "/" + f.layer);
  }
  return rows;
}

}  // namespace

std::string RenderText(const assess::Assessment& a, const catalog::Catalog& /*cat*/) {
  std::ostringstream o;
  o << "secprof assessment: " << a.model_name << "  (" << a.model_file << ")\n\n";
  o << "PROFILE  " << a.profile.id << " - " << a.profile.name << "\n";
  if (a.profile.decided_by.empty()) {
    o << "  no trigger of a higher profile holds: the home profile is the default\n";
  }
  for (const auto& t : a.profile.decided_by) {
    o << "  because " << t.reason << "  [" << Join(t.conditions, " and ") << "]"
      << (t.source == "project" ? "  (a trigger secprof adds; not the draft's words)" : "") << "\n";
  }
  std::map<std::string, std::vector<const assess::Trigger*>> up;
  for (const auto& t : a.profile.move_up) up[t.profile].push_back(&t);
  for (const auto& [p, ts] : up) {
    o << "  would move to " << p << " if any of:\n";
    for (const auto* t : ts) {
      o << "    - " << t->reason << "  [" << Join(t->conditions, " and ") << "]"
        << (t->source == "project" ? "  (secprof's trigger)" : "") << "\n";
    }
  }
  for (const auto& c : a.standards.conflicts) {
    o << "  NOTE: conflicts with " << c.standard << " " << c.provision << ": " << c.description
      << "\n";
  }

  o << "\nTHREATS  " << a.summary.findings << " findings (" << a.summary.groups
    << " groups of one rule and outcome); must mitigate " << a.summary.must_mitigate
    << ", still after declared mitigations " << a.summary.residual_must_mitigate << "\n";
  o << "  " << Pad("threat", 40) << Pad("n", 5) << Pad("risk", 10) << Pad("residual", 10)
    << "where (phase/layer)\n";
  for (const auto& r : Rows(a)) {
    std::vector<std::string> cells(r.cells.begin(), r.cells.end());
    o << "  " << Pad(r.id + " " + r.name, 40) << Pad(std::to_string(r.count), 5) << Pad(r.risk, 10)
      << Pad(r.residual, 10) << Join(cells) << "\n";
  }

  std::set<std::string> accepted;
  for (const auto& f : a.findings) {
    if (!f.accepted_by.empty()) {
      accepted.insert(f.threat + " at " + f.phase + "/" + f.layer + " (by " + Join(f.accepted_by) +
                      ")");
    }
  }
  if (!accepted.empty()) {
    o << "  accepted by design, as the draft's profile does:\n";
    for (const auto& s : accepted) o << "    " << s << "\n";
  }
  o << "  residual state: " << a.summary.by_state.at(assess::kClosed) << " closed, "
    << a.summary.by_state.at(assess::kReduced) << " reduced, "
    << a.summary.by_state.at(assess::kOpen) << " open, "
    << a.summary.by_state.at(assess::kCannotClose) << " cannot close in " << a.profile.id << "\n";
  for (const auto& f : a.findings) {
    if (f.residual_state != assess::kCannotClose || f.residual_risk == a.risk_matrix.risk_levels[0])
      continue;
    std::vector<std::string> with;
    for (const auto& [id, p] : f.closes_with)
      with.push_back(id + (p.empty() ? "" : " (" + p + ")"));
    o << "    " << f.rule << " on " << f.ElementIds() << ": needs "
      << (with.empty() ? "a mitigation no profile has" : Join(with, " or "))
      << (f.uncountered.empty() ? "" : " - " + f.uncountered) << "\n";
  }
  bool tracked = false;
  for (const auto& f : a.findings) {
    for (const auto& e : f.elements) {
      if (!e.tracking) continue;
      if (!tracked) o << "\nRISK TRACKING  (as of " << a.date << ")\n";
      tracked = true;
      const auto& d = e.tracking->decision;
      o << "  " << Pad(d.status, 15) << f.rule << " on " << e.id << " (residual " << f.residual_risk
        << "): " << d.justification << " - " << d.by << ", " << d.date
        << (d.expires.empty() ? "" : ", expires " + d.expires)
        << (e.tracking->expired ? " [EXPIRED: counts again]" : "")
        << (e.tracking->exempt ? " [not counted by --fail-on]" : "") << "\n";
    }
  }
  if (!a.warnings.empty()) {
    o << "\nWARNINGS  " << a.warnings.size() << " (--strict makes them errors)\n";
    for (const auto& w : a.warnings) {
      o << "  line " << w.where.line << ": " << w.message << " [" << w.kind << "]\n";
    }
  }

  o << "\nGAPS  " << a.profile.id << " requires " << a.gaps.size()
    << " mitigation(s) the model does not declare\n";
  for (const auto& g : a.gaps) {
    o << "  " << Pad(g.mitigation, 34) << Pad(g.highest_risk.empty() ? "-" : g.highest_risk, 10)
      << g.name;
    if (!g.threats.empty()) o << "  (counters " << Join(g.threats) << ")";
    o << "\n";
  }
  if (!a.beyond_profile.empty()) {
    o << "  declared beyond the profile: " << Join(a.beyond_profile) << "\n";
  }

  o << "\nBIA  impact of losing each asset's confidentiality / integrity / availability\n";
  for (const auto& b : a.bia) {
    o << "  " << Pad(b.asset + (b.personal ? " (personal)" : ""), 30)
      << "C=" << Pad(b.confidentiality, 9) << "I=" << Pad(b.integrity, 9)
      << "A=" << Pad(b.availability, 9) << "residual risk "
      << (b.highest_residual_risk.empty() ? "-" : b.highest_residual_risk) << "\n";
  }
  o << "\nPIA  where personal data is exposed\n";
  if (a.pia.empty()) o << "  no personal data in the model\n";
  for (const auto& x : a.pia) {
    o << "  [" << x.kind << "] " << x.description;
    if (!x.missing.empty()) o << "; missing " << Join(x.missing);
    o << "\n";
  }
  int met = 0;
  for (const auto& p : a.standards.etsi_en_303_645) met += p.met;
  o << "\nSTANDARDS  ETSI EN 303 645 provisions addressed: " << met << " of "
    << a.standards.etsi_en_303_645.size() << "; OWASP ISVS " << a.standards.owasp_isvs_level
    << "; IEC 62443-4-2 " << a.standards.iec_62443_4_2_sl << "\n";
  return o.str();
}

std::string RenderMarkdown(const assess::Assessment& a, const catalog::Catalog& /*cat*/) {
  std::ostringstream o;
  o << "# Security assessment: " << a.model_name << "\n\n";
  if (!a.model_description.empty()) o << a.model_description << "\n\n";
  o << "Model `" << a.model_file << "`, catalog " << a.catalog_version << ".\n\n";
  o << "## Profile: " << a.profile.id << " (" << a.profile.name << ")\n\n";
  if (a.profile.decided_by.empty())
    o << "- No trigger of a higher profile holds (default profile).\n";
  for (const auto& t : a.profile.decided_by) {
    o << "- **" << t.reason << "**: `" << Join(t.conditions, "` and `") << "`"
      << (t.source == "project" ? " (secprof's trigger, not the draft's)" : "") << "\n";
  }
  if (!a.profile.move_up.empty()) {
    o << "\nWhat would move it up:\n\n";
    for (const auto& t : a.profile.move_up) {
      o << "- to " << t.profile << ": " << t.reason << " (`" << Join(t.conditions, "` and `")
        << "`)\n";
    }
  }
  if (!a.standards.conflicts.empty()) {
    o << "\n> **Accepted by the draft, rejected by today's baselines.**\n";
    for (const auto& c : a.standards.conflicts) {
      o << "> - " << c.standard << " " << c.provision << ": " << c.description << "\n";
    }
  }
  o << "\n## Threats\n\n";
  o << "| Threat | Phase | Layer | Element | Likelihood | Impact | Risk | Residual | Missing |\n"
       "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& f : a.findings) {
    o << "| " << f.threat << " " << f.threat_name << " | " << f.phase << " | " << f.layer << " | `"
      << f.ElementIds("`, `") << "` | " << f.likelihood << " | " << f.impact << " | " << f.risk
      << " | " << f.residual_risk << " (" << f.residual_state << ") | " << Join(f.missing)
      << (f.accepted_by.empty() ? "" : "; accepted by " + Join(f.accepted_by)) << " |\n";
  }
  o << "\n### Why each threat applies\n\n";
  for (const auto& f : a.findings) {
    o << "- **" << f.threat << "** (`" << f.rule << "`, `" << f.ElementIds("`, `")
      << "`): " << f.WhyForAll() << "\n";
  }
  bool tracked = false;
  for (const auto& f : a.findings) {
    for (const auto& e : f.elements) {
      if (!e.tracking) continue;
      if (!tracked) o << "\n## Risk tracking (as of " << a.date << ")\n\n";
      tracked = true;
      const auto& d = e.tracking->decision;
      o << "- `" << f.rule << "` on `" << e.id << "`: **" << d.status << "** by " << d.by << " on "
        << d.date << (d.expires.empty() ? "" : ", expires " + d.expires)
        << (e.tracking->expired ? " (**expired**: counts again)" : "") << ": " << d.justification
        << "\n";
    }
  }
  if (!a.warnings.empty()) {
    o << "\n## Warnings\n\n";
    for (const auto& w : a.warnings) {
      o << "- line " << w.where.line << ": " << w.message << " (`" << w.kind << "`)\n";
    }
  }
  o << "\n## Gaps\n\n";
  if (a.gaps.empty()) o << "None: every mitigation the profile requires is declared.\n";
  for (const auto& g : a.gaps) {
    o << "- `" << g.mitigation << "` " << g.name << " (" << g.building_block << ")";
    if (!g.threats.empty())
      o << ": leaves " << Join(g.threats) << " open, up to " << g.highest_risk << " risk";
    o << "\n";
  }
  o << "\n## Business impact analysis\n\n| Asset | C | I | A | Personal | Threatened | Residual |\n"
       "|---|---|---|---|---|---|---|\n";
  for (const auto& b : a.bia) {
    std::string th;
    for (const auto& [p, ts] : b.threatened) th += (th.empty() ? "" : "; ") + p + ": " + Join(ts);
    o << "| " << b.asset << " | " << b.confidentiality << " | " << b.integrity << " | "
      << b.availability << " | " << (b.personal ? "yes" : "no") << " | " << (th.empty() ? "-" : th)
      << " | " << (b.highest_residual_risk.empty() ? "-" : b.highest_residual_risk) << " |\n";
  }
  o << "\n## Privacy impact analysis\n\n";
  if (a.pia.empty()) o << "No personal data in the model.\n";
  for (const auto& x : a.pia) {
    o << "- **" << x.kind << "** " << x.description << ". Required: " << Join(x.required)
      << "; missing: " << Join(x.missing) << "\n";
  }
  o << "\n## Standards\n\n- OWASP ISVS " << a.standards.owasp_isvs_level << ", IEC 62443-4-2 "
    << a.standards.iec_62443_4_2_sl << "\n- ETSI EN 303 645:";
  for (const auto& p : a.standards.etsi_en_303_645) {
    o << " " << p.provision << (p.met ? " (met)" : " (missed)") << ";";
  }
  o << "\n";
  return o.str();
}

}  // namespace secprof::report
