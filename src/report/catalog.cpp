// Renderings of the catalog (secprof/report/catalog.h): the views of `secprof catalog`.
#include "secprof/report/catalog.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace secprof::report {
namespace {

using catalog::Catalog;
using nlohmann::ordered_json;

std::string Join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Splits `text` into lines of at most `width` characters at spaces.
std::vector<std::string> Wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string word, line;
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string Indented(const std::string& text, size_t indent, size_t width = 96) {
  std::string out;
  for (const auto& l : Wrap(text, width - indent)) out += std::string(indent, ' ') + l + "\n";
  return out;
}

// Escapes a Markdown table cell.
std::string Md(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string RenderCondition(const catalog::Condition& c) {
  if (c.equals) return c.fact + " = " + *c.equals;
  if (c.not_equals) return c.fact + " != " + *c.not_equals;
  if (!c.in.empty()) return c.fact + " in [" + Join(c.in) + "]";
  if (!c.not_in.empty()) return c.fact + " not in [" + Join(c.not_in) + "]";
  if (c.at_least) return c.fact + " >= " + *c.at_least;
  if (c.at_most) return c.fact + " <= " + *c.at_most;
  return c.fact;
}

std::string RenderWhen(const catalog::When& w) {
  std::vector<std::string> parts;
  for (const auto& c : w.all) parts.push_back(RenderCondition(c));
  if (!w.any.empty()) {
    std::vector<std::string> any;
    for (const auto& c : w.any) any.push_back(RenderCondition(c));
    parts.push_back("(" + Join(any, " or ") + ")");
  }
  return Join(parts, " and ");
}

ordered_json ConditionJson(const catalog::Condition& c) {
  ordered_json j;
  j["fact"] = c.fact;
  if (c.equals) j["equals"] = *c.equals;
  if (c.not_equals) j["not_equals"] = *c.not_equals;
  if (!c.in.empty()) j["in"] = c.in;
  if (!c.not_in.empty()) j["not_in"] = c.not_in;
  if (c.at_least) j["at_least"] = *c.at_least;
  if (c.at_most) j["at_most"] = *c.at_most;
  return j;
}

std::vector<std::string> ProfilesRequiring(const Catalog& cat, const std::string& mitigation) {
  std::vector<std::string> out;
  for (const auto& p : cat.profiles) {
    if (std::find(p.mitigations.begin(), p.mitigations.end(), mitigation) != p.mitigations.end()) {
      out.push_back(p.id);
    }
  }
  return out;
}

std::vector<std::string> MitigationIds(const std::vector<const catalog::Mitigation*>& ms) {
  std::vector<std::string> out;
  for (const auto* m : ms) out.push_back(m->id);
  return out;
}

std::string LayerName(const Catalog& cat, const std::string& id) {
  const auto* l = cat.FindLayer(id);
  return l ? l->name : id;
}
std::string PhaseName(const Catalog& cat, const std::string& id) {
  const auto* p = cat.FindPhase(id);
  return p ? p->name : id;
}

}  // namespace

// ---- threats ----
std::string RenderThreats(const Catalog& cat, CatalogFormat format) {
  if (format == CatalogFormat::kJson) {
    ordered_json arr = ordered_json::array();
    for (const auto& t : cat.threats) {
      ordered_json j;
      j["id"] = t.id;
      j["name"] = t.name;
      j["description"] = t.description;
      j["parent"] = t.parent;
      j["addition"] = t.addition;
      j["phases"] = t.phases;
      j["layers"] = t.layers;
      ordered_json cells = ordered_json::array();
      for (const auto& c : t.figure2) cells.push_back({{"phase", c.phase}, {"layer", c.layer}});
      j["figure2"] = cells;
      j["affects"] = t.affects;
      j["references"] = t.references;
      j["sub_attacks"] = t.sub_attacks;
      j["mitigated_by"] = MitigationIds(cat.MitigationsFor(t.id));
      arr.push_back(j);
    }
    return ordered_json{{"threats", arr}}.dump(2) + "\n";
  }
  std::ostringstream out;
  if (format == CatalogFormat::kMarkdown) {
    out << "| Id | Threat | Phases | Layers | Affects | Figure 2 | Countered by |\n"
        << "|---|---|---|---|---|---|---|\n";
    for (const auto& t : cat.threats) {
      std::vector<std::string> cells;
      for (const auto& c : t.figure2) cells.push_back(c.phase + " × " + c.layer);
      out << "| " << t.id << " | " << Md(t.name) << (t.addition ? " (RFC 8576 addition)" : "")
          << " | " << Join(t.phases) << " | " << Join(t.layers) << " | " << Join(t.affects) << " | "
          << Join(cells) << " | " << Join(MitigationIds(cat.MitigationsFor(t.id))) << " |\n";
    }
    return out.str();
  }
  for (const auto& t : cat.threats) {
    out << t.id << std::string(t.id.size() < 6 ? 6 - t.id.size() : 1, ' ') << t.name
        << (t.addition ? "  [addition, RFC 8576]" : "")
        << (t.parent.empty() ? "" : "  [sub-attack of " + t.parent + "]") << "\n";
    out << Indented(t.description, 6);
    out << "      phases: " << Join(t.phases) << "; layers: " << Join(t.layers)
        << "; affects: " << Join(t.affects) << "\n";
    if (!t.figure2.empty()) {
      std::vector<std::string> cells;
      for (const auto& c : t.figure2) cells.push_back(c.phase + " x " + c.layer);
      out << "      Figure 2: " << Join(cells) << "\n";
    }
    if (!t.references.empty()) out << "      references: " << Join(t.references) << "\n";
    out << Indented("countered by: " + Join(MitigationIds(cat.MitigationsFor(t.id))), 6) << "\n";
  }
  return out.str();
}

// ---- mitigations ----
std::string RenderMitigations(const Catalog& cat, CatalogFormat format) {
  if (format == CatalogFormat::kJson) {
    ordered_json arr = ordered_json::array();
    for (const auto& m : cat.mitigations) {
      ordered_json j;
      j["id"] = m.id;
      j["name"] = m.name;
      j["building_block"] = m.building_block;
      j["description"] = m.description;
      j["counters"] = m.counters;
      j["accepts"] = m.accepts;
      j["superseded_by"] = m.superseded_by;
      j["phases"] = m.phases;
      j["layers"] = m.layers;
      j["references"] = {
          {"rfc", m.references.rfc}, {"etsi", m.references.etsi}, {"other", m.references.other}};
      j["controls"] = m.controls;
      j["verified_by"] = m.verified_by;
      j["not_testable"] = m.not_testable;
      j["source"] = m.source;
      j["required_by"] = ProfilesRequiring(cat, m.id);
      arr.push_back(j);
    }
    return ordered_json{{"mitigations", arr}}.dump(2) + "\n";
  }
  std::ostringstream out;
  if (format == CatalogFormat::kMarkdown) {
    out << "| Id | Mitigation | Counters | Accepts | EN 303 645 | RFCs | Required by |\n"
        << "|---|---|---|---|---|---|---|\n";
    for (const auto& m : cat.mitigations) {
      out << "| " << m.id << " | " << Md(m.name) << " | " << Join(m.counters) << " | "
          << Join(m.accepts) << " | " << Join(m.references.etsi) << " | " << Join(m.references.rfc)
          << " | " << Join(ProfilesRequiring(cat, m.id)) << " |\n";
    }
    return out.str();
  }
  std::string block;
  for (const auto& m : cat.mitigations) {
    if (m.building_block != block) {
      block = m.building_block;
      out << "== " << block << " ==\n\n";
    }
    out << m.id << "  " << m.name << "\n";
    out << Indented(m.description, 4);
    if (!m.counters.empty()) out << "    counters: " << Join(m.counters) << "\n";
    if (!m.accepts.empty()) out << "    accepts (left open): " << Join(m.accepts) << "\n";
    if (!m.superseded_by.empty()) out << "    superseded by: " << m.superseded_by << "\n";
    out << "    phases: " << Join(m.phases) << "; layers: " << Join(m.layers) << "\n";
    if (!m.references.rfc.empty()) out << "    RFCs: " << Join(m.references.rfc) << "\n";
    if (!m.references.etsi.empty()) {
      out << "    EN 303 645: " << Join(m.references.etsi) << "\n";
    }
    auto req = ProfilesRequiring(cat, m.id);
    out << "    required by: " << (req.empty() ? "(no profile; optional)" : Join(req)) << "\n\n";
  }
  return out.str();
}

// ---- profiles ----
std::string RenderProfiles(const Catalog& cat, CatalogFormat format) {
  if (format == CatalogFormat::kJson) {
    ordered_json arr = ordered_json::array();
    for (const auto& p : cat.profiles) {
      ordered_json j;
      j["id"] = p.id;
      j["rank"] = p.rank;
      j["name"] = p.name;
      j["application"] = p.application;
      j["summary"] = p.summary;
      j["description"] = p.description;
      ordered_json feats = ordered_json::object();
      for (const auto& [k, v] : p.operational_features) feats[k] = v;
      j["operational_features"] = feats;
      ordered_json blocks = ordered_json::array();
      for (const auto& b : p.building_blocks) {
        blocks.push_back({{"block", b.block}, {"requirements", b.requirements}});
      }
      j["building_blocks"] = blocks;
      j["extends"] = p.extends;
      j["added"] = p.added;
      j["drops"] = p.drops;
      j["mitigations"] = p.mitigations;
      ordered_json conflicts = ordered_json::array();
      for (const auto& c : p.standards.conflicts) {
        conflicts.push_back(
            {{"standard", c.standard}, {"provision", c.provision}, {"description", c.description}});
      }
      j["standards"] = {{"etsi_en_303_645", p.standards.etsi_en_303_645},
                        {"owasp_isvs_level", p.standards.owasp_isvs_level},
                        {"iec_62443_4_2_sl", p.standards.iec_62443_4_2_sl},
                        {"nist_ir_8259a", p.standards.nist_ir_8259a},
                        {"conflicts", conflicts}};
      ordered_json triggers = ordered_json::array();
      for (const auto& t : p.triggers) {
        ordered_json all = ordered_json::array(), any = ordered_json::array();
        for (const auto& c : t.when.all) all.push_back(ConditionJson(c));
        for (const auto& c : t.when.any) any.push_back(ConditionJson(c));
        triggers.push_back({{"reason", t.reason}, {"all", all}, {"any", any}});
      }
      j["triggers"] = triggers;
      arr.push_back(j);
    }
    return ordered_json{{"profiles", arr}}.dump(2) + "\n";
  }
  std::ostringstream out;
  const bool md = format == CatalogFormat::kMarkdown;
  for (const auto& p : cat.profiles) {
    if (md) {
      out << "## " << p.id << " — " << p.name << "\n\n" << p.description << "\n\n";
      out << "| Operational feature | |\n|---|---|\n";
      for (const auto& [k, v] : p.operational_features)
        out << "| " << k << " | " << Md(v) << " |\n";
      out << "\n| Building block | Requirements |\n|---|---|\n";
      for (const auto& b : p.building_blocks) {
        out << "| " << b.block << " | " << Md(Join(b.requirements, "; ")) << " |\n";
      }
      out << "\n**Mitigations (" << p.mitigations.size() << "):** " << Join(p.mitigations)
          << "\n\n";
      out << "**Standards:** OWASP ISVS " << p.standards.owasp_isvs_level << ", IEC 62443-4-2 "
          << p.standards.iec_62443_4_2_sl << ", NIST IR 8259A: " << Join(p.standards.nist_ir_8259a)
          << "; EN 303 645 provisions met: " << Join(p.standards.etsi_en_303_645) << "\n\n";
      for (const auto& c : p.standards.conflicts) {
        out << "- **Conflict** with " << c.standard << " " << c.provision << ": " << c.description
            << "\n";
      }
      for (const auto& t : p.triggers) {
        out << "- **Trigger:** " << RenderWhen(t.when) << " — " << t.reason << "\n";
      }
      out << "\n";
      continue;
    }
    out << p.id << "  " << p.name << " (rank " << p.rank << ")\n";
    out << Indented(p.description, 4);
    out << "  Operational features:\n";
    for (const auto& [k, v] : p.operational_features) out << Indented(k + ": " + v, 4);
    out << "  Building blocks:\n";
    for (const auto& b : p.building_blocks) {
      out << "    " << b.block << ":\n";
      for (const auto& r : b.requirements) out << Indented("- " + r, 6);
    }
    out << "  Mitigations (" << p.mitigations.size() << "):\n";
    if (!p.extends.empty()) {
      out << Indented("as " + p.extends + " plus " + Join(p.added) +
                          (p.drops.empty() ? "" : "; replacing " + Join(p.drops)),
                      4);
    } else {
      out << Indented(Join(p.mitigations), 4);
    }
    out << "  Standards: OWASP ISVS " << p.standards.owasp_isvs_level << ", IEC 62443-4-2 "
        << p.standards.iec_62443_4_2_sl << "\n";
    out << Indented("NIST IR 8259A: " + Join(p.standards.nist_ir_8259a), 4);
    out << Indented("EN 303 645 met: " + Join(p.standards.etsi_en_303_645), 4);
    for (const auto& c : p.standards.conflicts) {
      out << Indented("CONFLICT " + c.standard + " " + c.provision + ": " + c.description, 4);
    }
    if (p.triggers.empty()) out << "  Triggers: none (the default profile)\n";
    for (const auto& t : p.triggers) {
      out << Indented("Trigger: " + RenderWhen(t.when) + " -- " + t.reason, 2);
    }
    out << "\n";
  }
  return out.str();
}

// ---- lifecycle ----
std::string RenderLifecycle(const Catalog& cat, CatalogFormat format) {
  if (format == CatalogFormat::kJson) {
    ordered_json phases = ordered_json::array(), states = ordered_json::array(),
                 transitions = ordered_json::array();
    for (const auto& p : cat.phases) {
      phases.push_back(
          {{"id", p.id}, {"name", p.name}, {"description", p.description}, {"figure2", p.figure2}});
    }
    for (const auto& s : cat.states) {
      states.push_back(
          {{"id", s.id}, {"name", s.name}, {"phase", s.phase}, {"description", s.description}});
    }
    for (const auto& t : cat.transitions) {
      transitions.push_back({{"from", t.from}, {"to", t.to}, {"event", t.event}});
    }
    return ordered_json{{"phases", phases}, {"states", states}, {"transitions", transitions}}.dump(
               2) +
           "\n";
  }
  std::ostringstream out;
  if (format == CatalogFormat::kMarkdown) {
    out << "| Phase | State | Description |\n|---|---|---|\n";
    for (const auto& s : cat.states) {
      out << "| " << PhaseName(cat, s.phase) << " | " << s.name << " | " << Md(s.description)
          << " |\n";
    }
    out << "\n| From | To | Event |\n|---|---|---|\n";
    for (const auto& t : cat.transitions) {
      out << "| " << t.from << " | " << t.to << " | " << Md(t.event) << " |\n";
    }
    return out.str();
  }
  for (const auto& p : cat.phases) {
    out << p.name << " [" << p.id << "]" << (p.figure2 ? "  (a column of Figure 2)" : "") << "\n";
    out << Indented(p.description, 4);
    for (const auto& s : cat.states) {
      if (s.phase == p.id) out << "    * " << s.name << " [" << s.id << "]\n";
    }
  }
  out << "\nTransitions:\n";
  for (const auto& t : cat.transitions) {
    out << "  " << t.from << " -> " << t.to << "  (" << t.event << ")\n";
  }
  return out.str();
}

// ---- processes ----
std::string RenderProcesses(const Catalog& cat, CatalogFormat format) {
  if (format == CatalogFormat::kJson) {
    ordered_json arr = ordered_json::array();
    for (const auto& p : cat.processes) {
      arr.push_back({{"id", p.id},
                     {"name", p.name},
                     {"description", p.description},
                     {"needs", p.needs},
                     {"produces", p.produces},
                     {"phases", p.phases}});
    }
    return ordered_json{{"processes", arr}}.dump(2) + "\n";
  }
  std::ostringstream out;
  if (format == CatalogFormat::kMarkdown) {
    out << "| Id | Process | Needs | Produces | Phases |\n|---|---|---|---|---|\n";
    for (const auto& p : cat.processes) {
      out << "| " << p.id << " | " << Md(p.name) << " | " << Md(Join(p.needs, "; ")) << " | "
          << Md(Join(p.produces, "; ")) << " | " << Join(p.phases) << " |\n";
    }
    return out.str();
  }
  for (const auto& p : cat.processes) {
    out << p.id << "  " << p.name << "\n" << Indented(p.description, 4);
    out << "    needs:\n";
    for (const auto& n : p.needs) out << Indented("- " + n, 6);
    out << "    produces:\n";
    for (const auto& n : p.produces) out << Indented("- " + n, 6);
    out << "    phases: " << Join(p.phases) << "\n\n";
  }
  return out.str();
}

// ---- figure 2 ----
namespace {
std::vector<std::string> CellLines(const Catalog& cat, const catalog::Figure2GridCell& c,
                                   size_t width) {
  std::vector<std::string> lines;
  for (const auto& id : c.threats) {
    const auto* t = cat.FindThreat(id);
    for (const auto& l : Wrap(id + " " + (t ? t->name : ""), width)) lines.push_back(l);
  }
  if (!c.references.empty()) {
    for (const auto& l : Wrap(Join(c.references), width)) lines.push_back(l);
  }
  return lines;
}
}  // namespace

std::string RenderFigure2(const Catalog& cat, CatalogFormat format) {
  const catalog::Figure2Grid g = catalog::ComputeFigure2(cat);
  if (format == CatalogFormat::kJson) {
    ordered_json cells = ordered_json::array();
    for (const auto& c : g.cells) {
      cells.push_back({{"phase", c.phase},
                       {"layer", c.layer},
                       {"threats", c.threats},
                       {"references", c.references}});
    }
    return ordered_json{{"phases", g.phases}, {"layers", g.layers}, {"cells", cells}}.dump(2) +
           "\n";
  }
  std::ostringstream out;
  if (format == CatalogFormat::kMarkdown) {
    out << "| |";
    for (const auto& p : g.phases) out << " " << PhaseName(cat, p) << " |";
    out << "\n|---|";
    for (size_t i = 0; i < g.phases.size(); ++i) out << "---|";
    out << "\n";
    for (const auto& l : g.layers) {
      out << "| " << LayerName(cat, l) << " |";
      for (const auto& p : g.phases) {
        const auto* c = g.At(p, l);
        std::vector<std::string> parts;
        for (const auto& id : c->threats) {
          const auto* t = cat.FindThreat(id);
          parts.push_back(id + " " + (t ? t->name : ""));
        }
        if (!c->references.empty()) parts.push_back(Join(c->references));
        out << " " << Md(Join(parts, "<br>")) << " |";
      }
      out << "\n";
    }
    return out.str();
  }
  const size_t label = 13, width = 28;
  auto rule = [&] {
    std::string r = "+" + std::string(label, '-');
    for (size_t i = 0; i < g.phases.size(); ++i) r += "+" + std::string(width, '-');
    return r + "+\n";
  };
  auto pad = [](const std::string& s, size_t w) {
    return s.size() >= w ? s.substr(0, w) : s + std::string(w - s.size(), ' ');
  };
  out << "Figure 2: classification of threats by lifecycle phase and layer\n" << rule();
  out << "|" << pad("", label);
  for (const auto& p : g.phases) out << "| " << pad(PhaseName(cat, p), width - 1);
  out << "|\n" << rule();
  for (const auto& l : g.layers) {
    std::vector<std::vector<std::string>> cols;
    size_t rows = 1;
    for (const auto& p : g.phases) {
      cols.push_back(CellLines(cat, *g.At(p, l), width - 2));
      rows = std::max(rows, cols.back().size());
    }
    std::vector<std::string> labels = Wrap(LayerName(cat, l), label - 2);
    rows = std::max(rows, labels.size());
    for (size_t r = 0; r < rows; ++r) {
      out << "| " << pad(r < labels.size() ? labels[r] : "", label - 1);
      for (const auto& col : cols) out << "| " << pad(r < col.size() ? col[r] : "", width - 1);
      out << "|\n";
    }
    out << rule();
  }
  return out.str();
}

// ---- figure 3 ----
std::string RenderFigure3(const Catalog& cat, CatalogFormat format) {
  if (format == CatalogFormat::kJson) {
    ordered_json arr = ordered_json::array();
    for (const auto& p : cat.profiles) {
      ordered_json feats = ordered_json::object();
      for (const auto& [k, v] : p.operational_features) feats[k] = v;
      arr.push_back({{"id", p.id},
                     {"application", p.application},
                     {"description", p.summary},
                     {"operational_features", feats}});
    }
    return ordered_json{{"profiles", arr}}.dump(2) + "\n";
  }
  std::ostringstream out;
  if (format == CatalogFormat::kMarkdown) {
    out << "| Profile | Exemplary IoT application | Description |\n|---|---|---|\n";
    for (const auto& p : cat.profiles) {
      out << "| " << p.id << " | " << Md(p.application) << " | " << Md(p.summary) << " |\n";
    }
    return out.str();
  }
  const size_t idw = 11, appw = 18, descw = 44;
  auto pad = [](const std::string& s, size_t w) {
    return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
  };
  const std::string rule = "+" + std::string(idw, '-') + "+" + std::string(appw, '-') + "+" +
                           std::string(descw, '-') + "+\n";
  out << "Figure 3: security profiles and application areas\n" << rule;
  out << "| " << pad("", idw - 1) << "| " << pad("Exemplary", appw - 1) << "| "
      << pad("Description", descw - 1) << "|\n";
  out << "| " << pad("", idw - 1) << "| " << pad("IoT application", appw - 1) << "| "
      << pad("", descw - 1) << "|\n"
      << rule;
  for (const auto& p : cat.profiles) {
    auto app = Wrap(p.application, appw - 2);
    auto desc = Wrap(p.summary, descw - 2);
    size_t rows = std::max(app.size(), desc.size());
    for (size_t r = 0; r < rows; ++r) {
      out << "| " << pad(r == 0 ? p.id : "", idw - 1) << "| "
          << pad(r < app.size() ? app[r] : "", appw - 1) << "| "
          << pad(r < desc.size() ? desc[r] : "", descw - 1) << "|\n";
    }
    out << rule;
  }
  return out.str();
}

Result<CatalogFormat> ParseCatalogFormat(const std::string& name) {
  if (name == "text") return CatalogFormat::kText;
  if (name == "json") return CatalogFormat::kJson;
  if (name == "md") return CatalogFormat::kMarkdown;
  return Fail(ErrorCode::kInvalidInput, "unknown catalog format '" + name + "' (text, json or md)");
}

std::span<const CatalogView> CatalogViews() {
  static const CatalogView kViews[] = {
      {"threats", "Threats T1-T11 (draft Section 4 and RFC 8576) and what counters them",
       RenderThreats},
      {"mitigations", "Mitigations (the draft's Section 5), by building block", RenderMitigations},
      {"profiles", "Security profiles SecProf_1-4 with requirements, mitigations and standards",
       RenderProfiles},
      {"lifecycle", "Lifecycle phases, states and transitions (draft Figure 1)", RenderLifecycle},
      {"processes", "BIA, RA, PIA and incident reporting/patch deployment (draft Section 6)",
       RenderProcesses},
      {"figure2", "The draft's Figure 2 (threats by phase and layer), regenerated", RenderFigure2},
      {"figure3", "The draft's Figure 3 (profiles and application areas), regenerated",
       RenderFigure3},
  };
  return kViews;
}

}  // namespace secprof::report
