// src/catalog/catalog.cpp — lookups over a loaded catalog and the regenerated Figure 2.
#include <algorithm>

#include "secprof/catalog/catalog.h"

namespace secprof::catalog {
namespace {

template <class T>
const T* FindById(const std::vector<T>& items, const std::string& id) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& x) { return x.id == id; });
  return it == items.end() ? nullptr : &*it;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

const Fact* Catalog::FindFact(const std::string& id) const { return FindById(facts, id); }
const Phase* Catalog::FindPhase(const std::string& id) const { return FindById(phases, id); }
const Layer* Catalog::FindLayer(const std::string& id) const { return FindById(layers, id); }
const Threat* Catalog::FindThreat(const std::string& id) const { return FindById(threats, id); }
const Mitigation* Catalog::FindMitigation(const std::string& id) const {
  return FindById(mitigations, id);
}
const Profile* Catalog::FindProfile(const std::string& id) const { return FindById(profiles, id); }

std::vector<const Mitigation*> Catalog::MitigationsFor(const std::string& threat_id) const {
  std::string parent;
  if (const Threat* t = FindThreat(threat_id)) parent = t->parent;
  std::vector<const Mitigation*> out;
  for (const auto& m : mitigations) {
    if (Contains(m.counters, threat_id) || (!parent.empty() && Contains(m.counters, parent))) {
      out.push_back(&m);
    }
  }
  return out;
}

const Figure2GridCell* Figure2Grid::At(const std::string& phase, const std::string& layer) const {
  for (const auto& c : cells) {
    if (c.phase == phase && c.layer == layer) return &c;
  }
  return nullptr;
}

Figure2Grid ComputeFigure2(const Catalog& cat) {
  Figure2Grid g;
  for (const auto& p : cat.phases) {
    if (p.figure2) g.phases.push_back(p.id);
  }
  for (const auto& l : cat.layers) g.layers.push_back(l.id);
  for (const auto& phase : g.phases) {
    for (const auto& layer : g.layers) {
      Figure2GridCell cell{phase, layer, {}, {}};
      for (const auto& t : cat.threats) {
        for (const auto& c : t.figure2) {
          if (c.phase == phase && c.layer == layer) cell.threats.push_back(t.id);
        }
      }
      for (const auto& r : cat.figure2_references) {
        if (r.phase == phase && r.layer == layer) cell.references = r.references;
      }
      g.cells.push_back(std::move(cell));
    }
  }
  return g;
}

}  // namespace secprof::catalog
