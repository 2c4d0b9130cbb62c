// Creating and checking COSE_Sign1 and COSE_Sign (RFC 9052 §4), COSE_Mac0 (§6), COSE_Encrypt0
// and COSE_Encrypt with direct recipients (§5, §8.5.1) with the RFC 9053 algorithms. Every
// primitive is a secprof::crypto call.
#include <algorithm>
#include <functional>
#include <vector>

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

namespace {
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
}  // namespace

namespace {

// The content layer shared by COSE_Encrypt0 and COSE_Encrypt (RFC 9052 §5): the algorithm in the
// protected header and the IV (drawn from `rng` unless given, then checked for size) in the
// unprotected one, unless the caller's protected extras carry it.
struct ContentHeaders {
  ProtectedHeader protected_header;
  HeaderMap unprotected;
};

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

}  // namespace

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
  SECPROF_ASSIGN_OR_RETURN(Bytes nonce, Nonce(msg.protected_header, msg.unprotected, key, alg));
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

// ---- COSE_Sign
// -----------------------------------------------------------------------------------

namespace {
// The signer's algorithm (RFC 9052 §4.1: alg is a signer-layer parameter) after the crit checks
// of the body layer; the signer layer's crit is checked by MessageAlgorithm.
Result<AlgorithmInfo> SignerAlgorithm(const Sign& msg, const Signature& s) {
  SECPROF_TRY(CheckCrit(msg.protected_header, msg.unprotected));
  return MessageAlgorithm(s.protected_header, s.unprotected, AlgorithmKind::kSignature);
}

Result<const Signature*> SignerAt(const Sign& msg, size_t index) {
  if (index >= msg.signatures.size())
    return Fail(ErrorCode::kInvalidInput, "COSE_Sign has no signer " + std::to_string(index) +
                                              " (it has " + std::to_string(msg.signatures.size()) +
                                              ")");
  return &msg.signatures[index];
}
}  // namespace

Status SignPrepared(Sign& msg, size_t index, const Key& key, ByteView external_aad,
                    std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(const Signature* cs, SignerAt(msg, index));
  Signature& s = msg.signatures[index];
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, SignerAlgorithm(msg, *cs));
  SECPROF_TRY(CheckKey(alg, key, /*need_private=*/true));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload, PayloadOf(msg.payload, detached_payload, "COSE_Sign"));
  // RFC 9052 §4.4: ["Signature", body_protected, sign_protected, external_aad, payload].
  const Bytes tbs = SigStructure(msg.protected_header.for_structure(),
                                 s.protected_header.for_structure(), external_aad, payload);
  SECPROF_ASSIGN_OR_RETURN(s.signature,
                           key.private_key->Sign(SignatureAlgorithmFor(alg, key), tbs));
  return Ok();
}

Result<Sign> CreateSign(ByteView payload, const std::vector<SignerParams>& signers,
                        const SignParams& params) {
  if (signers.empty())
    return Fail(ErrorCode::kInvalidInput, "COSE_Sign needs at least one signer (RFC 9052 §4.1)");
  if (signers.size() > kMaxSigners)
    return Fail(ErrorCode::kInvalidInput,
                "COSE_Sign: more than " + std::to_string(kMaxSigners) + " signers");
  Sign m;
  SECPROF_ASSIGN_OR_RETURN(HeaderMap body_prot,
                           HeaderMap::FromValue(params.body_protected.value()));
  m.protected_header = ProtectedHeader::FromMap(std::move(body_prot));
  m.unprotected = params.body_unprotected;
  SECPROF_TRY(CheckNoClash(m.protected_header, m.unprotected));
  m.payload = Bytes(payload.begin(), payload.end());
  for (size_t i = 0; i < signers.size(); ++i) {
    const SignerParams& sp = signers[i];
    SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, LookupAlgorithm(sp.alg));
    if (alg.kind != AlgorithmKind::kSignature)
      return Fail(ErrorCode::kInvalidInput,
                  std::string(alg.name) + " is not a signature algorithm");
    Signature s;
    SECPROF_ASSIGN_OR_RETURN(s.protected_header, MakeProtected(alg.id, sp.protected_extra));
    s.unprotected = sp.unprotected;
    if (s.unprotected.empty() && !sp.key.kid.empty() && !s.protected_header.map.Find(label::kKid))
      s.unprotected.Set(label::kKid, Value::ByteString(sp.key.kid));
    SECPROF_TRY(CheckNoClash(s.protected_header, s.unprotected));
    m.signatures.push_back(std::move(s));
    auto st = SignPrepared(m, i, sp.key, params.external_aad);
    if (!st) return Fail(st.error().WithContext("COSE_Sign signer " + std::to_string(i)));
  }
  if (params.detached) m.payload.reset();
  return m;
}

Status VerifySignature(const Sign& msg, size_t index, const Key& key, ByteView external_aad,
                       std::optional<ByteView> detached_payload) {
  SECPROF_ASSIGN_OR_RETURN(const Signature* s, SignerAt(msg, index));
  SECPROF_ASSIGN_OR_RETURN(AlgorithmInfo alg, SignerAlgorithm(msg, *s));
  SECPROF_TRY(CheckKey(alg, key, /*need_private=*/false));
  SECPROF_ASSIGN_OR_RETURN(ByteView payload, PayloadOf(msg.payload, detached_payload, "COSE_Sign"));
  const Bytes tbs = SigStructure(msg.protected_header.for_structure(),
                                 s->protected_header.for_structure(), external_aad, payload);
  auto st = key.public_key->Verify(SignatureAlgorithmFor(alg, key), tbs, s->signature);
  if (!st) {
    if (st.error().code() == ErrorCode::kVerifyFailed)
      return Fail(ErrorCode::kVerifyFailed, std::string("COSE_Sign signer ") +
                                                std::to_string(index) + " " + alg.name +
                                                " signature does not verify");
    return Fail(st.error().WithContext("COSE_Sign signer " + std::to_string(index)));
  }
  return Ok();
}

Result<size_t> VerifySign(const Sign& msg, const Key& key, ByteView external_aad,
                          std::optional<ByteView> detached_payload) {
  if (msg.signatures.empty())
    return Fail(ErrorCode::kInvalidInput, "COSE_Sign has no signers (RFC 9052 §4.1)");
  // The caller's mistake, the same for every signer: say it once.
  SECPROF_TRY(PayloadOf(msg.payload, detached_payload, "COSE_Sign"));
  std::string reasons;
  bool all_malformed = true;
  for (size_t i = 0; i < msg.signatures.size(); ++i) {
    auto st = VerifySignature(msg, i, key, external_aad, detached_payload);
    if (st) return i;
    if (msg.signatures.size() == 1) return Fail(st.error());
    if (st.error().code() != ErrorCode::kInvalidInput) all_malformed = false;
    reasons += (reasons.empty() ? "" : "; ") + st.error().message();
  }
  return Fail(all_malformed ? ErrorCode::kInvalidInput : ErrorCode::kVerifyFailed,
              "none of the " + std::to_string(msg.signatures.size()) +
                  " COSE_Sign signers verifies with key " + key.Describe() + ": " + reasons);
}

Status VerifySignAll(const Sign& msg, const std::vector<Key>& keys, ByteView external_aad,
                     std::optional<ByteView> detached_payload) {
  if (keys.empty()) return Fail(ErrorCode::kInvalidInput, "VerifySignAll needs at least one key");
  if (msg.signatures.empty())
    return Fail(ErrorCode::kInvalidInput, "COSE_Sign has no signers (RFC 9052 §4.1)");
  SECPROF_TRY(PayloadOf(msg.payload, detached_payload, "COSE_Sign"));
  for (size_t i = 0; i < msg.signatures.size(); ++i) {
    std::optional<Error> first;
    bool ok = false;
    for (const Key& k : keys) {
      auto st = VerifySignature(msg, i, k, external_aad, detached_payload);
      if (st) {
        ok = true;
        break;
      }
      // A malformed signer is malformed whatever the key: report that, not a key mismatch.
      if (st.error().code() == ErrorCode::kInvalidInput) return Fail(st.error());
      if (!first) first = st.error();
    }
    if (!ok)
      return Fail(ErrorCode::kVerifyFailed,
                  "COSE_Sign signer " + std::to_string(i) + " verifies with none of the " +
                      std::to_string(keys.size()) + " keys: " + first->message());
  }
  return Ok();
}

// ---- COSE_Encrypt with direct recipients -------------------------------------------------------

namespace {

std::string AlgText(const Value* alg) {
  if (!alg) return "none";
  return cbor::Diagnostic(*alg);
}

// RFC 9052 §8.5.1 and RFC 9053 §6.1.1 for a recipient whose alg is direct (-6); plus our policy
// that a direct recipient is the only one.
Status CheckDirectRecipient(const Recipient& r, size_t index, size_t count) {
  const std::string where = "COSE_Encrypt recipient " + std::to_string(index) + " (direct): ";
  if (!r.protected_header.map.empty() || !r.protected_header.encoded.empty())
    return Fail(ErrorCode::kInvalidInput,
                where + "the protected header must be zero length (RFC 9053 §6.1.1)");
  if (!r.ciphertext || !r.ciphertext->empty())
    return Fail(ErrorCode::kInvalidInput,
                where + "the ciphertext must be a zero-length byte string (RFC 9052 §8.5.1)");
  if (!r.recipients.empty())
    return Fail(ErrorCode::kInvalidInput,
                where + "a direct recipient has no recipients of its own (RFC 9052 §8.5.1)");
  if (count != 1)
    return Fail(ErrorCode::kInvalidInput,
                where + "a direct recipient must be the only recipient; this message has " +
                    std::to_string(count));
  SECPROF_TRY(CheckCrit(r.protected_header, r.unprotected));
  return Ok();
}

// The direct recipient's index, or why there is none.
Result<size_t> FindDirectRecipient(const Encrypt& msg) {
  if (msg.recipients.empty())
    return Fail(ErrorCode::kInvalidInput, "COSE_Encrypt has no recipients (RFC 9052 §5.1)");
  std::string others;
  for (size_t i = 0; i < msg.recipients.size(); ++i) {
    const Recipient& r = msg.recipients[i];
    const Value* alg = r.protected_header.map.Find(label::kAlg);
    if (!alg) alg = r.unprotected.Find(label::kAlg);
    if (!alg)
      return Fail(ErrorCode::kInvalidInput,
                  "COSE_Encrypt recipient " + std::to_string(i) +
                      " has no alg (RFC 9052 §8.5.1: it must be present)");
    if (alg->is_int() && alg->AsInt64() && *alg->AsInt64() == kAlgDirect) {
      SECPROF_TRY(CheckDirectRecipient(r, i, msg.recipients.size()));
      return i;
    }
    others += (others.empty() ? "" : ", ") + AlgText(alg);
  }
  return Fail(ErrorCode::kUnsupported,
              "COSE_Encrypt: no recipient uses direct (-6), the only recipient algorithm "
              "implemented; found alg " +
                  others);
}

}  // namespace

Status EncryptPrepared(Encrypt& m, const Key& cek, ByteView plaintext, ByteView external_aad) {
  SECPROF_TRY(FindDirectRecipient(m));
  // RFC 9052 §5.3: the content layer's Enc_structure has the context "Encrypt".
  SECPROF_ASSIGN_OR_RETURN(m.ciphertext,
                           SealContent(m.protected_header, m.unprotected, cek, plaintext,
                                       [&](ByteView p) { return EncStructure(p, external_aad); }));
  return Ok();
}

Result<Encrypt> CreateEncrypt(const Key& key, ByteView plaintext, const EncryptParams& params,
                              crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(
      ContentHeaders h,
      MakeContentHeaders(params.alg, params.protected_extra, params.unprotected, params.iv, rng));
  Encrypt m;
  m.protected_header = std::move(h.protected_header);
  m.unprotected = std::move(h.unprotected);
  Recipient r;
  // RFC 9053 §6.1.1: empty protected bucket; RFC 9052 §8.5.1: zero-length ciphertext.
  r.ciphertext = Bytes{};
  SECPROF_ASSIGN_OR_RETURN(r.unprotected,
                           HeaderMap::FromValue(params.recipient_unprotected.value()));
  r.unprotected.Set(label::kAlg, Value::Int(kAlgDirect));
  if (!r.unprotected.Find(label::kKid) && !key.kid.empty())
    r.unprotected.Set(label::kKid, Value::ByteString(key.kid));
  m.recipients.push_back(std::move(r));
  SECPROF_TRY(EncryptPrepared(m, key, plaintext, params.external_aad));
  return m;
}

Result<Bytes> DecryptEncrypt(const Encrypt& msg, const Key& key, ByteView external_aad,
                             std::optional<ByteView> detached_ciphertext) {
  SECPROF_TRY(FindDirectRecipient(msg));
  SECPROF_ASSIGN_OR_RETURN(
      AlgorithmInfo alg,
      MessageAlgorithm(msg.protected_header, msg.unprotected, AlgorithmKind::kContentEncryption));
  SECPROF_TRY(CheckKey(alg, key, true));
  SECPROF_ASSIGN_OR_RETURN(ByteView ct,
                           PayloadOf(msg.ciphertext, detached_ciphertext, "COSE_Encrypt"));
  SECPROF_ASSIGN_OR_RETURN(Bytes nonce, Nonce(msg.protected_header, msg.unprotected, key, alg));
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead aead, crypto::Aead::FromCoseAlgorithm(alg.id));
  const Bytes aad = EncStructure(msg.protected_header.for_structure(), external_aad);
  auto pt = aead.Open(*key.secret, nonce, aad, ct);
  if (!pt) {
    if (pt.error().code() == ErrorCode::kVerifyFailed)
      return Fail(ErrorCode::kVerifyFailed,
                  std::string("COSE_Encrypt ") + alg.name + " authentication tag does not verify");
    return Fail(pt.error().WithContext("COSE_Encrypt"));
  }
  return std::move(*pt);
}

}  // namespace secprof::cose
