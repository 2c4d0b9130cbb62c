// Creating and checking COSE_Sign1 (RFC 9052 §4), COSE_Mac0 (§6) and COSE_Encrypt0 (§5) with the
// RFC 9053 algorithms. Every primitive is a secprof::crypto call. COSE_Sign and COSE_Encrypt are
// in ops_multi.cpp, the helpers both share in ops_common.cpp.
#include <vector>

#include "ops_internal.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"

namespace secprof::cose {
namespace {

using cbor::Value;
using internal::CheckKey;
using internal::CheckNoClash;
using internal::ContentHeaders;
using internal::IsEcdsaP256;
using internal::MakeContentHeaders;
using internal::MakeProtected;
using internal::PayloadOf;
using internal::SealContent;
using internal::SignatureAlgorithmFor;

Bytes HmacTag(const crypto::Sha256Digest& d, size_t size) {
  return Bytes(d.begin(), d.begin() + size);
}

}  // namespace

// ---- COSE_Sign1 --------------------------------------------------------------------------------

Status SignPrepared(Sign1& m, const Key& key, ByteView external_aad,
                    std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, MessageAlgorithm(m.protected_header, m.unprotected,
                                                               AlgorithmKind::kSignature));
  SECPROF_TRY(CheckKey(alg, key, /*need_private=*/true));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload, PayloadOf(m.payload, detached_payload, "COSE_Sign1"));
  const Bytes tbs = SigStructure1(m.protected_header.for_structure(), external_aad, payload);
  SECPROF_ASSIGN_OR_RETURN(m.signature,
                           key.private_key->Sign(SignatureAlgorithmFor(alg, key), tbs));
  return Ok();
}

Result<Sign1> CreateSign1(const Key& key, ByteView payload, const Sign1Params& params) {
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, LookupAlgorithm(params.alg));
  if (alg.kind != AlgorithmKind::kSignature)
    return Fail(ErrorCode::kInvalidInput, std::string(alg.name) + " is not a signature algorithm");
  Sign1 m;
  SECPROF_ASSIGN_OR_RETURN(m.protected_header, MakeProtected(alg.id, params.protected_extra));
  m.unprotected = params.unprotected;
  SECPROF_TRY(CheckNoClash(m.protected_header, m.unprotected));
  SECPROF_TRY(SignPrepared(m, key, params.external_aad, payload));
  if (!params.detached) m.payload = Bytes(payload.begin(), payload.end());
  return m;
}

Result<Sign1> CreateSign1WithSigner(crypto::Signer& signer, ByteView payload,
                                    const Sign1Params& params) {
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, LookupAlgorithm(params.alg));
  if (alg.kind != AlgorithmKind::kSignature)
    return Fail(ErrorCode::kInvalidInput, std::string(alg.name) + " is not a signature algorithm");
  // RFC 9053 §2.1: ES256 is ECDSA P-256 with SHA-256; §2.2: EdDSA, the curve picks the variant.
  const crypto::SignatureAlgorithm sa = signer.algorithm();
  const bool ecdsa = sa == crypto::SignatureAlgorithm::kEcdsaP256Sha256 ||
                     sa == crypto::SignatureAlgorithm::kEcdsaP256Sha256Der;
  // RFC 9864 §2.1, §2.2: ESP256 carries the same signature as ES256; Ed25519 / Ed448 name the
  // curve that EdDSA leaves to the key.
  const bool fits = ecdsa ? IsEcdsaP256(alg.id)
                    : sa == crypto::SignatureAlgorithm::kEd448
                        ? alg.id == kAlgEdDsa || alg.id == kAlgEd448
                        : alg.id == kAlgEdDsa || alg.id == kAlgEd25519;
  if (!fits)
    return Fail(ErrorCode::kInvalidInput,
                std::string("the signer produces ") + crypto::SignatureAlgorithmName(sa) +
                    " signatures, which COSE algorithm " + alg.name + " cannot carry");
  Sign1 m;
  SECPROF_ASSIGN_OR_RETURN(m.protected_header, MakeProtected(alg.id, params.protected_extra));
  m.unprotected = params.unprotected;
  SECPROF_TRY(CheckNoClash(m.protected_header, m.unprotected));
  const Bytes tbs = SigStructure1(m.protected_header.for_structure(), params.external_aad, payload);
  SECPROF_ASSIGN_OR_RETURN(Bytes sig, signer.Sign(tbs));
  // RFC 9053 §2.1: the COSE form of an ECDSA signature is r || s, never DER.
  if (sa == crypto::SignatureAlgorithm::kEcdsaP256Sha256Der) {
    SECPROF_ASSIGN_OR_RETURN(sig, crypto::EcdsaP256DerToRaw(sig));
  }
  const size_t want_size = ecdsa ? crypto::kP256RawSignatureSize
                           : sa == crypto::SignatureAlgorithm::kEd448
                               ? crypto::kEd448SignatureSize
                               : crypto::kEd25519SignatureSize;
  if (sig.size() != want_size)
    return Fail(ErrorCode::kCrypto, "the signer returned a " + std::to_string(sig.size()) +
                                        "-byte " + crypto::SignatureAlgorithmName(sa) +
                                        " signature, not " + std::to_string(want_size));
  m.signature = std::move(sig);
  if (!params.detached) m.payload = Bytes(payload.begin(), payload.end());
  return m;
}

Status VerifySign1(const Sign1& msg, const Key& key, ByteView external_aad,
                   std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(
      AlgorithmInfo alg,
      MessageAlgorithm(msg.protected_header, msg.unprotected, AlgorithmKind::kSignature));
  SECPROF_TRY(CheckKey(alg, key, /*need_private=*/false));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload,
                           PayloadOf(msg.payload, detached_payload, "COSE_Sign1"));
  const Bytes tbs = SigStructure1(msg.protected_header.for_structure(), external_aad, payload);
  auto st = key.public_key->Verify(SignatureAlgorithmFor(alg, key), tbs, msg.signature);
  if (!st) {
    if (st.error().code() == ErrorCode::kVerifyFailed)
      return Fail(ErrorCode::kVerifyFailed,
                  std::string("COSE_Sign1 ") + alg.name + " signature does not verify");
    return Fail(st.error().WithContext("COSE_Sign1"));
  }
  return Ok();
}

// ---- COSE_Mac0 ---------------------------------------------------------------------------------

Status MacPrepared(Mac0& m, const Key& key, ByteView external_aad,
                   std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(
      AlgorithmInfo alg, MessageAlgorithm(m.protected_header, m.unprotected, AlgorithmKind::kMac));
  SECPROF_TRY(CheckKey(alg, key, true));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload, PayloadOf(m.payload, detached_payload, "COSE_Mac0"));
  const Bytes tbm = MacStructure0(m.protected_header.for_structure(), external_aad, payload);
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::HmacSha256(*key.secret, tbm));
  m.tag = HmacTag(d, alg.tag_size);  // RFC 9053 §3.1: truncated to the leftmost bits
  return Ok();
}

Result<Mac0> CreateMac0(const Key& key, ByteView payload, const Mac0Params& params) {
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, LookupAlgorithm(params.alg));
  if (alg.kind != AlgorithmKind::kMac)
    return Fail(ErrorCode::kInvalidInput, std::string(alg.name) + " is not a MAC algorithm");
  Mac0 m;
  SECPROF_ASSIGN_OR_RETURN(m.protected_header, MakeProtected(alg.id, params.protected_extra));
  m.unprotected = params.unprotected;
  SECPROF_TRY(CheckNoClash(m.protected_header, m.unprotected));
  SECPROF_TRY(MacPrepared(m, key, params.external_aad, payload));
  if (!params.detached) m.payload = Bytes(payload.begin(), payload.end());
  return m;
}

Status VerifyMac0(const Mac0& msg, const Key& key, ByteView external_aad,
                  std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(
      AlgorithmInfo alg,
      MessageAlgorithm(msg.protected_header, msg.unprotected, AlgorithmKind::kMac));
  SECPROF_TRY(CheckKey(alg, key, false));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload, PayloadOf(msg.payload, detached_payload, "COSE_Mac0"));
  const Bytes tbm = MacStructure0(msg.protected_header.for_structure(), external_aad, payload);
  auto st = crypto::HmacSha256Verify(*key.secret, tbm, msg.tag, alg.tag_size);
  if (!st) {
    if (st.error().code() == ErrorCode::kVerifyFailed)
      return Fail(ErrorCode::kVerifyFailed,
                  std::string("COSE_Mac0 ") + alg.name + " tag does not verify");
    return Fail(st.error().WithContext("COSE_Mac0"));
  }
  return Ok();
}

// ---- COSE_Encrypt0 -----------------------------------------------------------------------------

Status EncryptPrepared(Encrypt0& m, const Key& key, ByteView plaintext, ByteView external_aad) {
  // RFC 9052 §5.3: Enc_structure with the context "Encrypt0".
  SECPROF_ASSIGN_OR_RETURN(m.ciphertext,
                           SealContent(m.protected_header, m.unprotected, key, plaintext,
                                       [&](ByteView p) { return EncStructure0(p, external_aad); }));
  return Ok();
}

Result<Encrypt0> CreateEncrypt0(const Key& key, ByteView plaintext, const Encrypt0Params& params,
                                crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(
      ContentHeaders h,
      MakeContentHeaders(params.alg, params.protected_extra, params.unprotected, params.iv, rng));
  Encrypt0 m;
  m.protected_header = std::move(h.protected_header);
  m.unprotected = std::move(h.unprotected);
  SECPROF_TRY(EncryptPrepared(m, key, plaintext, params.external_aad));
  return m;
}

Result<Bytes> DecryptEncrypt0(const Encrypt0& msg, const Key& key, ByteView external_aad,
                              std::optional<ByteView> detached_ciphertext) {
  SECPROF_ASSIGN_OR_RETURN(
      AlgorithmInfo alg,
      MessageAlgorithm(msg.protected_header, msg.unprotected, AlgorithmKind::kContentEncryption));
  SECPROF_TRY(CheckKey(alg, key, true));
  SECPROF_ASSIGN_OR_RETURN(ByteView ct,
                           PayloadOf(msg.ciphertext, detached_ciphertext, "COSE_Encrypt0"));
  const Bytes aad = EncStructure0(msg.protected_header.for_structure(), external_aad);
  return internal::OpenContent(alg, msg.protected_header, msg.unprotected, key, aad, ct,
                               "COSE_Encrypt0");
}

}  // namespace secprof::cose
