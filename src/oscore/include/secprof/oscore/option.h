// secprof/oscore/option.h — the OSCORE option value (RFC 8613 §6.1) and the protection class of
// every CoAP option (RFC 8613 §4.1, Figure 5).
//
// The OSCORE option value carries the COSE object's unprotected header in a compressed form:
//
//    0 1 2 3 4 5 6 7 <--------- n bytes -------->
//   +-+-+-+-+-+-+-+-+----------------------------+
//   |0 0 0|h|k|  n  |  Partial IV (if any) ...   |
//   +-+-+-+-+-+-+-+-+----------------------------+
//   | s (if h) | kid context (s bytes) | kid (the rest, if k) |
//
// bits 0-2 are reserved and must be 0, n (the Partial IV length) is 0..5 (6 and 7 reserved),
// h says a kid context follows with its 1-byte length s, k says the remaining bytes are the kid.
// All flags 0 and no Partial IV is the empty value (§6.1).
#pragma once

#include <cstdint>
#include <optional>

#include "secprof/core/bytes.h"
#include "secprof/core/result.h"

namespace secprof::oscore {

// The longest Partial IV: 5 bytes (§6.1, n <= 5), so sequence numbers are < 2^40 (§7.2.1).
inline constexpr size_t kMaxPartialIvSize = 5;
inline constexpr uint64_t kMaxSequenceNumber = (uint64_t{1} << 40) - 1;

struct OscoreOption {
  std::optional<Bytes> partial_iv{};   // 1..5 bytes, minimal (§6.1), when present
  std::optional<Bytes> kid_context{};  // h flag
  std::optional<Bytes> kid{};          // k flag (may be the empty byte string)
  friend bool operator==(const OscoreOption&, const OscoreOption&) = default;
};

// Encodes per §6.1. REQUIRES partial_iv 1..5 bytes and kid_context <= 255 bytes (else
// kInvalidInput).
Result<Bytes> EncodeOscoreOption(const OscoreOption& o);

// Decodes per §6.1. kInvalidInput (the caller answers 4.02 Bad Option, §8.2 step 3) for: a
// reserved bit set; n = 6 or 7; a Partial IV, s or kid context running past the end; a first
// byte of 0 in a non-empty value (the empty value is the only encoding of "no flags"); bytes
// left over when k is not set; a Partial IV that is not minimal (a leading zero byte on more than
// one byte; §6.1: "the least number of bytes").
Result<OscoreOption> DecodeOscoreOption(ByteView value);

// The sequence number `seq` as a Partial IV (§6.1: big-endian, least number of bytes, 0 is
// one byte 0x00). REQUIRES seq <= kMaxSequenceNumber.
Bytes PartialIvFromSequence(uint64_t seq);

// Protection class of an option (§4.1, Figure 5).
enum class OptionClass {
  kE,       // encrypted and integrity protected: only the Inner option is used
  kU,       // unprotected: only the Outer option is used (Uri-Host, Uri-Port, Proxy-Scheme, ...)
  kEandU,   // both: an Inner option end to end, an Outer one for proxies (Observe, Max-Age,
            // Block1/2, Size1/2, No-Response)
  kOscore,  // the OSCORE option itself (outer, built by the protection)
};
// Every option not listed in Figure 5 (an unknown option included) is Class E (§4.1).
OptionClass ClassOf(uint16_t number);

}  // namespace secprof::oscore
