// Internal helpers shared by the cbor module's translation units (not a public header).
#pragma once

#include <cstdint>
#include <optional>

namespace secprof::cbor::internal {

// IEEE 754 binary16 / binary32 bits to a double, exactly; NaN payloads are kept bit for bit
// (the payload moves to the top of the double's mantissa), so that re-encoding with preferred
// serialization gives the original width back (RFC 8949 §4.1 "preferred serialization").
double HalfBitsToDouble(uint16_t h);
double SingleBitsToDouble(uint32_t f);

// The binary16 / binary32 encoding of `d` when it represents `d` exactly (same bits back
// through the functions above), else nullopt.
std::optional<uint16_t> DoubleToHalfExact(double d);
std::optional<uint32_t> DoubleToSingleExact(double d);

}  // namespace secprof::cbor::internal
