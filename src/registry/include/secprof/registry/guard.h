// secprof/registry/guard.h — the registry's clone-guard records (schema v3, issue 9 item 6): the
// highest reading counter accepted per thing and the things quarantined as suspected clones. Part
// of Registry (registry.h), which every caller uses; the contracts common to every method are in
// registry.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/result.h"

namespace secprof::registry {
namespace internal {
class Ledger;
}

// A thing the KDC quarantined as a suspected clone (schema v3).
struct QuarantineRecord {
  std::string serial;
  int64_t since = 0;  // unix s
  std::string reason;
};

// src/registry/guard.cpp.
class CloneGuard {
 public:
  // --- clone guard (schema v3; issue 9 item 6; src/registry/guard.cpp) ---------------------------
  // Records `counter` as the highest reading counter of `serial` when it is strictly above the one
  // recorded (or none is): true. A counter that is not above it (a replayed reading, or a clone's
  // that shares the thing's credential and state): false, nothing written. The check and the write
  // are one statement in one transaction, so two KDC connections cannot both accept a counter.
  // kNotFound for an unknown thing, kInvalidInput for a negative counter. Not audited.
  Result<bool> AdvanceReadingCounter(std::string_view serial, int64_t counter);
  // The highest accepted reading counter; nullopt before the first reading.
  Result<std::optional<int64_t>> HighestReadingCounter(std::string_view serial);
  // Quarantines a thing (the KDC refuses its credential until ReleaseQuarantine), audit
  // "quarantined" with `reason`. Already quarantined: Ok, nothing changes. kNotFound for an
  // unknown thing.
  Status QuarantineThing(std::string_view serial, std::string_view reason, std::string_view actor);
  // Lifts a quarantine and forgets the highest reading counter (a clone may have pushed it past the
  // genuine thing's): audit "released". kNotFound when the thing is not quarantined.
  Status ReleaseQuarantine(std::string_view serial, std::string_view actor);
  Result<std::optional<QuarantineRecord>> QuarantineOf(std::string_view serial);
  Result<std::vector<QuarantineRecord>> ListQuarantined();  // sorted by serial

 protected:
  explicit CloneGuard(internal::Ledger& ledger) : ledger_(ledger) {}
  ~CloneGuard() = default;
  CloneGuard(const CloneGuard&) = delete;
  CloneGuard& operator=(const CloneGuard&) = delete;

 private:
  internal::Ledger& ledger_;
};

}  // namespace secprof::registry
