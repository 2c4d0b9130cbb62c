// secprof::registry — the clone guard's records (schema v3, issue 9 item 6): the highest reading
// counter accepted per thing, and the things quarantined as suspected clones. Contracts in
// include/secprof/registry/registry.h; the same shape as registry.cpp (validate, lock, BEGIN
// IMMEDIATE, check, write with its audit entry, COMMIT).
#include <algorithm>

#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"

namespace secprof::registry {

namespace internal {
// Defined in registry.cpp.
Status AppendAuditEntry(store::Database& db, int64_t now, std::string_view actor,
                        std::string_view action, std::string_view serial, std::string_view detail);
Status CheckSerialArg(std::string_view serial);
}  // namespace internal

namespace {

using store::Statement;
using store::Transaction;

int64_t NowOf(const Clock& c) {
  return std::chrono::duration_cast<std::chrono::seconds>(c.Now().time_since_epoch()).count();
}

Status CheckActor(std::string_view actor) {
  if (actor.empty() || actor.size() > 256)
    return Fail(ErrorCode::kInvalidInput, "actor must be 1..256 bytes");
  for (unsigned char c : actor)
    if (c < 0x20 || c == 0x7f)
      return Fail(ErrorCode::kInvalidInput, "actor contains a control character");
  return {};
}

Status MustExist(store::Database& db, std::string_view serial) {
  SECPROF_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT 1 FROM things WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kNotFound, "no thing with serial " + std::string(serial));
  return {};
}

Result<std::optional<QuarantineRecord>> LoadQuarantine(store::Database& db,
                                                       std::string_view serial) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("SELECT serial, since, reason FROM quarantine WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<QuarantineRecord>();
  return std::optional<QuarantineRecord>(QuarantineRecord{st.Text(0), st.Int64(1), st.Text(2)});
}

}  // namespace

Result<bool> Registry::AdvanceReadingCounter(std::string_view serial, int64_t counter) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  if (counter < 0) return Fail(ErrorCode::kInvalidInput, "reading counter is negative");
  std::lock_guard lock(mu_);
  const int64_t now = NowOf(clock_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_TRY(MustExist(*db_, serial));
  // Insert the first counter, or raise the recorded one only when the new one is above it.
  SECPROF_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("INSERT INTO reading_counters(serial, counter, updated) "
                                        "VALUES(?1, ?2, ?3) ON CONFLICT(serial) DO UPDATE SET "
                                        "counter = excluded.counter, updated = excluded.updated "
                                        "WHERE excluded.counter > reading_counters.counter"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_TRY(st.Bind(2, counter));
  SECPROF_TRY(st.Bind(3, now));
  SECPROF_TRY(st.Run());
  if (db_->Changes() == 0) return false;  // ~Transaction rolls back (nothing was written)
  SECPROF_TRY(tx.Commit());
  return true;
}

Result<std::optional<int64_t>> Registry::HighestReadingCounter(std::string_view serial) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("SELECT counter FROM reading_counters WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.Int64(0));
}

Status Registry::QuarantineThing(std::string_view serial, std::string_view reason,
                                 std::string_view actor) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  SECPROF_TRY(CheckActor(actor));
  std::lock_guard lock(mu_);
  const int64_t now = NowOf(clock_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_TRY(MustExist(*db_, serial));
  SECPROF_ASSIGN_OR_RETURN(std::optional<QuarantineRecord> q, LoadQuarantine(*db_, serial));
  if (q) return Ok();
  std::string why(reason.substr(0, 1024));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("INSERT INTO quarantine(serial, since, reason) VALUES(?, ?, ?)"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_TRY(st.Bind(2, now));
  SECPROF_TRY(st.Bind(3, why));
  SECPROF_TRY(st.Run());
  SECPROF_TRY(internal::AppendAuditEntry(*db_, now, actor, "quarantined", serial, why));
  return tx.Commit();
}

Status Registry::ReleaseQuarantine(std::string_view serial, std::string_view actor) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  SECPROF_TRY(CheckActor(actor));
  std::lock_guard lock(mu_);
  const int64_t now = NowOf(clock_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(std::optional<QuarantineRecord> q, LoadQuarantine(*db_, serial));
  if (!q) return Fail(ErrorCode::kNotFound, "thing " + std::string(serial) + " is not quarantined");
  SECPROF_ASSIGN_OR_RETURN(Statement st, db_->Prepare("DELETE FROM quarantine WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_TRY(st.Run());
  // The clone may have pushed the highest counter past the genuine thing's: start afresh.
  SECPROF_ASSIGN_OR_RETURN(Statement rc,
                           db_->Prepare("DELETE FROM reading_counters WHERE serial = ?"));
  SECPROF_TRY(rc.Bind(1, serial));
  SECPROF_TRY(rc.Run());
  SECPROF_TRY(internal::AppendAuditEntry(*db_, now, actor, "released", serial,
                                         "quarantined since " + std::to_string(q->since)));
  return tx.Commit();
}

Result<std::optional<QuarantineRecord>> Registry::QuarantineOf(std::string_view serial) {
  SECPROF_TRY(internal::CheckSerialArg(serial));
  std::lock_guard lock(mu_);
  return LoadQuarantine(*db_, serial);
}

Result<std::vector<QuarantineRecord>> Registry::ListQuarantined() {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT serial, since, reason FROM quarantine ORDER BY serial"));
  std::vector<QuarantineRecord> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(QuarantineRecord{st.Text(0), st.Int64(1), st.Text(2)});
  }
  return out;
}

}  // namespace secprof::registry
