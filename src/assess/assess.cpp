// The engine's core: profile decision, threats, risk and residual risk, gaps and summary
// (docs/ASSESS.md, "How it decides", steps 1-7). BIA/PIA/standards are in analyses.cpp, risk
// tracking and consistency warnings in review.cpp.
#include <algorithm>
#include <ctime>
#include <set>

#include "engine.h"
#include "secprof/core/clock.h"
#include "secprof/core/time_format.h"

namespace secprof::assess {
namespace internal {

using catalog::Catalog;
using model::Element;
using model::Model;

int IndexOf(const std::vector<std::string>& v, const std::string& s) {
  auto it = std::find(v.begin(), v.end(), s);
  return it == v.end() ? -1 : static_cast<int>(it - v.begin());
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string ReplaceElement(const std::string& tmpl, const std::string& element) {
  std::string out = tmpl;
  const std::string key = "{element}";
  for (size_t p = out.find(key); p != std::string::npos; p = out.find(key, p + element.size())) {
    out.replace(p, key.size(), element);
  }
  return out;
}

namespace {

const std::string& AssetValue(const model::Asset& a, const std::string& property) {
  if (property == "confidentiality") return a.confidentiality;
  if (property == "integrity") return a.integrity;
  return a.availability;
}

}  // namespace

AssetIndex::AssetIndex(const Model& m) {
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

const std::vector<size_t>* AssetIndex::For(const Element& e) const {
  if (e.scope == "system") return nullptr;
  if (e.scope == "asset") {
    single_ = {asset_pos_.at(e.id)};
    return &single_;
  }
  const auto& map = e.scope == "link" ? by_link_ : by_endpoint_;
  auto it = map.find(e.id);
  return it == map.end() ? &empty_ : &it->second;
}

std::string AssetIndex::Hop(const std::string& a, const std::string& b) {
  return a < b ? a + '\x1f' + b : b + '\x1f' + a;
}

void AssetIndex::Add(std::vector<size_t>& to, const std::vector<size_t>& as) {
  for (size_t a : as) {
    if (std::find(to.begin(), to.end(), a) == to.end()) to.push_back(a);
  }
}

Engine::Engine(const Catalog& cat, const Model& m, std::string today, bool group)
    : cat_(cat), m_(m), eval_(cat), facts_(model::ComputeFacts(m)), assets_(m), group_(group) {
  a_.date = std::move(today);
}

Result<Assessment> Engine::Run() {
  a_.model_name = m_.name;
  a_.model_file = m_.file;
  a_.model_description = m_.description;
  a_.mitigations_where = m_.mitigations_where;
  a_.catalog_version = cat_.version;
  a_.system_facts = *facts_.system.facts;
  a_.risk_matrix = cat_.risk;
  SECPROF_TRY(CheckDeclared());
  SECPROF_TRY(DecideProfile());
  SECPROF_TRY(FindThreats());
  Track();
  Gaps();
  Bia();
  Pia();
  Standards();
  Consistency();
  Summarize();
  return std::move(a_);
}

Status Engine::CheckDeclared() {
  for (const auto& d : m_.mitigations) {
    if (!cat_.FindMitigation(d.id)) {
      return Fail(ErrorCode::kInvalidInput,
                  "unknown mitigation '" + d.id + "' (see `secprof catalog mitigations`)", d.where);
    }
    declared_.insert(d.id);
    a_.declared.push_back(d.id);
  }
  std::sort(a_.declared.begin(), a_.declared.end());
  return Ok();
}

Result<Trigger> Engine::Evaluate(const catalog::Profile& p, const catalog::Profile::Trigger& t) {
  Trigger out;
  out.profile = p.id;
  out.reason = t.reason;
  out.source = t.source;
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

Status Engine::DecideProfile() {
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

// Impact (step 4): the highest value, among the properties the rule (or else its threat)
// affects, of the assets the element carries. `fallback` is set when no modelled asset reaches
// the element and the system's data value stands in.
std::string Engine::Impact(const catalog::Threat& threat, const catalog::ThreatRule& rule,
                           const std::vector<size_t>* rel, bool& fallback) const {
  static const std::vector<std::string> kAll = {"confidentiality", "integrity", "availability"};
  const auto& order = cat_.risk.impact_levels;
  const std::vector<std::string>& named = rule.affects.empty() ? threat.affects : rule.affects;
  const std::vector<std::string>& props = named.empty() ? kAll : named;
  int best = -1;
  auto consider = [&](const model::Asset& a) {
    for (const auto& p : props) best = std::max(best, IndexOf(order, AssetValue(a, p)));
  };
  if (rel == nullptr) {
    for (const auto& a : m_.assets) consider(a);
  } else {
    for (size_t i : *rel) consider(m_.assets[i]);
  }
  fallback = best < 0;
  return best < 0 ? facts_.system.facts->at("system.data_value") : order[best];
}

std::string Engine::RiskOf(const std::string& likelihood, const std::string& impact) const {
  int l = IndexOf(cat_.risk.likelihood_levels, likelihood);
  int i = IndexOf(cat_.risk.impact_levels, impact);
  if (l < 0 || i < 0) return cat_.risk.risk_levels.back();  // unknown: assume the worst
  return cat_.risk.risk[l][i];
}

// Residual risk (step 6). Without a declared counter the finding is open (or cannot close in this
// profile) and keeps its likelihood; with some it is reduced, one likelihood level lower; once
// every countering mitigation the profile requires is declared it is closed: the lowest
// likelihood and the lowest risk level, the draft's "bringing the risk to a low level" (§6).
// Adding a declared mitigation can only move a finding towards closed.
void Engine::Residual(Finding& f) const {
  const auto& order = cat_.risk.likelihood_levels;
  const int l = IndexOf(order, f.likelihood);
  if (f.mitigated_by.empty() || l < 0) {
    f.residual_state = f.required.empty() ? kCannotClose : kOpen;
    f.residual_likelihood = f.likelihood;
    f.residual_risk = RiskOf(f.residual_likelihood, f.impact);
  } else if (f.missing.empty()) {
    f.residual_state = kClosed;
    f.residual_likelihood = order.front();
    f.residual_risk = cat_.risk.risk_levels.front();
  } else {
    f.residual_state = kReduced;
    f.residual_likelihood = order[std::max(0, l - 1)];
    f.residual_risk = RiskOf(f.residual_likelihood, f.impact);
  }
  f.residual_must_mitigate = Contains(cat_.risk.must_mitigate, f.residual_risk);
}

// For a finding no required mitigation counters: the catalog's other mitigations that would, with
// the lowest-ranked profile requiring each ("" when none does).
void Engine::ClosesWith(const catalog::ThreatRule& r, const catalog::Threat& t, Finding& f) const {
  for (const auto* mit : cat_.MitigationsFor(t.id)) {
    if ((!mit->phases.empty() && !Contains(mit->phases, r.phase)) ||
        (!mit->layers.empty() && !Contains(mit->layers, r.layer))) {
      continue;
    }
    std::string lowest;
    for (const auto& p : cat_.profiles) {
      if (Contains(p.mitigations, mit->id)) {
        lowest = p.id;
        break;
      }
    }
    f.closes_with.emplace_back(mit->id, lowest);
  }
}

Engine::ScopeIndex Engine::IndexScope(const std::string& scope) const {
  ScopeIndex x;
  x.elements = facts_.Scope(scope);
  // Sorted by id through keys that hold the first 8 bytes of the id as a big-endian number, so
  // most comparisons touch neither the elements nor their strings.
  struct Key {
    uint64_t prefix;
    const model::Element* e;
  };
  std::vector<Key> keys;
  keys.reserve(x.elements.size());
  for (const model::Element* e : x.elements) {
    uint64_t prefix = 0;
    for (size_t i = 0; i < 8; ++i) {
      prefix = (prefix << 8) | (i < e->id.size() ? static_cast<unsigned char>(e->id[i]) : 0u);
    }
    keys.push_back({prefix, e});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.prefix != b.prefix ? a.prefix < b.prefix : a.e->id < b.e->id;
  });
  for (size_t i = 0; i < keys.size(); ++i) x.elements[i] = keys[i].e;
  // ComputeFacts shares one map among the elements of a scope with equal facts.
  std::unordered_map<const model::FactMap*, uint32_t> classes;
  x.fact_class.reserve(x.elements.size());
  x.assets.reserve(x.elements.size());
  const bool copy = scope == "asset";
  if (copy) x.own.reserve(x.elements.size());  // no reallocation: x.assets points into it
  for (const model::Element* e : x.elements) {
    auto [it, added] = classes.emplace(e->facts.get(), x.classes);
    if (added) ++x.classes;
    x.fact_class.push_back(it->second);
    const std::vector<size_t>* rel = assets_.For(*e);
    if (copy && rel) {
      x.own.push_back(*rel);
      rel = &x.own.back();
    }
    x.assets.push_back(rel);
  }
  return x;
}

// Threats (steps 2-6). A rule's counters depend only on the rule, so the outcome of a rule on an
// element varies only with the likelihood (raised by element facts), the impact (the assets the
// element carries) and the declared mitigations the element's facts contradict. Elements with the
// same outcome share one group: the outcome is computed and stored once per group.
Status Engine::FindThreats() {
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
  // What distinguishes the outcomes of one rule.
  struct Outcome {
    int likelihood = -1;
    std::string impact;
    bool fallback = false;
    std::vector<std::string> contradicted;
    size_t group = 0;  // index in a_.findings
    bool operator==(const Outcome& o) const {
      return likelihood == o.likelihood && impact == o.impact && fallback == o.fallback &&
             contradicted == o.contradicted;
    }
  };
  const auto& levels = cat_.risk.likelihood_levels;

  // Elements are visited in id order, so each group's element list is built sorted.
  std::unordered_map<std::string, ScopeIndex> scopes;
  for (const auto& rule : cat_.rules) {
    const catalog::Threat* threat = cat_.FindThreat(rule.threat);
    if (!threat) return Fail(ErrorCode::kInternal, "rule " + rule.id + " names unknown threat");
    const Counter ctr = counter_for(rule, *threat);
    const int base = IndexOf(levels, rule.likelihood);
    auto scope_at = scopes.find(rule.scope);
    if (scope_at == scopes.end())
      scope_at = scopes.emplace(rule.scope, IndexScope(rule.scope)).first;
    const ScopeIndex& scope = scope_at->second;
    // Whether a declared counter can be contradicted by element facts at all.
    const bool may_contradict =
        std::any_of(ctr.declared.begin(), ctr.declared.end(), [&](const std::string& id) {
          const catalog::Mitigation* mit = cat_.FindMitigation(id);
          return mit && !mit->contradicted_by.empty();
        });
    // By fact class: -1 not yet evaluated, else whether the rule fires; its likelihood; and
    // whether any declared counter is contradicted (-1 not yet known).
    std::vector<int8_t> fires(scope.classes, -1), contradicts(scope.classes, -1);
    std::vector<int> likelihood(scope.classes, base);
    std::vector<Outcome> outcomes;  // of this rule; few, so searched linearly
    for (size_t k = 0; k < scope.elements.size(); ++k) {
      const Element* e = scope.elements[k];
      const uint32_t c = scope.fact_class[k];
      if (fires[c] < 0) {
        auto fired = eval_.Holds(rule.when, *e, facts_.system);
        if (!fired) return Fail(fired.error().WithContext("rule " + rule.id));
        fires[c] = *fired ? 1 : 0;
        if (*fired) {
          for (const auto& r : rule.raise) {
            SECPROF_ASSIGN_OR_RETURN(bool up, eval_.Holds(r.when, *e, facts_.system));
            if (up) likelihood[c] = std::max(likelihood[c], IndexOf(levels, r.likelihood));
          }
        }
      }
      if (!fires[c]) continue;
      Outcome o;
      o.likelihood = likelihood[c];
      o.impact = Impact(*threat, rule, scope.assets[k], o.fallback);
      if (may_contradict) {
        if (contradicts[c] < 0) {
          contradicts[c] =
              std::any_of(ctr.declared.begin(), ctr.declared.end(), [&](const std::string& id) {
                const catalog::Mitigation* mit = cat_.FindMitigation(id);
                return mit && !mit->contradicted_by.empty() && Contradicted(*mit, *e);
              });
        }
        // Called per element when it can find something: it warns once per element.
        if (contradicts[c]) o.contradicted = ContradictedOn(*e, ctr.declared);
      }
      auto same = std::find(outcomes.begin(), outcomes.end(), o);
      size_t g = a_.findings.size();
      if (group_ && same != outcomes.end()) {
        g = same->group;
      } else {
        Finding f;
        f.threat = threat->id;
        f.threat_name = threat->name;
        f.addition = threat->addition;
        f.rule = rule.id;
        f.phase = rule.phase;
        f.layer = rule.layer;
        f.scope = e->scope;
        f.why = rule.why;
        f.likelihood = o.likelihood < 0 ? rule.likelihood : levels[o.likelihood];
        f.impact = o.impact;
        f.impact_fallback = o.fallback;
        f.risk = RiskOf(f.likelihood, f.impact);
        f.must_mitigate = Contains(cat_.risk.must_mitigate, f.risk);
        f.mitigated_by = ctr.declared;
        f.required = ctr.required;
        f.missing = ctr.missing;
        // Only the profile's own acceptance carries (the first key in the clear of SecProf_1/2);
        // Consistency() warns about a declared acceptance the profile does not grant.
        for (const auto& id : ctr.accepted) {
          if (Contains(profile_->mitigations, id)) f.accepted_by.push_back(id);
        }
        DropContradicted(o.contradicted, f);
        Residual(f);
        if (f.required.empty()) {
          ClosesWith(rule, *threat, f);
          f.uncountered = rule.uncountered;
        }
        a_.findings.push_back(std::move(f));
        o.group = g;
        if (group_) outcomes.push_back(std::move(o));
      }
      a_.findings[g].elements.push_back({e->id, e->where.line, e->where.column, nullptr});
    }
  }
  SortFindings(threat_pos);
  return Ok();
}

// Sorts the elements of each group by id, then the groups by threat (catalog order), phase, layer
// (catalog order), scope, first element, rule. Integer keys are computed once and an index is
// sorted, so the groups move once.
void Engine::SortFindings(const std::unordered_map<std::string, int>& threat_pos) {
  std::unordered_map<std::string, int> phase_pos, layer_pos;
  for (size_t i = 0; i < cat_.phases.size(); ++i) phase_pos[cat_.phases[i].id] = i;
  for (size_t i = 0; i < cat_.layers.size(); ++i) layer_pos[cat_.layers[i].id] = i;
  auto& fs = a_.findings;
  // FindThreats visits elements in id order, so this sort normally finds nothing to do.
  const auto by_id = [](const FindingElement& x, const FindingElement& y) { return x.id < y.id; };
  for (auto& f : fs) {
    if (!std::is_sorted(f.elements.begin(), f.elements.end(), by_id)) {
      std::sort(f.elements.begin(), f.elements.end(), by_id);
    }
  }
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
    if (int c = a.elements.front().id.compare(b.elements.front().id)) return c < 0;
    if (int c = a.rule.compare(b.rule)) return c < 0;
    return x.index < y.index;
  });
  std::vector<Finding> sorted;
  sorted.reserve(fs.size());
  for (const Key& k : keys) sorted.push_back(std::move(fs[k.index]));
  fs = std::move(sorted);
}

int Engine::ResidualRank(const std::string& r) const { return IndexOf(cat_.risk.risk_levels, r); }

void Engine::Gaps() {
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

void Engine::Summarize() {
  Summary& s = a_.summary;
  for (const auto& r : cat_.risk.risk_levels) {
    s.by_risk[r] = 0;
    s.by_residual_risk[r] = 0;
  }
  for (const char* st : {kOpen, kReduced, kClosed, kCannotClose}) s.by_state[st] = 0;
  int hi = -1, hr = -1;
  s.groups = a_.findings.size();
  for (const auto& f : a_.findings) {
    const int n = static_cast<int>(f.elements.size());
    s.findings += f.elements.size();
    s.by_risk[f.risk] += n;
    s.by_residual_risk[f.residual_risk] += n;
    s.by_state[f.residual_state] += n;
    for (const auto& e : f.elements) {
      if (e.tracking) ++s.by_tracking[e.tracking->decision.status];
    }
    s.must_mitigate += f.must_mitigate ? n : 0;
    s.residual_must_mitigate += f.residual_must_mitigate ? n : 0;
    hi = std::max(hi, ResidualRank(f.risk));
    hr = std::max(hr, ResidualRank(f.residual_risk));
  }
  if (hi >= 0) s.highest_risk = cat_.risk.risk_levels[hi];
  if (hr >= 0) s.highest_residual_risk = cat_.risk.risk_levels[hr];
}

}  // namespace internal

std::string Finding::WhyFor(const FindingElement& e) const {
  return internal::ReplaceElement(why, e.id);
}

std::string Finding::ElementIds(const std::string& sep) const {
  std::string out;
  for (const auto& e : elements) {
    if (!out.empty()) out += sep;
    out += e.id;
  }
  return out;
}

std::string Finding::WhyForAll() const { return internal::ReplaceElement(why, ElementIds()); }

int RiskRank(const catalog::RiskMatrix& m, const std::string& level) {
  return internal::IndexOf(m.risk_levels, level);
}

int CountFailing(const Assessment& a, const std::string& level) {
  const int gate = RiskRank(a.risk_matrix, level);
  if (gate < 0) return -1;
  int hits = 0;
  for (const auto& f : a.findings) {
    if (RiskRank(a.risk_matrix, f.residual_risk) < gate) continue;
    for (const auto& e : f.elements) hits += !(e.tracking && e.tracking->exempt);
  }
  return hits;
}

std::string UtcDate(int64_t unix_seconds) { return FormatIsoDate(unix_seconds); }

Result<Assessment> Assess(const catalog::Catalog& cat, const model::Model& model,
                          const Options& options) {
  std::string today = options.today;
  if (today.empty()) today = UtcDate(UnixSeconds(SystemClock()));
  if (!model::IsIsoDate(today)) {
    return Fail(ErrorCode::kInvalidInput, "assessment date '" + today + "' is not YYYY-MM-DD");
  }
  internal::Engine engine(cat, model, today, options.group);
  return engine.Run();
}

}  // namespace secprof::assess
