// src/identity/internal.h — OpenSSL plumbing shared by the identity module's sources. Never
// included from a public header.
//
// Every OpenSSL handle is owned by one of the Ptr aliases of secprof/crypto/openssl_handles.h from
// the moment it is returned, and released by OpenSSL's own free function for that type.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "secprof/crypto/openssl_errors.h"
#include "secprof/crypto/openssl_handles.h"
#include "secprof/identity/identity.h"

namespace secprof::identity {

namespace internal {

// The owning handle types (X509Ptr, EvpPkeyPtr, ... and the Free<fn> deleter) are the shared ones
// of secprof/crypto/openssl_handles.h.
using namespace secprof::openssl;

// OpenSslError and ClearOpenSslErrors come from secprof/crypto/openssl_errors.h.
using crypto::ClearOpenSslErrors;
using crypto::OpenSslError;

// i2d of any OpenSSL object into Bytes; kCrypto when encoding fails.
template <class T, class Fn>
Result<Bytes> EncodeDer(T* obj, Fn i2d, const char* what) {
  unsigned char* out = nullptr;
  int n = i2d(obj, &out);
  if (n <= 0 || out == nullptr) return Fail(OpenSslError(std::string("encoding ") + what));
  OpenSslBytesPtr owned(out);
  return Bytes(out, out + n);
}

// DER TLV helpers (X.690 §8.1) for the few structures assembled by hand: the outer
// Certificate / CertificationRequest / CertificateList SEQUENCE around the to-be-signed bytes,
// and TBSCertList (OpenSSL 3.0 has no setter for the signature fields of X509 and X509_CRL).
inline constexpr uint8_t kTagInteger = 0x02;
inline constexpr uint8_t kTagBitString = 0x03;
inline constexpr uint8_t kTagSequence = 0x30;
inline constexpr uint8_t kTagContext0 = 0xa0;  // [0] EXPLICIT, constructed
void AppendTlv(Bytes& out, uint8_t tag, ByteView content);
Bytes Tlv(uint8_t tag, ByteView content);

// Time conversions. ASN1_TIME_set picks UTCTime up to 2049 and GeneralizedTime from 2050
// (RFC 5280 §4.1.2.5).
Result<Asn1TimePtr> MakeTime(TimePoint t);
Result<TimePoint> FromAsn1Time(const ASN1_TIME* t);
TimePoint Now(const Clock& clock);

// Name conversions.
Result<X509NamePtr> MakeName(const Name& name);
Name ReadName(const X509_NAME* name);

// Integers: magnitude bytes <-> ASN1_INTEGER. FromAsn1Integer refuses negative values.
Result<Asn1IntegerPtr> MakeInteger(ByteView magnitude);
Result<Bytes> FromAsn1Integer(const ASN1_INTEGER* i, const char* what);

// Keys: crypto::PublicKey <-> EVP_PKEY through DER SubjectPublicKeyInfo.
Result<EvpPkeyPtr> ToEvp(const crypto::PublicKey& key);

// The AlgorithmIdentifier for what `signer` produces (RFC 5758 §3.2 ecdsa-with-SHA256 without
// parameters; RFC 8410 §3 id-Ed25519 without parameters).
Result<X509AlgorPtr> SignatureAlgorithmFor(const crypto::Signer& signer);
// Signs `tbs` and returns the X.509 signature value: DER Ecdsa-Sig-Value (RFC 3279 §2.2.3) for
// ECDSA, the 64 bytes for Ed25519 (RFC 8410 §6).
Result<Bytes> SignForX509(crypto::Signer& signer, ByteView tbs);
// SEQUENCE { tbs, algorithm, BIT STRING signature } (RFC 5280 §4.1.1, §5.1.1; RFC 2986 §4.2).
Result<Bytes> AssembleSigned(ByteView tbs, const X509_ALGOR* alg, ByteView signature);

// Strict PEM: exactly one block whose label is one of `labels`, no PEM headers, only whitespace
// around it. Returns the DER body.
Result<Bytes> SinglePemBlock(std::string_view pem, std::initializer_list<std::string_view> labels);
// PEM text for `der` under `label`.
std::string ToPemText(ByteView der, const char* label);

// RFC 7093 §2 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey BIT STRING
// value; used as keyIdentifier (RFC 5280 §4.2.1.2 allows any method that yields unique values).
Result<Bytes> KeyIdentifier(const X509_PUBKEY* spki);

}  // namespace internal

struct Certificate::Impl {
  internal::X509Ptr x509;
  Bytes der;
  Bytes serial;
  Name subject;
  Name issuer;
  TimePoint not_before;
  TimePoint not_after;
  Bytes spki;
  bool is_ca = false;
  std::optional<int> path_len;
  std::optional<uint32_t> key_usage;
  Bytes ski;
  Bytes aki;
  std::optional<std::vector<std::string>> eku;
  std::optional<HardwareModuleName> hwmn;
  std::vector<std::string> policies;  // certificatePolicies policyIdentifiers, dotted
  crypto::Sha256Digest fingerprint{};
  bool self_issued = false;
};

struct CertificateRequest::Impl {
  internal::X509ReqPtr req;
  Bytes der;
  Name subject;
  Bytes spki;
};

struct RevocationList::Impl {
  internal::X509CrlPtr crl;
  Bytes der;
  Name issuer;
  TimePoint this_update;
  std::optional<TimePoint> next_update;
  std::optional<uint64_t> crl_number;
  std::vector<RevokedEntry> revoked;
};

// Reaches the OpenSSL object behind the opaque handles, inside the module only.
struct Access {
  static const X509* Get(const Certificate& c) { return c.impl_->x509.get(); }
  static const X509_REQ* Get(const CertificateRequest& r) { return r.impl_->req.get(); }
  static const X509_CRL* Get(const RevocationList& l) { return l.impl_->crl.get(); }
};

namespace internal {
// HardwareModuleName (RFC 4108 §5) <-> the otherName value.
Result<Asn1TypePtr> EncodeHardwareModuleName(const HardwareModuleName& hwmn);
std::optional<HardwareModuleName> DecodeHardwareModuleName(const ASN1_TYPE* value);
// id-on-hardwareModuleName (OpenSSL 3.0 has no NID for it). Made once; never null.
const ASN1_OBJECT* HardwareModuleNameOid();
}  // namespace internal

}  // namespace secprof::identity
