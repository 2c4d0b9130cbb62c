// secprof::registry — the groups aggregate (include/secprof/registry/groups.h): groups, their
// members and key epochs, and the part of the lifecycle that removes a thing from its groups.
#include <algorithm>
#include <string>
#include <utility>

#include "internal.h"

namespace secprof::registry {

using namespace internal;  // Tx, Row, the checks and limits

namespace {

constexpr char kGroupColumns[] = "name, epoch, wrapped_key, needs_rekey";

Result<std::vector<std::string>> Members(Tx& tx, std::string_view group) {
  return tx.QueryAll<std::string>(
      "SELECT serial FROM group_members WHERE group_name = ? ORDER BY serial",
      [](const Row& r) { return r.Text(0); }, group);
}

Group ReadGroupRow(const Row& row) {
  Group g;
  g.name = row.Text(0);
  g.epoch = row.Int64(1);
  g.wrapped_key = row.Blob(2);
  g.needs_rekey = row.Int64(3) != 0;
  return g;
}

Result<std::optional<Group>> LoadGroup(Tx& tx, std::string_view name) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<Group> g,
                           tx.QueryOptional<Group>(std::string("SELECT ") + kGroupColumns +
                                                       " FROM groups WHERE name = ?",
                                                   ReadGroupRow, name));
  if (g) {
    SECPROF_ASSIGN_OR_RETURN(g->members, Members(tx, g->name));
  }
  return g;
}

Result<Group> MustLoadGroup(Tx& tx, std::string_view name) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<Group> g, LoadGroup(tx, name));
  if (!g) return Fail(ErrorCode::kNotFound, kUnknownGroup, "no group named " + std::string(name));
  return std::move(*g);
}

// epoch+1 with `key`, needs_rekey cleared.
Status NextEpoch(Tx& tx, std::string_view name, const Bytes& key) {
  return tx.Execute(
      "UPDATE groups SET epoch = epoch + 1, wrapped_key = ?, needs_rekey = 0, "
      "updated = ? WHERE name = ?",
      key, tx.now(), name);
}

// After a member left `group`: a new key at epoch+1 from `rekey`, or needs_rekey.
Status RekeyAfterLeave(Tx& tx, const std::string& group, const GroupRekeyFn& rekey,
                       std::string_view actor, std::string_view why_serial) {
  if (!rekey) {
    return tx.Execute("UPDATE groups SET needs_rekey = 1, updated = ? WHERE name = ?", tx.now(),
                      group);
  }
  SECPROF_ASSIGN_OR_RETURN(std::optional<int64_t> current,
                           tx.QueryOptional<int64_t>(
                               "SELECT epoch FROM groups WHERE name = ?",
                               [](const Row& r) { return r.Int64(0); }, group));
  if (!current) return Fail(ErrorCode::kInternal, "group " + group + " vanished");
  const int64_t epoch = *current + 1;
  auto key = rekey(group, epoch);
  if (!key) return Fail(key.error().WithContext("new key for group " + group));
  SECPROF_TRY(CheckWrappedKey("new key for group " + group, *key));
  SECPROF_TRY(
      tx.Execute("UPDATE groups SET epoch = ?, wrapped_key = ?, needs_rekey = 0, "
                 "updated = ? WHERE name = ?",
                 epoch, *key, tx.now(), group));
  return tx.Audit(actor, "group-rekeyed", "",
                  "group " + group + " epoch " + std::to_string(epoch) + " (" +
                      std::string(why_serial) + " left)");
}

}  // namespace

Result<std::vector<std::string>> internal::MemberGroups(Tx& tx, std::string_view serial) {
  return tx.QueryAll<std::string>(
      "SELECT group_name FROM group_members WHERE serial = ? ORDER BY group_name",
      [](const Row& r) { return r.Text(0); }, serial);
}

Result<std::vector<std::string>> internal::LeaveAllGroups(Tx& tx, std::string_view serial,
                                                          const GroupRekeyFn& rekey,
                                                          std::string_view actor) {
  SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> groups, MemberGroups(tx, serial));
  SECPROF_TRY(tx.Execute("DELETE FROM group_members WHERE serial = ?", serial));
  for (const std::string& g : groups) {
    SECPROF_TRY(tx.Audit(actor, "group-member-removed", serial, "group " + g));
    SECPROF_TRY(RekeyAfterLeave(tx, g, rekey, actor, serial));
  }
  return groups;
}

Status Groups::CreateGroup(std::string_view name, Bytes wrapped_key, std::string_view actor) {
  SECPROF_TRY(CheckToken("group name", name, kMaxGroupName));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckWrappedKey("group key", wrapped_key));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(std::optional<Group> existing, LoadGroup(tx, name));
    if (existing) {
      return Fail(ErrorCode::kConflict, kExists, "group " + std::string(name) + " exists");
    }
    SECPROF_TRY(
        tx.Execute("INSERT INTO groups(name, epoch, wrapped_key, created, updated) "
                   "VALUES(?, 1, ?, ?, ?)",
                   name, wrapped_key, tx.now(), tx.now()));
    return tx.Audit(actor, "group-created", "", "group " + std::string(name) + " epoch 1");
  });
}

Status Groups::AddMember(std::string_view name, std::string_view serial, std::string_view actor) {
  return AddMember(name, serial, actor, GroupRekeyFn{});
}

Status Groups::AddMember(std::string_view name, std::string_view serial, std::string_view actor,
                         const GroupRekeyFn& rekey) {
  SECPROF_TRY(CheckToken("group name", name, kMaxGroupName));
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(Group g, MustLoadGroup(tx, name));
    SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(tx, serial));
    if (!IsActive(t.state)) {
      return Fail(ErrorCode::kConflict, kWrongState,
                  "thing " + t.serial + " is " + StateName(t.state) +
                      "; only a commissioned, operational or maintained thing can join a group");
    }
    if (std::find(g.members.begin(), g.members.end(), t.serial) != g.members.end()) {
      return Fail(ErrorCode::kConflict, kExists,
                  "thing " + t.serial + " is already a member of " + g.name);
    }
    SECPROF_TRY(tx.Execute("INSERT INTO group_members(group_name, serial, added) VALUES(?, ?, ?)",
                           name, serial, tx.now()));
    if (rekey) {  // backward secrecy: the newcomer gets only the new epoch's key
      SECPROF_ASSIGN_OR_RETURN(Bytes key, rekey(g.name, g.epoch + 1));
      SECPROF_TRY(CheckWrappedKey("new group key", key));
      SECPROF_TRY(NextEpoch(tx, name, key));
    }
    return tx.Audit(actor, "group-member-added", serial,
                    "group " + g.name + " epoch " + std::to_string(g.epoch + (rekey ? 1 : 0)) +
                        (rekey ? " (re-keyed on join)" : ""));
  });
}

Status Groups::RemoveMember(std::string_view name, std::string_view serial, Bytes new_wrapped_key,
                            std::string_view actor) {
  SECPROF_TRY(CheckToken("group name", name, kMaxGroupName));
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckWrappedKey("new group key", new_wrapped_key));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(Group g, MustLoadGroup(tx, name));
    if (std::find(g.members.begin(), g.members.end(), serial) == g.members.end()) {
      return Fail(ErrorCode::kNotFound, kNotMember,
                  "thing " + std::string(serial) + " is not a member of " + g.name);
    }
    SECPROF_TRY(
        tx.Execute("DELETE FROM group_members WHERE group_name = ? AND serial = ?", name, serial));
    SECPROF_TRY(NextEpoch(tx, name, new_wrapped_key));
    return tx.Audit(actor, "group-member-removed", serial,
                    "group " + g.name + " epoch " + std::to_string(g.epoch + 1));
  });
}

Status Groups::Rekey(std::string_view name, Bytes new_wrapped_key, std::string_view actor) {
  SECPROF_TRY(CheckToken("group name", name, kMaxGroupName));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckWrappedKey("new group key", new_wrapped_key));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(Group g, MustLoadGroup(tx, name));
    SECPROF_TRY(NextEpoch(tx, name, new_wrapped_key));
    return tx.Audit(actor, "group-rekeyed", "",
                    "group " + g.name + " epoch " + std::to_string(g.epoch + 1));
  });
}

Result<Group> Groups::GetGroup(std::string_view name) {
  return ledger_.Snapshot([&](Tx& tx) { return MustLoadGroup(tx, name); });
}

Result<std::vector<std::string>> Groups::GroupsOf(std::string_view serial) {
  return ledger_.Read([&](Tx& tx) { return MemberGroups(tx, serial); });
}

Result<std::vector<Group>> Groups::ListGroups() {
  return ledger_.Snapshot([&](Tx& tx) -> Result<std::vector<Group>> {
    SECPROF_ASSIGN_OR_RETURN(
        std::vector<Group> out,
        tx.QueryAll<Group>(std::string("SELECT ") + kGroupColumns + " FROM groups ORDER BY name",
                           ReadGroupRow));
    for (Group& g : out) {
      SECPROF_ASSIGN_OR_RETURN(g.members, Members(tx, g.name));
    }
    return out;
  });
}

}  // namespace secprof::registry
