// libFuzzer target for secprof::cbor::Decode (untrusted input, RFC 8949).
//
// Properties: whatever decodes re-encodes in preserved order to bytes that decode to an equal
// Value (map pairs in the same order); the deterministic encoding decodes again and is a fixed
// point (its maps are sorted, so the Value it decodes to equals the original up to map order,
// which is what equal deterministic encodings mean). Diagnostic
// notation must not crash either. Any violation aborts so that libFuzzer records the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "secprof/cbor/cbor.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_cbor: property violated: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace secprof::cbor;
  Limits limits;
  limits.max_depth = 32;
  limits.max_items = 1 << 14;
  auto v = Decode(ByteView(data, size), limits);
  if (!v) return 0;
  (void)Diagnostic(*v);

  const Bytes det = Encode(*v);
  auto again = Decode(det, limits);
  Check(again.has_value(), "deterministic re-encoding does not decode");
  Check(Encode(*again) == det, "deterministic encoding is not a fixed point");

  const Bytes kept = Encode(*v, MapOrder::kPreserveOrder);
  auto kept_back = Decode(kept, limits);
  Check(kept_back.has_value(), "order-preserving re-encoding does not decode");
  Check(*kept_back == *v, "order-preserving re-encoding decodes to a different value");
  return 0;
}
