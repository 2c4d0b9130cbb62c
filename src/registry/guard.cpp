// secprof::registry — the clone guard's records (schema v3, issue 9 item 6): the highest reading
// counter accepted per thing, and the things quarantined as suspected clones. Contracts in
// include/secprof/registry/guard.h; every write goes through the ledger (validate, lock, BEGIN
// IMMEDIATE, check, write with its audit entry, COMMIT).
#include <string>

#include "internal.h"
#include "secprof/core/time_format.h"

namespace secprof::registry {

using namespace internal;  // Tx, Row, the checks

namespace {

Status CheckActor(std::string_view actor) {
  if (actor.empty() || actor.size() > 256)
    return Fail(ErrorCode::kInvalidInput, "actor must be 1..256 bytes");
  for (unsigned char c : actor)
    if (c < 0x20 || c == 0x7f)
      return Fail(ErrorCode::kInvalidInput, "actor contains a control character");
  return {};
}

Status MustExist(Tx& tx, std::string_view serial) {
  SECPROF_ASSIGN_OR_RETURN(bool exists, tx.Exists("SELECT 1 FROM things WHERE serial = ?", serial));
  if (!exists) {
    return Fail(ErrorCode::kNotFound, kUnknownThing, "no thing with serial " + std::string(serial));
  }
  return {};
}

constexpr char kSelectQuarantine[] = "SELECT serial, since, reason FROM quarantine";

QuarantineRecord ReadQuarantine(const Row& r) {
  return QuarantineRecord{r.Text(0), r.Int64(1), r.Text(2)};
}

Result<std::optional<QuarantineRecord>> LoadQuarantine(Tx& tx, std::string_view serial) {
  return tx.QueryOptional<QuarantineRecord>(std::string(kSelectQuarantine) + " WHERE serial = ?",
                                            ReadQuarantine, serial);
}

}  // namespace

Result<bool> CloneGuard::AdvanceReadingCounter(std::string_view serial, int64_t counter) {
  SECPROF_TRY(CheckSerial(serial));
  if (counter < 0) return Fail(ErrorCode::kInvalidInput, "reading counter is negative");
  return ledger_.Write([&](Tx& tx) -> Result<bool> {
    SECPROF_TRY(MustExist(tx, serial));
    // Insert the first counter, or raise the recorded one only when the new one is above it.
    SECPROF_TRY(
        tx.Execute("INSERT INTO reading_counters(serial, counter, updated) "
                   "VALUES(?1, ?2, ?3) ON CONFLICT(serial) DO UPDATE SET "
                   "counter = excluded.counter, updated = excluded.updated "
                   "WHERE excluded.counter > reading_counters.counter",
                   serial, counter, tx.now()));
    return tx.Changes() != 0;  // 0: nothing was written (the commit writes nothing)
  });
}

Result<std::optional<int64_t>> CloneGuard::HighestReadingCounter(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryOptional<int64_t>(
        "SELECT counter FROM reading_counters WHERE serial = ?",
        [](const Row& r) { return r.Int64(0); }, serial);
  });
}

Status CloneGuard::QuarantineThing(std::string_view serial, std::string_view reason,
                                   std::string_view actor) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckActor(actor));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_TRY(MustExist(tx, serial));
    SECPROF_ASSIGN_OR_RETURN(std::optional<QuarantineRecord> q, LoadQuarantine(tx, serial));
    if (q) return Ok();
    std::string why(reason.substr(0, 1024));
    SECPROF_TRY(tx.Execute("INSERT INTO quarantine(serial, since, reason) VALUES(?, ?, ?)", serial,
                           tx.now(), why));
    return tx.Audit(actor, "quarantined", serial, why);
  });
}

Status CloneGuard::ReleaseQuarantine(std::string_view serial, std::string_view actor) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckActor(actor));
  return ledger_.Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(std::optional<QuarantineRecord> q, LoadQuarantine(tx, serial));
    if (!q) {
      return Fail(ErrorCode::kNotFound, "thing " + std::string(serial) + " is not quarantined");
    }
    SECPROF_TRY(tx.Execute("DELETE FROM quarantine WHERE serial = ?", serial));
    // The clone may have pushed the highest counter past the genuine thing's: start afresh.
    SECPROF_TRY(tx.Execute("DELETE FROM reading_counters WHERE serial = ?", serial));
    return tx.Audit(actor, "released", serial, "quarantined since " + FormatIso8601(q->since));
  });
}

Result<std::optional<QuarantineRecord>> CloneGuard::QuarantineOf(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Read([&](Tx& tx) { return LoadQuarantine(tx, serial); });
}

Result<std::vector<QuarantineRecord>> CloneGuard::ListQuarantined() {
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryAll<QuarantineRecord>(std::string(kSelectQuarantine) + " ORDER BY serial",
                                         ReadQuarantine);
  });
}

}  // namespace secprof::registry
