// secprof::registry — join nonces, the KDC's replay protection (AuditLog in
// include/secprof/registry/audit.h; bounds in nonce_bounds.cpp).
#include <string>

#include "internal.h"

namespace secprof::registry {

using namespace internal;  // Tx, Row, the checks and limits

Status internal::CheckNonceRow(Tx& tx, const Bytes& nonce, std::string_view serial) {
  SECPROF_TRY(CheckNonce(nonce));
  struct Issued {
    std::string serial;
    int64_t expires;
    bool used;
  };
  SECPROF_ASSIGN_OR_RETURN(std::optional<Issued> n,
                           tx.QueryOptional<Issued>(
                               "SELECT serial, expires, used_at FROM nonces WHERE nonce = ?",
                               [](const Row& r) {
                                 return Issued{r.Text(0), r.Int64(1), !r.IsNull(2)};
                               },
                               nonce));
  if (!n) return Fail(ErrorCode::kVerifyFailed, kUnknownNonce, "unknown join nonce");
  if (n->serial != serial) {
    return Fail(ErrorCode::kVerifyFailed, kNonceOtherThing,
                "join nonce was issued to another thing, not " + std::string(serial));
  }
  if (n->used) return Fail(ErrorCode::kVerifyFailed, kReplay, "replayed join (nonce already used)");
  if (tx.now() > n->expires) return Fail(ErrorCode::kVerifyFailed, kNonceExpired, "nonce expired");
  return Ok();
}

Status AuditLog::PutNonce(Bytes nonce, std::string_view serial, int64_t expires,
                          NonceBounds bounds) {
  SECPROF_TRY(CheckNonce(nonce));
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Write([&](Tx& tx) -> Status {
    const int64_t now = tx.now();
    if (expires < now) {
      return Fail(ErrorCode::kInvalidInput, "join nonce expiry " + std::to_string(expires) +
                                                " is in the past (now " + std::to_string(now) +
                                                ")");
    }
    // Opportunistic purge: a nonce past its expiry would be refused as expired anyway.
    SECPROF_TRY(tx.Execute("DELETE FROM nonces WHERE expires < ?", now));
    SECPROF_TRY(BoundNonces(tx, serial, bounds.per_serial, bounds.total));
    auto ran = tx.Execute("INSERT INTO nonces(nonce, serial, expires) VALUES(?, ?, ?)", nonce,
                          serial, expires);
    if (!ran && ran.error().code() == ErrorCode::kConflict) {
      return Fail(ErrorCode::kConflict, kExists, "join nonce already recorded");
    }
    return ran;
  });
}

Status AuditLog::ConsumeNonce(Bytes nonce, std::string_view serial) {
  SECPROF_TRY(CheckNonce(nonce));
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_TRY(CheckNonceRow(tx, nonce, serial));
    return tx.Execute("UPDATE nonces SET used_at = ? WHERE nonce = ?", tx.now(), nonce);
  });
}

Status AuditLog::ValidateNonce(Bytes nonce, std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Read([&](Tx& tx) { return CheckNonceRow(tx, nonce, serial); });
}

}  // namespace secprof::registry
