// secprof/crypto/crypto.h — the whole public API of the crypto module (secprof::crypto).
//
// Everything runs on OpenSSL 3 EVP; no OpenSSL type or header appears in these headers.
//   secure_buffer.h  Bytes, ByteView, SecureBuffer (wipes itself), ConstantTimeEqual
//   random.h         Random interface, SystemRandom (RAND_bytes), FakeRandom for tests
//   hash.h           SHA-256 (one-shot, incremental), HMAC-SHA256, HKDF-SHA256
//   aead.h           AES-CCM (any legal key/nonce/tag size, COSE algs 10-13, 30-33), AES-GCM
//   keys.h           PublicKey, PrivateKey, ECDSA P-256 / Ed25519, ECDH P-256 / X25519
//   signer.h         Signer and KeyAgreement seams (software keys now, PKCS#11 tokens later)
#pragma once

#include "secprof/crypto/aead.h"
#include "secprof/crypto/hash.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/crypto/signer.h"
