// secprof::registry — the Registry façade (include/secprof/registry/registry.h): opening the
// storage, composing the aggregates over one ledger, and the domain record. The aggregates live in
// things.cpp, lifecycle.cpp, setup_codes.cpp, groups.cpp, audit.cpp, nonces.cpp, rollout.cpp,
// incidents.cpp and guard.cpp; the transaction-plus-audit core in ledger.h; the storage seam in
// storage.h (SQLite: sqlite_storage.cpp). Schema and rules: docs/REGISTRY.md.
#include "secprof/registry/registry.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "internal.h"
#include "schema.h"
#include "secprof/registry/location.h"
#include "secprof/store/sqlite.h"

namespace secprof::registry {

using namespace internal;  // Tx, Ledger, the checks and limits

static_assert(kMigrations.size() == static_cast<size_t>(kSchemaVersion));

Registry::Registry(std::string path, std::unique_ptr<Ledger> ledger)
    : Things(*ledger),
      Groups(*ledger),
      AuditLog(*ledger),
      Rollout(*ledger),
      CloneGuard(*ledger),
      path_(std::move(path)),
      ledger_(std::move(ledger)) {}

Registry::~Registry() = default;

store::Database& Registry::database() {
  store::Database* db = ledger_->storage().sqlite();
  if (db == nullptr) {  // a caller's bug: the contract in registry.h
    std::fprintf(stderr, "secprof: Registry::database() on a registry that is not SQLite\n");
    std::abort();
  }
  return *db;
}

bool Registry::is_sqlite() { return ledger_->storage().sqlite() != nullptr; }

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& path, const Clock& clock,
                                                 std::chrono::milliseconds busy_timeout) {
  // The scheme decides (location.h): a PostgreSQL URI, else an SQLite file.
  const bool postgres = IsPostgresUri(path);
  SECPROF_ASSIGN_OR_RETURN(
      std::unique_ptr<Storage> storage,
      postgres ? OpenPostgresStorage(path, busy_timeout) : OpenSqliteStorage(path, busy_timeout));
  auto ledger = std::make_unique<Ledger>(std::move(storage), clock);
  return std::unique_ptr<Registry>(
      new Registry(postgres ? RedactDb(path) : path, std::move(ledger)));
}

Status Registry::InitDomain(std::string_view profile, std::string_view owner) {
  SECPROF_TRY(CheckToken("profile", profile, kMaxProfile));
  SECPROF_TRY(CheckText("owner", owner, kMaxName));
  return ledger_->Write([&](Tx& tx) -> Status {
    SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> p, GetMeta(tx, "profile"));
    SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> o, GetMeta(tx, "owner"));
    if (p || o) {
      if (p.value_or("") == profile && o.value_or("") == owner) return Ok();  // nothing written
      return Fail(ErrorCode::kConflict, kExists,
                  path_ + " belongs to profile " + p.value_or("?") + " and owner " +
                      o.value_or("?") + ", not " + std::string(profile) + " / " +
                      std::string(owner));
    }
    SECPROF_TRY(tx.Execute(
        "INSERT INTO domain(key, value) VALUES('profile', ?), ('owner', ?), ('created', ?)",
        profile, owner, std::to_string(tx.now())));
    return tx.Audit(owner, "domain-init", "",
                    "profile " + std::string(profile) + " owner " + std::string(owner));
  });
}

Result<DomainInfo> Registry::Domain() {
  return ledger_->Snapshot([&](Tx& tx) -> Result<DomainInfo> {
    SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> p, GetMeta(tx, "profile"));
    SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> o, GetMeta(tx, "owner"));
    SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> c, GetMeta(tx, "created"));
    if (!p || !o) return Fail(ErrorCode::kNotFound, path_ + ": the domain is not initialised");
    DomainInfo d;
    d.profile = *p;
    d.owner = *o;
    if (c) {
      auto [end, ec] = std::from_chars(c->data(), c->data() + c->size(), d.created);
      if (ec != std::errc() || end != c->data() + c->size()) {
        return Fail(ErrorCode::kInvalidInput,
                    path_ + ": malformed domain creation time \"" + *c + "\"");
      }
    }
    return d;
  });
}

}  // namespace secprof::registry
