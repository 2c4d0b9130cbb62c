// secprof/registry/things.h — the registry's things aggregate: admission (setup codes, vouchers),
// commissioning, the lifecycle, credentials and their revocation. Part of Registry (registry.h),
// which every caller uses; the contracts common to every method are in registry.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/registry/groups.h"

namespace secprof::registry {
namespace internal {
class Ledger;
}

using crypto::Bytes;

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

// Things, their lifecycle and credentials (src/registry/things.cpp, lifecycle.cpp,
// setup_codes.cpp).
class Things {
 public:
  // --- admission (src/registry/things.cpp) -----------------------------------------------------
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
  Result<CommissionOutcome> Commission(std::string_view serial, const CommissionInput& input,
                                       std::string_view actor);

  // --- SecProf_2 setup codes (schema v4; registry/setup_codes.cpp) ----------------------------
  // Allow (same rules and audit "allowed") with the setup-code key wrapped by the KDC (1..1024
  // bytes) instead of a code. Re-allowing a thing still in kAllowed replaces the key and clears
  // any retirement (a new code).
  Status AllowSetupVerifier(std::string_view serial, std::string_view vendor,
                            std::string_view model, Bytes wrapped_verifier, std::string_view actor);
  // nullopt when the thing has no setup code record (voucher things, unknown serials).
  Result<std::optional<SetupCode>> GetSetupCode(std::string_view serial);
  // Whether `t` has a setup code the owner has not retired: one in clear from before schema v4,
  // or a wrapped key without retired_at (a code in its grace after the first join still counts).
  // What `secprof kdc list --format json` shows as "setup_code".
  Result<bool> HasSetupCode(const Thing& t);
  // The owner retires a code: the wrapped key is erased and every later join with it refused.
  // kNotFound when the thing has no setup code; kConflict when it is already retired. Audit
  // "setup-code-retired" with `reason`.
  Status RetireSetupCode(std::string_view serial, std::string_view reason, std::string_view actor);
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

  // --- lifecycle and credentials (src/registry/lifecycle.cpp) ---------------------------------
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

  // --- queries (src/registry/things.cpp) -------------------------------------------------------
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

 protected:
  explicit Things(internal::Ledger& ledger) : ledger_(ledger) {}
  ~Things() = default;
  Things(const Things&) = delete;
  Things& operator=(const Things&) = delete;

 private:
  internal::Ledger& ledger_;
};

}  // namespace secprof::registry
