// Internal: evaluation of catalog conditions (catalog::When) against model facts.
#pragma once

#include <string>

#include "secprof/catalog/catalog.h"
#include "secprof/core/result.h"
#include "secprof/model/model.h"

namespace secprof::assess {

class ConditionEvaluator {
 public:
  explicit ConditionEvaluator(const catalog::Catalog& cat) : cat_(cat) {}

  // True when every condition of `when.all` holds and, if `when.any` is non-empty, at least one of
  // it does. Facts named "system.*" are read from `system`, all others from `element`.
  // Fails (kInternal) when a fact is not available for the element: a catalog bug.
  Result<bool> Holds(const catalog::When& when, const model::Element& element,
                     const model::Element& system) const;

  // "system.central_device >= local", "link.protection in [none, link_key]".
  static std::string Render(const catalog::Condition& c);

 private:
  Result<bool> Test(const catalog::Condition& c, const model::Element& element,
                    const model::Element& system) const;
  // Compares value against bound for an ordered fact: -1, 0, 1.
  Result<int> Compare(const catalog::Condition& c, const std::string& value,
                      const std::string& bound) const;

  const catalog::Catalog& cat_;
};

}  // namespace secprof::assess
