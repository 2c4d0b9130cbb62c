// The registry's SQLite backend: internal::Storage (storage.h) over secprof::store. The only file
// of the registry besides schema.h that knows SQLite.
#include <optional>
#include <utility>

#include "schema.h"
#include "secprof/store/sqlite.h"
#include "storage.h"

namespace secprof::registry::internal {
namespace {

using store::Database;
using store::Statement;
using store::Transaction;

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(const Statement& st) : st_(st) {}
  bool IsNull(int col) const override { return st_.IsNull(col); }
  int64_t Int64(int col) const override { return st_.Int64(col); }
  std::string Text(int col) const override { return st_.Text(col); }
  Bytes Blob(int col) const override { return st_.Blob(col); }

 private:
  const Statement& st_;
};

class SqliteStorage final : public Storage {
 public:
  explicit SqliteStorage(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  ~SqliteStorage() override { Rollback(); }

  Status Begin(Mode mode) override {
    SECPROF_ASSIGN_OR_RETURN(
        Transaction tx,
        Transaction::Begin(*db_, mode == Mode::kWrite ? Transaction::Mode::kImmediate
                                                      : Transaction::Mode::kDeferred));
    tx_.emplace(std::move(tx));
    return Ok();
  }
  Status Commit() override {
    if (!tx_) return Fail(ErrorCode::kInternal, db_->path() + ": no transaction to commit");
    Transaction tx = std::move(*tx_);
    tx_.reset();
    return tx.Commit();
  }
  void Rollback() override { tx_.reset(); }  // ~Transaction rolls back

  Status Execute(std::string_view sql, std::span<const Value> params) override {
    SECPROF_ASSIGN_OR_RETURN(Statement st, Prepare(sql, params));
    return st.Run();
  }
  Status Query(std::string_view sql, std::span<const Value> params, const RowFn& on_row) override {
    SECPROF_ASSIGN_OR_RETURN(Statement st, Prepare(sql, params));
    const SqliteRow row(st);
    while (true) {
      SECPROF_ASSIGN_OR_RETURN(bool more, st.Step());
      if (!more) return Ok();
      SECPROF_ASSIGN_OR_RETURN(bool go_on, on_row(row));
      if (!go_on) return Ok();
    }
  }
  int64_t Changes() const override { return db_->Changes(); }
  int64_t LastInsertId() const override { return db_->LastInsertRowId(); }

  // secure_delete (store::OpenOptions default) zeroed the freed bytes in the database pages; the
  // WAL still holds the old page images until a checkpoint truncates it.
  Status EraseFreedPages() override { return db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

  Database* sqlite() override { return db_.get(); }

 private:
  // Prepares `sql` and binds the values to ?1..?N (Statement::BindAll's count check included).
  Result<Statement> Prepare(std::string_view sql, std::span<const Value> params) {
    SECPROF_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
    SECPROF_TRY(st.CheckParameterCount(static_cast<int>(params.size())));
    int index = 0;
    for (const Value& v : params) {
      ++index;
      SECPROF_TRY(std::visit([&](const auto& x) { return st.Bind(index, x); }, v));
    }
    return st;
  }

  std::unique_ptr<Database> db_;
  std::optional<Transaction> tx_;
};

// Refuses a file that is some other program's database (see kApplicationId).
Status CheckIsRegistry(Database& db) {
  SECPROF_ASSIGN_OR_RETURN(int64_t app, db.QueryInt64("PRAGMA application_id"));
  SECPROF_ASSIGN_OR_RETURN(int version, db.UserVersion());
  if (app == kApplicationId) return Ok();
  bool foreign = app != 0 || version != 0;
  if (!foreign) {
    SECPROF_ASSIGN_OR_RETURN(int64_t objects, db.QueryInt64("SELECT count(*) FROM sqlite_schema"));
    foreign = objects != 0;
  }
  if (foreign) {
    return Fail(ErrorCode::kInvalidInput,
                db.path() + " is an SQLite database but not a secprof registry");
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Storage>> OpenSqliteStorage(const std::string& path,
                                                   std::chrono::milliseconds busy_timeout) {
  store::OpenOptions options;
  options.busy_timeout = busy_timeout;
  SECPROF_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, options));
  SECPROF_TRY(CheckIsRegistry(*db));
  SECPROF_TRY(store::Migrate(*db, kMigrations));
  return std::unique_ptr<Storage>(new SqliteStorage(std::move(db)));
}

}  // namespace secprof::registry::internal
