// Helpers of the key sources (key_util.h), key type and algorithm names, KeyAccess.
#include "key_util.h"

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

#include "secprof/core/enum_names.h"
#include "secprof/crypto/hash.h"

namespace secprof::crypto {
namespace internal {

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

}  // namespace internal

using namespace internal;  // the handle types and key_util.h

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

}  // namespace secprof::crypto
