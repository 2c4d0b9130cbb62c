// tests/support/cose_keys.h — the small helpers tests/cose/cose_test.cpp and
// tests/cli/cose_cli_test.cpp share: bytes from hex or text, a seeded COSE key, and the payload of
// RFC 9052's examples. Header-only (target secprof::test_support plus secprof::cose).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>
#include <utility>

#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/random.h"

namespace secprof::testing {

// The bytes of `hex` (whitespace ignored); a failed expectation and no bytes when malformed.
inline Bytes H(std::string_view hex) {
  auto b = cbor::FromHex(hex);
  EXPECT_TRUE(b) << hex;
  return b ? *b : Bytes{};
}

// The bytes of the characters of `s`.
inline Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A key of type `t` drawn from a generator seeded with `seed` (the same seed, the same key),
// kid "k1".
inline cose::Key GenerateCoseKey(crypto::KeyType t, uint64_t seed) {
  auto rng = crypto::FakeRandom::FromSeed(seed);
  auto sk = crypto::PrivateKey::Generate(t, rng);
  EXPECT_TRUE(sk);
  auto k = cose::KeyFromPrivate(std::move(*sk), B("k1"));
  EXPECT_TRUE(k);
  return *k;
}

// The payload of the examples of RFC 9052 Appendix C.
inline const Bytes kCosePayload = B("This is the content.");

}  // namespace secprof::testing
