#include "secprof/keystore/keystore.h"

#include <string>

#include "secprof/core/enum_names.h"

namespace secprof::keystore {

namespace {
constexpr EnumName<StoreKind> kStoreKindNames[] = {{StoreKind::kFile, "file"},
                                                   {StoreKind::kPkcs11, "pkcs11"}};
}  // namespace

const char* StoreKindName(StoreKind kind) { return NameOf(kStoreKindNames, kind, "?"); }

Result<StoreKind> ParseStoreKind(std::string_view name) {
  if (auto kind = ValueOf(kStoreKindNames, name)) return *kind;
  return Fail(ErrorCode::kInvalidInput, "unknown key store '" + std::string(name) + "' (expected " +
                                            NamesOf(kStoreKindNames, " or ") + ")");
}

Status ValidateLabel(std::string_view label) {
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidInput, "invalid key label '" + std::string(label) + "': " + why);
  };
  if (label.empty()) return bad("empty");
  if (label.size() > kMaxLabelLength)
    return bad("longer than " + std::to_string(kMaxLabelLength) + " characters");
  if (label.front() == '.' || label.front() == '-') return bad("must not start with '.' or '-'");
  for (char c : label) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return bad("only letters, digits, '.', '_' and '-' are allowed");
  }
  return Ok();
}

Result<std::unique_ptr<crypto::Signer>> KeyStore::GetSigner(const std::string& label) {
  SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pub, PublicKey(label));
  switch (pub.type()) {
    case crypto::KeyType::kP256:
      return GetSigner(label, crypto::SignatureAlgorithm::kEcdsaP256Sha256);
    case crypto::KeyType::kEd25519:
      return GetSigner(label, crypto::SignatureAlgorithm::kEd25519);
    case crypto::KeyType::kEd448:
      return GetSigner(label, crypto::SignatureAlgorithm::kEd448);
    case crypto::KeyType::kX25519:
      break;
  }
  return Fail(ErrorCode::kInvalidInput, "key '" + label + "' is an X25519 key and cannot sign");
}

}  // namespace secprof::keystore
