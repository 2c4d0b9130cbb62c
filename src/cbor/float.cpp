// Exact conversions between half/single precision bit patterns and double (RFC 8949 §3.3, §4.1
// and Appendix D for the half-precision decoding rule).
#include <cmath>
#include <cstring>

#include "internal.h"

namespace secprof::cbor::internal {
namespace {
uint64_t Bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}
double FromBits(uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}
constexpr uint64_t kExpMask = 0x7ffULL << 52;
constexpr uint64_t kMantMask = (1ULL << 52) - 1;
}  // namespace

double HalfBitsToDouble(uint16_t h) {
  const uint64_t sign = static_cast<uint64_t>(h >> 15) << 63;
  const int exp = (h >> 10) & 0x1f;
  const unsigned mant = h & 0x3ff;
  if (exp == 31) return FromBits(sign | kExpMask | (static_cast<uint64_t>(mant) << 42));
  // RFC 8949 Appendix D: subnormals are mant * 2^-24, normals (1024 + mant) * 2^(exp-25).
  double v = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(mant + 1024, exp - 25);
  return sign ? -v : v;
}

double SingleBitsToDouble(uint32_t f) {
  const uint64_t sign = static_cast<uint64_t>(f >> 31) << 63;
  if (((f >> 23) & 0xff) == 0xff)
    return FromBits(sign | kExpMask | (static_cast<uint64_t>(f & 0x7fffff) << 29));
  float x;
  std::memcpy(&x, &f, sizeof x);
  return static_cast<double>(x);  // exact for every finite float
}

std::optional<uint16_t> DoubleToHalfExact(double d) {
  const uint64_t b = Bits(d);
  const uint16_t sign = static_cast<uint16_t>((b >> 63) << 15);
  if ((b & kExpMask) == kExpMask) {  // infinity or NaN: the payload must fit in 10 bits
    const uint64_t m = b & kMantMask;
    if (m & ((1ULL << 42) - 1)) return std::nullopt;
    return static_cast<uint16_t>(sign | 0x7c00 | (m >> 42));
  }
  if (d == 0) return sign;
  const double a = std::fabs(d);
  uint16_t h;
  const int e = std::ilogb(a);
  if (e > 15) return std::nullopt;
  if (e >= -14) {
    const double scaled = std::ldexp(a, 10 - e);  // in [1024, 2048)
    if (scaled != std::floor(scaled)) return std::nullopt;
    h = static_cast<uint16_t>(sign | ((e + 15) << 10) | (static_cast<unsigned>(scaled) - 1024));
  } else {
    const double scaled = std::ldexp(a, 24);
    if (scaled != std::floor(scaled) || scaled >= 1024) return std::nullopt;
    h = static_cast<uint16_t>(sign | static_cast<unsigned>(scaled));
  }
  if (Bits(HalfBitsToDouble(h)) != b) return std::nullopt;
  return h;
}

std::optional<uint32_t> DoubleToSingleExact(double d) {
  const uint64_t b = Bits(d);
  if ((b & kExpMask) == kExpMask) {
    const uint64_t m = b & kMantMask;
    if (m & ((1ULL << 29) - 1)) return std::nullopt;
    return static_cast<uint32_t>(((b >> 63) << 31) | (0xffULL << 23) | (m >> 29));
  }
  const double a = std::fabs(d);
  if (a > 3.4028234663852886e38) return std::nullopt;  // FLT_MAX; the cast would overflow
  const float f = static_cast<float>(d);
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if (Bits(SingleBitsToDouble(u)) != b) return std::nullopt;
  return u;
}

}  // namespace secprof::cbor::internal
