#include "secprof/crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "internal.h"

namespace secprof::crypto {
namespace {

using internal::OpenSslError;

using internal::NonNull;

Result<EVP_MAC*> HmacAlgorithm() {
  static const internal::EvpMacPtr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return Fail(OpenSslError("fetching HMAC"));
  return mac.get();
}

Result<EVP_KDF*> HkdfAlgorithm() {
  static const internal::EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return Fail(OpenSslError("fetching HKDF"));
  return kdf.get();
}

// RFC 5869 through EVP_KDF "HKDF" in the given mode (EVP_KDF_HKDF_MODE_*). Absent (empty) salt or
// info parameters are left out, which OpenSSL reads as the RFC's defaults.
Result<SecureBuffer> Hkdf(int mode, ByteView key, ByteView salt, ByteView info, size_t length) {
  SECPROF_ASSIGN_OR_RETURN(EVP_KDF * kdf, HkdfAlgorithm());
  internal::EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return Fail(OpenSslError("EVP_KDF_CTX_new"));
  char digest[] = "SHA2-256";
  OSSL_PARAM params[6];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(NonNull(key)), key.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<uint8_t*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<uint8_t*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecureBuffer out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return Fail(OpenSslError("HKDF"));
  }
  return out;
}

Status CheckHkdfLength(size_t length) {
  if (length == 0 || length > kHkdfSha256MaxOutput) {
    return Fail(ErrorCode::kInvalidInput,
                "HKDF-SHA256 output length must be 1.." + std::to_string(kHkdfSha256MaxOutput) +
                    " bytes (RFC 5869 section 2.3), got " + std::to_string(length));
  }
  return Ok();
}

}  // namespace

Result<Sha256Digest> Sha256(ByteView data) {
  SECPROF_ASSIGN_OR_RETURN(const EVP_MD* md, internal::Sha256Md());
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(NonNull(data), data.size(), out.data(), &len, md, nullptr) != 1 ||
      len != kSha256Size) {
    return Fail(OpenSslError("SHA-256"));
  }
  return out;
}

struct Sha256Hasher::Impl {
  internal::EvpMdCtxPtr ctx;
  bool finished = false;
};

Sha256Hasher::Sha256Hasher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(Sha256Hasher&&) noexcept = default;
Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&&) noexcept = default;

Result<Sha256Hasher> Sha256Hasher::Create() {
  SECPROF_ASSIGN_OR_RETURN(const EVP_MD* md, internal::Sha256Md());
  auto impl = std::make_unique<Impl>();
  impl->ctx.reset(EVP_MD_CTX_new());
  if (!impl->ctx) return Fail(OpenSslError("EVP_MD_CTX_new"));
  if (EVP_DigestInit_ex2(impl->ctx.get(), md, nullptr) != 1) {
    return Fail(OpenSslError("EVP_DigestInit_ex2"));
  }
  return Sha256Hasher(std::move(impl));
}

Status Sha256Hasher::Update(ByteView data) {
  if (!impl_ || impl_->finished)
    return Fail(ErrorCode::kInternal, "Sha256Hasher used after Finish");
  if (data.empty()) return Ok();
  if (EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1) {
    return Fail(OpenSslError("EVP_DigestUpdate"));
  }
  return Ok();
}

Result<Sha256Digest> Sha256Hasher::Finish() {
  if (!impl_ || impl_->finished)
    return Fail(ErrorCode::kInternal, "Sha256Hasher used after Finish");
  impl_->finished = true;
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len) != 1 || len != kSha256Size) {
    return Fail(OpenSslError("EVP_DigestFinal_ex"));
  }
  return out;
}

Result<Sha256Digest> HmacSha256(ByteView key, ByteView data) {
  SECPROF_ASSIGN_OR_RETURN(EVP_MAC * mac, HmacAlgorithm());
  internal::EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return Fail(OpenSslError("EVP_MAC_CTX_new"));
  char digest[] = "SHA2-256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), NonNull(key), key.size(), params) != 1) {
    return Fail(OpenSslError("HMAC init"));
  }
  if (!data.empty() && EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) {
    return Fail(OpenSslError("HMAC update"));
  }
  Sha256Digest out{};
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != kSha256Size) {
    return Fail(OpenSslError("HMAC final"));
  }
  return out;
}

Status HmacSha256Verify(ByteView key, ByteView data, ByteView tag, size_t tag_size) {
  if (tag_size < kHmacMinTagSize || tag_size > kSha256Size) {
    return Fail(ErrorCode::kInvalidInput,
                "HMAC-SHA256 tag size must be " + std::to_string(kHmacMinTagSize) + "..32 bytes");
  }
  SECPROF_ASSIGN_OR_RETURN(Sha256Digest expected, HmacSha256(key, data));
  // The length is public; only the content comparison must not leak timing.
  const bool ok =
      tag.size() == tag_size && ConstantTimeEqual(ByteView(expected.data(), tag_size), tag);
  OPENSSL_cleanse(expected.data(), expected.size());
  if (!ok) return Fail(ErrorCode::kVerifyFailed, "HMAC-SHA256 tag does not verify");
  return Ok();
}

Result<SecureBuffer> HkdfSha256(ByteView ikm, ByteView salt, ByteView info, size_t length) {
  SECPROF_TRY(CheckHkdfLength(length));
  return Hkdf(EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND, ikm, salt, info, length);
}

Result<SecureBuffer> HkdfSha256Extract(ByteView salt, ByteView ikm) {
  return Hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, {}, kSha256Size);
}

Result<SecureBuffer> HkdfSha256Expand(ByteView prk, ByteView info, size_t length) {
  SECPROF_TRY(CheckHkdfLength(length));
  if (prk.size() < kSha256Size) {
    return Fail(ErrorCode::kInvalidInput,
                "HKDF-Expand needs a PRK of at least 32 bytes (RFC 5869 section 2.3)");
  }
  return Hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, {}, info, length);
}

}  // namespace secprof::crypto
