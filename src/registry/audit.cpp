// secprof::registry — the append-only, hash-chained audit log (AuditLog in
// include/secprof/registry/audit.h) and Tx::Audit, through which every aggregate appends its
// entries inside its own transaction (ledger.h).
#include <algorithm>
#include <string>

#include "internal.h"
#include "secprof/core/bytes.h"
#include "secprof/core/hex.h"
#include "secprof/crypto/hash.h"

namespace secprof::registry {

using internal::Tx;

namespace {

// 64 lower-case hex digits -> 32 bytes; false when malformed (the chain is written in lower case
// by ToHex, so an upper-case digit is a changed entry).
bool DigestFromHex(std::string_view hex, crypto::Sha256Digest* out) {
  return hex.size() == out->size() * 2 && internal::IsLowerHex(hex) &&
         FromHexInto(hex, *out).has_value();
}

void PutField(Bytes& b, std::string_view s) {
  PutLengthPrefixed32(b, ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

// hash(n) = SHA-256(raw hash(n-1) || u64be seq || i64be time || lp(actor) || lp(action) ||
//                   lp(serial) || lp(detail)), lp(x) = u32be length || bytes. Every field has a
// fixed size or a length prefix, so no two different entries encode to the same input.
Result<std::string> ChainHash(const crypto::Sha256Digest& prev, const AuditEntry& e) {
  Bytes in;
  in.reserve(prev.size() + 16 + 16 + e.actor.size() + e.action.size() + e.serial.size() +
             e.detail.size());
  in.insert(in.end(), prev.begin(), prev.end());
  PutBig64(in, static_cast<uint64_t>(e.seq));
  PutBig64(in, static_cast<uint64_t>(e.time));
  PutField(in, e.actor);
  PutField(in, e.action);
  PutField(in, e.serial);
  PutField(in, e.detail);
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(in));
  return ToHex(d);
}

constexpr char kAuditColumns[] = "seq, time, actor, action, serial, detail, hash";

AuditEntry ReadEntry(const internal::Row& row) {
  AuditEntry e;
  e.seq = row.Int64(0);
  e.time = row.Int64(1);
  e.actor = row.Text(2);
  e.action = row.Text(3);
  e.serial = row.Text(4);
  e.detail = row.Text(5);
  e.hash = row.Text(6);
  return e;
}

}  // namespace

namespace internal {

// Appends one audit entry inside the caller's transaction and moves the recorded head.
Status Tx::Audit(std::string_view actor, std::string_view action, std::string_view serial,
                 std::string_view detail) {
  AuditEntry e;
  e.time = now();
  e.actor = std::string(actor);
  e.action = std::string(action);
  e.serial = std::string(serial);
  e.detail = Sanitize(detail, kMaxDetail);
  crypto::Sha256Digest prev{};
  using SeqHash = std::pair<int64_t, std::string>;
  SECPROF_ASSIGN_OR_RETURN(
      std::optional<SeqHash> last,
      QueryOptional<SeqHash>("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                             [](const Row& r) { return SeqHash(r.Int64(0), r.Text(1)); }));
  e.seq = 1;
  if (last) {
    e.seq = last->first + 1;
    if (!DigestFromHex(last->second, &prev)) {
      return Fail(
          ErrorCode::kVerifyFailed, kAuditChainBroken,
          "audit entry " + std::to_string(e.seq - 1) + " has a malformed hash; not appending");
    }
  }
  SECPROF_ASSIGN_OR_RETURN(e.hash, ChainHash(prev, e));
  SECPROF_TRY(
      Execute("INSERT INTO audit(seq, time, actor, action, serial, detail, hash) "
              "VALUES(?, ?, ?, ?, ?, ?, ?)",
              e.seq, e.time, e.actor, e.action, e.serial, e.detail, e.hash));
  return Execute(
      "INSERT INTO domain(key, value) VALUES('audit_head_seq', ?), "
      "('audit_head_hash', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      std::to_string(e.seq), e.hash);
}

Result<std::optional<std::string>> GetMeta(Tx& tx, std::string_view key) {
  return tx.QueryOptional<std::string>(
      "SELECT value FROM domain WHERE key = ?", [](const Row& r) { return r.Text(0); }, key);
}

}  // namespace internal

Status AuditLog::Append(std::string_view actor, std::string_view action, std::string_view serial,
                        std::string_view detail) {
  SECPROF_TRY(internal::CheckText("actor", actor, internal::kMaxName));
  SECPROF_TRY(internal::CheckToken("action", action, internal::kMaxAction));
  // The serial may be one a refused peer claimed: recorded, made printable, never refused.
  const std::string safe_serial = internal::Sanitize(serial, internal::kMaxSerial);
  return ledger_.Write(
      [&](Tx& tx) -> Status { return tx.Audit(actor, action, safe_serial, detail); });
}

Result<std::vector<AuditEntry>> AuditLog::Audit(std::optional<std::string> serial, int64_t limit) {
  return ledger_.Read([&](Tx& tx) -> Result<std::vector<AuditEntry>> {
    SECPROF_ASSIGN_OR_RETURN(
        std::vector<AuditEntry> out,
        tx.QueryAll<AuditEntry>(std::string("SELECT ") + kAuditColumns +
                                    " FROM audit WHERE ?1 IS NULL OR serial = ?1 "
                                    "ORDER BY seq DESC LIMIT ?2",
                                ReadEntry, serial, limit > 0 ? limit : int64_t{-1}));
    std::reverse(out.begin(), out.end());
    return out;
  });
}

Status AuditLog::VerifyAuditChain() {
  return ledger_.Snapshot([&](Tx& tx) -> Status {
    crypto::Sha256Digest prev{};
    int64_t expected = 1;
    std::string last_hash;
    // Streams the log (it may be long) instead of loading it.
    SECPROF_TRY(tx.ForEach(std::string("SELECT ") + kAuditColumns + " FROM audit ORDER BY seq",
                           [&](const internal::Row& row) -> Status {
                             AuditEntry e = ReadEntry(row);
                             if (e.seq != expected) {
                               return Fail(ErrorCode::kVerifyFailed, kAuditChainBroken,
                                           "audit chain broken at seq " + std::to_string(expected) +
                                               ": entry missing (next is " + std::to_string(e.seq) +
                                               ")");
                             }
                             SECPROF_ASSIGN_OR_RETURN(std::string want, ChainHash(prev, e));
                             if (want != e.hash || !DigestFromHex(e.hash, &prev)) {
                               return Fail(ErrorCode::kVerifyFailed, kAuditChainBroken,
                                           "audit chain broken at seq " + std::to_string(e.seq) +
                                               ": the entry or its hash was changed");
                             }
                             last_hash = e.hash;
                             ++expected;
                             return Ok();
                           }));
    SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> head_seq,
                             internal::GetMeta(tx, "audit_head_seq"));
    SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> head_hash,
                             internal::GetMeta(tx, "audit_head_hash"));
    const std::string last_seq = std::to_string(expected - 1);
    if (head_seq.value_or("0") != last_seq || head_hash.value_or("") != last_hash) {
      return Fail(ErrorCode::kVerifyFailed, kAuditChainBroken,
                  "audit chain broken at seq " + std::to_string(expected) +
                      ": the log ends at seq " + last_seq + " but the recorded head is seq " +
                      head_seq.value_or("0") + " (entries were removed or the head was changed)");
    }
    return Ok();
  });
}

}  // namespace secprof::registry
