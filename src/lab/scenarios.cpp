// The scenario list (secprof/lab/scenario.h).
#include <array>

#include "groups.h"

namespace secprof::lab {

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kSucceeded:
      return "succeeded";
    case Outcome::kBlocked:
      return "blocked";
    case Outcome::kNotApplicable:
      return "not-applicable";
    case Outcome::kNotTestable:
      return "not-testable";
  }
  return "not-testable";
}

Result<Outcome> ParseOutcome(std::string_view s) {
  for (Outcome o :
       {Outcome::kSucceeded, Outcome::kBlocked, Outcome::kNotApplicable, Outcome::kNotTestable})
    if (OutcomeName(o) == s) return o;
  return Fail(ErrorCode::kInvalidInput, "unknown lab outcome \"" + std::string(s) + "\"");
}

const std::vector<std::unique_ptr<Scenario>>& AllScenarios() {
  static const internal::Scenarios* all = [] {
    auto* v = new internal::Scenarios;  // never destroyed: used until exit
    internal::AddWireScenarios(*v);
    internal::AddIdentityScenarios(*v);
    internal::AddMaintenanceScenarios(*v);
    return v;
  }();
  return *all;
}

const Scenario* FindScenario(std::string_view id) {
  for (const auto& s : AllScenarios())
    if (s->info().id == id) return s.get();
  return nullptr;
}

}  // namespace secprof::lab
