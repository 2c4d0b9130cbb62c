// secprof::registry — the KDC's registry on secprof::store. Contracts in
// include/secprof/registry/registry.h; schema and rules in docs/REGISTRY.md.
//
// Shape of every mutating method:
//   validate arguments (no I/O)  ->  lock mu_  ->  BEGIN IMMEDIATE  ->  read, check, write,
//   AppendAudit  ->  COMMIT.
// Any failure returns before COMMIT, and ~Transaction rolls back: nothing changes.
#include "secprof/registry/registry.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

#include "internal.h"
#include "nonce_bounds.h"
#include "schema.h"
#include "secprof/crypto/hash.h"
#include "secprof/store/sqlite.h"

namespace secprof::registry {

using store::Database;
using store::Statement;
using store::Transaction;

static_assert(internal::kMigrations.size() == static_cast<size_t>(kSchemaVersion));

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

bool IsTerminal(State s) {
  return s == State::kDecommissioned || s == State::kRevoked || s == State::kEvicted;
}

// The lifecycle graph of Transition (docs/REGISTRY.md, "Transitions"). kReplaced is reached only
// through Replace, kCommissioned only through Commission.
bool TransitionAllowed(State from, State to) {
  switch (to) {
    case State::kOperational:
      return from == State::kCommissioned || from == State::kMaintenance;
    case State::kMaintenance:
      return from == State::kOperational;
    case State::kDecommissioned:
    case State::kRevoked:
    case State::kEvicted:
      return from == State::kAllowed || IsActive(from);
    default:
      return false;
  }
}

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

// --- helpers -------------------------------------------------------------------------------------

namespace {

constexpr size_t kMaxSerial = 128;
constexpr size_t kMaxName = 256;  // vendor, model, owner, actor
constexpr size_t kMaxGroupName = 64;
constexpr size_t kMaxProfile = 64;
constexpr size_t kMaxSetupCode = 64;
constexpr size_t kMaxCredentialId = 128;
constexpr size_t kMaxPem = 16 * 1024;
constexpr size_t kMaxWrappedKey = 1024;
constexpr size_t kMaxVoucher = 64 * 1024;
constexpr size_t kMinNonce = 8, kMaxNonce = 64;
constexpr size_t kMaxAction = 64;
constexpr size_t kMaxDetail = 4096;

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// 1..max printable ASCII characters without spaces (serials, group names, credential ids).
Status CheckToken(std::string_view what, std::string_view s, size_t max) {
  if (s.empty()) return Fail(ErrorCode::kInvalidInput, std::string(what) + " is empty");
  if (s.size() > max) {
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + " is longer than " + std::to_string(max) + " characters");
  }
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) {
      return Fail(ErrorCode::kInvalidInput,
                  std::string(what) + " \"" + std::string(s) +
                      "\" may hold only printable ASCII characters without spaces");
    }
  }
  return Ok();
}

// 1..max bytes of text without control characters (names, actors).
Status CheckText(std::string_view what, std::string_view s, size_t max) {
  if (s.empty()) return Fail(ErrorCode::kInvalidInput, std::string(what) + " is empty");
  if (s.size() > max) {
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + " is longer than " + std::to_string(max) + " bytes");
  }
  for (unsigned char c : s) {
    if (IsControl(c)) {
      return Fail(ErrorCode::kInvalidInput, std::string(what) + " holds a control character");
    }
  }
  return Ok();
}

Status CheckSerial(std::string_view serial) { return CheckToken("serial", serial, kMaxSerial); }

Status CheckWrappedKey(std::string_view what, const Bytes& key) {
  if (key.empty()) return Fail(ErrorCode::kInvalidInput, std::string(what) + " is empty");
  if (key.size() > kMaxWrappedKey) {
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + " is longer than " + std::to_string(kMaxWrappedKey) + " bytes");
  }
  return Ok();
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status CheckCommissionInput(const CommissionInput& in) {
  if (in.credential_kind != kCredentialPsk && in.credential_kind != kCredentialLdevid) {
    return Fail(ErrorCode::kInvalidInput,
                "credential kind \"" + in.credential_kind + "\" is neither \"psk\" nor \"ldevid\"");
  }
  SECPROF_TRY(CheckToken("credential id", in.credential_id, kMaxCredentialId));
  if (in.credential_fingerprint.size() != 2 * crypto::kSha256Size ||
      !IsLowerHex(in.credential_fingerprint)) {
    return Fail(ErrorCode::kInvalidInput,
                "credential fingerprint must be 64 lower-case hex digits (SHA-256)");
  }
  if (in.credential_kind == kCredentialLdevid) {
    if (in.ldevid_pem.empty()) {
      return Fail(ErrorCode::kInvalidInput, "an ldevid credential needs its certificate (PEM)");
    }
    if (in.ldevid_pem.size() > kMaxPem) {
      return Fail(ErrorCode::kInvalidInput, "LDevID PEM is longer than 16 KiB");
    }
  } else if (!in.ldevid_pem.empty()) {
    return Fail(ErrorCode::kInvalidInput, "a psk credential has no certificate");
  }
  return CheckWrappedKey("wrapped key", in.wrapped_key);
}

// Free text for the audit log (details, serials claimed by refused peers): never refused, so that
// a refusal is always recorded, but made safe to print: control characters become \xNN and the
// text is cut at `max` bytes.
std::string Sanitize(std::string_view s, size_t max) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (IsControl(c) || c == '\\') {
      out += '\\';
      if (c == '\\') {
        out += '\\';
      } else {
        out += 'x';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string ToHex(const crypto::Sha256Digest& d) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(d.size() * 2);
  for (uint8_t b : d) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// 64 hex digits -> 32 bytes; false when malformed.
bool FromHex(std::string_view hex, crypto::Sha256Digest* out) {
  if (hex.size() != out->size() * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out->size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

void PutU32(Bytes& b, uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU64(Bytes& b, uint64_t v) {
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutField(Bytes& b, std::string_view s) {
  PutU32(b, static_cast<uint32_t>(s.size()));
  b.insert(b.end(), s.begin(), s.end());
}

// hash(n) = SHA-256(raw hash(n-1) || u64be seq || i64be time || lp(actor) || lp(action) ||
//                   lp(serial) || lp(detail)), lp(x) = u32be length || bytes. Every field has a
// fixed size or a length prefix, so no two different entries encode to the same input.
Result<std::string> ChainHash(const crypto::Sha256Digest& prev, const AuditEntry& e) {
  Bytes in;
  in.reserve(prev.size() + 16 + 16 + e.actor.size() + e.action.size() + e.serial.size() +
             e.detail.size());
  in.insert(in.end(), prev.begin(), prev.end());
  PutU64(in, static_cast<uint64_t>(e.seq));
  PutU64(in, static_cast<uint64_t>(e.time));
  PutField(in, e.actor);
  PutField(in, e.action);
  PutField(in, e.serial);
  PutField(in, e.detail);
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(in));
  return ToHex(d);
}

constexpr char kThingColumns[] =
    "serial, vendor, model, state, setup_code, voucher, voucher_expiry, credential_kind, "
    "credential_id, credential_fingerprint, ldevid_pem, wrapped_key, key_epoch, joins, created, "
    "updated, commissioned_at, replaced_by, replaces";

Result<Thing> ReadThing(const Statement& st) {
  Thing t;
  t.serial = st.Text(0);
  t.vendor = st.Text(1);
  t.model = st.Text(2);
  auto state = ParseState(st.Text(3));
  if (!state) {
    return Fail(ErrorCode::kInvalidInput,
                "registry row for " + t.serial + " has an unknown state \"" + st.Text(3) + "\"");
  }
  t.state = *state;
  t.setup_code = st.OptionalText(4);
  t.voucher = st.Blob(5);
  t.voucher_expiry = st.OptionalInt64(6);
  t.credential_kind = st.Text(7);
  t.credential_id = st.Text(8);
  t.credential_fingerprint = st.Text(9);
  t.ldevid_pem = st.Text(10);
  t.wrapped_key = st.Blob(11);
  t.key_epoch = st.Int64(12);
  t.joins = st.Int64(13);
  t.created = st.Int64(14);
  t.updated = st.Int64(15);
  t.commissioned_at = st.OptionalInt64(16);
  t.replaced_by = st.Text(17);
  t.replaces = st.Text(18);
  return t;
}

Result<std::optional<Thing>> LoadThing(Database& db, std::string_view serial) {
  SECPROF_ASSIGN_OR_RETURN(Statement st, db.Prepare(std::string("SELECT ") + kThingColumns +
                                                    " FROM things WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Thing>();
  SECPROF_ASSIGN_OR_RETURN(Thing t, ReadThing(st));
  return std::optional<Thing>(std::move(t));
}

Result<Thing> MustLoadThing(Database& db, std::string_view serial) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<Thing> t, LoadThing(db, serial));
  if (!t) return Fail(ErrorCode::kNotFound, "no thing with serial " + std::string(serial));
  return std::move(*t);
}

// Appends one audit entry inside the caller's transaction and moves the recorded head.
Status AppendAudit(Database& db, int64_t now, std::string_view actor, std::string_view action,
                   std::string_view serial, std::string_view detail) {
  AuditEntry e;
  e.time = now;
  e.actor = std::string(actor);
  e.action = std::string(action);
  e.serial = std::string(serial);
  e.detail = Sanitize(detail, kMaxDetail);
  crypto::Sha256Digest prev{};
  {
    SECPROF_ASSIGN_OR_RETURN(Statement last,
                             db.Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
    SECPROF_ASSIGN_OR_RETURN(bool row, last.Step());
    e.seq = 1;
    if (row) {
      e.seq = last.Int64(0) + 1;
      if (!FromHex(last.Text(1), &prev)) {
        return Fail(ErrorCode::kVerifyFailed, "audit entry " + std::to_string(e.seq - 1) +
                                                  " has a malformed hash; not appending");
      }
    }
  }
  SECPROF_ASSIGN_OR_RETURN(e.hash, ChainHash(prev, e));
  SECPROF_ASSIGN_OR_RETURN(
      Statement ins, db.Prepare("INSERT INTO audit(seq, time, actor, action, serial, detail, hash) "
                                "VALUES(?, ?, ?, ?, ?, ?, ?)"));
  SECPROF_TRY(ins.Bind(1, e.seq));
  SECPROF_TRY(ins.Bind(2, e.time));
  SECPROF_TRY(ins.Bind(3, e.actor));
  SECPROF_TRY(ins.Bind(4, e.action));
  SECPROF_TRY(ins.Bind(5, e.serial));
  SECPROF_TRY(ins.Bind(6, e.detail));
  SECPROF_TRY(ins.Bind(7, e.hash));
  SECPROF_TRY(ins.Run());
  SECPROF_ASSIGN_OR_RETURN(
      Statement head,
      db.Prepare("INSERT INTO domain(key, value) VALUES('audit_head_seq', ?), "
                 "('audit_head_hash', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  SECPROF_TRY(head.Bind(1, std::to_string(e.seq)));
  SECPROF_TRY(head.Bind(2, e.hash));
  return head.Run();
}

Result<std::optional<std::string>> GetMeta(Database& db, std::string_view key) {
  SECPROF_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT value FROM domain WHERE key = ?"));
  SECPROF_TRY(st.Bind(1, key));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Status RevokeCredential(Database& db, int64_t now, const Thing& t, std::string_view reason) {
  if (t.credential_kind.empty()) return Ok();
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("INSERT INTO revoked_credentials(kind, id, serial, revoked_at, "
                               "reason) VALUES(?, ?, ?, ?, ?) ON CONFLICT(kind, id) DO NOTHING"));
  SECPROF_TRY(st.Bind(1, t.credential_kind));
  SECPROF_TRY(st.Bind(2, t.credential_id));
  SECPROF_TRY(st.Bind(3, t.serial));
  SECPROF_TRY(st.Bind(4, now));
  SECPROF_TRY(st.Bind(5, reason));
  return st.Run();
}

Result<bool> CredentialRevoked(Database& db, std::string_view kind, std::string_view id) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("SELECT 1 FROM revoked_credentials WHERE kind = ? AND id = ?"));
  SECPROF_TRY(st.Bind(1, kind));
  SECPROF_TRY(st.Bind(2, id));
  return st.Step();
}

// The serial holding credential (kind, id), if any. The "credential_kind <> ''" term lets SQLite
// use the partial index things_by_credential (without it, a bound kind cannot prove the index's
// WHERE clause and the query scans the table).
Result<std::optional<std::string>> CredentialHolder(Database& db, std::string_view kind,
                                                    std::string_view id) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT serial FROM things WHERE credential_kind = ? AND credential_id = ? "
                 "AND credential_kind <> ''"));
  SECPROF_TRY(st.Bind(1, kind));
  SECPROF_TRY(st.Bind(2, id));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

// A new credential may be bound to `serial`: not revoked, not held by another thing.
Status CheckCredentialFree(Database& db, std::string_view serial, const CommissionInput& in) {
  SECPROF_ASSIGN_OR_RETURN(bool revoked,
                           CredentialRevoked(db, in.credential_kind, in.credential_id));
  if (revoked) {
    return Fail(ErrorCode::kVerifyFailed,
                "credential " + in.credential_kind + " " + in.credential_id + " is revoked");
  }
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> holder,
                           CredentialHolder(db, in.credential_kind, in.credential_id));
  if (holder && *holder != serial) {
    return Fail(ErrorCode::kConflict, "credential " + in.credential_kind + " " + in.credential_id +
                                          " already belongs to " + *holder);
  }
  return Ok();
}

Result<std::vector<std::string>> MemberGroups(Database& db, std::string_view serial) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT group_name FROM group_members WHERE serial = ? ORDER BY group_name"));
  SECPROF_TRY(st.Bind(1, serial));
  std::vector<std::string> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.Text(0));
  }
  return out;
}

// After a member left `group`: a new key at epoch+1 from `rekey`, or needs_rekey.
Status RekeyAfterLeave(Database& db, int64_t now, const std::string& group,
                       const GroupRekeyFn& rekey, std::string_view actor,
                       std::string_view why_serial) {
  if (!rekey) {
    SECPROF_ASSIGN_OR_RETURN(
        Statement st, db.Prepare("UPDATE groups SET needs_rekey = 1, updated = ? WHERE name = ?"));
    SECPROF_TRY(st.Bind(1, now));
    SECPROF_TRY(st.Bind(2, group));
    return st.Run();
  }
  SECPROF_ASSIGN_OR_RETURN(Statement ep, db.Prepare("SELECT epoch FROM groups WHERE name = ?"));
  SECPROF_TRY(ep.Bind(1, group));
  SECPROF_ASSIGN_OR_RETURN(bool row, ep.Step());
  if (!row) return Fail(ErrorCode::kInternal, "group " + group + " vanished");
  const int64_t epoch = ep.Int64(0) + 1;
  auto key = rekey(group, epoch);
  if (!key) return Fail(key.error().WithContext("new key for group " + group));
  SECPROF_TRY(CheckWrappedKey("new key for group " + group, *key));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("UPDATE groups SET epoch = ?, wrapped_key = ?, needs_rekey = 0, "
                               "updated = ? WHERE name = ?"));
  SECPROF_TRY(st.Bind(1, epoch));
  SECPROF_TRY(st.Bind(2, store::ByteView(*key)));
  SECPROF_TRY(st.Bind(3, now));
  SECPROF_TRY(st.Bind(4, group));
  SECPROF_TRY(st.Run());
  return AppendAudit(db, now, actor, "group-rekeyed", "",
                     "group " + group + " epoch " + std::to_string(epoch) + " (" +
                         std::string(why_serial) + " left)");
}

// Removes `serial` from every group; each group is rekeyed or marked. Returns the groups.
Result<std::vector<std::string>> LeaveAllGroups(Database& db, int64_t now, std::string_view serial,
                                                const GroupRekeyFn& rekey, std::string_view actor) {
  SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> groups, MemberGroups(db, serial));
  SECPROF_ASSIGN_OR_RETURN(Statement del, db.Prepare("DELETE FROM group_members WHERE serial = ?"));
  SECPROF_TRY(del.Bind(1, serial));
  SECPROF_TRY(del.Run());
  for (const std::string& g : groups) {
    SECPROF_TRY(AppendAudit(db, now, actor, "group-member-removed", serial, "group " + g));
    SECPROF_TRY(RekeyAfterLeave(db, now, g, rekey, actor, serial));
  }
  return groups;
}

// Clears the pairwise key and moves the thing to `to`.
Status SetTerminal(Database& db, int64_t now, std::string_view serial, State to) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("UPDATE things SET state = ?, wrapped_key = x'', updated = ? WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, StateName(to)));
  SECPROF_TRY(st.Bind(2, now));
  SECPROF_TRY(st.Bind(3, serial));
  return st.Run();
}

Result<std::vector<std::string>> Members(Database& db, const std::string& group) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT serial FROM group_members WHERE group_name = ? ORDER BY serial"));
  SECPROF_TRY(st.Bind(1, group));
  std::vector<std::string> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(st.Text(0));
  }
  return out;
}

Result<Group> ReadGroupRow(Database& db, const Statement& st) {
  Group g;
  g.name = st.Text(0);
  g.epoch = st.Int64(1);
  g.wrapped_key = st.Blob(2);
  g.needs_rekey = st.Int64(3) != 0;
  SECPROF_ASSIGN_OR_RETURN(g.members, Members(db, g.name));
  return g;
}

Result<std::optional<Group>> LoadGroup(Database& db, std::string_view name) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("SELECT name, epoch, wrapped_key, needs_rekey FROM groups WHERE name = ?"));
  SECPROF_TRY(st.Bind(1, name));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Group>();
  SECPROF_ASSIGN_OR_RETURN(Group g, ReadGroupRow(db, st));
  return std::optional<Group>(std::move(g));
}

Result<Group> MustLoadGroup(Database& db, std::string_view name) {
  SECPROF_ASSIGN_OR_RETURN(std::optional<Group> g, LoadGroup(db, name));
  if (!g) return Fail(ErrorCode::kNotFound, "no group named " + std::string(name));
  return std::move(*g);
}

// Refuses a file that is some other program's database (see internal::kApplicationId).
Status CheckIsRegistry(Database& db) {
  SECPROF_ASSIGN_OR_RETURN(int64_t app, db.QueryInt64("PRAGMA application_id"));
  SECPROF_ASSIGN_OR_RETURN(int version, db.UserVersion());
  if (app == internal::kApplicationId) return Ok();
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

namespace internal {
// For the registry's other files (guard.cpp): the audit append of this file, in the caller's
// transaction, and the serial check.
Status AppendAuditEntry(Database& db, int64_t now, std::string_view actor, std::string_view action,
                        std::string_view serial, std::string_view detail) {
  return AppendAudit(db, now, actor, action, serial, detail);
}
Status CheckSerialArg(std::string_view serial) { return CheckSerial(serial); }
}  // namespace internal

// --- Registry ------------------------------------------------------------------------------------

struct Registry::Impl {
  static int64_t Now(const Registry& r) {
    return std::chrono::duration_cast<std::chrono::seconds>(r.clock_.Now().time_since_epoch())
        .count();
  }
};

Registry::Registry(std::string path, std::unique_ptr<store::Database> db, const Clock& clock)
    : path_(std::move(path)), db_(std::move(db)), clock_(clock) {}

Registry::~Registry() = default;

store::Database& Registry::database() { return *db_; }

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& path, const Clock& clock,
                                                 std::chrono::milliseconds busy_timeout) {
  store::OpenOptions options;
  options.busy_timeout = busy_timeout;
  SECPROF_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, options));
  SECPROF_TRY(CheckIsRegistry(*db));
  SECPROF_TRY(store::Migrate(*db, internal::kMigrations));
  return std::unique_ptr<Registry>(new Registry(path, std::move(db), clock));
}

// --- domain --------------------------------------------------------------------------------------

Status Registry::InitDomain(std::string_view profile, std::string_view owner) {
  SECPROF_TRY(CheckToken("profile", profile, kMaxProfile));
  SECPROF_TRY(CheckText("owner", owner, kMaxName));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> p, GetMeta(*db_, "profile"));
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> o, GetMeta(*db_, "owner"));
  if (p || o) {
    if (p.value_or("") == profile && o.value_or("") == owner) return Ok();
    return Fail(ErrorCode::kConflict, path_ + " belongs to profile " + p.value_or("?") +
                                          " and owner " + o.value_or("?") + ", not " +
                                          std::string(profile) + " / " + std::string(owner));
  }
  SECPROF_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("INSERT INTO domain(key, value) VALUES('profile', ?), "
                                        "('owner', ?), ('created', ?)"));
  SECPROF_TRY(st.Bind(1, profile));
  SECPROF_TRY(st.Bind(2, owner));
  SECPROF_TRY(st.Bind(3, std::to_string(now)));
  SECPROF_TRY(st.Run());
  SECPROF_TRY(AppendAudit(*db_, now, owner, "domain-init", "",
                          "profile " + std::string(profile) + " owner " + std::string(owner)));
  return tx.Commit();
}

Result<DomainInfo> Registry::Domain() {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_, Transaction::Mode::kDeferred));
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> p, GetMeta(*db_, "profile"));
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> o, GetMeta(*db_, "owner"));
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> c, GetMeta(*db_, "created"));
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
  SECPROF_TRY(tx.Commit());
  return d;
}

// --- admission -----------------------------------------------------------------------------------

namespace {

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

Status DoAllow(Database& db, int64_t now, const AllowArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db));
  SECPROF_ASSIGN_OR_RETURN(std::optional<Thing> existing, LoadThing(db, a.serial));
  const std::string serial(a.serial);
  if (existing) {
    if (existing->state != State::kAllowed) {
      return Fail(ErrorCode::kConflict, "thing " + serial + " is already " +
                                            StateName(existing->state) +
                                            "; only an allowed thing can be allowed again");
    }
    if (existing->vendor != a.vendor || existing->model != a.model) {
      return Fail(ErrorCode::kConflict, "thing " + serial + " is allowed as " + existing->vendor +
                                            " " + existing->model + ", not " +
                                            std::string(a.vendor) + " " + std::string(a.model));
    }
    if (a.voucher) {
      SECPROF_ASSIGN_OR_RETURN(Statement st,
                               db.Prepare("UPDATE things SET voucher = ?, voucher_expiry = ?, "
                                          "updated = ? WHERE serial = ?"));
      SECPROF_TRY(st.Bind(1, store::ByteView(*a.voucher)));
      SECPROF_TRY(st.Bind(2, a.expiry));
      SECPROF_TRY(st.Bind(3, now));
      SECPROF_TRY(st.Bind(4, a.serial));
      SECPROF_TRY(st.Run());
    } else {
      SECPROF_ASSIGN_OR_RETURN(
          Statement st,
          db.Prepare("UPDATE things SET setup_code = ?, updated = ? WHERE serial = ?"));
      SECPROF_TRY(st.Bind(1, a.setup_code));
      SECPROF_TRY(st.Bind(2, now));
      SECPROF_TRY(st.Bind(3, a.serial));
      SECPROF_TRY(st.Run());
    }
  } else {
    SECPROF_ASSIGN_OR_RETURN(
        Statement st,
        db.Prepare("INSERT INTO things(serial, vendor, model, state, setup_code, voucher, "
                   "voucher_expiry, created, updated) VALUES(?, ?, ?, 'allowed', ?, ?, ?, ?, ?)"));
    SECPROF_TRY(st.Bind(1, a.serial));
    SECPROF_TRY(st.Bind(2, a.vendor));
    SECPROF_TRY(st.Bind(3, a.model));
    SECPROF_TRY(st.Bind(4, a.setup_code));
    SECPROF_TRY(st.Bind(5, a.voucher ? store::ByteView(*a.voucher) : store::ByteView()));
    SECPROF_TRY(st.Bind(6, a.voucher ? std::optional<int64_t>(a.expiry) : std::nullopt));
    SECPROF_TRY(st.Bind(7, now));
    SECPROF_TRY(st.Bind(8, now));
    SECPROF_TRY(st.Run());
  }
  if (a.setup_verifier)
    SECPROF_TRY(internal::PutSetupVerifier(db, now, a.serial, *a.setup_verifier));
  std::string detail = std::string(a.vendor) + " " + std::string(a.model);
  if (a.voucher) {
    detail += ", voucher expires " + std::to_string(a.expiry);
  } else {
    detail += a.setup_code || a.setup_verifier ? ", setup code set"
                                               : ", no setup code";  // never the code itself
  }
  if (existing) detail += " (again)";
  if (a.voucher) {
    // Which vendor CA verified this voucher (voucher_issuers): replaced with every import, so a record
    // never outlives the voucher it describes.
    SECPROF_ASSIGN_OR_RETURN(Statement del,
                             db.Prepare("DELETE FROM voucher_issuers WHERE serial = ?"));
    SECPROF_TRY(del.Bind(1, a.serial));
    SECPROF_TRY(del.Run());
    if (!a.voucher_issuer.empty()) {
      SECPROF_ASSIGN_OR_RETURN(Statement ins,
                               db.Prepare("INSERT INTO voucher_issuers(serial, vendor_ca_sha256, "
                                          "recorded) VALUES(?, ?, ?)"));
      SECPROF_TRY(ins.Bind(1, a.serial));
      SECPROF_TRY(ins.Bind(2, a.voucher_issuer));
      SECPROF_TRY(ins.Bind(3, now));
      SECPROF_TRY(ins.Run());
      detail += ", signed by vendor CA " + std::string(a.voucher_issuer.substr(0, 16));
    }
  }
  SECPROF_TRY(
      AppendAudit(db, now, a.actor, a.voucher ? "voucher-imported" : "allowed", a.serial, detail));
  return tx.Commit();
}

}  // namespace

Status Registry::Allow(std::string_view serial, std::string_view vendor, std::string_view model,
                       std::optional<std::string> setup_code, std::string_view actor) {
  // Setup codes are not kept in clear (issue 9, item 12): AllowSetupVerifier stores the wrapped
  // setup-code key instead.
  if (setup_code)
    return Fail(ErrorCode::kInvalidInput,
                "the registry does not store setup codes: allow with AllowSetupVerifier (the KDC's "
                "OwnerTools::AllowSetupCode)");
  AllowArgs a{serial, vendor, model, std::move(setup_code), nullptr, 0, actor};
  SECPROF_TRY(CheckAllowArgs(a));
  std::lock_guard lock(mu_);
  return DoAllow(*db_, Impl::Now(*this), a);
}

Status Registry::ImportVoucher(std::string_view serial, std::string_view vendor,
                               std::string_view model, Bytes voucher, int64_t expiry,
                               std::string_view actor) {
  AllowArgs a{serial, vendor, model, std::nullopt, &voucher, expiry, actor};
  SECPROF_TRY(CheckAllowArgs(a));
  std::lock_guard lock(mu_);
  return DoAllow(*db_, Impl::Now(*this), a);
}

Status Registry::ImportVoucherFrom(std::string_view serial, std::string_view vendor,
                                   std::string_view model, Bytes voucher, int64_t expiry,
                                   std::string_view vendor_ca_sha256, std::string_view actor) {
  if (vendor_ca_sha256.size() != 64 ||
      vendor_ca_sha256.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return Fail(ErrorCode::kInvalidInput, "vendor CA fingerprint must be 64 lower-case hex digits");
  AllowArgs a{serial,  vendor, model,   std::nullopt,    &voucher,
              expiry,  actor,  nullptr, vendor_ca_sha256};
  SECPROF_TRY(CheckAllowArgs(a));
  std::lock_guard lock(mu_);
  return DoAllow(*db_, Impl::Now(*this), a);
}

Result<std::optional<std::string>> Registry::VoucherIssuer(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT vendor_ca_sha256 FROM voucher_issuers WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.Text(0));
}

Result<CommissionOutcome> Registry::Commission(std::string_view serial,
                                               const CommissionInput& input, std::string_view actor,
                                               const CommissionHook& hook) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckCommissionInput(input));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  const std::string s(serial);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(*db_, serial));
  CommissionOutcome out;
  if (IsActive(t.state)) {
    // A repeated join (the thing lost our answer, or rebooted): same credential, same answer.
    if (t.credential_fingerprint != input.credential_fingerprint) {
      return Fail(ErrorCode::kConflict, "thing " + s + " is already " + StateName(t.state) +
                                            " with another credential (fingerprint " +
                                            t.credential_fingerprint + ")");
    }
    SECPROF_ASSIGN_OR_RETURN(
        Statement st,
        db_->Prepare("UPDATE things SET joins = joins + 1, updated = ? WHERE serial = ?"));
    SECPROF_TRY(st.Bind(1, now));
    SECPROF_TRY(st.Bind(2, serial));
    SECPROF_TRY(st.Run());
    SECPROF_TRY(AppendAudit(*db_, now, actor, "join-repeat", serial,
                            "state " + std::string(StateName(t.state)) + ", credential " +
                                t.credential_kind + " " + t.credential_id));
    out.first_time = false;
  } else if (t.state == State::kAllowed) {
    if (t.voucher_expiry && now > *t.voucher_expiry) {
      return Fail(ErrorCode::kVerifyFailed, "the voucher for " + s + " expired at " +
                                                std::to_string(*t.voucher_expiry) +
                                                " (unix time); import a new one");
    }
    SECPROF_TRY(CheckCredentialFree(*db_, serial, input));
    SECPROF_ASSIGN_OR_RETURN(
        Statement st,
        db_->Prepare("UPDATE things SET state = 'commissioned', credential_kind = ?, "
                     "credential_id = ?, credential_fingerprint = ?, ldevid_pem = ?, "
                     "wrapped_key = ?, key_epoch = 1, joins = joins + 1, commissioned_at = ?, "
                     "updated = ? WHERE serial = ?"));
    SECPROF_TRY(st.Bind(1, input.credential_kind));
    SECPROF_TRY(st.Bind(2, input.credential_id));
    SECPROF_TRY(st.Bind(3, input.credential_fingerprint));
    SECPROF_TRY(st.Bind(4, input.ldevid_pem));
    SECPROF_TRY(st.Bind(5, store::ByteView(input.wrapped_key)));
    SECPROF_TRY(st.Bind(6, now));
    SECPROF_TRY(st.Bind(7, now));
    SECPROF_TRY(st.Bind(8, serial));
    SECPROF_TRY(st.Run());
    SECPROF_TRY(AppendAudit(*db_, now, actor, "commissioned", serial,
                            "credential " + input.credential_kind + " " + input.credential_id));
    out.first_time = true;
  } else {
    std::string why = "thing " + s + " is " + StateName(t.state) + " and cannot join";
    if (t.state == State::kReplaced) why += " (replaced by " + t.replaced_by + ")";
    return Fail(ErrorCode::kVerifyFailed, why);
  }
  SECPROF_ASSIGN_OR_RETURN(out.thing, MustLoadThing(*db_, serial));
  if (hook) SECPROF_TRY(hook(*db_, now, out));  // its refusal rolls the whole join back
  SECPROF_TRY(tx.Commit());
  return out;
}

Result<std::vector<std::string>> Registry::Transition(std::string_view serial, State to,
                                                      std::string_view actor,
                                                      std::string_view detail,
                                                      const GroupRekeyFn& rekey) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(*db_, serial));
  if (!TransitionAllowed(t.state, to)) {
    return Fail(ErrorCode::kConflict,
                "cannot move " + t.serial + " from " + StateName(t.state) + " to " + StateName(to));
  }
  std::vector<std::string> groups;
  std::string text = std::string(detail);
  if (IsTerminal(to)) {
    SECPROF_TRY(RevokeCredential(*db_, now, t, StateName(to)));
    SECPROF_TRY(SetTerminal(*db_, now, serial, to));
    SECPROF_ASSIGN_OR_RETURN(groups, LeaveAllGroups(*db_, now, serial, rekey, actor));
  } else {
    SECPROF_ASSIGN_OR_RETURN(Statement st, db_->Prepare("UPDATE things SET state = ?, updated = ? "
                                                        "WHERE serial = ?"));
    SECPROF_TRY(st.Bind(1, StateName(to)));
    SECPROF_TRY(st.Bind(2, now));
    SECPROF_TRY(st.Bind(3, serial));
    SECPROF_TRY(st.Run());
  }
  text = std::string("from ") + StateName(t.state) + (text.empty() ? "" : ": ") + text;
  SECPROF_TRY(AppendAudit(*db_, now, actor, StateName(to), serial, text));
  SECPROF_TRY(tx.Commit());
  return groups;
}

Result<std::vector<std::string>> Registry::Replace(std::string_view old_serial,
                                                   std::string_view new_serial,
                                                   std::string_view actor,
                                                   const GroupRekeyFn& rekey) {
  SECPROF_TRY(CheckSerial(old_serial));
  SECPROF_TRY(CheckSerial(new_serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  if (old_serial == new_serial) {
    return Fail(ErrorCode::kInvalidInput, "a thing cannot replace itself");
  }
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Thing old_t, MustLoadThing(*db_, old_serial));
  SECPROF_ASSIGN_OR_RETURN(Thing new_t, MustLoadThing(*db_, new_serial));
  if (old_t.state == State::kReplaced) {
    return Fail(ErrorCode::kConflict,
                "thing " + old_t.serial + " was already replaced by " + old_t.replaced_by);
  }
  if (new_t.state != State::kAllowed && !IsActive(new_t.state)) {
    return Fail(ErrorCode::kConflict, "the replacement " + new_t.serial + " is " +
                                          StateName(new_t.state) +
                                          "; it must be allowed, commissioned, operational or "
                                          "in maintenance");
  }
  if (!new_t.replaces.empty()) {
    return Fail(ErrorCode::kConflict,
                "thing " + new_t.serial + " already replaces " + new_t.replaces);
  }
  // The new thing takes the old one's memberships; every such group needs a new key because the
  // old thing knew the current one.
  SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> groups, MemberGroups(*db_, old_serial));
  for (const std::string& g : groups) {
    SECPROF_ASSIGN_OR_RETURN(Statement add,
                             db_->Prepare("INSERT INTO group_members(group_name, serial, added) "
                                          "VALUES(?, ?, ?) ON CONFLICT DO NOTHING"));
    SECPROF_TRY(add.Bind(1, g));
    SECPROF_TRY(add.Bind(2, new_serial));
    SECPROF_TRY(add.Bind(3, now));
    SECPROF_TRY(add.Run());
    if (db_->Changes() == 0) continue;  // already a member
    SECPROF_TRY(AppendAudit(*db_, now, actor, "group-member-added", new_serial,
                            "group " + g + " (replacing " + old_t.serial + ")"));
  }
  SECPROF_TRY(LeaveAllGroups(*db_, now, old_serial, rekey, actor));
  SECPROF_TRY(RevokeCredential(*db_, now, old_t, "replaced"));
  SECPROF_TRY(SetTerminal(*db_, now, old_serial, State::kReplaced));
  SECPROF_ASSIGN_OR_RETURN(Statement links,
                           db_->Prepare("UPDATE things SET replaced_by = ? WHERE serial = ?"));
  SECPROF_TRY(links.Bind(1, new_serial));
  SECPROF_TRY(links.Bind(2, old_serial));
  SECPROF_TRY(links.Run());
  SECPROF_ASSIGN_OR_RETURN(
      Statement back, db_->Prepare("UPDATE things SET replaces = ?, updated = ? WHERE serial = ?"));
  SECPROF_TRY(back.Bind(1, old_serial));
  SECPROF_TRY(back.Bind(2, now));
  SECPROF_TRY(back.Bind(3, new_serial));
  SECPROF_TRY(back.Run());
  SECPROF_TRY(AppendAudit(*db_, now, actor, "replaced", old_serial,
                          "from " + std::string(StateName(old_t.state)) + ", by " + new_t.serial));
  SECPROF_TRY(AppendAudit(*db_, now, actor, "replaces", new_serial, old_t.serial));
  SECPROF_TRY(tx.Commit());
  return groups;
}

Status Registry::SetPairwiseKey(std::string_view serial, Bytes wrapped_key,
                                std::string_view actor) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckWrappedKey("wrapped key", wrapped_key));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(*db_, serial));
  if (!IsActive(t.state)) {
    return Fail(ErrorCode::kConflict, "thing " + t.serial + " is " + StateName(t.state) +
                                          "; only an active thing gets a new pairwise key");
  }
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("UPDATE things SET wrapped_key = ?, key_epoch = key_epoch + 1, "
                                 "updated = ? WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, store::ByteView(wrapped_key)));
  SECPROF_TRY(st.Bind(2, now));
  SECPROF_TRY(st.Bind(3, serial));
  SECPROF_TRY(st.Run());
  SECPROF_TRY(AppendAudit(*db_, now, actor, "pairwise-rekey", serial,
                          "key epoch " + std::to_string(t.key_epoch + 1)));
  return tx.Commit();
}

Result<Thing> Registry::RenewCredential(std::string_view serial, const CommissionInput& input,
                                        std::string_view actor) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckCommissionInput(input));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(*db_, serial));
  if (!IsActive(t.state)) {
    return Fail(ErrorCode::kConflict, "thing " + t.serial + " is " + StateName(t.state) +
                                          "; only an active thing can renew its credential");
  }
  SECPROF_TRY(CheckCredentialFree(*db_, serial, input));
  const bool same_id =
      t.credential_kind == input.credential_kind && t.credential_id == input.credential_id;
  if (!same_id) SECPROF_TRY(RevokeCredential(*db_, now, t, "renewed"));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("UPDATE things SET credential_kind = ?, credential_id = ?, "
                                 "credential_fingerprint = ?, ldevid_pem = ?, wrapped_key = ?, "
                                 "key_epoch = key_epoch + 1, updated = ? WHERE serial = ?"));
  SECPROF_TRY(st.Bind(1, input.credential_kind));
  SECPROF_TRY(st.Bind(2, input.credential_id));
  SECPROF_TRY(st.Bind(3, input.credential_fingerprint));
  SECPROF_TRY(st.Bind(4, input.ldevid_pem));
  SECPROF_TRY(st.Bind(5, store::ByteView(input.wrapped_key)));
  SECPROF_TRY(st.Bind(6, now));
  SECPROF_TRY(st.Bind(7, serial));
  SECPROF_TRY(st.Run());
  SECPROF_TRY(
      AppendAudit(*db_, now, actor, "credential-renewed", serial,
                  "credential " + input.credential_kind + " " + input.credential_id +
                      (same_id ? "" : ", revoked " + t.credential_kind + " " + t.credential_id)));
  SECPROF_ASSIGN_OR_RETURN(Thing after, MustLoadThing(*db_, serial));
  SECPROF_TRY(tx.Commit());
  return after;
}

// --- queries -------------------------------------------------------------------------------------

Result<Thing> Registry::Get(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  std::lock_guard lock(mu_);
  return MustLoadThing(*db_, serial);
}

Result<std::vector<Thing>> Registry::List(std::optional<State> filter) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kThingColumns + " FROM things";
  if (filter) sql += " WHERE state = ?";
  sql += " ORDER BY serial";
  SECPROF_ASSIGN_OR_RETURN(Statement st, db_->Prepare(sql));
  if (filter) SECPROF_TRY(st.Bind(1, StateName(*filter)));
  std::vector<Thing> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SECPROF_ASSIGN_OR_RETURN(Thing t, ReadThing(st));
    out.push_back(std::move(t));
  }
  return out;
}

Result<std::map<State, int64_t>> Registry::CountByState() {
  std::lock_guard lock(mu_);
  std::map<State, int64_t> out;
  for (const auto& [state, name] : kStateNames) out[state] = 0;
  SECPROF_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("SELECT state, count(*) FROM things GROUP BY state"));
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SECPROF_ASSIGN_OR_RETURN(State s, ParseState(st.Text(0)));
    out[s] = st.Int64(1);
  }
  return out;
}

Result<std::optional<Thing>> Registry::FindByCredential(std::string_view kind,
                                                        std::string_view id) {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare(std::string("SELECT ") + kThingColumns +
                                 " FROM things WHERE credential_kind = ? AND credential_id = ? "
                                 "AND credential_kind <> ''"));
  SECPROF_TRY(st.Bind(1, kind));
  SECPROF_TRY(st.Bind(2, id));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Thing>();
  SECPROF_ASSIGN_OR_RETURN(Thing t, ReadThing(st));
  return std::optional<Thing>(std::move(t));
}

Result<bool> Registry::IsCredentialRevoked(std::string_view kind, std::string_view id) {
  std::lock_guard lock(mu_);
  return CredentialRevoked(*db_, kind, id);
}

Result<std::vector<std::pair<std::string, int64_t>>> Registry::RevokedCredentials(
    std::string_view kind) {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT id, revoked_at FROM revoked_credentials WHERE kind = ? ORDER BY id"));
  SECPROF_TRY(st.Bind(1, kind));
  std::vector<std::pair<std::string, int64_t>> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(st.Text(0), st.Int64(1));
  }
  return out;
}

// --- groups --------------------------------------------------------------------------------------

Status Registry::CreateGroup(std::string_view name, Bytes wrapped_key, std::string_view actor) {
  SECPROF_TRY(CheckToken("group name", name, kMaxGroupName));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckWrappedKey("group key", wrapped_key));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(std::optional<Group> existing, LoadGroup(*db_, name));
  if (existing) return Fail(ErrorCode::kConflict, "group " + std::string(name) + " exists");
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("INSERT INTO groups(name, epoch, wrapped_key, created, updated) "
                                 "VALUES(?, 1, ?, ?, ?)"));
  SECPROF_TRY(st.Bind(1, name));
  SECPROF_TRY(st.Bind(2, store::ByteView(wrapped_key)));
  SECPROF_TRY(st.Bind(3, now));
  SECPROF_TRY(st.Bind(4, now));
  SECPROF_TRY(st.Run());
  SECPROF_TRY(AppendAudit(*db_, now, actor, "group-created", "",
                          "group " + std::string(name) + " epoch 1"));
  return tx.Commit();
}

Status Registry::AddMember(std::string_view name, std::string_view serial, std::string_view actor) {
  return AddMember(name, serial, actor, GroupRekeyFn{});
}

Status Registry::AddMember(std::string_view name, std::string_view serial, std::string_view actor,
                           const GroupRekeyFn& rekey) {
  SECPROF_TRY(CheckToken("group name", name, kMaxGroupName));
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Group g, MustLoadGroup(*db_, name));
  SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(*db_, serial));
  if (!IsActive(t.state)) {
    return Fail(ErrorCode::kConflict, "thing " + t.serial + " is " + StateName(t.state) +
                                          "; only a commissioned, operational or maintained "
                                          "thing can join a group");
  }
  if (std::find(g.members.begin(), g.members.end(), t.serial) != g.members.end()) {
    return Fail(ErrorCode::kConflict, "thing " + t.serial + " is already a member of " + g.name);
  }
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("INSERT INTO group_members(group_name, serial, added) VALUES(?, ?, ?)"));
  SECPROF_TRY(st.Bind(1, name));
  SECPROF_TRY(st.Bind(2, serial));
  SECPROF_TRY(st.Bind(3, now));
  SECPROF_TRY(st.Run());
  if (rekey) {  // backward secrecy: the newcomer gets only the new epoch's key
    SECPROF_ASSIGN_OR_RETURN(Bytes key, rekey(g.name, g.epoch + 1));
    SECPROF_TRY(CheckWrappedKey("new group key", key));
    SECPROF_ASSIGN_OR_RETURN(Statement up,
                             db_->Prepare("UPDATE groups SET epoch = epoch + 1, wrapped_key = ?, "
                                          "needs_rekey = 0, updated = ? WHERE name = ?"));
    SECPROF_TRY(up.Bind(1, store::ByteView(key)));
    SECPROF_TRY(up.Bind(2, now));
    SECPROF_TRY(up.Bind(3, name));
    SECPROF_TRY(up.Run());
  }
  SECPROF_TRY(AppendAudit(*db_, now, actor, "group-member-added", serial,
                          "group " + g.name + " epoch " +
                              std::to_string(g.epoch + (rekey ? 1 : 0)) +
                              (rekey ? " (re-keyed on join)" : "")));
  return tx.Commit();
}

Status Registry::RemoveMember(std::string_view name, std::string_view serial, Bytes new_wrapped_key,
                              std::string_view actor) {
  SECPROF_TRY(CheckToken("group name", name, kMaxGroupName));
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckWrappedKey("new group key", new_wrapped_key));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Group g, MustLoadGroup(*db_, name));
  if (std::find(g.members.begin(), g.members.end(), serial) == g.members.end()) {
    return Fail(ErrorCode::kNotFound,
                "thing " + std::string(serial) + " is not a member of " + g.name);
  }
  SECPROF_ASSIGN_OR_RETURN(
      Statement del, db_->Prepare("DELETE FROM group_members WHERE group_name = ? AND serial = ?"));
  SECPROF_TRY(del.Bind(1, name));
  SECPROF_TRY(del.Bind(2, serial));
  SECPROF_TRY(del.Run());
  SECPROF_ASSIGN_OR_RETURN(Statement up,
                           db_->Prepare("UPDATE groups SET epoch = epoch + 1, wrapped_key = ?, "
                                        "needs_rekey = 0, updated = ? WHERE name = ?"));
  SECPROF_TRY(up.Bind(1, store::ByteView(new_wrapped_key)));
  SECPROF_TRY(up.Bind(2, now));
  SECPROF_TRY(up.Bind(3, name));
  SECPROF_TRY(up.Run());
  SECPROF_TRY(AppendAudit(*db_, now, actor, "group-member-removed", serial,
                          "group " + g.name + " epoch " + std::to_string(g.epoch + 1)));
  return tx.Commit();
}

Status Registry::Rekey(std::string_view name, Bytes new_wrapped_key, std::string_view actor) {
  SECPROF_TRY(CheckToken("group name", name, kMaxGroupName));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckWrappedKey("new group key", new_wrapped_key));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Group g, MustLoadGroup(*db_, name));
  SECPROF_ASSIGN_OR_RETURN(Statement up,
                           db_->Prepare("UPDATE groups SET epoch = epoch + 1, wrapped_key = ?, "
                                        "needs_rekey = 0, updated = ? WHERE name = ?"));
  SECPROF_TRY(up.Bind(1, store::ByteView(new_wrapped_key)));
  SECPROF_TRY(up.Bind(2, now));
  SECPROF_TRY(up.Bind(3, name));
  SECPROF_TRY(up.Run());
  SECPROF_TRY(AppendAudit(*db_, now, actor, "group-rekeyed", "",
                          "group " + g.name + " epoch " + std::to_string(g.epoch + 1)));
  return tx.Commit();
}

Result<Group> Registry::GetGroup(std::string_view name) {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_, Transaction::Mode::kDeferred));
  SECPROF_ASSIGN_OR_RETURN(Group g, MustLoadGroup(*db_, name));
  SECPROF_TRY(tx.Commit());
  return g;
}

Result<std::vector<std::string>> Registry::GroupsOf(std::string_view serial) {
  std::lock_guard lock(mu_);
  return MemberGroups(*db_, serial);
}

Result<std::vector<Group>> Registry::ListGroups() {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_, Transaction::Mode::kDeferred));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT name, epoch, wrapped_key, needs_rekey FROM groups ORDER BY name"));
  std::vector<Group> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SECPROF_ASSIGN_OR_RETURN(Group g, ReadGroupRow(*db_, st));
    out.push_back(std::move(g));
  }
  SECPROF_TRY(tx.Commit());
  return out;
}

// --- nonces --------------------------------------------------------------------------------------

namespace {

Status CheckNonce(const Bytes& nonce) {
  if (nonce.size() < kMinNonce || nonce.size() > kMaxNonce) {
    return Fail(ErrorCode::kInvalidInput,
                "join nonce must be 8 to 64 bytes, not " + std::to_string(nonce.size()));
  }
  return Ok();
}

}  // namespace

Status Registry::PutNonce(Bytes nonce, std::string_view serial, int64_t expires,
                          NonceBounds bounds) {
  SECPROF_TRY(CheckNonce(nonce));
  SECPROF_TRY(CheckSerial(serial));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  if (expires < now) {
    return Fail(ErrorCode::kInvalidInput, "join nonce expiry " + std::to_string(expires) +
                                              " is in the past (now " + std::to_string(now) + ")");
  }
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  // Opportunistic purge: a nonce past its expiry would be refused as expired anyway.
  SECPROF_ASSIGN_OR_RETURN(Statement purge, db_->Prepare("DELETE FROM nonces WHERE expires < ?"));
  SECPROF_TRY(purge.Bind(1, now));
  SECPROF_TRY(purge.Run());
  SECPROF_TRY(internal::BoundNonces(*db_, serial, bounds.per_serial, bounds.total));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("INSERT INTO nonces(nonce, serial, expires) VALUES(?, ?, ?)"));
  SECPROF_TRY(st.Bind(1, store::ByteView(nonce)));
  SECPROF_TRY(st.Bind(2, serial));
  SECPROF_TRY(st.Bind(3, expires));
  auto ran = st.Run();
  if (!ran) {
    if (ran.error().code() == ErrorCode::kConflict) {
      return Fail(ErrorCode::kConflict, "join nonce already recorded");
    }
    return ran;
  }
  return tx.Commit();
}

Status Registry::ConsumeNonce(Bytes nonce, std::string_view serial) {
  SECPROF_TRY(CheckNonce(nonce));
  SECPROF_TRY(CheckSerial(serial));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT serial, expires, used_at FROM nonces "
                                                      "WHERE nonce = ?"));
  SECPROF_TRY(st.Bind(1, store::ByteView(nonce)));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kVerifyFailed, "unknown join nonce");
  if (st.Text(0) != serial) {
    return Fail(ErrorCode::kVerifyFailed,
                "join nonce was issued to another thing, not " + std::string(serial));
  }
  if (!st.IsNull(2)) return Fail(ErrorCode::kVerifyFailed, "replayed join (nonce already used)");
  if (now > st.Int64(1)) return Fail(ErrorCode::kVerifyFailed, "nonce expired");
  SECPROF_ASSIGN_OR_RETURN(Statement up,
                           db_->Prepare("UPDATE nonces SET used_at = ? WHERE nonce = ?"));
  SECPROF_TRY(up.Bind(1, now));
  SECPROF_TRY(up.Bind(2, store::ByteView(nonce)));
  SECPROF_TRY(up.Run());
  return tx.Commit();
}

// --- audit ---------------------------------------------------------------------------------------

Status Registry::Append(std::string_view actor, std::string_view action, std::string_view serial,
                        std::string_view detail) {
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckToken("action", action, kMaxAction));
  // The serial may be one a refused peer claimed: recorded, made printable, never refused.
  const std::string safe_serial = Sanitize(serial, kMaxSerial);
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_TRY(AppendAudit(*db_, now, actor, action, safe_serial, detail));
  return tx.Commit();
}

Result<std::vector<AuditEntry>> Registry::Audit(std::optional<std::string> serial, int64_t limit) {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT seq, time, actor, action, serial, detail, hash FROM audit "
                                 "WHERE ?1 IS NULL OR serial = ?1 ORDER BY seq DESC LIMIT ?2"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_TRY(st.Bind(2, limit > 0 ? limit : int64_t{-1}));
  std::vector<AuditEntry> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    AuditEntry e;
    e.seq = st.Int64(0);
    e.time = st.Int64(1);
    e.actor = st.Text(2);
    e.action = st.Text(3);
    e.serial = st.Text(4);
    e.detail = st.Text(5);
    e.hash = st.Text(6);
    out.push_back(std::move(e));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Status Registry::VerifyAuditChain() {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_, Transaction::Mode::kDeferred));
  SECPROF_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("SELECT seq, time, actor, action, serial, detail, hash "
                                        "FROM audit ORDER BY seq"));
  crypto::Sha256Digest prev{};
  int64_t expected = 1;
  std::string last_hash;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    AuditEntry e;
    e.seq = st.Int64(0);
    e.time = st.Int64(1);
    e.actor = st.Text(2);
    e.action = st.Text(3);
    e.serial = st.Text(4);
    e.detail = st.Text(5);
    e.hash = st.Text(6);
    if (e.seq != expected) {
      return Fail(ErrorCode::kVerifyFailed,
                  "audit chain broken at seq " + std::to_string(expected) +
                      ": entry missing (next is " + std::to_string(e.seq) + ")");
    }
    SECPROF_ASSIGN_OR_RETURN(std::string want, ChainHash(prev, e));
    if (want != e.hash || !FromHex(e.hash, &prev)) {
      return Fail(ErrorCode::kVerifyFailed, "audit chain broken at seq " + std::to_string(e.seq) +
                                                ": the entry or its hash was changed");
    }
    last_hash = e.hash;
    ++expected;
  }
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> head_seq, GetMeta(*db_, "audit_head_seq"));
  SECPROF_ASSIGN_OR_RETURN(std::optional<std::string> head_hash, GetMeta(*db_, "audit_head_hash"));
  const std::string last_seq = std::to_string(expected - 1);
  if (head_seq.value_or("0") != last_seq || head_hash.value_or("") != last_hash) {
    return Fail(ErrorCode::kVerifyFailed,
                "audit chain broken at seq " + std::to_string(expected) + ": the log ends at seq " +
                    last_seq + " but the recorded head is seq " + head_seq.value_or("0") +
                    " (entries were removed or the head was changed)");
  }
  return tx.Commit();
}

// --- firmware, campaigns, incidents (schema v2) --------------------------------------------------

namespace {

constexpr size_t kMaxEnvelope = 1024 * 1024;
constexpr size_t kMaxImagePath = 4096;
constexpr size_t kMaxTargets = 100000;
constexpr size_t kMaxReason = 4096;
constexpr size_t kMaxDescription = 4096;
constexpr uint64_t kMaxSequence = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

constexpr std::array<std::pair<CampaignState, const char*>, 3> kCampaignStateNames = {{
    {CampaignState::kRunning, "running"},
    {CampaignState::kHalted, "halted"},
    {CampaignState::kCompleted, "completed"},
}};

constexpr std::array<std::pair<TargetStatus, const char*>, 4> kTargetStatusNames = {{
    {TargetStatus::kWaiting, "waiting"},
    {TargetStatus::kOffered, "offered"},
    {TargetStatus::kInstalled, "installed"},
    {TargetStatus::kFailed, "failed"},
}};

constexpr std::array<std::string_view, 4> kSeverities = {"low", "medium", "high", "critical"};

template <class Enum, size_t N>
Result<Enum> ParseName(const std::array<std::pair<Enum, const char*>, N>& names,
                       std::string_view what, std::string_view name) {
  for (const auto& [value, n] : names) {
    if (name == n) return value;
  }
  return Fail(ErrorCode::kInvalidInput, "registry row has an unknown " + std::string(what) + " \"" +
                                            std::string(name) + "\"");
}

Status CheckSequence(std::string_view what, uint64_t v) {
  if (v > kMaxSequence) {
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + " " + std::to_string(v) + " is over 2^63-1");
  }
  return Ok();
}

// The shortest decimal that reads back as the same double (std::to_chars without a precision).
std::string RateToText(double rate) {
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), rate);
  if (ec != std::errc()) return "1";  // cannot happen for a double in [0, 1] and 64 bytes
  return std::string(buf.data(), end);
}

Result<double> RateFromText(std::string_view text) {
  double rate = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rate);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Fail(ErrorCode::kInvalidInput,
                "registry row has a malformed failure rate \"" + std::string(text) + "\"");
  }
  return rate;
}

std::string Id(int64_t id) { return std::to_string(id); }

// "0.40": the two-decimal form of the halt reason.
std::string TwoDecimals(double v) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.2f", v);
  return buf.data();
}

constexpr char kFirmwareColumns[] =
    "id, vendor, model, sequence, envelope, image_path, image_size, image_digest, added";

Firmware ReadFirmware(const Statement& st, int base = 0) {
  Firmware f;
  f.id = st.Int64(base + 0);
  f.vendor = st.Text(base + 1);
  f.model = st.Text(base + 2);
  f.sequence = static_cast<uint64_t>(st.Int64(base + 3));
  f.envelope = st.Blob(base + 4);
  f.image_path = st.Text(base + 5);
  f.image_size = static_cast<uint64_t>(st.Int64(base + 6));
  f.image_digest = st.Text(base + 7);
  f.added = st.Int64(base + 8);
  return f;
}

Result<Firmware> MustLoadFirmware(Database& db, int64_t id) {
  SECPROF_ASSIGN_OR_RETURN(Statement st, db.Prepare(std::string("SELECT ") + kFirmwareColumns +
                                                    " FROM firmware WHERE id = ?"));
  SECPROF_TRY(st.Bind(1, id));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kNotFound, "no firmware with id " + Id(id));
  return ReadFirmware(st);
}

constexpr char kCampaignColumns[] =
    "c.id, c.firmware_id, c.state, c.stage_size, c.max_failure_rate, c.released, c.reason, "
    "c.incident_id, c.created, c.updated";

Result<Campaign> ReadCampaign(const Statement& st) {
  Campaign c;
  c.id = st.Int64(0);
  c.firmware_id = st.Int64(1);
  SECPROF_ASSIGN_OR_RETURN(c.state, ParseName(kCampaignStateNames, "campaign state", st.Text(2)));
  c.stage_size = st.Int64(3);
  SECPROF_ASSIGN_OR_RETURN(c.max_failure_rate, RateFromText(st.Text(4)));
  c.released = st.Int64(5);
  c.reason = st.Text(6);
  c.incident_id = st.OptionalInt64(7).value_or(0);
  c.created = st.Int64(8);
  c.updated = st.Int64(9);
  return c;
}

Result<Campaign> MustLoadCampaign(Database& db, int64_t id) {
  SECPROF_ASSIGN_OR_RETURN(Statement st, db.Prepare(std::string("SELECT ") + kCampaignColumns +
                                                    " FROM campaigns c WHERE c.id = ?"));
  SECPROF_TRY(st.Bind(1, id));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kNotFound, "no campaign with id " + Id(id));
  return ReadCampaign(st);
}

constexpr char kIncidentColumns[] =
    "id, vendor, model, min_sequence, max_sequence, severity, description, created, campaign_id";

Incident ReadIncident(const Statement& st) {
  Incident in;
  in.id = st.Int64(0);
  in.vendor = st.Text(1);
  in.model = st.Text(2);
  in.min_sequence = static_cast<uint64_t>(st.Int64(3));
  in.max_sequence = static_cast<uint64_t>(st.Int64(4));
  in.severity = st.Text(5);
  in.description = st.Text(6);
  in.created = st.Int64(7);
  in.campaign_id = st.OptionalInt64(8).value_or(0);
  return in;
}

Result<Incident> MustLoadIncident(Database& db, int64_t id) {
  SECPROF_ASSIGN_OR_RETURN(Statement st, db.Prepare(std::string("SELECT ") + kIncidentColumns +
                                                    " FROM incidents WHERE id = ?"));
  SECPROF_TRY(st.Bind(1, id));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kNotFound, "no incident with id " + Id(id));
  return ReadIncident(st);
}

Status PutFirmwareVersion(Database& db, int64_t now, std::string_view serial, uint64_t sequence) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("INSERT INTO thing_firmware(serial, sequence, updated) VALUES(?, ?, ?) "
                 "ON CONFLICT(serial) DO UPDATE SET sequence = excluded.sequence, "
                 "updated = excluded.updated"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_TRY(st.Bind(2, static_cast<int64_t>(sequence)));
  SECPROF_TRY(st.Bind(3, now));
  return st.Run();
}

// Offers the firmware to one target: status kOffered, audit "fw-offered".
Status OfferTarget(Database& db, int64_t now, const Campaign& c, const Firmware& fw,
                   std::string_view serial, std::string_view actor) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db.Prepare("UPDATE campaign_targets SET status = 'offered', updated = ? "
                               "WHERE campaign_id = ? AND serial = ? AND status = 'waiting'"));
  SECPROF_TRY(st.Bind(1, now));
  SECPROF_TRY(st.Bind(2, c.id));
  SECPROF_TRY(st.Bind(3, serial));
  SECPROF_TRY(st.Run());
  if (db.Changes() != 1) {
    return Fail(ErrorCode::kInternal,
                "target " + std::string(serial) + " of campaign " + Id(c.id) + " was not waiting");
  }
  return AppendAudit(db, now, actor, "fw-offered", serial,
                     "campaign " + Id(c.id) + " firmware " + Id(fw.id) + " sequence " +
                         std::to_string(fw.sequence));
}

Status SetCampaignState(Database& db, int64_t now, int64_t id, CampaignState state,
                        std::string_view reason) {
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db.Prepare("UPDATE campaigns SET state = ?, reason = ?, updated = ? WHERE id = ?"));
  SECPROF_TRY(st.Bind(1, CampaignStateName(state)));
  SECPROF_TRY(st.Bind(2, reason));
  SECPROF_TRY(st.Bind(3, now));
  SECPROF_TRY(st.Bind(4, id));
  return st.Run();
}

// The staged rollout after a report in a running campaign (rules in registry.h, ReportInstall).
Status AdvanceRollout(Database& db, int64_t now, const Campaign& c, const Firmware& fw,
                      std::string_view actor) {
  std::map<std::string, int64_t> counts;
  {
    SECPROF_ASSIGN_OR_RETURN(Statement st,
                             db.Prepare("SELECT status, count(*) FROM campaign_targets WHERE "
                                        "campaign_id = ? GROUP BY status"));
    SECPROF_TRY(st.Bind(1, c.id));
    while (true) {
      SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      counts[st.Text(0)] = st.Int64(1);
    }
  }
  if (counts["offered"] > 0) return Ok();  // the stage has not fully reported yet
  const int64_t failed = counts["failed"];
  const int64_t reported = counts["installed"] + failed;
  const int64_t waiting = counts["waiting"];
  const double rate =
      reported > 0 ? static_cast<double>(failed) / static_cast<double>(reported) : 0.0;
  if (rate > c.max_failure_rate) {
    const std::string reason = "failure rate " + TwoDecimals(rate) + " > " +
                               TwoDecimals(c.max_failure_rate) + " after " +
                               std::to_string(reported) + " reports";
    SECPROF_TRY(SetCampaignState(db, now, c.id, CampaignState::kHalted, reason));
    return AppendAudit(
        db, now, actor, "campaign-halted", "",
        "campaign " + Id(c.id) + ": " + reason + " (" + std::to_string(waiting) + " waiting)");
  }
  if (waiting > 0) {
    std::vector<std::string> next;
    {
      SECPROF_ASSIGN_OR_RETURN(
          Statement st, db.Prepare("SELECT serial FROM campaign_targets WHERE campaign_id = ? AND "
                                   "status = 'waiting' ORDER BY position LIMIT ?"));
      SECPROF_TRY(st.Bind(1, c.id));
      SECPROF_TRY(st.Bind(2, c.stage_size));
      while (true) {
        SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        next.push_back(st.Text(0));
      }
    }
    const int64_t stage = c.released / c.stage_size + 1;
    const int64_t released = c.released + static_cast<int64_t>(next.size());
    SECPROF_ASSIGN_OR_RETURN(
        Statement up, db.Prepare("UPDATE campaigns SET released = ?, updated = ? WHERE id = ?"));
    SECPROF_TRY(up.Bind(1, released));
    SECPROF_TRY(up.Bind(2, now));
    SECPROF_TRY(up.Bind(3, c.id));
    SECPROF_TRY(up.Run());
    SECPROF_TRY(AppendAudit(db, now, actor, "campaign-stage", "",
                            "campaign " + Id(c.id) + " stage " + std::to_string(stage) + ": " +
                                std::to_string(next.size()) + " released, failure rate " +
                                TwoDecimals(rate) + " after " + std::to_string(reported) +
                                " reports"));
    for (const std::string& serial : next) {
      SECPROF_TRY(OfferTarget(db, now, c, fw, serial, actor));
    }
    return Ok();
  }
  SECPROF_TRY(SetCampaignState(db, now, c.id, CampaignState::kCompleted, ""));
  return AppendAudit(db, now, actor, "campaign-completed", "",
                     "campaign " + Id(c.id) + ": " + std::to_string(reported - failed) +
                         " installed, " + std::to_string(failed) + " failed");
}

}  // namespace

const char* CampaignStateName(CampaignState s) {
  for (const auto& [state, name] : kCampaignStateNames) {
    if (state == s) return name;
  }
  return "?";
}

const char* TargetStatusName(TargetStatus s) {
  for (const auto& [status, name] : kTargetStatusNames) {
    if (status == s) return name;
  }
  return "?";
}

Result<int64_t> Registry::AddFirmware(const Firmware& fw, std::string_view actor) {
  SECPROF_TRY(CheckText("vendor", fw.vendor, kMaxName));
  SECPROF_TRY(CheckText("model", fw.model, kMaxName));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  SECPROF_TRY(CheckSequence("firmware sequence", fw.sequence));
  if (fw.envelope.empty()) return Fail(ErrorCode::kInvalidInput, "firmware envelope is empty");
  if (fw.envelope.size() > kMaxEnvelope) {
    return Fail(ErrorCode::kInvalidInput, "firmware envelope is longer than 1 MiB");
  }
  SECPROF_TRY(CheckText("image path", fw.image_path, kMaxImagePath));
  if (fw.image_size == 0) return Fail(ErrorCode::kInvalidInput, "firmware image size is 0");
  SECPROF_TRY(CheckSequence("firmware image size", fw.image_size));
  if (fw.image_digest.size() != 2 * crypto::kSha256Size || !IsLowerHex(fw.image_digest)) {
    return Fail(ErrorCode::kInvalidInput,
                "firmware image digest must be 64 lower-case hex digits (SHA-256)");
  }
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  {
    SECPROF_ASSIGN_OR_RETURN(
        Statement dup,
        db_->Prepare("SELECT id FROM firmware WHERE vendor = ? AND model = ? AND sequence = ?"));
    SECPROF_TRY(dup.Bind(1, fw.vendor));
    SECPROF_TRY(dup.Bind(2, fw.model));
    SECPROF_TRY(dup.Bind(3, static_cast<int64_t>(fw.sequence)));
    SECPROF_ASSIGN_OR_RETURN(bool row, dup.Step());
    if (row) {
      return Fail(ErrorCode::kConflict, "firmware " + fw.vendor + " " + fw.model + " sequence " +
                                            std::to_string(fw.sequence) + " exists (id " +
                                            Id(dup.Int64(0)) + ")");
    }
  }
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("INSERT INTO firmware(vendor, model, sequence, envelope, image_path, "
                   "image_size, image_digest, added) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
  SECPROF_TRY(st.Bind(1, fw.vendor));
  SECPROF_TRY(st.Bind(2, fw.model));
  SECPROF_TRY(st.Bind(3, static_cast<int64_t>(fw.sequence)));
  SECPROF_TRY(st.Bind(4, store::ByteView(fw.envelope)));
  SECPROF_TRY(st.Bind(5, fw.image_path));
  SECPROF_TRY(st.Bind(6, static_cast<int64_t>(fw.image_size)));
  SECPROF_TRY(st.Bind(7, fw.image_digest));
  SECPROF_TRY(st.Bind(8, now));
  SECPROF_TRY(st.Run());
  const int64_t id = db_->LastInsertRowId();
  SECPROF_TRY(AppendAudit(*db_, now, actor, "firmware-added", "",
                          fw.vendor + " " + fw.model + " " + std::to_string(fw.sequence) + " " +
                              fw.image_digest + " (firmware " + Id(id) + ")"));
  SECPROF_TRY(tx.Commit());
  return id;
}

Result<Firmware> Registry::GetFirmware(int64_t id) {
  std::lock_guard lock(mu_);
  return MustLoadFirmware(*db_, id);
}

Result<std::vector<Firmware>> Registry::ListFirmware() {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Statement st, db_->Prepare(std::string("SELECT ") + kFirmwareColumns +
                                                      " FROM firmware ORDER BY id"));
  std::vector<Firmware> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadFirmware(st));
  }
  return out;
}

Result<int64_t> Registry::StartCampaign(int64_t firmware_id,
                                        const std::vector<std::string>& serials, int64_t stage_size,
                                        double max_failure_rate, std::string_view actor,
                                        int64_t incident_id) {
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  if (stage_size < 1) {
    return Fail(ErrorCode::kInvalidInput,
                "stage size must be at least 1, not " + std::to_string(stage_size));
  }
  if (!(max_failure_rate >= 0.0 && max_failure_rate <= 1.0)) {  // also refuses NaN
    return Fail(ErrorCode::kInvalidInput, "maximum failure rate must be within 0..1");
  }
  if (incident_id < 0) {
    return Fail(ErrorCode::kInvalidInput, "incident id " + Id(incident_id) + " is negative");
  }
  if (serials.empty()) return Fail(ErrorCode::kInvalidInput, "a campaign needs at least one thing");
  if (serials.size() > kMaxTargets) {
    return Fail(ErrorCode::kInvalidInput,
                "a campaign has at most " + std::to_string(kMaxTargets) + " things");
  }
  {
    std::set<std::string_view> seen;
    for (const std::string& s : serials) {
      SECPROF_TRY(CheckSerial(s));
      if (!seen.insert(s).second) {
        return Fail(ErrorCode::kInvalidInput, "thing " + s + " is listed twice");
      }
    }
  }
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Firmware fw, MustLoadFirmware(*db_, firmware_id));
  if (incident_id != 0) SECPROF_TRY(MustLoadIncident(*db_, incident_id));
  for (const std::string& s : serials) {
    SECPROF_ASSIGN_OR_RETURN(Thing t, MustLoadThing(*db_, s));
    if (t.vendor != fw.vendor || t.model != fw.model) {
      return Fail(ErrorCode::kConflict, "thing " + s + " is a " + t.vendor + " " + t.model +
                                            ", firmware " + Id(fw.id) + " is for " + fw.vendor +
                                            " " + fw.model);
    }
  }
  const int64_t first = std::min<int64_t>(stage_size, static_cast<int64_t>(serials.size()));
  SECPROF_ASSIGN_OR_RETURN(
      Statement ins,
      db_->Prepare("INSERT INTO campaigns(firmware_id, state, stage_size, max_failure_rate, "
                   "released, incident_id, created, updated) "
                   "VALUES(?, 'running', ?, ?, ?, ?, ?, ?)"));
  SECPROF_TRY(ins.Bind(1, fw.id));
  SECPROF_TRY(ins.Bind(2, stage_size));
  SECPROF_TRY(ins.Bind(3, RateToText(max_failure_rate)));
  SECPROF_TRY(ins.Bind(4, first));
  SECPROF_TRY(ins.Bind(5, incident_id != 0 ? std::optional<int64_t>(incident_id) : std::nullopt));
  SECPROF_TRY(ins.Bind(6, now));
  SECPROF_TRY(ins.Bind(7, now));
  SECPROF_TRY(ins.Run());
  Campaign c;
  c.id = db_->LastInsertRowId();
  SECPROF_ASSIGN_OR_RETURN(
      Statement target,
      db_->Prepare("INSERT INTO campaign_targets(campaign_id, position, serial, status, updated) "
                   "VALUES(?, ?, ?, 'waiting', ?)"));
  for (size_t i = 0; i < serials.size(); ++i) {
    SECPROF_TRY(target.Reset());
    SECPROF_TRY(target.Bind(1, c.id));
    SECPROF_TRY(target.Bind(2, static_cast<int64_t>(i)));
    SECPROF_TRY(target.Bind(3, serials[i]));
    SECPROF_TRY(target.Bind(4, now));
    SECPROF_TRY(target.Run());
  }
  if (incident_id != 0) {
    SECPROF_ASSIGN_OR_RETURN(Statement link,
                             db_->Prepare("UPDATE incidents SET campaign_id = ? WHERE id = ?"));
    SECPROF_TRY(link.Bind(1, c.id));
    SECPROF_TRY(link.Bind(2, incident_id));
    SECPROF_TRY(link.Run());
  }
  std::string detail = "campaign " + Id(c.id) + " firmware " + Id(fw.id) + " (" + fw.vendor + " " +
                       fw.model + " " + std::to_string(fw.sequence) + "), " +
                       std::to_string(serials.size()) + " things, stage size " +
                       std::to_string(stage_size) + ", max failure rate " +
                       RateToText(max_failure_rate);
  if (incident_id != 0) detail += ", incident " + Id(incident_id);
  SECPROF_TRY(AppendAudit(*db_, now, actor, "campaign-started", "", detail));
  for (int64_t i = 0; i < first; ++i) {
    SECPROF_TRY(OfferTarget(*db_, now, c, fw, serials[static_cast<size_t>(i)], actor));
  }
  SECPROF_TRY(tx.Commit());
  return c.id;
}

Result<std::optional<std::pair<Campaign, Firmware>>> Registry::OfferFor(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_, Transaction::Mode::kDeferred));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare(std::string("SELECT ") + kCampaignColumns +
                   " FROM campaign_targets t JOIN campaigns c ON c.id = t.campaign_id "
                   "WHERE t.serial = ? AND t.status = 'offered' AND c.state = 'running' "
                   "ORDER BY c.id LIMIT 1"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::pair<Campaign, Firmware>>();
  SECPROF_ASSIGN_OR_RETURN(Campaign c, ReadCampaign(st));
  SECPROF_ASSIGN_OR_RETURN(Firmware fw, MustLoadFirmware(*db_, c.firmware_id));
  SECPROF_TRY(tx.Commit());
  return std::optional<std::pair<Campaign, Firmware>>(std::in_place, std::move(c), std::move(fw));
}

Result<Campaign> Registry::ReportInstall(int64_t campaign_id, std::string_view serial, bool ok,
                                         std::string_view detail, std::string_view actor,
                                         std::optional<uint64_t> running_sequence) {
  SECPROF_TRY(CheckSerial(serial));
  if (running_sequence) SECPROF_TRY(CheckSequence("firmware sequence", *running_sequence));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  const std::string report = Sanitize(detail, kMaxDetail);
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Campaign c, MustLoadCampaign(*db_, campaign_id));
  {
    SECPROF_ASSIGN_OR_RETURN(
        Statement st,
        db_->Prepare("SELECT status FROM campaign_targets WHERE campaign_id = ? AND serial = ?"));
    SECPROF_TRY(st.Bind(1, c.id));
    SECPROF_TRY(st.Bind(2, serial));
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) {
      return Fail(ErrorCode::kNotFound,
                  "thing " + std::string(serial) + " is not a target of campaign " + Id(c.id));
    }
    SECPROF_ASSIGN_OR_RETURN(TargetStatus status,
                             ParseName(kTargetStatusNames, "target status", st.Text(0)));
    if (status == TargetStatus::kWaiting) {
      return Fail(ErrorCode::kConflict, "thing " + std::string(serial) +
                                            " was not offered campaign " + Id(c.id) + " yet");
    }
    if (status != TargetStatus::kOffered) {
      return Fail(ErrorCode::kConflict, "thing " + std::string(serial) + " already reported " +
                                            TargetStatusName(status) + " in campaign " + Id(c.id));
    }
  }
  SECPROF_ASSIGN_OR_RETURN(Firmware fw, MustLoadFirmware(*db_, c.firmware_id));
  const TargetStatus to = ok ? TargetStatus::kInstalled : TargetStatus::kFailed;
  SECPROF_ASSIGN_OR_RETURN(
      Statement up, db_->Prepare("UPDATE campaign_targets SET status = ?, detail = ?, updated = ? "
                                 "WHERE campaign_id = ? AND serial = ?"));
  SECPROF_TRY(up.Bind(1, TargetStatusName(to)));
  SECPROF_TRY(up.Bind(2, report));
  SECPROF_TRY(up.Bind(3, now));
  SECPROF_TRY(up.Bind(4, c.id));
  SECPROF_TRY(up.Bind(5, serial));
  SECPROF_TRY(up.Run());
  if (ok)
    SECPROF_TRY(PutFirmwareVersion(*db_, now, serial, fw.sequence));
  else if (running_sequence)
    SECPROF_TRY(PutFirmwareVersion(*db_, now, serial, *running_sequence));
  SECPROF_TRY(AppendAudit(*db_, now, actor, ok ? "fw-installed" : "fw-failed", serial,
                          "campaign " + Id(c.id) + " sequence " + std::to_string(fw.sequence) +
                              ": " + std::string(detail)));  // AppendAudit sanitises
  SECPROF_ASSIGN_OR_RETURN(Statement touch,
                           db_->Prepare("UPDATE campaigns SET updated = ? WHERE id = ?"));
  SECPROF_TRY(touch.Bind(1, now));
  SECPROF_TRY(touch.Bind(2, c.id));
  SECPROF_TRY(touch.Run());
  if (c.state == CampaignState::kRunning) SECPROF_TRY(AdvanceRollout(*db_, now, c, fw, actor));
  SECPROF_ASSIGN_OR_RETURN(Campaign after, MustLoadCampaign(*db_, c.id));
  SECPROF_TRY(tx.Commit());
  return after;
}

Result<Campaign> Registry::GetCampaign(int64_t id) {
  std::lock_guard lock(mu_);
  return MustLoadCampaign(*db_, id);
}

Result<std::vector<Campaign>> Registry::ListCampaigns() {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Statement st, db_->Prepare(std::string("SELECT ") + kCampaignColumns +
                                                      " FROM campaigns c ORDER BY c.id"));
  std::vector<Campaign> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SECPROF_ASSIGN_OR_RETURN(Campaign c, ReadCampaign(st));
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<CampaignTarget>> Registry::CampaignTargets(int64_t id) {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_, Transaction::Mode::kDeferred));
  SECPROF_TRY(MustLoadCampaign(*db_, id));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT serial, status, detail, updated FROM "
                                 "campaign_targets WHERE campaign_id = ? ORDER BY position"));
  SECPROF_TRY(st.Bind(1, id));
  std::vector<CampaignTarget> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    CampaignTarget t;
    t.serial = st.Text(0);
    SECPROF_ASSIGN_OR_RETURN(t.status, ParseName(kTargetStatusNames, "target status", st.Text(1)));
    t.detail = st.Text(2);
    t.updated = st.Int64(3);
    out.push_back(std::move(t));
  }
  SECPROF_TRY(tx.Commit());
  return out;
}

Status Registry::HaltCampaign(int64_t id, std::string_view reason, std::string_view actor) {
  SECPROF_TRY(CheckText("reason", reason, kMaxReason));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Campaign c, MustLoadCampaign(*db_, id));
  if (c.state != CampaignState::kRunning) {
    return Fail(ErrorCode::kConflict,
                "campaign " + Id(id) + " is " + CampaignStateName(c.state) + ", not running");
  }
  SECPROF_TRY(SetCampaignState(*db_, now, id, CampaignState::kHalted, reason));
  SECPROF_TRY(AppendAudit(*db_, now, actor, "campaign-halted", "",
                          "campaign " + Id(id) + ": " + std::string(reason)));
  return tx.Commit();
}

Status Registry::SetFirmwareVersion(std::string_view serial, uint64_t sequence) {
  SECPROF_TRY(CheckSerial(serial));
  SECPROF_TRY(CheckSequence("firmware sequence", sequence));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_TRY(MustLoadThing(*db_, serial));
  SECPROF_TRY(PutFirmwareVersion(*db_, now, serial, sequence));
  return tx.Commit();
}

Result<std::optional<uint64_t>> Registry::FirmwareVersion(std::string_view serial) {
  SECPROF_TRY(CheckSerial(serial));
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(
      Statement st, db_->Prepare("SELECT f.sequence FROM things t LEFT JOIN thing_firmware f "
                                 "ON f.serial = t.serial WHERE t.serial = ?"));
  SECPROF_TRY(st.Bind(1, serial));
  SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Fail(ErrorCode::kNotFound, "no thing with serial " + std::string(serial));
  if (st.IsNull(0)) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(st.Int64(0)));
}

Result<int64_t> Registry::RecordIncident(const Incident& in, std::string_view actor) {
  SECPROF_TRY(CheckText("vendor", in.vendor, kMaxName));
  SECPROF_TRY(CheckText("model", in.model, kMaxName));
  SECPROF_TRY(CheckText("description", in.description, kMaxDescription));
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  if (std::find(kSeverities.begin(), kSeverities.end(), in.severity) == kSeverities.end()) {
    return Fail(ErrorCode::kInvalidInput, "severity \"" + Sanitize(in.severity, kMaxName) +
                                              "\" is not one of low, medium, high, critical");
  }
  SECPROF_TRY(CheckSequence("minimum sequence", in.min_sequence));
  SECPROF_TRY(CheckSequence("maximum sequence", in.max_sequence));
  if (in.min_sequence > in.max_sequence) {
    return Fail(ErrorCode::kInvalidInput, "minimum sequence " + std::to_string(in.min_sequence) +
                                              " is above the maximum " +
                                              std::to_string(in.max_sequence));
  }
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("INSERT INTO incidents(vendor, model, min_sequence, max_sequence, severity, "
                   "description, created) VALUES(?, ?, ?, ?, ?, ?, ?)"));
  SECPROF_TRY(st.Bind(1, in.vendor));
  SECPROF_TRY(st.Bind(2, in.model));
  SECPROF_TRY(st.Bind(3, static_cast<int64_t>(in.min_sequence)));
  SECPROF_TRY(st.Bind(4, static_cast<int64_t>(in.max_sequence)));
  SECPROF_TRY(st.Bind(5, in.severity));
  SECPROF_TRY(st.Bind(6, in.description));
  SECPROF_TRY(st.Bind(7, now));
  SECPROF_TRY(st.Run());
  const int64_t id = db_->LastInsertRowId();
  SECPROF_TRY(AppendAudit(*db_, now, actor, "incident-recorded", "",
                          "incident " + Id(id) + " " + in.severity + ": " + in.vendor + " " +
                              in.model + " sequences " + std::to_string(in.min_sequence) + ".." +
                              std::to_string(in.max_sequence) + ": " + in.description));
  SECPROF_TRY(tx.Commit());
  return id;
}

Result<std::vector<std::string>> Registry::AffectedBy(int64_t incident_id) {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_, Transaction::Mode::kDeferred));
  SECPROF_ASSIGN_OR_RETURN(Incident in, MustLoadIncident(*db_, incident_id));
  SECPROF_ASSIGN_OR_RETURN(
      Statement st,
      db_->Prepare("SELECT t.serial, t.state, f.sequence FROM things t LEFT JOIN thing_firmware f "
                   "ON f.serial = t.serial WHERE t.vendor = ? AND t.model = ? ORDER BY t.serial"));
  SECPROF_TRY(st.Bind(1, in.vendor));
  SECPROF_TRY(st.Bind(2, in.model));
  std::vector<std::string> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    SECPROF_ASSIGN_OR_RETURN(State state, ParseState(st.Text(1)));
    if (!IsActive(state)) continue;
    const std::optional<int64_t> seq = st.OptionalInt64(2);
    // No known version: not known to be safe, so affected.
    if (seq && (static_cast<uint64_t>(*seq) < in.min_sequence ||
                static_cast<uint64_t>(*seq) > in.max_sequence)) {
      continue;
    }
    out.push_back(st.Text(0));
  }
  SECPROF_TRY(tx.Commit());
  return out;
}

Status Registry::LinkIncidentCampaign(int64_t incident_id, int64_t campaign_id,
                                      std::string_view actor) {
  SECPROF_TRY(CheckText("actor", actor, kMaxName));
  std::lock_guard lock(mu_);
  const int64_t now = Impl::Now(*this);
  SECPROF_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db_));
  SECPROF_ASSIGN_OR_RETURN(Incident in, MustLoadIncident(*db_, incident_id));
  SECPROF_ASSIGN_OR_RETURN(Campaign c, MustLoadCampaign(*db_, campaign_id));
  if (c.incident_id != 0 && c.incident_id != incident_id) {
    return Fail(ErrorCode::kConflict, "campaign " + Id(campaign_id) +
                                          " already responds to incident " + Id(c.incident_id));
  }
  if (c.incident_id == incident_id && in.campaign_id == campaign_id) return Ok();  // no change
  SECPROF_ASSIGN_OR_RETURN(Statement a,
                           db_->Prepare("UPDATE incidents SET campaign_id = ? WHERE id = ?"));
  SECPROF_TRY(a.Bind(1, campaign_id));
  SECPROF_TRY(a.Bind(2, incident_id));
  SECPROF_TRY(a.Run());
  SECPROF_ASSIGN_OR_RETURN(
      Statement b, db_->Prepare("UPDATE campaigns SET incident_id = ?, updated = ? WHERE id = ?"));
  SECPROF_TRY(b.Bind(1, incident_id));
  SECPROF_TRY(b.Bind(2, now));
  SECPROF_TRY(b.Bind(3, campaign_id));
  SECPROF_TRY(b.Run());
  std::string detail = "incident " + Id(incident_id) + " -> campaign " + Id(campaign_id);
  if (in.campaign_id != 0 && in.campaign_id != campaign_id) {
    detail += " (was campaign " + Id(in.campaign_id) + ")";
  }
  SECPROF_TRY(AppendAudit(*db_, now, actor, "incident-linked", "", detail));
  return tx.Commit();
}

Result<Incident> Registry::GetIncident(int64_t id) {
  std::lock_guard lock(mu_);
  return MustLoadIncident(*db_, id);
}

Result<std::vector<Incident>> Registry::ListIncidents() {
  std::lock_guard lock(mu_);
  SECPROF_ASSIGN_OR_RETURN(Statement st, db_->Prepare(std::string("SELECT ") + kIncidentColumns +
                                                      " FROM incidents ORDER BY id"));
  std::vector<Incident> out;
  while (true) {
    SECPROF_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadIncident(st));
  }
  return out;
}

// --- for the registry's other source files (internal.h) ---------------------------------------

namespace internal {
// CheckSerialArg and AppendAuditEntry are defined above (the clone guard uses them too).
Status CheckTextArg(std::string_view what, std::string_view s, size_t max) {
  return CheckText(what, s, max);
}
Result<Thing> LoadThingOrFail(Database& db, std::string_view serial) {
  return MustLoadThing(db, serial);
}
Status AllowWithVerifier(Database& db, int64_t now, std::string_view serial,
                         std::string_view vendor, std::string_view model, const Bytes& verifier,
                         std::string_view actor) {
  AllowArgs a{serial, vendor, model, std::nullopt, nullptr, 0, actor, &verifier};
  SECPROF_TRY(CheckAllowArgs(a));
  return DoAllow(db, now, a);
}
}  // namespace internal

}  // namespace secprof::registry
