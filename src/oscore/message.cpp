// The CoAP message model and its RFC 7252 §3 encodings (see message.h).
#include "secprof/oscore/message.h"

#include <algorithm>

namespace secprof::oscore {

namespace {

// RFC 7252 §3.1: a delta or length below 13 fits the nibble; 13 adds one byte (value - 13),
// 14 adds two bytes (value - 269).
uint8_t Nibble(uint32_t v) { return v < 13 ? static_cast<uint8_t>(v) : (v < 269 ? 13 : 14); }

void PutExtension(Bytes& out, uint32_t v) {
  if (v >= 269) {
    PutBig16(out, static_cast<uint16_t>(v - 269));
  } else if (v >= 13) {
    out.push_back(static_cast<uint8_t>(v - 13));
  }
}

// Reads the extension for nibble `n` at in[pos...]; advances pos.
Result<uint32_t> ReadExtension(ByteView in, size_t& pos, uint8_t n, const char* what) {
  if (n < 13) return n;
  if (n == 13) {
    if (pos + 1 > in.size()) {
      return Fail(ErrorCode::kInvalidInput, std::string("CoAP option ") + what + " truncated");
    }
    return uint32_t{in[pos++]} + 13;
  }
  if (n == 14) {
    if (pos + 2 > in.size()) {
      return Fail(ErrorCode::kInvalidInput, std::string("CoAP option ") + what + " truncated");
    }
    uint32_t v = uint32_t{GetBig16(in.subspan(pos))} + 269;
    pos += 2;
    return v;
  }
  return Fail(ErrorCode::kInvalidInput,
              std::string("CoAP option ") + what + " nibble 15 (RFC 7252 §3.1: reserved)");
}

}  // namespace

void Message::Add(uint16_t number, ByteView value) {
  auto it = std::upper_bound(options.begin(), options.end(), number,
                             [](uint16_t n, const Option& o) { return n < o.number; });
  options.insert(it, Option{number, Bytes(value.begin(), value.end())});
}

void Message::Add(uint16_t number, std::string_view text) {
  Add(number, ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void Message::AddUint(uint16_t number, uint64_t value) { Add(number, EncodeUintOption(value)); }

const Option* Message::Find(uint16_t number) const {
  for (const auto& o : options) {
    if (o.number == number) return &o;
  }
  return nullptr;
}

size_t Message::Remove(uint16_t number) {
  return std::erase_if(options, [number](const Option& o) { return o.number == number; });
}

Bytes EncodeUintOption(uint64_t value) {
  Bytes out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    auto b = static_cast<uint8_t>(value >> shift);
    if (b != 0 || !out.empty()) out.push_back(b);
  }
  return out;
}

Result<uint64_t> DecodeUintOption(ByteView value) {
  if (value.size() > 8) {
    return Fail(ErrorCode::kInvalidInput, "CoAP uint option longer than 8 bytes");
  }
  return GetBigN(value, value.size());
}

void EncodeOptionsAndPayload(const Message& m, Bytes& out) {
  uint32_t previous = 0;
  for (const auto& o : m.options) {
    uint32_t delta = o.number - previous;
    auto len = static_cast<uint32_t>(o.value.size());
    out.push_back(static_cast<uint8_t>((Nibble(delta) << 4) | Nibble(len)));
    PutExtension(out, delta);
    PutExtension(out, len);
    out.insert(out.end(), o.value.begin(), o.value.end());
    previous = o.number;
  }
  if (!m.payload.empty()) {
    out.push_back(0xFF);
    out.insert(out.end(), m.payload.begin(), m.payload.end());
  }
}

Status DecodeOptionsAndPayload(ByteView in, Message& m) {
  m.options.clear();
  m.payload.clear();
  size_t pos = 0;
  uint32_t number = 0;
  while (pos < in.size()) {
    uint8_t head = in[pos++];
    if (head == 0xFF) {
      if (pos == in.size()) {
        return Fail(ErrorCode::kInvalidInput,
                    "CoAP payload marker followed by no payload (RFC 7252 §3)");
      }
      m.payload.assign(in.begin() + static_cast<std::ptrdiff_t>(pos), in.end());
      return Ok();
    }
    SECPROF_ASSIGN_OR_RETURN(uint32_t delta, ReadExtension(in, pos, head >> 4, "delta"));
    SECPROF_ASSIGN_OR_RETURN(uint32_t len, ReadExtension(in, pos, head & 0x0F, "length"));
    number += delta;
    if (number > 0xFFFF) {
      return Fail(ErrorCode::kInvalidInput, "CoAP option number above 65535");
    }
    if (len > in.size() - pos) {
      return Fail(ErrorCode::kInvalidInput, "CoAP option value runs past the end of the message");
    }
    m.options.push_back(Option{static_cast<uint16_t>(number),
                               Bytes(in.begin() + static_cast<std::ptrdiff_t>(pos),
                                     in.begin() + static_cast<std::ptrdiff_t>(pos + len))});
    pos += len;
  }
  return Ok();
}

Result<Bytes> EncodeDatagram(const Datagram& d) {
  if (d.token.size() > 8 || d.type > 3) {
    return Fail(ErrorCode::kInvalidInput, "CoAP token longer than 8 bytes or type above 3");
  }
  Bytes out;
  out.reserve(4 + d.token.size() + d.message.payload.size() + 16);
  out.push_back(static_cast<uint8_t>(0x40 | (d.type << 4) | d.token.size()));
  out.push_back(d.message.code);
  PutBig16(out, d.message_id);
  out.insert(out.end(), d.token.begin(), d.token.end());
  EncodeOptionsAndPayload(d.message, out);
  return out;
}

Result<Datagram> DecodeDatagram(ByteView wire) {
  if (wire.size() < 4) return Fail(ErrorCode::kInvalidInput, "CoAP message shorter than 4 bytes");
  if ((wire[0] >> 6) != 1) {
    return Fail(ErrorCode::kInvalidInput, "CoAP version is not 1 (RFC 7252 §3)");
  }
  size_t tkl = wire[0] & 0x0F;
  if (tkl > 8) return Fail(ErrorCode::kInvalidInput, "CoAP token length 9..15 (RFC 7252 §3)");
  if (wire.size() < 4 + tkl) return Fail(ErrorCode::kInvalidInput, "CoAP token truncated");
  Datagram d;
  d.type = static_cast<uint8_t>((wire[0] >> 4) & 0x03);
  d.message.code = wire[1];
  d.message_id = GetBig16(wire.subspan(2));
  d.token.assign(wire.begin() + 4, wire.begin() + 4 + static_cast<std::ptrdiff_t>(tkl));
  SECPROF_TRY(DecodeOptionsAndPayload(wire.subspan(4 + tkl), d.message));
  return d;
}

}  // namespace secprof::oscore
