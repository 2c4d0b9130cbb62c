// libFuzzer target for the emulated network's decoders of untrusted input: IEEE 802.15.4 frames
// (net::ParseFrame, net::LinkLayer::Open) and RPL control messages (net::DecodeRpl).
//
// Properties: nothing crashes or reads out of bounds; a frame that parses has its views inside the
// input and at most 127 bytes; an RPL message that decodes re-encodes to bytes that decode to an
// equal message (the encoding drops padding and ignores reserved fields, so the bytes may differ
// from the input, the message may not); a link layer that refuses a frame accepts the next genuine
// one (no state change on bad input). Any violation aborts so that libFuzzer records the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "secprof/net/frame.h"
#include "secprof/net/rpl.h"

namespace {
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_net: property violated: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace secprof::net;
  const secprof::ByteView in(data, size);

  auto rpl = DecodeRpl(in);
  if (rpl) {
    auto again = DecodeRpl(EncodeRpl(*rpl));
    Check(again.has_value(), "re-encoded RPL message does not decode");
    Check(*again == *rpl, "re-encoded RPL message decodes to a different message");
  }

  auto frame = ParseFrame(in);
  if (frame) {
    Check(size <= kMaxFrameSize, "a frame over 127 bytes parsed");
    Check(frame->header.size() + frame->payload.size() + frame->mic.size() + 2 == size,
          "frame views do not cover the input");
  }

  static auto key = LinkKey::Create(secprof::Bytes(kNetworkKeySize, 0x42));
  Check(key.has_value(), "link key");
  for (SecurityLevel level :
       {SecurityLevel::kNone, SecurityLevel::kMic64, SecurityLevel::kEncMic64}) {
    LinkLayer sender(1, level, *key), receiver(2, level, *key);
    (void)receiver.Open(in);
    auto genuine = sender.Seal(2, 0, secprof::Bytes{1, 2, 3});
    Check(genuine.has_value(), "seal");
    // A fuzzed frame claiming source 1 with a high counter must not lock out the genuine one.
    Check(receiver.Open(*genuine).has_value(), "bad input changed the link layer's state");
  }
  return 0;
}
