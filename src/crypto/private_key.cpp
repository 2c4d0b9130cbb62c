// PrivateKey (generation, import, export, signing), ECDH and the ECDSA signature encodings.
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
#include "key_util.h"
#include "secprof/core/enum_names.h"
#include "secprof/crypto/hash.h"
namespace secprof::crypto {

using namespace internal;  // the handle types and key_util.h

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
