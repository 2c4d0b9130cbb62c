// Shared by cose_test.cpp and cose_multi_test.cpp: the payload, seeded keys, external AAD and
// error expectations.
#pragma once

#include <gtest/gtest.h>

#include <fstream>

#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "secprof/cose/cwt.h"
#include "secprof/crypto/random.h"
#include "support/cose_keys.h"
#include "testutil.h"

namespace secprof::cose::cose_fixture {

using cbor::Value;

using secprof::testing::B;
using secprof::testing::H;
const Bytes kPayload = secprof::testing::kCosePayload;
inline Key Generate(crypto::KeyType t, uint64_t seed) {
  return secprof::testing::GenerateCoseKey(t, seed);
}

const Bytes kAad = H("11aa22bb33cc44dd55006699");

inline void ExpectError(const Status& st, ErrorCode code, std::string_view text) {
  ASSERT_FALSE(st) << "expected failure containing: " << text;
  EXPECT_EQ(st.error().code(), code) << st.error().ToString();
  EXPECT_NE(st.error().message().find(text), std::string::npos) << st.error().ToString();
}
template <class T>
inline void ExpectError(const Result<T>& r, ErrorCode code, std::string_view text) {
  ASSERT_FALSE(r) << "expected failure containing: " << text;
  EXPECT_EQ(r.error().code(), code) << r.error().ToString();
  EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().ToString();
}

}  // namespace secprof::cose::cose_fixture
