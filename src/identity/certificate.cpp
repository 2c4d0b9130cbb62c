// Parsing and accessors for Certificate (RFC 5280 §4), CertificateRequest (RFC 2986) and
// RevocationList (RFC 5280 §5). Every field is decoded once, when the object is parsed, so the
// accessors cannot fail.
#include <openssl/objects.h>

#include <algorithm>
#include <cstdio>

#include "internal.h"
#include "secprof/core/hex.h"

namespace secprof::identity {

using namespace internal;

namespace {

// d2i with the strictness the header promises: the whole input is one object and encoding the
// object again gives the input back.
template <class Ptr, class D2i, class I2d>
Result<Ptr> StrictD2i(ByteView der, D2i d2i, I2d i2d, const char* what) {
  if (der.empty()) return Fail(ErrorCode::kInvalidInput, std::string(what) + ": empty input");
  const unsigned char* p = der.data();
  Ptr obj(d2i(nullptr, &p, static_cast<long>(der.size())));
  if (!obj) return Fail(OpenSslError(std::string("decoding ") + what, ErrorCode::kInvalidInput));
  const size_t used = static_cast<size_t>(p - der.data());
  if (used != der.size()) {
    return Fail(ErrorCode::kInvalidInput, std::string(what) + ": " +
                                              std::to_string(der.size() - used) +
                                              " trailing bytes after the DER structure");
  }
  SECPROF_ASSIGN_OR_RETURN(Bytes again, EncodeDer(obj.get(), i2d, what));
  if (!std::equal(again.begin(), again.end(), der.begin(), der.end())) {
    return Fail(ErrorCode::kInvalidInput, std::string(what) + ": not DER (re-encoding differs)");
  }
  return obj;
}

// Reads an extension that must decode if present: kInvalidInput when it is present but
// malformed or present twice (RFC 5280 §4.2: "A certificate MUST NOT include more than one
// instance of a particular extension").
template <class T>
Result<T*> OptionalExt(const X509* x, int nid, const char* what) {
  int crit = 0;
  void* v = X509_get_ext_d2i(x, nid, &crit, nullptr);
  if (v == nullptr && crit == -2) {
    return Fail(ErrorCode::kInvalidInput, std::string(what) + " appears more than once");
  }
  if (v == nullptr && crit != -1) {
    return Fail(OpenSslError(std::string("decoding ") + what, ErrorCode::kInvalidInput));
  }
  return static_cast<T*>(v);
}

Result<std::shared_ptr<Certificate::Impl>> ParseCertificate(ByteView der) {
  auto impl = std::make_shared<Certificate::Impl>();
  SECPROF_ASSIGN_OR_RETURN(impl->x509,
                           (StrictD2i<X509Ptr>(der, d2i_X509, i2d_X509, "certificate")));
  X509* x = impl->x509.get();
  impl->der.assign(der.begin(), der.end());
  if (X509_get_version(x) != X509_VERSION_3 && X509_get_ext_count(x) > 0) {
    return Fail(ErrorCode::kInvalidInput, "certificate: extensions in a non-v3 certificate");
  }
  SECPROF_ASSIGN_OR_RETURN(impl->serial,
                           FromAsn1Integer(X509_get0_serialNumber(x), "certificate serial number"));
  impl->subject = ReadName(X509_get_subject_name(x));
  impl->issuer = ReadName(X509_get_issuer_name(x));
  SECPROF_ASSIGN_OR_RETURN(impl->not_before, FromAsn1Time(X509_get0_notBefore(x)));
  SECPROF_ASSIGN_OR_RETURN(impl->not_after, FromAsn1Time(X509_get0_notAfter(x)));
  SECPROF_ASSIGN_OR_RETURN(
      impl->spki, EncodeDer(X509_get_X509_PUBKEY(x), i2d_X509_PUBKEY, "SubjectPublicKeyInfo"));

  // OpenSSL's own extension cache flags malformed and duplicated extensions it knows.
  const uint32_t flags = X509_get_extension_flags(x);
  if (flags & EXFLAG_INVALID) {
    ClearOpenSslErrors();
    return Fail(ErrorCode::kInvalidInput,
                "certificate: invalid or duplicated extension (RFC 5280 §4.2)");
  }

  {
    SECPROF_ASSIGN_OR_RETURN(
        BASIC_CONSTRAINTS * raw,
        OptionalExt<BASIC_CONSTRAINTS>(x, NID_basic_constraints, "basicConstraints"));
    BasicConstraintsPtr bc(raw);
    if (bc && bc->ca) {
      impl->is_ca = true;
      if (bc->pathlen != nullptr) {
        const long v = ASN1_INTEGER_get(bc->pathlen);
        if (v < 0 || v > 255) {
          return Fail(ErrorCode::kInvalidInput, "basicConstraints: pathLenConstraint out of range");
        }
        impl->path_len = static_cast<int>(v);
      }
    }
  }
  {
    SECPROF_ASSIGN_OR_RETURN(ASN1_BIT_STRING * raw,
                             OptionalExt<ASN1_BIT_STRING>(x, NID_key_usage, "keyUsage"));
    Asn1BitStringPtr ku(raw);
    if (ku) {
      uint32_t bits = 0;
      for (int i = 0; i < 9; ++i) {
        if (ASN1_BIT_STRING_get_bit(ku.get(), i)) bits |= 1u << i;
      }
      impl->key_usage = bits;
    }
  }
  {
    SECPROF_ASSIGN_OR_RETURN(
        ASN1_OCTET_STRING * raw,
        OptionalExt<ASN1_OCTET_STRING>(x, NID_subject_key_identifier, "subjectKeyIdentifier"));
    Asn1OctetStringPtr ski(raw);
    if (ski) {
      const unsigned char* d = ASN1_STRING_get0_data(ski.get());
      impl->ski.assign(d, d + ASN1_STRING_length(ski.get()));
    }
  }
  {
    SECPROF_ASSIGN_OR_RETURN(
        AUTHORITY_KEYID * raw,
        OptionalExt<AUTHORITY_KEYID>(x, NID_authority_key_identifier, "authorityKeyIdentifier"));
    AuthorityKeyIdPtr aki(raw);
    if (aki && aki->keyid != nullptr) {
      const unsigned char* d = ASN1_STRING_get0_data(aki->keyid);
      impl->aki.assign(d, d + ASN1_STRING_length(aki->keyid));
    }
  }
  {
    // extendedKeyUsage (§4.2.1.12): the KeyPurposeIds, as dotted OIDs.
    SECPROF_ASSIGN_OR_RETURN(
        EXTENDED_KEY_USAGE * raw,
        OptionalExt<EXTENDED_KEY_USAGE>(x, NID_ext_key_usage, "extendedKeyUsage"));
    ExtendedKeyUsagePtr eku(raw);
    if (eku) {
      std::vector<std::string> oids;
      for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
        char oid[128];
        const int n = OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku.get(), i), 1);
        if (n <= 0 || n >= static_cast<int>(sizeof(oid))) {
          return Fail(ErrorCode::kInvalidInput, "extendedKeyUsage: unreadable KeyPurposeId");
        }
        oids.emplace_back(oid, static_cast<size_t>(n));
      }
      impl->eku = std::move(oids);
    }
  }
  {
    SECPROF_ASSIGN_OR_RETURN(GENERAL_NAMES * raw,
                             OptionalExt<GENERAL_NAMES>(x, NID_subject_alt_name, "subjectAltName"));
    GeneralNamesPtr names(raw);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
      if (gn->type != GEN_OTHERNAME) continue;
      if (OBJ_cmp(gn->d.otherName->type_id, HardwareModuleNameOid()) != 0) continue;
      impl->hwmn = DecodeHardwareModuleName(gn->d.otherName->value);
      if (!impl->hwmn) {
        return Fail(ErrorCode::kInvalidInput,
                    "subjectAltName: malformed hardwareModuleName (RFC 4108 §5)");
      }
      break;
    }
  }
  {
    SECPROF_ASSIGN_OR_RETURN(
        CERTIFICATEPOLICIES * raw,
        OptionalExt<CERTIFICATEPOLICIES>(x, NID_certificate_policies, "certificatePolicies"));
    CertificatePoliciesPtr policies(raw);
    for (int i = 0; policies && i < sk_POLICYINFO_num(policies.get()); ++i) {
      const POLICYINFO* info = sk_POLICYINFO_value(policies.get(), i);
      char buf[128];
      int n = OBJ_obj2txt(buf, sizeof buf, info->policyid, 1);  // 1: dotted numbers
      if (n <= 0 || static_cast<size_t>(n) >= sizeof buf)
        return Fail(ErrorCode::kInvalidInput, "certificatePolicies: unreadable policy OID");
      impl->policies.emplace_back(buf, static_cast<size_t>(n));
    }
  }
  SECPROF_ASSIGN_OR_RETURN(impl->fingerprint, crypto::Sha256(impl->der));
  impl->self_issued = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
  ClearOpenSslErrors();
  return impl;
}

}  // namespace

// ------------------------------------------------------------------------------ Certificate

Result<Certificate> Certificate::FromDer(ByteView der) {
  SECPROF_ASSIGN_OR_RETURN(auto impl, ParseCertificate(der));
  return Certificate(std::move(impl));
}

Result<Certificate> Certificate::FromPem(std::string_view pem) {
  SECPROF_ASSIGN_OR_RETURN(Bytes der, SinglePemBlock(pem, {"CERTIFICATE"}));
  return FromDer(der);
}

Result<std::vector<Certificate>> Certificate::ListFromPem(std::string_view pem) {
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<Certificate> out;
  while (true) {
    const size_t first = pem.find_first_not_of(" \t\r\n\f\v");
    if (first == std::string_view::npos) break;
    const size_t end = pem.find(kEnd, first);
    if (end == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidInput, "certificate " + std::to_string(out.size() + 1) +
                                                ": no \"" + std::string(kEnd) + "\"");
    }
    auto cert = FromPem(pem.substr(0, end + kEnd.size()));
    if (!cert) {
      return Fail(cert.error().WithContext("certificate " + std::to_string(out.size() + 1)));
    }
    out.push_back(std::move(*cert));
    pem.remove_prefix(end + kEnd.size());
  }
  if (out.empty()) return Fail(ErrorCode::kInvalidInput, "no certificate in the PEM text");
  return out;
}

const Bytes& Certificate::ToDer() const { return impl_->der; }
std::string Certificate::ToPem() const { return ToPemText(impl_->der, "CERTIFICATE"); }
const Bytes& Certificate::serial() const { return impl_->serial; }
std::string Certificate::serial_hex() const { return ToHex(impl_->serial); }
const Name& Certificate::subject() const { return impl_->subject; }
const Name& Certificate::issuer() const { return impl_->issuer; }
TimePoint Certificate::not_before() const { return impl_->not_before; }
TimePoint Certificate::not_after() const { return impl_->not_after; }
bool Certificate::never_expires() const { return impl_->not_after == kNoWellDefinedExpiration; }
const Bytes& Certificate::public_key_der() const { return impl_->spki; }
bool Certificate::is_ca() const { return impl_->is_ca; }
std::optional<int> Certificate::path_len() const { return impl_->path_len; }
std::optional<uint32_t> Certificate::key_usage() const { return impl_->key_usage; }
const Bytes& Certificate::subject_key_id() const { return impl_->ski; }
const std::optional<std::vector<std::string>>& Certificate::extended_key_usage() const {
  return impl_->eku;
}
bool Certificate::HasExtendedKeyUsage(std::string_view oid) const {
  return impl_->eku && std::find(impl_->eku->begin(), impl_->eku->end(), oid) != impl_->eku->end();
}
bool SameSubject(const Certificate& a, const Certificate& b) {
  return X509_NAME_cmp(X509_get_subject_name(Access::Get(a)),
                       X509_get_subject_name(Access::Get(b))) == 0;
}
const Bytes& Certificate::authority_key_id() const { return impl_->aki; }
const std::optional<HardwareModuleName>& Certificate::hardware_module_name() const {
  return impl_->hwmn;
}
const std::vector<std::string>& Certificate::certificate_policies() const {
  return impl_->policies;
}
const crypto::Sha256Digest& Certificate::fingerprint() const { return impl_->fingerprint; }
bool Certificate::self_issued() const { return impl_->self_issued; }

Result<crypto::PublicKey> Certificate::public_key() const {
  auto key = crypto::PublicKey::FromDer(impl_->spki);
  if (!key) {
    return Fail(ErrorCode::kUnsupported,
                "certificate public key not usable: " + key.error().message());
  }
  return key;
}

Status Certificate::MatchesPublicKey(const crypto::PublicKey& key) const {
  SECPROF_ASSIGN_OR_RETURN(Bytes der, key.ToDer());
  if (der != impl_->spki) {
    return Fail(ErrorCode::kVerifyFailed,
                "the certificate does not certify this public key (SubjectPublicKeyInfo differs)");
  }
  return Ok();
}

bool operator==(const Certificate& a, const Certificate& b) { return a.impl_->der == b.impl_->der; }

// ----------------------------------------------------------------------- CertificateRequest

Result<CertificateRequest> CertificateRequest::FromDer(ByteView der) {
  auto impl = std::make_shared<Impl>();
  SECPROF_ASSIGN_OR_RETURN(
      impl->req, (StrictD2i<X509ReqPtr>(der, d2i_X509_REQ, i2d_X509_REQ, "certificate request")));
  impl->der.assign(der.begin(), der.end());
  // RFC 2986 §4.1: version is 0 (v1).
  if (X509_REQ_get_version(impl->req.get()) != X509_REQ_VERSION_1) {
    return Fail(ErrorCode::kInvalidInput, "certificate request: version is not v1 (RFC 2986 §4.1)");
  }
  impl->subject = ReadName(X509_REQ_get_subject_name(impl->req.get()));
  X509_PUBKEY* spki = X509_REQ_get_X509_PUBKEY(impl->req.get());
  if (spki == nullptr) return Fail(ErrorCode::kInvalidInput, "certificate request: no public key");
  SECPROF_ASSIGN_OR_RETURN(impl->spki, EncodeDer(spki, i2d_X509_PUBKEY, "SubjectPublicKeyInfo"));
  ClearOpenSslErrors();
  return CertificateRequest(std::move(impl));
}

Result<CertificateRequest> CertificateRequest::FromPem(std::string_view pem) {
  SECPROF_ASSIGN_OR_RETURN(Bytes der,
                           SinglePemBlock(pem, {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"}));
  return FromDer(der);
}

const Bytes& CertificateRequest::ToDer() const { return impl_->der; }
std::string CertificateRequest::ToPem() const {
  return ToPemText(impl_->der, "CERTIFICATE REQUEST");
}
const Name& CertificateRequest::subject() const { return impl_->subject; }

Result<crypto::PublicKey> CertificateRequest::public_key() const {
  auto key = crypto::PublicKey::FromDer(impl_->spki);
  if (!key) {
    return Fail(ErrorCode::kUnsupported,
                "certificate request public key not usable: " + key.error().message());
  }
  return key;
}

Status CertificateRequest::VerifySignature() const {
  EVP_PKEY* pkey = X509_REQ_get0_pubkey(impl_->req.get());
  if (pkey == nullptr) {
    return Fail(OpenSslError("reading the request's public key", ErrorCode::kInvalidInput));
  }
  // X509_REQ_verify re-encodes nothing: it checks the signature over the received
  // CertificationRequestInfo bytes.
  const int r = X509_REQ_verify(impl_->req.get(), pkey);
  if (r != 1) {
    return Fail(OpenSslError("certificate request signature check (RFC 2986 §3)",
                             ErrorCode::kVerifyFailed));
  }
  return Ok();
}

// --------------------------------------------------------------------------- RevocationList

Result<RevocationList> RevocationList::FromDer(ByteView der) {
  auto impl = std::make_shared<Impl>();
  SECPROF_ASSIGN_OR_RETURN(impl->crl,
                           (StrictD2i<X509CrlPtr>(der, d2i_X509_CRL, i2d_X509_CRL, "CRL")));
  const X509_CRL* crl = impl->crl.get();
  impl->der.assign(der.begin(), der.end());
  impl->issuer = ReadName(X509_CRL_get_issuer(crl));
  SECPROF_ASSIGN_OR_RETURN(impl->this_update, FromAsn1Time(X509_CRL_get0_lastUpdate(crl)));
  if (const ASN1_TIME* nu = X509_CRL_get0_nextUpdate(crl)) {
    SECPROF_ASSIGN_OR_RETURN(impl->next_update, FromAsn1Time(nu));
  }
  int crit = 0;
  Asn1IntegerPtr number(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, nullptr)));
  if (!number && crit != -1) {
    return Fail(ErrorCode::kInvalidInput,
                "CRL: malformed or duplicated cRLNumber (RFC 5280 §5.2.3)");
  }
  uint64_t n = 0;
  if (number && ASN1_INTEGER_get_uint64(&n, number.get()) == 1) impl->crl_number = n;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(impl->crl.get());
  for (int i = 0; revoked != nullptr && i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* r = sk_X509_REVOKED_value(revoked, i);
    RevokedEntry e;
    SECPROF_ASSIGN_OR_RETURN(e.serial,
                             FromAsn1Integer(X509_REVOKED_get0_serialNumber(r), "revoked serial"));
    SECPROF_ASSIGN_OR_RETURN(e.revocation_date, FromAsn1Time(X509_REVOKED_get0_revocationDate(r)));
    impl->revoked.push_back(std::move(e));
  }
  ClearOpenSslErrors();
  return RevocationList(std::move(impl));
}

Result<RevocationList> RevocationList::FromPem(std::string_view pem) {
  SECPROF_ASSIGN_OR_RETURN(Bytes der, SinglePemBlock(pem, {"X509 CRL"}));
  return FromDer(der);
}

const Bytes& RevocationList::ToDer() const { return impl_->der; }
std::string RevocationList::ToPem() const { return ToPemText(impl_->der, "X509 CRL"); }
const Name& RevocationList::issuer() const { return impl_->issuer; }
TimePoint RevocationList::this_update() const { return impl_->this_update; }
std::optional<TimePoint> RevocationList::next_update() const { return impl_->next_update; }
std::optional<uint64_t> RevocationList::crl_number() const { return impl_->crl_number; }
const std::vector<RevokedEntry>& RevocationList::revoked() const { return impl_->revoked; }

bool RevocationList::Lists(const Certificate& cert) const {
  return std::any_of(impl_->revoked.begin(), impl_->revoked.end(),
                     [&](const RevokedEntry& e) { return e.serial == cert.serial(); });
}

}  // namespace secprof::identity
