// Fuzzes the KDC's stateless join nonce check (src/kdc/join_nonce.h; docs/DOMAIN.md "Nonce"): a
// j/psk request carries 16 bytes the requester chose. The first byte picks the mode:
//   even: Check(arbitrary bytes) for a fixed serial and peer must fail (Ok would be a nonce the
//         KDC never issued, accepted), and Expires reads any input;
//   odd:  a nonce Issued for (serial, peer, expiry) checks Ok for exactly them while not
//         expired and within the lifetime, and fails with any one byte changed, for another
//         serial and from another address.
// A violated property aborts (a libFuzzer crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "join_nonce.h"

using namespace secprof;
namespace jn = secprof::kdc::join_nonce;

namespace {

constexpr uint8_t kKek[32] = {9, 8, 7, 6,  5,  4,  3,  2,  1,  0,  1,  2,  3,  4,  5,  6,
                              7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22};
constexpr auto kLifetime = std::chrono::seconds(300);

uint32_t Read32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const ByteView kek(kKek, sizeof kKek);
  const int64_t now = Read32(data + 1);
  if ((data[0] & 1) == 0) {
    const ByteView nonce(data + 5, size - 5);
    (void)jn::Expires(nonce);
    if (jn::Check(kek, nonce, "0001", "127.0.0.1:5683", now, kLifetime)) std::abort();
    return 0;
  }
  if (size < 12) return 0;
  const int64_t expires = now + (data[5] | (data[6] << 8));  // 0 .. 65535 s ahead
  const std::string serial(reinterpret_cast<const char*>(data + 9), size - 9);
  const std::string peer = "127.0.0." + std::to_string(data[7]) + ":5683";
  auto rng = crypto::FakeRandom::FromSeed(data[8]);
  auto nonce = jn::Issue(kek, serial, peer, expires, rng);
  if (!nonce) return 0;  // an expiry beyond 2^32 - 1
  const bool ok = static_cast<bool>(jn::Check(kek, *nonce, serial, peer, now, kLifetime));
  if (ok != (expires - now <= kLifetime.count())) std::abort();
  if (jn::Expires(*nonce) != expires) std::abort();
  Bytes changed = *nonce;
  changed[data[5] % changed.size()] ^= data[6] ? data[6] : 1;
  if (jn::Check(kek, changed, serial, peer, now, kLifetime)) std::abort();
  if (jn::Check(kek, *nonce, serial + "x", peer, now, kLifetime)) std::abort();
  const std::string other = "127.0.0." + std::to_string(data[7] ^ 1) + ":5683";
  if (jn::Check(kek, *nonce, serial, other, now, kLifetime)) std::abort();
  return 0;
}
