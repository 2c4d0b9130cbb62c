// Internal to secprof::registry: the argument checks every aggregate shares, and the pieces of one
// aggregate that another one's transaction needs (a thing's row for the groups and the rollout,
// leaving groups for the lifecycle, the setup-code key for admission). All of it runs on a Tx
// (ledger.h), inside the caller's transaction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger.h"
#include "secprof/registry/registry.h"

namespace secprof::registry::internal {

// --- limits and argument checks (checks.cpp) ----------------------------------------------------
inline constexpr size_t kMaxSerial = 128;
inline constexpr size_t kMaxName = 256;  // vendor, model, owner, actor
inline constexpr size_t kMaxGroupName = 64;
inline constexpr size_t kMaxProfile = 64;
inline constexpr size_t kMaxSetupCode = 64;
inline constexpr size_t kMaxCredentialId = 128;
inline constexpr size_t kMaxPem = 16 * 1024;
inline constexpr size_t kMaxWrappedKey = 1024;
inline constexpr size_t kMaxVoucher = 64 * 1024;
inline constexpr size_t kMinNonce = 8, kMaxNonce = 64;
inline constexpr size_t kMaxAction = 64;
inline constexpr size_t kMaxDetail = 4096;
inline constexpr size_t kMaxReason = 4096;

// 1..max printable ASCII characters without spaces (serials, group names, credential ids).
Status CheckToken(std::string_view what, std::string_view s, size_t max);
// 1..max bytes of UTF-8 text without control characters (names, actors).
Status CheckText(std::string_view what, std::string_view s, size_t max);
Status CheckSerial(std::string_view serial);
Status CheckWrappedKey(std::string_view what, const Bytes& key);
bool IsLowerHex(std::string_view s);
Status CheckCommissionInput(const CommissionInput& in);
// 8..64 bytes (kInvalidInput).
Status CheckNonce(const Bytes& nonce);
// Free text for the audit log (details, serials claimed by refused peers): never refused, so that
// a refusal is always recorded, but made safe to print: control characters, backslashes and
// bytes that are not UTF-8 become \xNN (a backslash \\) and the
// text is cut at `max` bytes.
std::string Sanitize(std::string_view s, size_t max);

// --- things (things.cpp) ------------------------------------------------------------------------
bool IsTerminal(State s);
Result<std::optional<Thing>> LoadThing(Tx& tx, std::string_view serial);
// kNotFound (kUnknownThing) "no thing with serial S".
Result<Thing> MustLoadThing(Tx& tx, std::string_view serial);
// Allow's whole transaction with a wrapped setup-code key (AllowSetupVerifier).
Status AllowWithVerifier(Ledger& ledger, std::string_view serial, std::string_view vendor,
                         std::string_view model, const Bytes& verifier, std::string_view actor);

// --- lifecycle (lifecycle.cpp) ------------------------------------------------------------------
// Runs inside Commission's transaction after the change, with the outcome as stored. An error
// rolls the whole commissioning back (nothing written, no audit entry).
using CommissionHook = std::function<Status(Tx& tx, const CommissionOutcome& out)>;
Result<CommissionOutcome> Commission(Ledger& ledger, std::string_view serial,
                                     const CommissionInput& input, std::string_view actor,
                                     const CommissionHook& hook);

// --- setup codes (setup_codes.cpp) ---------------------------------------------------------------
// Stores (or replaces) the thing's wrapped setup-code key and clears any retirement.
Status PutSetupVerifier(Tx& tx, std::string_view serial, const Bytes& verifier);

// --- groups (groups.cpp)
// --------------------------------------------------------------------------
Result<std::vector<std::string>> MemberGroups(Tx& tx, std::string_view serial);
// Removes `serial` from every group; each group is rekeyed (with `rekey`) or marked needs_rekey.
// Returns the groups. Audit "group-member-removed" per group (and "group-rekeyed").
Result<std::vector<std::string>> LeaveAllGroups(Tx& tx, std::string_view serial,
                                                const GroupRekeyFn& rekey, std::string_view actor);

// --- nonces (nonces.cpp, nonce_bounds.cpp)
// -------------------------------------------------------- ConsumeNonce's checks, read-only:
// kVerifyFailed with kUnknownNonce, kNonceOtherThing, kReplay, kNonceExpired.
Status CheckNonceRow(Tx& tx, const Bytes& nonce, std::string_view serial);
// Inside PutNonce's transaction, after expired nonces were purged and before the new one is
// inserted: deletes `serial`'s oldest nonces so that at most per_serial - 1 remain (per_serial >
// 0), then fails kLimit (kTooManyNonces) when `total` (> 0) nonces are still recorded.
Status BoundNonces(Tx& tx, std::string_view serial, int64_t per_serial, int64_t total);

// --- audit and the domain (audit.cpp) ----------------------------------------------------------
// A value of the domain table (profile, owner, created, audit_head_*); nullopt when absent.
Result<std::optional<std::string>> GetMeta(Tx& tx, std::string_view key);

// --- rollout (incidents.cpp) ---------------------------------------------------------------------
Status CheckSequence(std::string_view what, uint64_t v);
Status PutFirmwareVersion(Tx& tx, std::string_view serial, uint64_t sequence);

}  // namespace secprof::registry::internal
