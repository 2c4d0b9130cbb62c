// CoAP messages in datagrams (coap_message.h; RFC 7252 §3, §3.1).
#include "coap_message.h"

#include <algorithm>

namespace secprof::lab::wire {

std::string CoapMessage::path() const {
  std::string out;
  for (const auto& [n, v] : options) {
    if (n != option::kUriPath) continue;
    if (!out.empty()) out += '/';
    out.append(v.begin(), v.end());
  }
  return out;
}

std::string CoapMessage::code_string() const {
  std::string s = std::to_string(code >> 5) + ".";
  unsigned d = code & 0x1f;
  if (d < 10) s += '0';
  return s + std::to_string(d);
}

std::optional<uint64_t> CoapMessage::uint_option(uint16_t number) const {
  for (const auto& [n, v] : options) {
    if (n != number) continue;
    if (v.size() > 8) return std::nullopt;
    uint64_t x = 0;
    for (uint8_t b : v) x = x << 8 | b;
    return x;
  }
  return std::nullopt;
}

std::optional<CoapMessage> ParseCoap(ByteView d) {
  if (d.size() < 4) return std::nullopt;
  CoapMessage m;
  if ((d[0] >> 6) != 1) return std::nullopt;  // version 1 (§3)
  m.type = (d[0] >> 4) & 3;
  const size_t tkl = d[0] & 0x0f;
  if (tkl > 8) return std::nullopt;  // 9-15 are reserved (§3)
  m.code = d[1];
  m.mid = static_cast<uint16_t>(d[2] << 8 | d[3]);
  size_t i = 4;
  if (d.size() < i + tkl) return std::nullopt;
  m.token.assign(d.begin() + i, d.begin() + i + tkl);
  i += tkl;
  uint32_t number = 0;
  while (i < d.size()) {
    if (d[i] == 0xff) {  // payload marker (§3): must be followed by a payload
      if (i + 1 == d.size()) return std::nullopt;
      m.payload.assign(d.begin() + i + 1, d.end());
      return m;
    }
    uint32_t delta = d[i] >> 4, len = d[i] & 0x0f;
    ++i;
    // §3.1: 13 -> one extra byte (value - 13), 14 -> two extra bytes (value - 269), 15 reserved.
    auto ext = [&](uint32_t& v) {
      if (v == 15) return false;
      if (v == 13) {
        if (i + 1 > d.size()) return false;
        v = d[i] + 13u;
        i += 1;
      } else if (v == 14) {
        if (i + 2 > d.size()) return false;
        v = (uint32_t{d[i]} << 8 | d[i + 1]) + 269u;
        i += 2;
      }
      return true;
    };
    if (!ext(delta) || !ext(len)) return std::nullopt;
    number += delta;
    if (number > 0xffff || i + len > d.size()) return std::nullopt;
    m.options.push_back({static_cast<uint16_t>(number), Bytes(d.begin() + i, d.begin() + i + len)});
    i += len;
  }
  return m;
}

Bytes SerializeCoap(const CoapMessage& m) {
  Bytes out;
  out.push_back(static_cast<uint8_t>(1 << 6 | (m.type & 3) << 4 | (m.token.size() & 0x0f)));
  out.push_back(m.code);
  out.push_back(static_cast<uint8_t>(m.mid >> 8));
  out.push_back(static_cast<uint8_t>(m.mid & 0xff));
  out.insert(out.end(), m.token.begin(), m.token.end());
  auto opts = m.options;
  std::stable_sort(opts.begin(), opts.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  uint32_t last = 0;
  for (const auto& [n, v] : opts) {
    uint32_t delta = n - last, len = static_cast<uint32_t>(v.size());
    last = n;
    auto nib = [](uint32_t x) -> uint8_t { return x < 13 ? x : x < 269 ? 13 : 14; };
    out.push_back(static_cast<uint8_t>(nib(delta) << 4 | nib(len)));
    for (uint32_t x : {delta, len}) {
      if (x >= 269) {
        out.push_back(static_cast<uint8_t>((x - 269) >> 8));
        out.push_back(static_cast<uint8_t>((x - 269) & 0xff));
      } else if (x >= 13) {
        out.push_back(static_cast<uint8_t>(x - 13));
      }
    }
    out.insert(out.end(), v.begin(), v.end());
  }
  if (!m.payload.empty()) {
    out.push_back(0xff);
    out.insert(out.end(), m.payload.begin(), m.payload.end());
  }
  return out;
}

}  // namespace secprof::lab::wire
