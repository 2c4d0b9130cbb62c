// The registry's PostgreSQL backend: internal::Storage (storage.h) over libpq (pg_connection.h),
// speaking the aggregates' SQLite SQL through sql_dialect.h, with schema.h's migrations
// translated the same way. docs/REGISTRY.md "PostgreSQL" states what it guarantees.
//
// Transactions. Begin(kWrite) is BEGIN (READ COMMITTED) + LOCK TABLE secprof_registry IN
// EXCLUSIVE MODE: the registry's one write lock, taken at once and held to COMMIT, as SQLite's
// BEGIN IMMEDIATE does. Chosen over SERIALIZABLE because every write appends to the audit chain
// (one head row): under SERIALIZABLE two writers would both read the head and one would fail at
// COMMIT, half-way, and need a retry loop; the lock makes them queue instead, for up to
// lock_timeout (then 55P03 -> kLimit "database is busy"). Plain reads (SELECT) take no lock and
// never wait for it. A table lock rather than an advisory lock because it is scoped to the
// registry's schema (two registries in one database do not share it) and migrations take it too.
// Begin(kRead) is REPEATABLE READ READ ONLY: one snapshot for several reads.
//
// Statements are prepared once per connection (by their SQLite text) and executed with
// parameters bound out of line: integers and text in text format, blobs in binary format; results
// in binary format.
#include <array>
#include <charconv>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "pg_connection.h"
#include "schema.h"
#include "secprof/registry/location.h"
#include "sql_dialect.h"
#include "storage.h"

namespace secprof::registry::internal {
namespace {

// Type OIDs the row reader reads (PostgreSQL src/include/catalog/pg_type.dat).
constexpr Oid kBoolOid = 16, kByteaOid = 17, kNameOid = 19, kInt8Oid = 20, kInt2Oid = 21,
              kInt4Oid = 23, kTextOid = 25, kBpcharOid = 1042, kVarcharOid = 1043;

bool IsIntegerType(Oid t) {
  return t == kInt8Oid || t == kInt4Oid || t == kInt2Oid || t == kBoolOid;
}
bool IsReadableType(Oid t) {
  return IsIntegerType(t) || t == kByteaOid || t == kNameOid || t == kTextOid || t == kBpcharOid ||
         t == kVarcharOid;
}

// The table whose single row marks a schema as a secprof registry and holds its schema version
// (SQLite: PRAGMA application_id and user_version).
constexpr char kMetaTable[] = "secprof_registry";

struct PgMigration {
  int version;
  std::string sql;
};
struct PgCatalog {
  std::vector<PgMigration> migrations;
  RowidColumns rowid;
  std::vector<std::string> tables;
};

// schema.h's migrations in PostgreSQL's dialect, translated once.
const Result<PgCatalog>& Catalog() {
  static const Result<PgCatalog> catalog = []() -> Result<PgCatalog> {
    PgCatalog c;
    for (const store::Migration& m : kMigrations) {
      SECPROF_ASSIGN_OR_RETURN(PgSchema s, TranslateSchema(m.sql));
      c.migrations.push_back({m.version, std::move(s.sql)});
      c.rowid.insert(s.rowid.begin(), s.rowid.end());
      c.tables.insert(c.tables.end(), s.tables.begin(), s.tables.end());
    }
    return c;
  }();
  return catalog;
}

class PgRow final : public Row {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  bool IsNull(int col) const override { return PQgetisnull(r_, row_, col) != 0; }
  int64_t Int64(int col) const override {
    if (IsNull(col)) return 0;
    const char* v = PQgetvalue(r_, row_, col);
    const int n = PQgetlength(r_, row_, col);
    if (IsIntegerType(PQftype(r_, col))) {  // binary: big-endian two's complement, 1..8 bytes
      uint64_t u = 0;
      for (int i = 0; i < n; ++i) u = (u << 8) | static_cast<uint8_t>(v[i]);
      if (n > 0 && n < 8 && (static_cast<uint8_t>(v[0]) & 0x80) != 0) u |= ~uint64_t{0} << (8 * n);
      return static_cast<int64_t>(u);
    }
    int64_t out = 0;  // text holding a number (SQLite reads other text as 0)
    std::from_chars(v, v + n, out);
    return out;
  }
  std::string Text(int col) const override {
    if (IsNull(col)) return "";
    if (IsIntegerType(PQftype(r_, col))) return std::to_string(Int64(col));
    return std::string(PQgetvalue(r_, row_, col), static_cast<size_t>(PQgetlength(r_, row_, col)));
  }
  Bytes Blob(int col) const override {
    if (IsIntegerType(PQftype(r_, col))) {
      const std::string s = Text(col);
      return Bytes(s.begin(), s.end());
    }
    const auto* v = reinterpret_cast<const uint8_t*>(PQgetvalue(r_, row_, col));
    return Bytes(v, v + PQgetlength(r_, row_, col));
  }

 private:
  const PGresult* r_;
  int row_;
};

class PostgresStorage final : public Storage {
 public:
  PostgresStorage(std::unique_ptr<PgConnection> conn, const PgCatalog& catalog)
      : conn_(std::move(conn)), catalog_(catalog) {}
  ~PostgresStorage() override { Rollback(); }

  Status Begin(Mode mode) override {
    if (in_tx_) return Fail(ErrorCode::kInternal, conn_->label() + ": a transaction is open");
    SECPROF_TRY(EnsureConnected());
    const std::string sql = mode == Mode::kWrite
                                ? std::string(
                                      "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE; "
                                      "LOCK TABLE ") +
                                      kMetaTable + " IN EXCLUSIVE MODE"
                                : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    const char* what =
        mode == Mode::kWrite ? "taking the registry's write lock" : "beginning a read transaction";
    auto r = conn_->Exec(sql, what);
    if (!r && conn_->Lost()) {  // the server went away since the last call: nothing was done yet
      SECPROF_TRY(Reconnect());
      r = conn_->Exec(sql, what);
    }
    if (!r) {
      conn_->RollbackQuietly();
      return Fail(r.error());
    }
    in_tx_ = true;
    return Ok();
  }

  Status Commit() override {
    if (!in_tx_) return Fail(ErrorCode::kInternal, conn_->label() + ": no transaction to commit");
    in_tx_ = false;
    PgResult r(PQexec(conn_->get(), "COMMIT"));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      Error e = conn_->MakeError(r.get(), "committing");
      conn_->RollbackQuietly();
      if (conn_->Lost())
        return Fail(ErrorCode::kIo,
                    e.message() + " (whether the transaction committed is unknown)");
      return Fail(e);
    }
    // COMMIT of a transaction an earlier failed statement aborted answers ROLLBACK.
    if (std::strcmp(PQcmdStatus(r.get()), "COMMIT") != 0) {
      return Fail(ErrorCode::kInternal,
                  conn_->label() + ": the transaction had failed; PostgreSQL rolled it back");
    }
    return Ok();
  }

  void Rollback() override {
    if (!in_tx_) return;
    in_tx_ = false;
    conn_->RollbackQuietly();
  }

  Status Execute(std::string_view sql, std::span<const Value> params) override {
    SECPROF_ASSIGN_OR_RETURN(PgResult r, Run(sql, params));
    const char* status = PQcmdStatus(r.get());
    if (std::strncmp(status, "INSERT", 6) == 0 || std::strncmp(status, "UPDATE", 6) == 0 ||
        std::strncmp(status, "DELETE", 6) == 0) {
      changes_ = std::atoll(PQcmdTuples(r.get()));
    }
    if (last_returning_ && PQntuples(r.get()) >= 1) last_insert_id_ = PgRow(r.get(), 0).Int64(0);
    return Ok();
  }

  Status Query(std::string_view sql, std::span<const Value> params, const RowFn& on_row) override {
    auto ran = Run(sql, params);
    if (!ran && !in_tx_ && conn_->Lost()) {  // a read on its own: safe to repeat once
      SECPROF_TRY(Reconnect());
      ran = Run(sql, params);
    }
    if (!ran) return Fail(ran.error());
    PgResult r = std::move(*ran);
    for (int col = 0; col < PQnfields(r.get()); ++col) {
      if (!IsReadableType(PQftype(r.get(), col)))
        return Fail(ErrorCode::kInternal, "column " + std::to_string(col) + " of \"" +
                                              std::string(sql) + "\" has PostgreSQL type " +
                                              std::to_string(PQftype(r.get(), col)) +
                                              ", which the registry's rows do not read");
    }
    for (int row = 0; row < PQntuples(r.get()); ++row) {
      SECPROF_ASSIGN_OR_RETURN(bool go_on, on_row(PgRow(r.get(), row)));
      if (!go_on) break;
    }
    return Ok();
  }

  int64_t Changes() const override { return changes_; }
  int64_t LastInsertId() const override { return last_insert_id_; }

  // VACUUM removes the dead row versions that UPDATE and DELETE left (old keys, setup codes) so no
  // query, pg_dump or new snapshot can see them again, and marks their space reusable. It does NOT
  // overwrite the bytes: they stay in the table files until reused, and in WAL segments, base
  // backups and replicas (docs/REGISTRY.md "PostgreSQL"). A snapshot older than the delete (a
  // long-running transaction elsewhere) keeps them alive past this VACUUM.
  Status EraseFreedPages() override {
    if (in_tx_) return Fail(ErrorCode::kInternal, "EraseFreedPages inside a transaction");
    SECPROF_TRY(EnsureConnected());
    std::string sql = "VACUUM";
    for (size_t i = 0; i < catalog_.tables.size(); ++i)
      sql += (i == 0 ? " " : ", ") + catalog_.tables[i];
    SECPROF_TRY(conn_->Exec(sql, "vacuuming"));
    return Ok();
  }

  PgConnection& connection() { return *conn_; }

 private:
  struct Prepared {
    std::string name;  // on the server ("" for a needs_types entry)
    int parameters = 0;
    std::string returning;
    bool needs_types = false;  // the server cannot infer the types: see Prepare
    std::string pg_sql;        // the translated text
  };

  // Outside a transaction a lost connection is re-established (prepared statements with it);
  // inside one it is an error: the server has rolled the transaction back.
  Status EnsureConnected() {
    if (!conn_->Lost()) return Ok();
    return Reconnect();
  }
  Status Reconnect() {
    prepared_.clear();  // the server forgot them with the session
    return conn_->Reconnect();
  }

  // The statement prepared for `sql`: with the parameter types left to the server to infer; for
  // a statement where it cannot (42P08, e.g. "?1 IS NULL OR serial = ?1"), once per combination
  // of the values' kinds, with the types they have (int8, text, bytea; NULL as text).
  Result<const Prepared*> Prepare(std::string_view sql, std::span<const Value> params) {
    auto it = prepared_.find(sql);
    if (it != prepared_.end() && !it->second.needs_types) return &it->second;
    if (prepared_.size() >= kMaxPrepared) {  // SQL built at run time would grow it unbounded
      SECPROF_TRY(conn_->Exec("DEALLOCATE ALL", "dropping prepared statements"));
      prepared_.clear();
      it = prepared_.end();
    }
    if (it == prepared_.end()) {
      SECPROF_ASSIGN_OR_RETURN(PgStatement st, TranslateStatement(sql, catalog_.rowid));
      Prepared p{"", st.parameters, st.returning, false, st.sql};
      SECPROF_ASSIGN_OR_RETURN(bool inferred, PrepareOnServer(p, sql, nullptr));
      if (!inferred) p.needs_types = true;
      it = prepared_.emplace(std::string(sql), std::move(p)).first;
      if (inferred) return &it->second;
    }
    std::string key(sql);
    std::vector<Oid> types;
    key += '\x1f';
    for (const Value& v : params) {
      const Oid t = std::holds_alternative<int64_t>(v)    ? kInt8Oid
                    : std::holds_alternative<ByteView>(v) ? kByteaOid
                                                          : kTextOid;
      types.push_back(t);
      key += std::to_string(t) + ",";
    }
    auto typed = prepared_.find(key);
    if (typed != prepared_.end()) return &typed->second;
    Prepared p = it->second;
    p.needs_types = false;
    if (static_cast<int>(types.size()) != p.parameters)  // Run reports the count mismatch
      return &it->second;
    SECPROF_ASSIGN_OR_RETURN(bool done, PrepareOnServer(p, sql, types.data()));
    if (!done)
      return Fail(ErrorCode::kInternal, "cannot type the parameters of " + std::string(sql));
    return &prepared_.emplace(std::move(key), std::move(p)).first->second;
  }

  // PQprepare of p.pg_sql under a new name; false when the server cannot infer a parameter's type.
  Result<bool> PrepareOnServer(Prepared& p, std::string_view sql, const Oid* types) {
    p.name = "secprof_" + std::to_string(++statement_counter_);
    PgResult r(PQprepare(conn_->get(), p.name.c_str(), p.pg_sql.c_str(),
                         types != nullptr ? p.parameters : 0, types));
    if (r && PQresultStatus(r.get()) == PGRES_COMMAND_OK) return true;
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    if (types == nullptr && state != nullptr && std::strcmp(state, "42P08") == 0) return false;
    return Fail(conn_->MakeError(r.get(), "preparing " + std::string(sql)));
  }

  // Prepares (once) and runs `sql` with `params`; the result holds rows or a command status.
  Result<PgResult> Run(std::string_view sql, std::span<const Value> params) {
    if (!in_tx_) SECPROF_TRY(EnsureConnected());
    SECPROF_ASSIGN_OR_RETURN(const Prepared* p, Prepare(sql, params));
    last_returning_ = !p->returning.empty();
    if (static_cast<int>(params.size()) != p->parameters) {
      return Fail(ErrorCode::kInvalidInput, "statement takes " + std::to_string(p->parameters) +
                                                " parameters, " + std::to_string(params.size()) +
                                                " given: " + std::string(sql));
    }
    const size_t n = params.size();
    std::vector<std::string> text(n);
    std::vector<const char*> values(n, nullptr);
    std::vector<int> lengths(n, 0), formats(n, 0);
    static const char kEmpty[1] = {0};
    for (size_t i = 0; i < n; ++i) {
      const Value& v = params[i];
      if (const auto* x = std::get_if<int64_t>(&v)) {
        text[i] = std::to_string(*x);
        values[i] = text[i].c_str();
      } else if (const auto* s = std::get_if<std::string_view>(&v)) {
        if (s->find('\0') != std::string_view::npos)
          return Fail(ErrorCode::kInvalidInput, "text parameter " + std::to_string(i + 1) +
                                                    " holds a NUL byte, which PostgreSQL text "
                                                    "cannot store");
        text[i] = std::string(*s);
        values[i] = text[i].c_str();
      } else if (const auto* b = std::get_if<ByteView>(&v)) {
        values[i] = b->empty() ? kEmpty : reinterpret_cast<const char*>(b->data());
        lengths[i] = static_cast<int>(b->size());
        formats[i] = 1;
      }
    }
    PgResult r(PQexecPrepared(conn_->get(), p->name.c_str(), static_cast<int>(n), values.data(),
                              lengths.data(), formats.data(), /*resultFormat=*/1));
    const ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Error e = conn_->MakeError(r.get(), "running " + std::string(sql));
      if (conn_->Lost() && in_tx_)
        return Fail(ErrorCode::kIo, e.message() + " (the transaction was not committed)");
      return Fail(e);
    }
    return r;
  }

  static constexpr size_t kMaxPrepared = 512;
  std::unique_ptr<PgConnection> conn_;
  const PgCatalog& catalog_;
  std::map<std::string, Prepared, std::less<>> prepared_;
  uint64_t statement_counter_ = 0;
  bool in_tx_ = false;
  bool last_returning_ = false;  // the last statement run reports the rowid column
  int64_t changes_ = 0;
  int64_t last_insert_id_ = 0;
};

// The registry marker's application id and schema version; nullopt when the schema has no marker.
Result<std::optional<std::pair<std::string, int>>> ReadMarker(PgConnection& c) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> marked,
                           c.QueryValue(std::string("SELECT to_regclass(quote_ident("
                                                    "current_schema()) || '.") +
                                            kMetaTable + "') IS NOT NULL",
                                        "looking for the registry"));
  if (marked.value_or("f") != "t") return std::optional<std::pair<std::string, int>>();
  SECPROF_ASSIGN_OR_RETURN(PgResult r,
                           c.Exec(std::string("SELECT application_id, version FROM ") + kMetaTable,
                                  "reading the registry marker", PGRES_TUPLES_OK));
  if (PQntuples(r.get()) != 1 ||
      std::string(PQgetvalue(r.get(), 0, 0)) != std::to_string(kApplicationId)) {
    return Fail(ErrorCode::kInvalidInput,
                c.label() + ": " + kMetaTable + " is not a secprof registry's marker");
  }
  int version = 0;
  const char* v = PQgetvalue(r.get(), 0, 1);
  std::from_chars(v, v + std::strlen(v), version);
  return std::optional<std::pair<std::string, int>>(std::pair(std::string(v), version));
}

// Inside the opening transaction: marks an empty schema as a registry (kInvalidInput when it holds
// other tables), then applies every pending migration and records the newest version. store::
// Migrate runs one transaction per migration; here all pending ones share one, which is as
// crash-safe (all or nothing: PostgreSQL's DDL is transactional) and commits once.
Status ClaimAndMigrate(PgConnection& c, const PgCatalog& catalog, const std::string& schema) {
  const int newest = catalog.migrations.back().version;
  SECPROF_ASSIGN_OR_RETURN(auto marker, ReadMarker(c));
  if (!marker) {
    SECPROF_ASSIGN_OR_RETURN(
        std::optional<std::string> others,
        c.QueryValue("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                     "c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN "
                     "('r', 'p', 'v', 'm', 'f')",
                     "listing the schema's tables"));
    if (others.value_or("0") != "0") {
      return Fail(ErrorCode::kInvalidInput,
                  c.label() + ": schema " + schema + " holds tables but is not a secprof registry");
    }
    SECPROF_TRY(c.Exec(std::string("CREATE TABLE ") + kMetaTable +
                           " (application_id BIGINT NOT NULL CHECK (application_id = " +
                           std::to_string(kApplicationId) +
                           "), version INTEGER NOT NULL CHECK (version >= 0)); INSERT INTO " +
                           kMetaTable + " VALUES (" + std::to_string(kApplicationId) + ", 0)",
                       "creating the registry marker"));
  }
  SECPROF_TRY(c.Exec(std::string("LOCK TABLE ") + kMetaTable + " IN EXCLUSIVE MODE",
                     "taking the registry's write lock"));
  SECPROF_ASSIGN_OR_RETURN(marker, ReadMarker(c));
  const int version = marker ? marker->second : 0;
  if (version > newest) {
    return Fail(ErrorCode::kConflict,
                c.label() + ": database schema version " + std::to_string(version) +
                    " is newer than this secprof (" + std::to_string(newest) + ")");
  }
  for (const PgMigration& m : catalog.migrations) {
    if (m.version <= version) continue;
    SECPROF_TRY(c.Exec(m.sql, "migrating to schema version " + std::to_string(m.version)));
  }
  if (version < newest) {
    SECPROF_TRY(
        c.Exec(std::string("UPDATE ") + kMetaTable + " SET version = " + std::to_string(newest),
               "recording the schema version"));
  }
  return Ok();
}

// Brings the connection's current schema to the newest version (see ClaimAndMigrate). An
// up-to-date registry is only read (no lock, no write); otherwise the work is serialised with
// other openers by an advisory lock on the schema's name and with writers by the write lock.
Status OpenSchema(PgConnection& c, const PgCatalog& catalog) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> schema,
                           c.QueryValue("SELECT current_schema()", "reading the schema"));
  if (!schema) {
    return Fail(
        ErrorCode::kInvalidInput,
        c.label() + ": no schema to hold the registry (search_path names none that exists)");
  }
  const int newest = catalog.migrations.back().version;
  SECPROF_ASSIGN_OR_RETURN(auto marker, ReadMarker(c));
  if (marker && marker->second > newest) {
    return Fail(ErrorCode::kConflict, c.label() + ": database schema version " + marker->first +
                                          " is newer than this secprof (" + std::to_string(newest) +
                                          ")");
  }
  if (marker && marker->second == newest) return Ok();
  SECPROF_TRY(c.Exec("BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kApplicationId) +
                         ", hashtext(current_schema()))",
                     "locking the schema", PGRES_TUPLES_OK));
  Status st = ClaimAndMigrate(c, catalog, *schema);
  if (!st) {
    c.RollbackQuietly();
    return st;
  }
  SECPROF_TRY(c.Exec("COMMIT", "committing the schema"));
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Storage>> OpenPostgresStorage(const std::string& uri,
                                                     std::chrono::milliseconds busy_timeout) {
  const Result<PgCatalog>& catalog = Catalog();
  if (!catalog) return Fail(catalog.error());
  SECPROF_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn,
                           PgConnection::Connect(uri, busy_timeout));
  SECPROF_TRY(OpenSchema(*conn, *catalog));
  return std::unique_ptr<Storage>(new PostgresStorage(std::move(conn), *catalog));
}

}  // namespace secprof::registry::internal
