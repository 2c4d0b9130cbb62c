// Internal to secprof::kdc.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/kdc/refusals.h"
#include "secprof/keystore/keystore.h"
#include "secprof/registry/registry.h"
#include "testing.h"

namespace secprof::kdc {

Status SaveVendorCa(const std::string& keys_dir, const identity::Certificate& ca);

// A GroupRekeyFn that draws a fresh 32-byte group key for the new epoch and wraps it under `kek`.
registry::GroupRekeyFn RekeyWith(crypto::ByteView kek, crypto::Random& rng);
// A fresh group key for `epoch`, wrapped.
Result<crypto::Bytes> NewGroupKey(crypto::ByteView kek, std::string_view group, int64_t epoch,
                                  crypto::Random& rng);

// ---- roles and anchors (trust.cpp; docs/DOMAIN.md "Roles and anchors", issue 9 items 1-3) ----
// extendedKeyUsage of the KDC's certificate (id-kp-serverAuth) and of LDevIDs (id-kp-clientAuth).
std::vector<std::string> KdcRole();
std::vector<std::string> ThingRole();
bool HasKdcRole(const identity::Certificate& c);
// kVerifyFailed when `vendor_ca` could pass for the domain CA: the same subject name (as chain
// building compares names) or the same subject key identifier.
Status CheckVendorCaDistinct(const identity::Certificate& domain_ca,
                             const identity::Certificate& vendor_ca);
// kVerifyFailed unless `c` may be a thing's LDevID: not a certificate of another role (an
// extendedKeyUsage without id-kp-clientAuth), and signed by `domain_ca` (path validation against
// that anchor ALONE, never the vendor anchors).
Status CheckDomainSigned(const identity::Certificate& c, const identity::Certificate& domain_ca,
                         const Clock& clock);
// CheckDomainSigned, and `presented` is byte for byte the LDevID the registry holds for `t`.
Status CheckPresentedLdevid(const identity::Certificate& presented,
                            const identity::Certificate& domain_ca, const registry::Thing& t,
                            const Clock& clock);
// CheckPresentedLdevid for every operational request, remembering which certificates passed path
// validation (by SHA-256, until their notAfter; at most kMaxRemembered, then all forgotten): the
// registry comparison and the role run on every request, the signature check once per
// certificate. Measured: path validation was about as costly as the rest of a request.
class LdevidValidator {
 public:
  static constexpr size_t kMaxRemembered = 4096;
  Status Check(const identity::Certificate& presented, const identity::Certificate& domain_ca,
               const registry::Thing& t, const Clock& clock);

 private:
  std::mutex mu_;
  // SHA-256 of a certificate that passed -> (its notAfter, the registry PEM it equalled).
  std::map<crypto::Sha256Digest, std::pair<identity::TimePoint, std::string>> passed_;
};
// kVerifyFailed unless `idevid` chains to the vendor CA that signed t's voucher: the one recorded
// at import (`recorded`, hex SHA-256 of its DER, looked up in `vendor_cas` then in
// <keys_dir>/vendors/), or for a voucher imported before that record existed, the vendor CA under
// which the stored voucher verifies.
Status CheckIdevidIssuer(const identity::Certificate& idevid, const registry::Thing& t,
                         const std::optional<std::string>& recorded,
                         const std::vector<identity::Certificate>& vendor_cas,
                         const std::string& keys_dir, const Clock& clock);

// ---- key protection (key_protection.cpp; issue 9 items 5 and 12) ----
struct DomainKek {
  crypto::SecureBuffer wrap;       // wraps the registry's symmetric keys
  crypto::SecureBuffer store_kek;  // the file key store's KEK; empty: the old co-located layout
  std::string colocated;           // non-empty when a co-located KEK was accepted (to audit)
};
// The KEK of `keys_dir` per `o` (kdc.h KeyDirOptions); created only for a new domain.
Result<DomainKek> ResolveDomainKek(const std::string& keys_dir, const KeyDirOptions& o,
                                   crypto::Random& rng);
// Where the domain CA key is (<keys_dir>/domain-ca.key: "pkcs11 <token> <key label>"; absent:
// the file store, label "domain-ca"). A new domain with o.ca_token gets a fresh key label, written
// down when `create`. kInvalidInput when o.ca_token contradicts the recorded place.
struct CaKeyPlace {
  bool token = false;
  std::string token_label;
  std::string key_label = "domain-ca";
  std::string Describe() const;
};
Result<CaKeyPlace> CaKeyLocation(const std::string& keys_dir, const KeyDirOptions& o,
                                 crypto::Random& rng, bool create);
// The token holding the CA key (module and PIN from `o`; the default module when none is given).
Result<std::unique_ptr<keystore::KeyStore>> OpenCaToken(const CaKeyPlace& place,
                                                        const KeyDirOptions& o);
// The KDC DTLS key's label on the CA's token: "kdc-tls-<the CA key label's suffix>".
std::string TlsKeyLabel(const CaKeyPlace& place);
// What libcoap needs to sign with `label` on the CA's token (PIN and module as OpenCaToken).
coap::Pkcs11PrivateKey TokenKeyRef(const CaKeyPlace& place, const std::string& label,
                                   const KeyDirOptions& o);
// The KDC's DTLS private key in `pki`: the token reference when there is one, else the PEM.
void SetKdcPrivateKey(coap::PkiConfig& pki, const DomainKeys& dk);
// Kdc::Create, before anything is written: kInvalidInput for a SecProf_3/4 domain whose CA key
// is (or would be) in the file store without o.kek.allow_file_ca_key; the audit note when the
// override is used, else "".
Result<std::string> CheckCaKeyPlace(const KdcOptions& o, crypto::Random& rng);
// Appends the audit entries of the key overrides in use ("override:colocated-kek" when
// dk.colocated_kek is set, "override:file-ca-key" when file_ca_note is not empty).
Status AuditKeyOverrides(registry::Registry& reg, const DomainKeys& dk,
                         const std::string& file_ca_note);
// Whether joining things must hold their keys in a token (KdcOptions::require_token_keys).
bool RequiresTokenKeys(const KdcOptions& o);
// kVerifyFailed when RequiresTokenKeys(o) and `idevid` lacks identity::kPolicyKeyInToken.
Status CheckThingKeyProtection(const KdcOptions& o, const identity::Certificate& idevid);
// The KDC's refusal ledger over `reg` with options.unauthenticated and options.log (stderr when
// unset); and its counters added to `stats` (unauthenticated.cpp).
std::unique_ptr<RefusalLedger> MakeLedger(const KdcOptions& options, const Clock& clock,
                                          registry::Registry& reg);
void AddLedgerStats(const RefusalLedger& ledger, KdcStats& stats);
std::string HexSha256(crypto::ByteView data);

}  // namespace secprof::kdc
