// secprof/oscore/message.h — the CoAP message model OSCORE works on, independent of libcoap:
// a code, options (number, value) in transmission order, and a payload; plus the RFC 7252 §3
// encodings of options and of a whole datagram, so that a caller on any CoAP stack (libcoap in
// the proxy and the thing, a raw UDP relay in a test) can hand OSCORE its message and take the
// result back.
//
//   oscore::Message req{.code = oscore::code::kGet};
//   req.Add(oscore::opt::kUriPath, "tv1");
//   Bytes wire = oscore::EncodeDatagram({.type = 0, .message_id = 1, .token = {}, .message = req});
//   SECPROF_ASSIGN_OR_RETURN(oscore::Datagram d, oscore::DecodeDatagram(wire));
//
// Every decoder here reads untrusted bytes: it checks each length against what is left and fails
// with kInvalidInput (never reads past the end, never allocates from an unchecked length).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "secprof/core/bytes.h"
#include "secprof/core/result.h"

namespace secprof::oscore {

// CoAP codes as carried in the header: class << 5 | detail (RFC 7252 §3, §12.1).
inline constexpr uint8_t MakeCode(unsigned cls, unsigned detail) {
  return static_cast<uint8_t>((cls << 5) | detail);
}
namespace code {
inline constexpr uint8_t kEmpty = 0;
inline constexpr uint8_t kGet = MakeCode(0, 1);
inline constexpr uint8_t kPost = MakeCode(0, 2);
inline constexpr uint8_t kPut = MakeCode(0, 3);
inline constexpr uint8_t kDelete = MakeCode(0, 4);
inline constexpr uint8_t kFetch = MakeCode(0, 5);  // RFC 8132 §2
inline constexpr uint8_t kChanged = MakeCode(2, 4);
inline constexpr uint8_t kContent = MakeCode(2, 5);
inline constexpr uint8_t kBadRequest = MakeCode(4, 0);
inline constexpr uint8_t kUnauthorized = MakeCode(4, 1);
inline constexpr uint8_t kBadOption = MakeCode(4, 2);
inline constexpr uint8_t kInternalServerError = MakeCode(5, 0);
}  // namespace code
// A request code is 0.01..0.31 (RFC 7252 §5.8, §12.1.1); 0.00 is the Empty message.
inline constexpr bool IsRequestCode(uint8_t c) { return c >= 1 && c < 32; }

// Option numbers (RFC 7252 §12.2, RFC 7641, RFC 7959, RFC 7967, RFC 8613 §2, RFC 9175).
namespace opt {
inline constexpr uint16_t kIfMatch = 1;
inline constexpr uint16_t kUriHost = 3;
inline constexpr uint16_t kETag = 4;
inline constexpr uint16_t kIfNoneMatch = 5;
inline constexpr uint16_t kObserve = 6;
inline constexpr uint16_t kUriPort = 7;
inline constexpr uint16_t kLocationPath = 8;
inline constexpr uint16_t kOscore = 9;
inline constexpr uint16_t kUriPath = 11;
inline constexpr uint16_t kContentFormat = 12;
inline constexpr uint16_t kMaxAge = 14;
inline constexpr uint16_t kUriQuery = 15;
inline constexpr uint16_t kAccept = 17;
inline constexpr uint16_t kLocationQuery = 20;
inline constexpr uint16_t kBlock2 = 23;
inline constexpr uint16_t kBlock1 = 27;
inline constexpr uint16_t kSize2 = 28;
inline constexpr uint16_t kProxyUri = 35;
inline constexpr uint16_t kProxyScheme = 39;
inline constexpr uint16_t kSize1 = 60;
inline constexpr uint16_t kEcho = 252;        // RFC 9175 §2.2.1
inline constexpr uint16_t kNoResponse = 258;  // RFC 7967 §2
}  // namespace opt

struct Option {
  uint16_t number = 0;
  Bytes value{};
  friend bool operator==(const Option&, const Option&) = default;
};

// A CoAP message without its transport framing (type, message ID, token: see Datagram).
// Invariant kept by Add and by the decoders: options are sorted by number, and options with the
// same number keep the order they were added in (RFC 7252 §5.4.5: repeated options are ordered).
struct Message {
  uint8_t code = code::kEmpty;
  std::vector<Option> options{};
  Bytes payload{};

  // Inserts after every option with a number <= `number` (keeping the invariant).
  void Add(uint16_t number, ByteView value);
  void Add(uint16_t number, std::string_view text);
  // The empty-value and uint forms (RFC 7252 §3.2: a uint is big-endian, leading zeros dropped).
  void AddUint(uint16_t number, uint64_t value);
  // The first option with `number`, or nullptr.
  const Option* Find(uint16_t number) const;
  // Removes every option with `number`; returns how many there were.
  size_t Remove(uint16_t number);

  friend bool operator==(const Message&, const Message&) = default;
};

// RFC 7252 §3.2 uint option value: big-endian, no leading zero bytes (0 is the empty string).
Bytes EncodeUintOption(uint64_t value);
// kInvalidInput when longer than 8 bytes.
Result<uint64_t> DecodeUintOption(ByteView value);

// RFC 7252 §3.1: options (delta/length nibbles with the 13/14 extensions, in order) followed,
// when the payload is not empty, by the payload marker 0xFF and the payload. REQUIRES options
// sorted by number (Message's invariant).
void EncodeOptionsAndPayload(const Message& m, Bytes& out);
// The inverse, for everything after the code (or after the token of a datagram). kInvalidInput
// for a delta or length nibble of 15 that is not the payload marker, an option running past the
// end, an option number above 65535, or a payload marker followed by nothing (RFC 7252 §3).
// Fills options and payload of `m`; its code is not touched.
Status DecodeOptionsAndPayload(ByteView in, Message& m);

// A CoAP message over UDP (RFC 7252 §3): version 1, type, token (0..8 bytes), message ID.
struct Datagram {
  uint8_t type = 0;  // 0 CON, 1 NON, 2 ACK, 3 RST
  uint16_t message_id = 0;
  Bytes token{};
  Message message{};
  friend bool operator==(const Datagram&, const Datagram&) = default;
};

// REQUIRES d.token.size() <= 8 and d.type <= 3 (else kInvalidInput).
Result<Bytes> EncodeDatagram(const Datagram& d);
// kInvalidInput for fewer than 4 bytes, a version other than 1, a token length of 9..15, or any
// error of DecodeOptionsAndPayload.
Result<Datagram> DecodeDatagram(ByteView wire);

}  // namespace secprof::oscore
