// secprof::registry — commissioning, the lifecycle's transitions and credentials
// (include/secprof/registry/things.h; the graph in docs/REGISTRY.md "Transitions").
#include <string>
#include <utility>

#include "internal.h"
#include "secprof/core/time_format.h"

namespace secprof::registry {

using namespace internal;  // Tx, Row, the checks and limits

namespace {

// The lifecycle graph of Transition (docs/REGISTRY.md, "Transitions"). kReplaced is reached only
// through Replace, kCommissioned only through Commission.
bool TransitionAllowed(State from, State to) {
  switch (to) {
    case State::kOperational:
      return from == State::kCommissioned || from == State::kMaintenance;
    case State::kMaintenance:
      return from == State::kOperational;
    case State::kDecommissioned:
    case State::kRevoked:
    case State::kEvicted:
      return from == State::kAllowed || IsActive(from);
    default:
      return false;
  }
}

Status RevokeCredential(Tx& tx, const Thing& t, std::string_view reason) {
  if (t.credential_kind.empty()) return Ok();
  return tx.Execute(
      "INSERT INTO revoked_credentials(kind, id, serial, revoked_at, reason) VALUES(?, ?, ?, ?, ?) "
      "ON CONFLICT(kind, id) DO NOTHING",
      t.credential_kind, t.credential_id, t.serial, tx.now(), reason);
}

// A new credential may be bound to `serial`: not revoked, not held by another thing.
Status CheckCredentialFree(Tx& tx, std::string_view serial, const CommissionInput& in) {
  SECPROF_ASSIGN_OR_RETURN(bool revoked,
                           tx.Exists("SELECT 1 FROM revoked_credentials WHERE kind = ? AND id = ?",
                                     in.credential_kind, in.credential_id));
  if (revoked) {
    return Fail(ErrorCode::kVerifyFailed, kCredentialRevoked,
                "credential " + in.credential_kind + " " + in.credential_id + " is revoked");
  }
  // The "credential_kind <> ''" term lets SQLite use the partial index things_by_credential.
  SECPROF_ASSIGN_OR_RETURN(
      std::optional<std::string> holder,
      tx.QueryOptional<std::string>(
          "SELECT serial FROM things WHERE credential_kind = ? AND "
          "credential_id = ? AND credential_kind <> ''",
          [](const Row& r) { return r.Text(0); }, in.credential_kind, in.credential_id));
  if (holder && *holder != serial) {
    return Fail(ErrorCode::kConflict, kCredentialInUse,
                "credential " + in.credential_kind + " " + in.credential_id +
                    " already belongs to " + *holder);
  }
  return Ok();
}

// Clears the pairwise key and moves the thing to `to`.
Status SetTerminal(Tx& tx, std::string_view serial, State to) {
  return tx.Execute("UPDATE things SET state = ?, wrapped_key = x'', updated = ? WHERE serial = ?",
                    StateName(to), tx.now(), serial);
}

}  // namespace

Result<CommissionOutcome> internal::Commission(Ledger& ledger, std::string_view serial,
                                               const CommissionInput& input, std::string_view actor,
                                               const CommissionHook& hook) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckCommissionInput(input));
  const std::string s(serial);
  return ledger.Write([&](Tx& tx) -> Result<CommissionOutcome> {
    const int64_t now = tx.now();
    SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(tx, serial));
    CommissionOutcome out;
    if (IsActive(t.state)) {
      // A repeated join (the thing lost our answer, or rebooted): same credential, same answer.
      if (t.credential_fingerprint != input.credential_fingerprint) {
        return Fail(ErrorCode::kConflict, kCredentialMismatch,
                    "thing " + s + " is already " + StateName(t.state) +
                        " with another credential (fingerprint " + t.credential_fingerprint + ")");
      }
      SECPROF_TRY(tx.Execute("UPDATE things SET joins = joins + 1, updated = ? WHERE serial = ?",
                             now, serial));
      SECPROF_TRY(tx.Audit(actor, "join-repeat", serial,
                           "state " + std::string(StateName(t.state)) + ", credential " +
                               t.credential_kind + " " + t.credential_id));
      out.first_time = false;
    } else if (t.state == State::kAllowed) {
      if (t.voucher_expiry && now > *t.voucher_expiry) {
        return Fail(ErrorCode::kVerifyFailed, kVoucherExpired,
                    "the voucher for " + s + " expired at " + FormatIso8601(*t.voucher_expiry) +
                        "; import a new one");
      }
      SECPROF_TRY(CheckCredentialFree(tx, serial, input));
      SECPROF_TRY(tx.Execute(
          "UPDATE things SET state = 'commissioned', credential_kind = ?, credential_id = ?, "
          "credential_fingerprint = ?, ldevid_pem = ?, wrapped_key = ?, key_epoch = 1, "
          "joins = joins + 1, commissioned_at = ?, updated = ? WHERE serial = ?",
          input.credential_kind, input.credential_id, input.credential_fingerprint,
          input.ldevid_pem, input.wrapped_key, now, now, serial));
      SECPROF_TRY(tx.Audit(actor, "commissioned", serial,
                           "credential " + input.credential_kind + " " + input.credential_id));
      out.first_time = true;
    } else {
      std::string why = "thing " + s + " is " + StateName(t.state) + " and cannot join";
      if (t.state == State::kReplaced) why += " (replaced by " + t.replaced_by + ")";
      return Fail(ErrorCode::kVerifyFailed, kThingRetired, why);
    }
    SECPROF_ASSIGN_OR_RETURN(out.thing, MustLoadThing(tx, serial));
    if (hook) SECPROF_TRY(hook(tx, out));  // its refusal rolls the whole join back
    return out;
  });
}

Result<CommissionOutcome> Things::Commission(std::string_view serial, const CommissionInput& input,
                                             std::string_view actor) {
  return internal::Commission(ledger_, serial, input, actor, {});
}

Result<std::vector<std::string>> Things::Transition(std::string_view serial, State to,
                                                    std::string_view actor, std::string_view detail,
                                                    const GroupRekeyFn& rekey) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  return ledger_.Write([&](Tx& tx) -> Result<std::vector<std::string>> {
    SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(tx, serial));
    if (!TransitionAllowed(t.state, to)) {
      return Fail(
          ErrorCode::kConflict, kWrongState,
          "cannot move " + t.serial + " from " + StateName(t.state) + " to " + StateName(to));
    }
    std::vector<std::string> groups;
    std::string text = std::string(detail);
    if (IsTerminal(to)) {
      SECPROF_TRY(RevokeCredential(tx, t, StateName(to)));
      SECPROF_TRY(SetTerminal(tx, serial, to));
      SECPROF_ASSIGN_OR_RETURN(groups, LeaveAllGroups(tx, serial, rekey, actor));
    } else {
      SECPROF_TRY(tx.Execute("UPDATE things SET state = ?, updated = ? WHERE serial = ?",
                             StateName(to), tx.now(), serial));
    }
    text = std::string("from ") + StateName(t.state) + (text.empty() ? "" : ": ") + text;
    SECPROF_TRY(tx.Audit(actor, StateName(to), serial, text));
    return groups;
  });
}

Result<std::vector<std::string>> Things::Replace(std::string_view old_serial,
                                                 std::string_view new_serial,
                                                 std::string_view actor,
                                                 const GroupRekeyFn& rekey) {
  SECPROF_TRY(CheckSerial(old_serial));
  SECPROF_TRY(CheckSerial(new_serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  if (old_serial == new_serial) {
    return Fail(ErrorCode::kInvalidInput, "a thing cannot replace itself");
  }
  return ledger_.Write([&](Tx& tx) -> Result<std::vector<std::string>> {
    const int64_t now = tx.now();
    SECPROF_ASSIGN_OR_RETURN(Thing old_t, MustLoadThing(tx, old_serial));
    SECPROF_ASSIGN_OR_RETURN(Thing new_t, MustLoadThing(tx, new_serial));
    if (old_t.state == State::kReplaced) {
      return Fail(ErrorCode::kConflict, kWrongState,
                  "thing " + old_t.serial + " was already replaced by " + old_t.replaced_by);
    }
    if (new_t.state != State::kAllowed && !IsActive(new_t.state)) {
      return Fail(ErrorCode::kConflict, kWrongState,
                  "the replacement " + new_t.serial + " is " + StateName(new_t.state) +
                      "; it must be allowed, commissioned, operational or in maintenance");
    }
    if (!new_t.replaces.empty()) {
      return Fail(ErrorCode::kConflict, kWrongState,
                  "thing " + new_t.serial + " already replaces " + new_t.replaces);
    }
    // The new thing takes the old one's memberships; every such group needs a new key because
    // the old thing knew the current one.
    SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> groups, MemberGroups(tx, old_serial));
    for (const std::string& g : groups) {
      SECPROF_TRY(
          tx.Execute("INSERT INTO group_members(group_name, serial, added) "
                     "VALUES(?, ?, ?) ON CONFLICT DO NOTHING",
                     g, new_serial, now));
      if (tx.Changes() == 0) continue;  // already a member
      SECPROF_TRY(tx.Audit(actor, "group-member-added", new_serial,
                           "group " + g + " (replacing " + old_t.serial + ")"));
    }
    SECPROF_TRY(LeaveAllGroups(tx, old_serial, rekey, actor));
    SECPROF_TRY(RevokeCredential(tx, old_t, "replaced"));
    SECPROF_TRY(SetTerminal(tx, old_serial, State::kReplaced));
    SECPROF_TRY(
        tx.Execute("UPDATE things SET replaced_by = ? WHERE serial = ?", new_serial, old_serial));
    SECPROF_TRY(tx.Execute("UPDATE things SET replaces = ?, updated = ? WHERE serial = ?",
                           old_serial, now, new_serial));
    SECPROF_TRY(tx.Audit(actor, "replaced", old_serial,
                         "from " + std::string(StateName(old_t.state)) + ", by " + new_t.serial));
    SECPROF_TRY(tx.Audit(actor, "replaces", new_serial, old_t.serial));
    return groups;
  });
}

Status Things::SetPairwiseKey(std::string_view serial, Bytes wrapped_key, std::string_view actor) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckWrappedKey("wrapped key", wrapped_key));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(tx, serial));
    if (!IsActive(t.state)) {
      return Fail(ErrorCode::kConflict, kWrongState,
                  "thing " + t.serial + " is " + StateName(t.state) +
                      "; only an active thing gets a new pairwise key");
    }
    SECPROF_TRY(
        tx.Execute("UPDATE things SET wrapped_key = ?, key_epoch = key_epoch + 1, "
                   "updated = ? WHERE serial = ?",
                   wrapped_key, tx.now(), serial));
    return tx.Audit(actor, "pairwise-rekey", serial,
                    "key epoch " + std::to_string(t.key_epoch + 1));
  });
}

Result<Thing> Things::RenewCredential(std::string_view serial, const CommissionInput& input,
                                      std::string_view actor) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckCommissionInput(input));
  return ledger_.Write([&](Tx& tx) -> Result<Thing> {
    SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(tx, serial));
    if (!IsActive(t.state)) {
      return Fail(ErrorCode::kConflict, kWrongState,
                  "thing " + t.serial + " is " + StateName(t.state) +
                      "; only an active thing can renew its credential");
    }
    SECPROF_TRY(CheckCredentialFree(tx, serial, input));
    const bool same_id =
        t.credential_kind == input.credential_kind && t.credential_id == input.credential_id;
    if (!same_id) SECPROF_TRY(RevokeCredential(tx, t, "renewed"));
    SECPROF_TRY(tx.Execute(
        "UPDATE things SET credential_kind = ?, credential_id = ?, credential_fingerprint = ?, "
        "ldevid_pem = ?, wrapped_key = ?, key_epoch = key_epoch + 1, updated = ? "
        "WHERE serial = ?",
        input.credential_kind, input.credential_id, input.credential_fingerprint, input.ldevid_pem,
        input.wrapped_key, tx.now(), serial));
    SECPROF_TRY(
        tx.Audit(actor, "credential-renewed", serial,
                 "credential " + input.credential_kind + " " + input.credential_id +
                     (same_id ? "" : ", revoked " + t.credential_kind + " " + t.credential_id)));
    return MustLoadThing(tx, serial);
  });
}

}  // namespace secprof::registry
