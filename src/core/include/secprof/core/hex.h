// secprof/core/hex.h — base16 (RFC 4648 §8), written once for the whole tree.
//
//   ToHex(digest)            -> "9f86d0..." (lower case, two digits per byte)
//   FromHex("9F86d0")        -> the bytes (either case)
//   FromHex("9f8")           -> kInvalidInput "odd number of hex digits"
//   FromHexIgnoringSpace("9f 86\n d0") -> the bytes: for text a person typed or pasted
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "secprof/core/bytes.h"
#include "secprof/core/result.h"

namespace secprof {

// Lower-case hex of `b`, two digits per byte, no separators.
std::string ToHex(ByteView b);

// Strict: exactly two hex digits (0-9, a-f, A-F) per byte, nothing else. kInvalidInput on an odd
// number of digits or any other character (the message names the character and its position).
Result<Bytes> FromHex(std::string_view hex);

// Strict decoding into caller-owned memory (a SecureBuffer for a key given in hex): exactly
// 2 * out.size() hex digits. kInvalidInput otherwise; `out` may then hold part of the bytes.
Status FromHexInto(std::string_view hex, std::span<uint8_t> out);

// As FromHex, but ASCII space, tab, CR and LF anywhere are skipped (hex dumps, test vectors and
// command-line arguments). Any other non-hex character is kInvalidInput.
Result<Bytes> FromHexIgnoringSpace(std::string_view hex);

}  // namespace secprof
