// secprof/keystore/file_store.h — private keys in files, encrypted at rest under a
// key-encryption key (KEK).
//
// Layout: one directory (mode 0700) holding one file per key, "<label>.key" (mode 0600), written
// atomically (core WriteFileAtomic: temporary file, fsync, rename, directory fsync) and published
// with link(2) so that an existing label is never replaced, even by a concurrent writer. Files
// whose names start with '.' are temporaries of an interrupted write and are ignored.
//
// Key file format, version 1 (all integers single bytes):
//   offset  size  field
//   0       4     magic "SPKS"
//   4       1     version = 1
//   5       1     algorithm = 1 (AES-256-GCM, NIST SP 800-38D, 16-byte tag)
//   6       1     key type: 1 P-256, 2 Ed25519, 3 X25519, 4 Ed448
//   7       1     reserved = 0
//   8       12    GCM nonce, fresh from the Random source for every file
//   20      n+16  AES-256-GCM(KEK, nonce, aad, PKCS#8 DER of the private key) = ciphertext || tag
// aad = the 8 header bytes || the label: a file copied or renamed to another label, or with an
// edited header, fails to authenticate and is refused (kVerifyFailed), as is a wrong KEK.
//
// The KEK is 32 random bytes, given by the caller or read from a key file (created mode 0600 on
// first use; refused when it is not exactly 32 bytes or is readable by group or others). The key
// file defaults to "<dir>/kek" — which protects against a copy of the key files alone, not against
// a copy of the whole directory. secprof's things and KDC therefore never use that default: they
// pass a KEK kept outside the directory (secprof/keystore/kek.h; issue 9 item 12). What this
// store counters and what it does not: docs/KEYSTORE.md.
//
// Private keys are in plaintext only inside crypto::SecureBuffer / crypto::PrivateKey (both wipe).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "secprof/core/fs.h"
#include "secprof/crypto/aead.h"
#include "secprof/crypto/random.h"
#include "secprof/keystore/keystore.h"

namespace secprof::keystore {

inline constexpr size_t kKekSize = 32;  // AES-256

struct FileKeyStoreOptions {
  // The key directory; created (0700, with missing parents) when absent. An existing directory
  // that group or others can write to is refused.
  std::string dir;
  // The KEK itself (exactly kKekSize bytes). When empty, the KEK is read from kek_file, which is
  // created with fresh random bytes (mode 0600) when it does not exist.
  crypto::SecureBuffer kek;
  // Default (empty): "<dir>/kek".
  std::string kek_file;
  // Nonces and new KEKs come from here; nullptr means crypto::SystemRandomSource(). Must outlive
  // the store.
  crypto::Random* random = nullptr;
  // The file-system seam (core/fs.h) that key files are written and their directory fsynced
  // through; nullptr means DefaultFileSystem(). Tests substitute one that records or fails the
  // directory fsyncs (tests/keystore/durability_test.cpp). Must outlive the store.
  FileSystem* file_system = nullptr;
};

class FileKeyStore final : public KeyStore {
 public:
  static Result<std::unique_ptr<FileKeyStore>> Open(FileKeyStoreOptions options);
  ~FileKeyStore() override;

  StoreKind Kind() const override { return StoreKind::kFile; }
  std::string Describe() const override;
  Result<crypto::PublicKey> GenerateKey(const std::string& label, crypto::KeyType type) override;
  using KeyStore::GetSigner;
  Result<std::unique_ptr<crypto::Signer>> GetSigner(const std::string& label,
                                                    crypto::SignatureAlgorithm alg) override;
  Result<std::unique_ptr<crypto::KeyAgreement>> GetKeyAgreement(const std::string& label) override;
  Result<crypto::PublicKey> PublicKey(const std::string& label) override;
  Result<crypto::SecureBuffer> ExportPrivate(const std::string& label) override;
  Status Delete(const std::string& label) override;
  Result<std::vector<std::string>> List() override;

  // Stores an existing private key under `label` (kConflict when taken). For keys made elsewhere,
  // e.g. a vendor CA key being moved into the store.
  Status Import(const std::string& label, const crypto::PrivateKey& key);
  // Replaces the file of `label` with `key` encrypted under this store's KEK (atomically: a crash
  // leaves the old or the new file). For re-encrypting a store under a new KEK (RewrapFileStore).
  Status Rewrite(const std::string& label, const crypto::PrivateKey& key);
  // Decrypts and returns the key under `label` (what GetSigner uses).
  Result<crypto::PrivateKey> Load(const std::string& label);
  // The file that holds `label` (whether or not it exists). REQUIRES a valid label.
  std::string PathFor(const std::string& label) const;

 private:
  FileKeyStore(std::string dir, crypto::AeadKey kek, crypto::Random* random, FileSystem* fsys);
  Result<crypto::Bytes> Encrypt(const std::string& label, const crypto::PrivateKey& key);
  std::string dir_;
  crypto::AeadKey kek_;  // AES-256-GCM keyed with the KEK (the key lives in OpenSSL's context)
  crypto::Random* random_;
  FileSystem* fsys_;
};

}  // namespace secprof::keystore
