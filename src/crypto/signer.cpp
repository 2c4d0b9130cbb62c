#include "secprof/crypto/signer.h"

namespace secprof::crypto {

Result<SoftwareSigner> SoftwareSigner::Create(PrivateKey key, SignatureAlgorithm alg) {
  if (KeyTypeFor(alg) != key.type()) {
    return Fail(ErrorCode::kInvalidInput, std::string(SignatureAlgorithmName(alg)) +
                                              " cannot be used with a " + KeyTypeName(key.type()) +
                                              " key");
  }
  return SoftwareSigner(std::move(key), alg);
}

Result<SoftwareKeyAgreement> SoftwareKeyAgreement::Create(PrivateKey key) {
  if (key.type() != KeyType::kP256 && key.type() != KeyType::kX25519) {
    return Fail(
        ErrorCode::kInvalidInput,
        std::string("key agreement needs a P-256 or X25519 key, got ") + KeyTypeName(key.type()));
  }
  return SoftwareKeyAgreement(std::move(key));
}

}  // namespace secprof::crypto
