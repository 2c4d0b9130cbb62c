// Fuzzes every decoder of the KDC/thing protocol (secprof::domain, protocol.h, latest_release.h)
// and the openers of self-protected messages (tickets, group messages, link frames, the
// latest-release statement): bodies an attacker on the network controls. The first byte picks
// the parser (mod 22; seeds keep their parser: the first 18 are numbered as before).
#include <cstddef>
#include <cstdint>

#include "secprof/core/clock.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/latest_release.h"
#include "secprof/domain/protocol.h"

using namespace secprof;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  crypto::ByteView b(data + 1, size - 1);
  static const uint8_t kKey[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  crypto::ByteView key(kKey, sizeof kKey);
  switch (data[0] % 22) {
    case 0:
      (void)domain::DecodeJoinNonceRequest(b);
      break;
    case 1:
      (void)domain::DecodeJoinNonce(b);
      break;
    case 2:
      (void)domain::DecodePskJoinRequest(b);
      break;
    case 3:
      (void)domain::DecodePskJoinResponse(b);
      break;
    case 4:
      (void)domain::DecodeVoucherResponse(b);
      break;
    case 5:
      (void)domain::DecodeEnrollRequest(b);
      break;
    case 6:
      (void)domain::DecodeEnrollResponse(b);
      break;
    case 7:
      (void)domain::DecodeStateReport(b);
      break;
    case 8:
      (void)domain::DecodePairKeyRequest(b);
      break;
    case 9:
      (void)domain::DecodePairKeyResponse(b);
      break;
    case 10:
      (void)domain::DecodeGroupKeyRequest(b);
      break;
    case 11:
      (void)domain::DecodeGroupKeyResponse(b);
      break;
    case 12:
      (void)domain::DecodeReading(b);
      break;
    case 13:
      (void)domain::DecodeActuatorCommand(b);
      break;
    case 14:
      (void)domain::DecodePairImprint(b);
      break;
    case 15:
      (void)domain::OpenTicket(key, "thing-1", b, SystemClock());
      break;
    case 16:
      (void)domain::OpenGroupMessage(key, "g", 1, b, (data[0] & 0x80) != 0,
                                     [](std::string_view) { return std::nullopt; });
      break;
    case 17:
      (void)domain::OpenLinkFrame(key, b, [](std::string_view) { return uint64_t{0}; });
      break;
    case 18:
      (void)domain::DecodeReadingsSent(b);
      break;
    case 19:
      (void)domain::DecodeLatestRelease(b);
      break;
    case 20:
      (void)domain::DecodeFirmwareAlert(b);
      break;
    // The statement as a thing without the KDC's key opens it (SecProf_2): the COSE_Sign1 layer
    // and the statement inside, unverified.
    case 21:
      (void)domain::OpenLatestRelease(b, nullptr);
      break;
  }
  return 0;
}
