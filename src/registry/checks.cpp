// secprof::registry — the argument checks every aggregate shares (internal.h).
#include <algorithm>
#include <string>

#include "internal.h"
#include "secprof/core/hex.h"
#include "secprof/crypto/hash.h"

namespace secprof::registry::internal {
namespace {

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

}  // namespace

Status CheckToken(std::string_view what, std::string_view s, size_t max) {
  if (s.empty()) return Fail(ErrorCode::kInvalidInput, std::string(what) + " is empty");
  if (s.size() > max) {
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + " is longer than " + std::to_string(max) + " characters");
  }
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) {
      return Fail(ErrorCode::kInvalidInput,
                  std::string(what) + " \"" + std::string(s) +
                      "\" may hold only printable ASCII characters without spaces");
    }
  }
  return Ok();
}

Status CheckText(std::string_view what, std::string_view s, size_t max) {
  if (s.empty()) return Fail(ErrorCode::kInvalidInput, std::string(what) + " is empty");
  if (s.size() > max) {
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + " is longer than " + std::to_string(max) + " bytes");
  }
  for (unsigned char c : s) {
    if (IsControl(c)) {
      return Fail(ErrorCode::kInvalidInput, std::string(what) + " holds a control character");
    }
  }
  return Ok();
}

Status CheckSerial(std::string_view serial) { return CheckToken("serial", serial, kMaxSerial); }

Status CheckWrappedKey(std::string_view what, const Bytes& key) {
  if (key.empty()) return Fail(ErrorCode::kInvalidInput, std::string(what) + " is empty");
  if (key.size() > kMaxWrappedKey) {
    return Fail(ErrorCode::kInvalidInput,
                std::string(what) + " is longer than " + std::to_string(kMaxWrappedKey) + " bytes");
  }
  return Ok();
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status CheckCommissionInput(const CommissionInput& in) {
  if (in.credential_kind != kCredentialPsk && in.credential_kind != kCredentialLdevid) {
    return Fail(ErrorCode::kInvalidInput,
                "credential kind \"" + in.credential_kind + "\" is neither \"psk\" nor \"ldevid\"");
  }
  SECPROF_TRY(CheckToken("credential id", in.credential_id, kMaxCredentialId));
  if (in.credential_fingerprint.size() != 2 * crypto::kSha256Size ||
      !IsLowerHex(in.credential_fingerprint)) {
    return Fail(ErrorCode::kInvalidInput,
                "credential fingerprint must be 64 lower-case hex digits (SHA-256)");
  }
  if (in.credential_kind == kCredentialLdevid) {
    if (in.ldevid_pem.empty()) {
      return Fail(ErrorCode::kInvalidInput, "an ldevid credential needs its certificate (PEM)");
    }
    if (in.ldevid_pem.size() > kMaxPem) {
      return Fail(ErrorCode::kInvalidInput, "LDevID PEM is longer than 16 KiB");
    }
  } else if (!in.ldevid_pem.empty()) {
    return Fail(ErrorCode::kInvalidInput, "a psk credential has no certificate");
  }
  return CheckWrappedKey("wrapped key", in.wrapped_key);
}

Status CheckNonce(const Bytes& nonce) {
  if (nonce.size() < kMinNonce || nonce.size() > kMaxNonce) {
    return Fail(ErrorCode::kInvalidInput,
                "join nonce must be 8 to 64 bytes, not " + std::to_string(nonce.size()));
  }
  return Ok();
}

std::string Sanitize(std::string_view s, size_t max) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (IsControl(c) || c == '\\') {
      out += '\\';
      if (c == '\\') {
        out += '\\';
      } else {
        out += 'x';
        out += ToHex(ByteView(&c, 1));
      }
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace secprof::registry::internal
