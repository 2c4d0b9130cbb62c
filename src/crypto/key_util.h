// src/crypto/key_util.h — helpers shared by the key sources of the crypto module (key_util.cpp,
// public_key.cpp, private_key.cpp). Internal: included only by the module's own sources.
#pragma once

#include <string>
#include <string_view>

#include "internal.h"
#include "secprof/crypto/keys.h"

namespace secprof::crypto::internal {

// True when the 32-byte big-endian `d` is in [1, n-1]. Equal-length big-endian strings compare
// numerically as they compare lexicographically.
bool P256ScalarInRange(ByteView d);

// OpenSSL's name of the key type (EVP_PKEY_CTX_new_from_name).
const char* OsslName(KeyType t);

// Bytes in a raw key of `t` (P-256: the private scalar / a field element).
inline size_t RawKeySize(KeyType t) { return t == KeyType::kEd448 ? kEd448KeySize : 32; }
inline bool IsEdDsa(KeyType t) { return t == KeyType::kEd25519 || t == KeyType::kEd448; }

// Identifies a decoded key, refusing anything but named-curve P-256, Ed25519, X25519 and Ed448.
Result<KeyType> Classify(EVP_PKEY* pkey);

// Full public-key validation for EC (SEC 1 §3.2.2.1: on the curve, not at infinity, n*Q = O).
Status ValidatePublic(EVP_PKEY* pkey, KeyType type);

// SubjectPublicKeyInfo DER of a key.
Result<Bytes> PublicDer(EVP_PKEY* pkey);

// Public-only copy of a key pair (so a PublicKey never keeps the secret alive).
Result<EvpPkeyPtr> PublicOnly(EVP_PKEY* pkey);

// The body of a PEM block named `label`, in a wiping buffer.
Result<SecureBuffer> ReadPem(std::string_view pem, std::string* label);

// The private key as PKCS#8 in `format` ("DER" or "PEM"), in a wiping buffer.
Result<SecureBuffer> EncodePrivate(EVP_PKEY* pkey, const char* format);

// A non-negative integer as exactly `size` big-endian bytes; kInvalidInput when it does not fit.
Result<Bytes> BnToFixed(const BIGNUM* bn, size_t size);

// Strictly decodes a DER Ecdsa-Sig-Value: one SEQUENCE of two INTEGERs, minimal encodings, no
// trailing bytes. Re-encoding and comparing is how strictness is enforced: DER is canonical, so
// any BER variant (long-form lengths, padded integers) re-encodes differently.
Result<EcdsaSigPtr> DecodeDerSig(ByteView der);

// DER -> r || s for a signature OpenSSL has just produced (already canonical, so the strict
// re-encoding check of DecodeDerSig is skipped on this hot path).
Result<Bytes> OwnDerToRaw(ByteView der);

// kInvalidInput unless `alg` signs with keys of `type`.
Status CheckAlgFits(SignatureAlgorithm alg, KeyType type);

// The key behind `k`; kInternal for a moved-from key.
Result<EVP_PKEY*> CheckedPublic(const PublicKey& k);

// P-256 public point d*G for a private scalar (EC_POINT arithmetic, not deprecated in 3.0).
Result<Bytes> P256PublicFromScalar(const BIGNUM* d);

// A key of OpenSSL type `name` imported from `params` (EVP_PKEY_fromdata).
Result<EvpPkeyPtr> FromData(const char* name, OSSL_PARAM* params, int selection);

// A P-256 public key from an uncompressed SEC 1 point (0x04 || x || y).
Result<EvpPkeyPtr> P256PublicFromPoint(ByteView point);

}  // namespace secprof::crypto::internal
