// secprof/crypto/keys.h — asymmetric keys: ECDSA P-256 with SHA-256, Ed25519 and Ed448
// (RFC 8032), and key agreement with ECDH P-256 (SEC 1 §3.3.1) and X25519 (RFC 7748).
//
// PublicKey and PrivateKey are opaque (the OpenSSL key lives behind a pimpl). PublicKey is a cheap,
// copyable, immutable handle; PrivateKey is move-only. Every import validates the key: points must
// lie on the curve, P-256 keys must name the curve (explicit curve parameters are refused), and
// encodings must be strict DER.
//
//   SECPROF_ASSIGN_OR_RETURN(PrivateKey sk, PrivateKey::Generate(KeyType::kP256));
//   SECPROF_ASSIGN_OR_RETURN(Bytes sig, sk.Sign(SignatureAlgorithm::kEcdsaP256Sha256, msg));
//   SECPROF_TRY(sk.public_key().Verify(SignatureAlgorithm::kEcdsaP256Sha256, msg, sig));
//
//   // COSE_Key (RFC 9053 §7.1.1): EC2 with x and y
//   SECPROF_ASSIGN_OR_RETURN(PublicKey pk, PublicKey::FromP256Coordinates(x, y));
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::crypto {

enum class KeyType {
  kP256,     // secp256r1 / prime256v1 (SEC 2 §2.4.2): ECDSA and ECDH
  kEd25519,  // RFC 8032 §5.1: EdDSA signatures only
  kX25519,   // RFC 7748 §5: key agreement only
  kEd448,    // RFC 8032 §5.2: EdDSA signatures only
};
const char* KeyTypeName(KeyType type);

enum class SignatureAlgorithm {
  // ECDSA over P-256 with SHA-256, signature as raw r || s, each 32 bytes big-endian (IEEE P1363;
  // the COSE encoding, RFC 9053 §2.1; COSE alg -7 "ES256").
  kEcdsaP256Sha256,
  // The same signature DER-encoded as Ecdsa-Sig-Value (RFC 3279 §2.2.3; X.509, CSRs, TLS).
  kEcdsaP256Sha256Der,
  // PureEdDSA Ed25519 (RFC 8032 §5.1), 64-byte signature (COSE alg -8 "EdDSA", RFC 9053 §2.2).
  kEd25519,
  // PureEdDSA Ed448 (RFC 8032 §5.2) with an empty context, 114-byte signature (COSE alg -8
  // "EdDSA" with an OKP Ed448 key, RFC 9053 §2.2).
  kEd448,
};
const char* SignatureAlgorithmName(SignatureAlgorithm alg);
// The key type that can produce/verify `alg`.
KeyType KeyTypeFor(SignatureAlgorithm alg);

// COSE algorithm identifiers for signatures (RFC 9053 §2; IANA COSE Algorithms registry).
inline constexpr int64_t kCoseEs256 = -7;
inline constexpr int64_t kCoseEdDsa = -8;

inline constexpr size_t kP256FieldSize = 32;         // bytes in a P-256 coordinate or scalar
inline constexpr size_t kP256RawSignatureSize = 64;  // r || s
inline constexpr size_t kEd25519KeySize = 32;  // public key and private seed (RFC 8032 §5.1.5)
inline constexpr size_t kEd25519SignatureSize = 64;
inline constexpr size_t kX25519KeySize = 32;  // RFC 7748 §5
inline constexpr size_t kEd448KeySize = 57;   // public key and private seed (RFC 8032 §5.2.5)
inline constexpr size_t kEd448SignatureSize = 114;

// The affine coordinates of a P-256 point, each exactly 32 bytes big-endian (SEC 1 §2.3.5).
struct P256Coordinates {
  Bytes x;
  Bytes y;
};

class PublicKey {
 public:
  // SubjectPublicKeyInfo (RFC 5280 §4.1.2.7; RFC 5480 for EC, RFC 8410 for Ed25519/X25519), PEM
  // ("-----BEGIN PUBLIC KEY-----", the first PEM block of the text) or DER: strict DER, nothing
  // trailing.
  static Result<PublicKey> FromPem(std::string_view pem);
  static Result<PublicKey> FromDer(ByteView spki);
  // P-256 from affine coordinates (COSE_Key EC2 x/y, JWK x/y): each exactly 32 bytes.
  static Result<PublicKey> FromP256Coordinates(ByteView x, ByteView y);
  // Raw public key: for kP256 a SEC 1 §2.3.3 point, uncompressed (0x04 || x || y, 65 bytes) or
  // compressed (0x02/0x03 || x, 33 bytes); for kEd25519 and kX25519 the 32-byte string of
  // RFC 8032 §5.1.5 / RFC 7748 §5; for kEd448 the 57-byte string of RFC 8032 §5.2.5.
  static Result<PublicKey> FromRaw(KeyType type, ByteView raw);

  KeyType type() const;
  Result<std::string> ToPem() const;
  Result<Bytes> ToDer() const;
  // The raw form accepted by FromRaw (P-256: uncompressed, 65 bytes).
  Result<Bytes> ToRaw() const;
  // REQUIRES type() == kP256, else kInvalidInput.
  Result<P256Coordinates> ToP256Coordinates() const;

  // Verifies `signature` over `message`. kVerifyFailed for any bad signature, including a wrong
  // length, a non-canonical DER encoding, r or s outside [1, n-1], or a non-canonical Ed25519 S
  // (RFC 8032 §5.1.7, §5.2.7). kInvalidInput when `alg` does not fit this key's type.
  Status Verify(SignatureAlgorithm alg, ByteView message, ByteView signature) const;

  // Same key (same type and same public value).
  friend bool operator==(const PublicKey& a, const PublicKey& b);

  struct Impl;  // defined in the module's internals only

 private:
  explicit PublicKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  friend class PrivateKey;
  friend struct KeyAccess;
  std::shared_ptr<const Impl> impl_;
};

class PrivateKey {
 public:
  // A fresh key from OpenSSL's DRBG.
  static Result<PrivateKey> Generate(KeyType type);
  // A key whose secret is drawn from `rng` (deterministic with a FakeRandom): Ed25519/X25519 take
  // 32 bytes as the seed/scalar, Ed448 57 bytes as the seed; P-256 draws 32-byte candidates until
  // one is in [1, n-1] (FIPS 186-5 A.4.2, rejection sampling).
  static Result<PrivateKey> Generate(KeyType type, Random& rng);
  // PKCS#8 PrivateKeyInfo (RFC 5208 / RFC 5958), unencrypted, PEM ("-----BEGIN PRIVATE KEY-----")
  // or DER. The SEC 1 "EC PRIVATE KEY" PEM is accepted too.
  static Result<PrivateKey> FromPem(std::string_view pem);
  static Result<PrivateKey> FromDer(ByteView pkcs8);
  // Raw private key: kP256 the scalar d, exactly 32 bytes, in [1, n-1] (COSE_Key/JWK "d"); the
  // public point is recomputed. kEd25519: the 32-byte seed (RFC 8032 §5.1.5); kX25519: the
  // 32-byte scalar (RFC 7748 §5); kEd448: the 57-byte seed (RFC 8032 §5.2.5).
  static Result<PrivateKey> FromRaw(KeyType type, ByteView raw);

  ~PrivateKey();
  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;

  KeyType type() const;
  const PublicKey& public_key() const { return public_key_; }

  // PKCS#8 PrivateKeyInfo, unencrypted; in wiping buffers since they hold the secret.
  Result<SecureBuffer> ToPem() const;
  Result<SecureBuffer> ToDer() const;
  // The raw form accepted by FromRaw (P-256: d as 32 bytes).
  Result<SecureBuffer> ToRaw() const;

  // Signs `message` (hashing it as the algorithm says). kInvalidInput when `alg` does not fit
  // this key's type. ECDSA signatures are randomised; Ed25519 and Ed448 ones are deterministic.
  Result<Bytes> Sign(SignatureAlgorithm alg, ByteView message) const;

  struct Impl;  // defined in the module's internals only

 private:
  PrivateKey(std::unique_ptr<Impl> impl, PublicKey pub);
  friend struct KeyAccess;
  std::unique_ptr<Impl> impl_;
  PublicKey public_key_;
};

// Raw ECDH shared secret (RFC 9053 §6.3.1 calls it the "shared secret" fed to HKDF):
//   P-256: the x-coordinate of d * Q, 32 bytes (SEC 1 §3.3.1);
//   X25519: X25519(k, u), 32 bytes (RFC 7748 §6.1); an all-zero result is refused (§6.1 check).
// REQUIRES mine.type() == peer.type() and the type is kP256 or kX25519, else kInvalidInput.
// `peer` was validated on import (on the curve, in the right group).
Result<SecureBuffer> DeriveSharedSecret(const PrivateKey& mine, const PublicKey& peer);

// Converts an ECDSA P-256 signature between the raw r || s form (64 bytes; COSE) and DER
// Ecdsa-Sig-Value (RFC 3279 §2.2.3; X.509). DerToRaw rejects (kInvalidInput) anything but strict
// DER with non-negative r, s below 2^256 and no trailing bytes. Neither checks r, s < n; Verify
// does.
Result<Bytes> EcdsaP256RawToDer(ByteView raw);
Result<Bytes> EcdsaP256DerToRaw(ByteView der);

}  // namespace secprof::crypto
