// secprof::store — RAII over SQLite 3. Contracts in include/secprof/store/sqlite.h.
#include "secprof/store/sqlite.h"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "secprof/core/posix.h"

namespace secprof::store {
namespace {

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

// --- Database ------------------------------------------------------------------------------------

void Database::Closer::operator()(sqlite3* db) const {
  // sqlite3_close_v2 defers the close until the last statement is finalized, so an unexpected
  // destruction order cannot leak the handle.
  sqlite3_close_v2(db);
}

Database::Database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
Database::~Database() = default;

Error Database::MakeError(int rc, std::string_view what) const {
  std::string msg = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
  std::string where = path_ + ": " + std::string(what) + ": ";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error(ErrorCode::kLimit, where + "database is busy (" + msg + ")");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Error(ErrorCode::kInvalidInput, path_ + " is not a valid SQLite database (" +
                                                 std::string(what) + ": " + msg + ")");
    case SQLITE_CONSTRAINT:
      return Error(ErrorCode::kConflict, where + msg);
    default:
      return Error(ErrorCode::kIo, where + msg);
  }
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                 const OpenOptions& options) {
  if (path.empty()) return Fail(ErrorCode::kInvalidInput, "database path is empty");
  int flags = SQLITE_OPEN_EXRESCODE;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create) flags |= SQLITE_OPEN_CREATE;
  }
  if ((!options.create || options.read_only) && path != ":memory:" && !FileExists(path)) {
    return Fail(ErrorCode::kNotFound, path + ": database file does not exist");
  }
  if (!options.read_only && options.create && path != ":memory:" && !FileExists(path)) {
    // Create the file ourselves so that it gets file_mode (SQLite would use 0644); an empty file is
    // an empty database. EEXIST: another process was faster, which is fine (it syncs its own).
    posix::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                              static_cast<mode_t>(options.file_mode)));
    if (!fd && errno != EEXIST) {
      return Fail(ErrorCode::kIo, path + ": creating the database file: " + std::strerror(errno));
    }
    if (fd) {
      fd.Reset();
      // SQLite syncs the directory of the journals and WALs it creates, never of the main file:
      // without this a brand-new database could vanish in a power loss, the commits made in it
      // with it. Strict; on failure the file is removed again, so a retry creates and syncs it.
      FileSystem& fs = options.fs ? *options.fs : DefaultFileSystem();
      const std::string dir = std::filesystem::path(path).parent_path().string();
      if (auto st = fs.SyncDir(dir.empty() ? "." : dir); !st) {
        ::unlink(path.c_str());
        return Fail(st.error().WithContext(path + ": creating the database file"));
      }
    }
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  // Own the handle at once: sqlite3_open_v2 may return one even on failure.
  std::unique_ptr<Database> db(new Database(path, raw));
  if (rc != SQLITE_OK) {
    if (raw == nullptr) {
      return Fail(ErrorCode::kIo, path + ": opening: " + sqlite3_errstr(rc));
    }
    return Fail(db->MakeError(rc, "opening"));
  }
  sqlite3_extended_result_codes(raw, 1);
  rc = sqlite3_busy_timeout(raw, static_cast<int>(options.busy_timeout.count()));
  if (rc != SQLITE_OK) return Fail(db->MakeError(rc, "setting busy timeout"));

  // The first statement reads the header: a file that is not a database fails here with
  // SQLITE_NOTADB.
  SECPROF_TRY(db->QueryInt64("PRAGMA schema_version"));
  if (!options.read_only) {
    if (options.wal) {
      SECPROF_ASSIGN_OR_RETURN(std::string mode, db->QueryText("PRAGMA journal_mode=WAL"));
      bool in_memory = path == ":memory:" && mode == "memory";
      if (mode != "wal" && !in_memory) {
        return Fail(ErrorCode::kIo,
                    path + ": could not switch to WAL (journal_mode is " + mode + ")");
      }
    }
    // WAL + FULL: the log is synced at every commit (sqlite.org/pragma.html#pragma_synchronous).
    SECPROF_TRY(db->Exec("PRAGMA synchronous=FULL"));
    if (options.secure_delete) SECPROF_TRY(db->Exec("PRAGMA secure_delete=ON"));
  }
  SECPROF_TRY(db->Exec("PRAGMA foreign_keys=ON"));
  SECPROF_ASSIGN_OR_RETURN(int64_t fk, db->QueryInt64("PRAGMA foreign_keys"));
  if (fk != 1) return Fail(ErrorCode::kIo, path + ": could not enable foreign keys");
  return db;
}

Status Database::Exec(std::string_view sql) {
  // sqlite3_exec needs a NUL-terminated string.
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);  // the same text as sqlite3_errmsg
  if (rc != SQLITE_OK) return Fail(MakeError(rc, "executing \"" + text.substr(0, 60) + "\""));
  return Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  Statement st(this, raw);  // owns raw (or nullptr) from here on
  if (rc != SQLITE_OK) {
    return Fail(MakeError(rc, "preparing \"" + std::string(sql.substr(0, 60)) + "\""));
  }
  if (raw == nullptr) return Fail(ErrorCode::kInvalidInput, path_ + ": empty SQL statement");
  std::string_view rest(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
  if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidInput, path_ + ": Prepare takes one statement; trailing text: " +
                                              std::string(rest.substr(0, 40)));
  }
  return st;
}

Result<int64_t> Database::QueryInt64(std::string_view sql) {
  SECPROF_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kNotFound, path_ + ": no row from " + std::string(sql));
  return st.Int64(0);
}

Result<std::string> Database::QueryText(std::string_view sql) {
  SECPROF_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kNotFound, path_ + ": no row from " + std::string(sql));
  return st.Text(0);
}

Status Database::IntegrityCheck() {
  SECPROF_ASSIGN_OR_RETURN(Statement st, Prepare("PRAGMA integrity_check(20)"));
  std::string problems;
  int n = 0;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    std::string line = st.Text(0);
    if (line == "ok" && n == 0) continue;
    if (n++ > 0) problems += "; ";
    problems += line;
  }
  if (n == 0) return Ok();
  return Fail(ErrorCode::kInvalidInput, path_ + ": integrity check failed: " + problems);
}

Result<int> Database::UserVersion() {
  SECPROF_ASSIGN_OR_RETURN(int64_t v, QueryInt64("PRAGMA user_version"));
  return static_cast<int>(v);
}

int64_t Database::Changes() const { return sqlite3_changes64(db_.get()); }
int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_.get()); }
bool Database::InTransaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

// --- Statement -----------------------------------------------------------------------------------

void Statement::Finalizer::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

Statement::Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
Statement::~Statement() = default;
Statement::Statement(Statement&& other) noexcept = default;
Statement& Statement::operator=(Statement&& other) noexcept = default;

Status Statement::Check(int rc, std::string_view what) const {
  if (rc == SQLITE_OK) return Ok();
  return Fail(db_->MakeError(rc, what));
}

Result<int> Statement::ParameterIndex(std::string_view name) const {
  std::string n(name);
  int index = sqlite3_bind_parameter_index(stmt_.get(), n.c_str());
  if (index == 0) {
    return Fail(ErrorCode::kInvalidInput, "statement has no parameter " + n + ": " + Sql());
  }
  return index;
}

Status Statement::CheckParameterCount(int given) const {
  const int want = sqlite3_bind_parameter_count(stmt_.get());
  if (given == want) return Ok();
  return Fail(ErrorCode::kInvalidInput, db_->path() + ": statement takes " + std::to_string(want) +
                                            " parameters, " + std::to_string(given) +
                                            " given: " + Sql());
}

Status Statement::Bind(int index, int64_t value) {
  return Check(sqlite3_bind_int64(stmt_.get(), index, value), "binding an integer");
}

Status Statement::Bind(int index, std::string_view text) {
  return Check(sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8),
               "binding text");
}

Status Statement::Bind(int index, ByteView blob) {
  // A zero-length blob is stored as an empty blob, not NULL (a non-null pointer is required).
  static const uint8_t kEmpty = 0;
  const void* p = blob.empty() ? static_cast<const void*>(&kEmpty) : blob.data();
  return Check(sqlite3_bind_blob64(stmt_.get(), index, p, blob.size(), SQLITE_TRANSIENT),
               "binding a blob");
}

Status Statement::Bind(int index, std::nullptr_t) {
  return Check(sqlite3_bind_null(stmt_.get(), index), "binding NULL");
}

Status Statement::Bind(int index, const std::optional<int64_t>& value) {
  if (!value) return Bind(index, nullptr);
  return Bind(index, *value);
}

Status Statement::Bind(int index, const std::optional<std::string>& text) {
  if (!text) return Bind(index, nullptr);
  return Bind(index, std::string_view(*text));
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error e = db_->MakeError(rc, "running \"" + Sql().substr(0, 60) + "\"");
  // A failed step leaves the statement needing a reset before it can run again.
  sqlite3_reset(stmt_.get());
  return Fail(std::move(e));
}

Status Statement::Run() {
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Ok();
  }
}

Status Statement::Reset() {
  int rc = sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  // sqlite3_reset repeats the error of the last failed step; that error was already reported.
  (void)rc;
  return Ok();
}

int Statement::ColumnCount() const { return sqlite3_column_count(stmt_.get()); }

bool Statement::IsNull(int col) const {
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}

int64_t Statement::Int64(int col) const { return sqlite3_column_int64(stmt_.get(), col); }

std::optional<int64_t> Statement::OptionalInt64(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int64(col);
}

std::string Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_.get(), col);
  int n = sqlite3_column_bytes(stmt_.get(), col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::optional<std::string> Statement::OptionalText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

Bytes Statement::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_.get(), col);
  int n = sqlite3_column_bytes(stmt_.get(), col);
  if (p == nullptr || n <= 0) return {};
  const auto* b = static_cast<const uint8_t*>(p);
  return Bytes(b, b + n);
}

std::string Statement::Sql() const {
  const char* s = stmt_ ? sqlite3_sql(stmt_.get()) : nullptr;
  return s ? s : "";
}

// --- Transaction ---------------------------------------------------------------------------------

Result<Transaction> Transaction::Begin(Database& db, Mode mode) {
  if (db.InTransaction()) {
    return Fail(ErrorCode::kInternal, db.path() + ": a transaction is already open");
  }
  SECPROF_TRY(db.Exec(mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() { Rollback(); }

void Transaction::Rollback() {
  if (db_ == nullptr) return;
  // SQLite may already have rolled back by itself (some errors do); ROLLBACK would then fail.
  if (db_->InTransaction()) (void)db_->Exec("ROLLBACK");
  db_ = nullptr;
}

Status Transaction::Commit() {
  if (db_ == nullptr) return Fail(ErrorCode::kInternal, "transaction already finished");
  Status st = db_->Exec("COMMIT");
  if (!st) {
    Rollback();
    return st;
  }
  db_ = nullptr;
  return Ok();
}

// --- Migrate -------------------------------------------------------------------------------------

Status Migrate(Database& db, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return Fail(ErrorCode::kInternal, "migrations must be numbered 1, 2, 3 ...; entry " +
                                            std::to_string(i) + " has version " +
                                            std::to_string(migrations[i].version));
    }
  }
  const int newest = static_cast<int>(migrations.size());
  SECPROF_ASSIGN_OR_RETURN(int current, db.UserVersion());
  if (current > newest) {
    return Fail(ErrorCode::kConflict,
                db.path() + ": database schema version " + std::to_string(current) +
                    " is newer than this secprof (" + std::to_string(newest) + ")");
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db));
    // Another connection may have migrated between our read and our lock: read again under it.
    SECPROF_ASSIGN_OR_RETURN(current, db.UserVersion());
    if (current > newest) {
      return Fail(ErrorCode::kConflict,
                  db.path() + ": database schema version " + std::to_string(current) +
                      " is newer than this secprof (" + std::to_string(newest) + ")");
    }
    if (m.version <= current) continue;  // tx rolls back (nothing written)
    auto applied = db.Exec(m.sql);
    if (!applied) {
      return Fail(
          applied.error().WithContext("schema migration to version " + std::to_string(m.version)));
    }
    SECPROF_TRY(db.Exec("PRAGMA user_version=" + std::to_string(m.version)));
    SECPROF_TRY(tx.Commit());
    current = m.version;
  }
  return Ok();
}

}  // namespace secprof::store
