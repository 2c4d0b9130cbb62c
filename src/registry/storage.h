// The registry's storage seam (internal): everything the aggregates need from a database, and
// nothing of SQLite. Two backends: SQLite (sqlite_storage.cpp) and PostgreSQL
// (postgres_storage.cpp, which translates the aggregates' SQLite SQL: sql_dialect.h); each
// implements Storage and an Open function, and no aggregate knows which one it runs on.
// docs/REGISTRY.md "Storage seam" lists the rest of the contract (the SQL the aggregates send).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "secprof/core/result.h"

namespace secprof::store {
class Database;
}

namespace secprof::registry::internal {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// One parameter value: NULL, an integer, text or a blob. Views: valid for the call that takes them.
using Value = std::variant<std::nullptr_t, int64_t, std::string_view, ByteView>;

// The current row of a query (columns 0-based, in the order the query selects them). REQUIRES: col
// in range. Text of a NULL is "", a blob of a NULL is empty.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int64(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual Bytes Blob(int col) const = 0;

  std::optional<int64_t> OptionalInt64(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Int64(col);
  }
  std::optional<std::string> OptionalText(int col) const {
    if (IsNull(col)) return std::nullopt;
    return Text(col);
  }
};

// Called for each row; false stops the query (the rest is not read).
using RowFn = std::function<Result<bool>(const Row&)>;

// One connection to the registry's database. Not thread-safe: the Ledger serialises every call.
//
// A backend must give:
//  - transactions: Begin(kWrite) takes the database's write lock at once, waiting up to its busy
//    timeout (then kLimit "database is busy"), so that a read-check-write cannot fail half-way;
//    Begin(kRead) is one consistent snapshot for several reads. Commit makes every write since
//    Begin durable before it returns Ok (a power loss after Ok loses nothing); a failed Commit,
//    Rollback, or destroying the Storage with a transaction open, leaves nothing of it.
//  - statements: one SQL statement per call with positional parameters ?1..?N (a bare "?" is the
//    next number); Execute discards rows, Query calls on_row per row in order.
//  - errors (ErrorCode): a unique, foreign-key or CHECK violation is kConflict; a lock not
//    obtained in time is kLimit; a damaged database kInvalidInput; anything else kIo.
//  - Changes (rows changed by the last Execute) and LastInsertId (the id the last INSERT into a
//    table with an INTEGER PRIMARY KEY assigned).
//  - EraseFreedPages: after secrets were overwritten or deleted and committed, no copy of them
//  stays
//    in the backend's files (SQLite: secure_delete is on, and the WAL is checkpointed and
//    truncated).
class Storage {
 public:
  enum class Mode { kWrite, kRead };
  virtual ~Storage() = default;

  virtual Status Begin(Mode mode) = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;  // idempotent; nothing when no transaction is open

  virtual Status Execute(std::string_view sql, std::span<const Value> params) = 0;
  virtual Status Query(std::string_view sql, std::span<const Value> params,
                       const RowFn& on_row) = 0;
  virtual int64_t Changes() const = 0;
  virtual int64_t LastInsertId() const = 0;

  virtual Status EraseFreedPages() = 0;

  // The SQLite connection, for Registry::database() (tests and tools); nullptr for another backend.
  virtual store::Database* sqlite() { return nullptr; }
};

// The SQLite backend: opens (creating when absent, mode 0600) the registry file at `path`, refuses
// a file that is another program's SQLite database (kInvalidInput), and brings the schema to the
// newest version (schema.h). Durability: WAL + synchronous=FULL (store::OpenOptions).
Result<std::unique_ptr<Storage>> OpenSqliteStorage(const std::string& path,
                                                   std::chrono::milliseconds busy_timeout);

// The PostgreSQL backend (postgres_storage.cpp): connects to `uri` (a libpq URI, location.h),
// marks the connection's current schema as a registry (or refuses one that holds other tables:
// kInvalidInput) and brings it to the newest schema version, translated from schema.h
// (sql_dialect.h). `busy_timeout` is the session's lock_timeout. kIo when the server cannot be
// reached (the message names the URI without its password).
Result<std::unique_ptr<Storage>> OpenPostgresStorage(const std::string& uri,
                                                     std::chrono::milliseconds busy_timeout);

}  // namespace secprof::registry::internal
