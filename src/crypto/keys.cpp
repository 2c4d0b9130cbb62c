#include "secprof/crypto/keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "internal.h"
#include "secprof/core/enum_names.h"
#include "secprof/crypto/hash.h"

namespace secprof::crypto {
namespace {

using internal::BioPtr;
using internal::BnCtxPtr;
using internal::BnPtr;
using internal::EcdsaSigPtr;
using internal::EcGroupPtr;
using internal::EcPointPtr;
using internal::EvpMdCtxPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::OpenSslBytesPtr;
using internal::OpenSslError;
using internal::SecretBnPtr;

// The order n of the P-256 base point (SEC 2 §2.4.2), big-endian.
constexpr std::array<uint8_t, 32> kP256Order = {
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

// True when the 32-byte big-endian `d` is in [1, n-1]. Equal-length big-endian strings compare
// numerically as they compare lexicographically.
bool P256ScalarInRange(ByteView d) {
  if (d.size() != kP256FieldSize) return false;
  const bool zero = std::all_of(d.begin(), d.end(), [](uint8_t b) { return b == 0; });
  return !zero && std::memcmp(d.data(), kP256Order.data(), kP256FieldSize) < 0;
}

const char* OsslName(KeyType t) {
  switch (t) {
    case KeyType::kP256:
      return "EC";
    case KeyType::kEd25519:
      return "ED25519";
    case KeyType::kX25519:
      return "X25519";
    case KeyType::kEd448:
      return "ED448";
  }
  return "?";
}

// Bytes in a raw key of `t` (P-256: the private scalar / a field element).
size_t RawKeySize(KeyType t) { return t == KeyType::kEd448 ? kEd448KeySize : 32; }

bool IsEdDsa(KeyType t) { return t == KeyType::kEd25519 || t == KeyType::kEd448; }

// Identifies a decoded key, refusing anything but named-curve P-256, Ed25519, X25519 and Ed448.
Result<KeyType> Classify(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) return KeyType::kEd25519;
  if (EVP_PKEY_is_a(pkey, "ED448")) return KeyType::kEd448;
  if (EVP_PKEY_is_a(pkey, "X25519")) return KeyType::kX25519;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) != 1 ||
        std::strcmp(group, "prime256v1") != 0) {
      internal::ClearOpenSslErrors();
      return Fail(ErrorCode::kUnsupported, "EC key is not on P-256");
    }
    // RFC 5480 §2.1.1: namedCurve is the only form that MUST be supported; explicit parameters
    // (specifiedCurve) invite invalid-curve attacks, so they are refused even when they match.
    char encoding[32] = {0};
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
                                       sizeof(encoding), &len) != 1 ||
        std::strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
      internal::ClearOpenSslErrors();
      return Fail(ErrorCode::kInvalidInput, "EC key uses explicit curve parameters");
    }
    return KeyType::kP256;
  }
  return Fail(ErrorCode::kUnsupported,
              "key type not supported (only P-256, Ed25519, X25519, Ed448)");
}

// Full public-key validation for EC (SEC 1 §3.2.2.1: on the curve, not at infinity, n*Q = O).
Status ValidatePublic(EVP_PKEY* pkey, KeyType type) {
  // 25519/448 keys: every string of the right length is a valid input to FromRaw (an Ed25519 or
  // Ed448 string that decodes to no point makes every signature fail to verify).
  if (type != KeyType::kP256) return Ok();
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx) return Fail(OpenSslError("EVP_PKEY_CTX_new_from_pkey"));
  if (EVP_PKEY_public_check(ctx.get()) != 1) {
    return Fail(OpenSslError("P-256 public key validation", ErrorCode::kInvalidInput));
  }
  return Ok();
}

Result<Bytes> PublicDer(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) return Fail(OpenSslError("i2d_PUBKEY"));
  OpenSslBytesPtr owned(der);
  return Bytes(der, der + len);
}

// Public-only copy of a key pair (so a PublicKey never keeps the secret alive).
Result<EvpPkeyPtr> PublicOnly(EVP_PKEY* pkey) {
  SECPROF_ASSIGN_OR_RETURN(Bytes der, PublicDer(pkey));
  const unsigned char* p = der.data();
  EvpPkeyPtr pub(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!pub) return Fail(OpenSslError("d2i_PUBKEY"));
  return pub;
}

// The body of a PEM block named `label`, in a wiping buffer.
Result<SecureBuffer> ReadPem(std::string_view pem, std::string* label) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Fail(OpenSslError("BIO_new_mem_buf"));
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    return Fail(OpenSslError("reading PEM", ErrorCode::kInvalidInput));
  }
  OpenSslBytesPtr name_owned(reinterpret_cast<unsigned char*>(name));
  OpenSslBytesPtr header_owned(reinterpret_cast<unsigned char*>(header));
  SecureBuffer body(ByteView(data, static_cast<size_t>(len)));
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  OpenSslBytesPtr data_owned(data);
  if (header != nullptr && header[0] != '\0') {
    return Fail(ErrorCode::kUnsupported, "encrypted PEM (Proc-Type headers) not supported");
  }
  *label = name;
  return body;
}

Result<SecureBuffer> EncodePrivate(EVP_PKEY* pkey, const char* format) {
  std::unique_ptr<OSSL_ENCODER_CTX, internal::Free<OSSL_ENCODER_CTX_free>> ectx(
      OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_KEYPAIR, format, "PrivateKeyInfo", nullptr));
  if (!ectx || OSSL_ENCODER_CTX_get_num_encoders(ectx.get()) == 0) {
    return Fail(OpenSslError("no PKCS#8 encoder"));
  }
  unsigned char* data = nullptr;
  size_t len = 0;
  if (OSSL_ENCODER_to_data(ectx.get(), &data, &len) != 1) {
    return Fail(OpenSslError("encoding the private key"));
  }
  SecureBuffer out(ByteView(data, len));
  OPENSSL_clear_free(data, len);
  return out;
}

Result<Bytes> BnToFixed(const BIGNUM* bn, size_t size) {
  Bytes out(size);
  if (BN_is_negative(bn) || BN_bn2binpad(bn, out.data(), static_cast<int>(size)) < 0) {
    return Fail(ErrorCode::kInvalidInput,
                "integer does not fit in " + std::to_string(size) + " bytes");
  }
  return out;
}

// Strictly decodes a DER Ecdsa-Sig-Value: one SEQUENCE of two INTEGERs, minimal encodings, no
// trailing bytes. Re-encoding and comparing is how strictness is enforced: DER is canonical, so
// any BER variant (long-form lengths, padded integers) re-encodes differently.
Result<EcdsaSigPtr> DecodeDerSig(ByteView der) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) {
    internal::ClearOpenSslErrors();
    return Fail(ErrorCode::kInvalidInput, "ECDSA signature is not a DER Ecdsa-Sig-Value");
  }
  if (p != der.data() + der.size()) {
    return Fail(ErrorCode::kInvalidInput, "trailing bytes after the ECDSA signature");
  }
  unsigned char* re = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &re);
  if (len <= 0) return Fail(OpenSslError("i2d_ECDSA_SIG"));
  OpenSslBytesPtr re_owned(re);
  if (static_cast<size_t>(len) != der.size() || std::memcmp(re, der.data(), der.size()) != 0) {
    return Fail(ErrorCode::kInvalidInput, "ECDSA signature is BER, not DER");
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  if (BN_is_negative(r) || BN_is_negative(s)) {
    return Fail(ErrorCode::kInvalidInput, "negative ECDSA signature component");
  }
  return sig;
}

// DER -> r || s for a signature OpenSSL has just produced (already canonical, so the strict
// re-encoding check of DecodeDerSig is skipped on this hot path).
Result<Bytes> OwnDerToRaw(ByteView der) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return Fail(OpenSslError("d2i_ECDSA_SIG"));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  Bytes out(kP256RawSignatureSize);
  if (BN_bn2binpad(r, out.data(), 32) != 32 || BN_bn2binpad(s, out.data() + 32, 32) != 32) {
    return Fail(ErrorCode::kInternal, "ECDSA signature component longer than 32 bytes");
  }
  return out;
}

Status CheckAlgFits(SignatureAlgorithm alg, KeyType type) {
  if (KeyTypeFor(alg) != type) {
    return Fail(ErrorCode::kInvalidInput, std::string(SignatureAlgorithmName(alg)) +
                                              " cannot be used with a " + KeyTypeName(type) +
                                              " key");
  }
  return Ok();
}

Result<EVP_PKEY*> CheckedPublic(const PublicKey& k) {
  EVP_PKEY* p = KeyAccess::Get(k);
  if (p == nullptr) return Fail(ErrorCode::kInternal, "empty public key");
  return p;
}

// P-256 public point d*G for a private scalar (EC_POINT arithmetic, not deprecated in 3.0).
Result<Bytes> P256PublicFromScalar(const BIGNUM* d) {
  EcGroupPtr group(EC_GROUP_new_by_curve_name_ex(nullptr, nullptr, NID_X9_62_prime256v1));
  EcPointPtr q(group ? EC_POINT_new(group.get()) : nullptr);
  BnCtxPtr bnctx(BN_CTX_secure_new());
  if (!group || !q || !bnctx) return Fail(OpenSslError("P-256 setup"));
  if (EC_POINT_mul(group.get(), q.get(), d, nullptr, nullptr, bnctx.get()) != 1) {
    return Fail(OpenSslError("P-256 public point"));
  }
  Bytes out(1 + 2 * kP256FieldSize);
  if (EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(),
                         out.size(), bnctx.get()) != out.size()) {
    return Fail(OpenSslError("P-256 point encoding"));
  }
  return out;
}

Result<EvpPkeyPtr> FromData(const char* name, OSSL_PARAM* params, int selection) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, name, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return Fail(OpenSslError("EVP_PKEY_fromdata_init"));
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, selection, params) != 1) {
    return Fail(OpenSslError("importing the key", ErrorCode::kInvalidInput));
  }
  return EvpPkeyPtr(raw);
}

Result<EvpPkeyPtr> P256PublicFromPoint(ByteView point) {
  char group[] = "P-256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(point.data()),
                                        point.size()),
      OSSL_PARAM_construct_end()};
  return FromData("EC", params, EVP_PKEY_PUBLIC_KEY);
}

}  // namespace

// ---- names ----

constexpr EnumName<KeyType> kKeyTypeNames[] = {{KeyType::kP256, "P-256"},
                                               {KeyType::kEd25519, "Ed25519"},
                                               {KeyType::kX25519, "X25519"},
                                               {KeyType::kEd448, "Ed448"}};
constexpr EnumName<SignatureAlgorithm> kSignatureAlgorithmNames[] = {
    {SignatureAlgorithm::kEcdsaP256Sha256, "ECDSA P-256 SHA-256 (raw r||s)"},
    {SignatureAlgorithm::kEcdsaP256Sha256Der, "ECDSA P-256 SHA-256 (DER)"},
    {SignatureAlgorithm::kEd25519, "Ed25519"},
    {SignatureAlgorithm::kEd448, "Ed448"}};

const char* KeyTypeName(KeyType type) { return NameOf(kKeyTypeNames, type, "unknown"); }

const char* SignatureAlgorithmName(SignatureAlgorithm alg) {
  return NameOf(kSignatureAlgorithmNames, alg, "unknown");
}

KeyType KeyTypeFor(SignatureAlgorithm alg) {
  switch (alg) {
    case SignatureAlgorithm::kEd25519:
      return KeyType::kEd25519;
    case SignatureAlgorithm::kEd448:
      return KeyType::kEd448;
    case SignatureAlgorithm::kEcdsaP256Sha256:
    case SignatureAlgorithm::kEcdsaP256Sha256Der:
      return KeyType::kP256;
  }
  return KeyType::kP256;
}

// ---- KeyAccess ----

PublicKey KeyAccess::MakePublic(EvpPkeyPtr pkey, KeyType type) {
  auto impl = std::make_shared<PublicKey::Impl>();
  impl->pkey = std::move(pkey);
  impl->type = type;
  return PublicKey(std::move(impl));
}

Result<PrivateKey> KeyAccess::MakePrivate(EvpPkeyPtr pkey, KeyType type) {
  SECPROF_ASSIGN_OR_RETURN(EvpPkeyPtr pub, PublicOnly(pkey.get()));
  auto impl = std::make_unique<PrivateKey::Impl>();
  impl->pkey = std::move(pkey);
  impl->type = type;
  return PrivateKey(std::move(impl), MakePublic(std::move(pub), type));
}

// ---- PublicKey ----

Result<PublicKey> PublicKey::FromDer(ByteView spki) {
  const unsigned char* p = spki.data();
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!pkey) {
    return Fail(OpenSslError("decoding SubjectPublicKeyInfo", ErrorCode::kInvalidInput));
  }
  if (p != spki.data() + spki.size()) {
    return Fail(ErrorCode::kInvalidInput, "trailing bytes after SubjectPublicKeyInfo");
  }
  SECPROF_ASSIGN_OR_RETURN(KeyType type, Classify(pkey.get()));
  SECPROF_TRY(ValidatePublic(pkey.get(), type));
  // Strict DER: the canonical re-encoding must be the input (a compressed P-256 point is
  // re-encoded compressed when OpenSSL kept the input's point format).
  SECPROF_ASSIGN_OR_RETURN(Bytes re, PublicDer(pkey.get()));
  if (re.size() != spki.size() || !std::equal(re.begin(), re.end(), spki.begin())) {
    return Fail(ErrorCode::kInvalidInput, "SubjectPublicKeyInfo is not canonical DER");
  }
  return KeyAccess::MakePublic(std::move(pkey), type);
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  std::string label;
  SECPROF_ASSIGN_OR_RETURN(SecureBuffer der, ReadPem(pem, &label));
  if (label != "PUBLIC KEY") {
    return Fail(ErrorCode::kInvalidInput, "expected a PEM \"PUBLIC KEY\", got \"" + label + "\"");
  }
  return FromDer(der);
}

Result<PublicKey> PublicKey::FromP256Coordinates(ByteView x, ByteView y) {
  if (x.size() != kP256FieldSize || y.size() != kP256FieldSize) {
    return Fail(ErrorCode::kInvalidInput, "P-256 coordinates must be 32 bytes each");
  }
  Bytes point(1 + 2 * kP256FieldSize);
  point[0] = 0x04;  // SEC 1 §2.3.3 uncompressed
  std::copy(x.begin(), x.end(), point.begin() + 1);
  std::copy(y.begin(), y.end(), point.begin() + 1 + kP256FieldSize);
  return FromRaw(KeyType::kP256, point);
}

Result<PublicKey> PublicKey::FromRaw(KeyType type, ByteView raw) {
  EvpPkeyPtr pkey;
  if (type == KeyType::kP256) {
    const bool uncompressed = raw.size() == 65 && raw[0] == 0x04;
    const bool compressed = raw.size() == 33 && (raw[0] == 0x02 || raw[0] == 0x03);
    if (!uncompressed && !compressed) {
      return Fail(ErrorCode::kInvalidInput,
                  "P-256 point must be 65 bytes (0x04||x||y) or 33 bytes (0x02/0x03||x)");
    }
    SECPROF_ASSIGN_OR_RETURN(pkey, P256PublicFromPoint(raw));
  } else {
    if (raw.size() != RawKeySize(type)) {
      return Fail(ErrorCode::kInvalidInput, std::string(KeyTypeName(type)) +
                                                " public key must be " +
                                                std::to_string(RawKeySize(type)) + " bytes");
    }
    pkey.reset(
        EVP_PKEY_new_raw_public_key_ex(nullptr, OsslName(type), nullptr, raw.data(), raw.size()));
    if (!pkey) return Fail(OpenSslError("importing the raw public key", ErrorCode::kInvalidInput));
  }
  SECPROF_TRY(ValidatePublic(pkey.get(), type));
  return KeyAccess::MakePublic(std::move(pkey), type);
}

KeyType PublicKey::type() const { return impl_->type; }

Result<Bytes> PublicKey::ToDer() const { return PublicDer(impl_->pkey.get()); }

Result<std::string> PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), impl_->pkey.get()) != 1) {
    return Fail(OpenSslError("PEM_write_bio_PUBKEY"));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<P256Coordinates> PublicKey::ToP256Coordinates() const {
  if (impl_->type != KeyType::kP256) {
    return Fail(ErrorCode::kInvalidInput, "not a P-256 key");
  }
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  const int okx = EVP_PKEY_get_bn_param(impl_->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x);
  BnPtr xo(x);
  const int oky = EVP_PKEY_get_bn_param(impl_->pkey.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  BnPtr yo(y);
  if (okx != 1 || oky != 1) return Fail(OpenSslError("reading P-256 coordinates"));
  P256Coordinates c;
  SECPROF_ASSIGN_OR_RETURN(c.x, BnToFixed(x, kP256FieldSize));
  SECPROF_ASSIGN_OR_RETURN(c.y, BnToFixed(y, kP256FieldSize));
  return c;
}

Result<Bytes> PublicKey::ToRaw() const {
  if (impl_->type == KeyType::kP256) {
    SECPROF_ASSIGN_OR_RETURN(P256Coordinates c, ToP256Coordinates());
    Bytes out;
    out.reserve(65);
    out.push_back(0x04);
    out.insert(out.end(), c.x.begin(), c.x.end());
    out.insert(out.end(), c.y.begin(), c.y.end());
    return out;
  }
  Bytes out(RawKeySize(impl_->type));
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(impl_->pkey.get(), out.data(), &len) != 1 || len != out.size()) {
    return Fail(OpenSslError("EVP_PKEY_get_raw_public_key"));
  }
  return out;
}

bool operator==(const PublicKey& a, const PublicKey& b) {
  if (a.impl_ == b.impl_) return true;
  return a.impl_->type == b.impl_->type &&
         EVP_PKEY_eq(a.impl_->pkey.get(), b.impl_->pkey.get()) == 1;
}

Status PublicKey::Verify(SignatureAlgorithm alg, ByteView message, ByteView signature) const {
  SECPROF_TRY(CheckAlgFits(alg, impl_->type));
  SECPROF_ASSIGN_OR_RETURN(EVP_PKEY * pkey, CheckedPublic(*this));
  const auto bad = [](const char* why) {
    internal::ClearOpenSslErrors();
    return Fail(ErrorCode::kVerifyFailed, std::string("signature does not verify: ") + why);
  };

  if (IsEdDsa(impl_->type)) {
    // RFC 8032 §5.1.7 / §5.2.7 (PureEdDSA, empty context); OpenSSL rejects S >= L and
    // non-canonical R/A encodings.
    const bool ed448 = impl_->type == KeyType::kEd448;
    if (signature.size() != (ed448 ? kEd448SignatureSize : kEd25519SignatureSize))
      return bad(ed448 ? "Ed448 signature must be 114 bytes"
                       : "Ed25519 signature must be 64 bytes");
    internal::CtxLease<EvpMdCtxPtr> lease(impl_->mu, impl_->eddsa_verify);
    SECPROF_ASSIGN_OR_RETURN(EVP_MD_CTX * ctx, lease.Get([pkey]() -> Result<EvpMdCtxPtr> {
      EvpMdCtxPtr c(EVP_MD_CTX_new());
      if (!c || EVP_DigestVerifyInit_ex(c.get(), nullptr, nullptr, nullptr, nullptr, pkey,
                                        nullptr) != 1) {
        return Fail(OpenSslError("EdDSA verify init"));
      }
      return c;
    }));
    if (EVP_DigestVerify(ctx, signature.data(), signature.size(), internal::NonNull(message),
                         message.size()) != 1) {
      lease.Discard();
      return bad(ed448 ? "Ed448" : "Ed25519");
    }
    return Ok();
  }

  // ECDSA: reduce both encodings to a canonical DER signature, then verify the SHA-256 digest
  // (FIPS 186-5 §6.4.2; OpenSSL checks 1 <= r, s <= n-1).
  Bytes der;
  if (alg == SignatureAlgorithm::kEcdsaP256Sha256) {
    if (signature.size() != kP256RawSignatureSize)
      return bad("raw ECDSA signature must be 64 bytes");
    auto d = EcdsaP256RawToDer(signature);
    if (!d) return bad("bad r||s");
    der = std::move(*d);
  } else {
    if (!DecodeDerSig(signature)) return bad("not canonical DER");
    der.assign(signature.begin(), signature.end());
  }
  SECPROF_ASSIGN_OR_RETURN(Sha256Digest digest, Sha256(message));
  internal::CtxLease<EvpPkeyCtxPtr> lease(impl_->mu, impl_->ecdsa_verify);
  SECPROF_ASSIGN_OR_RETURN(EVP_PKEY_CTX * ctx, lease.Get([pkey]() -> Result<EvpPkeyCtxPtr> {
    EvpPkeyCtxPtr c(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!c || EVP_PKEY_verify_init(c.get()) != 1) return Fail(OpenSslError("ECDSA verify init"));
    return c;
  }));
  if (EVP_PKEY_verify(ctx, der.data(), der.size(), digest.data(), digest.size()) != 1) {
    lease.Discard();
    return bad("ECDSA");
  }
  return Ok();
}

// ---- PrivateKey ----

PrivateKey::PrivateKey(std::unique_ptr<Impl> impl, PublicKey pub)
    : impl_(std::move(impl)), public_key_(std::move(pub)) {}
PrivateKey::~PrivateKey() = default;
PrivateKey::PrivateKey(PrivateKey&&) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&&) noexcept = default;

KeyType PrivateKey::type() const { return public_key_.type(); }

Result<PrivateKey> PrivateKey::Generate(KeyType type) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, OsslName(type), nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return Fail(OpenSslError("keygen init"));
  if (type == KeyType::kP256) {
    char group[] = "P-256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_end()};
    if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) {
      return Fail(OpenSslError("keygen group"));
    }
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) return Fail(OpenSslError("key generation"));
  return KeyAccess::MakePrivate(EvpPkeyPtr(raw), type);
}

Result<PrivateKey> PrivateKey::Generate(KeyType type, Random& rng) {
  SecureBuffer secret(RawKeySize(type));
  // For P-256, a candidate is >= n with probability about 2^-32; 64 rejections in a row means
  // the source is broken, not unlucky.
  for (int attempt = 0; attempt < 64; ++attempt) {
    SECPROF_TRY(rng.Fill(secret.span()));
    if (type != KeyType::kP256 || P256ScalarInRange(secret)) return FromRaw(type, secret);
  }
  return Fail(ErrorCode::kCrypto, "random source gave no valid P-256 scalar in 64 draws");
}

Result<PrivateKey> PrivateKey::FromDer(ByteView der) {
  const unsigned char* p = der.data();
  EvpPkeyPtr pkey(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  if (!pkey) return Fail(OpenSslError("decoding the private key", ErrorCode::kInvalidInput));
  if (p != der.data() + der.size()) {
    return Fail(ErrorCode::kInvalidInput, "trailing bytes after the private key");
  }
  SECPROF_ASSIGN_OR_RETURN(KeyType type, Classify(pkey.get()));
  if (type == KeyType::kP256) {
    // The encoding may carry a public point that does not match d: check the pair.
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!ctx || EVP_PKEY_check(ctx.get()) != 1) {
      return Fail(OpenSslError("P-256 key pair check", ErrorCode::kInvalidInput));
    }
  }
  return KeyAccess::MakePrivate(std::move(pkey), type);
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  std::string label;
  SECPROF_ASSIGN_OR_RETURN(SecureBuffer der, ReadPem(pem, &label));
  if (label != "PRIVATE KEY" && label != "EC PRIVATE KEY") {
    return Fail(
        label == "ENCRYPTED PRIVATE KEY" ? ErrorCode::kUnsupported : ErrorCode::kInvalidInput,
        "expected a PEM \"PRIVATE KEY\", got \"" + label + "\"");
  }
  return FromDer(der);
}

Result<PrivateKey> PrivateKey::FromRaw(KeyType type, ByteView raw) {
  if (raw.size() != RawKeySize(type)) {
    return Fail(ErrorCode::kInvalidInput, std::string(KeyTypeName(type)) + " private key must be " +
                                              std::to_string(RawKeySize(type)) + " bytes");
  }
  EvpPkeyPtr pkey;
  if (type == KeyType::kP256) {
    if (!P256ScalarInRange(raw)) {
      return Fail(ErrorCode::kInvalidInput, "P-256 private scalar must be in [1, n-1]");
    }
    SecretBnPtr d(BN_secure_new());
    if (!d || BN_bin2bn(raw.data(), static_cast<int>(raw.size()), d.get()) == nullptr) {
      return Fail(OpenSslError("BN_bin2bn"));
    }
    BN_set_flags(d.get(), BN_FLG_CONSTTIME);
    SECPROF_ASSIGN_OR_RETURN(Bytes pub, P256PublicFromScalar(d.get()));
    internal::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                         pub.size()) != 1) {
      return Fail(OpenSslError("building key parameters"));
    }
    internal::OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    if (!params) return Fail(OpenSslError("OSSL_PARAM_BLD_to_param"));
    auto made = FromData("EC", params.get(), EVP_PKEY_KEYPAIR);
    // The built parameters hold a copy of d; OSSL_PARAM_free does not wipe it.
    for (OSSL_PARAM* p = params.get(); p->key != nullptr; ++p) {
      if (std::strcmp(p->key, OSSL_PKEY_PARAM_PRIV_KEY) == 0 && p->data != nullptr) {
        OPENSSL_cleanse(p->data, p->data_size);
      }
    }
    if (!made) return Fail(made.error());
    pkey = std::move(*made);
  } else {
    pkey.reset(
        EVP_PKEY_new_raw_private_key_ex(nullptr, OsslName(type), nullptr, raw.data(), raw.size()));
    if (!pkey) return Fail(OpenSslError("importing the raw private key", ErrorCode::kInvalidInput));
  }
  return KeyAccess::MakePrivate(std::move(pkey), type);
}

Result<SecureBuffer> PrivateKey::ToPem() const {
  if (!impl_) return Fail(ErrorCode::kInternal, "moved-from private key");
  return EncodePrivate(impl_->pkey.get(), "PEM");
}

Result<SecureBuffer> PrivateKey::ToDer() const {
  if (!impl_) return Fail(ErrorCode::kInternal, "moved-from private key");
  return EncodePrivate(impl_->pkey.get(), "DER");
}

Result<SecureBuffer> PrivateKey::ToRaw() const {
  if (!impl_) return Fail(ErrorCode::kInternal, "moved-from private key");
  SecureBuffer out(RawKeySize(impl_->type));
  if (impl_->type == KeyType::kP256) {
    BIGNUM* d = nullptr;
    if (EVP_PKEY_get_bn_param(impl_->pkey.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) {
      return Fail(OpenSslError("reading the private scalar"));
    }
    SecretBnPtr owned(d);
    if (BN_bn2binpad(d, out.data(), static_cast<int>(out.size())) < 0) {
      return Fail(ErrorCode::kInternal, "P-256 scalar longer than 32 bytes");
    }
    return out;
  }
  size_t len = out.size();
  if (EVP_PKEY_get_raw_private_key(impl_->pkey.get(), out.data(), &len) != 1 || len != out.size()) {
    return Fail(OpenSslError("EVP_PKEY_get_raw_private_key"));
  }
  return out;
}

Result<Bytes> PrivateKey::Sign(SignatureAlgorithm alg, ByteView message) const {
  if (!impl_) return Fail(ErrorCode::kInternal, "moved-from private key");
  SECPROF_TRY(CheckAlgFits(alg, impl_->type));
  EVP_PKEY* pkey = impl_->pkey.get();
  if (IsEdDsa(impl_->type)) {
    // RFC 8032 §5.1.6 / §5.2.6, PureEdDSA with an empty context.
    const size_t sig_size =
        impl_->type == KeyType::kEd448 ? kEd448SignatureSize : kEd25519SignatureSize;
    internal::CtxLease<EvpMdCtxPtr> lease(impl_->mu, impl_->eddsa_sign);
    SECPROF_ASSIGN_OR_RETURN(EVP_MD_CTX * ctx, lease.Get([pkey]() -> Result<EvpMdCtxPtr> {
      EvpMdCtxPtr c(EVP_MD_CTX_new());
      if (!c ||
          EVP_DigestSignInit_ex(c.get(), nullptr, nullptr, nullptr, nullptr, pkey, nullptr) != 1) {
        return Fail(OpenSslError("EdDSA sign init"));
      }
      return c;
    }));
    Bytes sig(sig_size);
    size_t len = sig.size();
    if (EVP_DigestSign(ctx, sig.data(), &len, internal::NonNull(message), message.size()) != 1 ||
        len != sig_size) {
      lease.Discard();
      return Fail(OpenSslError("EdDSA sign"));
    }
    return sig;
  }
  // ECDSA over SHA-256(message) (FIPS 186-5 §6.4.1); OpenSSL yields DER.
  SECPROF_ASSIGN_OR_RETURN(Sha256Digest digest, Sha256(message));
  internal::CtxLease<EvpPkeyCtxPtr> lease(impl_->mu, impl_->ecdsa_sign);
  SECPROF_ASSIGN_OR_RETURN(EVP_PKEY_CTX * ctx, lease.Get([pkey]() -> Result<EvpPkeyCtxPtr> {
    EvpPkeyCtxPtr c(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!c || EVP_PKEY_sign_init(c.get()) != 1) return Fail(OpenSslError("ECDSA sign init"));
    return c;
  }));
  uint8_t der[80];  // > 72, the longest P-256 Ecdsa-Sig-Value
  size_t len = sizeof(der);
  if (EVP_PKEY_sign(ctx, der, &len, digest.data(), digest.size()) != 1) {
    lease.Discard();
    return Fail(OpenSslError("ECDSA sign"));
  }
  if (alg == SignatureAlgorithm::kEcdsaP256Sha256Der) return Bytes(der, der + len);
  return OwnDerToRaw(ByteView(der, len));
}

// ---- ECDH ----

Result<SecureBuffer> DeriveSharedSecret(const PrivateKey& mine, const PublicKey& peer) {
  if (!KeyAccess::Valid(mine)) return Fail(ErrorCode::kInternal, "moved-from private key");
  if (IsEdDsa(mine.type()) || mine.type() != peer.type()) {
    return Fail(ErrorCode::kInvalidInput,
                std::string("key agreement needs two P-256 or two X25519 keys, got ") +
                    KeyTypeName(mine.type()) + " and " + KeyTypeName(peer.type()));
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, KeyAccess::Get(mine), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return Fail(OpenSslError("derive init"));
  // validate_peer = 0: every PublicKey was fully validated when it was made (ValidatePublic:
  // on the curve, not infinity, right order), and a PublicKey is immutable. Re-validating costs
  // a P-256 scalar multiplication per agreement (it halved the ECDH rate in bench_crypto).
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), KeyAccess::Get(peer), 0) != 1) {
    return Fail(OpenSslError("peer public key", ErrorCode::kInvalidInput));
  }
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len != 32) {
    return Fail(OpenSslError("derive length"));
  }
  SecureBuffer out(len);
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != 32) {
    // OpenSSL refuses an all-zero X25519 output (RFC 7748 §6.1) here.
    return Fail(OpenSslError("key agreement", ErrorCode::kInvalidInput));
  }
  // RFC 7748 §6.1: an all-zero X25519 output means a small-order peer point. (For P-256 an
  // all-zero x-coordinate is a legitimate result: the point (0, sqrt(b)) is on the curve.)
  if (mine.type() == KeyType::kX25519 &&
      std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; })) {
    return Fail(ErrorCode::kInvalidInput, "all-zero shared secret (RFC 7748 section 6.1)");
  }
  return out;
}

// ---- ECDSA encodings ----

Result<Bytes> EcdsaP256RawToDer(ByteView raw) {
  if (raw.size() != kP256RawSignatureSize) {
    return Fail(ErrorCode::kInvalidInput, "raw ECDSA P-256 signature must be 64 bytes");
  }
  BnPtr r(BN_bin2bn(raw.data(), 32, nullptr));
  BnPtr s(BN_bin2bn(raw.data() + 32, 32, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig) return Fail(OpenSslError("ECDSA_SIG"));
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return Fail(OpenSslError("ECDSA_SIG_set0"));
  r.release();  // now owned by sig
  s.release();
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return Fail(OpenSslError("i2d_ECDSA_SIG"));
  OpenSslBytesPtr owned(der);
  return Bytes(der, der + len);
}

Result<Bytes> EcdsaP256DerToRaw(ByteView der) {
  SECPROF_ASSIGN_OR_RETURN(EcdsaSigPtr sig, DecodeDerSig(der));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  SECPROF_ASSIGN_OR_RETURN(Bytes out, BnToFixed(r, 32));
  SECPROF_ASSIGN_OR_RETURN(Bytes sb, BnToFixed(s, 32));
  out.insert(out.end(), sb.begin(), sb.end());
  return out;
}

}  // namespace secprof::crypto
