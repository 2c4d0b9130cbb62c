// secprof::registry — the things aggregate (include/secprof/registry/things.h): lifecycle state
// names, a thing's row, admission (allow, voucher import) and the queries. Commissioning and the
// lifecycle's transitions are in lifecycle.cpp, setup codes in setup_codes.cpp.
#include <array>
#include <string>
#include <utility>

#include "internal.h"
#include "secprof/core/time_format.h"

namespace secprof::registry {

using internal::Row;
using internal::Tx;

// --- states --------------------------------------------------------------------------------------

namespace {

constexpr std::array<std::pair<State, const char*>, 8> kStateNames = {{
    {State::kAllowed, "allowed"},
    {State::kCommissioned, "commissioned"},
    {State::kOperational, "operational"},
    {State::kMaintenance, "maintenance"},
    {State::kDecommissioned, "decommissioned"},
    {State::kRevoked, "revoked"},
    {State::kEvicted, "evicted"},
    {State::kReplaced, "replaced"},
}};

}  // namespace

const char* StateName(State s) {
  for (const auto& [state, name] : kStateNames) {
    if (state == s) return name;
  }
  return "?";
}

Result<State> ParseState(std::string_view name) {
  std::string all;
  for (const auto& [state, n] : kStateNames) {
    if (name == n) return state;
    all += all.empty() ? "" : ", ";
    all += n;
  }
  return Fail(ErrorCode::kInvalidInput,
              "unknown state \"" + std::string(name) + "\" (expected one of " + all + ")");
}

bool IsActive(State s) {
  return s == State::kCommissioned || s == State::kOperational || s == State::kMaintenance;
}

// --- a thing's row -------------------------------------------------------------------------------

namespace {

constexpr char kThingColumns[] =
    "serial, vendor, model, state, setup_code, voucher, voucher_expiry, credential_kind, "
    "credential_id, credential_fingerprint, ldevid_pem, wrapped_key, key_epoch, joins, created, "
    "updated, commissioned_at, replaced_by, replaces";

std::string SelectThings(std::string_view where) {
  return std::string("SELECT ") + kThingColumns + " FROM things" + std::string(where);
}

Result<Thing> ReadThing(const Row& row) {
  Thing t;
  t.serial = row.Text(0);
  t.vendor = row.Text(1);
  t.model = row.Text(2);
  auto state = ParseState(row.Text(3));
  if (!state) {
    return Fail(ErrorCode::kInvalidInput,
                "registry row for " + t.serial + " has an unknown state \"" + row.Text(3) + "\"");
  }
  t.state = *state;
  t.setup_code = row.OptionalText(4);
  t.voucher = row.Blob(5);
  t.voucher_expiry = row.OptionalInt64(6);
  t.credential_kind = row.Text(7);
  t.credential_id = row.Text(8);
  t.credential_fingerprint = row.Text(9);
  t.ldevid_pem = row.Text(10);
  t.wrapped_key = row.Blob(11);
  t.key_epoch = row.Int64(12);
  t.joins = row.Int64(13);
  t.created = row.Int64(14);
  t.updated = row.Int64(15);
  t.commissioned_at = row.OptionalInt64(16);
  t.replaced_by = row.Text(17);
  t.replaces = row.Text(18);
  return t;
}

}  // namespace

namespace internal {

bool IsTerminal(State s) {
  return s == State::kDecommissioned || s == State::kRevoked || s == State::kEvicted;
}

Result<std::optional<Thing>> LoadThing(Tx& tx, std::string_view serial) {
  return tx.QueryOptional<Thing>(SelectThings(" WHERE serial = ?"), ReadThing, serial);
}

Result<Thing> MustLoadThing(Tx& tx, std::string_view serial) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<Thing> t, LoadThing(tx, serial));
  if (!t) {
    return Fail(ErrorCode::kNotFound, kUnknownThing, "no thing with serial " + std::string(serial));
  }
  return std::move(*t);
}

}  // namespace internal

// --- admission -----------------------------------------------------------------------------------

namespace {

using namespace internal;  // the checks and limits

// Shared by Allow and ImportVoucher. `voucher` is set only for ImportVoucher.
struct AllowArgs {
  std::string_view serial, vendor, model;
  std::optional<std::string> setup_code;
  const Bytes* voucher = nullptr;
  int64_t expiry = 0;
  std::string_view actor;
  // Allow by setup code (AllowSetupVerifier): the wrapped setup-code key, kept in setup_codes.
  const Bytes* setup_verifier = nullptr;
  std::string_view voucher_issuer{};  // with a voucher: hex SHA-256 of the verifying vendor CA
};

Status CheckAllowArgs(const AllowArgs& a) {
  SECPROF_TRY(CheckSerial(a.serial));
  SECPROF_TRY(CheckText("vendor", a.vendor, kMaxName));
  SECPROF_TRY(CheckText("model", a.model, kMaxName));
  SECPROF_TRY(CheckText("actor", a.actor, kMaxName));
  if (a.setup_code) SECPROF_TRY(CheckToken("setup code", *a.setup_code, kMaxSetupCode));
  if (a.voucher) {
    if (a.voucher->empty()) return Fail(ErrorCode::kInvalidInput, "voucher is empty");
    if (a.voucher->size() > kMaxVoucher) {
      return Fail(ErrorCode::kInvalidInput, "voucher is longer than 64 KiB");
    }
  }
  return Ok();
}

Status DoAllow(Tx& tx, const AllowArgs& a) {
  const int64_t now = tx.now();
  SECPROF_ASSIGN_OR_RETURN(std::optional<Thing> existing, LoadThing(tx, a.serial));
  const std::string serial(a.serial);
  if (existing) {
    if (existing->state != State::kAllowed) {
      return Fail(ErrorCode::kConflict, kWrongState,
                  "thing " + serial + " is already " + StateName(existing->state) +
                      "; only an allowed thing can be allowed again");
    }
    if (existing->vendor != a.vendor || existing->model != a.model) {
      return Fail(ErrorCode::kConflict, kModelMismatch,
                  "thing " + serial + " is allowed as " + existing->vendor + " " + existing->model +
                      ", not " + std::string(a.vendor) + " " + std::string(a.model));
    }
    if (a.voucher) {
      SECPROF_TRY(
          tx.Execute("UPDATE things SET voucher = ?, voucher_expiry = ?, updated = ? "
                     "WHERE serial = ?",
                     *a.voucher, a.expiry, now, a.serial));
    } else {
      SECPROF_TRY(tx.Execute("UPDATE things SET setup_code = ?, updated = ? WHERE serial = ?",
                             a.setup_code, now, a.serial));
    }
  } else {
    SECPROF_TRY(tx.Execute(
        "INSERT INTO things(serial, vendor, model, state, setup_code, voucher, voucher_expiry, "
        "created, updated) VALUES(?, ?, ?, 'allowed', ?, ?, ?, ?, ?)",
        a.serial, a.vendor, a.model, a.setup_code, a.voucher ? ByteView(*a.voucher) : ByteView(),
        a.voucher ? std::optional<int64_t>(a.expiry) : std::nullopt, now, now));
  }
  if (a.setup_verifier) SECPROF_TRY(PutSetupVerifier(tx, a.serial, *a.setup_verifier));
  std::string detail = std::string(a.vendor) + " " + std::string(a.model);
  if (a.voucher) {
    detail += ", voucher expires " + FormatIso8601(a.expiry);
  } else {
    detail += a.setup_code || a.setup_verifier ? ", setup code set"
                                               : ", no setup code";  // never the code itself
  }
  if (existing) detail += " (again)";
  if (a.voucher) {
    // Which vendor CA verified this voucher (voucher_issuers): replaced with every import, so a
    // record never outlives the voucher it describes.
    SECPROF_TRY(tx.Execute("DELETE FROM voucher_issuers WHERE serial = ?", a.serial));
    if (!a.voucher_issuer.empty()) {
      SECPROF_TRY(tx.Execute(
          "INSERT INTO voucher_issuers(serial, vendor_ca_sha256, recorded) VALUES(?, ?, ?)",
          a.serial, a.voucher_issuer, now));
      detail += ", signed by vendor CA " + std::string(a.voucher_issuer.substr(0, 16));
    }
  }
  return tx.Audit(a.actor, a.voucher ? "voucher-imported" : "allowed", a.serial, detail);
}

Status WriteAllow(Ledger& ledger, const AllowArgs& a) {
  SECPROF_TRY(CheckAllowArgs(a));
  return ledger.Write([&](Tx& tx) { return DoAllow(tx, a); });
}

}  // namespace

Status internal::AllowWithVerifier(Ledger& ledger, std::string_view serial, std::string_view vendor,
                                   std::string_view model, const Bytes& verifier,
                                   std::string_view actor) {
  return WriteAllow(ledger,
                    AllowArgs{serial, vendor, model, std::nullopt, nullptr, 0, actor, &verifier});
}

Status Things::Allow(std::string_view serial, std::string_view vendor, std::string_view model,
                     std::optional<std::string> setup_code, std::string_view actor) {
  // Setup codes are not kept in clear (issue 9, item 12): AllowSetupVerifier stores the wrapped
  // setup-code key instead.
  if (setup_code)
    return Fail(ErrorCode::kInvalidInput,
                "the registry does not store setup codes: allow with AllowSetupVerifier (the KDC's "
                "OwnerTools::AllowSetupCode)");
  return WriteAllow(ledger_,
                    AllowArgs{serial, vendor, model, std::move(setup_code), nullptr, 0, actor});
}

Status Things::ImportVoucher(std::string_view serial, std::string_view vendor,
                             std::string_view model, Bytes voucher, int64_t expiry,
                             std::string_view actor) {
  return WriteAllow(ledger_,
                    AllowArgs{serial, vendor, model, std::nullopt, &voucher, expiry, actor});
}

Status Things::ImportVoucherFrom(std::string_view serial, std::string_view vendor,
                                 std::string_view model, Bytes voucher, int64_t expiry,
                                 std::string_view vendor_ca_sha256, std::string_view actor) {
  if (vendor_ca_sha256.size() != 64 || !internal::IsLowerHex(vendor_ca_sha256))
    return Fail(ErrorCode::kInvalidInput, "vendor CA fingerprint must be 64 lower-case hex digits");
  return WriteAllow(ledger_, AllowArgs{serial, vendor, model, std::nullopt, &voucher, expiry, actor,
                                       nullptr, vendor_ca_sha256});
}

Result<std::optional<std::string>> Things::VoucherIssuer(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryOptional<std::string>(
        "SELECT vendor_ca_sha256 FROM voucher_issuers WHERE serial = ?",
        [](const Row& r) { return r.Text(0); }, serial);
  });
}

// --- queries -------------------------------------------------------------------------------------

Result<Thing> Things::Get(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  return ledger_.Read([&](Tx& tx) { return MustLoadThing(tx, serial); });
}

Result<std::vector<Thing>> Things::List(std::optional<State> filter) {
  return ledger_.Read([&](Tx& tx) -> Result<std::vector<Thing>> {
    if (filter) {
      return tx.QueryAll<Thing>(SelectThings(" WHERE state = ? ORDER BY serial"), ReadThing,
                                StateName(*filter));
    }
    return tx.QueryAll<Thing>(SelectThings(" ORDER BY serial"), ReadThing);
  });
}

Result<std::map<State, int64_t>> Things::CountByState() {
  return ledger_.Read([&](Tx& tx) -> Result<std::map<State, int64_t>> {
    std::map<State, int64_t> out;
    for (const auto& [state, name] : kStateNames) out[state] = 0;
    SECPROF_TRY(tx.ForEach("SELECT state, count(*) FROM things GROUP BY state",
                           [&](const Row& row) -> Status {
                             SECPROF_ASSIGN_OR_RETURN(State s, ParseState(row.Text(0)));
                             out[s] = row.Int64(1);
                             return Ok();
                           }));
    return out;
  });
}

// The "credential_kind <> ''" term lets SQLite use the partial index things_by_credential (without
// it, a bound kind cannot prove the index's WHERE clause and the query scans the table).
Result<std::optional<Thing>> Things::FindByCredential(std::string_view kind, std::string_view id) {
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryOptional<Thing>(
        SelectThings(" WHERE credential_kind = ? AND credential_id = ? AND credential_kind <> ''"),
        ReadThing, kind, id);
  });
}

Result<bool> Things::IsCredentialRevoked(std::string_view kind, std::string_view id) {
  return ledger_.Read([&](Tx& tx) {
    return tx.Exists("SELECT 1 FROM revoked_credentials WHERE kind = ? AND id = ?", kind, id);
  });
}

Result<std::vector<std::pair<std::string, int64_t>>> Things::RevokedCredentials(
    std::string_view kind) {
  using Revoked = std::pair<std::string, int64_t>;
  return ledger_.Read([&](Tx& tx) {
    return tx.QueryAll<Revoked>(
        "SELECT id, revoked_at FROM revoked_credentials WHERE kind = ? ORDER BY id",
        [](const Row& r) { return Revoked(r.Text(0), r.Int64(1)); }, kind);
  });
}

}  // namespace secprof::registry
