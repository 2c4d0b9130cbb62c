// secprof/registry/groups.h — the registry's groups aggregate: named groups of things sharing a
// group key, their members and key epochs (backward and forward secrecy by rekeying). Part of
// Registry (registry.h), which every caller uses; the contracts common to every method (one
// transaction with its audit entry, nothing changed on error) are in registry.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::registry {
namespace internal {
class Ledger;
}

using crypto::Bytes;

struct Group {
  std::string name;
  int64_t epoch = 0;                 // 1 at creation, +1 at every rekey
  Bytes wrapped_key;                 // the group key of this epoch, encrypted by the KDC
  std::vector<std::string> members;  // serials, sorted
  // True when a member left (Transition to a terminal state, Replace) and no new key was given
  // yet: the KDC must call Rekey. Cleared by Rekey and RemoveMember.
  bool needs_rekey = false;
};

// Supplies a new wrapped group key for `group` at `new_epoch`, called inside the transaction of a
// change that removes a member (Transition to a terminal state, Replace), so the removal and the
// new key land together. An error aborts the whole change. It runs with the Registry's mutex held:
// it must not call the Registry.
using GroupRekeyFn = std::function<Result<Bytes>(const std::string& group, int64_t new_epoch)>;

// Groups, members and epochs (src/registry/groups.cpp).
class Groups {
 public:
  // --- groups ---------------------------------------------------------------------------------
  // Names: 1..64 printable ASCII characters without spaces.
  // A new group at epoch 1 with no members (kConflict if it exists). Audit "group-created".
  Status CreateGroup(std::string_view name, Bytes wrapped_key, std::string_view actor);
  // The thing must be active (commissioned/operational/maintenance): kConflict otherwise, and if it
  // is already a member. The key is not changed (the new member receives the current one).
  // Audit "group-member-added".
  Status AddMember(std::string_view name, std::string_view serial, std::string_view actor);
  // The same, and with `rekey` also installs a new key at epoch+1 from it in the same transaction
  // (backward secrecy, Policy::rekey_on_join): the new member receives only the new epoch's key.
  // An error from `rekey` aborts the whole change. Audit "group-member-added" (detail names the
  // new epoch and "re-keyed on join").
  Status AddMember(std::string_view name, std::string_view serial, std::string_view actor,
                   const GroupRekeyFn& rekey);
  // Removes a member and installs `new_wrapped_key` at epoch+1 in the same transaction
  // (kNotFound if not a member). Audit "group-member-removed".
  Status RemoveMember(std::string_view name, std::string_view serial, Bytes new_wrapped_key,
                      std::string_view actor);
  // epoch+1 with a new key; clears needs_rekey. Audit "group-rekeyed".
  Status Rekey(std::string_view name, Bytes new_wrapped_key, std::string_view actor);
  Result<Group> GetGroup(std::string_view name);  // kNotFound
  // Names of the groups `serial` belongs to, sorted (empty for an unknown serial).
  Result<std::vector<std::string>> GroupsOf(std::string_view serial);
  Result<std::vector<Group>> ListGroups();  // sorted by name

 protected:
  explicit Groups(internal::Ledger& ledger) : ledger_(ledger) {}
  ~Groups() = default;
  Groups(const Groups&) = delete;
  Groups& operator=(const Groups&) = delete;

 private:
  internal::Ledger& ledger_;
};

}  // namespace secprof::registry
