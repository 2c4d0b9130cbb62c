#include "secprof/core/hex.h"

namespace secprof {
namespace {

// The value of one hex digit, or -1.
int Nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

Result<Bytes> Decode(std::string_view hex, bool skip_space) {
  Bytes out;
  out.reserve(hex.size() / 2);
  int hi = -1;
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    const int v = Nibble(c);
    if (v < 0) {
      if (skip_space && IsSpace(c)) continue;
      return Fail(ErrorCode::kInvalidInput,
                  "invalid hex digit '" + std::string(1, c) + "' at position " + std::to_string(i));
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) return Fail(ErrorCode::kInvalidInput, "odd number of hex digits");
  return out;
}

}  // namespace

std::string ToHex(ByteView b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (uint8_t c : b) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

Result<Bytes> FromHex(std::string_view hex) { return Decode(hex, /*skip_space=*/false); }

Status FromHexInto(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != 2 * out.size())
    return Fail(ErrorCode::kInvalidInput, "expected " + std::to_string(2 * out.size()) +
                                              " hex digits, got " + std::to_string(hex.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = Nibble(hex[2 * i]);
    const int lo = Nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      const size_t at = hi < 0 ? 2 * i : 2 * i + 1;
      return Fail(ErrorCode::kInvalidInput, "invalid hex digit '" + std::string(1, hex[at]) +
                                                "' at position " + std::to_string(at));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Ok();
}

Result<Bytes> FromHexIgnoringSpace(std::string_view hex) {
  return Decode(hex, /*skip_space=*/true);
}

}  // namespace secprof
