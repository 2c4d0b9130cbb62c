// RAII over libpq (pg_connection.h).
#include "pg_connection.h"

#include <string>
#include <utility>

#include "secprof/registry/location.h"

namespace secprof::registry::internal {
namespace {

void DiscardNotice(void*, const char*) {}  // NOTICEs ("... already exists, skipping") are chatter

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

PgConnection::PgConnection(PGconn* conn, std::string uri, std::chrono::milliseconds lock_timeout)
    : conn_(conn), uri_(std::move(uri)), label_(RedactDb(uri_)), lock_timeout_(lock_timeout) {}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& uri, std::chrono::milliseconds lock_timeout) {
  // Our defaults first: the URI (expanded from "dbname") may override them.
  const char* const keys[] = {"fallback_application_name", "connect_timeout", "client_encoding",
                              "dbname", nullptr};
  const char* const values[] = {"secprof", "10", "UTF8", uri.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (raw == nullptr) return Fail(ErrorCode::kIo, RedactDb(uri) + ": out of memory connecting");
  std::unique_ptr<PgConnection> c(new PgConnection(raw, uri, lock_timeout));
  if (PQstatus(raw) != CONNECTION_OK) {
    return Fail(ErrorCode::kIo, c->label_ + ": cannot connect to PostgreSQL: " +
                                    ScrubPasswords(Trimmed(PQerrorMessage(raw)), uri));
  }
  PQsetNoticeProcessor(raw, DiscardNotice, nullptr);
  SECPROF_TRY(c->SetUpSession());
  return c;
}

Status PgConnection::SetUpSession() {
  SECPROF_TRY(Exec("SET lock_timeout = " + std::to_string(lock_timeout_.count()) +
                       "; SET synchronous_commit = on; SET client_min_messages = warning",
                   "setting the session up"));
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> fsync,
                           QueryValue("SHOW fsync", "SHOW fsync"));
  if (fsync.value_or("") != "on") {
    return Fail(ErrorCode::kInvalidInput,
                label_ + ": the server runs with fsync = " + fsync.value_or("?") +
                    ": a commit would not survive a power loss; secprof needs fsync = on");
  }
  return Ok();
}

bool PgConnection::Lost() const { return PQstatus(conn_) == CONNECTION_BAD; }

Status PgConnection::Reconnect() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Fail(ErrorCode::kIo, label_ +
                                    ": connection to the PostgreSQL server lost, and "
                                    "reconnecting failed: " +
                                    ScrubPasswords(Trimmed(PQerrorMessage(conn_)), uri_));
  }
  PQsetNoticeProcessor(conn_, DiscardNotice, nullptr);
  return SetUpSession();
}

Result<PgResult> PgConnection::Exec(const std::string& sql, std::string_view what,
                                    ExecStatusType expect) {
  PgResult r(PQexec(conn_, sql.c_str()));
  if (!r || PQresultStatus(r.get()) != expect) return Fail(MakeError(r.get(), what));
  return r;
}

Result<std::optional<std::string>> PgConnection::QueryValue(const std::string& sql,
                                                            std::string_view what) {
  SECPROF_ASSIGN_OR_RETURN(PgResult r, Exec(sql, what, PGRES_TUPLES_OK));
  if (PQntuples(r.get()) < 1 || PQnfields(r.get()) < 1 || PQgetisnull(r.get(), 0, 0))
    return std::optional<std::string>();
  return std::optional<std::string>(PQgetvalue(r.get(), 0, 0));
}

void PgConnection::RollbackQuietly() {
  if (Lost() || PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
  PgResult r(PQexec(conn_, "ROLLBACK"));
}

Error PgConnection::MakeError(const PGresult* r, std::string_view what) const {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state != nullptr ? state : "";
  std::string msg =
      Trimmed(r != nullptr && PQresultErrorMessage(r)[0] != '\0' ? PQresultErrorMessage(r)
                                                                 : PQerrorMessage(conn_));
  if (r != nullptr && PQresultStatus(r) != PGRES_FATAL_ERROR && msg.empty())
    msg = std::string("unexpected result ") + PQresStatus(PQresultStatus(r));
  msg = ScrubPasswords(std::move(msg), uri_);
  const bool lost = r == nullptr || Lost() || StartsWith(sqlstate, "08") || sqlstate == "57P01" ||
                    sqlstate == "57P02" || sqlstate == "57P03";
  if (lost) {
    return Error(ErrorCode::kIo, label_ + ": connection to the PostgreSQL server lost while " +
                                     std::string(what) + ": " + msg);
  }
  const std::string text = label_ + ": " + std::string(what) + ": " + msg +
                           (sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")");
  if (StartsWith(sqlstate, "23")) return Error(ErrorCode::kConflict, text);
  if (sqlstate == "55P03" || sqlstate == "40P01" || sqlstate == "40001" || sqlstate == "57014")
    return Error(ErrorCode::kLimit,
                 label_ + ": database is busy (" + std::string(what) + ": " + msg + ")");
  if (sqlstate == "XX001" || sqlstate == "XX002" || StartsWith(sqlstate, "22"))
    return Error(ErrorCode::kInvalidInput, text);
  return Error(ErrorCode::kIo, text);
}

}  // namespace secprof::registry::internal
