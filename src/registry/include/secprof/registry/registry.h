// secprof/registry/registry.h — the KDC's registry of things: lifecycle state, credentials, group
// keys, join nonces and an append-only, hash-chained audit log, in one SQLite file or a
// PostgreSQL database (Open: a postgresql:// URI; docs/REGISTRY.md "PostgreSQL").
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
#include <memory>
#include <string>
#include <string_view>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/registry/audit.h"
#include "secprof/registry/groups.h"
#include "secprof/registry/guard.h"
#include "secprof/registry/rollout.h"
#include "secprof/registry/things.h"

namespace secprof::store {
class Database;
}

namespace secprof::registry {

// The schema version this code writes (PRAGMA user_version). A file with a newer version is
// refused with kConflict; an older one is migrated by Open (v1 -> v2 adds the firmware, campaign,
// incident and firmware-version tables and changes nothing that exists).
// v2 -> v3 adds the clone guard's tables (reading counters, quarantine).
// v3 -> v4 adds the setup_codes table (SecProf_2 setup-code keys instead of the codes).
// v4 -> v5 adds voucher_issuers (the vendor CA that verified each imported voucher).
inline constexpr int kSchemaVersion = 5;

// Stable reasons of the refusals a caller branches on (docs/ERRORS.md "registry"); compare with
// error.Is(kX). Each refusal also keeps its ErrorCode and message (above and in the aggregates'
// headers).
// Unknown records (kNotFound).
inline constexpr Reason kUnknownThing{"unknown-thing"};  // no thing with that serial
inline constexpr Reason kUnknownGroup{"unknown-group"};
inline constexpr Reason kNotMember{"not-member"};  // RemoveMember of a thing not in the group
inline constexpr Reason kUnknownFirmware{"unknown-firmware"};
inline constexpr Reason kUnknownCampaign{"unknown-campaign"};  // also: a serial not its target
inline constexpr Reason kUnknownIncident{"unknown-incident"};
// The thing's lifecycle state does not allow the change (kConflict): Transition's graph,
// re-allowing a thing that is no longer allowed, AddMember / SetPairwiseKey / RenewCredential of
// an inactive thing, Replace of a replaced thing or by an unfit one.
inline constexpr Reason kWrongState{"wrong-state"};
// The record exists already (kConflict): a group, a group member, a firmware release, a join
// nonce; InitDomain with other values than the stored ones.
inline constexpr Reason kExists{"exists"};
// Joins refused (Commission, CommissionBySetupCode, RenewCredential).
// kVerifyFailed: the thing is decommissioned, revoked, evicted or replaced.
inline constexpr Reason kThingRetired{"thing-retired"};
inline constexpr Reason kVoucherExpired{"voucher-expired"};        // kVerifyFailed
inline constexpr Reason kCredentialRevoked{"credential-revoked"};  // kVerifyFailed
inline constexpr Reason kCredentialInUse{"credential-in-use"};     // kConflict: another thing's
// kConflict: a repeated join with another credential than the stored one.
inline constexpr Reason kCredentialMismatch{"credential-mismatch"};
// kVerifyFailed for a join with a retired code; kConflict for RetireSetupCode of a retired one.
inline constexpr Reason kSetupCodeRetired{"setup-code-retired"};
// kVerifyFailed: a repeated setup-code join after the grace period.
inline constexpr Reason kGracePeriodOver{"grace-period-over"};
// Join nonces (ConsumeNonce, ValidateNonce, CommissionBySetupCode; kVerifyFailed).
inline constexpr Reason kReplay{"replay"};               // the nonce was used already
inline constexpr Reason kUnknownNonce{"unknown-nonce"};  // never issued (or purged)
inline constexpr Reason kNonceExpired{"nonce-expired"};
inline constexpr Reason kNonceOtherThing{"nonce-other-thing"};  // issued to another serial
inline constexpr Reason kTooManyNonces{"too-many-nonces"};      // kLimit: PutNonce's total bound
// Rollout and admission (kConflict).
// Another vendor or model than the one recorded: a campaign target, or re-allowing a thing.
inline constexpr Reason kModelMismatch{"model-mismatch"};
// A report from a waiting target: the campaign has not released (offered) it yet. Not the KDC's
// "not-offered" (kdc/reasons.h: a firmware request for firmware no campaign offers the thing).
inline constexpr Reason kNotReleased{"not-released"};
inline constexpr Reason kAlreadyReported{"already-reported"};
inline constexpr Reason kCampaignNotRunning{"campaign-not-running"};  // HaltCampaign
inline constexpr Reason kOtherIncident{"other-incident"};  // the campaign answers another incident
// The audit log does not verify (kVerifyFailed, VerifyAuditChain; also an append after a
// malformed head).
inline constexpr Reason kAuditChainBroken{"audit-chain-broken"};

struct DomainInfo {
  std::string profile;  // e.g. "SecProf_3"
  std::string owner;
  int64_t created = 0;
};

// The KDC's registry: one object with every aggregate's methods (Things, Groups, AuditLog,
// Rollout, CloneGuard: each declared, with its contracts, in its own header), all sharing one
// transaction-plus-audit core over one storage connection (src/registry/ledger.h, storage.h).
class Registry : public Things, public Groups, public AuditLog, public Rollout, public CloneGuard {
 public:
  // Opens (creating when absent) the registry at `path` and brings its schema to kSchemaVersion.
  // `path` is an SQLite file, or a PostgreSQL database when it is a postgresql:// URI
  // (location.h; the tables go into the connection's current schema, docs/REGISTRY.md
  // "PostgreSQL"). `clock` must outlive the Registry. kConflict when the schema is newer than
  // this code; kInvalidInput when the file is not an SQLite database, or is one but not a
  // registry (PostgreSQL: a schema holding other tables); kLimit when it stayed busy; kIo when
  // the PostgreSQL server cannot be reached. `busy_timeout`: how long a write waits for another
  // connection's write lock. A file Open creates has mode 0600 (it holds setup codes).
  static Result<std::unique_ptr<Registry>> Open(
      const std::string& path, const Clock& clock = SystemClock(),
      std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The file path, or the PostgreSQL URI without its password (RedactDb): fit for messages.
  const std::string& path() const { return path_; }

  // --- the domain -------------------------------------------------------------------------
  // Binds the file to a profile and an owner, once. Repeating the same values is Ok (no change);
  // other values: kConflict naming the stored ones. Audit "domain-init".
  Status InitDomain(std::string_view profile, std::string_view owner);
  // kNotFound before InitDomain.
  Result<DomainInfo> Domain();

  // The underlying SQLite connection, for tests and tools that need raw SQL (integrity_check).
  // Do not write through it. REQUIRES is_sqlite() (aborts otherwise).
  store::Database& database();
  // False for a PostgreSQL registry.
  bool is_sqlite();

 private:
  friend Result<std::optional<int64_t>> LastSeen(Registry& reg, std::string_view serial);
  Registry(std::string path, std::unique_ptr<internal::Ledger> ledger);

  std::string path_;
  std::unique_ptr<internal::Ledger> ledger_;
};

}  // namespace secprof::registry
