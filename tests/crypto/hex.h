// tests/crypto/hex.h — hex helpers for the crypto tests, over core/hex.h.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "secprof/core/hex.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::crypto::testing {

// Decodes lowercase or uppercase hex. A malformed string is a bug in the test: it is reported
// as a test failure and decodes to nothing.
inline Bytes Unhex(std::string_view hex) {
  auto b = secprof::FromHex(hex);
  if (!b) {
    ADD_FAILURE() << "bad hex (" << b.error().message() << "): " << hex;
    return {};
  }
  return std::move(*b);
}

inline std::string Hex(ByteView bytes) { return secprof::ToHex(bytes); }

}  // namespace secprof::crypto::testing
