// secprof/kdc/kdc.h — the domain's key distribution center (the draft's 6LBR role, brief §4): a
// CoAP/DTLS server over a SQLite registry (secprof::registry) that admits things as their profile
// says, issues operational credentials and keys, and carries things through decommissioning,
// replacement and re-ownership. Owner operations (import vouchers, allow serials, revoke, groups,
// audit) work on the same files from another process (OwnerTools).
//
//   KdcOptions o{.profile = Profile::kSecProf3, .db_path = "kdc.db"};
//   o.vendor_ca_files = {"factory/ca/ca.pem"};
//   SECPROF_ASSIGN_OR_RETURN(auto kdc, Kdc::Create(o));
//   std::jthread io([&](std::stop_token st) { (void)kdc->Serve(st); });
//
// Files: the registry `db_path` and a key directory (default "<db_path>.keys", mode 0700):
//   keystore/            FileKeyStore: "domain-ca" (the owner's domain CA key), "kdc-tls"
//   domain-ca.pem        the domain CA certificate (LDevIDs chain to it; vouchers pin its key)
//   kdc.pem              the KDC's DTLS certificate, issued by the domain CA with the KDC role
//                        (id-kp-serverAuth; re-issued for the same key when a role-less one is
//                        found: docs/DOMAIN.md "Roles and anchors")
//   vendors/<sha256>.pem manufacturer trust anchors imported with vouchers
// and, OUTSIDE it, the KEK ("<keys_dir>.kek" by default; KeyDirOptions): 32 random bytes (0600)
// that wrap every symmetric key kept in the registry and, derived, encrypt the keystore.
// The domain CA key (and then the KDC's DTLS key) lives in the file store, or in a PKCS#11 token
// (KeyDirOptions::ca_token; required for SecProf_3/4 unless allow_file_ca_key).
//
// Threading: a Kdc is driven by one thread (Serve/RunOnce); its handlers use the registry on that
// thread. OwnerTools may run concurrently in other processes (SQLite WAL, BEGIN IMMEDIATE).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/coap/coap.h"
#include "secprof/core/clock.h"
#include "secprof/core/fs.h"
#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/domain/profile.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/reasons.h"
#include "secprof/kdc/refusals.h"
#include "secprof/keystore/pin.h"
#include "secprof/registry/registry.h"

namespace secprof::kdc {

// What the KDC does when it suspects a clone (issue 9 item 6; docs/DOMAIN.md "Clone detection"):
// always an audit entry `alert:clone-suspected` (once per incident); kQuarantine also refuses the
// thing's credential (4.03 `quarantined`) until the owner releases it.
enum class OnClone { kAudit, kQuarantine };
// A PKCS#11 user PIN in the options (issue 10 item 6): keystore::Pin, its bytes in a
// crypto::SecureBuffer, wiped when released, cloned when the options are copied. The library never
// reads it from the environment: the CLI takes $SECPROF_PKCS11_PIN (or --pin) and passes it here.
using Pin = keystore::Pin;
// Where the key directory's KEK lives (issue 9 item 12; docs/KEYSTORE.md "Where the KEKs live"):
// `kek_file`, else $SECPROF_KDC_KEK (64 hex digits), else "<keys_dir>.kek" (32 bytes, 0600,
// created with the domain). It wraps every symmetric key in the registry and, derived (HKDF), the
// file key store of <keys_dir>/keystore. A KEK inside <keys_dir> (the old wrap.kek and
// keystore/kek) is refused unless `allow_colocated_kek`, which is then audited in the registry
// ("override:colocated-kek"); MigrateDomainKek moves it out.
struct KeyDirOptions {
  std::string kek_file;
  // The value of $SECPROF_KDC_KEK as the caller read it (the library reads no environment).
  std::string kek_env;
  bool allow_colocated_kek = false;
  // The domain CA key in a PKCS#11 token (SecProf_3/4 "keys in a token"; issue 9 item 12). Given
  // when a domain is created, the key is generated there non-extractable (label
  // "domain-ca-<random>", recorded in <keys_dir>/domain-ca.key) and every LDevID is signed in the
  // token; an existing domain's recorded place is used thereafter. Empty: a file store.
  std::string ca_token;
  std::string ca_pkcs11_module;  // empty: the keystore default (SoftHSM2)
  Pin ca_pin;                    // the token's user PIN (the CLI: --pin or $SECPROF_PKCS11_PIN)
  // Kdc::Create refuses a SecProf_3/4 domain whose CA key is in a file store unless this is set
  // (audited as "override:file-ca-key").
  bool allow_file_ca_key = false;
  // false for owner tools: the CA certificate is read as is and the token is not opened (no PIN
  // needed; owner commands do not sign).
  bool open_ca_token = true;
};
inline constexpr const char* kKdcKekEnvVar = "SECPROF_KDC_KEK";

struct KdcOptions {
  domain::Profile profile = domain::Profile::kSecProf2;
  std::string db_path;
  std::string keys_dir;  // default "<db_path>.keys"
  std::string owner = "secprof-owner";
  std::string address = "127.0.0.1";
  // Plain CoAP (the SecProf_2 join); 0: ephemeral. Profiles without a plain-CoAP step
  // (SecProf_3/4 join over DTLS with the IDevID) bind no plain-CoAP port: this is ignored.
  uint16_t udp_port = 0;
  uint16_t dtls_port = 0;  // coaps; 0: ephemeral
  // Manufacturer trust anchors (PEM files) besides those in <keys_dir>/vendors/.
  std::vector<std::string> vendor_ca_files;
  // SecProf_2: how long after start joins are admitted (the KDC's "network access" window);
  // nullopt: the profile's default; 0: no window (always open).
  std::optional<std::chrono::seconds> join_window;
  // Cipher suites (OpenSSL names) a DTLS session may use for operational requests; empty: any.
  // libcoap 4.3.1 cannot restrict PSK suites in the handshake (docs/COAP.md), so the KDC refuses
  // requests over other suites with 4.03 instead.
  std::vector<std::string> allowed_ciphers;
  std::chrono::seconds nonce_lifetime{60};
  // SecProf_2: how long after its first join a thing may join again with its setup code and get
  // the same PSK (its answer was lost). After it the code is retired: a repeated j/psk is refused
  // (4.03 join-repeat-refused) and every repeat of an active thing is audited "alert:join-repeat".
  std::chrono::seconds join_repeat_grace{120};
  std::chrono::seconds ldevid_validity = std::chrono::days(365);
  // Thing-to-thing tickets (k/pair) expire after this; peers also drop the tickets of things on
  // the revocation list (k/revoked) they poll.
  std::chrono::seconds pair_key_lifetime = std::chrono::hours(1);
  coap::Limits limits{};
  // Clone guard: the owner's policy, the interleaving window of the endpoint signal, and how long
  // without a signal ends an incident (the next signal alerts again).
  OnClone on_clone = OnClone::kQuarantine;
  std::chrono::seconds clone_window{10};
  std::chrono::seconds clone_incident_quiet{300};
  // Key protection (issue 9 items 5 and 12; docs/KEYSTORE.md).
  KeyDirOptions kek{};
  // Joining things must present an IDevID whose certificatePolicies carry
  // identity::kPolicyKeyInToken (the manufacturer's claim that the key was generated in a token);
  // others are refused with 4.03 "token-keys-required" (audited, no state change). nullopt: the
  // profile's tamper_resistant (on for SecProf_3/4).
  std::optional<bool> require_token_keys{};
  // What unauthenticated senders may cost (rate limit, aggregated audit of their refusals, join
  // nonces kept): secprof/kdc/refusals.h, docs/DOMAIN.md "Limits".
  UnauthenticatedLimits unauthenticated{};
  // Operational warnings (a failed audit write); unset: one line on stderr.
  std::function<void(std::string_view)> log{};
};

struct KdcStats {
  uint64_t joins = 0;                       // first-time commissionings
  uint64_t join_repeats = 0;                // repeated joins answered idempotently
  uint64_t requests = 0;                    // operational requests served
  std::map<std::string, uint64_t> refused;  // reason -> count ("rate-limited" included)
  uint64_t clone_alerts = 0;                // incidents of suspected clones (alert:clone-suspected)
  uint64_t rate_limited = 0;         // unauthenticated requests refused by the per-source limit
  uint64_t refusals_aggregated = 0;  // refusals counted into aggregated audit rows
  uint64_t audit_failures = 0;       // audit rows that could not be written (logged)
};

class Kdc {
 public:
  // Opens (creating on first use) the registry and the key directory, checks that the registry
  // belongs to this profile and owner (kConflict otherwise), and binds the endpoints. The registry
  // is locked for the Kdc's lifetime (<db_path>.lock): a second Kdc on it, in this or another
  // process, fails kConflict "registry ... is in use by another KDC (pid N)". A port in use: kIo.
  static Result<std::unique_ptr<Kdc>> Create(KdcOptions options, const Clock& clock = SystemClock(),
                                             crypto::Random& rng = crypto::SystemRandomSource());
  ~Kdc();
  Kdc(const Kdc&) = delete;
  Kdc& operator=(const Kdc&) = delete;

  uint16_t udp_port() const;  // 0: no plain-CoAP endpoint (SecProf_3/4)
  uint16_t dtls_port() const;
  const identity::Certificate& domain_ca() const;
  const KdcOptions& options() const;
  KdcStats stats() const;

  // Both also flush the aggregated refusal counts once per audit interval (Serve also on stop).
  Status RunOnce(std::chrono::milliseconds timeout);
  Status Serve(std::stop_token stop);

 private:
  struct Impl;  // kdc.cpp
  explicit Kdc(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The key directory: created on first use with a fresh domain CA for `owner`.
struct DomainKeys {
  identity::Certificate domain_ca;
  identity::Certificate kdc_certificate;
  std::string kdc_certificate_pem;
  crypto::SecureBuffer kdc_private_key_pem;  // empty when the key is in a token:
  crypto::SecureBuffer wrap_kek;
  std::vector<identity::Certificate> vendor_cas;
  // Non-empty when a co-located KEK was accepted by KeyDirOptions::allow_colocated_kek: what to
  // audit.
  std::string colocated_kek;
  // Where the domain CA key is: "file" or "pkcs11:token=<label>;object=<key label>".
  std::string ca_key_location;
  // With the CA key in a token, the KDC's DTLS key is generated there too ("kdc-tls-<same
  // suffix>") and libcoap signs with it in the token (coap::Pkcs11PrivateKey). Not set for owner
  // tools, which do not serve DTLS.
  std::optional<coap::Pkcs11PrivateKey> kdc_private_key_pkcs11;
};
Result<DomainKeys> OpenDomainKeys(const std::string& keys_dir, const std::string& owner,
                                  const Clock& clock, crypto::Random& rng,
                                  const KeyDirOptions& kek = {});
// Moves the old layout's KEK out of `keys_dir`: <keys_dir>/wrap.kek becomes the KEK at the
// location `kek` names (same bytes: the registry's wrapped keys stay valid), the file key store is
// re-encrypted under the key derived from it, and the co-located KEK files are deleted. Crash-safe
// and resumable: from before the first key is re-encrypted until the end, <keys_dir>/kek-migration
// exists and every start refuses (kKekMigrationInterrupted) until a re-run completes the
// migration. The key store and the co-located files are written through `fsys`.
// Returns what it did.
Result<std::string> MigrateDomainKek(const std::string& keys_dir, const KeyDirOptions& kek = {},
                                     FileSystem& fsys = DefaultFileSystem());

// Owner operations on a KDC's files, usable while the KDC runs (another process).
class OwnerTools {
 public:
  static Result<std::unique_ptr<OwnerTools>> Open(
      const std::string& db_path, std::string keys_dir = {}, const Clock& clock = SystemClock(),
      crypto::Random& rng = crypto::SystemRandomSource(), const KeyDirOptions& kek = {});
  ~OwnerTools();
  registry::Registry& registry();
  const identity::Certificate& domain_ca() const;

  // Verifies a manufacturer's voucher against `vendor_ca` and checks that it pins this domain
  // (kVerifyFailed with the reason otherwise: forged, expired, another domain), then records it
  // and keeps the vendor CA as a trust anchor. Refused vouchers change nothing.
  Status ImportVoucher(const crypto::Bytes& voucher, const identity::Certificate& vendor_ca,
                       std::string_view actor = "owner");
  // SecProf_2: allows a serial with its setup code (the installer typed or scanned it). The code
  // must be judged >= 64 bits (domain::CheckSetupCodeStrength, kInvalidInput otherwise); the
  // registry keeps only the setup-code key derived from it, wrapped under the KEK. Allowing again
  // a thing that has not joined replaces the code (and undoes a retirement).
  Status AllowSetupCode(std::string_view serial, std::string_view vendor, std::string_view model,
                        std::string_view setup_code, std::string_view actor = "owner");
  // SecProf_2: retires a thing's setup code at once (it is also retired automatically when the
  // grace after the first join ends): the wrapped key is erased and later joins with the code are
  // refused. kNotFound without a setup code, kConflict when already retired.
  Status RetireSetupCode(std::string_view serial, std::string_view reason,
                         std::string_view actor = "owner");
  // Decommissioned, revoked or evicted: the credential is refused afterwards and the thing's
  // groups are re-keyed (new epoch) in the same transaction.
  Status Retire(std::string_view serial, registry::State to, std::string_view reason,
                std::string_view actor = "owner");
  // A new thing takes over the old one's role and groups (groups re-keyed).
  Status Replace(std::string_view old_serial, std::string_view new_serial,
                 std::string_view actor = "owner");
  Status CreateGroup(std::string_view name, std::string_view actor = "owner");
  Status AddMember(std::string_view group, std::string_view serial,
                   std::string_view actor = "owner");
  // Removes a member and re-keys: the removed thing cannot read the next epoch.
  Status RemoveMember(std::string_view group, std::string_view serial,
                      std::string_view actor = "owner");
  // Lifts the quarantine the clone guard put on a thing (issue 9 item 6): its credential is
  // accepted again. kNotFound when it is not quarantined. Audit "released".
  Status ReleaseQuarantine(std::string_view serial, std::string_view actor = "owner");

  // ---- maintenance (issue 5) ----
  // Keeps `vendor_ca` as a manufacturer trust anchor of this domain (<keys_dir>/vendors/): firmware
  // of that vendor can then be added. ImportVoucher does the same.
  Status TrustVendor(const identity::Certificate& vendor_ca);
  // Adds a signed firmware update to the store: the envelope must verify against the trust anchor
  // of its vendor (a vendor CA this domain knows; the vendor-id names it), name `model`'s class-id,
  // and match the image file (digest, size). The image is copied to <keys_dir>/firmware/. Refused
  // updates (forged, wrong class, tampered image) change nothing. Returns the firmware id.
  Result<int64_t> AddFirmware(const crypto::Bytes& envelope, const std::string& image_path,
                              std::string_view model, std::string_view actor = "owner");
  // A campaign offering firmware `firmware_id` to `serials` (or every active thing of the
  // firmware's vendor and model when empty), `stage_size` at a time; it halts when the failure
  // rate exceeds `max_failure_rate`.
  Result<int64_t> StartCampaign(int64_t firmware_id, std::vector<std::string> serials,
                                int64_t stage_size, double max_failure_rate,
                                std::string_view actor = "owner", int64_t incident_id = 0);
  // Records an incident, finds the affected things (active, of that vendor and model, running a
  // sequence in the range or unknown) and, when the store holds a newer firmware for them (the
  // highest sequence above the range), starts a campaign for it. campaign_id 0: no fix in the
  // store yet (the incident stays open).
  struct IncidentOutcome {
    int64_t incident_id = 0;
    std::vector<std::string> affected;
    int64_t campaign_id = 0;
  };
  Result<IncidentOutcome> ReportIncident(const registry::Incident& incident, int64_t stage_size,
                                         double max_failure_rate, std::string_view actor = "owner");

 private:
  struct Impl;  // owner_tools.cpp
  explicit OwnerTools(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace secprof::kdc
