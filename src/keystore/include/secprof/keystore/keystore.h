// secprof/keystore/keystore.h — where a thing's (or a vendor's) private keys live.
//
// One interface, two stores:
//   FileKeyStore   (file_store.h)   keys encrypted at rest under a key-encryption key, for profiles
//                                   without tamper resistance (SecProf_1, SecProf_2);
//   Pkcs11KeyStore (pkcs11_store.h) keys generated inside a PKCS#11 token, non-extractable, used
//                                   in place (SecProf_3, SecProf_4: "tamper resistant key
//                                   storage").
// Code that signs or agrees on keys asks the store for a crypto::Signer or crypto::KeyAgreement and
// never needs to know where the key is:
//
//   SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pub, store.GenerateKey("idevid-0001", kP256));
//   SECPROF_ASSIGN_OR_RETURN(auto signer, store.GetSigner("idevid-0001"));
//   SECPROF_ASSIGN_OR_RETURN(crypto::Bytes sig, signer->Sign(message));
//
// No OpenSSL or PKCS#11 type appears in this module's public headers.
//
// Thread safety: a KeyStore, and the Signer/KeyAgreement objects it hands out, may be used from one
// thread at a time (a PKCS#11 session admits one operation at a time, PKCS#11 v2.40 base §5.6).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/crypto/signer.h"

namespace secprof::keystore {

enum class StoreKind { kFile, kPkcs11 };
// "file" or "pkcs11" (the --keystore values of `secprof manufacture`).
const char* StoreKindName(StoreKind kind);
// The inverse; kInvalidInput for anything else.
Result<StoreKind> ParseStoreKind(std::string_view name);

// Labels name keys. They become file names (file store) and CKA_LABEL values (token), so they are
// restricted to 1..64 characters from [A-Za-z0-9._-], not starting with '.' or '-' (no path
// separators, no hidden files, no option look-alikes). kInvalidInput otherwise, naming the label.
inline constexpr size_t kMaxLabelLength = 64;
Status ValidateLabel(std::string_view label);

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  virtual StoreKind Kind() const = 0;
  // Where the keys are, for messages and manifests: "file:<dir>" or "pkcs11:token=<label>".
  virtual std::string Describe() const = 0;

  // Creates a new key pair of `type` under `label` and returns its public key.
  // Errors: kInvalidInput (bad label), kConflict when the label is already taken (an existing key
  // is never replaced), kUnsupported when the store cannot hold `type`, kIo/kCrypto otherwise.
  virtual Result<crypto::PublicKey> GenerateKey(const std::string& label, crypto::KeyType type) = 0;

  // A signer for the key under `label` producing `alg` signatures. kNotFound when no such key;
  // kInvalidInput when `alg` does not fit the key's type. The signer does not borrow the store: it
  // stays usable after the store object is destroyed (it shares what it needs).
  virtual Result<std::unique_ptr<crypto::Signer>> GetSigner(const std::string& label,
                                                            crypto::SignatureAlgorithm alg) = 0;
  // The same with the key type's natural algorithm: ECDSA P-256 raw r||s (kEcdsaP256Sha256) for
  // P-256 keys, Ed25519 / Ed448 for Ed25519 / Ed448 keys; kInvalidInput for X25519.
  Result<std::unique_ptr<crypto::Signer>> GetSigner(const std::string& label);

  // A key agreement (raw ECDH shared secret) for a P-256 or X25519 key. kNotFound, kInvalidInput
  // for an Ed25519 key.
  virtual Result<std::unique_ptr<crypto::KeyAgreement>> GetKeyAgreement(
      const std::string& label) = 0;

  // The public half. kNotFound when no such key.
  virtual Result<crypto::PublicKey> PublicKey(const std::string& label) = 0;

  // The private key as unencrypted PKCS#8 DER, in a wiping buffer. The file store allows it (it
  // offers confidentiality at rest, not non-extractability); the PKCS#11 store refuses with
  // kUnsupported because its keys are generated non-extractable. kNotFound when no such key.
  virtual Result<crypto::SecureBuffer> ExportPrivate(const std::string& label) = 0;

  // Removes the key pair. kNotFound when no such key.
  virtual Status Delete(const std::string& label) = 0;

  // Every label, sorted.
  virtual Result<std::vector<std::string>> List() = 0;
};

}  // namespace secprof::keystore
