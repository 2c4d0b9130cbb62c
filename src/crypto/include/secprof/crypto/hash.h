// secprof/crypto/hash.h — SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and HKDF-SHA256
// (RFC 5869), on OpenSSL's EVP interfaces.
//
//   SECPROF_ASSIGN_OR_RETURN(Sha256Digest d, Sha256(data));
//
//   SECPROF_ASSIGN_OR_RETURN(Sha256Hasher h, Sha256Hasher::Create());   // large inputs
//   while (more) SECPROF_TRY(h.Update(chunk));
//   SECPROF_ASSIGN_OR_RETURN(Sha256Digest d, h.Finish());
//
//   SECPROF_ASSIGN_OR_RETURN(SecureBuffer okm, HkdfSha256(ikm, salt, info, 16));
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::crypto {

inline constexpr size_t kSha256Size = 32;       // FIPS 180-4 §1: 256-bit digest
inline constexpr size_t kSha256BlockSize = 64;  // FIPS 180-4 §1: 512-bit block
using Sha256Digest = std::array<uint8_t, kSha256Size>;

// SHA-256 of `data`.
Result<Sha256Digest> Sha256(ByteView data);

// Incremental SHA-256 for inputs that do not fit in memory (firmware images). Move-only.
class Sha256Hasher {
 public:
  static Result<Sha256Hasher> Create();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&&) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&&) noexcept;
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  // REQUIRES: Finish() not yet called (else kInternal).
  Status Update(ByteView data);
  // The digest of everything passed to Update. After Finish the hasher is spent: Update and
  // Finish fail with kInternal.
  Result<Sha256Digest> Finish();

 private:
  struct Impl;
  explicit Sha256Hasher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// HMAC-SHA256 (RFC 2104, with SHA-256 per RFC 4231): the full 32-byte tag. Any key length.
Result<Sha256Digest> HmacSha256(ByteView key, ByteView data);

// Checks `tag` against HMAC-SHA256(key, data) truncated to its first `tag_size` bytes (RFC 2104
// §5; COSE "HMAC 256/64" uses 8, RFC 9053 §3.1), comparing in constant time.
// Fails with kVerifyFailed when tag.size() != tag_size or the bytes differ; kInvalidInput when
// tag_size is outside [kHmacMinTagSize, kSha256Size].
inline constexpr size_t kHmacMinTagSize = 8;
Status HmacSha256Verify(ByteView key, ByteView data, ByteView tag, size_t tag_size = kSha256Size);

// HKDF-SHA256, RFC 5869. The output length L must be 1..255*HashLen = 8160 (§2.3), else
// kInvalidInput. An empty salt means HashLen zero bytes (§2.2).
inline constexpr size_t kHkdfSha256MaxOutput = 255 * kSha256Size;
// Extract then expand (§2.2 + §2.3).
Result<SecureBuffer> HkdfSha256(ByteView ikm, ByteView salt, ByteView info, size_t length);
// HKDF-Extract (§2.2): PRK = HMAC-Hash(salt, IKM), 32 bytes.
Result<SecureBuffer> HkdfSha256Extract(ByteView salt, ByteView ikm);
// HKDF-Expand (§2.3) from a PRK of at least HashLen bytes (else kInvalidInput).
Result<SecureBuffer> HkdfSha256Expand(ByteView prk, ByteView info, size_t length);

}  // namespace secprof::crypto
