// Shared by crypto_test.cpp and crypto_sign_test.cpp: hex and text as bytes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "hex.h"
#include "secprof/crypto/crypto.h"

namespace secprof::crypto::crypto_fixture {

using testing::Hex;
using testing::Unhex;

inline Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace secprof::crypto::crypto_fixture
