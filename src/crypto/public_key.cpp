// PublicKey: import, export, comparison and signature verification.
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

}  // namespace secprof::crypto
