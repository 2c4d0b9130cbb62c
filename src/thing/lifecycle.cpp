// The thing's lifecycle transition table (secprof/thing/lifecycle.h; docs/DOMAIN.md "Lifecycle";
// draft-garcia-security-mitigations-and-profiles §3.1 "The Thing Lifecycle").
#include "secprof/thing/lifecycle.h"

#include <string>

#include "secprof/thing/reasons.h"

namespace secprof::thing {

namespace {

using S = State;

constexpr std::array<LifecycleRule, 12> kTable{{
    {Operation::kInstall, "install", {S::kManufactured, S::kReOwned}, 2, S::kInstalled},
    {Operation::kJoin, "join", {S::kInstalled}, 1, S::kCommissioned},
    {Operation::kGoOperational,
     "go operational",
     {S::kCommissioned, S::kMaintenance},
     2,
     S::kOperational},
    {Operation::kEnterMaintenance, "enter maintenance", {S::kOperational}, 1, S::kMaintenance},
    {Operation::kSendReading,
     "send a reading",
     {S::kOperational, S::kCommissioned},
     2,
     std::nullopt},
    {Operation::kRequestPairKey,
     "request a pair key",
     {S::kOperational, S::kCommissioned, S::kMaintenance},
     3,
     std::nullopt},
    {Operation::kFetchGroupKey,
     "fetch a group key",
     {S::kOperational, S::kCommissioned, S::kMaintenance},
     3,
     std::nullopt},
    {Operation::kCheckForUpdate, "check for an update", {S::kOperational}, 1, std::nullopt},
    {Operation::kDecommission,
     "decommission",
     {S::kCommissioned, S::kOperational, S::kMaintenance},
     3,
     S::kDecommissioned},
    {Operation::kFactoryReset, "factory reset", {S::kDecommissioned}, 1, S::kReOwned, true},
    {Operation::kBecomeMother,
     "become the mother",
     {S::kManufactured, S::kReOwned},
     2,
     S::kCommissioned},
    {Operation::kAcceptImprint,
     "pair",
     {S::kManufactured, S::kInstalled, S::kReOwned},
     3,
     S::kCommissioned},
}};

constexpr bool TableInOperationOrder() {
  for (size_t i = 0; i < kTable.size(); ++i)
    if (static_cast<size_t>(kTable[i].op) != i || kTable[i].count > kTable[i].allowed.size())
      return false;
  return true;
}
static_assert(TableInOperationOrder(), "one row per Operation, in Operation order");

}  // namespace

bool LifecycleRule::Allows(State s) const {
  for (State a : Allowed())
    if (a == s) return true;
  return false;
}

std::span<const LifecycleRule> LifecycleTable() { return kTable; }

const LifecycleRule& RuleFor(Operation op) { return kTable[static_cast<size_t>(op)]; }

Status CheckLifecycle(Operation op, State from, std::string_view serial, bool force) {
  const LifecycleRule& rule = RuleFor(op);
  if (rule.Allows(from) || (force && rule.forceable)) return Ok();
  std::string list;
  for (State s : rule.Allowed()) list += std::string(list.empty() ? "" : ", ") + StateName(s);
  return Fail(ErrorCode::kConflict, kWrongState,
              std::string(rule.action) + " needs state " + list + "; " + std::string(serial) +
                  " is " + StateName(from));
}

State LifecycleResult(Operation op, State from) { return RuleFor(op).to.value_or(from); }

}  // namespace secprof::thing
