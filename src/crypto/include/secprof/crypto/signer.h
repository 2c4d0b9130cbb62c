// secprof/crypto/signer.h — the seam between code that needs a signature (COSE_Sign1, CSRs,
// manufacture) or a key agreement, and where the private key lives.
//
// A software key implements these through SoftwareSigner / SoftwareKeyAgreement; a PKCS#11 token
// (keystore module) implements them with the key held inside the token, never extracted.
//
//   Status SignManifest(Signer& signer, ByteView tbs, Bytes* out) {
//     SECPROF_ASSIGN_OR_RETURN(*out, signer.Sign(tbs));
//     return Ok();
//   }
//   SECPROF_ASSIGN_OR_RETURN(auto signer, SoftwareSigner::Create(std::move(sk),
//                                                             SignatureAlgorithm::kEcdsaP256Sha256));
#pragma once

#include <memory>
#include <utility>

#include "secprof/core/result.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::crypto {

class Signer {
 public:
  virtual ~Signer() = default;
  // The algorithm, and so the signature encoding, that Sign produces.
  virtual SignatureAlgorithm algorithm() const = 0;
  // The public half; public_key().Verify(algorithm(), m, Sign(m)) succeeds.
  virtual const PublicKey& public_key() const = 0;
  // Signs `message` (the implementation hashes it as algorithm() requires). May do I/O (a token),
  // hence non-const and fallible.
  virtual Result<Bytes> Sign(ByteView message) = 0;
};

class KeyAgreement {
 public:
  virtual ~KeyAgreement() = default;
  // kP256 or kX25519.
  virtual KeyType type() const = 0;
  virtual const PublicKey& public_key() const = 0;
  // The raw shared secret with `peer`, as DeriveSharedSecret defines it.
  virtual Result<SecureBuffer> Agree(const PublicKey& peer) = 0;
};

// A Signer over a PrivateKey held in memory.
class SoftwareSigner final : public Signer {
 public:
  // kInvalidInput when `alg` does not fit the key's type.
  static Result<SoftwareSigner> Create(PrivateKey key, SignatureAlgorithm alg);

  SignatureAlgorithm algorithm() const override { return alg_; }
  const PublicKey& public_key() const override { return key_.public_key(); }
  Result<Bytes> Sign(ByteView message) override { return key_.Sign(alg_, message); }
  const PrivateKey& private_key() const { return key_; }

 private:
  SoftwareSigner(PrivateKey key, SignatureAlgorithm alg) : key_(std::move(key)), alg_(alg) {}
  PrivateKey key_;
  SignatureAlgorithm alg_;
};

// A KeyAgreement over a PrivateKey held in memory.
class SoftwareKeyAgreement final : public KeyAgreement {
 public:
  // kInvalidInput unless the key is kP256 or kX25519.
  static Result<SoftwareKeyAgreement> Create(PrivateKey key);

  KeyType type() const override { return key_.type(); }
  const PublicKey& public_key() const override { return key_.public_key(); }
  Result<SecureBuffer> Agree(const PublicKey& peer) override {
    return DeriveSharedSecret(key_, peer);
  }

 private:
  explicit SoftwareKeyAgreement(PrivateKey key) : key_(std::move(key)) {}
  PrivateKey key_;
};

}  // namespace secprof::crypto
