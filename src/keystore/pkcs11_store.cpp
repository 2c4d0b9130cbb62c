// Pkcs11KeyStore: see secprof/keystore/pkcs11_store.h. Section numbers: "PKCS #11 Cryptographic
// Token Interface Base Specification Version 2.40" (base) and "... Current Mechanisms
// Specification Version 2.40" (mech).
#include "secprof/keystore/pkcs11_store.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "pkcs11_session.h"
#include "secprof/crypto/hash.h"

namespace secprof::keystore {

using crypto::Bytes;
using crypto::ByteView;
using crypto::SecureBuffer;
using crypto::SignatureAlgorithm;

namespace {

// DER of the OBJECT IDENTIFIER prime256v1 / secp256r1, 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1),
// the CKA_EC_PARAMS value naming the curve (mech §2.3.3: "DER-encoding of an ANSI X9.62
// Parameters value", here the namedCurve choice).
constexpr std::array<uint8_t, 10> kP256Oid = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                              0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr size_t kP256PointSize = 65;  // 0x04 || x || y (SEC 1 §2.3.3, uncompressed)

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

template <class T>
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, T& value) {
  return CK_ATTRIBUTE{type, &value, sizeof value};
}
CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE type, const std::string& s) {
  return CK_ATTRIBUTE{type, const_cast<char*>(s.data()), s.size()};
}

// CKA_EC_POINT is "DER-encoding of ANSI X9.62 ECPoint value Q" (mech §2.3.3), i.e. an OCTET
// STRING wrapping the uncompressed point. Some modules return the bare point; accept both.
Result<crypto::PublicKey> PublicFromEcPoint(const Bytes& v) {
  ByteView point(v);
  if (v.size() == kP256PointSize + 2 && v[0] == 0x04 && v[1] == kP256PointSize)
    point = ByteView(v).subspan(2);
  else if (v.size() != kP256PointSize)
    return Fail(ErrorCode::kUnsupported,
                "CKA_EC_POINT of " + std::to_string(v.size()) + " bytes is not a P-256 point");
  return crypto::PublicKey::FromRaw(crypto::KeyType::kP256, point);
}

// The object of `cls` labelled `label`. kNotFound / kConflict (two objects with the label).
// REQUIRES session.mu held.
Result<CK_OBJECT_HANDLE> FindKey(p11::Session& s, const std::string& label, CK_OBJECT_CLASS cls) {
  SECPROF_ASSIGN_OR_RETURN(auto found,
                           p11::FindObjects(s, {Attr(CKA_CLASS, cls), Attr(CKA_LABEL, label)}));
  if (found.empty()) return Fail(ErrorCode::kNotFound, "no key '" + label + "' on the token");
  if (found.size() > 1)
    return Fail(ErrorCode::kConflict, "more than one key labelled '" + label + "' on the token");
  return found.front();
}

// The P-256 public key of `label`, from its public-key object. REQUIRES session.mu held.
Result<crypto::PublicKey> ReadPublic(p11::Session& s, const std::string& label) {
  SECPROF_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE pub, FindKey(s, label, CKO_PUBLIC_KEY));
  SECPROF_ASSIGN_OR_RETURN(Bytes kt, p11::GetAttribute(s, pub, CKA_KEY_TYPE));
  CK_KEY_TYPE key_type = 0;
  if (kt.size() == sizeof key_type) std::memcpy(&key_type, kt.data(), sizeof key_type);
  SECPROF_ASSIGN_OR_RETURN(Bytes params, p11::GetAttribute(s, pub, CKA_EC_PARAMS));
  if (key_type != CKK_EC ||
      !std::equal(params.begin(), params.end(), kP256Oid.begin(), kP256Oid.end())) {
    return Fail(ErrorCode::kUnsupported, "key '" + label + "' on the token is not an EC P-256 key");
  }
  SECPROF_ASSIGN_OR_RETURN(Bytes point, p11::GetAttribute(s, pub, CKA_EC_POINT));
  auto key = PublicFromEcPoint(point);
  if (!key) return Fail(key.error().WithContext("key '" + label + "'"));
  return key;
}

// ECDSA inside the token (mech §2.3.6 CKM_ECDSA: the input is the hash, the output r || s, each
// as long as the order n, 32 bytes for P-256). SHA-256 is computed here.
class TokenSigner final : public crypto::Signer {
 public:
  TokenSigner(std::shared_ptr<p11::Token> token, CK_OBJECT_HANDLE key, crypto::PublicKey pub,
              SignatureAlgorithm alg)
      : token_(std::move(token)), key_(key), pub_(std::move(pub)), alg_(alg) {}

  SignatureAlgorithm algorithm() const override { return alg_; }
  const crypto::PublicKey& public_key() const override { return pub_; }

  Result<Bytes> Sign(ByteView message) override {
    SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest digest, crypto::Sha256(message));
    Bytes raw(2 * crypto::kP256FieldSize + 4);  // room to spare: no CKR_BUFFER_TOO_SMALL
    CK_ULONG len = raw.size();
    {
      p11::Session& s = *token_->session;
      std::lock_guard lock(s.mu);
      CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
      CK_RV rv = s.f()->C_SignInit(s.handle(), &mech, key_);
      if (rv != CKR_OK) return Fail(p11::RvError("C_SignInit", rv));
      // base §5.11: C_Sign ends the operation whatever it returns, except CKR_BUFFER_TOO_SMALL
      // and a length query, neither of which can happen here.
      rv = s.f()->C_Sign(s.handle(), digest.data(), digest.size(), raw.data(), &len);
      if (rv != CKR_OK) return Fail(p11::RvError("C_Sign", rv));
    }
    if (len != crypto::kP256RawSignatureSize)
      return Fail(ErrorCode::kCrypto,
                  "CKM_ECDSA returned " + std::to_string(len) + " bytes, expected r || s of 64");
    raw.resize(len);
    if (alg_ == SignatureAlgorithm::kEcdsaP256Sha256Der) return crypto::EcdsaP256RawToDer(raw);
    return raw;
  }

 private:
  std::shared_ptr<p11::Token> token_;
  CK_OBJECT_HANDLE key_;
  crypto::PublicKey pub_;
  SignatureAlgorithm alg_;
};

// ECDH inside the token (mech §2.3.15 CKM_ECDH1_DERIVE, CKD_NULL: the derived key's value is the
// x-coordinate of the shared point, the same as crypto::DeriveSharedSecret). The derived
// CKK_GENERIC_SECRET is a session object (CKA_TOKEN false), non-sensitive and extractable so that
// its value can be read out — crypto::KeyAgreement returns the raw secret — and it is destroyed
// right after.
class TokenKeyAgreement final : public crypto::KeyAgreement {
 public:
  TokenKeyAgreement(std::shared_ptr<p11::Token> token, CK_OBJECT_HANDLE key, crypto::PublicKey pub)
      : token_(std::move(token)), key_(key), pub_(std::move(pub)) {}

  crypto::KeyType type() const override { return crypto::KeyType::kP256; }
  const crypto::PublicKey& public_key() const override { return pub_; }

  Result<SecureBuffer> Agree(const crypto::PublicKey& peer) override {
    if (peer.type() != crypto::KeyType::kP256)
      return Fail(ErrorCode::kInvalidInput,
                  std::string("ECDH with a P-256 key needs a P-256 peer, got ") +
                      crypto::KeyTypeName(peer.type()));
    SECPROF_ASSIGN_OR_RETURN(Bytes point, peer.ToRaw());  // uncompressed, validated on import
    CK_ECDH1_DERIVE_PARAMS params{};
    params.kdf = CKD_NULL;
    params.ulSharedDataLen = 0;
    params.pSharedData = nullptr;
    params.ulPublicDataLen = point.size();
    params.pPublicData = point.data();
    CK_MECHANISM mech{CKM_ECDH1_DERIVE, &params, sizeof params};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_ULONG len = crypto::kP256FieldSize;
    std::vector<CK_ATTRIBUTE> tmpl = {
        Attr(CKA_CLASS, cls),    Attr(CKA_KEY_TYPE, kt),      Attr(CKA_VALUE_LEN, len),
        Attr(CKA_TOKEN, kFalse), Attr(CKA_SENSITIVE, kFalse), Attr(CKA_EXTRACTABLE, kTrue),
    };
    p11::Session& s = *token_->session;
    std::lock_guard lock(s.mu);
    CK_OBJECT_HANDLE secret = CK_INVALID_HANDLE;
    CK_RV rv = s.f()->C_DeriveKey(s.handle(), &mech, key_, tmpl.data(), tmpl.size(), &secret);
    if (rv != CKR_OK) return Fail(p11::RvError("C_DeriveKey(CKM_ECDH1_DERIVE)", rv));
    auto value = p11::GetSecretAttribute(s, secret, CKA_VALUE);
    s.f()->C_DestroyObject(s.handle(), secret);
    if (!value) return Fail(value.error());
    if (value->size() != crypto::kP256FieldSize)
      return Fail(ErrorCode::kCrypto, "ECDH secret of unexpected length");
    return std::move(*value);
  }

 private:
  std::shared_ptr<p11::Token> token_;
  CK_OBJECT_HANDLE key_;
  crypto::PublicKey pub_;
};

}  // namespace

struct Pkcs11KeyStore::Impl {
  std::shared_ptr<p11::Token> token;
};

Pkcs11KeyStore::Pkcs11KeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pkcs11KeyStore::~Pkcs11KeyStore() = default;

Result<std::unique_ptr<Pkcs11KeyStore>> Pkcs11KeyStore::Open(const Pkcs11KeyStoreOptions& o) {
  if (o.token_label.empty() || o.token_label.size() > 32)
    return Fail(ErrorCode::kInvalidInput, "PKCS#11 token label must be 1 to 32 bytes");
  // Refused before the module is touched: an empty PIN would reach C_Login as a null/zero-length
  // argument, which modules answer with an unhelpful CKR_ARGUMENTS_BAD.
  if (o.pin.empty())
    return Fail(ErrorCode::kInvalidInput,
                "token '" + o.token_label + "': no user PIN given (C_Login needs one)");
  auto token = std::make_shared<p11::Token>();
  token->label = o.token_label;
  SECPROF_ASSIGN_OR_RETURN(token->module, p11::Module::Load(o.module_path));
  SECPROF_ASSIGN_OR_RETURN(token->slot, p11::FindTokenSlot(*token->module, o.token_label));
  SECPROF_ASSIGN_OR_RETURN(token->session, p11::Session::Open(token->module, token->slot));
  auto login = p11::Login::Acquire(token->session, token->slot, o.pin.bytes());
  if (!login) return Fail(login.error().WithContext("token '" + o.token_label + "'"));
  token->login = std::move(*login);
  auto impl = std::make_unique<Impl>();
  impl->token = std::move(token);
  return std::unique_ptr<Pkcs11KeyStore>(new Pkcs11KeyStore(std::move(impl)));
}

std::string Pkcs11KeyStore::Describe() const { return "pkcs11:token=" + impl_->token->label; }

Result<crypto::PublicKey> Pkcs11KeyStore::GenerateKey(const std::string& label,
                                                      crypto::KeyType type) {
  SECPROF_TRY(ValidateLabel(label));
  if (type != crypto::KeyType::kP256) {
    return Fail(ErrorCode::kUnsupported,
                std::string("the PKCS#11 store generates EC P-256 keys only, not ") +
                    crypto::KeyTypeName(type));
  }
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    SECPROF_ASSIGN_OR_RETURN(auto found,
                             p11::FindObjects(s, {Attr(CKA_CLASS, cls), Attr(CKA_LABEL, label)}));
    if (!found.empty())
      return Fail(ErrorCode::kConflict, "key '" + label + "' already exists on " + Describe());
  }
  CK_KEY_TYPE kt = CKK_EC;
  Bytes oid(kP256Oid.begin(), kP256Oid.end());
  // mech §2.3.5 (CKM_EC_KEY_PAIR_GEN): CKA_EC_PARAMS in the public template; base §4.8–4.9 for
  // the key attributes. CKA_ID = the label, so the halves pair up as PKCS#11 tools expect.
  // Usage is limited to what the key is for — sign/verify and derive (ECDH) — and the
  // encrypt/decrypt/wrap/unwrap flags a module may default to true are cleared (key separation).
  std::vector<CK_ATTRIBUTE> pub_tmpl = {
      Attr(CKA_KEY_TYPE, kt),
      Attr(CKA_TOKEN, kTrue),
      Attr(CKA_PRIVATE, kFalse),
      Attr(CKA_VERIFY, kTrue),
      Attr(CKA_ENCRYPT, kFalse),
      Attr(CKA_WRAP, kFalse),
      Attr(CKA_LABEL, label),
      Attr(CKA_ID, label),
      CK_ATTRIBUTE{CKA_EC_PARAMS, oid.data(), oid.size()},
  };
  std::vector<CK_ATTRIBUTE> priv_tmpl = {
      Attr(CKA_KEY_TYPE, kt),     Attr(CKA_TOKEN, kTrue),        Attr(CKA_PRIVATE, kTrue),
      Attr(CKA_SENSITIVE, kTrue), Attr(CKA_EXTRACTABLE, kFalse), Attr(CKA_SIGN, kTrue),
      Attr(CKA_DERIVE, kTrue),    Attr(CKA_DECRYPT, kFalse),     Attr(CKA_UNWRAP, kFalse),
      Attr(CKA_LABEL, label),     Attr(CKA_ID, label),
  };
  CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
  CK_RV rv = s.f()->C_GenerateKeyPair(s.handle(), &mech, pub_tmpl.data(), pub_tmpl.size(),
                                      priv_tmpl.data(), priv_tmpl.size(), &pub, &priv);
  if (rv != CKR_OK) return Fail(p11::RvError("C_GenerateKeyPair(CKM_EC_KEY_PAIR_GEN)", rv));
  auto key = ReadPublic(s, label);
  if (!key) {  // do not leave a half-usable pair behind
    s.f()->C_DestroyObject(s.handle(), priv);
    s.f()->C_DestroyObject(s.handle(), pub);
    return Fail(key.error());
  }
  return key;
}

Result<std::unique_ptr<crypto::Signer>> Pkcs11KeyStore::GetSigner(const std::string& label,
                                                                  SignatureAlgorithm alg) {
  SECPROF_TRY(ValidateLabel(label));
  if (alg != SignatureAlgorithm::kEcdsaP256Sha256 && alg != SignatureAlgorithm::kEcdsaP256Sha256Der)
    return Fail(ErrorCode::kInvalidInput, std::string(crypto::SignatureAlgorithmName(alg)) +
                                              " cannot be used with a P-256 token key");
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  SECPROF_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE priv, FindKey(s, label, CKO_PRIVATE_KEY));
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pub, ReadPublic(s, label));
  return std::unique_ptr<crypto::Signer>(new TokenSigner(impl_->token, priv, std::move(pub), alg));
}

Result<std::unique_ptr<crypto::KeyAgreement>> Pkcs11KeyStore::GetKeyAgreement(
    const std::string& label) {
  SECPROF_TRY(ValidateLabel(label));
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  SECPROF_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE priv, FindKey(s, label, CKO_PRIVATE_KEY));
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pub, ReadPublic(s, label));
  return std::unique_ptr<crypto::KeyAgreement>(
      new TokenKeyAgreement(impl_->token, priv, std::move(pub)));
}

Result<crypto::PublicKey> Pkcs11KeyStore::PublicKey(const std::string& label) {
  SECPROF_TRY(ValidateLabel(label));
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  return ReadPublic(s, label);
}

Result<SecureBuffer> Pkcs11KeyStore::ExportPrivate(const std::string& label) {
  SECPROF_TRY(ValidateLabel(label));
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  SECPROF_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE priv, FindKey(s, label, CKO_PRIVATE_KEY));
  (void)priv;
  return Fail(ErrorCode::kUnsupported,
              "key '" + label + "' on " + Describe() +
                  " is non-extractable (generated with CKA_EXTRACTABLE false, CKA_SENSITIVE true)");
}

Status Pkcs11KeyStore::Delete(const std::string& label) {
  SECPROF_TRY(ValidateLabel(label));
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  bool any = false;
  for (CK_OBJECT_CLASS cls : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    SECPROF_ASSIGN_OR_RETURN(auto found,
                             p11::FindObjects(s, {Attr(CKA_CLASS, cls), Attr(CKA_LABEL, label)}));
    for (CK_OBJECT_HANDLE h : found) {
      CK_RV rv = s.f()->C_DestroyObject(s.handle(), h);
      if (rv != CKR_OK) return Fail(p11::RvError("C_DestroyObject", rv));
      any = true;
    }
  }
  if (!any) return Fail(ErrorCode::kNotFound, "no key '" + label + "' on " + Describe());
  return Ok();
}

Result<std::vector<std::string>> Pkcs11KeyStore::List() {
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  SECPROF_ASSIGN_OR_RETURN(auto found, p11::FindObjects(s, {Attr(CKA_CLASS, cls)}));
  std::vector<std::string> out;
  for (CK_OBJECT_HANDLE h : found) {
    auto l = p11::GetAttribute(s, h, CKA_LABEL);
    if (!l) continue;
    std::string label(l->begin(), l->end());
    if (ValidateLabel(label)) out.push_back(std::move(label));  // skip keys of other tools
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- sealing ---------------------------------------------------------------------------------

namespace {
constexpr size_t kGcmNonceSize = 12;  // SP 800-38D §5.2.1.1
constexpr size_t kGcmTagSize = 16;
constexpr CK_ULONG kAes256KeySize = 32;

// CKM_AES_GCM with its CK_GCM_PARAMS (mech §2.12.3): 96-bit nonce, 128-bit tag, `aad`
// authenticated. The module takes non-const pointers, so nonce and aad are copied into the object,
// which must outlive the operation (it is not copyable or movable: `mech` points into it).
struct GcmMechanism {
  GcmMechanism(ByteView nonce_in, ByteView aad_in)
      : nonce(nonce_in.begin(), nonce_in.end()), aad(aad_in.begin(), aad_in.end()) {
    params.pIv = nonce.data();
    params.ulIvLen = nonce.size();
    params.ulIvBits = nonce.size() * 8;
    params.pAAD = aad.empty() ? nullptr : aad.data();
    params.ulAADLen = aad.size();
    params.ulTagBits = kGcmTagSize * 8;
    mech = CK_MECHANISM{CKM_AES_GCM, &params, sizeof params};
  }
  GcmMechanism(const GcmMechanism&) = delete;
  GcmMechanism& operator=(const GcmMechanism&) = delete;
  Bytes nonce, aad;
  CK_GCM_PARAMS params{};
  CK_MECHANISM mech{};
};
}  // namespace

Status Pkcs11KeyStore::GenerateSealingKey(const std::string& label) {
  SECPROF_TRY(ValidateLabel(label));
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  SECPROF_ASSIGN_OR_RETURN(auto found,
                           p11::FindObjects(s, {Attr(CKA_CLASS, cls), Attr(CKA_LABEL, label)}));
  if (!found.empty())
    return Fail(ErrorCode::kConflict, "secret key '" + label + "' already exists on " + Describe());
  CK_KEY_TYPE kt = CKK_AES;
  CK_ULONG len = kAes256KeySize;
  // base §4.9 (secret keys): non-extractable, sensitive, usable only to encrypt/decrypt data.
  std::vector<CK_ATTRIBUTE> tmpl = {
      Attr(CKA_CLASS, cls),          Attr(CKA_KEY_TYPE, kt),   Attr(CKA_VALUE_LEN, len),
      Attr(CKA_TOKEN, kTrue),        Attr(CKA_PRIVATE, kTrue), Attr(CKA_SENSITIVE, kTrue),
      Attr(CKA_EXTRACTABLE, kFalse), Attr(CKA_ENCRYPT, kTrue), Attr(CKA_DECRYPT, kTrue),
      Attr(CKA_WRAP, kFalse),        Attr(CKA_UNWRAP, kFalse), Attr(CKA_SIGN, kFalse),
      Attr(CKA_VERIFY, kFalse),      Attr(CKA_DERIVE, kFalse), Attr(CKA_LABEL, label),
      Attr(CKA_ID, label),
  };
  CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_RV rv = s.f()->C_GenerateKey(s.handle(), &mech, tmpl.data(), tmpl.size(), &key);
  if (rv != CKR_OK) return Fail(p11::RvError("C_GenerateKey(CKM_AES_KEY_GEN)", rv));
  return Ok();
}

Result<bool> Pkcs11KeyStore::HasSealingKey(const std::string& label) {
  SECPROF_TRY(ValidateLabel(label));
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  SECPROF_ASSIGN_OR_RETURN(auto found,
                           p11::FindObjects(s, {Attr(CKA_CLASS, cls), Attr(CKA_LABEL, label)}));
  return !found.empty();
}

Result<Bytes> Pkcs11KeyStore::Seal(const std::string& label, ByteView aad, ByteView plaintext,
                                   crypto::Random& rng) {
  SECPROF_TRY(ValidateLabel(label));
  SECPROF_ASSIGN_OR_RETURN(Bytes nonce, rng.Draw(kGcmNonceSize));
  Bytes out(kGcmNonceSize + plaintext.size() + kGcmTagSize);
  std::copy(nonce.begin(), nonce.end(), out.begin());
  SecureBuffer pt(plaintext);  // C_Encrypt takes a non-const pointer; wiped on return
  GcmMechanism gcm(nonce, aad);
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  SECPROF_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE key, FindKey(s, label, cls));
  CK_RV rv = s.f()->C_EncryptInit(s.handle(), &gcm.mech, key);
  if (rv != CKR_OK) return Fail(p11::RvError("C_EncryptInit(CKM_AES_GCM)", rv));
  CK_ULONG len = out.size() - kGcmNonceSize;
  rv = s.f()->C_Encrypt(s.handle(), pt.data(), pt.size(), out.data() + kGcmNonceSize, &len);
  if (rv != CKR_OK) return Fail(p11::RvError("C_Encrypt(CKM_AES_GCM)", rv));
  if (len != plaintext.size() + kGcmTagSize)
    return Fail(ErrorCode::kCrypto, "CKM_AES_GCM returned an unexpected length");
  return out;
}

Result<SecureBuffer> Pkcs11KeyStore::Unseal(const std::string& label, ByteView aad,
                                            ByteView sealed) {
  SECPROF_TRY(ValidateLabel(label));
  if (sealed.size() < kGcmNonceSize + kGcmTagSize)
    return Fail(ErrorCode::kInvalidInput, "sealed data is too short");
  GcmMechanism gcm(sealed.subspan(0, kGcmNonceSize), aad);
  Bytes ct(sealed.begin() + kGcmNonceSize, sealed.end());
  p11::Session& s = *impl_->token->session;
  std::lock_guard lock(s.mu);
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  SECPROF_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE key, FindKey(s, label, cls));
  CK_RV rv = s.f()->C_DecryptInit(s.handle(), &gcm.mech, key);
  if (rv != CKR_OK) return Fail(p11::RvError("C_DecryptInit(CKM_AES_GCM)", rv));
  SecureBuffer out(ct.size());
  CK_ULONG len = out.size();
  rv = s.f()->C_Decrypt(s.handle(), ct.data(), ct.size(), out.data(), &len);
  // A tag that does not verify: CKR_ENCRYPTED_DATA_INVALID per the specification (mech §2.12.3);
  // SoftHSM2 2.6 reports it as CKR_GENERAL_ERROR. Either way no plaintext is returned.
  if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
      rv == CKR_GENERAL_ERROR)
    return Fail(ErrorCode::kVerifyFailed, "sealed data does not authenticate under token key '" +
                                              label + "' (C_Decrypt: " + p11::RvName(rv) + ")");
  if (rv != CKR_OK) return Fail(p11::RvError("C_Decrypt(CKM_AES_GCM)", rv));
  out.resize(len);
  return out;
}

}  // namespace secprof::keystore
