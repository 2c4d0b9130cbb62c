// secprof/keystore/pkcs11_store.h — private keys inside a PKCS#11 token (SoftHSM2 stands in for a
// secure element), generated there non-extractable and used there.
//
// Open() loads the module with dlopen, gets its function list (C_GetFunctionList, PKCS#11 v2.40
// base §5.2), initialises it (C_Initialize, §5.4), finds the token whose CKA label is
// `token_label`, opens a read/write session (C_OpenSession, §5.6) and logs in as the normal user
// (C_Login, §5.6). Each of those is owned by an RAII object released by the library's own call
// (C_Logout, C_CloseSession, C_Finalize, dlclose). The module is initialised once per process and
// path and finalised when its last user is gone; stores on the same token share the login.
//
// Keys (EC P-256 only; other types kUnsupported) are generated in the token with
// C_GenerateKeyPair / CKM_EC_KEY_PAIR_GEN (v2.40 Current Mechanisms §2.3.5), both halves token
// objects with CKA_LABEL = CKA_ID = the label; the private key is CKA_PRIVATE, CKA_SENSITIVE,
// not CKA_EXTRACTABLE, CKA_SIGN and CKA_DERIVE. Signing is CKM_ECDSA (§2.3.6) over a SHA-256 digest
// computed here; ECDH is CKM_ECDH1_DERIVE (§2.3.15) with CKD_NULL, deriving a session-only
// CKK_GENERIC_SECRET that is created non-sensitive and extractable so that the raw shared secret
// can be read out (the contract of crypto::KeyAgreement) and destroyed at once. ExportPrivate is
// refused (kUnsupported).
#pragma once

#include <memory>
#include <string>

#include "secprof/keystore/keystore.h"
#include "secprof/keystore/pin.h"

namespace secprof::keystore {

inline constexpr const char* kDefaultPkcs11Module = "/usr/lib/softhsm/libsofthsm2.so";

struct Pkcs11KeyStoreOptions {
  std::string module_path = kDefaultPkcs11Module;
  std::string token_label;  // CK_TOKEN_INFO.label, without the blank padding; at most 32 bytes
  Pin pin;                  // the normal user's PIN (wiping memory; copies are Clones)
};

class Pkcs11KeyStore final : public KeyStore {
 public:
  // Errors: kNotFound (module file or token absent), kInvalidInput (no PIN, wrong PIN, label too
  // long),
  // kCrypto (any other PKCS#11 failure, with the CKR_ name).
  static Result<std::unique_ptr<Pkcs11KeyStore>> Open(const Pkcs11KeyStoreOptions& options);
  ~Pkcs11KeyStore() override;

  StoreKind Kind() const override { return StoreKind::kPkcs11; }
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

  // ---- sealing in the token (issue 9 item 12: the KEK of a token thing never leaves the token).
  // An AES-256 secret key generated in the token (CKM_AES_KEY_GEN, mech §2.8), a token object with
  // CKA_LABEL = CKA_ID = `label`, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE, usable for
  // CKA_ENCRYPT/CKA_DECRYPT only. kConflict when a secret key with the label exists.
  Status GenerateSealingKey(const std::string& label);
  // Whether a secret key labelled `label` exists.
  Result<bool> HasSealingKey(const std::string& label);
  // AES-256-GCM in the token (CKM_AES_GCM, mech §2.12.3; 96-bit nonce from `rng`, 128-bit tag,
  // `aad` authenticated): returns nonce || ciphertext || tag.
  Result<crypto::Bytes> Seal(const std::string& label, crypto::ByteView aad,
                             crypto::ByteView plaintext, crypto::Random& rng);
  // The inverse. kVerifyFailed when the tag does not verify (another key, another aad, a modified
  // blob); kInvalidInput when too short; kNotFound when no such key.
  Result<crypto::SecureBuffer> Unseal(const std::string& label, crypto::ByteView aad,
                                      crypto::ByteView sealed);

  struct Impl;  // defined in the module's internals only

 private:
  explicit Pkcs11KeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace secprof::keystore
