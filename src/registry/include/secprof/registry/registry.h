// secprof/registry/registry.h — the KDC's registry of things: lifecycle state, credentials, group
// keys, join nonces and an append-only, hash-chained audit log, in one SQLite file.
//
// The registry is the KDC's memory (design brief §4): which serials the owner allowed (or holds a
// manufacturer voucher for), which were commissioned with which credential, which credentials were
// revoked, which groups exist with which members and key epoch, and everything that happened.
//
//   SECPROF_ASSIGN_OR_RETURN(auto reg, Registry::Open("/var/lib/secprof/kdc.db", clock));
//   SECPROF_TRY(reg->InitDomain("SecProf_3", "owner-1"));
//   SECPROF_TRY(reg->ImportVoucher(serial, vendor, model, voucher, expiry, "owner"));
//   ... the thing proves its IDevID in DTLS, the KDC issues an LDevID and a pairwise key ...
//   SECPROF_ASSIGN_OR_RETURN(CommissionOutcome out, reg->Commission(serial, input, "kdc"));
//   if (!out.first_time) { /* a repeated join: hand out what is stored in out.thing */ }
//
// Contracts that hold for every method:
//  - Every state change is ONE SQLite transaction (BEGIN IMMEDIATE) that also appends its audit
//    entry, so a state change and its audit entry are durable together or not at all
//    (synchronous=FULL: a change whose method returned Ok survives a process kill or power loss).
//  - Input is checked before anything is written: on any error nothing has changed.
//  - Other processes (owner commands such as `secprof kdc revoke`) may open the same file at the
//    same time; writers queue on SQLite's lock for up to the busy timeout (5 s), after which the
//    method fails with kLimit "database is busy" and nothing has changed.
//  - All timestamps come from the Clock given to Open (unix seconds, UTC).
//  - Wrapped keys (the thing's pairwise key, a group key) are opaque here: the KDC encrypts them
//    under its own key before they reach the registry and decrypts them after.
//
// Errors: kInvalidInput for malformed arguments (empty or over-long serial, unknown credential
// kind, fingerprint that is not 64 lower-case hex digits ...), kNotFound for an unknown serial or
// group, kConflict for a refused transition or an existing record, kVerifyFailed for a join that
// must be refused (revoked thing or credential, expired voucher, replayed or expired nonce), kLimit
// when the database stayed busy, kIo / kInvalidInput (corrupt file) from the store.
//
// Thread safety: a Registry object is safe to use from several threads; every public method holds
// an internal mutex for its whole duration (one SQLite connection, one transaction at a time).
// Several Registry objects, in one process or several, may open the same file concurrently.
//
// Schema, transitions, durability and the audit chain: docs/REGISTRY.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::store {
class Database;
}

namespace secprof::registry {

using crypto::Bytes;

// The schema version this code writes (PRAGMA user_version). A file with a newer version is
// refused with kConflict; an older one is migrated by Open (v1 -> v2 adds the firmware, campaign,
// incident and firmware-version tables and changes nothing that exists).
// v2 -> v3 adds the clone guard's tables (reading counters, quarantine).
// v3 -> v4 adds the setup_codes table (SecProf_2 setup-code keys instead of the codes).
// v4 -> v5 adds voucher_issuers (the vendor CA that verified each imported voucher).
inline constexpr int kSchemaVersion = 5;

// Lifecycle states of a thing at the KDC (design brief §4; draft figure 2's phases).
enum class State {
  kAllowed,         // the owner allowed the serial (setup code or voucher); it has not joined yet
  kCommissioned,    // joined: credential issued, pairwise key stored
  kOperational,     // in service
  kMaintenance,     // being updated or reconfigured
  kDecommissioned,  // retired by the owner: credential revoked, keys wiped
  kRevoked,         // credential revoked (compromise suspected)
  kEvicted,         // removed for misbehaviour
  kReplaced,        // another thing took over its role (Thing::replaced_by)
};

// "allowed", "commissioned", "operational", "maintenance", "decommissioned", "revoked", "evicted",
// "replaced" (the names stored in the database and shown by the CLI).
const char* StateName(State s);
// The inverse of StateName; kInvalidInput naming the accepted names otherwise.
Result<State> ParseState(std::string_view name);
// True for kCommissioned, kOperational and kMaintenance: the states in which a thing holds a valid
// credential and may be a group member.
bool IsActive(State s);

// Credential kinds (Thing::credential_kind).
inline constexpr std::string_view kCredentialPsk = "psk";        // credential_id = PSK identity
inline constexpr std::string_view kCredentialLdevid = "ldevid";  // credential_id = cert serial hex

struct Thing {
  std::string serial, vendor, model;
  State state = State::kAllowed;
  // A setup code in clear, only in rows written before schema v4 (the KDC converts them to a
  // wrapped setup-code key on start, ConvertLegacySetupCode). New rows never hold one.
  std::optional<std::string> setup_code;
  Bytes voucher;  // the manufacturer-signed voucher, as imported; may be empty
  std::optional<int64_t> voucher_expiry;  // unix s
  std::string credential_kind;            // "", "psk" or "ldevid"
  std::string credential_id;              // PSK identity or LDevID certificate serial (hex)
  std::string credential_fingerprint;     // hex SHA-256 of the credential public key or of the PSK
  std::string ldevid_pem;                 // the issued LDevID certificate (kind "ldevid")
  Bytes wrapped_key;      // pairwise thing<->KDC key, encrypted by the KDC; empty once revoked
  int64_t key_epoch = 0;  // 1 at commissioning, +1 per SetPairwiseKey / RenewCredential
  int64_t joins = 0;      // successful joins, repeats included
  int64_t created = 0, updated = 0;
  std::optional<int64_t> commissioned_at;  // the first commissioning
  std::string replaced_by, replaces;       // serials; empty when none
};

struct AuditEntry {
  int64_t seq = 0;  // 1, 2, 3 ... without gaps
  int64_t time = 0;
  std::string actor, action, serial, detail;
  std::string hash;  // lower-case hex SHA-256, see VerifyAuditChain
};

struct Group {
  std::string name;
  int64_t epoch = 0;                 // 1 at creation, +1 at every rekey
  Bytes wrapped_key;                 // the group key of this epoch, encrypted by the KDC
  std::vector<std::string> members;  // serials, sorted
  // True when a member left (Transition to a terminal state, Replace) and no new key was given
  // yet: the KDC must call Rekey. Cleared by Rekey and RemoveMember.
  bool needs_rekey = false;
};

struct DomainInfo {
  std::string profile;  // e.g. "SecProf_3"
  std::string owner;
  int64_t created = 0;
};

struct CommissionInput {
  std::string credential_kind;         // "psk" or "ldevid"
  std::string credential_id;           // non-empty
  std::string credential_fingerprint;  // 64 lower-case hex digits
  std::string ldevid_pem;              // required (non-empty) for "ldevid", empty for "psk"
  Bytes wrapped_key;                   // non-empty
};

struct CommissionOutcome {
  bool first_time = false;  // false for a repeated join with the same credential
  Thing thing;              // the thing as stored after the call
};

// Runs inside Commission's transaction after the change (with `now`, the outcome as stored), with
// the Registry's mutex held: it may read and write the database directly but must not call the
// Registry. An error rolls the whole commissioning back (nothing written, no audit entry).
using CommissionHook =
    std::function<Status(store::Database& db, int64_t now, const CommissionOutcome& out)>;

// A SecProf_2 setup code as the registry keeps it (schema v4): never the code, only the setup-code
// key K (domain/setup_code.h) wrapped by the KDC, and its retirement.
struct SetupCode {
  Bytes verifier;                     // wrapped K; empty once retired
  int64_t allowed = 0;                // unix s of the last AllowSetupVerifier
  std::optional<int64_t> retire_at;   // set at the first join: usable until then (the grace)
  std::optional<int64_t> retired_at;  // set when retired (by the owner, or the grace ended)
  std::string reason;                 // why it was retired
  // A join may use it at `now`: not retired, verifier present, grace (if any) not over.
  bool Usable(int64_t now) const {
    return !retired_at && !verifier.empty() && (!retire_at || now <= *retire_at);
  }
};

// --- firmware, campaigns, incidents (schema v2)
// ---------------------------------------------------

// A firmware release the owner may roll out: the signed update envelope (SUIT manifest as received
// from the vendor) and where its image lies. Sequence numbers are the manifest's anti-rollback
// counter (draft-ietf-suit-manifest §8.4.2); (vendor, model, sequence) is unique.
struct Firmware {
  int64_t id = 0;  // assigned by AddFirmware (1, 2, 3 ...)
  std::string vendor, model;
  uint64_t sequence = 0;     // 0 .. 2^63-1 (stored as an SQLite INTEGER)
  Bytes envelope;            // the signed envelope, opaque here; 1 byte .. 1 MiB
  std::string image_path;    // where the KDC serves the image from; 1..4096 bytes, no control chars
  uint64_t image_size = 0;   // bytes, 1 .. 2^63-1
  std::string image_digest;  // hex SHA-256 of the image: 64 lower-case hex digits
  int64_t added = 0;         // unix s, set by AddFirmware
};

enum class CampaignState {
  kRunning,    // targets are being offered the firmware stage by stage
  kHalted,     // stopped: failure rate over the threshold, or by the owner (HaltCampaign)
  kCompleted,  // every target reported and the failure rate stayed within the threshold
};
// "running", "halted", "completed" (the names stored in the database).
const char* CampaignStateName(CampaignState s);

enum class TargetStatus {
  kWaiting,    // not released yet (a later stage)
  kOffered,    // released: OfferFor returns the campaign for this thing
  kInstalled,  // the thing reported a successful install
  kFailed,     // the thing reported a failed install
};
// "waiting", "offered", "installed", "failed" (the names stored in the database).
const char* TargetStatusName(TargetStatus s);

struct Campaign {
  int64_t id = 0;  // 1, 2, 3 ...
  int64_t firmware_id = 0;
  CampaignState state = CampaignState::kRunning;
  int64_t stage_size = 0;       // targets released per stage, >= 1
  double max_failure_rate = 0;  // 0..1; halted when failed / reported exceeds it
  int64_t released = 0;         // targets released so far (offered at any time)
  std::string reason;           // why it halted ("" while running or completed)
  int64_t incident_id = 0;      // the incident it responds to, 0 when none
  int64_t created = 0, updated = 0;
};

struct CampaignTarget {
  std::string serial;
  TargetStatus status = TargetStatus::kWaiting;
  std::string detail;  // the thing's report ("" until it reported)
  int64_t updated = 0;
};

// A vulnerability report against a range of firmware of one vendor and model.
struct Incident {
  int64_t id = 0;  // 1, 2, 3 ...
  std::string vendor, model;
  uint64_t min_sequence = 0, max_sequence = 0;  // the affected range, inclusive; min <= max
  std::string severity;                         // "low", "medium", "high" or "critical"
  std::string description;                      // 1..4096 bytes, no control characters
  int64_t created = 0;
  int64_t campaign_id = 0;  // the campaign that responds to it (the latest linked), 0 when none
};

// Supplies a new wrapped group key for `group` at `new_epoch`, called inside the transaction of a
// change that removes a member (Transition to a terminal state, Replace), so the removal and the
// new key land together. An error aborts the whole change. It runs with the Registry's mutex held:
// it must not call the Registry.
// A thing the KDC quarantined as a suspected clone (schema v3).
struct QuarantineRecord {
  std::string serial;
  int64_t since = 0;  // unix s
  std::string reason;
};

using GroupRekeyFn = std::function<Result<Bytes>(const std::string& group, int64_t new_epoch)>;

class Registry {
 public:
  // Opens (creating when absent) the registry at `path` and brings its schema to kSchemaVersion.
  // `clock` must outlive the Registry. kConflict when the file's schema is newer than this code;
  // kInvalidInput when the file is not an SQLite database, or is one but not a registry; kLimit
  // when it stayed busy. `busy_timeout`: how long a write waits for another connection's lock.
  // A file Open creates has mode 0600 (it holds setup codes).
  static Result<std::unique_ptr<Registry>> Open(
      const std::string& path, const Clock& clock = SystemClock(),
      std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  const std::string& path() const { return path_; }

  // --- the domain -------------------------------------------------------------------------
  // Binds the file to a profile and an owner, once. Repeating the same values is Ok (no change);
  // other values: kConflict naming the stored ones. Audit "domain-init".
  Status InitDomain(std::string_view profile, std::string_view owner);
  // kNotFound before InitDomain.
  Result<DomainInfo> Domain();

  // --- admission ------------------------------------------------------------------------------
  // A new thing in kAllowed. Re-allowing a thing still in kAllowed updates vendor, model and the
  // setup code (kConflict if vendor or model differ); any other state: kConflict. Audit "allowed".
  // A setup code in clear is refused (kInvalidInput): use AllowSetupVerifier.
  Status Allow(std::string_view serial, std::string_view vendor, std::string_view model,
               std::optional<std::string> setup_code, std::string_view actor);
  // Like Allow, and stores the voucher and its expiry (the KDC verified the voucher before the
  // call). Audit "voucher-imported".
  Status ImportVoucher(std::string_view serial, std::string_view vendor, std::string_view model,
                       Bytes voucher, int64_t expiry, std::string_view actor);
  // Like ImportVoucher, and records in the same transaction which vendor CA verified the voucher:
  // `vendor_ca_sha256` is the lower-case hex SHA-256 of that CA certificate's DER (64 characters,
  // else kInvalidInput). ImportVoucher without it forgets any earlier record for the serial.
  Status ImportVoucherFrom(std::string_view serial, std::string_view vendor, std::string_view model,
                           Bytes voucher, int64_t expiry, std::string_view vendor_ca_sha256,
                           std::string_view actor);
  // The vendor CA fingerprint recorded with the serial's voucher; nullopt when none is recorded
  // (imported by ImportVoucher, or before schema v3).
  Result<std::optional<std::string>> VoucherIssuer(std::string_view serial);

  // kAllowed -> kCommissioned: stores the credential and wrapped key, joins+1, key_epoch=1,
  // commissioned_at=now. Audit "commissioned" (exactly once per serial, ever).
  // Idempotent: a thing already kCommissioned/kOperational/kMaintenance with the same
  // credential_fingerprint gets first_time=false and the STORED thing back (input.wrapped_key is
  // ignored: the KDC hands out the stored key), joins+1, audit "join-repeat"; its state is
  // unchanged. A different fingerprint: kConflict. Revoked/decommissioned/evicted/replaced:
  // kVerifyFailed naming the state. Unknown serial: kNotFound. An expired voucher (now >
  // voucher_expiry): kVerifyFailed. A revoked credential, or one bound to another thing:
  // kVerifyFailed / kConflict. Refusals write nothing; the KDC records them with Append.
  // `hook`, when given, runs in the same transaction (CommissionHook).
  Result<CommissionOutcome> Commission(std::string_view serial, const CommissionInput& input,
                                       std::string_view actor, const CommissionHook& hook = {});

  // --- SecProf_2 setup codes (schema v4; registry/setup_codes.cpp) ----------------------------
  // Allow (same rules and audit "allowed") with the setup-code key wrapped by the KDC (1..1024
  // bytes) instead of a code. Re-allowing a thing still in kAllowed replaces the key and clears
  // any retirement (a new code).
  Status AllowSetupVerifier(std::string_view serial, std::string_view vendor,
                            std::string_view model, Bytes wrapped_verifier, std::string_view actor);
  // nullopt when the thing has no setup code record (voucher things, unknown serials).
  Result<std::optional<SetupCode>> GetSetupCode(std::string_view serial);
  // The owner retires a code: the wrapped key is erased and every later join with it refused.
  // kNotFound when the thing has no setup code; kConflict when it is already retired. Audit
  // "setup-code-retired" with `reason`.
  Status RetireSetupCode(std::string_view serial, std::string_view reason, std::string_view actor);
  // The checks of ConsumeNonce, without consuming: kVerifyFailed for an unknown, used, expired
  // nonce or one issued to another serial. Read-only.
  Status ValidateNonce(Bytes nonce, std::string_view serial);
  // A setup-code join that the KDC verified (the proof under the key of GetSetupCode): in ONE
  // transaction, re-checks and consumes the nonce, checks the code is still Usable, and runs
  // Commission. First join: the code's retire_at = now + grace (it retires when the grace ends).
  // Repeated join of an active thing: refused (kVerifyFailed "repeated join after the grace
  // period") unless now <= commissioned_at + grace; when accepted, audit "alert:join-repeat"
  // besides Commission's "join-repeat". Any refusal writes nothing (the nonce stays usable).
  // Also erases the keys of codes whose grace ended (retired_at = retire_at, reason "joined").
  Result<CommissionOutcome> CommissionBySetupCode(std::string_view serial,
                                                  const CommissionInput& input, Bytes nonce,
                                                  std::chrono::seconds grace,
                                                  std::string_view actor);
  // Rows written before schema v4 that still hold a code in clear: (serial, code), by serial.
  Result<std::vector<std::pair<std::string, std::string>>> LegacySetupCodes();
  // Replaces a legacy clear code by its wrapped key, in one transaction, with SQLite's
  // secure_delete on (the freed bytes are zeroed) and the WAL checkpointed and truncated after,
  // so the code is gone from the files. Audit "setup-code-converted". kNotFound when the row
  // holds no clear code.
  Status ConvertLegacySetupCode(std::string_view serial, Bytes wrapped_verifier);

  // Moves a thing along the lifecycle. Allowed:
  //   commissioned -> operational;  operational <-> maintenance;
  //   allowed|commissioned|operational|maintenance -> decommissioned|revoked|evicted.
  // Anything else: kConflict "cannot move <serial> from <from> to <to>". Going to a terminal state
  // (decommissioned, revoked, evicted) also revokes the credential (revoked_credentials), clears
  // wrapped_key and removes the thing from every group. Those groups are returned (sorted): with
  // `rekey` they are rekeyed in the same transaction (epoch+1); without it they are marked
  // needs_rekey and the caller must Rekey them. Audit action = the target state's name, detail
  // "from <state>: <detail>" (plus one "group-member-removed" entry per group left).
  Result<std::vector<std::string>> Transition(std::string_view serial, State to,
                                              std::string_view actor, std::string_view detail,
                                              const GroupRekeyFn& rekey = {});

  // A new thing takes over an old one's role. `new_serial` must exist in kAllowed or an active
  // state and not already replace another; `old_serial` must be in kAllowed, an active state or a
  // terminal state (decommissioned/revoked/evicted). The new thing joins every group of the old
  // one; the old one goes to kReplaced, old.replaced_by=new, new.replaces=old, its credential is
  // revoked and its wrapped key cleared. Returns the groups needing a new key (rekeyed in the same
  // transaction with `rekey`, else marked needs_rekey). Audit "replaced" (old) and "replaces"
  // (new).
  Result<std::vector<std::string>> Replace(std::string_view old_serial, std::string_view new_serial,
                                           std::string_view actor, const GroupRekeyFn& rekey = {});

  // A new pairwise key for an active thing: key_epoch+1. Audit "pairwise-rekey".
  Status SetPairwiseKey(std::string_view serial, Bytes wrapped_key, std::string_view actor);
  // A new credential for an active thing (re-bootstrapping, LDevID renewal): the previous
  // credential is revoked when its id differs, the new one and its wrapped key stored,
  // key_epoch+1. Same input checks as Commission. Audit "credential-renewed".
  Result<Thing> RenewCredential(std::string_view serial, const CommissionInput& input,
                                std::string_view actor);

  // --- queries --------------------------------------------------------------------------------
  Result<Thing> Get(std::string_view serial);  // kNotFound
  // Sorted by serial; all things when `filter` is empty.
  Result<std::vector<Thing>> List(std::optional<State> filter = std::nullopt);
  // Every state is present in the map (0 when none).
  Result<std::map<State, int64_t>> CountByState();
  // The thing holding credential (kind, id), in any state; nullopt when none.
  Result<std::optional<Thing>> FindByCredential(std::string_view kind, std::string_view id);
  Result<bool> IsCredentialRevoked(std::string_view kind, std::string_view id);
  // (id, revocation time) of every revoked credential of `kind`, sorted by id (for a CRL).
  Result<std::vector<std::pair<std::string, int64_t>>> RevokedCredentials(std::string_view kind);

  // --- groups ---------------------------------------------------------------------------------
  // Names: 1..64 printable ASCII characters without spaces.
  // A new group at epoch 1 with no members (kConflict if it exists). Audit "group-created".
  Status CreateGroup(std::string_view name, Bytes wrapped_key, std::string_view actor);
  // The thing must be active (commissioned/operational/maintenance): kConflict otherwise, and if it
  // is already a member. The key is not changed (the new member receives the current one).
  // Audit "group-member-added".
  Status AddMember(std::string_view name, std::string_view serial, std::string_view actor);
  // The same, and with `rekey` also installs a new key at epoch+1 from it in the same transaction
  // (backward secrecy, Policy::rekey_on_join): the new member receives only the new epoch's key.
  // An error from `rekey` aborts the whole change. Audit "group-member-added" (detail names the
  // new epoch and "re-keyed on join").
  Status AddMember(std::string_view name, std::string_view serial, std::string_view actor,
                   const GroupRekeyFn& rekey);
  // Removes a member and installs `new_wrapped_key` at epoch+1 in the same transaction
  // (kNotFound if not a member). Audit "group-member-removed".
  Status RemoveMember(std::string_view name, std::string_view serial, Bytes new_wrapped_key,
                      std::string_view actor);
  // epoch+1 with a new key; clears needs_rekey. Audit "group-rekeyed".
  Status Rekey(std::string_view name, Bytes new_wrapped_key, std::string_view actor);
  Result<Group> GetGroup(std::string_view name);  // kNotFound
  // Names of the groups `serial` belongs to, sorted (empty for an unknown serial).
  Result<std::vector<std::string>> GroupsOf(std::string_view serial);
  Result<std::vector<Group>> ListGroups();  // sorted by name

  // --- join nonces (replay protection) ---------------------------------------------------------
  // Records a challenge issued to `serial`, valid until `expires` (unix s). kConflict when the
  // nonce is already recorded; nonce length 8..64 bytes. Purges nonces whose expiry has passed.
  // Not audited (the KDC audits refused joins with Append).
  // Bounds (issue 9, T9: what an unauthenticated sender can make the KDC store; 0 = unbounded):
  // with `per_serial`, the serial's oldest unexpired nonces are deleted so that at most that many
  // remain with the new one (a flood for a serial cannot lock its genuine join out, only race
  // it); with `total`, kLimit when that many unexpired nonces are recorded already.
  struct NonceBounds {
    int64_t per_serial = 0;
    int64_t total = 0;
  };
  Status PutNonce(Bytes nonce, std::string_view serial, int64_t expires, NonceBounds bounds);
  Status PutNonce(Bytes nonce, std::string_view serial, int64_t expires) {
    return PutNonce(std::move(nonce), serial, expires, NonceBounds{});
  }
  // Ok exactly once, for the serial it was issued to, before its expiry (now <= expires). A second
  // use: kVerifyFailed "replayed join (nonce already used)"; past expiry: kVerifyFailed "nonce
  // expired"; unknown nonce or another serial: kVerifyFailed. A refusal changes nothing. Used
  // nonces are kept until they expire so a replay is recognised as one.
  Status ConsumeNonce(Bytes nonce, std::string_view serial);

  // --- audit ----------------------------------------------------------------------------------
  // Records an event without a state change (a refused join, an owner query ...). `action`
  // non-empty; `serial` may be empty.
  Status Append(std::string_view actor, std::string_view action, std::string_view serial,
                std::string_view detail);
  // Entries in ascending seq order, only those of `serial` when given; with limit > 0 the newest
  // `limit` of them, with limit <= 0 all.
  Result<std::vector<AuditEntry>> Audit(std::optional<std::string> serial = std::nullopt,
                                        int64_t limit = 0);
  // Recomputes the hash chain from seq 1: hash(n) = SHA-256(raw hash(n-1) [32 zero bytes for
  // n = 1] || u64be seq || i64be time || lp(actor) || lp(action) || lp(serial) || lp(detail)),
  // lp(x) = u32be length || bytes. Also checks that seqs have no gaps and that the last entry is
  // the recorded head. kVerifyFailed naming the first bad seq.
  Status VerifyAuditChain();

  // --- firmware (schema v2) --------------------------------------------------------------------
  // Contracts as everywhere above: one IMMEDIATE transaction with its audit entries, bad input
  // changes nothing. Actors: 1..256 bytes without control characters.

  // Stores a firmware release (fw.id and fw.added are ignored) and returns its id. kInvalidInput
  // for an empty vendor/model/envelope/image_path, image_size 0, a sequence or size over 2^63-1,
  // or an image_digest that is not 64 lower-case hex digits; kConflict when (vendor, model,
  // sequence) exists. Audit "firmware-added", detail "<vendor> <model> <sequence> <digest>".
  Result<int64_t> AddFirmware(const Firmware& fw, std::string_view actor);
  Result<Firmware> GetFirmware(int64_t id);      // kNotFound
  Result<std::vector<Firmware>> ListFirmware();  // by id

  // Starts rolling `firmware_id` out to `serials` in stages. Checks: the firmware exists
  // (kNotFound); `serials` is non-empty (kInvalidInput), holds no duplicate (kInvalidInput naming
  // it), each is an existing thing (kNotFound naming it) of the firmware's vendor and model
  // (kConflict naming it: never offer one model's firmware to another); stage_size >= 1;
  // 0 <= max_failure_rate <= 1 (not NaN); incident_id 0 or an existing incident (kNotFound), which
  // is then linked both ways (Incident::campaign_id = the new campaign). The first stage_size
  // targets in the order given are released (kOffered), the rest kWaiting. Returns the campaign id.
  // Audit "campaign-started" (detail: firmware, targets, stage size, threshold, incident) and one
  // "fw-offered" per released target (serial = the target).
  Result<int64_t> StartCampaign(int64_t firmware_id, const std::vector<std::string>& serials,
                                int64_t stage_size, double max_failure_rate, std::string_view actor,
                                int64_t incident_id = 0);

  // The oldest (lowest id) RUNNING campaign in which `serial` is kOffered, with its firmware;
  // nullopt when there is none (also for a serial the registry does not know). kInvalidInput for a
  // malformed serial. Read-only.
  Result<std::optional<std::pair<Campaign, Firmware>>> OfferFor(std::string_view serial);

  // Records a thing's install report: kOffered -> kInstalled (ok) / kFailed (!ok), with `detail`
  // (sanitised like audit details, cut at 4096 bytes). kNotFound for an unknown campaign or a
  // serial that is not one of its targets; kConflict for a target that is not kOffered (still
  // waiting, or already reported: a second report is refused). A report is accepted in a HALTED
  // campaign too (the install happened) but moves nothing there. ok also sets the thing's firmware
  // version (SetFirmwareVersion) to the firmware's sequence. Then, in the same transaction, when
  // the campaign is running and no released target is still kOffered (the stage has fully
  // reported):
  //   rate = failed / reported, over every target of the campaign that reported so far;
  //   rate > max_failure_rate -> kHalted, reason "failure rate 0.40 > 0.20 after N reports"
  //     (two decimals; waiting targets stay waiting); audit "campaign-halted";
  //   else, targets waiting -> the next stage_size of them (in the order given) become kOffered,
  //     audit "campaign-stage" (detail "stage K: <n> released") and "fw-offered" per target;
  //   else (all reported) -> kCompleted, audit "campaign-completed".
  // The halt check comes first, so a last stage over the threshold ends kHalted, not kCompleted.
  // Audit "fw-installed" / "fw-failed" (serial = the thing, detail = campaign, sequence, report).
  // Returns the campaign after the update.
  // `running_sequence` (the version the thing runs after a failed install) is recorded with a
  // failed report, in the same transaction; nothing is recorded when the report is refused.
  Result<Campaign> ReportInstall(int64_t campaign_id, std::string_view serial, bool ok,
                                 std::string_view detail, std::string_view actor,
                                 std::optional<uint64_t> running_sequence = std::nullopt);

  Result<Campaign> GetCampaign(int64_t id);       // kNotFound
  Result<std::vector<Campaign>> ListCampaigns();  // by id
  // The targets in the order given to StartCampaign. kNotFound for an unknown campaign.
  Result<std::vector<CampaignTarget>> CampaignTargets(int64_t id);
  // The owner's stop: kRunning -> kHalted with `reason` (1..4096 bytes, no control characters).
  // kNotFound; kConflict when the campaign is not running. Offered targets stay offered (OfferFor
  // no longer returns the campaign) and may still report. Audit "campaign-halted".
  Status HaltCampaign(int64_t id, std::string_view reason, std::string_view actor);

  // The firmware sequence a thing reported running (its state report, or a successful
  // ReportInstall). kNotFound for an unknown thing; kInvalidInput for a sequence over 2^63-1. Not
  // audited (it is a report, not a decision).
  Status SetFirmwareVersion(std::string_view serial, uint64_t sequence);
  // nullopt when the thing never reported a version; kNotFound for an unknown thing.
  Result<std::optional<uint64_t>> FirmwareVersion(std::string_view serial);

  // --- incidents (schema v2) --------------------------------------------------------------------
  // Records an incident (in.id, in.created and in.campaign_id are ignored) and returns its id.
  // kInvalidInput for an empty vendor/model/description, a severity other than "low", "medium",
  // "high", "critical", min_sequence > max_sequence, or a sequence over 2^63-1.
  // Audit "incident-recorded" (detail: severity, vendor, model, range).
  Result<int64_t> RecordIncident(const Incident& in, std::string_view actor);
  // Serials (sorted) of the ACTIVE things (IsActive) of the incident's vendor and model whose
  // FirmwareVersion is in [min_sequence, max_sequence]; a thing that never reported a version
  // counts as affected (unknown is not known to be safe). kNotFound for an unknown incident.
  Result<std::vector<std::string>> AffectedBy(int64_t incident_id);
  // Links a campaign to an incident: Incident::campaign_id = campaign_id (a later link replaces an
  // earlier one: the incident points at its latest response) and Campaign::incident_id =
  // incident_id. kNotFound for either; kConflict when the campaign already responds to another
  // incident. Repeating an existing link is Ok and changes nothing. Audit "incident-linked".
  Status LinkIncidentCampaign(int64_t incident_id, int64_t campaign_id, std::string_view actor);
  Result<Incident> GetIncident(int64_t id);       // kNotFound
  Result<std::vector<Incident>> ListIncidents();  // by id

  // --- clone guard (schema v3; issue 9 item 6; src/registry/guard.cpp) ---------------------------
  // Records `counter` as the highest reading counter of `serial` when it is strictly above the one
  // recorded (or none is): true. A counter that is not above it (a replayed reading, or a clone's
  // that shares the thing's credential and state): false, nothing written. The check and the write
  // are one statement in one transaction, so two KDC connections cannot both accept a counter.
  // kNotFound for an unknown thing, kInvalidInput for a negative counter. Not audited.
  Result<bool> AdvanceReadingCounter(std::string_view serial, int64_t counter);
  // The highest accepted reading counter; nullopt before the first reading.
  Result<std::optional<int64_t>> HighestReadingCounter(std::string_view serial);
  // Quarantines a thing (the KDC refuses its credential until ReleaseQuarantine), audit
  // "quarantined" with `reason`. Already quarantined: Ok, nothing changes. kNotFound for an
  // unknown thing.
  Status QuarantineThing(std::string_view serial, std::string_view reason, std::string_view actor);
  // Lifts a quarantine and forgets the highest reading counter (a clone may have pushed it past the
  // genuine thing's): audit "released". kNotFound when the thing is not quarantined.
  Status ReleaseQuarantine(std::string_view serial, std::string_view actor);
  Result<std::optional<QuarantineRecord>> QuarantineOf(std::string_view serial);
  Result<std::vector<QuarantineRecord>> ListQuarantined();  // sorted by serial

  // The underlying connection, for tests and tools that need raw SQL (integrity_check). Do not
  // write through it.
  store::Database& database();

 private:
  Registry(std::string path, std::unique_ptr<store::Database> db, const Clock& clock);
  struct Impl;

  std::string path_;
  std::unique_ptr<store::Database> db_;
  const Clock& clock_;
  std::mutex mu_;
};

}  // namespace secprof::registry
