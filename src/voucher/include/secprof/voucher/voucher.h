// secprof/voucher/voucher.h — ownership vouchers in the spirit of RFC 8366 and BRSKI (RFC 8995
// §5.6): the manufacturer, with its vendor CA key, states that the thing with IDevID serial S
// belongs to the domain whose CA key is pinned by hash. The KDC admits only serials it holds a
// voucher for (anti-substitution, draft threat T2); the thing accepts a domain only after it has
// checked the voucher against its manufacturer trust anchor (no rogue KDC, T4).
//
// Wire form: a tagged COSE_Sign1 (RFC 9052 §4.2, CBOR tag 18) whose payload is a CBOR map with
// secprof's own integer labels (below; docs/VOUCHER.md). This is NOT the RFC 8366 JSON voucher nor
// the SID-keyed CBOR of the constrained-voucher draft: same meaning, simpler encoding.
//
//   // The manufacturer (vendor CA key, e.g. from the factory's key store):
//   voucher::Voucher v{.version = 1, .serial = "lightbulb-9-000001", .vendor = "Acme",
//                      .model = "LightBulb-9", .owner = "Plant 7",
//                      .domain_hash = voucher::DomainHash(domain_ca),
//                      .created = now, .expires = now + 365 * 86400};
//   SECPROF_ASSIGN_OR_RETURN(Bytes wire, voucher::Issue(vendor_ca_signer, v));
//
//   // The KDC, or the thing, with the manufacturer trust anchor:
//   SECPROF_ASSIGN_OR_RETURN(voucher::Voucher got, voucher::Verify(wire, vendor_ca, clock));
//   SECPROF_TRY(voucher::CheckBinding(got, idevid_serial, domain_ca));
//
// Errors: kInvalidInput when the bytes are not a well-formed voucher (Decode's rules);
// kVerifyFailed when a well-formed voucher does not hold (signature, anchor, time, vendor,
// binding), with a message saying which.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/signer.h"
#include "secprof/identity/identity.h"

namespace secprof::voucher {

using crypto::Bytes;
using crypto::ByteView;

inline constexpr int kVersion = 1;

// Payload map labels (secprof's own; docs/VOUCHER.md).
namespace label {
inline constexpr int64_t kVersion = 1;  // uint, = kVersion
inline constexpr int64_t kSerial = 2;   // tstr: the IDevID subject serialNumber
inline constexpr int64_t kVendor = 3;   // tstr: the vendor CA's subject O
inline constexpr int64_t kModel = 4;    // tstr: the IDevID subject OU
inline constexpr int64_t kDomain = 5;   // bstr: SHA-256 of the domain CA's DER SPKI (pinned domain)
inline constexpr int64_t kCreated = 6;  // uint: unix seconds
inline constexpr int64_t kExpires = 7;  // uint: unix seconds, > created
inline constexpr int64_t kNonce = 8;    // bstr, optional (absent when empty)
inline constexpr int64_t kOwner = 9;    // tstr, optional, informational (absent when empty)
}  // namespace label

// The COSE content type (RFC 9052 §3.1, label 3) of a voucher: a text media type of our own.
inline constexpr std::string_view kContentType = "application/secprof-voucher+cbor";

// Limits, enforced by Issue and Decode alike.
inline constexpr size_t kMaxVoucherSize = 2048;  // the whole COSE_Sign1, bytes
inline constexpr size_t kMaxSerialLength = 64;   // X.520 ub-serial-number
inline constexpr size_t kMaxNameLength = 64;     // vendor, model (as manufacture)
inline constexpr size_t kMaxOwnerLength = 128;
inline constexpr size_t kDomainHashSize = 32;  // SHA-256
inline constexpr size_t kMinNonceSize = 8;
inline constexpr size_t kMaxNonceSize = 64;
// created and expires must lie in [0, kMaxTime] (9999-12-31T23:59:59Z).
inline constexpr int64_t kMaxTime = 253402300799;
// Verify accepts a voucher created up to this far in the future (clock skew).
inline constexpr std::chrono::seconds kAllowedSkew{300};

struct Voucher {
  int version = kVersion;
  std::string serial;  // 1..kMaxSerialLength printable characters
  std::string vendor;  // 1..kMaxNameLength printable characters
  std::string model;   // 1..kMaxNameLength printable characters
  std::string owner;   // 0..kMaxOwnerLength printable characters; empty: absent
  Bytes domain_hash;   // kDomainHashSize bytes: DomainHash(domain CA)
  int64_t created = 0;
  int64_t expires = 0;  // > created
  Bytes nonce;          // empty (absent) or kMinNonceSize..kMaxNonceSize bytes

  friend bool operator==(const Voucher&, const Voucher&) = default;
};

// What a decoded voucher carries beside its payload.
struct SignedVoucher {
  Voucher voucher;
  int64_t alg = 0;  // COSE algorithm: -7 ES256 or -8 EdDSA
  Bytes kid;        // SHA-256 of the issuing vendor CA's DER SPKI
  Bytes signature;
};

// "Printable": UTF-8 text without control characters (U+0000..U+001F, U+007F).
// Checks every field against the limits above; kInvalidInput naming the field.
Status Validate(const Voucher& v);

// Signs `v` with the vendor CA key: a tagged COSE_Sign1 with protected header {1: alg,
// 3: kContentType, 4: kid = SHA-256 of the signer's DER SPKI} and an empty unprotected header;
// alg is ES256 for a P-256 signer (raw or DER, RFC 9053 §2.1), EdDSA for Ed25519/Ed448 (§2.2).
// The payload is the deterministic encoding (RFC 8949 §4.2.1) of the map. kInvalidInput when
// Validate fails; signer errors pass through.
Result<Bytes> Issue(crypto::Signer& vendor_ca_key, const Voucher& v);

// Strict decoding (no signature check): at most kMaxVoucherSize bytes; a COSE_Sign1 with tag 18;
// protected header exactly {1, 3, 4} as Issue writes it (alg ES256 or EdDSA, content type
// kContentType, a 32-byte kid), unprotected header empty, payload present; the payload a map with
// labels 1..7 and optionally 8 and 9, no other label, each of the right type and within the
// limits, deterministically encoded (the bytes must equal what Issue would write). kInvalidInput
// naming what is wrong.
Result<Voucher> Decode(ByteView voucher);
Result<SignedVoucher> DecodeSigned(ByteView voucher);

// Decode, then, against the manufacturer trust anchor `vendor_ca`:
//   - kid equals SHA-256 of vendor_ca's SPKI ("voucher was issued under another vendor CA ..."),
//   - the COSE_Sign1 signature verifies with vendor_ca's public key ("voucher signature does not
//     verify"),
//   - vendor equals vendor_ca's subject O,
//   - now < expires ("voucher expired at <RFC 3339>"),
//   - created <= now + kAllowedSkew ("voucher created in the future ...").
// kVerifyFailed with that reason; kInvalidInput when malformed. Checks nothing about the owner
// side: see CheckBinding.
Result<Voucher> Verify(ByteView voucher, const identity::Certificate& vendor_ca,
                       const Clock& clock);

// Ok when v.serial == serial and v.domain_hash == DomainHash(domain_ca); otherwise kVerifyFailed
// naming the serial or the domain that does not match.
Status CheckBinding(const Voucher& v, std::string_view serial,
                    const identity::Certificate& domain_ca);

// SHA-256 of the certificate's DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7): the "pinned domain".
Bytes DomainHash(const identity::Certificate& domain_ca);
// The same over a public key's DER SPKI (what Issue puts into kid).
Result<Bytes> SpkiHash(const crypto::PublicKey& key);

// RFC 3339 UTC, whole seconds ("2024-05-01T12:00:00Z"), for messages and inspect.
std::string FormatTime(int64_t unix_seconds);

// The manufacturer's voucher service on a factory directory made by `secprof manufacture`
// (manufacture.h). Open reads <dir>/manifest.json, loads <dir>/ca/ca.pem, opens the vendor CA key
// (file key store <dir>/ca/keystore, label "vendor-ca", its KEK file beside the keys) and checks
// that the certificate certifies that key and matches the manifest's CA fingerprint. It creates
// and changes nothing in the directory (a missing key store or KEK is kNotFound, not made).
// Not thread-safe (the signer is a key store's).
class Factory {
 public:
  static Result<Factory> Open(const std::string& dir);
  ~Factory();
  Factory(Factory&&) noexcept;
  Factory& operator=(Factory&&) noexcept;

  const identity::Certificate& vendor_ca() const;
  // Every thing's serial, in manifest order.
  std::vector<std::string> serials() const;
  // The vendor (the CA's O) and the model the factory made (manifest.json; one per directory).
  std::string vendor() const;
  std::string model() const;
  // The vendor CA key, as a signer that never hands out the key: what signs vouchers, and the
  // firmware the domain checks against this vendor's trust anchor (`secprof fw sign --factory`).
  crypto::Signer& signer();

  // Finds `serial` (kNotFound "serial S is not in <dir>/manifest.json"), checks the thing's IDevID
  // (things/<serial>/idevid.pem) names that serial and was issued by the vendor CA, and issues a
  // voucher: vendor = the CA's O, model = the manifest's, domain_hash = DomainHash(domain_ca),
  // created = clock.Now() (whole seconds), expires = created + validity (1 s .. 100 years, else
  // kInvalidInput), no nonce.
  Result<Bytes> Issue(std::string_view serial, const identity::Certificate& domain_ca,
                      std::string_view owner, std::chrono::seconds validity, const Clock& clock);

 private:
  struct Impl;
  explicit Factory(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Factory::Open(factory_dir) then Issue(...): what `secprof voucher issue` does for one serial.
Result<Bytes> IssueFromFactory(const std::string& factory_dir, std::string_view serial,
                               const identity::Certificate& domain_ca, std::string_view owner,
                               std::chrono::seconds validity, const Clock& clock);

}  // namespace secprof::voucher
