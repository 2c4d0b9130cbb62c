// Bounds on the join nonces an unauthenticated sender can make the registry store (issue 9, T9;
// AuditLog::PutNonce). Contract in internal.h.
#include <string>

#include "internal.h"

namespace secprof::registry::internal {

Status BoundNonces(Tx& tx, std::string_view serial, int64_t per_serial, int64_t total) {
  if (per_serial > 0) {
    // Oldest first by expiry (all nonces share one lifetime, so expiry orders them by issue).
    SECPROF_TRY(
        tx.Execute("DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces WHERE serial = ?1 "
                   "ORDER BY expires DESC, nonce LIMIT -1 OFFSET ?2)",
                   serial, per_serial - 1));
  }
  if (total > 0) {
    SECPROF_ASSIGN_OR_RETURN(std::optional<int64_t> count,
                             tx.QueryOptional<int64_t>("SELECT count(*) FROM nonces",
                                                       [](const Row& r) { return r.Int64(0); }));
    if (count && *count >= total)
      return Fail(ErrorCode::kLimit, kTooManyNonces,
                  "too many join nonces outstanding (" + std::to_string(*count) + "); retry later");
  }
  return Ok();
}

}  // namespace secprof::registry::internal
