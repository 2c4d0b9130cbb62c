// Internal to secprof::lab, identity/ group: the adversary's tools shared by the identity
// scenarios (T1 clones, T6 readers of stored files, T11 privilege). Each tool does what an
// attacker would do with what it holds (files, a token's PKCS#11 interface, a DTLS session) and
// reports what it obtained; none of them asks the defender's own checks for a verdict.
//
// Formats the reader relies on are the documented ones (docs/DOMAIN.md "State directory"):
// state.json's `secrets` is hex of domain::WrapKey(KEK, "thing-secrets:<serial>", CBOR map of
// name -> key), and the file key store is encrypted under DeriveKek(KEK, "thing keystore").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "secprof/coap/coap.h"
#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/lab/live_domain.h"
#include "secprof/lab/scenario.h"

namespace secprof::lab::internal {

// A byte copy of a thing's storage, as `cp -a` of a stolen device's flash gives it.
struct DeviceCopy {
  std::filesystem::path state_dir;  // the copied state directory
  std::filesystem::path kek_file;   // the copied KEK beside it; empty when the thing has none
                                    // (token things keep theirs in the token)
};

// Copies thing `i`'s state directory to `dest`; with `with_kek`, also the file KEK kept beside it
// (<state>.kek) when it exists: the whole storage of a device without tamper resistance.
Result<DeviceCopy> CopyDevice(LiveDomain& d, int i, const std::filesystem::path& dest,
                              bool with_kek);

// The thing's agent on a copy (a clone): file things with the copied KEK, token things with the
// PKCS#11 options given (the token the copy's state.json names must be reachable through them).
Result<std::unique_ptr<thing::Agent>> OpenCopy(const DeviceCopy& c, const RunContext& ctx,
                                               const keystore::Pkcs11KeyStoreOptions* token);

// What a reader recovers from a copy's files: the plain fields of state.json, and the sealed
// secrets and file-store keys opened with the copied KEK. Without a KEK file `locked` says so and
// only the plain fields are filled; a KEK that does not open them is an error (kVerifyFailed).
struct FileLoot {
  std::string locked;
  std::string serial, key_store, kek_label, idevid_key_label;
  std::map<std::string, crypto::SecureBuffer> secrets;  // "pairwise", "domain", "group:<g>"
  std::string psk_identity;                             // SecProf_2
  std::string ldevid_pem, ldevid_key_label;             // SecProf_3/4
  crypto::SecureBuffer ldevid_key_pem;                  // from the file key store, when there
};
Result<FileLoot> ReadDeviceFiles(const DeviceCopy& c);

// Raw PKCS#11 (the token's own interface, PKCS#11 v2.40 base §5.7): logs in to `token` with its
// PIN and asks for CKA_VALUE of the objects labelled `labels` (secret and private keys), then
// tries C_WrapKey under a key the attacker made. One line per attempt, "<label>: <CKR_...>", and
// the number of values obtained. Never finalises or logs out a module another user holds.
struct TokenProbe {
  std::vector<std::string> lines;
  int extracted = 0;
  std::string problem;  // the probe could not run (module, token, login)
};
TokenProbe ProbeToken(const keystore::Pkcs11KeyStoreOptions& token,
                      const std::vector<std::string>& labels);

// The KDC's refusal reasons whose counters moved between two snapshots, "a, b".
std::string RefusalDelta(const std::map<std::string, uint64_t>& before,
                         const std::map<std::string, uint64_t>& after);
// The registry's state of `serial` ("decommissioned", ...; "unknown" when it cannot be read).
std::string RegistryState(LiveDomain& d, const std::string& serial);
// Audit entries of `serial` whose action is `action`.
size_t CountAudit(LiveDomain& d, const std::string& serial, const std::string& action);

// The thing's own operational session with the KDC, opened from what it holds (the attacker is
// the thing: compromised software with its credentials). SecProf_2: DTLS-PSK with `loot`'s PSK;
// SecProf_3/4: DTLS with its LDevID (key from `loot` or, for token things, in `token`).
Result<std::unique_ptr<coap::Client>> OwnSession(LiveDomain& d, const FileLoot& loot,
                                                 const keystore::Pkcs11KeyStoreOptions* token,
                                                 std::chrono::milliseconds timeout);

// Thing `i` joins its domain's KDC now: installed first when it is manufactured or re-owned.
Status JoinNow(LiveDomain& d, int i);
// The legitimate path after a refused attack: the owner admits thing `i` with its vendor's valid
// voucher (or setup code) and it joins. One line for the evidence.
std::string LegitimateJoin(LiveDomain& d, int i);

// The text of a response body (diagnostic), bounded.
std::string BodyText(const coap::Response& r);

}  // namespace secprof::lab::internal
