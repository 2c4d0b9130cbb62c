#include "secprof/crypto/aead.h"

#include <climits>
#include <cstring>

#include "internal.h"

namespace secprof::crypto {
namespace {

using internal::EvpCipherCtxPtr;
using internal::OpenSslError;

using internal::NonNull;

// The EVP cipher for (mode, key size), fetched once per process.
Result<const EVP_CIPHER*> CipherFor(Aead::Mode mode, size_t key_size) {
  static const internal::EvpCipherPtr ccm128(EVP_CIPHER_fetch(nullptr, "AES-128-CCM", nullptr));
  static const internal::EvpCipherPtr ccm192(EVP_CIPHER_fetch(nullptr, "AES-192-CCM", nullptr));
  static const internal::EvpCipherPtr ccm256(EVP_CIPHER_fetch(nullptr, "AES-256-CCM", nullptr));
  static const internal::EvpCipherPtr gcm128(EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr));
  static const internal::EvpCipherPtr gcm192(EVP_CIPHER_fetch(nullptr, "AES-192-GCM", nullptr));
  static const internal::EvpCipherPtr gcm256(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  const EVP_CIPHER* c = nullptr;
  const bool ccm = mode == Aead::Mode::kAesCcm;
  switch (key_size) {
    case 16:
      c = ccm ? ccm128.get() : gcm128.get();
      break;
    case 24:
      c = ccm ? ccm192.get() : gcm192.get();
      break;
    case 32:
      c = ccm ? ccm256.get() : gcm256.get();
      break;
    default:
      break;
  }
  if (c == nullptr) return Fail(OpenSslError("fetching the AES cipher"));
  return c;
}

// A cipher context reused by this thread: allocating one per call costs a noticeable share of a
// 64-byte seal. EVP_CIPHER_CTX_reset after each use wipes the key schedule (OpenSSL cleanses the
// provider context when it is freed or reset).
class ThreadCipherCtx {
 public:
  static Result<EVP_CIPHER_CTX*> Acquire() {
    thread_local EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx) return Fail(OpenSslError("EVP_CIPHER_CTX_new"));
    return ctx.get();
  }
};

// Resets the context on scope exit, so no key schedule outlives the call.
struct ResetOnExit {
  EVP_CIPHER_CTX* ctx;
  ~ResetOnExit() { EVP_CIPHER_CTX_reset(ctx); }
};

Status CheckNonce(const Aead& a, ByteView nonce) {
  if (nonce.size() != a.nonce_size()) {
    return Fail(ErrorCode::kInvalidInput, "AEAD nonce must be " + std::to_string(a.nonce_size()) +
                                              " bytes, got " + std::to_string(nonce.size()));
  }
  return Ok();
}

Status CheckSizes(const Aead& a, ByteView key, ByteView nonce) {
  if (key.size() != a.key_size()) {
    return Fail(ErrorCode::kInvalidInput, "AEAD key must be " + std::to_string(a.key_size()) +
                                              " bytes, got " + std::to_string(key.size()));
  }
  return CheckNonce(a, nonce);
}

// Binds a context to (cipher, direction, nonce length, tag length, key), in the order OpenSSL's
// CCM requires (EVP_EncryptInit_ex(3), "CCM Mode"): the nonce and tag lengths before the key.
// The direction is fixed here, with the key: OpenSSL's AES-NI CCM picks its encrypt or decrypt
// block function when the key is set, so a context keyed for sealing cannot open.
Status SetupKey(EVP_CIPHER_CTX* ctx, const Aead& a, ByteView key, bool encrypt) {
  SECPROF_ASSIGN_OR_RETURN(const EVP_CIPHER* cipher, CipherFor(a.mode(), a.key_size()));
  if (EVP_CipherInit_ex(ctx, cipher, nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(a.nonce_size()),
                          nullptr) != 1) {
    return Fail(OpenSslError("AEAD init"));
  }
  // CCM fixes the tag length before the key (for opening, the value is set per message).
  if (a.mode() == Aead::Mode::kAesCcm &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(a.tag_size()), nullptr) !=
          1) {
    return Fail(OpenSslError("AES-CCM tag length"));
  }
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nullptr, -1) != 1) {
    return Fail(OpenSslError("AEAD key"));
  }
  return Ok();
}

// One Seal on a context keyed for encryption. REQUIRES sizes checked by the caller.
Result<size_t> SealOp(EVP_CIPHER_CTX* ctx, const Aead& a, ByteView nonce, ByteView aad,
                      ByteView plaintext, std::span<uint8_t> out) {
  if (plaintext.size() > a.max_plaintext_size()) {
    return Fail(ErrorCode::kLimit, "AEAD plaintext too long for this nonce size");
  }
  if (aad.size() > INT_MAX) return Fail(ErrorCode::kLimit, "AEAD associated data too long");
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), 1) != 1) {
    return Fail(OpenSslError("AEAD nonce"));
  }
  const bool ccm = a.mode() == Aead::Mode::kAesCcm;
  if (out.size() < plaintext.size() + a.tag_size()) {
    return Fail(ErrorCode::kInvalidInput, "AEAD output buffer too small");
  }
  int len = 0;
  // CCM needs the total plaintext length before any AAD (EVP_EncryptInit_ex(3), "CCM Mode").
  if (ccm &&
      EVP_EncryptUpdate(ctx, nullptr, &len, nullptr, static_cast<int>(plaintext.size())) != 1) {
    return Fail(OpenSslError("AES-CCM length"));
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Fail(OpenSslError("AEAD aad"));
  }
  int total = 0;
  if (!plaintext.empty() || ccm) {
    // CCM must see one (possibly empty) payload update to produce the tag; out is never null
    // here because it has room for the tag.
    if (EVP_EncryptUpdate(ctx, out.data(), &len, NonNull(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return Fail(OpenSslError("AEAD encrypt"));
    }
    total = len;
  }
  if (EVP_EncryptFinal_ex(ctx, out.data() + total, &len) != 1) {
    return Fail(OpenSslError("AEAD final"));
  }
  total += len;
  if (static_cast<size_t>(total) != plaintext.size()) {
    return Fail(ErrorCode::kInternal, "AEAD produced an unexpected ciphertext length");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(a.tag_size()),
                          out.data() + plaintext.size()) != 1) {
    return Fail(OpenSslError("AEAD get tag"));
  }
  return plaintext.size() + a.tag_size();
}

// One Open on a context keyed for decryption. REQUIRES sizes checked by the caller.
Result<size_t> OpenOp(EVP_CIPHER_CTX* ctx, const Aead& a, ByteView nonce, ByteView aad,
                      ByteView ciphertext_and_tag, std::span<uint8_t> out) {
  if (ciphertext_and_tag.size() < a.tag_size()) {
    return Fail(ErrorCode::kVerifyFailed, "AEAD input shorter than the tag");
  }
  const size_t ct_len = ciphertext_and_tag.size() - a.tag_size();
  if (ct_len > a.max_plaintext_size()) {
    return Fail(ErrorCode::kVerifyFailed, "AEAD ciphertext too long for this nonce size");
  }
  if (aad.size() > INT_MAX) return Fail(ErrorCode::kLimit, "AEAD associated data too long");
  const ByteView ct = ciphertext_and_tag.first(ct_len);
  const uint8_t* tag = ciphertext_and_tag.data() + ct_len;
  const bool ccm = a.mode() == Aead::Mode::kAesCcm;
  // Decrypt direction and nonce first: OpenSSL takes an expected tag only when decrypting.
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data(), 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(a.tag_size()),
                          const_cast<uint8_t*>(tag)) != 1) {
    return Fail(OpenSslError("AEAD nonce/tag"));
  }
  if (out.size() < ct_len) return Fail(ErrorCode::kInvalidInput, "AEAD output buffer too small");
  int len = 0;
  if (ccm && EVP_DecryptUpdate(ctx, nullptr, &len, nullptr, static_cast<int>(ct_len)) != 1) {
    return Fail(OpenSslError("AES-CCM length"));
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return Fail(OpenSslError("AEAD aad"));
  }
  bool ok = true;
  if (ccm) {
    // CCM verifies the tag inside this single update (EVP_EncryptInit_ex(3), "CCM Mode").
    // Output must be non-null even for an empty payload: OpenSSL reads (out == NULL) as an AAD
    // or length call and would then skip the tag check entirely.
    uint8_t empty_out[1];
    uint8_t* dst = ct_len == 0 ? empty_out : out.data();
    ok = EVP_DecryptUpdate(ctx, dst, &len, NonNull(ct), static_cast<int>(ct_len)) == 1;
  } else {
    int total = 0;
    if (ct_len != 0) {
      ok = EVP_DecryptUpdate(ctx, out.data(), &len, ct.data(), static_cast<int>(ct_len)) == 1;
      total = len;
    }
    uint8_t final_out[16];
    ok = ok && EVP_DecryptFinal_ex(ctx, ct_len == 0 ? final_out : out.data() + total, &len) == 1;
  }
  if (!ok) {
    // Release nothing that was decrypted under a bad tag.
    if (ct_len != 0) OPENSSL_cleanse(out.data(), ct_len);
    internal::ClearOpenSslErrors();
    return Fail(ErrorCode::kVerifyFailed, "AEAD tag does not verify");
  }
  return ct_len;
}

}  // namespace

Result<Aead> Aead::AesCcm(size_t key_size, size_t nonce_size, size_t tag_size) {
  if (key_size != 16 && key_size != 24 && key_size != 32) {
    return Fail(ErrorCode::kInvalidInput, "AES key must be 16, 24 or 32 bytes");
  }
  if (nonce_size < 7 || nonce_size > 13) {
    return Fail(
        ErrorCode::kInvalidInput,
        "AES-CCM nonce must be 7..13 bytes (SP 800-38C A.1), got " + std::to_string(nonce_size));
  }
  if (tag_size < 4 || tag_size > 16 || tag_size % 2 != 0) {
    return Fail(ErrorCode::kInvalidInput,
                "AES-CCM tag must be 4, 6, ..., 16 bytes (SP 800-38C A.1), got " +
                    std::to_string(tag_size));
  }
  return Aead(Mode::kAesCcm, key_size, nonce_size, tag_size);
}

Result<Aead> Aead::AesGcm(size_t key_size, size_t nonce_size, size_t tag_size) {
  if (key_size != 16 && key_size != 24 && key_size != 32) {
    return Fail(ErrorCode::kInvalidInput, "AES key must be 16, 24 or 32 bytes");
  }
  if (nonce_size != 12) {
    return Fail(ErrorCode::kInvalidInput, "AES-GCM nonce must be 12 bytes");
  }
  if (tag_size < 12 || tag_size > 16) {
    return Fail(ErrorCode::kInvalidInput, "AES-GCM tag must be 12..16 bytes (SP 800-38D 5.2.1.2)");
  }
  return Aead(Mode::kAesGcm, key_size, nonce_size, tag_size);
}

Result<Aead> Aead::FromCoseAlgorithm(int64_t alg) {
  switch (alg) {
    // RFC 9053 §4.1, Table 5: AES-GCM, 96-bit nonce, 128-bit tag.
    case kCoseA128Gcm:
      return AesGcm(16);
    case kCoseA192Gcm:
      return AesGcm(24);
    case kCoseA256Gcm:
      return AesGcm(32);
    // RFC 9053 §4.2, Table 6: AES-CCM-L-M-k, nonce 15 - L/8 bytes, tag M/8 bytes.
    case kCoseAesCcm16_64_128:
      return AesCcm(16, 13, 8);
    case kCoseAesCcm16_64_256:
      return AesCcm(32, 13, 8);
    case kCoseAesCcm64_64_128:
      return AesCcm(16, 7, 8);
    case kCoseAesCcm64_64_256:
      return AesCcm(32, 7, 8);
    case kCoseAesCcm16_128_128:
      return AesCcm(16, 13, 16);
    case kCoseAesCcm16_128_256:
      return AesCcm(32, 13, 16);
    case kCoseAesCcm64_128_128:
      return AesCcm(16, 7, 16);
    case kCoseAesCcm64_128_256:
      return AesCcm(32, 7, 16);
    default:
      return Fail(ErrorCode::kUnsupported,
                  "COSE content encryption algorithm " + std::to_string(alg) + " not supported");
  }
}

size_t Aead::max_plaintext_size() const {
  const size_t int_cap = static_cast<size_t>(INT_MAX) - tag_size_;
  if (mode_ == Mode::kAesGcm) return int_cap;
  const size_t q = 15 - nonce_size_;  // bytes of the length field
  if (q >= sizeof(size_t)) return int_cap;
  const size_t ccm_cap = (size_t{1} << (8 * q)) - 1;
  return ccm_cap < int_cap ? ccm_cap : int_cap;
}

Result<Bytes> Aead::Seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) const {
  SECPROF_TRY(CheckSizes(*this, key, nonce));
  SECPROF_ASSIGN_OR_RETURN(EVP_CIPHER_CTX * ctx, ThreadCipherCtx::Acquire());
  ResetOnExit reset{ctx};
  SECPROF_TRY(SetupKey(ctx, *this, key, true));
  Bytes out(plaintext.size() + tag_size_);
  SECPROF_TRY(SealOp(ctx, *this, nonce, aad, plaintext, out));
  return out;
}

Result<Bytes> Aead::Open(ByteView key, ByteView nonce, ByteView aad,
                         ByteView ciphertext_and_tag) const {
  SECPROF_TRY(CheckSizes(*this, key, nonce));
  SECPROF_ASSIGN_OR_RETURN(EVP_CIPHER_CTX * ctx, ThreadCipherCtx::Acquire());
  ResetOnExit reset{ctx};
  SECPROF_TRY(SetupKey(ctx, *this, key, false));
  Bytes out(ciphertext_and_tag.size() >= tag_size_ ? ciphertext_and_tag.size() - tag_size_ : 0);
  SECPROF_TRY(OpenOp(ctx, *this, nonce, aad, ciphertext_and_tag, out));
  return out;
}

Result<SecureBuffer> Aead::OpenSecret(ByteView key, ByteView nonce, ByteView aad,
                                      ByteView ciphertext_and_tag) const {
  SECPROF_TRY(CheckSizes(*this, key, nonce));
  SECPROF_ASSIGN_OR_RETURN(EVP_CIPHER_CTX * ctx, ThreadCipherCtx::Acquire());
  ResetOnExit reset{ctx};
  SECPROF_TRY(SetupKey(ctx, *this, key, false));
  SecureBuffer out(ciphertext_and_tag.size() >= tag_size_ ? ciphertext_and_tag.size() - tag_size_
                                                          : 0);
  SECPROF_TRY(OpenOp(ctx, *this, nonce, aad, ciphertext_and_tag, out.span()));
  return out;
}

// ---- AeadKey ----

struct AeadKey::Impl {
  // One context per direction (see SetupKey); EVP_CIPHER_CTX_free cleanses the key schedules.
  EvpCipherCtxPtr seal;
  EvpCipherCtxPtr open;
};

AeadKey::AeadKey(Aead aead, std::unique_ptr<Impl> impl) : aead_(aead), impl_(std::move(impl)) {}
AeadKey::~AeadKey() = default;
AeadKey::AeadKey(AeadKey&&) noexcept = default;
AeadKey& AeadKey::operator=(AeadKey&&) noexcept = default;

Result<AeadKey> AeadKey::Create(const Aead& aead, ByteView key) {
  if (key.size() != aead.key_size()) {
    return Fail(ErrorCode::kInvalidInput, "AEAD key must be " + std::to_string(aead.key_size()) +
                                              " bytes, got " + std::to_string(key.size()));
  }
  auto impl = std::make_unique<Impl>();
  impl->seal.reset(EVP_CIPHER_CTX_new());
  impl->open.reset(EVP_CIPHER_CTX_new());
  if (!impl->seal || !impl->open) return Fail(OpenSslError("EVP_CIPHER_CTX_new"));
  SECPROF_TRY(SetupKey(impl->seal.get(), aead, key, true));
  SECPROF_TRY(SetupKey(impl->open.get(), aead, key, false));
  return AeadKey(aead, std::move(impl));
}

Result<Bytes> AeadKey::Seal(ByteView nonce, ByteView aad, ByteView plaintext) {
  if (!impl_) return Fail(ErrorCode::kInternal, "moved-from AeadKey");
  Bytes out(plaintext.size() + aead_.tag_size());
  SECPROF_TRY(SealInto(nonce, aad, plaintext, out));
  return out;
}

Result<size_t> AeadKey::SealInto(ByteView nonce, ByteView aad, ByteView plaintext,
                                 std::span<uint8_t> out) {
  if (!impl_) return Fail(ErrorCode::kInternal, "moved-from AeadKey");
  SECPROF_TRY(CheckNonce(aead_, nonce));
  return SealOp(impl_->seal.get(), aead_, nonce, aad, plaintext, out);
}

Result<Bytes> AeadKey::Open(ByteView nonce, ByteView aad, ByteView ciphertext_and_tag) {
  if (!impl_) return Fail(ErrorCode::kInternal, "moved-from AeadKey");
  Bytes out(ciphertext_and_tag.size() >= aead_.tag_size()
                ? ciphertext_and_tag.size() - aead_.tag_size()
                : 0);
  SECPROF_TRY(OpenInto(nonce, aad, ciphertext_and_tag, out));
  return out;
}

Result<size_t> AeadKey::OpenInto(ByteView nonce, ByteView aad, ByteView ciphertext_and_tag,
                                 std::span<uint8_t> out) {
  if (!impl_) return Fail(ErrorCode::kInternal, "moved-from AeadKey");
  SECPROF_TRY(CheckNonce(aead_, nonce));
  return OpenOp(impl_->open.get(), aead_, nonce, aad, ciphertext_and_tag, out);
}

}  // namespace secprof::crypto
