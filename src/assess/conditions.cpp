#include "conditions.h"

#include <algorithm>
#include <charconv>

namespace secprof::assess {
namespace {

std::string JoinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

bool ParseNumber(const std::string& s, double& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string ConditionEvaluator::Render(const catalog::Condition& c) {
  if (c.equals) return c.fact + " = " + *c.equals;
  if (c.not_equals) return c.fact + " != " + *c.not_equals;
  if (!c.in.empty()) return c.fact + " in " + JoinList(c.in);
  if (!c.not_in.empty()) return c.fact + " not in " + JoinList(c.not_in);
  if (c.at_least) return c.fact + " >= " + *c.at_least;
  if (c.at_most) return c.fact + " <= " + *c.at_most;
  return c.fact + " (no operator)";
}

Result<int> ConditionEvaluator::Compare(const catalog::Condition& c, const std::string& value,
                                        const std::string& bound) const {
  const catalog::Fact* f = cat_.FindFact(c.fact);
  if (f && f->type == "number") {
    double a = 0, b = 0;
    if (!ParseNumber(value, a) || !ParseNumber(bound, b)) {
      return Fail(ErrorCode::kInternal, "non-numeric value for number fact " + c.fact);
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (!f || !f->ordered) {
    return Fail(ErrorCode::kInternal, "fact " + c.fact + " is not ordered");
  }
  auto rank = [&](const std::string& v) {
    auto it = std::find(f->values.begin(), f->values.end(), v);
    return it == f->values.end() ? -1 : static_cast<int>(it - f->values.begin());
  };
  int a = rank(value), b = rank(bound);
  if (a < 0 || b < 0) {
    return Fail(ErrorCode::kInternal,
                "value '" + (a < 0 ? value : bound) + "' is not a value of fact " + c.fact);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

Result<bool> ConditionEvaluator::Test(const catalog::Condition& c, const model::Element& element,
                                      const model::Element& system) const {
  const bool sys = c.fact.rfind("system.", 0) == 0;
  const auto& facts = sys ? *system.facts : *element.facts;
  auto it = facts.find(c.fact);
  if (it == facts.end()) {
    return Fail(ErrorCode::kInternal, "condition tests fact '" + c.fact + "', which a " +
                                          element.scope + " does not have");
  }
  const std::string& v = it->second;
  if (c.equals) return v == *c.equals;
  if (c.not_equals) return v != *c.not_equals;
  if (!c.in.empty()) return std::find(c.in.begin(), c.in.end(), v) != c.in.end();
  if (!c.not_in.empty()) return std::find(c.not_in.begin(), c.not_in.end(), v) == c.not_in.end();
  if (c.at_least) {
    SECPROF_ASSIGN_OR_RETURN(int cmp, Compare(c, v, *c.at_least));
    return cmp >= 0;
  }
  if (c.at_most) {
    SECPROF_ASSIGN_OR_RETURN(int cmp, Compare(c, v, *c.at_most));
    return cmp <= 0;
  }
  return Fail(ErrorCode::kInternal, "condition on " + c.fact + " has no operator");
}

Result<bool> ConditionEvaluator::Holds(const catalog::When& when, const model::Element& element,
                                       const model::Element& system) const {
  for (const auto& c : when.all) {
    SECPROF_ASSIGN_OR_RETURN(bool ok, Test(c, element, system));
    if (!ok) return false;
  }
  if (when.any.empty()) return true;
  for (const auto& c : when.any) {
    SECPROF_ASSIGN_OR_RETURN(bool ok, Test(c, element, system));
    if (ok) return true;
  }
  return false;
}

}  // namespace secprof::assess
