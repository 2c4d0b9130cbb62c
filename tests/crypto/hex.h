// tests/crypto/hex.h — hex helpers for the crypto tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/crypto/secure_buffer.h"

namespace secprof::crypto::testing {

// Decodes lowercase or uppercase hex. A malformed string is a bug in the test: it is reported
// as a test failure and decodes to nothing.
inline Bytes Unhex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) {
    ADD_FAILURE() << "odd hex length: " << hex;
    return {};
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      ADD_FAILURE() << "bad hex digit in: " << hex;
      return {};
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

inline std::string Hex(ByteView bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace secprof::crypto::testing
