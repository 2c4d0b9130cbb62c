#include "secprof/assess/assess.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "conditions.h"

namespace secprof::assess {
namespace {

using catalog::Catalog;
using model::Element;
using model::FactSet;
using model::Model;

int IndexOf(const std::vector<std::string>& v, const std::string& s) {
  auto it = std::find(v.begin(), v.end(), s);
  return it == v.end() ? -1 : static_cast<int>(it - v.begin());
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

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

std::string ReplaceElement(const std::string& tmpl, const std::string& element) {
  std::string out = tmpl;
  const std::string key = "{element}";
  for (size_t p = out.find(key); p != std::string::npos; p = out.find(key, p + element.size())) {
    out.replace(p, key.size(), element);
  }
  return out;
}

// Which data assets each model element touches (through the flows that cross it).
class AssetIndex {
 public:
  explicit AssetIndex(const Model& m) {
    for (size_t i = 0; i < m.assets.size(); ++i) asset_pos_.emplace(m.assets[i].id, i);
    for (const auto& f : m.flows) {
      std::vector<size_t> as;
      for (const auto& a : f.assets) as.push_back(asset_pos_.at(a));
      std::vector<std::string> path;
      path.push_back(f.from);
      path.insert(path.end(), f.via.begin(), f.via.end());
      path.push_back(f.to);
      for (const auto& p : path) Add(by_endpoint_[p], as);
      for (size_t k = 0; k + 1 < path.size(); ++k) Add(by_hop_[Hop(path[k], path[k + 1])], as);
    }
    for (const auto& l : m.links) {
      auto it = by_hop_.find(Hop(l.from, l.to));
      if (it != by_hop_.end()) by_link_[l.id] = it->second;
    }
  }

  // Asset positions relevant to an element; nullptr means "the whole system".
  const std::vector<size_t>* For(const Element& e) const {
    if (e.scope == "system") return nullptr;
    if (e.scope == "asset") {
      single_ = {asset_pos_.at(e.id)};
      return &single_;
    }
    const auto& map = e.scope == "link" ? by_link_ : by_endpoint_;
    auto it = map.find(e.id);
    return it == map.end() ? &empty_ : &it->second;
  }

 private:
  static std::string Hop(const std::string& a, const std::string& b) {
    return a < b ? a + '\x1f' + b : b + '\x1f' + a;
  }
  static void Add(std::vector<size_t>& to, const std::vector<size_t>& as) {
    for (size_t a : as) {
      if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(a);
    }
  }
  std::unordered_map<std::string, size_t> asset_pos_;
  std::unordered_map<std::string, std::vector<size_t>> by_endpoint_, by_hop_, by_link_;
  mutable std::vector<size_t> single_;
  std::vector<size_t> empty_;
};

const std::string& AssetValue(const model::Asset& a, const std::string& property) {
  if (property == "confidentiality") return a.confidentiality;
  if (property == "integrity") return a.integrity;
  return a.availability;
}

// The highest level, by `order`, among `levels`; `fallback` when none is known.
std::string MaxLevel(const std::vector<std::string>& order, const std::vector<std::string>& levels,
                     const std::string& fallback) {
  int best = -1;
  for (const auto& l : levels) best = std::max(best, IndexOf(order, l));
  return best < 0 ? fallback : order[best];
}

class Engine {
 public:
  Engine(const Catalog& cat, const Model& m)
      : cat_(cat), m_(m), eval_(cat), facts_(model::ComputeFacts(m)), assets_(m) {}

  Result<Assessment> Run() {
    a_.model_name = m_.name;
    a_.model_file = m_.file;
    a_.model_description = m_.description;
    a_.mitigations_where = m_.mitigations_where;
    a_.catalog_version = cat_.version;
    a_.system_facts = facts_.system.facts;
    a_.risk_matrix = cat_.risk;
    SECPROF_TRY(CheckDeclared());
    SECPROF_TRY(DecideProfile());
    SECPROF_TRY(FindThreats());
    Gaps();
    Bia();
    Pia();
    Standards();
    Summarize();
    return std::move(a_);
  }

 private:
  Status CheckDeclared() {
    for (const auto& d : m_.mitigations) {
      if (!cat_.FindMitigation(d.id)) {
        return Fail(ErrorCode::kInvalidInput,
                    "unknown mitigation '" + d.id + "' (see `secprof catalog mitigations`)",
                    d.where);
      }
      declared_.insert(d.id);
      a_.declared.push_back(d.id);
    }
    std::sort(a_.declared.begin(), a_.declared.end());
    return Ok();
  }

  Result<Trigger> Evaluate(const catalog::Profile& p, const catalog::Profile::Trigger& t) {
    Trigger out;
    out.profile = p.id;
    out.reason = t.reason;
    for (const auto& c : t.when.all) out.conditions.push_back(ConditionEvaluator::Render(c));
    if (!t.when.any.empty()) {
      std::string any;
      for (const auto& c : t.when.any) {
        any += (any.empty() ? "" : " or ") + ConditionEvaluator::Render(c);
      }
      out.conditions.push_back("(" + any + ")");
    }
    SECPROF_ASSIGN_OR_RETURN(out.holds, eval_.Holds(t.when, facts_.system, facts_.system));
    return out;
  }

  Status DecideProfile() {
    if (cat_.profiles.empty()) return Fail(ErrorCode::kInternal, "the catalog has no profiles");
    // Profiles are sorted by rank; the chosen one is the highest whose trigger holds.
    const catalog::Profile* chosen = &cat_.profiles.front();
    std::vector<std::vector<Trigger>> evaluated;
    for (const auto& p : cat_.profiles) {
      std::vector<Trigger> ts;
      for (const auto& t : p.triggers) {
        SECPROF_ASSIGN_OR_RETURN(Trigger e, Evaluate(p, t));
        ts.push_back(std::move(e));
      }
      if (std::any_of(ts.begin(), ts.end(), [](const Trigger& t) { return t.holds; })) chosen = &p;
      evaluated.push_back(std::move(ts));
    }
    profile_ = chosen;
    a_.profile.id = chosen->id;
    a_.profile.name = chosen->name;
    for (size_t i = 0; i < cat_.profiles.size(); ++i) {
      const auto& p = cat_.profiles[i];
      for (auto& t : evaluated[i]) {
        if (p.rank > chosen->rank) {
          a_.profile.move_up.push_back(t);
        } else if (p.rank == chosen->rank && t.holds) {
          a_.profile.decided_by.push_back(t);
        } else if (p.rank < chosen->rank && t.holds) {
          a_.profile.held_lower.push_back(t);
        }
      }
    }
    return Ok();
  }

  std::string Impact(const catalog::Threat& threat, const Element& e) const {
    const auto& order = cat_.risk.impact_levels;
    std::vector<std::string> props = threat.affects;
    if (props.empty()) props = {"confidentiality", "integrity", "availability"};
    std::vector<std::string> levels;
    auto consider = [&](const model::Asset& a) {
      for (const auto& p : props) levels.push_back(AssetValue(a, p));
    };
    const std::vector<size_t>* rel = assets_.For(e);
    if (rel == nullptr) {
      for (const auto& a : m_.assets) consider(a);
    } else {
      for (size_t i : *rel) consider(m_.assets[i]);
    }
    // Without assets on its flows, an element carries the system's data value.
    return MaxLevel(order, levels, facts_.system.facts.at("system.data_value"));
  }

  std::string RiskOf(const std::string& likelihood, const std::string& impact) const {
    int l = IndexOf(cat_.risk.likelihood_levels, likelihood);
    int i = IndexOf(cat_.risk.impact_levels, impact);
    if (l < 0 || i < 0) return cat_.risk.risk_levels.back();  // unknown: assume the worst
    return cat_.risk.risk[l][i];
  }

  // Residual likelihood: unchanged without a countering mitigation; one level lower with some;
  // the lowest level once every countering mitigation the profile requires is in place. Adding a
  // declared mitigation can only keep or lower it.
  std::string Residual(const std::string& likelihood, const Finding& f) const {
    const auto& order = cat_.risk.likelihood_levels;
    int l = IndexOf(order, likelihood);
    if (f.mitigated_by.empty() || l < 0) return likelihood;
    if (!f.required.empty() && f.missing.empty()) return order.front();
    return order[std::max(0, l - 1)];
  }

  Status FindThreats() {
    std::unordered_map<std::string, int> threat_pos;
    for (size_t i = 0; i < cat_.threats.size(); ++i) threat_pos[cat_.threats[i].id] = i;
    // A mitigation counts against a finding when it counters the finding's threat (or its parent)
    // at the finding's phase and layer (a mitigation listing no phases or layers covers all). DTLS
    // in operation, say, does not counter eavesdropping on a pairing at installation.
    struct Counter {
      std::vector<std::string> declared, required, missing, accepted;
    };
    auto covers = [](const catalog::Mitigation& mit, const catalog::ThreatRule& r) {
      return (mit.phases.empty() || Contains(mit.phases, r.phase)) &&
             (mit.layers.empty() || Contains(mit.layers, r.layer));
    };
    auto counter_for = [&](const catalog::ThreatRule& r, const catalog::Threat& t) {
      Counter c;
      for (const auto* mit : cat_.MitigationsFor(t.id)) {
        if (!covers(*mit, r)) continue;
        if (declared_.count(mit->id)) c.declared.push_back(mit->id);
        if (Contains(profile_->mitigations, mit->id)) {
          c.required.push_back(mit->id);
          if (!declared_.count(mit->id)) c.missing.push_back(mit->id);
        }
      }
      // Declared mitigations that knowingly accept this threat (e.g. the first key in the clear).
      for (const auto& mit : cat_.mitigations) {
        if (!declared_.count(mit.id) || !covers(mit, r)) continue;
        if (Contains(mit.accepts, t.id) || (!t.parent.empty() && Contains(mit.accepts, t.parent))) {
          c.accepted.push_back(mit.id);
        }
      }
      return c;
    };

    for (const auto& rule : cat_.rules) {
      const catalog::Threat* threat = cat_.FindThreat(rule.threat);
      if (!threat) return Fail(ErrorCode::kInternal, "rule " + rule.id + " names unknown threat");
      const Counter ctr = counter_for(rule, *threat);
      for (const Element* e : facts_.Scope(rule.scope)) {
        auto fired = eval_.Holds(rule.when, *e, facts_.system);
        if (!fired) return Fail(fired.error().WithContext("rule " + rule.id));
        if (!*fired) continue;
        Finding f;
        f.threat = threat->id;
        f.threat_name = threat->name;
        f.addition = threat->addition;
        f.rule = rule.id;
        f.phase = rule.phase;
        f.layer = rule.layer;
        f.scope = e->scope;
        f.element = e->id;
        f.where = e->where;
        f.why = ReplaceElement(rule.why, e->id);
        f.likelihood = rule.likelihood;
        for (const auto& r : rule.raise) {
          SECPROF_ASSIGN_OR_RETURN(bool up, eval_.Holds(r.when, *e, facts_.system));
          if (up && IndexOf(cat_.risk.likelihood_levels, r.likelihood) >
                        IndexOf(cat_.risk.likelihood_levels, f.likelihood)) {
            f.likelihood = r.likelihood;
          }
        }
        f.impact = Impact(*threat, *e);
        f.risk = RiskOf(f.likelihood, f.impact);
        f.must_mitigate = Contains(cat_.risk.must_mitigate, f.risk);
        f.mitigated_by = ctr.declared;
        f.required = ctr.required;
        f.missing = ctr.missing;
        f.accepted_by = ctr.accepted;
        f.residual_likelihood = Residual(f.likelihood, f);
        f.residual_risk = RiskOf(f.residual_likelihood, f.impact);
        f.residual_must_mitigate = Contains(cat_.risk.must_mitigate, f.residual_risk);
        a_.findings.push_back(std::move(f));
      }
    }
    SortFindings(threat_pos);
    return Ok();
  }

  // Sorts findings by threat (catalog order), phase, layer (catalog order), scope, element, rule.
  // Integer keys are computed once and an index is sorted, so the (large) findings move once.
  void SortFindings(const std::unordered_map<std::string, int>& threat_pos) {
    std::unordered_map<std::string, int> phase_pos, layer_pos;
    for (size_t i = 0; i < cat_.phases.size(); ++i) phase_pos[cat_.phases[i].id] = i;
    for (size_t i = 0; i < cat_.layers.size(); ++i) layer_pos[cat_.layers[i].id] = i;
    auto& fs = a_.findings;
    struct Key {
      int threat, phase, layer;
      size_t index;
    };
    std::vector<Key> keys(fs.size());
    for (size_t i = 0; i < fs.size(); ++i) {
      keys[i] = {threat_pos.at(fs[i].threat), phase_pos.at(fs[i].phase), layer_pos.at(fs[i].layer),
                 i};
    }
    std::sort(keys.begin(), keys.end(), [&](const Key& x, const Key& y) {
      if (x.threat != y.threat) return x.threat < y.threat;
      if (x.phase != y.phase) return x.phase < y.phase;
      if (x.layer != y.layer) return x.layer < y.layer;
      const Finding& a = fs[x.index];
      const Finding& b = fs[y.index];
      if (int c = a.scope.compare(b.scope)) return c < 0;
      if (int c = a.element.compare(b.element)) return c < 0;
      if (int c = a.rule.compare(b.rule)) return c < 0;
      return x.index < y.index;
    });
    std::vector<Finding> sorted;
    sorted.reserve(fs.size());
    for (const Key& k : keys) sorted.push_back(std::move(fs[k.index]));
    fs = std::move(sorted);
  }

  int ResidualRank(const std::string& r) const { return IndexOf(cat_.risk.risk_levels, r); }

  void Gaps() {
    // One pass over the findings: for each missing mitigation, the threats it would counter and
    // the highest residual risk among the findings that lack it.
    struct Open {
      std::set<std::string> threats;
      int best = -1;
    };
    std::unordered_map<std::string, Open> open;
    for (const auto& f : a_.findings) {
      const int r = ResidualRank(f.residual_risk);
      for (const auto& id : f.missing) {
        Open& o = open[id];
        o.threats.insert(f.threat);
        o.best = std::max(o.best, r);
      }
    }
    for (const auto& id : profile_->mitigations) {
      if (declared_.count(id)) continue;
      const catalog::Mitigation* mit = cat_.FindMitigation(id);
      if (!mit) continue;  // the catalog loader guarantees profile references resolve
      Gap g;
      g.mitigation = id;
      g.name = mit->name;
      g.building_block = mit->building_block;
      g.etsi = mit->references.etsi;
      if (auto it = open.find(id); it != open.end()) {
        g.threats.assign(it->second.threats.begin(), it->second.threats.end());
        if (it->second.best >= 0) g.highest_risk = cat_.risk.risk_levels[it->second.best];
      }
      a_.gaps.push_back(std::move(g));
    }
    std::sort(a_.gaps.begin(), a_.gaps.end(),
              [](const Gap& x, const Gap& y) { return x.mitigation < y.mitigation; });
    for (const auto& d : a_.declared) {
      if (!Contains(profile_->mitigations, d)) a_.beyond_profile.push_back(d);
    }
  }

  void Bia() {
    // Findings per element, to attribute threats to the assets those elements carry.
    std::unordered_map<std::string, std::vector<const Finding*>> by_element;
    for (const auto& f : a_.findings) by_element[f.scope + ":" + f.element].push_back(&f);
    AssetIndex& idx = assets_;
    std::vector<std::vector<const Finding*>> per_asset(m_.assets.size());
    auto attribute = [&](const std::vector<const Element*>& elems) {
      for (const Element* e : elems) {
        auto it = by_element.find(e->scope + ":" + e->id);
        if (it == by_element.end()) continue;
        const std::vector<size_t>* rel = idx.For(*e);
        if (rel == nullptr) continue;
        for (size_t i : *rel) {
          per_asset[i].insert(per_asset[i].end(), it->second.begin(), it->second.end());
        }
      }
    };
    for (const char* scope : {"thing", "link", "node", "asset"}) attribute(facts_.Scope(scope));
    auto sys = by_element.find("system:system");
    for (size_t i = 0; i < m_.assets.size(); ++i) {
      const auto& asset = m_.assets[i];
      BiaEntry b;
      b.asset = asset.id;
      b.description = asset.description;
      b.confidentiality = asset.confidentiality;
      b.integrity = asset.integrity;
      b.availability = asset.availability;
      b.personal = asset.personal;
      std::vector<const Finding*> fs = per_asset[i];
      if (sys != by_element.end()) fs.insert(fs.end(), sys->second.begin(), sys->second.end());
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
  void Requirements(const std::string& layer, PiaExposure& x) const {
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

  void Pia() {
    std::unordered_map<std::string, const model::Node*> nodes;
    for (const auto& n : m_.nodes) nodes.emplace(n.id, &n);
    std::set<std::tuple<std::string, std::string, std::string>> seen;
    auto add = [&](const std::string& asset, const std::string& kind, const std::string& element,
                   const std::string& text, const std::string& layer) {
      if (!seen.insert({asset, kind, element}).second) return;
      PiaExposure x;
      x.asset = asset;
      x.kind = kind;
      x.element = element;
      x.description = text;
      Requirements(layer, x);
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
    if (facts_.system.facts.at("system.ownership_transfer") == "true" &&
        facts_.system.facts.at("system.personal_data") == "true") {
      add("(all personal data)", "reownership", "system",
          "things change owner: personal data must be wiped at decommissioning and re-ownership",
          "thing");
    }
    std::sort(a_.pia.begin(), a_.pia.end(), [](const PiaExposure& x, const PiaExposure& y) {
      return std::tie(x.asset, x.kind, x.element) < std::tie(y.asset, y.kind, y.element);
    });
  }

  void Standards() {
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

  void Summarize() {
    Summary& s = a_.summary;
    for (const auto& r : cat_.risk.risk_levels) {
      s.by_risk[r] = 0;
      s.by_residual_risk[r] = 0;
    }
    int hi = -1, hr = -1;
    for (const auto& f : a_.findings) {
      ++s.by_risk[f.risk];
      ++s.by_residual_risk[f.residual_risk];
      s.must_mitigate += f.must_mitigate;
      s.residual_must_mitigate += f.residual_must_mitigate;
      hi = std::max(hi, ResidualRank(f.risk));
      hr = std::max(hr, ResidualRank(f.residual_risk));
    }
    if (hi >= 0) s.highest_risk = cat_.risk.risk_levels[hi];
    if (hr >= 0) s.highest_residual_risk = cat_.risk.risk_levels[hr];
  }

  const Catalog& cat_;
  const Model& m_;
  ConditionEvaluator eval_;
  FactSet facts_;
  AssetIndex assets_;
  std::unordered_set<std::string> declared_;
  const catalog::Profile* profile_ = nullptr;
  Assessment a_;
};

}  // namespace

int RiskRank(const catalog::RiskMatrix& m, const std::string& level) {
  return IndexOf(m.risk_levels, level);
}

Result<Assessment> Assess(const Catalog& cat, const Model& model) {
  Engine engine(cat, model);
  return engine.Run();
}

}  // namespace secprof::assess
