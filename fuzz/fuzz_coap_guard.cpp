// Fuzzes the coap module's availability guards (issue 9 items 13-14; docs/COAP.md "Availability"):
// the CoAP header parser that inspects every plain-CoAP datagram before libcoap reads it
// (ParseCoapHead, RFC 7252 §3 / RFC 7959 §2.2, §4), the 4.13 / 5.03 answers built from what it
// parsed (each must parse again and echo the token), the Block1 gate, and the Block1 body
// assembler fed with blocks an attacker chooses. Internal headers of src/coap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "assembly.h"
#include "guard.h"

using namespace secprof;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crypto::ByteView d(data, size);
  auto h = coap::internal::ParseCoapHead(d);
  if (h) {
    for (const auto& answer :
         {coap::internal::Encode413(*h, 1024, 7), coap::internal::Encode503(*h, 60, 7)}) {
      auto back = coap::internal::ParseCoapHead(answer);
      if (!back || back->token != h->token) std::abort();  // our own answer must be well-formed
    }
    static coap::internal::Block1Guard gate(4096, 4, std::chrono::seconds(247));
    (void)gate.Inspect(*h, "127.0.0.1", static_cast<uint16_t>(size),
                       std::chrono::steady_clock::now());
  }
  // The assembler: the input as a stream of blocks (1 byte flags/size, 2 bytes offset/16, body).
  coap::internal::BodyAssembler asm_(4096, 2, std::chrono::seconds(247));
  auto now = std::chrono::steady_clock::now();
  size_t i = 0;
  while (i + 3 <= size) {
    uint8_t f = data[i];
    size_t offset = static_cast<size_t>((data[i + 1] << 8) | data[i + 2]) * 16;
    size_t len = std::min<size_t>(f & 0x3f, size - i - 3);
    crypto::Bytes body;
    (void)asm_.Add((f & 0x40) ? "peer-b" : "peer-a", "127.0.0.1", offset,
                   crypto::ByteView(data + i + 3, len), (f & 0x80) != 0, 0, now, &body);
    if (body.size() > 4096) std::abort();  // the limit holds for every assembled body
    i += 3 + len;
  }
  return 0;
}
