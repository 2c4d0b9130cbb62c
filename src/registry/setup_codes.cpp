// SecProf_2 setup codes in the registry (schema v4, docs/REGISTRY.md "Schema version 4"): the
// wrapped setup-code key instead of the code, its retirement after the first join or by the owner,
// and the setup-code join whose nonce is consumed only in the transaction that commissions (issue
// 9, items 4, 9 and 12). Contracts in include/secprof/registry/things.h.
#include <chrono>
#include <string>

#include "internal.h"

namespace secprof::registry {

using namespace internal;  // Tx, Row, the checks and limits

namespace {

constexpr size_t kMaxVerifier = 1024;

Status CheckVerifier(const Bytes& v) {
  if (v.empty() || v.size() > kMaxVerifier)
    return Fail(ErrorCode::kInvalidInput, "wrapped setup-code key must be 1..1024 bytes");
  return Ok();
}

Result<std::optional<SetupCode>> LoadSetupCode(Tx& tx, std::string_view serial) {
  return tx.QueryOptional<SetupCode>(
      "SELECT verifier, allowed, retire_at, retired_at, reason FROM setup_codes WHERE serial = ?",
      [](const Row& r) {
        SetupCode c;
        c.verifier = r.Blob(0);
        c.allowed = r.Int64(1);
        c.retire_at = r.OptionalInt64(2);
        c.retired_at = r.OptionalInt64(3);
        c.reason = r.Text(4);
        return c;
      },
      serial);
}

// Codes whose grace after the first join ended: the key is erased, the code retired.
Status PurgeGraceEnded(Tx& tx) {
  return tx.Execute(
      "UPDATE setup_codes SET verifier = NULL, retired_at = retire_at, "
      "reason = 'joined (grace ended)' WHERE retire_at IS NOT NULL AND retire_at < ? "
      "AND retired_at IS NULL",
      tx.now());
}

}  // namespace

Status internal::PutSetupVerifier(Tx& tx, std::string_view serial, const Bytes& verifier) {
  SECPROF_TRY(CheckVerifier(verifier));
  return tx.Execute(
      "INSERT INTO setup_codes(serial, verifier, allowed) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(serial) DO UPDATE SET verifier = ?2, allowed = ?3, "
      "retire_at = NULL, retired_at = NULL, reason = ''",
      serial, verifier, tx.now());
}

Status Things::AllowSetupVerifier(std::string_view serial, std::string_view vendor,
                                  std::string_view model, Bytes wrapped_verifier,
                                  std::string_view actor) {
  SECPROF_TRY(CheckVerifier(wrapped_verifier));
  return AllowWithVerifier(ledger_, serial, vendor, model, wrapped_verifier, actor);
}

Result<std::optional<SetupCode>> Things::GetSetupCode(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Read([&](Tx& tx) { return LoadSetupCode(tx, serial); });
}

Result<bool> Things::HasSetupCode(const Thing& t) {
  if (t.setup_code) return true;
  SECPROF_ASSIGN_OR_RETURN(std::optional<SetupCode> code, GetSetupCode(t.serial));
  return code && !code->retired_at;
}

Status Things::RetireSetupCode(std::string_view serial, std::string_view reason,
                               std::string_view actor) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("reason", reason, kMaxReason));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  return ledger_.Write([&](Tx& tx) -> Status {
    const int64_t now = tx.now();
    SECPROF_TRY(MustLoadThing(tx, serial));
    SECPROF_ASSIGN_OR_RETURN(std::optional<SetupCode> c, LoadSetupCode(tx, serial));
    if (!c) {
      return Fail(ErrorCode::kNotFound, "thing " + std::string(serial) + " has no setup code");
    }
    if (c->retired_at || (c->retire_at && now > *c->retire_at))
      return Fail(ErrorCode::kConflict, kSetupCodeRetired,
                  "the setup code of " + std::string(serial) + " is already retired");
    SECPROF_TRY(tx.Execute(
        "UPDATE setup_codes SET verifier = NULL, retired_at = ?, reason = ? WHERE serial = ?", now,
        reason, serial));
    return tx.Audit(actor, "setup-code-retired", serial, reason);
  });
}

Result<CommissionOutcome> Things::CommissionBySetupCode(std::string_view serial,
                                                        const CommissionInput& input, Bytes nonce,
                                                        std::chrono::seconds grace,
                                                        std::string_view actor) {
  if (grace.count() < 0) return Fail(ErrorCode::kInvalidInput, "grace period is negative");
  const std::string s(serial);
  // Runs inside Commission's transaction: the nonce, the code and the grace are checked against
  // the same snapshot that commissions, and the nonce is consumed only if all of it commits.
  auto hook = [&](Tx& tx, const CommissionOutcome& out) -> Status {
    const int64_t now = tx.now();
    SECPROF_TRY(CheckNonceRow(tx, nonce, serial));
    if (!out.first_time) {
      const int64_t since = out.thing.commissioned_at.value_or(0);
      if (now > since + grace.count())
        return Fail(ErrorCode::kVerifyFailed, kGracePeriodOver,
                    "repeated join of " + s + " after the grace period (commissioned at " +
                        std::to_string(since) + ", grace " + std::to_string(grace.count()) + " s)");
    }
    SECPROF_ASSIGN_OR_RETURN(std::optional<SetupCode> c, LoadSetupCode(tx, serial));
    if (!c || !c->Usable(now))
      return Fail(ErrorCode::kVerifyFailed, kSetupCodeRetired,
                  "the setup code of " + s + " is retired");
    SECPROF_TRY(tx.Execute("UPDATE nonces SET used_at = ? WHERE nonce = ?", now, nonce));
    if (out.first_time) {
      SECPROF_TRY(tx.Execute("UPDATE setup_codes SET retire_at = ? WHERE serial = ?",
                             now + grace.count(), serial));
    } else {
      SECPROF_TRY(
          tx.Audit(actor, "alert:join-repeat", serial,
                   "repeated setup-code join of an active thing within the grace period: same PSK "
                   "returned (a lost answer, or someone else who knows the setup code)"));
    }
    return PurgeGraceEnded(tx);
  };
  return internal::Commission(ledger_, serial, input, actor, hook);
}

Result<std::vector<std::pair<std::string, std::string>>> Things::LegacySetupCodes() {
  using Legacy = std::pair<std::string, std::string>;
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryAll<Legacy>(
        "SELECT serial, setup_code FROM things WHERE setup_code IS NOT NULL ORDER BY serial",
        [](const Row& r) { return Legacy(r.Text(0), r.Text(1)); });
  });
}

Status Things::ConvertLegacySetupCode(std::string_view serial, Bytes wrapped_verifier) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckVerifier(wrapped_verifier));
  // The erased code must leave the files too (Storage::EraseFreedPages), after the commit.
  return ledger_.WriteThen(
      [&](Tx& tx) -> Status {
        SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(tx, serial));
        if (!t.setup_code) {
          return Fail(ErrorCode::kNotFound,
                      "thing " + std::string(serial) + " holds no clear code");
        }
        SECPROF_TRY(PutSetupVerifier(tx, serial, wrapped_verifier));
        std::string detail = "setup code replaced by its wrapped key";
        if (t.state != State::kAllowed) {
          // Joined before v4: there is no grace to honour, the code is retired at once.
          SECPROF_TRY(
              tx.Execute("UPDATE setup_codes SET verifier = NULL, retired_at = ?, "
                         "reason = 'joined before schema v4' WHERE serial = ?",
                         tx.now(), serial));
          detail = "setup code erased and retired (the thing joined before)";
        }
        SECPROF_TRY(tx.Execute("UPDATE things SET setup_code = NULL WHERE serial = ?", serial));
        return tx.Audit("registry", "setup-code-converted", serial, detail);
      },
      &Storage::EraseFreedPages);
}

}  // namespace secprof::registry
