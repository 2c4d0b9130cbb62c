// secprof/crypto/aead.h — authenticated encryption: AES-CCM (NIST SP 800-38C, RFC 3610) with
// parameterised key, nonce and tag sizes, and AES-GCM (NIST SP 800-38D).
//
// An Aead is a small value describing one parameter set; it holds no key. Seal returns
// ciphertext || tag (the layout COSE, OSCORE and DTLS use); Open takes the same layout.
//
//   SECPROF_ASSIGN_OR_RETURN(Aead aead, Aead::FromCoseAlgorithm(kCoseAesCcm16_64_128));  // OSCORE
//   SECPROF_ASSIGN_OR_RETURN(Bytes ct, aead.Seal(key, nonce, aad, plaintext));
//   auto pt = aead.Open(key, nonce, aad, ct);   // kVerifyFailed when anything was altered
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::crypto {

// COSE algorithm identifiers (RFC 9053 §4.1 Table 5 for GCM, §4.2 Table 6 for CCM; IANA COSE
// Algorithms registry). AES-CCM-<L bits>-<tag bits>-<key bits>: L=16 means a 13-byte nonce,
// L=64 a 7-byte nonce (nonce = 15 - L/8 bytes, RFC 9053 §4.2).
inline constexpr int64_t kCoseA128Gcm = 1;
inline constexpr int64_t kCoseA192Gcm = 2;
inline constexpr int64_t kCoseA256Gcm = 3;
inline constexpr int64_t kCoseAesCcm16_64_128 = 10;  // OSCORE's default (RFC 8613 §3.2.1)
inline constexpr int64_t kCoseAesCcm16_64_256 = 11;
inline constexpr int64_t kCoseAesCcm64_64_128 = 12;
inline constexpr int64_t kCoseAesCcm64_64_256 = 13;
inline constexpr int64_t kCoseAesCcm16_128_128 = 30;
inline constexpr int64_t kCoseAesCcm16_128_256 = 31;
inline constexpr int64_t kCoseAesCcm64_128_128 = 32;
inline constexpr int64_t kCoseAesCcm64_128_256 = 33;

class Aead {
 public:
  enum class Mode { kAesCcm, kAesGcm };

  // AES-CCM. key_size 16, 24 or 32 bytes; nonce_size 7..13 (SP 800-38C A.1: n = 15 - q, q in
  // 2..8); tag_size 4, 6, ..., 16 (SP 800-38C A.1; RFC 3610 §2). Else kInvalidInput.
  // DTLS 1.2 AES_128_CCM_8 (RFC 6655 §3): AesCcm(16, 12, 8); AES_128_CCM: AesCcm(16, 12, 16).
  static Result<Aead> AesCcm(size_t key_size, size_t nonce_size, size_t tag_size);
  // AES-GCM. key_size 16, 24 or 32; nonce_size 12 (the only size we accept; SP 800-38D §5.2.1.1
  // recommends it); tag_size 12..16 (SP 800-38D §5.2.1.2). Else kInvalidInput.
  static Result<Aead> AesGcm(size_t key_size, size_t nonce_size = 12, size_t tag_size = 16);
  // The parameter set for a COSE content-encryption algorithm: 1..3 (GCM), 10..13 and 30..33
  // (CCM). Other identifiers: kUnsupported.
  static Result<Aead> FromCoseAlgorithm(int64_t alg);

  Mode mode() const { return mode_; }
  size_t key_size() const { return key_size_; }
  size_t nonce_size() const { return nonce_size_; }
  size_t tag_size() const { return tag_size_; }
  // Longest plaintext accepted: for CCM 2^(8*(15-nonce_size)) - 1 bytes (SP 800-38C A.1),
  // capped at what fits in an int for OpenSSL; for GCM, INT_MAX - tag_size.
  size_t max_plaintext_size() const;

  // Encrypts and authenticates. Returns ciphertext || tag (plaintext.size() + tag_size() bytes).
  // REQUIRES key.size() == key_size(), nonce.size() == nonce_size(), plaintext not longer than
  // max_plaintext_size(); else kInvalidInput (kLimit for length). The caller must never reuse a
  // nonce with the same key.
  Result<Bytes> Seal(ByteView key, ByteView nonce, ByteView aad, ByteView plaintext) const;

  // Checks and decrypts ciphertext || tag. kVerifyFailed when the tag does not match (tampered
  // ciphertext, tag, aad, nonce or wrong key) or the input is shorter than the tag; no plaintext
  // is released then. kInvalidInput for wrong key or nonce sizes.
  Result<Bytes> Open(ByteView key, ByteView nonce, ByteView aad, ByteView ciphertext_and_tag) const;
  // The same for a plaintext that is a secret (a wrapped key): it is decrypted straight into a
  // SecureBuffer, so no ordinary heap block ever holds it.
  Result<SecureBuffer> OpenSecret(ByteView key, ByteView nonce, ByteView aad,
                                  ByteView ciphertext_and_tag) const;

 private:
  Aead(Mode mode, size_t key_size, size_t nonce_size, size_t tag_size)
      : mode_(mode), key_size_(key_size), nonce_size_(nonce_size), tag_size_(tag_size) {}
  Mode mode_;
  size_t key_size_;
  size_t nonce_size_;
  size_t tag_size_;
};

// A key bound to one Aead parameter set, for many messages under the same key (an OSCORE
// security context, a DTLS epoch): the AES key schedule is computed once in Create instead of on
// every Seal/Open. Holds the key (inside OpenSSL's cipher context, wiped when it is released).
// Move-only; not thread-safe (one context per AeadKey: use one per thread).
//
//   SECPROF_ASSIGN_OR_RETURN(AeadKey k, AeadKey::Create(aead, sender_key));
//   SECPROF_ASSIGN_OR_RETURN(Bytes ct, k.Seal(nonce, aad, plaintext));
class AeadKey {
 public:
  // kInvalidInput unless key.size() == aead.key_size().
  static Result<AeadKey> Create(const Aead& aead, ByteView key);
  ~AeadKey();
  AeadKey(AeadKey&&) noexcept;
  AeadKey& operator=(AeadKey&&) noexcept;
  AeadKey(const AeadKey&) = delete;
  AeadKey& operator=(const AeadKey&) = delete;

  const Aead& aead() const { return aead_; }
  // Same contracts as Aead::Seal / Aead::Open with this key.
  Result<Bytes> Seal(ByteView nonce, ByteView aad, ByteView plaintext);
  Result<Bytes> Open(ByteView nonce, ByteView aad, ByteView ciphertext_and_tag);
  // The same without allocating, for packet buffers: write into `out`, return the bytes written
  // (plaintext.size() + tag_size(), resp. ciphertext_and_tag.size() - tag_size()).
  // kInvalidInput when `out` is too small. After a failed OpenInto, `out` holds no plaintext.
  Result<size_t> SealInto(ByteView nonce, ByteView aad, ByteView plaintext, std::span<uint8_t> out);
  Result<size_t> OpenInto(ByteView nonce, ByteView aad, ByteView ciphertext_and_tag,
                          std::span<uint8_t> out);

  struct Impl;  // defined in the module's internals only

 private:
  AeadKey(Aead aead, std::unique_ptr<Impl> impl);
  Aead aead_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace secprof::crypto
