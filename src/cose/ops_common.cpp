// The helpers the COSE operations share (ops_internal.h): the key checks of RFC 9052 §7.1 and
// RFC 9053/9864, the protected header, the content layer of COSE_Encrypt0 and COSE_Encrypt.
#include "ops_internal.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "secprof/crypto/aead.h"

namespace secprof::cose::internal {
namespace {

using cbor::Value;

constexpr size_t kMinHmacKeySize = 32;  // the hash length (RFC 2104 §3: shorter is discouraged)

Error KeyMismatch(const AlgorithmInfo& alg, const Key& key, const std::string& why) {
  return Error(ErrorCode::kVerifyFailed, std::string("key ") + key.Describe() +
                                             " cannot be used with " + alg.name + ": " + why);
}

// The key a signature algorithm needs (RFC 9053 §2.1, §2.2; RFC 9864 §2.1, §2.2).
struct SignatureKeyNeed {
  KeyType kty;
  std::vector<Curve> curves;
  const char* text;  // for the error
};
Result<SignatureKeyNeed> SignatureKeyNeedFor(int64_t alg) {
  switch (alg) {
    case kAlgEs256:
      return SignatureKeyNeed{KeyType::kEc2, {Curve::kP256}, "ES256 needs an EC2 P-256 key"};
    case kAlgEsp256:
      return SignatureKeyNeed{KeyType::kEc2, {Curve::kP256}, "ESP256 needs an EC2 P-256 key"};
    case kAlgEdDsa:
      return SignatureKeyNeed{KeyType::kOkp,
                              {Curve::kEd25519, Curve::kEd448},
                              "EdDSA needs an OKP Ed25519 or Ed448 key"};
    case kAlgEd25519:
      return SignatureKeyNeed{KeyType::kOkp, {Curve::kEd25519}, "Ed25519 needs an OKP Ed25519 key"};
    case kAlgEd448:
      return SignatureKeyNeed{KeyType::kOkp, {Curve::kEd448}, "Ed448 needs an OKP Ed448 key"};
    default:
      return Fail(ErrorCode::kInternal,
                  "no key rule for signature algorithm " + std::to_string(alg));
  }
}

}  // namespace

bool IsEcdsaP256(int64_t alg) { return alg == kAlgEs256 || alg == kAlgEsp256; }

// RFC 9052 §7.1: a key's alg, when present, restricts it to that algorithm; RFC 9053 §2, §3,
// §4 give the key type each algorithm needs.
Status CheckKey(const AlgorithmInfo& alg, const Key& key, bool need_private) {
  if (key.alg && *key.alg != alg.id)
    return Fail(
        KeyMismatch(alg, key, "the key is restricted to algorithm " + std::to_string(*key.alg)));
  switch (alg.kind) {
    case AlgorithmKind::kSignature: {
      // RFC 9053 §2.1: ES256 with an EC2 P-256 key; §2.2: EdDSA with an OKP key on Ed25519 or
      // Ed448 (the curve selects the variant). RFC 9864 §2.1, §2.2: ESP256 with an EC2 P-256
      // key, Ed25519 / Ed448 with an OKP key on exactly that curve.
      SECPROF_ASSIGN_OR_RETURN(SignatureKeyNeed need, SignatureKeyNeedFor(alg.id));
      const bool ok =
          key.kty == need.kty && key.crv &&
          std::find(need.curves.begin(), need.curves.end(), *key.crv) != need.curves.end();
      if (!ok) return Fail(KeyMismatch(alg, key, need.text));
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

// REQUIRES CheckKey(alg, key, ...) succeeded.
crypto::SignatureAlgorithm SignatureAlgorithmFor(const AlgorithmInfo& alg, const Key& key) {
  if (IsEcdsaP256(alg.id)) return crypto::SignatureAlgorithm::kEcdsaP256Sha256;
  return key.crv == Curve::kEd448 ? crypto::SignatureAlgorithm::kEd448
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

// RFC 9052 §3.1: IV, or Partial IV left-padded with zeros to the IV length and XORed with the
// key's Base IV.
Result<Bytes> Nonce(const ProtectedHeader& prot, const HeaderMap& unprot, const Key& key,
                    const AlgorithmInfo& alg) {
  const Value* iv = unprot.Find(label::kIv);
  if (!iv) iv = prot.map.Find(label::kIv);
  if (iv) {
    if (iv->bytes().size() != alg.iv_size)
      return Fail(ErrorCode::kInvalidInput, std::string("IV of ") +
                                                std::to_string(iv->bytes().size()) + " bytes; " +
                                                alg.name + " needs " + std::to_string(alg.iv_size));
    return iv->bytes();
  }
  const Value* piv = unprot.Find(label::kPartialIv);
  if (!piv) piv = prot.map.Find(label::kPartialIv);
  if (!piv) return Fail(ErrorCode::kInvalidInput, "the message has neither IV nor Partial IV");
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

Result<ContentHeaders> MakeContentHeaders(int64_t alg_id, const HeaderMap& protected_extra,
                                          const HeaderMap& unprotected, const Bytes& given_iv,
                                          crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, LookupAlgorithm(alg_id));
  if (alg.kind != AlgorithmKind::kContentEncryption)
    return Fail(ErrorCode::kInvalidInput,
                std::string(alg.name) + " is not a content encryption algorithm");
  Bytes iv = given_iv;
  if (iv.empty()) {
    SECPROF_ASSIGN_OR_RETURN(iv, rng.Draw(alg.iv_size));
  } else if (iv.size() != alg.iv_size) {
    return Fail(ErrorCode::kInvalidInput, std::string(alg.name) + " needs an IV of " +
                                              std::to_string(alg.iv_size) + " bytes");
  }
  ContentHeaders h;
  SECPROF_ASSIGN_OR_RETURN(h.protected_header, MakeProtected(alg.id, protected_extra));
  h.unprotected = unprotected;
  if (!h.protected_header.map.Find(label::kIv))
    h.unprotected.Set(label::kIv, Value::ByteString(iv));
  SECPROF_TRY(CheckNoClash(h.protected_header, h.unprotected));
  return h;
}

// Seals `plaintext` under the headers' algorithm and nonce with `aad` (the layer's Enc_structure
// is built by the caller from the protected header: its context differs per message type).
Result<Bytes> SealContent(const ProtectedHeader& prot, const HeaderMap& unprot, const Key& key,
                          ByteView plaintext,
                          const std::function<Bytes(ByteView protected_bytes)>& enc_structure) {
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg,
                           MessageAlgorithm(prot, unprot, AlgorithmKind::kContentEncryption));
  SECPROF_TRY(CheckKey(alg, key, true));
  SECPROF_ASSIGN_OR_RETURN(Bytes nonce, Nonce(prot, unprot, key, alg));
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead aead, crypto::Aead::FromCoseAlgorithm(alg.id));
  const Bytes aad = enc_structure(prot.for_structure());
  return aead.Seal(*key.secret, nonce, aad, plaintext);
}

Result<Bytes> OpenContent(const AlgorithmInfo& alg, const ProtectedHeader& prot,
                          const HeaderMap& unprot, const Key& key, ByteView aad,
                          ByteView ciphertext, const char* what) {
  SECPROF_ASSIGN_OR_RETURN(Bytes nonce, Nonce(prot, unprot, key, alg));
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead aead, crypto::Aead::FromCoseAlgorithm(alg.id));
  auto pt = aead.Open(*key.secret, nonce, aad, ciphertext);
  if (!pt) {
    if (pt.error().code() == ErrorCode::kVerifyFailed)
      return Fail(ErrorCode::kVerifyFailed,
                  std::string(what) + " " + alg.name + " authentication tag does not verify");
    return Fail(pt.error().WithContext(what));
  }
  return std::move(*pt);
}

}  // namespace secprof::cose::internal
