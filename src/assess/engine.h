// Internal to secprof::assess: the engine that computes an Assessment. Its steps are split by
// concern: engine.cpp (profile, threats, residual risk, gaps, summary), analyses.cpp (BIA, PIA,
// standards) and review.cpp (risk tracking and consistency warnings). docs/ASSESS.md describes
// each step; the numbers in comments refer to its "How it decides" list.
#pragma once

#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "conditions.h"
#include "secprof/assess/assess.h"

namespace secprof::assess::internal {

int IndexOf(const std::vector<std::string>& v, const std::string& s);
bool Contains(const std::vector<std::string>& v, const std::string& s);
// `tmpl` with every "{element}" replaced by `element`.
std::string ReplaceElement(const std::string& tmpl, const std::string& element);

// Which data assets each model element touches (through the flows that cross it).
class AssetIndex {
 public:
  explicit AssetIndex(const model::Model& m);

  // Asset positions relevant to an element; nullptr means "the whole system".
  const std::vector<size_t>* For(const model::Element& e) const;

 private:
  static std::string Hop(const std::string& a, const std::string& b);
  static void Add(std::vector<size_t>& to, const std::vector<size_t>& as);
  std::unordered_map<std::string, size_t> asset_pos_;
  std::unordered_map<std::string, std::vector<size_t>> by_endpoint_, by_hop_, by_link_;
  mutable std::vector<size_t> single_;
  std::vector<size_t> empty_;
};

class Engine {
 public:
  // `group`: elements with the same rule and outcome share a finding group (Options::group).
  Engine(const catalog::Catalog& cat, const model::Model& m, std::string today, bool group);

  Result<Assessment> Run();

 private:
  // engine.cpp
  Status CheckDeclared();
  Result<Trigger> Evaluate(const catalog::Profile& p, const catalog::Profile::Trigger& t);
  Status DecideProfile();
  // `rel`: the assets the element carries (AssetIndex::For), nullptr for the whole system.
  std::string Impact(const catalog::Threat& threat, const catalog::ThreatRule& rule,
                     const std::vector<size_t>* rel, bool& fallback) const;
  std::string RiskOf(const std::string& likelihood, const std::string& impact) const;
  void Residual(Finding& f) const;
  void ClosesWith(const catalog::ThreatRule& r, const catalog::Threat& t, Finding& f) const;
  // The elements of one scope in id order, each with its fact class (the elements sharing one
  // FactMap, whose facts are therefore equal: a rule's conditions are evaluated once per class)
  // and the assets it carries (FindThreats).
  struct ScopeIndex {
    std::vector<const model::Element*> elements;
    std::vector<uint32_t> fact_class;
    uint32_t classes = 0;
    std::vector<const std::vector<size_t>*> assets;  // by element, as AssetIndex::For gives
    std::vector<std::vector<size_t>> own;  // for assets: AssetIndex::For reuses one vector
  };
  ScopeIndex IndexScope(const std::string& scope) const;
  Status FindThreats();
  void SortFindings(const std::unordered_map<std::string, int>& threat_pos);
  int ResidualRank(const std::string& r) const;
  void Gaps();
  void Summarize();

  // analyses.cpp
  void Bia();
  void Requirements(const std::string& layer, PiaExposure& x) const;
  void Pia();
  void Standards();

  // review.cpp
  void Track();
  void Consistency();
  bool Contradicted(const catalog::Mitigation& mit, const model::Element& e) const;
  // The mitigations of `declared` that the facts of `e` contradict; warns once per mitigation
  // and element.
  std::vector<std::string> ContradictedOn(const model::Element& e,
                                          const std::vector<std::string>& declared);
  void DropContradicted(const std::vector<std::string>& contradicted, Finding& f) const;
  void Warn(const std::string& kind, const std::string& message, const SourceLocation& where);

  const catalog::Catalog& cat_;
  const model::Model& m_;
  ConditionEvaluator eval_;
  model::FactSet facts_;
  AssetIndex assets_;
  std::unordered_set<std::string> declared_;
  const catalog::Profile* profile_ = nullptr;
  Assessment a_;
  std::set<std::pair<std::string, std::string>> contradictions_;  // (mitigation, element) warned
  bool group_ = true;
};

}  // namespace secprof::assess::internal
