// HTML rendering: one self-contained file (inline CSS and SVG; no script, no external resource),
// written for a reader who has not read the draft.
#include <map>
#include <set>
#include <sstream>

#include "secprof/report/report.h"

namespace secprof::report {
namespace {

std::string Esc(const std::string& s) {
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

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "-" : out;
}

// Colour of a risk level by its rank among `levels` (green .. red); grey when none.
std::string Colour(const std::vector<std::string>& levels, const std::string& level) {
  static const char* kScale[] = {"#4caf50", "#ffc107", "#f44336", "#b71c1c"};
  for (size_t i = 0; i < levels.size(); ++i) {
    if (levels[i] == level) {
      size_t k = levels.size() <= 1 ? 0 : i * 3 / (levels.size() - 1);
      if (levels.size() == 3) k = i;  // low, moderate, high -> green, amber, red
      return kScale[std::min<size_t>(k, 3)];
    }
  }
  return "#e0e0e0";
}

std::string Badge(const assess::Assessment& a, const std::string& level) {
  return "<span class=\"badge\" style=\"background:" + Colour(a.risk_matrix.risk_levels, level) +
         "\">" + Esc(level.empty() ? "-" : level) + "</span>";
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
    ++c.count;
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
      std::string fill = "#f5f5f5", label, title = "no threat found";
      if (it != cells.end()) {
        fill = Colour(a.risk_matrix.risk_levels, a.risk_matrix.risk_levels[it->second.worst]);
        for (const auto& t : it->second.threats) {
          label += (label.empty() ? "" : " ") + t;
        }
        title = std::to_string(it->second.count) + " finding(s), highest residual risk " +
                a.risk_matrix.risk_levels[it->second.worst];
      }
      o << "<g><title>" << Esc(title) << "</title><rect x=\"" << x << "\" y=\"" << y
        << "\" width=\"" << cw - 4 << "\" height=\"" << ch - 4 << "\" rx=\"4\" fill=\"" << fill
        << "\" stroke=\"#999\"/>";
      o << "<text x=\"" << x + (cw - 4) / 2 << "\" y=\"" << y + ch / 2
        << "\" text-anchor=\"middle\" "
        << "font-size=\"11\">" << Esc(label) << "</text></g>";
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
    ++counts[{f.likelihood, f.impact}].first;
    ++counts[{f.residual_likelihood, f.impact}].second;
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
      o << "<g><title>" << Esc(level) << " risk: " << before << " finding(s) before, " << after
        << " after declared mitigations</title><rect x=\"" << x << "\" y=\"" << y << "\" width=\""
        << cw - 4 << "\" height=\"" << ch - 4 << "\" fill=\"" << Colour(m.risk_levels, level)
        << "\" stroke=\"#777\"/>";
      o << "<text x=\"" << x + (cw - 4) / 2 << "\" y=\"" << y + ch / 2
        << "\" text-anchor=\"middle\" "
        << "font-size=\"13\">" << before << " &#8594; " << after << "</text></g>";
    }
  }
  o << "</svg>";
  return o.str();
}

}  // namespace

std::string RenderHtml(const assess::Assessment& a, const catalog::Catalog& cat) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>secprof: " << Esc(a.model_name) << "</title><style>"
    << "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
       "color:#222;line-height:1.45}h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;"
       "padding-bottom:.2em;margin-top:1.8em}table{border-collapse:collapse;width:100%;"
       "font-size:.92em}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;"
       "vertical-align:top}th{background:#f3f3f3}.badge{display:inline-block;padding:1px 7px;"
       "border-radius:9px;color:#fff;font-size:.85em;text-shadow:0 0 2px #000}.note{background:"
       "#fff8e1;border-left:4px solid #ffc107;padding:.6em 1em}.muted{color:#666}"
       "code{background:#f5f5f5;padding:0 3px}.fig{overflow-x:auto}"
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
  if (!a.standards.conflicts.empty()) {
    o << "<div class=\"note\"><strong>Accepted by the draft, rejected by today's "
         "baselines.</strong> "
         "This profile, as the draft defines it, accepts risks that current standards do not:<ul>";
    for (const auto& c : a.standards.conflicts) {
      o << "<li>" << Esc(c.standard) << " " << Esc(c.provision) << ": " << Esc(c.description)
        << "</li>";
    }
    o << "</ul></div>\n";
  }

  o << "<h2>Where the threats strike</h2>\n<p>Each cell is a lifecycle phase (when) and a layer "
       "(where in the system). Colour: the highest risk left after the declared mitigations "
       "(green low, amber moderate, red high); grey cells have no finding.</p>\n<div class=\"fig\">"
    << HeatMap(a, cat) << "</div>\n";
  o << "<h2>Risk matrix</h2>\n<p>Risk is likelihood &times; impact. Each cell shows how many "
       "findings sit there before &#8594; after the declared mitigations. Moderate and high risks "
       "must be mitigated.</p>\n<div class=\"fig\">"
    << RiskMatrix(a) << "</div>\n";
  o << "<p>" << a.findings.size() << " findings: " << a.summary.must_mitigate
    << " must be mitigated; " << a.summary.residual_must_mitigate
    << " still must after the declared mitigations.</p>\n";

  o << "<h2>Threats</h2>\n<table><tr><th>Threat</th><th>When / where</th><th>Element</th>"
       "<th>Why it applies</th><th>Risk</th><th>Residual</th><th>Missing mitigations</th></tr>\n";
  for (const auto& f : a.findings) {
    o << "<tr><td><strong>" << Esc(f.threat) << "</strong> " << Esc(f.threat_name)
      << (f.addition ? " <span class=\"muted\">(RFC 8576)</span>" : "") << "</td><td>"
      << Esc(f.phase) << " / " << Esc(f.layer) << "</td><td><code>" << Esc(f.element)
      << "</code></td><td>" << Esc(f.why) << "</td><td>" << Badge(a, f.risk) << "</td><td>"
      << Badge(a, f.residual_risk) << "</td><td>"
      << (f.required.empty() ? std::string("<span class=\"muted\">none required by ") +
                                   Esc(a.profile.id) + "</span>"
                             : Esc(Join(f.missing)));
    if (!f.accepted_by.empty()) {
      o << "<br><em>accepted by design: " << Esc(Join(f.accepted_by)) << "</em>";
    }
    o << "<br>" << Esc(f.residual_state);
    if (f.tracking) {
      const auto& d = f.tracking->decision;
      o << "<br><em>tracked " << Esc(d.status) << " by " << Esc(d.by) << " on " << Esc(d.date)
        << (f.tracking->expired ? " (expired)" : "") << ": " << Esc(d.justification) << "</em>";
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
        << Esc(Join(x.required)) << "</td><td>" << Esc(Join(x.missing)) << "</td></tr>\n";
    }
    o << "</table>\n";
  }
  o << "<h2>Standards</h2>\n<p>OWASP ISVS level " << Esc(a.standards.owasp_isvs_level)
    << "; IEC 62443-4-2 " << Esc(a.standards.iec_62443_4_2_sl)
    << "; NIST IR 8259A: " << Esc(Join(a.standards.nist_ir_8259a))
    << ".</p>\n<table><tr><th>ETSI EN 303 645 provision"
    << "</th><th>Status</th><th>Addressed by / would be addressed by</th></tr>\n";
  for (const auto& p : a.standards.etsi_en_303_645) {
    o << "<tr><td>" << Esc(p.provision) << "</td><td>"
      << (p.met ? "met" : "<strong>missed</strong>") << "</td><td>" << Esc(Join(p.by))
      << "</td></tr>\n";
  }
  o << "</table>\n</body></html>\n";
  return o.str();
}

}  // namespace secprof::report
