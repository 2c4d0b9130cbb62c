// SecProf_2 setup codes in the registry (schema v4, docs/REGISTRY.md "Schema version 4"): the wrapped
// setup-code key instead of the code, its retirement after the first join or by the owner, and
// the setup-code join whose nonce is consumed only in the transaction that commissions (issue 9,
// items 4, 9 and 12). Contracts in registry.h.
#include <chrono>

#include "internal.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"

namespace secprof::registry {

using store::Database;
using store::Statement;
using store::Transaction;

namespace {

constexpr size_t kMaxVerifier = 1024;
constexpr size_t kMaxReason = 4096;
constexpr size_t kMinNonce = 8, kMaxNonce = 64;
constexpr size_t kMaxName = 256;

int64_t UnixNow(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
}

Status CheckVerifier(const Bytes& v) {
  if (v.empty() || v.size() > kMaxVerifier)
    return Fail(ErrorCode::kInvalidInput, "wrapped setup-code key must be 1..1024 bytes");
  return Ok();
}

Result<std::optional<SetupCode>> LoadSetupCode(Database& db, std::string_view serial) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("SELECT verifier, allowed, retire_at, retired_at, reason FROM "
                               "setup_codes WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<SetupCode>();
  SetupCode c;
  c.verifier = st.Blob(0);
  c.allowed = st.Int64(1);
  c.retire_at = st.OptionalInt64(2);
  c.retired_at = st.OptionalInt64(3);
  c.reason = st.Text(4);
  return std::optional<SetupCode>(std::move(c));
}

// ConsumeNonce's checks (registry.cpp), read-only.
Status CheckNonceRow(Database& db, const Bytes& nonce, std::string_view serial, int64_t now) {
  if (nonce.size() < kMinNonce || nonce.size() > kMaxNonce)
    return Fail(ErrorCode::kInvalidInput,
                "join nonce must be 8 to 64 bytes, not " + std::to_string(nonce.size()));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("SELECT serial, expires, used_at FROM nonces WHERE nonce = ?"));
  SECPROF_TRY(st.Bind(1, store::ByteView(nonce)));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kVerifyFailed, "unknown join nonce");
  if (st.Text(0) != serial)
    return Fail(ErrorCode::kVerifyFailed,
                "join nonce was issued to another thing, not " + std::string(serial));
  if (!st.IsNull(2)) return Fail(ErrorCode::kVerifyFailed, "replayed join (nonce already used)");
  if (now > st.Int64(1)) return Fail(ErrorCode::kVerifyFailed, "nonce expired");
  return Ok();
}

// Codes whose grace after the first join ended: the key is erased, the code retired.
Status PurgeGraceEnded(Database& db, int64_t now) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("UPDATE setup_codes SET verifier = NULL, retired_at = retire_at, "
                 "reason = 'joined (grace ended)' WHERE retire_at IS NOT NULL AND retire_at < ? "
                 "AND retired_at IS NULL"));
  SECPROF_TRY(st.Bind(1, now));
  return st.Run();
}

}  // namespace

namespace internal {

Status PutSetupVerifier(Database& db, int64_t now, std::string_view serial, const Bytes& verifier) {
  SECPROF_TRY(CheckVerifier(verifier));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO setup_codes(serial, verifier, allowed) VALUES(?1, ?2, ?3) "
                 "ON CONFLICT(serial) DO UPDATE SET verifier = ?2, allowed = ?3, "
                 "retire_at = NULL, retired_at = NULL, reason = ''"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_TRY(st.Bind(2, store::ByteView(verifier)));
  SECPROF_TRY(st.Bind(3, now));
  return st.Run();
}

}  // namespace internal

Status Registry::AllowSetupVerifier(std::string_view serial, std::string_view vendor,
                                    std::string_view model, Bytes wrapped_verifier,
                                    std::string_view actor) {
  SECPROF_TRY(CheckVerifier(wrapped_verifier));
  std::lock_guard lock(mu_);
  return internal::AllowWithVerifier(*db_, UnixNow(clock_), serial, vendor, model, wrapped_verifier,
                                     actor);
}

Result<std::optional<SetupCode>> Registry::GetSetupCode(std::string_view serial) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  std::lock_guard lock(mu_);
  return LoadSetupCode(*db_, serial);
}

Status Registry::RetireSetupCode(std::string_view serial, std::string_view reason,
                                 std::string_view actor) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  SECPROF_TRY(internal::CheckTextArg("reason", reason, kMaxReason));
  SECPROF_TRY(internal::CheckTextArg("actor", actor, kMaxName));
  std::lock_guard lock(mu_);
  const int64_t now = UnixNow(clock_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_TRY(internal::LoadThingOrFail(*db_, serial));
  SECPROF_ASSIGN_OR_RETURN(std::optional<SetupCode> c, LoadSetupCode(*db_, serial));
  if (!c) return Fail(ErrorCode::kNotFound, "thing " + std::string(serial) + " has no setup code");
  if (c->retired_at || (c->retire_at && now > *c->retire_at))
    return Fail(ErrorCode::kConflict,
                "the setup code of " + std::string(serial) + " is already retired");
  SECPROF_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("UPDATE setup_codes SET verifier = NULL, retired_at = ?, "
                                        "reason = ? WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, now));
  SECPROF_TRY(st.Bind(2, reason));
  SECPROF_TRY(st.Bind(3, serial));
  SECPROF_TRY(st.Run());
  SECPROF_TRY(internal::AppendAuditEntry(*db_, now, actor, "setup-code-retired", serial, reason));
  return tx.Commit();
}

Status Registry::ValidateNonce(Bytes nonce, std::string_view serial) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  std::lock_guard lock(mu_);
  return CheckNonceRow(*db_, nonce, serial, UnixNow(clock_));
}

Result<CommissionOutcome> Registry::CommissionBySetupCode(std::string_view serial,
                                                          const CommissionInput& input, Bytes nonce,
                                                          std::chrono::seconds grace,
                                                          std::string_view actor) {
  if (grace.count() < 0) return Fail(ErrorCode::kInvalidInput, "grace period is negative");
  const std::string s(serial);
  // Runs inside Commission's transaction: the nonce, the code and the grace are checked against
  // the same snapshot that commissions, and the nonce is consumed only if all of it commits.
  auto hook = [&](Database& db, int64_t now, const CommissionOutcome& out) -> Status {
    SECPROF_TRY(CheckNonceRow(db, nonce, serial, now));
    if (!out.first_time) {
      const int64_t since = out.thing.commissioned_at.value_or(0);
      if (now > since + grace.count())
        return Fail(ErrorCode::kVerifyFailed,
                    "repeated join of " + s + " after the grace period (commissioned at " +
                        std::to_string(since) + ", grace " + std::to_string(grace.count()) + " s)");
    }
    SECPROF_ASSIGN_OR_RETURN(std::optional<SetupCode> c, LoadSetupCode(db, serial));
    if (!c || !c->Usable(now))
      return Fail(ErrorCode::kVerifyFailed, "the setup code of " + s + " is retired");
    SECPROF_ASSIGN_OR_RETURN(Statement used,
                             db.Prepare("UPDATE nonces SET used_at = ? WHERE nonce = ?"));
    SECPROF_TRY(used.Bind(1, now));
    SECPROF_TRY(used.Bind(2, store::ByteView(nonce)));
    SECPROF_TRY(used.Run());
    if (out.first_time) {
      SECPROF_ASSIGN_OR_RETURN(Statement st,
                               db.Prepare("UPDATE setup_codes SET retire_at = ? WHERE serial = ?"));
      SECPROF_TRY(st.Bind(1, now + grace.count()));
      SECPROF_TRY(st.Bind(2, serial));
      SECPROF_TRY(st.Run());
    } else {
      SECPROF_TRY(internal::AppendAuditEntry(
          db, now, actor, "alert:join-repeat", serial,
          "repeated setup-code join of an active thing within the grace period: same PSK "
          "returned (a lost answer, or someone else who knows the setup code)"));
    }
    return PurgeGraceEnded(db, now);
  };
  return Commission(serial, input, actor, hook);
}

Result<std::vector<std::pair<std::string, std::string>>> Registry::LegacySetupCodes() {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT serial, setup_code FROM things WHERE setup_code IS NOT "
                                 "NULL ORDER BY serial"));
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(st.Text(0), st.Text(1));
  }
  return out;
}

Status Registry::ConvertLegacySetupCode(std::string_view serial, Bytes wrapped_verifier) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  SECPROF_TRY(CheckVerifier(wrapped_verifier));
  std::lock_guard lock(mu_);
  const int64_t now = UnixNow(clock_);
  {
    SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
    SECPROF_ASSIGN_OR_RETURN(Thing t, internal::LoadThingOrFail(*db_, serial));
    if (!t.setup_code)
      return Fail(ErrorCode::kNotFound, "thing " + std::string(serial) + " holds no clear code");
    SECPROF_TRY(internal::PutSetupVerifier(*db_, now, serial, wrapped_verifier));
    std::string detail = "setup code replaced by its wrapped key";
    if (t.state != State::kAllowed) {
      // Joined before v4: there is no grace to honour, the code is retired at once.
      SECPROF_ASSIGN_OR_RETURN(
          Statement r, db_->Prepare("UPDATE setup_codes SET verifier = NULL, retired_at = ?, "
                                    "reason = 'joined before schema v4' WHERE serial = ?"));
      SECPROF_TRY(r.Bind(1, now));
      SECPROF_TRY(r.Bind(2, serial));
      SECPROF_TRY(r.Run());
      detail = "setup code erased and retired (the thing joined before)";
    }
    SECPROF_ASSIGN_OR_RETURN(Statement st,
                             db_->Prepare("UPDATE things SET setup_code = NULL WHERE serial = ?"));
    SECPROF_TRY(st.Bind(1, serial));
    SECPROF_TRY(st.Run());
    SECPROF_TRY(
        internal::AppendAuditEntry(*db_, now, "registry", "setup-code-converted", serial, detail));
    SECPROF_TRY(tx.Commit());
  }
  // secure_delete (store::OpenOptions default) zeroed the freed bytes in the database pages; the
  // WAL still holds the old page images until a checkpoint truncates it.
  return db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace secprof::registry
