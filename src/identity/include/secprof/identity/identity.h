// secprof/identity/identity.h — device identities on X.509 (RFC 5280) in the IEEE 802.1AR style:
// a vendor CA, IDevID certificates issued at manufacture, PKCS#10 requests (RFC 2986) made by the
// thing, LDevID certificates issued by the owner's domain CA, revocation lists, and chain
// validation with revocation checking. Everything is done through OpenSSL 3's X.509 code; no
// OpenSSL type appears in this header (Certificate, CertificateRequest and RevocationList are
// opaque handles).
//
// Every signature made here goes through crypto::Signer, so a CA key may live in a PKCS#11 token:
// the to-be-signed bytes are built with OpenSSL and handed to Signer::Sign. Supported signature
// algorithms: ECDSA P-256 with SHA-256 (a Signer with kEcdsaP256Sha256 or kEcdsaP256Sha256Der;
// the raw r||s form is converted to DER, RFC 5758 §3.2), Ed25519 and Ed448 (RFC 8410 §6).
//
//   // Manufacture (docs/IDENTITY.md has the profiles):
//   CaOptions vendor{.organization = "Acme", .common_name = "Acme IDevID Root CA"};
//   SECPROF_ASSIGN_OR_RETURN(Certificate ca, CreateVendorCa(ca_signer, vendor));
//   IdevidRequest dev{.serial_number = "SN-0001", .model = "LightBulb-9"};
//   SECPROF_ASSIGN_OR_RETURN(Certificate idevid, IssueIdevid(ca_signer, ca, device_pub, dev));
//
//   // Validation (RFC 5280 §6 path validation by OpenSSL's X509_verify_cert):
//   VerifyOptions v{.trust_anchors = {ca}};
//   SECPROF_TRY(VerifyCertificate(idevid, v, clock));
//
// Times are whole seconds (std::chrono::sys_seconds): the 802.1AR "no expiry" notAfter,
// 9999-12-31T23:59:59Z, lies beyond what system_clock::time_point can hold on this platform.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/hash.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/crypto/signer.h"

namespace secprof::identity {

using crypto::Bytes;
using crypto::ByteView;
using TimePoint = std::chrono::sys_seconds;

// RFC 5280 §4.1.2.5 and IEEE 802.1AR-2018 §8 (validity): a certificate with no well-defined
// expiration date carries notAfter = 99991231235959Z (GeneralizedTime).
inline constexpr TimePoint kNoWellDefinedExpiration{std::chrono::seconds{253402300799}};

// id-on-hardwareModuleName, RFC 4108 §5: the otherName type of the subjectAltName that 802.1AR
// uses to name the hardware module (hwType, hwSerialNum).
inline constexpr std::string_view kOidHardwareModuleName = "1.3.6.1.5.5.7.8.4";

// The distinguished-name attributes secprof writes and reads back (RFC 5280 §4.1.2.4, X.520).
// An empty string means "absent". When a name holds an attribute more than once, the first one
// is reported.
struct Name {
  std::string common_name{};    // CN, 2.5.4.3
  std::string serial_number{};  // serialNumber, 2.5.4.5 (PrintableString): 802.1AR-2018 §8, subject
  std::string organization{};   // O, 2.5.4.10: the vendor (IDevID) or the owner (LDevID)
  std::string
      organizational_unit{};  // OU, 2.5.4.11: the device model in IDevIDs (docs/IDENTITY.md)
  // RFC 4514 string of the whole name as OpenSSL prints it, e.g. "serialNumber=SN1,OU=M,O=V".
  // Informational only; ignored when a Name is used to build a certificate or request.
  std::string text{};

  friend bool operator==(const Name&, const Name&) = default;
};

// keyUsage bits (RFC 5280 §4.2.1.3); the value of bit n is 1 << n.
namespace key_usage {
inline constexpr uint32_t kDigitalSignature = 1u << 0;
inline constexpr uint32_t kNonRepudiation = 1u << 1;
inline constexpr uint32_t kKeyEncipherment = 1u << 2;
inline constexpr uint32_t kDataEncipherment = 1u << 3;
inline constexpr uint32_t kKeyAgreement = 1u << 4;
inline constexpr uint32_t kKeyCertSign = 1u << 5;
inline constexpr uint32_t kCrlSign = 1u << 6;
}  // namespace key_usage

// extendedKeyUsage KeyPurposeIds (RFC 5280 §4.2.1.12). secprof gives its two end-entity roles one
// purpose each (docs/DOMAIN.md "Roles and anchors"): the KDC's certificate id-kp-serverAuth, every
// LDevID id-kp-clientAuth. A relying party checks the role with Certificate::HasExtendedKeyUsage.
namespace eku {
inline constexpr std::string_view kServerAuth = "1.3.6.1.5.5.7.3.1";  // id-kp-serverAuth
inline constexpr std::string_view kClientAuth = "1.3.6.1.5.5.7.3.2";  // id-kp-clientAuth
}  // namespace eku

// HardwareModuleName (RFC 4108 §5): hwType is an OID naming the kind of hardware module (here:
// the device model), hwSerialNum the module's serial number as an OCTET STRING.
struct HardwareModuleName {
  std::string hw_type{};  // dotted OID, e.g. "2.25.1234..."
  Bytes hw_serial_num{};
  friend bool operator==(const HardwareModuleName&, const HardwareModuleName&) = default;
};

// An X.509 v3 certificate (RFC 5280 §4.1). Immutable, cheap to copy (shared handle).
class Certificate {
 public:
  // Strict DER: one Certificate, nothing trailing, re-encoding gives the same bytes, extensions
  // that OpenSSL can decode (no duplicates, well-formed basicConstraints/keyUsage/SKI/AKI/SAN;
  // RFC 5280 §4.2). kInvalidInput otherwise. The signature is NOT checked here (see
  // VerifyCertificate).
  static Result<Certificate> FromDer(ByteView der);
  // Exactly one "-----BEGIN CERTIFICATE-----" block with no PEM headers; only whitespace may
  // surround it. kInvalidInput otherwise.
  static Result<Certificate> FromPem(std::string_view pem);
  // One or more CERTIFICATE blocks (a chain file); only whitespace between and around them.
  static Result<std::vector<Certificate>> ListFromPem(std::string_view pem);

  const Bytes& ToDer() const;
  std::string ToPem() const;

  // RFC 5280 §4.1.2.2. The serial number's magnitude, big-endian, no leading zeros (certificates
  // with a negative serial are refused by FromDer).
  const Bytes& serial() const;
  // Lower-case hex of serial(), e.g. "5c0f...".
  std::string serial_hex() const;
  const Name& subject() const;
  const Name& issuer() const;
  TimePoint not_before() const;  // RFC 5280 §4.1.2.5
  TimePoint not_after() const;
  // True when notAfter is 99991231235959Z (kNoWellDefinedExpiration).
  bool never_expires() const;
  // The subjectPublicKeyInfo as a crypto key. kUnsupported for key types crypto does not handle
  // (e.g. RSA); such certificates still parse.
  Result<crypto::PublicKey> public_key() const;
  // DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), whatever the key type.
  const Bytes& public_key_der() const;
  // basicConstraints cA (RFC 5280 §4.2.1.9); false when the extension is absent.
  bool is_ca() const;
  // pathLenConstraint when is_ca() and it is present.
  std::optional<int> path_len() const;
  // keyUsage bits (key_usage::k*), nullopt when the extension is absent (§4.2.1.3).
  std::optional<uint32_t> key_usage() const;
  // keyIdentifier of subjectKeyIdentifier (§4.2.1.2) / authorityKeyIdentifier (§4.2.1.1); empty
  // when absent.
  const Bytes& subject_key_id() const;
  const Bytes& authority_key_id() const;
  // extendedKeyUsage KeyPurposeIds as dotted OIDs (RFC 5280 §4.2.1.12), in certificate order;
  // nullopt when the extension is absent.
  const std::optional<std::vector<std::string>>& extended_key_usage() const;
  // True when extendedKeyUsage is present and lists `oid` (eku::k*). An absent extension is NOT
  // taken as "any purpose" here: a role check needs the role written in the certificate.
  bool HasExtendedKeyUsage(std::string_view oid) const;
  // The first hardwareModuleName otherName of subjectAltName (802.1AR-2018 §8, subjectAltName; RFC
  // 4108 §5).
  const std::optional<HardwareModuleName>& hardware_module_name() const;
  // The policyIdentifiers of certificatePolicies (RFC 5280 §4.2.1.4), dotted, in order; empty when
  // the extension is absent.
  const std::vector<std::string>& certificate_policies() const;
  // SHA-256 over the DER certificate.
  const crypto::Sha256Digest& fingerprint() const;
  // Subject equals issuer (a self-issued certificate, RFC 5280 §6.1).
  bool self_issued() const;

  // Ok when this certificate certifies `key` (same SubjectPublicKeyInfo); kVerifyFailed
  // otherwise. Says nothing about whether the peer holds the private key: that is proved later
  // (DTLS CertificateVerify).
  Status MatchesPublicKey(const crypto::PublicKey& key) const;

  friend bool operator==(const Certificate& a, const Certificate& b);

  struct Impl;  // defined in the module's internals only

 private:
  explicit Certificate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend struct Access;
  std::shared_ptr<const Impl> impl_;
};

// A PKCS#10 certification request (RFC 2986).
class CertificateRequest {
 public:
  // Strict DER as for Certificate::FromDer; the signature is not checked here.
  static Result<CertificateRequest> FromDer(ByteView der);
  // Exactly one "CERTIFICATE REQUEST" block (or "NEW CERTIFICATE REQUEST").
  static Result<CertificateRequest> FromPem(std::string_view pem);

  const Bytes& ToDer() const;
  std::string ToPem() const;

  const Name& subject() const;
  Result<crypto::PublicKey> public_key() const;
  // Checks the self-signature with the request's own key (RFC 2986 §3: proof of possession).
  // kVerifyFailed when it does not verify.
  Status VerifySignature() const;

  struct Impl;

 private:
  explicit CertificateRequest(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend struct Access;
  std::shared_ptr<const Impl> impl_;
};

struct RevokedEntry {
  Bytes serial{};  // magnitude, big-endian, as Certificate::serial()
  TimePoint revocation_date{};
};

// An X.509 v2 CRL (RFC 5280 §5).
class RevocationList {
 public:
  // Strict DER as for Certificate::FromDer; the signature is not checked here.
  static Result<RevocationList> FromDer(ByteView der);
  // Exactly one "X509 CRL" block.
  static Result<RevocationList> FromPem(std::string_view pem);

  const Bytes& ToDer() const;
  std::string ToPem() const;

  const Name& issuer() const;
  TimePoint this_update() const;                 // §5.1.2.4
  std::optional<TimePoint> next_update() const;  // §5.1.2.5
  // cRLNumber (§5.2.3) when present and it fits 64 bits.
  std::optional<uint64_t> crl_number() const;
  const std::vector<RevokedEntry>& revoked() const;
  // The serial of `cert` is listed (issuer matching is the caller's business; see
  // VerifyCertificate for a full check).
  bool Lists(const Certificate& cert) const;

  struct Impl;

 private:
  explicit RevocationList(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend struct Access;
  std::shared_ptr<const Impl> impl_;
};

// True when the subject names of `a` and `b` are the same name as RFC 5280 §7.1 chain building
// compares them (OpenSSL's X509_NAME_cmp over the canonical encoding: case and white space of
// string attributes folded). Use it instead of Name's == when asking "could one be mistaken for
// the other as an issuer".
bool SameSubject(const Certificate& a, const Certificate& b);

// ------------------------------------------------------------------------------------ issuance

// A self-signed root CA (vendor CA at manufacture, domain CA at the owner), RFC 5280 §4.2.1.9:
// basicConstraints critical cA=TRUE with pathLenConstraint, keyUsage critical keyCertSign|cRLSign,
// subjectKeyIdentifier (§4.2.1.2 method 1), authorityKeyIdentifier = own SKI.
struct CaOptions {
  std::string organization{};  // O: the vendor or the owner; required
  std::string common_name{};   // CN; empty: "<organization> Root CA"
  int path_len = 0;            // 0: issues end-entity certificates only; 1: one intermediate
  // notAfter = notBefore + lifetime, unless never_expires.
  std::chrono::seconds lifetime = std::chrono::days(365 * 25);
  bool never_expires = false;  // notAfter = 99991231235959Z
};

// Makes a self-signed CA certificate for `ca_key`. notBefore = clock.Now() (whole seconds).
// kInvalidInput for bad options; errors of ca_key.Sign pass through.
Result<Certificate> CreateVendorCa(crypto::Signer& ca_key, const CaOptions& options,
                                   const Clock& clock = SystemClock(),
                                   crypto::Random& rng = crypto::SystemRandomSource());
// The same profile for the owner's domain CA that issues LDevIDs.
Result<Certificate> CreateDomainCa(crypto::Signer& ca_key, const CaOptions& options,
                                   const Clock& clock = SystemClock(),
                                   crypto::Random& rng = crypto::SystemRandomSource());
// A subordinate CA certificate for `subject_key`, signed by `issuer_key` / `issuer_cert`.
// pathLenConstraint must be below the issuer's.
Result<Certificate> IssueIntermediateCa(crypto::Signer& issuer_key, const Certificate& issuer_cert,
                                        const crypto::PublicKey& subject_key,
                                        const CaOptions& options,
                                        const Clock& clock = SystemClock(),
                                        crypto::Random& rng = crypto::SystemRandomSource());

// IDevID profile after IEEE 802.1AR-2018 §8 (DevID certificate fields; docs/IDENTITY.md):
//   subject: serialNumber = serial_number, O = vendor, OU = model, CN = common_name;
//   issuer: the vendor CA's subject; validity notBefore = now, notAfter = 99991231235959Z
//   (RFC 5280 §4.1.2.5) unless not_after is given; keyUsage critical digitalSignature
//   (+keyAgreement) (RFC 5280 §4.2.1.3); basicConstraints absent (not a CA); SKI; AKI = the CA's
//   SKI (RFC 5280 §4.2.1.1-2); subjectAltName otherName hardwareModuleName {hwType, hwSerialNum =
//   serial_number} (RFC 4108 §5) unless hardware_module_name is false.
struct IdevidRequest {
  std::string serial_number{};  // required; PrintableString characters only (X.520)
  std::string model{};          // required
  std::string vendor{};         // O; empty: the CA certificate's O
  std::string common_name{};    // empty: "<model> <serial_number>"
  // hwType OID (dotted). Empty: derived from vendor and model as 2.25.<n>, a UUID OID (ITU-T
  // X.667), with n the RFC 9562 version-8 UUID built from SHA-256("secprof hwType\0" vendor "\0"
  // model) — stable per model and needing no registered arc.
  std::string hw_type{};
  bool hardware_module_name = true;
  bool key_agreement = false;  // add keyAgreement (the key also does ECDH)
  std::optional<TimePoint> not_after{};
  // certificatePolicies (RFC 5280 §4.2.1.4, not critical) with these policyIdentifiers (dotted
  // OIDs, no qualifiers); none when empty. E.g. kPolicyKeyInToken.
  std::vector<std::string> policy_oids{};
};

// secprof's certificate policy "the device's private key was generated inside a tamper-resistant
// token and is non-extractable" (docs/KEYSTORE.md, "Key protection claim"). The manufacturer
// asserts it in an IDevID when it made the key in a token; it is the manufacturer's claim, not
// remote attestation. A UUID OID (ITU-T X.667, 2.25.<UUID as an integer>: no registered arc
// needed), UUID 2ab1f634-bb35-4d3b-9ab1-76a286afbf04.
inline constexpr const char* kPolicyKeyInToken = "2.25.56751606017492214831634645772621823748";

// Issues an IDevID for `device_key`, signed by `ca_key` whose certificate is `ca_cert`.
// REQUIRES ca_cert to be a CA with keyCertSign whose key is ca_key.public_key() (else
// kInvalidInput). Serial: 128 random bits from `rng` (RFC 5280 §4.1.2.2: positive, <= 20 octets).
Result<Certificate> IssueIdevid(crypto::Signer& ca_key, const Certificate& ca_cert,
                                const crypto::PublicKey& device_key, const IdevidRequest& request,
                                const Clock& clock = SystemClock(),
                                crypto::Random& rng = crypto::SystemRandomSource());

// Makes a PKCS#10 request (RFC 2986 §4) for the signer's key with `subject` (text is ignored),
// self-signed through `key`. At least one attribute of subject must be set.
Result<CertificateRequest> CreateRequest(crypto::Signer& key, const Name& subject);

// What the domain CA takes from a CSR when it issues an LDevID (802.1AR-2018: LDevIDs are
// issued by the local domain's CA). Nothing else of the request is copied: its requested
// extensions and other attributes are ignored.
struct LdevidPolicy {
  // Operational validity: notBefore = now, notAfter = now + validity.
  std::chrono::seconds validity = std::chrono::days(365);
  // When set, the CSR's subject serialNumber must equal it (e.g. the serial the thing proved with
  // its IDevID); kVerifyFailed otherwise.
  std::optional<std::string> expected_serial_number{};
  bool copy_common_name = true;    // CN from the CSR
  bool copy_serial_number = true;  // serialNumber from the CSR
  // O of the LDevID: empty means the domain CA's O (the owner). Never taken from the CSR.
  std::string organization{};
  bool key_agreement = false;  // add keyAgreement
  // extendedKeyUsage KeyPurposeIds (dotted OIDs, eku::k*) to write, non-critical (RFC 5280
  // §4.2.1.12); empty: no extendedKeyUsage extension. Never taken from the CSR.
  std::vector<std::string> extended_key_usage{};
};

// Checks the CSR's signature (kVerifyFailed when bad), then issues an end-entity certificate:
// keyUsage critical digitalSignature (+keyAgreement), not a CA, SKI, AKI; subject built as
// `policy` says. kUnsupported when the CSR's key is not P-256, Ed25519 or Ed448.
Result<Certificate> IssueLdevid(crypto::Signer& ca_key, const Certificate& ca_cert,
                                const CertificateRequest& csr, const LdevidPolicy& policy = {},
                                const Clock& clock = SystemClock(),
                                crypto::Random& rng = crypto::SystemRandomSource());

struct CrlOptions {
  uint64_t crl_number = 1;                                  // cRLNumber, §5.2.3
  std::chrono::seconds next_update = std::chrono::days(7);  // nextUpdate = now + this (§5.1.2.5)
};

// Issues a v2 CRL (RFC 5280 §5) listing `revoked` (revocationDate as given), signed by `ca_key`
// whose certificate is `ca_cert` (which must assert cRLSign). Extensions: authorityKeyIdentifier
// (§5.2.1) and cRLNumber (§5.2.3). thisUpdate = clock.Now().
Result<RevocationList> IssueCrl(crypto::Signer& ca_key, const Certificate& ca_cert,
                                std::span<const RevokedEntry> revoked,
                                const CrlOptions& options = {}, const Clock& clock = SystemClock());

// ---------------------------------------------------------------------------------- validation

enum class RevocationCheck {
  kNone,  // CRLs are ignored
  kLeaf,  // the leaf must be covered by a valid CRL from its issuer (X509_V_FLAG_CRL_CHECK)
  kAll,   // every certificate in the chain below the anchor (X509_V_FLAG_CRL_CHECK_ALL)
};

struct VerifyOptions {
  std::vector<Certificate> trust_anchors{};  // required, at least one
  std::vector<Certificate> intermediates{};  // untrusted, used to build the path
  std::vector<RevocationList> crls{};
  // Default: kLeaf when crls is non-empty, else kNone.
  std::optional<RevocationCheck> revocation{};
};

// RFC 5280 §6 path validation of `leaf` at clock.Now() by OpenSSL (X509_verify_cert, with
// X509_V_FLAG_X509_STRICT). On success returns the path, leaf first, anchor last. On failure
// kVerifyFailed with OpenSSL's reason, e.g. "certificate verify failed: certificate revoked",
// "...: unable to get local issuer certificate", "...: certificate has expired",
// "...: certificate signature failure". kInvalidInput when there is no trust anchor.
Result<std::vector<Certificate>> VerifyCertificate(const Certificate& leaf,
                                                   const VerifyOptions& options,
                                                   const Clock& clock = SystemClock());

}  // namespace secprof::identity
