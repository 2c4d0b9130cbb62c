#include "nonce_bounds.h"

#include <string>

namespace secprof::registry::internal {

Status BoundNonces(store::Database& db, std::string_view serial, int64_t per_serial,
                   int64_t total) {
  if (per_serial > 0) {
    // Oldest first by expiry (all nonces share one lifetime, so expiry orders them by issue).
    SECPROF_ASSIGN_OR_RETURN(
        store::Statement del,
        db.Prepare("DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces WHERE serial = ?1 "
                   "ORDER BY expires DESC, nonce LIMIT -1 OFFSET ?2)"));
    SECPROF_TRY(del.Bind(1, serial));
    SECPROF_TRY(del.Bind(2, per_serial - 1));
    SECPROF_TRY(del.Run());
  }
  if (total > 0) {
    SECPROF_ASSIGN_OR_RETURN(store::Statement count, db.Prepare("SELECT count(*) FROM nonces"));
    SECPROF_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row && count.Int64(0) >= total)
      return Fail(ErrorCode::kLimit, "too many join nonces outstanding (" +
                                         std::to_string(count.Int64(0)) + "); retry later");
  }
  return Ok();
}

}  // namespace secprof::registry::internal
