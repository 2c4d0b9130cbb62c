// secprof/registry/audit.h — the registry's append-only, hash-chained audit log and the join
// nonces (replay protection). Part of Registry (registry.h), which every caller uses; the contracts
// common to every method are in registry.h. Every state change of every aggregate appends its
// entries to this log inside its own transaction (src/registry/ledger.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::registry {
namespace internal {
class Ledger;
}

using crypto::Bytes;

struct AuditEntry {
  int64_t seq = 0;  // 1, 2, 3 ... without gaps
  int64_t time = 0;
  std::string actor, action, serial, detail;
  std::string hash;  // lower-case hex SHA-256, see VerifyAuditChain
};

// The audit log (src/registry/audit.cpp) and the join nonces (src/registry/nonces.cpp).
class AuditLog {
 public:
  // --- audit (src/registry/audit.cpp) ----------------------------------------------------------
  // Records an event without a state change (a refused join, an owner query ...). `action`
  // non-empty; `serial` may be empty.
  Status Append(std::string_view actor, std::string_view action, std::string_view serial,
                std::string_view detail);
  // Entries in ascending seq order, only those of `serial` when given; with limit > 0 the newest
  // `limit` of them, with limit <= 0 all.
  Result<std::vector<AuditEntry>> Audit(std::optional<std::string> serial = std::nullopt,
                                        int64_t limit = 0);
  // Recomputes the hash chain from seq 1: hash(n) = SHA-256(raw hash(n-1) [32 zero bytes for
  // n = 1] || u64be seq || i64be time || lp(actor) || lp(action) || lp(serial) || lp(detail)),
  // lp(x) = u32be length || bytes. Also checks that seqs have no gaps and that the last entry is
  // the recorded head. kVerifyFailed naming the first bad seq.
  Status VerifyAuditChain();

  // --- join nonces (replay protection; src/registry/nonces.cpp) --------------------------------
  // Records a challenge issued to `serial`, valid until `expires` (unix s). kConflict when the
  // nonce is already recorded; nonce length 8..64 bytes. Purges nonces whose expiry has passed.
  // Not audited (the KDC audits refused joins with Append).
  // Bounds (issue 9, T9: what an unauthenticated sender can make the KDC store; 0 = unbounded):
  // with `per_serial`, the serial's oldest unexpired nonces are deleted so that at most that many
  // remain with the new one (a flood for a serial cannot lock its genuine join out, only race
  // it); with `total`, kLimit when that many unexpired nonces are recorded already.
  struct NonceBounds {
    int64_t per_serial = 0;
    int64_t total = 0;
  };
  Status PutNonce(Bytes nonce, std::string_view serial, int64_t expires, NonceBounds bounds);
  Status PutNonce(Bytes nonce, std::string_view serial, int64_t expires) {
    return PutNonce(std::move(nonce), serial, expires, NonceBounds{});
  }
  // Ok exactly once, for the serial it was issued to, before its expiry (now <= expires). A second
  // use: kVerifyFailed "replayed join (nonce already used)"; past expiry: kVerifyFailed "nonce
  // expired"; unknown nonce or another serial: kVerifyFailed. A refusal changes nothing. Used
  // nonces are kept until they expire so a replay is recognised as one.
  Status ConsumeNonce(Bytes nonce, std::string_view serial);
  // The checks of ConsumeNonce, without consuming: kVerifyFailed for an unknown, used, expired
  // nonce or one issued to another serial. Read-only.
  Status ValidateNonce(Bytes nonce, std::string_view serial);

 protected:
  explicit AuditLog(internal::Ledger& ledger) : ledger_(ledger) {}
  ~AuditLog() = default;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

 private:
  internal::Ledger& ledger_;
};

}  // namespace secprof::registry
