// secprof/store/sqlite.h — RAII over SQLite 3: a connection, prepared statements, transactions
// and versioned schema migrations, every failure a Result.
//
//   SECPROF_ASSIGN_OR_RETURN(auto db, Database::Open("kdc.db"));
//   SECPROF_TRY(Migrate(*db, kMigrations));
//   SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db));
//   SECPROF_ASSIGN_OR_RETURN(Statement st, db->Prepare("INSERT INTO t(a, b) VALUES(:a, :b)"));
//   SECPROF_TRY(st.Bind(":a", int64_t{1}));
//   SECPROF_TRY(st.Bind(":b", "text"));
//   SECPROF_TRY(st.Run());
//   SECPROF_TRY(tx.Commit());      // without Commit, ~Transaction rolls back
//
// The same with positional parameters bound by type, and rows read into values:
//   SECPROF_TRY(db->Execute("INSERT INTO t(a, b) VALUES(?, ?)", int64_t{1}, "text"));
//   SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> bs,
//       db->QueryAll<std::string>("SELECT b FROM t WHERE a > ?",
//                                 [](const Statement& row) { return row.Text(0); }, int64_t{0}));
//
// Ownership: a Database owns its sqlite3* (released with sqlite3_close_v2); a Statement owns its
// sqlite3_stmt* (sqlite3_finalize). Statements and Transactions hold a pointer to their Database,
// which must outlive them.
//
// Durability (Open's defaults): journal_mode=WAL (readers never block the writer, and vice versa),
// synchronous=FULL (in WAL mode the log is fsync'ed at every commit: a transaction whose Commit
// returned Ok survives a process kill and a power loss), foreign_keys=ON, a busy timeout during
// which a writer waits for another connection's write lock. A database file that Open creates is
// made durable with a strict fsync of its directory (OpenOptions::fs).
//
// Error mapping (every message names the file and carries sqlite3_errmsg):
//   SQLITE_BUSY, SQLITE_LOCKED          -> kLimit "database is busy"
//   SQLITE_CORRUPT, SQLITE_NOTADB       -> kInvalidInput ("<file> is not a valid SQLite database")
//   SQLITE_CONSTRAINT                   -> kConflict
//   SQLITE_CANTOPEN on a missing file   -> kNotFound (only when OpenOptions::create is false)
//   anything else                       -> kIo
//
// Thread safety: one Database (with its Statements and Transactions) per thread at a time. Several
// Database objects, in one process or several, may open the same file concurrently; never use a
// Database across fork().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "secprof/core/bytes.h"
#include "secprof/core/fs.h"
#include "secprof/core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace secprof::store {

// core/bytes.h's types under the names store's callers spell (store::Bytes is secprof::Bytes).
using secprof::Bytes;
using secprof::ByteView;

struct OpenOptions {
  bool create = true;  // create the file when it does not exist
  bool wal = true;     // PRAGMA journal_mode=WAL, checked (Open fails if the mode did not change)
  std::chrono::milliseconds busy_timeout{5000};  // how long a writer waits for the write lock
  bool read_only = false;     // SQLITE_OPEN_READONLY: no pragma that writes is issued
  bool secure_delete = true;  // PRAGMA secure_delete=ON: deleted content is overwritten with zeros
  // Permissions of a file that Open creates (before the umask); SQLite gives the -wal and -shm
  // files the same. The default keeps the file private to its owner.
  unsigned file_mode = 0600;
  // When Open creates the file, it fsyncs the file's directory through this seam (nullptr:
  // DefaultFileSystem()) before SQLite opens it, so that the new database survives a power loss
  // (SQLite itself only syncs the directory of its journals). Tests pass a fault FS.
  FileSystem* fs = nullptr;
};

class Database;
class Statement;

namespace detail {
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
// The value type a row reader returns: T for `T(const Statement&)` and for
// `Result<T>(const Statement&)`.
template <class R>
struct Unwrap {
  using type = R;
};
template <class T>
struct Unwrap<Result<T>> {
  using type = T;
};
}  // namespace detail

// A prepared statement. Parameters are 1-based (SQLite's convention), columns 0-based. Move-only.
class Statement {
 public:
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bind a value to parameter `index` (1-based) or to a named parameter (":name", "@name",
  // "$name"; kInvalidInput when the statement has no such parameter). Text and blobs are copied
  // (SQLITE_TRANSIENT), so the argument need not outlive the call.
  Status Bind(int index, int64_t value);
  Status Bind(int index, std::string_view text);
  Status Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Status Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Status Bind(int index, ByteView blob);
  Status Bind(int index, std::nullptr_t);
  Status Bind(int index, const std::optional<int64_t>& value);
  Status Bind(int index, const std::optional<std::string>& text);
  template <class T>
  Status Bind(std::string_view name, const T& value) {
    SECPROF_ASSIGN_OR_RETURN(int index, ParameterIndex(name));
    return Bind(index, value);
  }

  // Binds `args` to parameters 1..N in order, each by its type:
  //   bool, int, int64_t (any signed integer)  -> INTEGER (bool as 0/1)
  //   std::string, std::string_view, const char* -> TEXT
  //   Bytes, ByteView                          -> BLOB (an empty one is an empty blob, not NULL)
  //   std::nullptr_t, an empty std::optional   -> NULL; a full std::optional binds its value
  // Unsigned integers do not compile (a value over 2^63-1 would change sign): cast them after
  // checking the range. kInvalidInput when N differs from the statement's parameter count (the
  // highest ?NNN index), so a missing or extra argument never silently binds NULL. A failure
  // leaves the parameters before the failing one bound (Reset clears them).
  template <class... Args>
  Status BindAll(const Args&... args) {
    SECPROF_TRY(CheckParameterCount(static_cast<int>(sizeof...(Args))));
    int index = 0;
    Status st = Ok();
    // Left to right; stops at the first failure.
    (void)((st = BindValue(++index, args), static_cast<bool>(st)) && ...);
    return st;
  }

  // Ok when the statement takes exactly `given` parameters (the highest ?NNN index), else
  // kInvalidInput "statement takes N parameters, M given". BindAll checks it; a caller binding one
  // by one may check it first.
  Status CheckParameterCount(int given) const;

  // Executes one step. true: a row is available through the column getters; false: done.
  Result<bool> Step();
  // Steps until done, discarding rows (for INSERT/UPDATE/DELETE).
  Status Run();
  // Makes the statement runnable again and clears every binding.
  Status Reset();

  // Column getters for the current row (REQUIRES: the last Step returned true; col in range).
  int ColumnCount() const;
  bool IsNull(int col) const;
  int64_t Int64(int col) const;
  std::optional<int64_t> OptionalInt64(int col) const;  // nullopt for NULL
  std::string Text(int col) const;                      // "" for NULL
  std::optional<std::string> OptionalText(int col) const;
  Bytes Blob(int col) const;  // empty for NULL

  // The SQL text, as prepared.
  std::string Sql() const;

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* stmt);
  Result<int> ParameterIndex(std::string_view name) const;
  Status Check(int rc, std::string_view what) const;
  template <class T>
  Status BindValue(int index, const T& value) {
    if constexpr (detail::IsOptional<T>::value) {
      if (!value) return Bind(index, nullptr);
      return BindValue(index, *value);
    } else if constexpr (std::is_same_v<T, bool>) {
      return Bind(index, int64_t{value ? 1 : 0});
    } else if constexpr (std::is_integral_v<T>) {
      static_assert(std::is_signed_v<T>, "bind unsigned integers as int64_t after a range check");
      return Bind(index, static_cast<int64_t>(value));
    } else if constexpr (std::is_same_v<T, Bytes>) {
      return Bind(index, ByteView(value));
    } else {
      return Bind(index, value);  // text, ByteView, nullptr
    }
  }

  struct Finalizer {
    void operator()(sqlite3_stmt* s) const;
  };
  Database* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
};

class Database {
 public:
  // Opens (or creates) `path` and applies the options. A file that is not an SQLite database
  // fails here (kInvalidInput naming the file), not at the first query.
  static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                const OpenOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more ';'-separated statements (schema, pragmas), discarding rows.
  Status Exec(std::string_view sql);
  // Compiles exactly one statement (kInvalidInput when `sql` holds more than one).
  Result<Statement> Prepare(std::string_view sql);

  // Prepares `sql` (one statement), binds `args` as Statement::BindAll does and runs it to the
  // end, discarding rows. Changes() and LastInsertRowId() describe it afterwards.
  template <class... Args>
  Status Execute(std::string_view sql, const Args&... args) {
    SECPROF_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
    SECPROF_TRY(st.BindAll(args...));
    return st.Run();
  }

  // Prepares `sql`, binds `args` (BindAll) and returns read_row(row) for every row, in order.
  // `read_row` is called as read_row(const Statement&) and returns T or Result<T>; an error from
  // it (or from a step) ends the query with that error. It may read only the columns the query
  // selects (column getters REQUIRE an index in range).
  template <class T, class ReadRow, class... Args>
  Result<std::vector<T>> QueryAll(std::string_view sql, ReadRow&& read_row, const Args&... args) {
    SECPROF_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
    SECPROF_TRY(st.BindAll(args...));
    std::vector<T> out;
    while (true) {
      SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return out;
      SECPROF_ASSIGN_OR_RETURN(T value, ReadOne<T>(read_row, st));
      out.push_back(std::move(value));
    }
  }

  // Like QueryAll, for the first row only: nullopt when there is none. Later rows are not read.
  template <class T, class ReadRow, class... Args>
  Result<std::optional<T>> QueryOptional(std::string_view sql, ReadRow&& read_row,
                                         const Args&... args) {
    SECPROF_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
    SECPROF_TRY(st.BindAll(args...));
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<T>();
    SECPROF_ASSIGN_OR_RETURN(T value, ReadOne<T>(read_row, st));
    return std::optional<T>(std::move(value));
  }

  // Like QueryOptional, and kNotFound ("no row from <sql>") when there is no row.
  template <class T, class ReadRow, class... Args>
  Result<T> QueryOne(std::string_view sql, ReadRow&& read_row, const Args&... args) {
    SECPROF_ASSIGN_OR_RETURN(std::optional<T> value,
                             QueryOptional<T>(sql, std::forward<ReadRow>(read_row), args...));
    if (!value) return Fail(ErrorCode::kNotFound, path_ + ": no row from " + std::string(sql));
    return std::move(*value);
  }

  // The first column of the first row of `sql` (kNotFound when there is no row).
  Result<int64_t> QueryInt64(std::string_view sql);
  Result<std::string> QueryText(std::string_view sql);

  // PRAGMA integrity_check: Ok when SQLite answers "ok", else kInvalidInput quoting the first
  // problems it lists.
  Status IntegrityCheck();

  // PRAGMA user_version.
  Result<int> UserVersion();

  // Rows changed by the last INSERT/UPDATE/DELETE (sqlite3_changes64).
  int64_t Changes() const;
  int64_t LastInsertRowId() const;
  // True when a transaction is open on this connection.
  bool InTransaction() const;

  const std::string& path() const { return path_; }
  // The raw handle, for what this wrapper does not cover. Owned by the Database.
  sqlite3* handle() const { return db_.get(); }

  // The Error for SQLite result code `rc` on this connection (mapping in the file comment), with
  // `what` ("preparing ...", "committing") in the message.
  Error MakeError(int rc, std::string_view what) const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  Database(std::string path, sqlite3* db);
  template <class T, class ReadRow>
  static Result<T> ReadOne(ReadRow& read_row, const Statement& st) {
    using R = std::invoke_result_t<ReadRow&, const Statement&>;
    static_assert(std::is_same_v<typename detail::Unwrap<R>::type, T>,
                  "read_row must return T or Result<T>");
    if constexpr (std::is_same_v<R, T>) {
      return Result<T>(read_row(st));
    } else {
      return read_row(st);
    }
  }
  std::string path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

// A transaction: Begin issues BEGIN IMMEDIATE (takes the write lock now, waiting up to the busy
// timeout, so a read-then-write can never fail half-way with SQLITE_BUSY) or, for reads that need
// one consistent snapshot, BEGIN DEFERRED. Without a successful Commit the destructor rolls back.
// Move-only; transactions do not nest.
class Transaction {
 public:
  enum class Mode { kImmediate, kDeferred };
  static Result<Transaction> Begin(Database& db, Mode mode = Mode::kImmediate);
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // COMMIT. After a failure the transaction is rolled back (now or by the destructor).
  // REQUIRES: not yet committed (else kInternal).
  Status Commit();
  // ROLLBACK now (the destructor does it too). Idempotent.
  void Rollback();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;  // nullptr once committed, rolled back or moved from
};

// One step of a versioned schema. Versions start at 1 and increase by 1.
struct Migration {
  int version;
  std::string_view sql;  // one or more statements
};

// Brings `db` to the newest version in `migrations` (PRAGMA user_version): each pending migration
// runs in its own IMMEDIATE transaction together with its user_version bump, so a crash leaves the
// file at a version boundary; a migration another connection applied meanwhile is skipped.
// Running it again on an up-to-date file changes nothing. kConflict "database schema version N is
// newer than this secprof (M)" when the file is newer than the newest migration; kInternal when
// `migrations` is not 1, 2, 3 ...
Status Migrate(Database& db, std::span<const Migration> migrations);

}  // namespace secprof::store
