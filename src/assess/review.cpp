// Risk tracking and consistency warnings (docs/ASSESS.md, "Risk tracking" and "Warnings").
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "engine.h"

namespace secprof::assess::internal {
namespace {

const std::vector<std::string> kLevels = {"low", "moderate", "high", "critical"};
const std::vector<std::string> kSizes = {"small", "medium", "large"};
const std::vector<std::string> kCentral = {"none", "local", "backend", "local_and_backend"};
const std::vector<std::string> kInternet = {"none", "gateway", "direct"};

}  // namespace

void Engine::Warn(const std::string& kind, const std::string& message,
                  const SourceLocation& where) {
  a_.warnings.push_back({kind, message, where});
}

// Attaches each risk-tracking decision to the finding it names (rule and element). A decision
// that has expired (expires on or before the assessment date) no longer exempts its finding; one
// that names no finding is dangling. Both are warned about, so stale tracking is visible.
void Engine::Track() {
  if (m_.risk_tracking.empty()) return;
  // rule -> element -> decision
  std::map<std::string, std::map<std::string, const model::RiskDecision*>> by_key;
  for (const auto& d : m_.risk_tracking) by_key[d.rule][d.element] = &d;
  std::set<const model::RiskDecision*> used;
  for (auto& f : a_.findings) {
    auto rule = by_key.find(f.rule);
    if (rule == by_key.end()) continue;
    for (auto& e : f.elements) {
      auto it = rule->second.find(e.id);
      if (it == rule->second.end()) continue;
      const model::RiskDecision& d = *it->second;
      used.insert(&d);
      auto t = std::make_shared<Tracking>();
      t->decision = d;
      t->expired = !d.expires.empty() && d.expires <= a_.date;
      t->exempt = !t->expired && (d.status == "accepted" || d.status == "false_positive");
      if (t->expired) {
        Warn("tracking_expired",
             "risk tracking of " + d.rule + " on " + d.element + " (" + d.status + " by " + d.by +
                 ") expired on " + d.expires + "; the finding counts again",
             d.where);
      }
      e.tracking = std::move(t);
    }
  }
  std::set<std::string> rules;
  for (const auto& r : cat_.rules) rules.insert(r.id);
  for (const auto& d : m_.risk_tracking) {
    if (used.count(&d)) continue;
    const std::string why = rules.count(d.rule) ? "the rule does not fire on '" + d.element + "'"
                                                : "the catalog has no rule '" + d.rule + "'";
    Warn("tracking_dangling",
         "risk tracking of " + d.rule + " on " + d.element + " names no finding (" + why + ")",
         d.where);
  }
}

// True when `mit` is contradicted by the facts of `e` (Mitigation::contradicted_by).
bool Engine::Contradicted(const catalog::Mitigation& mit, const model::Element& e) const {
  for (const auto& c : mit.contradicted_by) {
    if (c.fact.rfind(e.scope + ".", 0) != 0) continue;
    catalog::When w;
    w.all.push_back(c);
    auto holds = eval_.Holds(w, e, facts_.system);
    if (holds && *holds) return true;
  }
  return false;
}

std::vector<std::string> Engine::ContradictedOn(const model::Element& e,
                                                const std::vector<std::string>& declared) {
  std::vector<std::string> out;
  for (const auto& id : declared) {
    const catalog::Mitigation* mit = cat_.FindMitigation(id);
    if (!mit || mit->contradicted_by.empty() || !Contradicted(*mit, e)) continue;
    out.push_back(id);
    if (contradictions_.insert({id, e.scope + ":" + e.id}).second) {
      std::string facts;
      for (const auto& c : mit->contradicted_by) {
        if (c.fact.rfind(e.scope + ".", 0) != 0) continue;
        auto v = e.facts->find(c.fact);
        if (v != e.facts->end()) facts += (facts.empty() ? "" : ", ") + c.fact + " = " + v->second;
      }
      Warn("mitigation_contradicted",
           "declared " + id + " does not count on " + e.scope + " " + e.id + ": the model says " +
               facts,
           e.where);
    }
  }
  return out;
}

// Removes from a finding the declared mitigations its elements' facts contradict (ContradictedOn);
// a required one counts as missing there.
void Engine::DropContradicted(const std::vector<std::string>& contradicted, Finding& f) const {
  if (contradicted.empty()) return;
  std::vector<std::string> kept;
  for (const auto& id : f.mitigated_by) {
    if (!Contains(contradicted, id)) {
      kept.push_back(id);
      continue;
    }
    f.contradicted.push_back(id);
    if (Contains(f.required, id) && !Contains(f.missing, id)) f.missing.push_back(id);
  }
  f.mitigated_by = std::move(kept);
}

// Warnings about what the model says of itself (issue 12, item 3). Features take the higher of
// the declared and derived value (model/facts.cpp); a declared feature below the derived one is
// reported. A declared mitigation that accepts a threat the chosen profile does not accept is
// reported too (its acceptance does not carry: see FindThreats).
void Engine::Consistency() {
  const model::Features& f = m_.features;
  const auto& sys = *facts_.system.facts;
  auto below = [&](const std::string& name, const std::string& declared,
                   const std::vector<std::string>& order, const std::string& used) {
    if (declared.empty() || IndexOf(order, declared) >= IndexOf(order, used)) return;
    Warn("feature_below_model",
         "features." + name + " is declared " + declared + " but the model implies " + used + "; " +
             used + " is used",
         f.where);
  };
  below("network_size", f.network_size, kSizes, sys.at("system.network_size"));
  below("data_value", f.data_value, kLevels, sys.at("system.data_value"));
  if (f.central_device != "none") {
    below("central_device", f.central_device, kCentral, sys.at("system.central_device"));
  }
  if (f.internet != "none") below("internet", f.internet, kInternet, sys.at("system.internet"));

  for (const auto& d : m_.mitigations) {
    const catalog::Mitigation* mit = cat_.FindMitigation(d.id);
    if (!mit || mit->accepts.empty() || Contains(profile_->mitigations, d.id)) continue;
    Warn(
        "acceptance_not_granted",
        d.id + " accepts " +
            [&] {
              std::string s;
              for (const auto& t : mit->accepts) s += (s.empty() ? "" : ", ") + t;
              return s;
            }() +
            ", but " + profile_->id + " does not accept it" +
            (mit->superseded_by.empty() ? "" : " (it requires " + mit->superseded_by + ")"),
        d.where);
  }
  std::stable_sort(a_.warnings.begin(), a_.warnings.end(), [](const Warning& x, const Warning& y) {
    return std::tie(x.where.line, x.where.column, x.kind) <
           std::tie(y.where.line, y.where.column, y.kind);
  });
}

}  // namespace secprof::assess::internal
