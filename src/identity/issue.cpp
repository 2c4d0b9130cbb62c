// Issuance: CA certificates, IDevIDs (IEEE 802.1AR-2018 §8), PKCS#10 requests (RFC 2986),
// LDevIDs, CRLs (RFC 5280 §5). docs/IDENTITY.md describes the profiles.
//
// How signing works without an EVP_PKEY for the CA key (which may live in a PKCS#11 token):
// OpenSSL builds and encodes the to-be-signed structure, crypto::Signer signs those bytes, and
// the outer SEQUENCE { tbs, signatureAlgorithm, signatureValue } is assembled here
// (internal::AssembleSigned) and parsed back strictly. OpenSSL 3.0 has no public setter for the
// signature fields of an X509 or X509_CRL, so:
//   - certificates: the TBSCertificate's own `signature` AlgorithmIdentifier is written through
//     X509_get0_tbs_sigalg on the X509 this function created and still owns exclusively, then
//     the TBS is encoded with i2d_re_X509_tbs;
//   - CRLs: TBSCertList (RFC 5280 §5.1) is assembled from OpenSSL-encoded parts.
#include <openssl/objects.h>

#include <algorithm>

#include "internal.h"

namespace secprof::identity {

using namespace internal;

namespace {

// What a certificate built by Build() contains.
struct CertSpec {
  Name subject;
  const Certificate* issuer = nullptr;  // nullptr: self-signed
  const crypto::PublicKey* subject_key = nullptr;
  TimePoint not_before;
  TimePoint not_after;
  bool ca = false;
  std::optional<int> path_len;
  uint32_t key_usage = 0;
  std::vector<std::string> eku;  // extendedKeyUsage KeyPurposeIds; empty: no extension
  std::optional<HardwareModuleName> hwmn;
  std::vector<std::string> policy_oids;  // certificatePolicies, none when empty
};

// RFC 5280 §4.1.2.2: positive, unique per CA, at most 20 octets; CA/B Forum practice and
// RFC 5280 §4.1.2.2's non-guessability advice: 128 random bits. Leading zero octets are
// dropped (the value is the integer), and an all-zero draw is retried.
Result<Bytes> RandomSerial(crypto::Random& rng) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    SECPROF_ASSIGN_OR_RETURN(Bytes b, rng.Draw(16));
    auto nz = std::find_if(b.begin(), b.end(), [](uint8_t c) { return c != 0; });
    if (nz != b.end()) return Bytes(nz, b.end());
  }
  return Fail(ErrorCode::kCrypto, "random serial number is zero repeatedly");
}

Status AddExt(X509* x, int nid, void* value, bool critical, const char* what) {
  if (X509_add1_ext_i2d(x, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
    return Fail(OpenSslError(std::string("adding ") + what));
  }
  return Ok();
}

// certificatePolicies with one PolicyInformation per OID, without qualifiers (RFC 5280 §4.2.1.4).
Status AddPolicies(X509* x, const std::vector<std::string>& oids) {
  CertificatePoliciesPtr policies(CERTIFICATEPOLICIES_new());
  if (!policies) return Fail(OpenSslError("CERTIFICATEPOLICIES_new"));
  for (const auto& oid : oids) {
    POLICYINFO* info = POLICYINFO_new();
    if (!info) return Fail(OpenSslError("POLICYINFO_new"));
    ASN1_OBJECT_free(info->policyid);
    info->policyid = OBJ_txt2obj(oid.c_str(), 1);  // 1: dotted numbers only, no names
    if (!info->policyid || sk_POLICYINFO_push(policies.get(), info) <= 0) {
      POLICYINFO_free(info);
      return Fail(ErrorCode::kInvalidInput, "certificatePolicies: bad policy OID '" + oid + "'");
    }
  }
  return AddExt(x, NID_certificate_policies, policies.get(), false, "certificatePolicies");
}

Result<Asn1OctetStringPtr> OctetString(ByteView b) {
  Asn1OctetStringPtr os(ASN1_OCTET_STRING_new());
  if (!os || ASN1_OCTET_STRING_set(os.get(), b.data(), static_cast<int>(b.size())) != 1) {
    return Fail(OpenSslError("ASN1_OCTET_STRING_set"));
  }
  return os;
}

Result<AuthorityKeyIdPtr> MakeAki(ByteView key_id) {
  AuthorityKeyIdPtr akid(AUTHORITY_KEYID_new());
  if (!akid) return Fail(OpenSslError("AUTHORITY_KEYID_new"));
  SECPROF_ASSIGN_OR_RETURN(Asn1OctetStringPtr os, OctetString(key_id));
  akid->keyid = os.release();
  return akid;
}

// The issuer's key identifier for authorityKeyIdentifier (RFC 5280 §4.2.1.1): its SKI, or one
// computed from its key when it has none.
Result<Bytes> IssuerKeyId(const Certificate& issuer) {
  if (!issuer.subject_key_id().empty()) return issuer.subject_key_id();
  return KeyIdentifier(X509_get_X509_PUBKEY(Access::Get(issuer)));
}

// The signer must hold the key of `ca_cert`, and `ca_cert` must be allowed to sign what we are
// about to sign (RFC 5280 §4.2.1.9 cA, §4.2.1.3 keyCertSign / cRLSign).
Status CheckIssuer(const crypto::Signer& signer, const Certificate& ca_cert, uint32_t needed_bit,
                   const char* needed_name) {
  if (!ca_cert.is_ca()) {
    return Fail(ErrorCode::kInvalidInput, "issuer certificate is not a CA (basicConstraints)");
  }
  if (ca_cert.key_usage() && (*ca_cert.key_usage() & needed_bit) == 0) {
    return Fail(ErrorCode::kInvalidInput,
                std::string("issuer certificate's keyUsage lacks ") + needed_name);
  }
  if (!ca_cert.MatchesPublicKey(signer.public_key())) {
    return Fail(ErrorCode::kInvalidInput, "the signer's key is not the issuer certificate's key");
  }
  return Ok();
}

Result<Certificate> Build(crypto::Signer& signer, const CertSpec& spec, crypto::Random& rng) {
  if (spec.not_after <= spec.not_before) {
    return Fail(ErrorCode::kInvalidInput, "validity: notAfter must be after notBefore");
  }
  X509Ptr x(X509_new());
  if (!x) return Fail(OpenSslError("X509_new"));
  if (X509_set_version(x.get(), X509_VERSION_3) != 1) return Fail(OpenSslError("X509_set_version"));

  SECPROF_ASSIGN_OR_RETURN(Bytes serial, RandomSerial(rng));
  SECPROF_ASSIGN_OR_RETURN(Asn1IntegerPtr serial_int, MakeInteger(serial));
  if (X509_set_serialNumber(x.get(), serial_int.get()) != 1) {
    return Fail(OpenSslError("X509_set_serialNumber"));
  }

  SECPROF_ASSIGN_OR_RETURN(X509NamePtr subject, MakeName(spec.subject));
  if (X509_NAME_entry_count(subject.get()) == 0) {
    return Fail(ErrorCode::kInvalidInput, "subject name is empty");
  }
  const X509_NAME* issuer_name =
      spec.issuer ? X509_get_subject_name(Access::Get(*spec.issuer)) : subject.get();
  if (X509_set_subject_name(x.get(), subject.get()) != 1 ||
      X509_set_issuer_name(x.get(), issuer_name) != 1) {
    return Fail(OpenSslError("setting the names"));
  }

  SECPROF_ASSIGN_OR_RETURN(Asn1TimePtr nb, MakeTime(spec.not_before));
  SECPROF_ASSIGN_OR_RETURN(Asn1TimePtr na, MakeTime(spec.not_after));
  if (X509_set1_notBefore(x.get(), nb.get()) != 1 || X509_set1_notAfter(x.get(), na.get()) != 1) {
    return Fail(OpenSslError("setting the validity"));
  }

  SECPROF_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, ToEvp(*spec.subject_key));
  if (X509_set_pubkey(x.get(), pkey.get()) != 1) return Fail(OpenSslError("X509_set_pubkey"));

  // basicConstraints (RFC 5280 §4.2.1.9): critical in CA certificates; absent in end-entity
  // certificates (802.1AR-2018 §8 lists it for CA certificates only; absence means cA = FALSE).
  if (spec.ca) {
    BasicConstraintsPtr bc(BASIC_CONSTRAINTS_new());
    if (!bc) return Fail(OpenSslError("BASIC_CONSTRAINTS_new"));
    bc->ca = 0xff;  // ASN1_BOOLEAN TRUE
    if (spec.path_len) {
      bc->pathlen = ASN1_INTEGER_new();
      if (bc->pathlen == nullptr || ASN1_INTEGER_set(bc->pathlen, *spec.path_len) != 1) {
        return Fail(OpenSslError("pathLenConstraint"));
      }
    }
    SECPROF_TRY(AddExt(x.get(), NID_basic_constraints, bc.get(), true, "basicConstraints"));
  }
  // keyUsage (RFC 5280 §4.2.1.3), critical.
  {
    Asn1BitStringPtr ku(ASN1_BIT_STRING_new());
    if (!ku) return Fail(OpenSslError("ASN1_BIT_STRING_new"));
    for (int bit = 0; bit < 9; ++bit) {
      if ((spec.key_usage & (1u << bit)) && ASN1_BIT_STRING_set_bit(ku.get(), bit, 1) != 1) {
        return Fail(OpenSslError("keyUsage"));
      }
    }
    SECPROF_TRY(AddExt(x.get(), NID_key_usage, ku.get(), true, "keyUsage"));
  }
  // extendedKeyUsage (§4.2.1.12), non-critical: the end entity's role (docs/DOMAIN.md "Roles and
  // anchors").
  if (!spec.eku.empty()) {
    ExtendedKeyUsagePtr eku(sk_ASN1_OBJECT_new_null());
    if (!eku) return Fail(OpenSslError("sk_ASN1_OBJECT_new_null"));
    for (const std::string& oid : spec.eku) {
      Asn1ObjectPtr obj(OBJ_txt2obj(oid.c_str(), 1));
      if (!obj) return Fail(ErrorCode::kInvalidInput, "extendedKeyUsage: bad OID " + oid);
      if (sk_ASN1_OBJECT_push(eku.get(), obj.get()) <= 0) {
        return Fail(OpenSslError("sk_ASN1_OBJECT_push"));
      }
      obj.release();  // owned by `eku` now
    }
    SECPROF_TRY(AddExt(x.get(), NID_ext_key_usage, eku.get(), false, "extendedKeyUsage"));
  }
  // subjectKeyIdentifier (§4.2.1.2, RFC 7093 §2 method 1) and authorityKeyIdentifier (§4.2.1.1;
  // also in self-signed certificates, where it equals the SKI, as §4.2.1.1 permits).
  SECPROF_ASSIGN_OR_RETURN(Bytes ski, KeyIdentifier(X509_get_X509_PUBKEY(x.get())));
  {
    SECPROF_ASSIGN_OR_RETURN(Asn1OctetStringPtr os, OctetString(ski));
    SECPROF_TRY(
        AddExt(x.get(), NID_subject_key_identifier, os.get(), false, "subjectKeyIdentifier"));
  }
  {
    Bytes aki = ski;
    if (spec.issuer) {
      SECPROF_ASSIGN_OR_RETURN(aki, IssuerKeyId(*spec.issuer));
    }
    SECPROF_ASSIGN_OR_RETURN(AuthorityKeyIdPtr akid, MakeAki(aki));
    SECPROF_TRY(
        AddExt(x.get(), NID_authority_key_identifier, akid.get(), false, "authorityKeyIdentifier"));
  }
  // subjectAltName with the hardwareModuleName otherName (802.1AR-2018 §8, subjectAltName; RFC 4108
  // §5). Not critical: the subject is never empty here (RFC 5280 §4.2.1.6).
  if (spec.hwmn) {
    SECPROF_ASSIGN_OR_RETURN(Asn1TypePtr value, EncodeHardwareModuleName(*spec.hwmn));
    Asn1ObjectPtr type_id(OBJ_dup(HardwareModuleNameOid()));
    GeneralNamePtr gn(GENERAL_NAME_new());
    GeneralNamesPtr names(GENERAL_NAMES_new());
    if (!type_id || !gn || !names) return Fail(OpenSslError("building subjectAltName"));
    // set0: the GENERAL_NAME takes ownership of both on success.
    if (GENERAL_NAME_set0_othername(gn.get(), type_id.get(), value.get()) != 1) {
      return Fail(OpenSslError("GENERAL_NAME_set0_othername"));
    }
    type_id.release();
    value.release();
    if (sk_GENERAL_NAME_push(names.get(), gn.get()) <= 0) {
      return Fail(OpenSslError("sk_GENERAL_NAME_push"));
    }
    gn.release();  // owned by `names` now
    SECPROF_TRY(AddExt(x.get(), NID_subject_alt_name, names.get(), false, "subjectAltName"));
  }

  // certificatePolicies (RFC 5280 §4.2.1.4): policyIdentifiers only, not critical.
  if (!spec.policy_oids.empty()) SECPROF_TRY(AddPolicies(x.get(), spec.policy_oids));

  // The TBSCertificate's signature field (§4.1.2.3) must equal signatureAlgorithm (§4.1.1.2).
  SECPROF_ASSIGN_OR_RETURN(X509AlgorPtr alg, SignatureAlgorithmFor(signer));
  // X509_get0_tbs_sigalg points into `x`, which this function created and owns exclusively.
  auto* tbs_alg = const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(x.get()));
  if (X509_ALGOR_copy(tbs_alg, alg.get()) != 1) return Fail(OpenSslError("X509_ALGOR_copy"));
  SECPROF_ASSIGN_OR_RETURN(Bytes tbs, EncodeDer(x.get(), i2d_re_X509_tbs, "TBSCertificate"));
  SECPROF_ASSIGN_OR_RETURN(Bytes sig, SignForX509(signer, tbs));
  SECPROF_ASSIGN_OR_RETURN(Bytes der, AssembleSigned(tbs, alg.get(), sig));
  auto cert = Certificate::FromDer(der);
  if (!cert) return Fail(cert.error().WithContext("internal: issued certificate does not parse"));
  return cert;
}

Result<Certificate> CreateRoot(crypto::Signer& ca_key, const CaOptions& options, const Clock& clock,
                               crypto::Random& rng) {
  if (options.organization.empty()) {
    return Fail(ErrorCode::kInvalidInput, "CA options: organization is required");
  }
  if (options.path_len < 0 || options.path_len > 8) {
    return Fail(ErrorCode::kInvalidInput, "CA options: path_len must be 0..8");
  }
  CertSpec spec;
  spec.subject.organization = options.organization;
  spec.subject.common_name =
      options.common_name.empty() ? options.organization + " Root CA" : options.common_name;
  spec.subject_key = &ca_key.public_key();
  spec.not_before = Now(clock);
  spec.not_after =
      options.never_expires ? kNoWellDefinedExpiration : spec.not_before + options.lifetime;
  spec.ca = true;
  spec.path_len = options.path_len;
  spec.key_usage = key_usage::kKeyCertSign | key_usage::kCrlSign;
  return Build(ca_key, spec, rng);
}

uint32_t EndEntityKeyUsage(bool key_agreement) {
  return key_usage::kDigitalSignature | (key_agreement ? key_usage::kKeyAgreement : 0);
}

// The 2.25 arc (ITU-T X.667): an OID made from a UUID needs no registration. Here the UUID is
// version 8 (RFC 9562 §5.8, custom) over SHA-256 of vendor and model.
Result<std::string> DerivedHwType(const std::string& vendor, const std::string& model) {
  std::string input = "secprof hwType";
  input.push_back('\0');
  input += vendor;
  input.push_back('\0');
  input += model;
  SECPROF_ASSIGN_OR_RETURN(
      crypto::Sha256Digest d,
      crypto::Sha256(ByteView(reinterpret_cast<const uint8_t*>(input.data()), input.size())));
  uint8_t uuid[16];
  std::copy(d.begin(), d.begin() + 16, uuid);
  uuid[6] = static_cast<uint8_t>((uuid[6] & 0x0f) | 0x80);  // version 8
  uuid[8] = static_cast<uint8_t>((uuid[8] & 0x3f) | 0x80);  // variant 10xx (RFC 9562 §4.1)
  BnPtr bn(BN_bin2bn(uuid, sizeof(uuid), nullptr));
  if (!bn) return Fail(OpenSslError("BN_bin2bn"));
  char* dec = BN_bn2dec(bn.get());
  if (dec == nullptr) return Fail(OpenSslError("BN_bn2dec"));
  OpenSslBytesPtr owned(reinterpret_cast<unsigned char*>(dec));
  return "2.25." + std::string(dec);
}

}  // namespace

Result<Certificate> CreateVendorCa(crypto::Signer& ca_key, const CaOptions& options,
                                   const Clock& clock, crypto::Random& rng) {
  return CreateRoot(ca_key, options, clock, rng);
}

Result<Certificate> CreateDomainCa(crypto::Signer& ca_key, const CaOptions& options,
                                   const Clock& clock, crypto::Random& rng) {
  return CreateRoot(ca_key, options, clock, rng);
}

Result<Certificate> IssueIntermediateCa(crypto::Signer& issuer_key, const Certificate& issuer_cert,
                                        const crypto::PublicKey& subject_key,
                                        const CaOptions& options, const Clock& clock,
                                        crypto::Random& rng) {
  SECPROF_TRY(CheckIssuer(issuer_key, issuer_cert, key_usage::kKeyCertSign, "keyCertSign"));
  if (options.organization.empty()) {
    return Fail(ErrorCode::kInvalidInput, "CA options: organization is required");
  }
  // RFC 5280 §4.2.1.9: pathLenConstraint bounds the CA certificates that may follow.
  if (options.path_len < 0 ||
      (issuer_cert.path_len() && options.path_len >= *issuer_cert.path_len())) {
    return Fail(ErrorCode::kInvalidInput,
                "CA options: path_len must be below the issuer's pathLenConstraint");
  }
  CertSpec spec;
  spec.subject.organization = options.organization;
  spec.subject.common_name =
      options.common_name.empty() ? options.organization + " Issuing CA" : options.common_name;
  spec.issuer = &issuer_cert;
  spec.subject_key = &subject_key;
  spec.not_before = Now(clock);
  spec.not_after =
      options.never_expires ? kNoWellDefinedExpiration : spec.not_before + options.lifetime;
  spec.ca = true;
  spec.path_len = options.path_len;
  spec.key_usage = key_usage::kKeyCertSign | key_usage::kCrlSign;
  return Build(issuer_key, spec, rng);
}

Result<Certificate> IssueIdevid(crypto::Signer& ca_key, const Certificate& ca_cert,
                                const crypto::PublicKey& device_key, const IdevidRequest& request,
                                const Clock& clock, crypto::Random& rng) {
  SECPROF_TRY(CheckIssuer(ca_key, ca_cert, key_usage::kKeyCertSign, "keyCertSign"));
  if (request.serial_number.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "IDevID: serial_number is required (802.1AR-2018 §8, subject)");
  }
  if (request.model.empty()) return Fail(ErrorCode::kInvalidInput, "IDevID: model is required");
  if (device_key.type() != crypto::KeyType::kP256 &&
      device_key.type() != crypto::KeyType::kEd25519 &&
      device_key.type() != crypto::KeyType::kEd448) {
    return Fail(ErrorCode::kInvalidInput, "IDevID: the device key must be able to sign");
  }
  CertSpec spec;
  spec.subject.serial_number = request.serial_number;
  spec.subject.organization =
      request.vendor.empty() ? ca_cert.subject().organization : request.vendor;
  spec.subject.organizational_unit = request.model;
  spec.subject.common_name = request.common_name.empty()
                                 ? request.model + " " + request.serial_number
                                 : request.common_name;
  spec.issuer = &ca_cert;
  spec.subject_key = &device_key;
  spec.not_before = Now(clock);
  spec.not_after = request.not_after.value_or(kNoWellDefinedExpiration);
  spec.key_usage = EndEntityKeyUsage(request.key_agreement);
  if (request.hardware_module_name) {
    HardwareModuleName hwmn;
    if (request.hw_type.empty()) {
      SECPROF_ASSIGN_OR_RETURN(hwmn.hw_type,
                               DerivedHwType(spec.subject.organization, request.model));
    } else {
      hwmn.hw_type = request.hw_type;
    }
    hwmn.hw_serial_num.assign(request.serial_number.begin(), request.serial_number.end());
    spec.hwmn = std::move(hwmn);
  }
  spec.policy_oids = request.policy_oids;
  return Build(ca_key, spec, rng);
}

Result<CertificateRequest> CreateRequest(crypto::Signer& key, const Name& subject) {
  X509ReqPtr req(X509_REQ_new());
  if (!req) return Fail(OpenSslError("X509_REQ_new"));
  if (X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return Fail(OpenSslError("X509_REQ_set_version"));
  }
  SECPROF_ASSIGN_OR_RETURN(X509NamePtr name, MakeName(subject));
  if (X509_NAME_entry_count(name.get()) == 0) {
    return Fail(ErrorCode::kInvalidInput, "request subject is empty");
  }
  if (X509_REQ_set_subject_name(req.get(), name.get()) != 1) {
    return Fail(OpenSslError("X509_REQ_set_subject_name"));
  }
  SECPROF_ASSIGN_OR_RETURN(EvpPkeyPtr pkey, ToEvp(key.public_key()));
  if (X509_REQ_set_pubkey(req.get(), pkey.get()) != 1) {
    return Fail(OpenSslError("X509_REQ_set_pubkey"));
  }
  // RFC 2986 §4.2: the signature is over the DER CertificationRequestInfo.
  SECPROF_ASSIGN_OR_RETURN(Bytes tbs,
                           EncodeDer(req.get(), i2d_re_X509_REQ_tbs, "CertificationRequestInfo"));
  SECPROF_ASSIGN_OR_RETURN(X509AlgorPtr alg, SignatureAlgorithmFor(key));
  SECPROF_ASSIGN_OR_RETURN(Bytes sig, SignForX509(key, tbs));
  SECPROF_ASSIGN_OR_RETURN(Bytes der, AssembleSigned(tbs, alg.get(), sig));
  auto out = CertificateRequest::FromDer(der);
  if (!out) return Fail(out.error().WithContext("internal: created request does not parse"));
  return out;
}

Result<Certificate> IssueLdevid(crypto::Signer& ca_key, const Certificate& ca_cert,
                                const CertificateRequest& csr, const LdevidPolicy& policy,
                                const Clock& clock, crypto::Random& rng) {
  SECPROF_TRY(CheckIssuer(ca_key, ca_cert, key_usage::kKeyCertSign, "keyCertSign"));
  if (policy.validity <= std::chrono::seconds::zero()) {
    return Fail(ErrorCode::kInvalidInput, "LDevID policy: validity must be positive");
  }
  // Proof of possession first (RFC 2986 §3): nothing of an unverified request is used.
  SECPROF_TRY(csr.VerifySignature());
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey key, csr.public_key());
  if (key.type() != crypto::KeyType::kP256 && key.type() != crypto::KeyType::kEd25519 &&
      key.type() != crypto::KeyType::kEd448) {
    return Fail(ErrorCode::kUnsupported, "LDevID: request key must be P-256, Ed25519 or Ed448");
  }
  const Name& asked = csr.subject();
  if (policy.expected_serial_number && asked.serial_number != *policy.expected_serial_number) {
    return Fail(ErrorCode::kVerifyFailed, "LDevID: request serialNumber \"" + asked.serial_number +
                                              "\" is not the expected \"" +
                                              *policy.expected_serial_number + "\"");
  }
  CertSpec spec;
  if (policy.copy_common_name) spec.subject.common_name = asked.common_name;
  if (policy.copy_serial_number) spec.subject.serial_number = asked.serial_number;
  spec.subject.organization =
      policy.organization.empty() ? ca_cert.subject().organization : policy.organization;
  spec.issuer = &ca_cert;
  spec.subject_key = &key;
  spec.not_before = Now(clock);
  spec.not_after = spec.not_before + policy.validity;
  spec.key_usage = EndEntityKeyUsage(policy.key_agreement);
  spec.eku = policy.extended_key_usage;
  return Build(ca_key, spec, rng);
}

Result<RevocationList> IssueCrl(crypto::Signer& ca_key, const Certificate& ca_cert,
                                std::span<const RevokedEntry> revoked, const CrlOptions& options,
                                const Clock& clock) {
  SECPROF_TRY(CheckIssuer(ca_key, ca_cert, key_usage::kCrlSign, "cRLSign"));
  if (options.next_update <= std::chrono::seconds::zero()) {
    return Fail(ErrorCode::kInvalidInput, "CRL options: next_update must be positive");
  }
  const TimePoint now = Now(clock);
  SECPROF_ASSIGN_OR_RETURN(X509AlgorPtr alg, SignatureAlgorithmFor(ca_key));
  SECPROF_ASSIGN_OR_RETURN(Bytes alg_der,
                           EncodeDer(alg.get(), i2d_X509_ALGOR, "AlgorithmIdentifier"));
  SECPROF_ASSIGN_OR_RETURN(Bytes issuer_der, EncodeDer(X509_get_subject_name(Access::Get(ca_cert)),
                                                       i2d_X509_NAME, "issuer name"));
  SECPROF_ASSIGN_OR_RETURN(Asn1TimePtr this_update, MakeTime(now));
  SECPROF_ASSIGN_OR_RETURN(Asn1TimePtr next_update, MakeTime(now + options.next_update));
  SECPROF_ASSIGN_OR_RETURN(Bytes this_der,
                           EncodeDer(this_update.get(), i2d_ASN1_TIME, "thisUpdate"));
  SECPROF_ASSIGN_OR_RETURN(Bytes next_der,
                           EncodeDer(next_update.get(), i2d_ASN1_TIME, "nextUpdate"));

  // TBSCertList, RFC 5280 §5.1.2: version v2, signature, issuer, thisUpdate, nextUpdate,
  // revokedCertificates (omitted when empty, §5.1.2.6), [0] crlExtensions.
  Bytes tbs_body;
  const uint8_t v2[] = {0x01};
  AppendTlv(tbs_body, kTagInteger, v2);
  for (const Bytes* part : {&alg_der, &issuer_der, &this_der, &next_der}) {
    tbs_body.insert(tbs_body.end(), part->begin(), part->end());
  }
  if (!revoked.empty()) {
    Bytes list;
    for (const RevokedEntry& e : revoked) {
      SECPROF_ASSIGN_OR_RETURN(Asn1IntegerPtr serial, MakeInteger(e.serial));
      SECPROF_ASSIGN_OR_RETURN(Asn1TimePtr date, MakeTime(e.revocation_date));
      SECPROF_ASSIGN_OR_RETURN(Bytes serial_der,
                               EncodeDer(serial.get(), i2d_ASN1_INTEGER, "userCertificate"));
      SECPROF_ASSIGN_OR_RETURN(Bytes date_der,
                               EncodeDer(date.get(), i2d_ASN1_TIME, "revocationDate"));
      Bytes entry = serial_der;
      entry.insert(entry.end(), date_der.begin(), date_der.end());
      AppendTlv(list, kTagSequence, entry);
    }
    AppendTlv(tbs_body, kTagSequence, list);
  }
  {
    // authorityKeyIdentifier (§5.2.1, MUST) and cRLNumber (§5.2.3, MUST), both non-critical.
    SECPROF_ASSIGN_OR_RETURN(Bytes key_id, IssuerKeyId(ca_cert));
    SECPROF_ASSIGN_OR_RETURN(AuthorityKeyIdPtr akid, MakeAki(key_id));
    Asn1IntegerPtr number(ASN1_INTEGER_new());
    if (!number || ASN1_INTEGER_set_uint64(number.get(), options.crl_number) != 1) {
      return Fail(OpenSslError("cRLNumber"));
    }
    X509ExtensionPtr aki_ext(X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid.get()));
    X509ExtensionPtr num_ext(X509V3_EXT_i2d(NID_crl_number, 0, number.get()));
    if (!aki_ext || !num_ext) return Fail(OpenSslError("encoding CRL extensions"));
    Bytes exts;
    for (const X509_EXTENSION* ext : {aki_ext.get(), num_ext.get()}) {
      SECPROF_ASSIGN_OR_RETURN(Bytes d, EncodeDer(ext, i2d_X509_EXTENSION, "CRL extension"));
      exts.insert(exts.end(), d.begin(), d.end());
    }
    AppendTlv(tbs_body, kTagContext0, Tlv(kTagSequence, exts));
  }
  const Bytes tbs = Tlv(kTagSequence, tbs_body);
  SECPROF_ASSIGN_OR_RETURN(Bytes sig, SignForX509(ca_key, tbs));
  SECPROF_ASSIGN_OR_RETURN(Bytes der, AssembleSigned(tbs, alg.get(), sig));
  auto crl = RevocationList::FromDer(der);
  if (!crl) return Fail(crl.error().WithContext("internal: issued CRL does not parse"));
  return crl;
}

}  // namespace secprof::identity
