// HTML rendering: one self-contained file (inline CSS and SVG; no script, no external resource),
// written for a reader who has not read the draft.
#include <map>
#include <set>
#include <sstream>

#include "html_parts.h"
#include "palette.h"
#include "secprof/report/report.h"
#include "utf8.h"

namespace secprof::report {

// HTML-escaped and valid UTF-8 (utf8.h), so that no input can break the markup or the encoding.
std::string Esc(const std::string& raw) {
  const std::string s = SafeUtf8(raw);
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "-" : out;
}

// A level as a badge: its name in kInk on its tint (palette.h), so the level reads without colour.
std::string Badge(const assess::Assessment& a, const std::string& level) {
  return "<span class=\"badge\" style=\"background:" + LevelTint(a.risk_matrix.risk_levels, level) +
         ";color:" + kInk + "\">" + Esc(level.empty() ? "-" : level) + "</span>";
}

// "<code>M.app.dtls</code> DTLS end to end" for each id, or "-".
std::string MitigationList(const catalog::Catalog& cat, const std::vector<std::string>& ids) {
  if (ids.empty()) return "-";
  std::string out;
  for (const auto& id : ids) {
    const catalog::Mitigation* m = cat.FindMitigation(id);
    out += (out.empty() ? "" : "<br>") + ("<code>" + Esc(id) + "</code>") +
           (m ? " " + Esc(m->name) : std::string());
  }
  return out;
}

// "5.5-1 Best-practice cryptography to communicate securely" (catalog/standards.yaml).
std::string Provision(const catalog::Catalog& cat, const std::string& id) {
  const catalog::StandardItem* p = cat.standards_list.FindEtsi(id);
  return "<strong>" + Esc(id) + "</strong>" + (p ? " " + Esc(p->title) : std::string());
}

// The missing mitigations that would do most, best first: by the highest residual risk they
// leave open, then by how many findings list them as missing, then by id. At most `limit`.
std::string TopActions(const assess::Assessment& a, const catalog::Catalog& cat, size_t limit) {
  std::map<std::string, int> lowers;
  for (const auto& f : a.findings) {
    for (const auto& m : f.missing) lowers[m] += static_cast<int>(f.elements.size());
  }
  std::vector<const assess::Gap*> gaps;
  for (const auto& g : a.gaps) gaps.push_back(&g);
  std::sort(gaps.begin(), gaps.end(), [&](const assess::Gap* x, const assess::Gap* y) {
    const int rx = assess::RiskRank(a.risk_matrix, x->highest_risk);
    const int ry = assess::RiskRank(a.risk_matrix, y->highest_risk);
    if (rx != ry) return rx > ry;
    if (lowers[x->mitigation] != lowers[y->mitigation]) {
      return lowers[x->mitigation] > lowers[y->mitigation];
    }
    return x->mitigation < y->mitigation;
  });
  std::ostringstream o;
  o << "<div class=\"actions\" id=\"top-actions\"><h2>Top actions</h2>";
  if (gaps.empty()) {
    o << "<p>Every mitigation the profile requires is declared.";
    if (a.summary.residual_must_mitigate > 0) {
      o << " " << a.summary.residual_must_mitigate
        << " finding(s) still carry a risk that must be mitigated: see the threats below for "
           "what the profile cannot lower further.";
    }
    o << "</p></div>\n";
    return o.str();
  }
  o << "<p>The " << std::min(limit, gaps.size()) << " missing mitigation(s) that matter most, of "
    << gaps.size() << " (all are listed under <em>Missing mitigations</em>):</p><ol>";
  for (size_t i = 0; i < gaps.size() && i < limit; ++i) {
    const assess::Gap& g = *gaps[i];
    const catalog::Mitigation* m = cat.FindMitigation(g.mitigation);
    o << "<li><strong>" << Esc(g.name) << "</strong> <code>" << Esc(g.mitigation)
      << "</code>: highest risk it leaves open " << Badge(a, g.highest_risk) << "; missing from "
      << lowers[g.mitigation] << " finding(s) (threats " << Esc(Join(g.threats)) << ").";
    if (m && !m->description.empty()) {
      o << "<br><span class=\"muted\">" << Esc(m->description) << "</span>";
    }
    o << "</li>";
  }
  o << "</ol></div>\n";
  return o.str();
}

// The phase x layer heat map: each cell coloured by the highest residual risk found there.
std::string HeatMap(const assess::Assessment& a, const catalog::Catalog& cat) {
  struct Cell {
    int count = 0;
    int worst = -1;
    std::set<std::string> threats;  // threat ids in the cell
  };
  std::map<std::pair<std::string, std::string>, Cell> cells;
  for (const auto& f : a.findings) {
    Cell& c = cells[{f.phase, f.layer}];
    c.count += static_cast<int>(f.elements.size());
    c.threats.insert(f.threat);
    c.worst = std::max(c.worst, assess::RiskRank(a.risk_matrix, f.residual_risk));
  }
  const int lw = 130, cw = 150, ch = 62, top = 40;
  const int w = lw + cw * static_cast<int>(cat.phases.size()) + 10;
  const int h = top + ch * static_cast<int>(cat.layers.size()) + 10;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" role=\"img\" aria-label=\"Threats by lifecycle phase and layer\">";
  for (size_t p = 0; p < cat.phases.size(); ++p) {
    o << "<text x=\"" << lw + cw * p + cw / 2 << "\" y=\"25\" text-anchor=\"middle\" "
      << "font-size=\"11\" font-weight=\"bold\">" << Esc(cat.phases[p].name) << "</text>";
  }
  for (size_t l = 0; l < cat.layers.size(); ++l) {
    const int y = top + ch * static_cast<int>(l);
    o << "<text x=\"5\" y=\"" << y + ch / 2 + 4 << "\" font-size=\"12\" font-weight=\"bold\">"
      << Esc(cat.layers[l].name) << "</text>";
    for (size_t p = 0; p < cat.phases.size(); ++p) {
      const int x = lw + cw * static_cast<int>(p);
      auto it = cells.find({cat.phases[p].id, cat.layers[l].id});
      std::string fill = "#f5f5f5", label, level = "none", title = "no threat found";
      if (it != cells.end()) {
        level = it->second.worst < 0 ? "-" : a.risk_matrix.risk_levels[it->second.worst];
        fill = LevelTint(a.risk_matrix.risk_levels, level);
        for (const auto& t : it->second.threats) {
          label += (label.empty() ? "" : " ") + t;
        }
        title = std::to_string(it->second.count) + " finding(s), highest residual risk " + level;
      }
      o << "<g class=\"cell\"><title>" << Esc(title) << "</title><rect x=\"" << x << "\" y=\"" << y
        << "\" width=\"" << cw - 4 << "\" height=\"" << ch - 4 << "\" rx=\"4\" fill=\"" << fill
        << "\" stroke=\"#999\"/>";
      o << "<text x=\"" << x + (cw - 4) / 2 << "\" y=\"" << y + ch / 2 - 4
        << "\" text-anchor=\"middle\" font-size=\"11\" fill=\"" << kInk << "\">" << Esc(label)
        << "</text>";
      if (it != cells.end()) {
        o << "<text x=\"" << x + (cw - 4) / 2 << "\" y=\"" << y + ch / 2 + 12
          << "\" text-anchor=\"middle\" font-size=\"10\" fill=\"" << kInk << "\">" << Esc(level)
          << "</text>";
      }
      o << "</g>";
    }
  }
  o << "</svg>";
  return o.str();
}

// The risk matrix: likelihood rows (high at the top) x impact columns, each cell coloured by its
// risk level and showing how many findings sit there before -> after declared mitigations.
std::string RiskMatrix(const assess::Assessment& a) {
  const auto& m = a.risk_matrix;
  std::map<std::pair<std::string, std::string>, std::pair<int, int>> counts;
  for (const auto& f : a.findings) {
    const int n = static_cast<int>(f.elements.size());
    counts[{f.likelihood, f.impact}].first += n;
    counts[{f.residual_likelihood, f.impact}].second += n;
  }
  const int lw = 110, cw = 100, ch = 50, top = 30;
  const int rows = static_cast<int>(m.likelihood_levels.size());
  const int cols = static_cast<int>(m.impact_levels.size());
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << lw + cw * cols + 10 << "\" height=\""
    << top + ch * rows + 40 << "\" role=\"img\" aria-label=\"Risk matrix\">";
  for (int i = 0; i < cols; ++i) {
    o << "<text x=\"" << lw + cw * i + cw / 2 << "\" y=\"" << top + ch * rows + 18
      << "\" text-anchor=\"middle\" font-size=\"12\">" << Esc(m.impact_levels[i]) << "</text>";
  }
  o << "<text x=\"" << lw + cw * cols / 2 << "\" y=\"" << top + ch * rows + 36
    << "\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\">impact</text>";
  o << "<text x=\"5\" y=\"18\" font-size=\"12\" font-weight=\"bold\">likelihood</text>";
  for (int r = 0; r < rows; ++r) {
    const int li = rows - 1 - r;  // highest likelihood at the top
    const int y = top + ch * r;
    o << "<text x=\"5\" y=\"" << y + ch / 2 + 4 << "\" font-size=\"12\">"
      << Esc(m.likelihood_levels[li]) << "</text>";
    for (int i = 0; i < cols; ++i) {
      const std::string& level = m.risk[li][i];
      auto it = counts.find({m.likelihood_levels[li], m.impact_levels[i]});
      auto [before, after] = it == counts.end() ? std::pair<int, int>{0, 0} : it->second;
      const int x = lw + cw * i;
      o << "<g class=\"cell\"><title>" << Esc(level) << " risk: " << before
        << " finding(s) before, " << after << " after declared mitigations</title><rect x=\"" << x
        << "\" y=\"" << y << "\" width=\"" << cw - 4 << "\" height=\"" << ch - 4 << "\" fill=\""
        << LevelTint(m.risk_levels, level) << "\" stroke=\"#777\"/>";
      o << "<text x=\"" << x + (cw - 4) / 2 << "\" y=\"" << y + ch / 2 - 3
        << "\" text-anchor=\"middle\" font-size=\"13\" fill=\"" << kInk << "\">" << before
        << " &#8594; " << after << "</text><text x=\"" << x + (cw - 4) / 2 << "\" y=\""
        << y + ch / 2 + 13 << "\" text-anchor=\"middle\" font-size=\"10\" fill=\"" << kInk << "\">"
        << Esc(level) << "</text></g>";
    }
  }
  o << "</svg>";
  return o.str();
}

}  // namespace

std::string RenderHtml(const assess::Assessment& a, const catalog::Catalog& cat,
                       const model::Model* model) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>secprof: " << Esc(a.model_name) << "</title><style>"
    << "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
       "color:#222;line-height:1.45}h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;"
       "padding-bottom:.2em;margin-top:1.8em}table{border-collapse:collapse;width:100%;"
       "font-size:.92em}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;"
       "vertical-align:top}th{background:#f3f3f3}.badge{display:inline-block;padding:1px 7px;"
       "border-radius:9px;border:1px solid #555;font-size:.85em;font-weight:600}.note{background:"
       "#fff8e1;border-left:4px solid #ffc107;padding:.6em 1em}.muted{color:#666}"
       "code{background:#f5f5f5;padding:0 3px}.fig{overflow-x:auto}.actions{border:2px solid "
       "#1a1a1a;border-radius:6px;padding:.2em 1em .6em;margin:1.2em 0;background:#fafafa}"
       ".actions h2{border:none;margin-top:.4em}"
    << "</style></head><body>\n";
  o << "<h1>Security assessment: " << Esc(a.model_name) << "</h1>\n<p class=\"muted\">Model <code>"
    << Esc(a.model_file) << "</code> &middot; catalog " << Esc(a.catalog_version)
    << " &middot; generated by secprof 0.1.0</p>\n";
  if (!a.model_description.empty()) o << "<p>" << Esc(a.model_description) << "</p>\n";
  o << "<p>This report applies the IETF draft <em>IoT Security: Threats, Security Mitigations and "
       "Profiles</em>. The draft sorts IoT systems into four <strong>security profiles</strong> "
       "(home, managed home, industrial, advanced industrial), each a set of "
       "<strong>mitigations</strong> fitted to that class of system. Below: which profile this "
       "system belongs to, which threats apply to it and how risky they are, which required "
       "mitigations are missing, and what that means for its data and its users' privacy.</p>\n";

  o << "<h2>Security profile: " << Esc(a.profile.id) << " &mdash; " << Esc(a.profile.name)
    << "</h2>\n<ul>";
  if (a.profile.decided_by.empty()) {
    o << "<li>No feature calls for a stronger profile, so the home profile applies.</li>";
  }
  for (const auto& t : a.profile.decided_by) {
    o << "<li><strong>" << Esc(t.reason) << "</strong> <span class=\"muted\">(";
    for (size_t i = 0; i < t.conditions.size(); ++i) {
      o << (i ? " and " : "") << "<code>" << Esc(t.conditions[i]) << "</code>";
    }
    o << ")</span></li>";
  }
  o << "</ul>\n";
  if (!a.profile.move_up.empty()) {
    o << "<p>It would need a stronger profile if any of these became true:</p><ul>";
    for (const auto& t : a.profile.move_up) {
      o << "<li>" << Esc(t.profile) << ": " << Esc(t.reason) << "</li>";
    }
    o << "</ul>\n";
  }
  o << TopActions(a, cat, 5);
  if (!a.standards.conflicts.empty()) {
    o << "<div class=\"note\"><strong>Accepted by the draft, rejected by today's "
         "baselines.</strong> "
         "This profile, as the draft defines it, accepts risks that current standards do not:<ul>";
    for (const auto& c : a.standards.conflicts) {
      o << "<li>" << Esc(c.standard) << " "
        << (c.standard == "ETSI EN 303 645" ? Provision(cat, c.provision) : Esc(c.provision))
        << ": " << Esc(c.description) << "</li>";
    }
    o << "</ul></div>\n";
  }

  if (model) {
    o << "<h2>The modelled system</h2>\n<p>What the assessment was given: infrastructure nodes, "
         "things (kinds of thing, with their count), the links between them and how each is "
         "protected, and the trust boundaries. Each element shows the highest risk left on it "
         "after the declared mitigations.</p>\n<div class=\"fig\">"
      << SystemDiagram(*model, a) << "</div>\n";
  }
  o << "<h2>Where the threats strike</h2>\n<p>Each cell is a lifecycle phase (when) and a layer "
       "(where in the system). Each cell names its threats and the highest risk left after the "
       "declared mitigations, also shown by its tint (green low, amber moderate, red high); grey "
       "cells have no finding.</p>\n<div class=\"fig\">"
    << HeatMap(a, cat) << "</div>\n";
  o << "<h2>Risk matrix</h2>\n<p>Risk is likelihood &times; impact. Each cell shows how many "
       "findings sit there before &#8594; after the declared mitigations. Moderate and high risks "
       "must be mitigated.</p>\n<div class=\"fig\">"
    << RiskMatrix(a) << "</div>\n";
  o << "<p>" << a.summary.findings << " findings (" << a.summary.groups
    << " rows below: elements with the same rule and outcome share a row): "
    << a.summary.must_mitigate << " must be mitigated; " << a.summary.residual_must_mitigate
    << " still must after the declared mitigations.</p>\n";

  o << "<h2>Threats</h2>\n<table><tr><th>Threat</th><th>When / where</th><th>Element</th>"
       "<th>Why it applies</th><th>Risk</th><th>Residual</th><th>Missing mitigations</th></tr>\n";
  for (const auto& f : a.findings) {
    o << "<tr><td><strong>" << Esc(f.threat) << "</strong> " << Esc(f.threat_name)
      << (f.addition ? " <span class=\"muted\">(RFC 8576)</span>" : "") << "</td><td>"
      << Esc(f.phase) << " / " << Esc(f.layer) << "</td><td><code>" <<
        [&] {
          std::string ids;
          for (const auto& e : f.elements)
            ids += (ids.empty() ? "" : "</code>, <code>") + Esc(e.id);
          return ids;
        }()
      << "</code></td><td>" << Esc(f.WhyForAll()) << "</td><td>" << Badge(a, f.risk) << "</td><td>"
      << Badge(a, f.residual_risk) << "</td><td>"
      << (f.required.empty() ? std::string("<span class=\"muted\">none required by ") +
                                   Esc(a.profile.id) + "</span>"
                             : MitigationList(cat, f.missing));
    if (!f.accepted_by.empty()) {
      o << "<br><em>accepted by design: " << MitigationList(cat, f.accepted_by) << "</em>";
    }
    o << "<br>" << Esc(f.residual_state);
    for (const auto& e : f.elements) {
      if (!e.tracking) continue;
      const auto& d = e.tracking->decision;
      o << "<br><em>" << (f.elements.size() > 1 ? "<code>" + Esc(e.id) + "</code> " : "")
        << "tracked " << Esc(d.status) << " by " << Esc(d.by) << " on " << Esc(d.date)
        << (e.tracking->expired ? " (expired)" : "") << ": " << Esc(d.justification) << "</em>";
    }
    o << "</td></tr>\n";
  }
  o << "</table>\n";
  if (!a.warnings.empty()) {
    o << "<h2>Warnings</h2>\n<ul>\n";
    for (const auto& w : a.warnings) {
      o << "<li>line " << w.where.line << ": " << Esc(w.message) << " (" << Esc(w.kind)
        << ")</li>\n";
    }
    o << "</ul>\n";
  }

  o << "<h2>Missing mitigations</h2>\n";
  if (a.gaps.empty())
    o << "<p>None: every mitigation the profile requires is declared.</p>\n";
  else {
    o << "<table><tr><th>Mitigation</th><th>Building block</th><th>Counters</th><th>Highest "
         "risk left open</th><th>What it is</th></tr>\n";
    for (const auto& g : a.gaps) {
      const catalog::Mitigation* m = cat.FindMitigation(g.mitigation);
      o << "<tr><td><code>" << Esc(g.mitigation) << "</code><br>" << Esc(g.name) << "</td><td>"
        << Esc(g.building_block) << "</td><td>" << Esc(Join(g.threats)) << "</td><td>"
        << Badge(a, g.highest_risk) << "</td><td>" << Esc(m ? m->description : "")
        << "</td></tr>\n";
    }
    o << "</table>\n";
  }

  o << "<h2>Business impact analysis</h2>\n<p>What losing each data asset's confidentiality, "
       "integrity or availability would cost, and which threats endanger it.</p>\n<table><tr>"
       "<th>Asset</th><th>Confidentiality</th><th>Integrity</th><th>Availability</th>"
       "<th>Threatened by</th><th>Residual risk</th></tr>\n";
  for (const auto& b : a.bia) {
    std::string th;
    for (const auto& [p, ts] : b.threatened) th += (th.empty() ? "" : "; ") + p + ": " + Join(ts);
    o << "<tr><td><strong>" << Esc(b.asset) << "</strong>" << (b.personal ? " (personal data)" : "")
      << "<br><span class=\"muted\">" << Esc(b.description) << "</span></td><td>"
      << Esc(b.confidentiality) << "</td><td>" << Esc(b.integrity) << "</td><td>"
      << Esc(b.availability) << "</td><td>" << Esc(th.empty() ? "-" : th) << "</td><td>"
      << Badge(a, b.highest_residual_risk) << "</td></tr>\n";
  }
  o << "</table>\n<h2>Privacy impact analysis</h2>\n";
  if (a.pia.empty())
    o << "<p>The model holds no personal data.</p>\n";
  else {
    o << "<table><tr><th>Exposure</th><th>Where</th><th>Required there</th><th>Missing</th></tr>\n";
    for (const auto& x : a.pia) {
      o << "<tr><td>" << Esc(x.kind) << "</td><td>" << Esc(x.description) << "</td><td>"
        << MitigationList(cat, x.required) << "</td><td>" << MitigationList(cat, x.missing)
        << "</td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "<h2>Standards</h2>\n<p>OWASP ISVS level " << Esc(a.standards.owasp_isvs_level)
    << "; IEC 62443-4-2 " << Esc(a.standards.iec_62443_4_2_sl) << "; NIST IR 8259A capabilities: ";
  for (size_t i = 0; i < a.standards.nist_ir_8259a.size(); ++i) {
    const auto* c = cat.standards_list.FindNist(a.standards.nist_ir_8259a[i]);
    o << (i ? ", " : "") << Esc(c ? c->title : a.standards.nist_ir_8259a[i]);
  }
  if (a.standards.nist_ir_8259a.empty()) o << "-";
  o << ".</p>\n<p class=\"muted\">Provision titles are short summaries of "
    << Esc(cat.standards_list.etsi_title) << "; the standard's text governs.</p>\n"
    << "<table><tr><th>ETSI EN 303 645 provision"
    << "</th><th>Status</th><th>Addressed by / would be addressed by</th></tr>\n";
  for (const auto& p : a.standards.etsi_en_303_645) {
    o << "<tr><td>" << Provision(cat, p.provision) << "</td><td>"
      << (p.met ? "met" : "<strong>missed</strong>") << "</td><td>" << MitigationList(cat, p.by)
      << "</td></tr>\n";
  }
  o << "</table>\n</body></html>\n";
  return o.str();
}

}  // namespace secprof::report
