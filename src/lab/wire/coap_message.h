// src/lab/wire/coap_message.h — what the lab's adversaries read and rewrite of a CoAP message in
// a datagram (RFC 7252 §3 message format, §3.1 option format). The lab parses raw bytes itself
// because the attacker sits below libcoap: it sees datagrams, not requests.
//
// Contracts: Parse refuses (nullopt) anything that is not a well-formed CoAP message (version 1,
// token length 0..8, option deltas and lengths in range, reserved nibble 15 only as the payload
// marker, a payload marker followed by at least one byte); Serialize(Parse(x)) == x for every
// message this module accepts whose options are in order (RFC 7252 §3.1 requires it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "secprof/core/bytes.h"

namespace secprof::lab::wire {

// Option numbers, RFC 7252 §5.10 and RFC 7959 §2.1.
namespace option {
inline constexpr uint16_t kUriPath = 11;
inline constexpr uint16_t kContentFormat = 12;
inline constexpr uint16_t kUriQuery = 15;
inline constexpr uint16_t kBlock2 = 23;
inline constexpr uint16_t kBlock1 = 27;
}  // namespace option

struct CoapMessage {
  uint8_t type = 0;  // 0 CON, 1 NON, 2 ACK, 3 RST (RFC 7252 §3)
  uint8_t code = 0;  // class << 5 | detail
  uint16_t mid = 0;
  Bytes token;
  std::vector<std::pair<uint16_t, Bytes>> options;  // in order of number
  Bytes payload;

  bool is_request() const { return code >= 1 && code <= 31; }
  bool is_response() const { return code >= 64; }
  std::string path() const;                                    // Uri-Path segments joined with '/'
  std::string code_string() const;                             // "0.02", "2.04", ...
  std::optional<uint64_t> uint_option(uint16_t number) const;  // RFC 7252 §3.2 uint
};

std::optional<CoapMessage> ParseCoap(ByteView datagram);
Bytes SerializeCoap(const CoapMessage& m);

}  // namespace secprof::lab::wire
