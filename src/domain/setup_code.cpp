#include "secprof/domain/setup_code.h"

#include <cmath>
#include <cstdio>

#include "secprof/crypto/hash.h"
#include "secprof/domain/keys.h"

namespace secprof::domain {

namespace {

crypto::ByteView View(std::string_view s) {
  return crypto::ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

constexpr size_t kMaxSetupCode = 64;

}  // namespace

std::string NormalizeSetupCode(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    out.push_back(c);
  }
  return out;
}

double SetupCodeBits(std::string_view code) {
  const std::string n = NormalizeSetupCode(code);
  if (n.empty()) return 0;
  bool digits = true, hex = true, base32 = true, alnum = true;
  for (char c : n) {
    const bool d = c >= '0' && c <= '9';
    const bool upper = c >= 'A' && c <= 'Z';
    digits = digits && d;
    hex = hex && (d || (c >= 'A' && c <= 'F'));
    base32 = base32 && (upper || (c >= '2' && c <= '7'));
    alnum = alnum && (d || upper);
  }
  // Printable ASCII 0x21..0x7e is 94 characters; without the 26 lower-case letters (folded) and
  // the '-' separator: 67, rounded up to 68 to stay an upper bound.
  double alphabet = digits ? 10 : hex ? 16 : base32 ? 32 : alnum ? 36 : 68;
  return static_cast<double>(n.size()) * std::log2(alphabet);
}

Status CheckSetupCodeStrength(std::string_view code) {
  if (code.size() > kMaxSetupCode)
    return Fail(ErrorCode::kInvalidInput, "setup code is longer than 64 characters");
  for (unsigned char c : code)
    if (c < 0x20 || c >= 0x7f)
      return Fail(ErrorCode::kInvalidInput, "setup code may hold only printable ASCII characters");
  const double bits = SetupCodeBits(code);
  if (bits < kMinSetupCodeBits) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "setup code is too weak: at most %.1f bits (length x bits per character of its "
                  "alphabet), at least %.0f needed",
                  bits, kMinSetupCodeBits);
    return Fail(ErrorCode::kInvalidInput, buf);
  }
  return Ok();
}

Result<crypto::SecureBuffer> SetupCodeKey(std::string_view code, std::string_view serial) {
  const std::string n = NormalizeSetupCode(code);
  if (n.empty()) return Fail(ErrorCode::kInvalidInput, "setup code is empty");
  if (serial.empty()) return Fail(ErrorCode::kInvalidInput, "serial is empty");
  crypto::SecureBuffer ikm(View(n));
  return crypto::HkdfSha256(crypto::ByteView(ikm.data(), ikm.size()), View(serial),
                            View("secprof setup-code"), kSetupCodeKeySize);
}

namespace {

Result<crypto::SecureBuffer> SealKey(crypto::ByteView code_key, std::string_view serial,
                                     crypto::ByteView nonce) {
  std::string info = "secprof j/psk seal";
  info.push_back('\0');
  info += serial;
  return crypto::HkdfSha256(code_key, nonce, View(info), kSetupCodeKeySize);
}

// WrapKey's associated data for a j/psk seal: "j/psk " serial 0x00 owner.
std::string SealContext(std::string_view serial, std::string_view owner) {
  std::string ad = "j/psk ";
  ad += serial;
  ad.push_back('\0');
  ad += owner;
  return ad;
}

}  // namespace

Result<crypto::Bytes> SealJoinPsk(crypto::ByteView code_key, std::string_view serial,
                                  std::string_view owner, crypto::ByteView nonce,
                                  crypto::ByteView psk, crypto::Random& rng) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer s, SealKey(code_key, serial, nonce));
  return WrapKey(crypto::ByteView(s.data(), s.size()), SealContext(serial, owner), psk, rng);
}

Result<crypto::SecureBuffer> OpenJoinPsk(std::string_view setup_code, std::string_view serial,
                                         std::string_view owner, crypto::ByteView nonce,
                                         crypto::ByteView sealed) {
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer k, SetupCodeKey(setup_code, serial));
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer s,
                           SealKey(crypto::ByteView(k.data(), k.size()), serial, nonce));
  auto psk = UnwrapKey(crypto::ByteView(s.data(), s.size()), SealContext(serial, owner), sealed);
  if (!psk)
    return Fail(ErrorCode::kVerifyFailed,
                "the PSK in the join answer does not open under this setup code (wrong code, or a "
                "forged answer: another owner, serial or nonce)");
  return psk;
}

}  // namespace secprof::domain
