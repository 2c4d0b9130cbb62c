// Fuzzes the Echo value check of coap::Server (src/coap/echo.h; RFC 9175 §2.3, Appendix A
// method 3): the bytes of an Echo option arrive from the network, in requests to a resource that
// requires freshness. The first byte picks the mode:
//   even: Check(arbitrary bytes, arbitrary time) must never say kFresh (that would be a forged
//         value accepted: the tag is an HMAC under a key the input cannot know);
//   odd:  a value Issued at time t is kFresh at t + d exactly when d <= the window, and any one
//         changed byte (position and mask from the input) makes it not kFresh.
// A violated property aborts (a libFuzzer crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "echo.h"

using namespace secprof;
using coap::internal::EchoGuard;

namespace {

constexpr auto kWindow = std::chrono::milliseconds(2000);

const EchoGuard& Guard() {
  static const std::unique_ptr<EchoGuard> g = [] {
    auto rng = crypto::FakeRandom::FromSeed(11);
    auto r = EchoGuard::Create(rng, kWindow);
    if (!r) std::abort();
    return std::move(*r);
  }();
  return *g;
}

uint64_t Read64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// A monotonic time from the input, within 2^42 ms (139 years) of the clock's epoch: what a
// steady_clock can show (its nanoseconds fit int64 with room for the offsets added here).
EchoGuard::TimePoint At(uint64_t ms) {
  return EchoGuard::TimePoint(
      std::chrono::milliseconds(static_cast<int64_t>(ms & ((uint64_t{1} << 42) - 1))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  const EchoGuard& g = Guard();
  const auto now = At(Read64(data + 1));
  if ((data[0] & 1) == 0) {
    std::optional<Bytes> value;
    if (data[0] & 2) value = Bytes(data + 9, data + size);
    if (g.Check(value, now) == EchoGuard::Verdict::kFresh) std::abort();
    return 0;
  }
  if (size < 13) return 0;
  const uint64_t d = data[9] | (uint64_t{data[10]} << 8);  // 0 .. 65535 ms later
  auto issued = g.Issue(now);
  if (!issued) std::abort();
  const bool fresh =
      g.Check(*issued, now + std::chrono::milliseconds(d)) == EchoGuard::Verdict::kFresh;
  if (fresh != (std::chrono::milliseconds(d) <= kWindow)) std::abort();
  Bytes changed = *issued;
  const uint8_t mask = data[12] ? data[12] : 1;
  changed[data[11] % changed.size()] ^= mask;
  if (g.Check(changed, now) == EchoGuard::Verdict::kFresh) std::abort();
  return 0;
}
