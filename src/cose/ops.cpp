// Creating and checking COSE_Sign1 (RFC 9052 §4), COSE_Mac0 (§6) and COSE_Encrypt0 (§5) with
// the RFC 9053 algorithms. Every primitive is a secprof::crypto call.
#include "secprof/cose/cose.h"
#include "secprof/crypto/aead.h"
#include "secprof/crypto/hash.h"

namespace secprof::cose {
namespace {

using cbor::Value;

constexpr size_t kMinHmacKeySize = 32;  // the hash length (RFC 2104 §3: shorter is discouraged)

Error KeyMismatch(const AlgorithmInfo& alg, const Key& key, const std::string& why) {
  return Error(ErrorCode::kVerifyFailed, std::string("key ") + key.Describe() +
                                             " cannot be used with " + alg.name + ": " + why);
}

// RFC 9052 §7.1: a key's alg, when present, restricts it to that algorithm; RFC 9053 §2, §3,
// §4 give the key type each algorithm needs.
Status CheckKey(const AlgorithmInfo& alg, const Key& key, bool need_private) {
  if (key.alg && *key.alg != alg.id)
    return Fail(
        KeyMismatch(alg, key, "the key is restricted to algorithm " + std::to_string(*key.alg)));
  switch (alg.kind) {
    case AlgorithmKind::kSignature: {
      const bool ok = alg.id == kAlgEs256 ? key.kty == KeyType::kEc2 && key.crv == Curve::kP256
                                          : key.kty == KeyType::kOkp && key.crv == Curve::kEd25519;
      if (!ok)
        return Fail(KeyMismatch(alg, key,
                                alg.id == kAlgEs256 ? "ES256 needs an EC2 P-256 key"
                                                    : "EdDSA needs an OKP Ed25519 key"));
      if (!key.public_key) return Fail(KeyMismatch(alg, key, "no public key"));
      if (need_private && !key.private_key) return Fail(KeyMismatch(alg, key, "no private key"));
      return Ok();
    }
    case AlgorithmKind::kMac:
      if (key.kty != KeyType::kSymmetric || !key.secret)
        return Fail(KeyMismatch(alg, key, "HMAC needs a symmetric key"));
      if (key.secret->size() < kMinHmacKeySize)
        return Fail(KeyMismatch(alg, key, "an HMAC-SHA256 key must have at least 32 bytes"));
      return Ok();
    case AlgorithmKind::kContentEncryption:
      if (key.kty != KeyType::kSymmetric || !key.secret)
        return Fail(KeyMismatch(alg, key, "content encryption needs a symmetric key"));
      if (key.secret->size() != alg.key_size)
        return Fail(KeyMismatch(alg, key,
                                "the key must have " + std::to_string(alg.key_size) +
                                    " bytes, not " + std::to_string(key.secret->size())));
      return Ok();
  }
  return Fail(ErrorCode::kInternal, "unknown algorithm kind");
}

crypto::SignatureAlgorithm SignatureAlgorithmFor(const AlgorithmInfo& alg) {
  return alg.id == kAlgEs256 ? crypto::SignatureAlgorithm::kEcdsaP256Sha256
                             : crypto::SignatureAlgorithm::kEd25519;
}

Result<ByteView> PayloadOf(const std::optional<Bytes>& carried, std::optional<ByteView> detached,
                           const char* name) {
  if (carried) return ByteView(*carried);
  if (detached) return *detached;
  return Fail(ErrorCode::kInvalidInput,
              std::string(name) + " has a detached payload (nil) and none was supplied");
}

// alg first, then the caller's other protected parameters in their order.
Result<ProtectedHeader> MakeProtected(int64_t alg, const HeaderMap& extra) {
  Value map = Value::Map({{Value::Int(label::kAlg), Value::Int(alg)}});
  for (const auto& [k, v] : extra.value().map())
    if (!(k == Value::Int(label::kAlg))) map.map().emplace_back(k, v);
  SECPROF_ASSIGN_OR_RETURN(HeaderMap m, HeaderMap::FromValue(map));
  return ProtectedHeader::FromMap(std::move(m));
}

Status CheckNoClash(const ProtectedHeader& p, const HeaderMap& u) {
  for (const auto& [k, v] : u.value().map())
    if (p.map.value().Find(k))
      return Fail(ErrorCode::kInvalidInput, "header parameter " + cbor::Diagnostic(k) +
                                                " given for both the protected and the "
                                                "unprotected bucket");
  return Ok();
}

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
  SECPROF_ASSIGN_OR_RETURN(m.signature, key.private_key->Sign(SignatureAlgorithmFor(alg), tbs));
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

Status VerifySign1(const Sign1& msg, const Key& key, ByteView external_aad,
                   std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(
      AlgorithmInfo alg,
      MessageAlgorithm(msg.protected_header, msg.unprotected, AlgorithmKind::kSignature));
  SECPROF_TRY(CheckKey(alg, key, /*need_private=*/false));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload,
                           PayloadOf(msg.payload, detached_payload, "COSE_Sign1"));
  const Bytes tbs = SigStructure1(msg.protected_header.for_structure(), external_aad, payload);
  auto st = key.public_key->Verify(SignatureAlgorithmFor(alg), tbs, msg.signature);
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

namespace {
// RFC 9052 §3.1: IV, or Partial IV left-padded with zeros to the IV length and XORed with the
// key's Base IV.
Result<Bytes> Nonce(const Encrypt0& msg, const Key& key, const AlgorithmInfo& alg) {
  const Value* iv = msg.unprotected.Find(label::kIv);
  if (!iv) iv = msg.protected_header.map.Find(label::kIv);
  if (iv) {
    if (iv->bytes().size() != alg.iv_size)
      return Fail(ErrorCode::kInvalidInput, std::string("IV of ") +
                                                std::to_string(iv->bytes().size()) + " bytes; " +
                                                alg.name + " needs " + std::to_string(alg.iv_size));
    return iv->bytes();
  }
  const Value* piv = msg.unprotected.Find(label::kPartialIv);
  if (!piv) piv = msg.protected_header.map.Find(label::kPartialIv);
  if (!piv) return Fail(ErrorCode::kInvalidInput, "COSE_Encrypt0 has neither IV nor Partial IV");
  if (key.base_iv.size() != alg.iv_size)
    return Fail(ErrorCode::kInvalidInput, "Partial IV given but the key has no Base IV of " +
                                              std::to_string(alg.iv_size) + " bytes");
  if (piv->bytes().size() > alg.iv_size)
    return Fail(ErrorCode::kInvalidInput, "Partial IV longer than the IV");
  Bytes nonce = key.base_iv;
  const size_t off = alg.iv_size - piv->bytes().size();
  for (size_t i = 0; i < piv->bytes().size(); ++i) nonce[off + i] ^= piv->bytes()[i];
  return nonce;
}
}  // namespace

Status EncryptPrepared(Encrypt0& m, const Key& key, ByteView plaintext, ByteView external_aad) {
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, MessageAlgorithm(m.protected_header, m.unprotected,
                                                               AlgorithmKind::kContentEncryption));
  SECPROF_TRY(CheckKey(alg, key, true));
  SECPROF_ASSIGN_OR_RETURN(Bytes nonce, Nonce(m, key, alg));
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead aead, crypto::Aead::FromCoseAlgorithm(alg.id));
  const Bytes aad = EncStructure0(m.protected_header.for_structure(), external_aad);
  SECPROF_ASSIGN_OR_RETURN(m.ciphertext, aead.Seal(*key.secret, nonce, aad, plaintext));
  return Ok();
}

Result<Encrypt0> CreateEncrypt0(const Key& key, ByteView plaintext, const Encrypt0Params& params,
                                crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, LookupAlgorithm(params.alg));
  if (alg.kind != AlgorithmKind::kContentEncryption)
    return Fail(ErrorCode::kInvalidInput,
                std::string(alg.name) + " is not a content encryption algorithm");
  Bytes iv = params.iv;
  if (iv.empty()) {
    SECPROF_ASSIGN_OR_RETURN(iv, rng.Draw(alg.iv_size));
  } else if (iv.size() != alg.iv_size) {
    return Fail(ErrorCode::kInvalidInput, std::string(alg.name) + " needs an IV of " +
                                              std::to_string(alg.iv_size) + " bytes");
  }
  Encrypt0 m;
  SECPROF_ASSIGN_OR_RETURN(m.protected_header, MakeProtected(alg.id, params.protected_extra));
  m.unprotected = params.unprotected;
  if (!m.protected_header.map.Find(label::kIv))
    m.unprotected.Set(label::kIv, Value::ByteString(iv));
  SECPROF_TRY(CheckNoClash(m.protected_header, m.unprotected));
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
  SECPROF_ASSIGN_OR_RETURN(Bytes nonce, Nonce(msg, key, alg));
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead aead, crypto::Aead::FromCoseAlgorithm(alg.id));
  const Bytes aad = EncStructure0(msg.protected_header.for_structure(), external_aad);
  auto pt = aead.Open(*key.secret, nonce, aad, ct);
  if (!pt) {
    if (pt.error().code() == ErrorCode::kVerifyFailed)
      return Fail(ErrorCode::kVerifyFailed,
                  std::string("COSE_Encrypt0 ") + alg.name + " authentication tag does not verify");
    return Fail(pt.error().WithContext("COSE_Encrypt0"));
  }
  return std::move(*pt);
}

}  // namespace secprof::cose
