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

namespace {

// The length of the UTF-8 sequence at s[i] (RFC 3629 §4: no overlong forms, no surrogates,
// nothing above U+10FFFF); 0 when the bytes there are not one.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size() || b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(k) < 0x80 || b(k) > 0xbf) return 0;
  return n;
}

}  // namespace

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
  // Text is UTF-8 (PostgreSQL's text refuses anything else; SQLite's would store it as given).
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8Length(s, i);
    if (n == 0) return Fail(ErrorCode::kInvalidInput, std::string(what) + " is not UTF-8");
    i += n;
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
  for (size_t i = 0; i < s.size();) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = Utf8Length(s, i);
    if (IsControl(c) || c == '\\' || n == 0) {  // also a byte that is not UTF-8
      out += '\\';
      if (c == '\\') {
        out += '\\';
      } else {
        out += 'x';
        out += ToHex(ByteView(&c, 1));
      }
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace secprof::registry::internal
