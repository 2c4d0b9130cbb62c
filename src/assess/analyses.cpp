// The BIA, PIA and standards views of an assessment (docs/ASSESS.md, steps 8-10).
#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "engine.h"

namespace secprof::assess::internal {
namespace {

// "5.10-1" after "5.4-1": compare dot/dash separated numbers numerically.
bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      long x = std::stol(a.substr(i, i2 - i)), y = std::stol(b.substr(j, j2 - j));
      if (x != y) return x < y;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

void Engine::Bia() {
  // Finding groups per element, to attribute threats to the assets those elements carry. Only
  // elements that carry an asset are indexed (keys view the element ids of facts_, which outlive
  // this function).
  AssetIndex& idx = assets_;
  std::unordered_map<std::string_view, std::vector<const Finding*>> by_element[4];
  const char* scopes[] = {"thing", "link", "node", "asset"};
  for (int s = 0; s < 4; ++s) {
    const auto elements = facts_.Scope(scopes[s]);
    by_element[s].reserve(elements.size());
    for (const model::Element* e : elements) {
      const std::vector<size_t>* rel = idx.For(*e);
      if (rel != nullptr && !rel->empty()) by_element[s][e->id];
    }
  }
  for (const auto& f : a_.findings) {
    const int s = static_cast<int>(std::find(scopes, scopes + 4, f.scope) - scopes);
    if (s == 4) continue;  // system-wide
    for (const auto& e : f.elements) {
      auto it = by_element[s].find(e.id);
      if (it != by_element[s].end()) it->second.push_back(&f);
    }
  }
  std::vector<std::vector<const Finding*>> per_asset(m_.assets.size());
  for (int s = 0; s < 4; ++s) {
    for (const model::Element* e : facts_.Scope(scopes[s])) {
      auto it = by_element[s].find(e->id);
      if (it == by_element[s].end()) continue;
      for (size_t i : *idx.For(*e)) {
        per_asset[i].insert(per_asset[i].end(), it->second.begin(), it->second.end());
      }
    }
  }
  for (auto& fs : per_asset) {  // a group reaches an asset through any number of its elements
    std::sort(fs.begin(), fs.end());
    fs.erase(std::unique(fs.begin(), fs.end()), fs.end());
  }
  // System-wide findings are not attributed to any one asset: each BIA row holds only the
  // findings on the elements that carry that asset (docs/ASSESS.md, step 8).
  for (size_t i = 0; i < m_.assets.size(); ++i) {
    const auto& asset = m_.assets[i];
    BiaEntry b;
    b.asset = asset.id;
    b.description = asset.description;
    b.confidentiality = asset.confidentiality;
    b.integrity = asset.integrity;
    b.availability = asset.availability;
    b.personal = asset.personal;
    const std::vector<const Finding*>& fs = per_asset[i];
    int best = -1;
    std::map<std::string, std::set<std::string>> threatened;
    for (const Finding* f : fs) {
      const catalog::Threat* t = cat_.FindThreat(f->threat);
      for (const auto& p : t->affects) threatened[p].insert(f->threat);
      best = std::max(best, ResidualRank(f->residual_risk));
    }
    for (auto& [p, ts] : threatened) b.threatened[p].assign(ts.begin(), ts.end());
    if (best >= 0) b.highest_residual_risk = cat_.risk.risk_levels[best];
    a_.bia.push_back(std::move(b));
  }
}

// Mitigations the profile requires against privacy threats at a kind of exposure.
void Engine::Requirements(const std::string& layer, PiaExposure& x) const {
  std::vector<std::string> all;
  for (const char* t : {"T8", "T6"}) {
    for (const auto* mit : cat_.MitigationsFor(t)) {
      if (!Contains(profile_->mitigations, mit->id) || Contains(all, mit->id)) continue;
      if (Contains(mit->layers, layer)) all.push_back(mit->id);
    }
  }
  std::sort(all.begin(), all.end());
  x.required = all;
  for (const auto& id : all) {
    if (!declared_.count(id)) x.missing.push_back(id);
  }
}

void Engine::Pia() {
  std::unordered_map<std::string, const model::Node*> nodes;
  for (const auto& n : m_.nodes) nodes.emplace(n.id, &n);
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  // What the profile requires depends only on the layer: computed once per layer.
  std::unordered_map<std::string, PiaExposure> by_layer;
  auto add = [&](const std::string& asset, const std::string& kind, const std::string& element,
                 const std::string& text, const std::string& layer) {
    if (!seen.insert({asset, kind, element}).second) return;
    auto req = by_layer.find(layer);
    if (req == by_layer.end()) {
      PiaExposure r;
      Requirements(layer, r);
      req = by_layer.emplace(layer, std::move(r)).first;
    }
    PiaExposure x;
    x.asset = asset;
    x.kind = kind;
    x.element = element;
    x.description = text;
    x.required = req->second.required;
    x.missing = req->second.missing;
    a_.pia.push_back(std::move(x));
  };
  std::unordered_set<std::string> personal;
  for (const auto& a : m_.assets) {
    if (a.personal) personal.insert(a.id);
  }
  for (const auto& f : m_.flows) {
    std::vector<std::string> path = f.via;
    path.push_back(f.from);
    path.push_back(f.to);
    for (const auto& a : f.assets) {
      if (!personal.count(a)) continue;
      for (const auto& p : path) {
        auto it = nodes.find(p);
        if (it == nodes.end()) continue;
        const model::Node& n = *it->second;
        if (n.translates && f.protection != "end_to_end") {
          add(a, "translation_point", n.id,
              n.id + " translates flow " + f.id + " and sees " + a + " in the clear",
              "application");
        } else if (n.translates) {
          add(a, "translation_point", n.id,
              n.id + " relays flow " + f.id + "; " + a + " stays protected end to end",
              "application");
        }
        if (n.kind == "backend" || n.location == "cloud") {
          add(a, "backend", n.id,
              a + " is collected at " + n.id + ", outside the local domain (flow " + f.id + ")",
              "application");
        }
      }
    }
  }
  for (const auto& t : m_.things) {
    if (t.Has("personal_data")) {
      add("(on device)", "thing", t.id,
          t.id + " senses or stores personal data on the device itself", "thing");
    }
  }
  if (facts_.system.facts->at("system.ownership_transfer") == "true" &&
      facts_.system.facts->at("system.personal_data") == "true") {
    add("(all personal data)", "reownership", "system",
        "things change owner: personal data must be wiped at decommissioning and re-ownership",
        "thing");
  }
  std::sort(a_.pia.begin(), a_.pia.end(), [](const PiaExposure& x, const PiaExposure& y) {
    return std::tie(x.asset, x.kind, x.element) < std::tie(y.asset, y.kind, y.element);
  });
}

void Engine::Standards() {
  std::map<std::string, ProvisionStatus, decltype(&NaturalLess)> provisions(&NaturalLess);
  for (const auto& mit : cat_.mitigations) {
    for (const auto& p : mit.references.etsi) {
      auto& s = provisions[p];
      s.provision = p;
      if (declared_.count(mit.id)) {
        s.met = true;
        s.by.push_back(mit.id);
      }
    }
  }
  // For missed provisions, name what would meet them (the profile's choices first).
  for (auto& [p, s] : provisions) {
    if (s.met) continue;
    for (const auto& mit : cat_.mitigations) {
      if (Contains(mit.references.etsi, p) && Contains(profile_->mitigations, mit.id)) {
        s.by.push_back(mit.id);
      }
    }
    if (s.by.empty()) {
      for (const auto& mit : cat_.mitigations) {
        if (Contains(mit.references.etsi, p)) s.by.push_back(mit.id);
      }
    }
  }
  for (auto& [p, s] : provisions) a_.standards.etsi_en_303_645.push_back(std::move(s));
  a_.standards.conflicts = profile_->standards.conflicts;
  a_.standards.owasp_isvs_level = profile_->standards.owasp_isvs_level;
  a_.standards.iec_62443_4_2_sl = profile_->standards.iec_62443_4_2_sl;
  a_.standards.nist_ir_8259a = profile_->standards.nist_ir_8259a;
}

}  // namespace secprof::assess::internal
