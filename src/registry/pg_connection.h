// RAII over libpq (internal to the registry's PostgreSQL backend): a connection, its results, and
// the error mapping of storage.h. The model is src/store/sqlite.h: every handle owned by one
// object, every failure a Result naming the server (its URI without the password).
//
// Why libpq and not libpqxx: libpq is the C client every other PostgreSQL client wraps, shipped
// with the server (Debian 12: libpq-dev 15), with a stable ABI; the backend needs a connection,
// prepared statements with typed parameters and binary results, and SQLSTATEs, all of which libpq
// gives directly. libpqxx 6.4 would add a C++ layer whose exceptions we would convert back into
// Result at every call, and a second library to track, for no capability the backend uses.
//
// Error mapping (SQLSTATE, PostgreSQL 15 docs appendix A):
//   class 23 (unique, foreign key, check, not null; our triggers raise 23000)  -> kConflict
//   55P03 lock_not_available, 40P01 deadlock, 40001 serialization, 57014 canceled  -> kLimit
//   XX001 data_corrupted, XX002 index_corrupted, class 22 (a value the type refuses)  ->
//   kInvalidInput the connection lost (no result, CONNECTION_BAD, class 08, 57P01..57P03)  -> kIo
//   "connection
//     to the PostgreSQL server lost"
//   anything else  -> kIo
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "secprof/core/result.h"

namespace secprof::registry::internal {

struct PgResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultFree>;

class PgConnection {
 public:
  // Connects to `uri` (a libpq URI), then sets the session up: lock_timeout = `lock_timeout`
  // (how long a writer waits for the registry's write lock), synchronous_commit = on (a COMMIT
  // returns once its WAL is flushed), client_encoding UTF8, notices discarded. Refuses a server
  // running with fsync = off (kInvalidInput: a commit would not survive a power loss).
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& uri,
                                                       std::chrono::milliseconds lock_timeout);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  PGconn* get() const { return conn_; }
  // The URI without its password, for messages.
  const std::string& label() const { return label_; }

  // True when the server connection is gone (PQstatus CONNECTION_BAD).
  bool Lost() const;
  // Reconnects a lost connection with the same parameters and session set-up (PQreset); kIo when
  // the server still cannot be reached. Server-side state (prepared statements) is gone after it.
  Status Reconnect();

  // Runs `sql` (one or more statements, no parameters, text results) and expects `expect`.
  Result<PgResult> Exec(const std::string& sql, std::string_view what,
                        ExecStatusType expect = PGRES_COMMAND_OK);
  // The first column of the first row of `sql` as text; nullopt for NULL or no row.
  Result<std::optional<std::string>> QueryValue(const std::string& sql, std::string_view what);
  // ROLLBACK when a transaction is open (also an aborted one); errors ignored (a lost connection
  // has rolled back already).
  void RollbackQuietly();

  // The Error for a failed `r` (nullptr: no result at all) while doing `what`.
  Error MakeError(const PGresult* r, std::string_view what) const;

 private:
  PgConnection(PGconn* conn, std::string uri, std::chrono::milliseconds lock_timeout);
  Status SetUpSession();

  PGconn* conn_;
  std::string uri_;
  std::string label_;
  std::chrono::milliseconds lock_timeout_;
};

}  // namespace secprof::registry::internal
