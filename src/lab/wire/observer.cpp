// The lab's passive observer (observer.h).
#include "observer.h"

#include <map>
#include <tuple>

#include "coap_message.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/hex.h"
#include "secprof/cose/cose.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "secprof/identity/identity.h"

namespace secprof::lab::wire {

namespace {

// RFC 6347 §4.1 record header: type(1) version(2) epoch(2) sequence_number(6) length(2).
constexpr size_t kRecordHeader = 13;
// RFC 6347 §4.2.2 handshake header: msg_type(1) length(3) message_seq(2) fragment_offset(3)
// fragment_length(3).
constexpr size_t kHandshakeHeader = 12;
// RFC 5246 §6.2.1 ContentType and §7.4 HandshakeType values.
constexpr uint8_t kHandshake = 22;
enum : uint8_t {
  kClientHello = 1,
  kServerHello = 2,
  kCertificate = 11,
  kServerKeyExchange = 12,
  kClientKeyExchange = 16,
};

uint32_t U24(ByteView b, size_t i) {
  return uint32_t{b[i]} << 16 | uint32_t{b[i + 1]} << 8 | b[i + 2];
}
uint16_t U16(ByteView b, size_t i) { return static_cast<uint16_t>(b[i] << 8 | b[i + 1]); }

// PSK cipher suites (IANA TLS Cipher Suites registry: RFC 4279, 4785, 5487, 5489, 6655, 7905,
// 8442): their key exchanges start with the PSK identity (hint).
bool IsPskSuite(uint16_t s) {
  return (s >= 0x008C && s <= 0x0095) || (s >= 0x00A8 && s <= 0x00B9) ||
         (s >= 0xC033 && s <= 0xC03B) || (s >= 0xC064 && s <= 0xC06B) ||
         (s >= 0xC0A4 && s <= 0xC0AB) || (s >= 0xCCAB && s <= 0xCCAE) ||
         (s >= 0xD001 && s <= 0xD005);
}

std::string SuiteName(uint16_t s) {
  static const std::map<uint16_t, const char*> names = {
      {0xC0A8, "PSK-AES128-CCM8"},
      {0xC0AE, "ECDHE-ECDSA-AES128-CCM8"},
      {0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305"},
      {0xCCAC, "ECDHE-PSK-CHACHA20-POLY1305"},
      {0xC037, "ECDHE-PSK-AES128-CBC-SHA256"},
      {0x00A8, "PSK-AES128-GCM-SHA256"},
  };
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%04X", s);
  auto it = names.find(s);
  return std::string(hex) + (it == names.end() ? "" : std::string(" ") + it->second);
}

bool Printable(ByteView b) {
  if (b.empty()) return false;
  for (uint8_t c : b)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

struct Reassembly {
  uint8_t type = 0;
  Bytes body;
  std::vector<bool> have;
  bool done = false;
};

class Reader {
 public:
  Reader(const ObserverOptions& o, Observation& out) : o_(o), out_(out) {}

  void Datagram(const wire::Datagram& d) {
    ++out_.datagrams;
    if (LooksLikeDtls(d.bytes))
      Dtls(d);
    else if (auto m = ParseCoap(d.bytes))
      Coap(d, *m);
  }

 private:
  void Id(size_t session, std::string id) {
    out_.by_session[session].insert(id);
    out_.identifiers.insert(std::move(id));
  }

  // ---- DTLS ----
  void Dtls(const wire::Datagram& d) {
    ByteView b(d.bytes);
    size_t i = 0;
    while (i + kRecordHeader <= b.size()) {
      const uint8_t type = b[i];
      const uint16_t epoch = U16(b, i + 3);
      const size_t len = U16(b, i + 11);
      if (i + kRecordHeader + len > b.size()) break;
      ByteView frag = b.subspan(i + kRecordHeader, len);
      ++out_.dtls_records;
      if (epoch > 0)
        ++out_.dtls_encrypted;
      else if (type == kHandshake)
        Handshake(d, frag);
      i += kRecordHeader + len;
    }
  }

  void Handshake(const wire::Datagram& d, ByteView frag) {
    size_t i = 0;
    while (i + kHandshakeHeader <= frag.size()) {
      const uint8_t type = frag[i];
      const uint32_t total = U24(frag, i + 1);
      const uint16_t seq = U16(frag, i + 4);
      const uint32_t off = U24(frag, i + 6), flen = U24(frag, i + 9);
      if (i + kHandshakeHeader + flen > frag.size() || total > (1u << 20) || off + flen > total)
        return;
      auto& r = parts_[{d.session, d.dir, seq, type}];
      if (!r.done) {
        if (r.have.empty()) {
          r.type = type;
          r.body.assign(total, 0);
          r.have.assign(total, false);
        }
        if (r.body.size() == total) {
          for (uint32_t k = 0; k < flen; ++k) {
            r.body[off + k] = frag[i + kHandshakeHeader + k];
            r.have[off + k] = true;
          }
          bool all = true;
          for (bool h : r.have) all = all && h;
          if (all) {
            r.done = true;
            Message(d, type, seq, r.body);
          }
        }
      }
      i += kHandshakeHeader + flen;
    }
  }

  void Message(const wire::Datagram& d, uint8_t type, uint16_t seq, ByteView body) {
    switch (type) {
      case kClientHello:
        if (seq == 0) ++out_.dtls_handshakes;
        break;
      case kServerHello:
        if (body.size() >= 35 && body.size() >= 35u + body[34] + 2) {
          const uint16_t suite = U16(body, 35 + body[34]);
          suite_[d.session] = suite;
          out_.cipher_suites.insert(SuiteName(suite));
        }
        break;
      case kCertificate: {
        if (body.size() < 3) return;
        size_t i = 3, end = std::min<size_t>(body.size(), 3 + U24(body, 0));
        while (i + 3 <= end) {
          size_t n = U24(body, i);
          if (i + 3 + n > end) break;
          auto c = identity::Certificate::FromDer(body.subspan(i + 3, n));
          if (c) {
            const auto& s = c->subject();
            if (!s.serial_number.empty()) Id(d.session, "cert-serialNumber:" + s.serial_number);
            if (!s.text.empty()) Id(d.session, "cert-subject:" + s.text);
            Id(d.session, "cert-serial:" + c->serial_hex());
          }
          i += 3 + n;
        }
        break;
      }
      case kServerKeyExchange:
      case kClientKeyExchange: {
        auto s = suite_.find(d.session);
        if (s == suite_.end() || !IsPskSuite(s->second) || body.size() < 2) return;
        const size_t n = U16(body, 0);
        if (2 + n > body.size()) return;
        ByteView id = body.subspan(2, n);
        if (!Printable(id)) return;
        std::string v(id.begin(), id.end());
        Id(d.session, (type == kClientKeyExchange ? "psk-identity:" : "psk-identity-hint:") + v);
        break;
      }
      default:
        break;
    }
  }

  // ---- CoAP ----
  void Coap(const wire::Datagram& d, const CoapMessage& m) {
    ++out_.coap_messages;
    Observation::Coap c{d.index, d.session, d.dir, m.path(), m.code_string(), ""};
    const auto key = std::make_tuple(d.session, m.token);
    if (m.is_request()) {
      requests_[key] = {m.path(), m.payload};
      Request(d, m);
    } else if (m.is_response()) {
      auto it = requests_.find(key);
      if (it != requests_.end()) {
        c.path = it->second.first;
        Response(d, m, it->second.first, it->second.second);
      }
      if ((m.code >> 5) >= 4 && Printable(m.payload))
        c.diagnostic.assign(m.payload.begin(), m.payload.end());
    }
    out_.coap.push_back(std::move(c));
  }

  void Reading(size_t session, const domain::Reading& r, const std::string& how) {
    Id(session, "coap-serial:" + r.serial);
    out_.plaintext.push_back(how + " reading " + r.serial + " " + std::to_string(r.centi_celsius) +
                             " (1/100 C) #" + std::to_string(r.counter));
  }

  void Request(const wire::Datagram& d, const CoapMessage& m) {
    const std::string p = m.path();
    ByteView body(m.payload);
    if (p == domain::path::kPair) {
      if (auto im = domain::DecodePairImprint(body)) {
        Id(d.session, "coap-serial:" + im->mother);
        out_.keys.push_back({"domain-key", im->mother, std::move(im->domain_key), d.index});
      }
    } else if (p == domain::path::kJoinNonce) {
      if (auto r = domain::DecodeJoinNonceRequest(body)) Id(d.session, "coap-serial:" + r->serial);
    } else if (p == domain::path::kJoinPsk) {
      if (auto r = domain::DecodePskJoinRequest(body)) Id(d.session, "coap-serial:" + r->serial);
    } else if (p == domain::path::kLink) {
      auto mac = cose::DecodeMac0(body);
      if (!mac || !mac->payload) return;
      auto v = cbor::Decode(*mac->payload);
      if (!v || !v->is_array() || v->array().size() != 3 || !v->array()[0].is_text() ||
          !v->array()[1].is_unsigned() || !v->array()[2].is_bytes())
        return;
      const std::string sender = v->array()[0].text();
      Id(d.session, "link-sender:" + sender);
      const Bytes& data = v->array()[2].bytes();
      if (auto r = domain::DecodeReading(data))
        Reading(d.session, *r, "link frame #" + std::to_string(v->array()[1].uint_value()) + ":");
      else
        out_.plaintext.push_back("link frame from " + sender + ": " + ToHex(data));
    } else if (p == domain::path::kActuator) {
      if (auto c = domain::DecodeActuatorCommand(body))
        out_.plaintext.push_back(std::string("command actuator/led ") + (c->on ? "on" : "off"));
    } else if (p == domain::path::kReport) {
      if (auto r = domain::DecodeReading(body)) Reading(d.session, *r, "op/report:");
    }
  }

  void Response(const wire::Datagram& d, const CoapMessage& m, const std::string& path,
                const Bytes& request) {
    ByteView body(m.payload);
    if (path == domain::path::kSensor && m.code == (2 << 5 | 5)) {
      if (auto r = domain::DecodeReading(body)) Reading(d.session, *r, "sensor/temp:");
    } else if (path == domain::path::kJoinPsk && m.code == (2 << 5 | 4)) {
      auto j = domain::DecodePskJoinResponse(body);
      auto q = domain::DecodePskJoinRequest(request);
      if (!j || !q) return;
      Id(d.session, "psk-identity:" + j->identity);
      auto code = o_.setup_codes.find(q->serial);
      if (code != o_.setup_codes.end()) {
        if (auto psk =
                domain::OpenJoinPsk(code->second, q->serial, j->owner, q->nonce, j->sealed_psk)) {
          out_.keys.push_back({"psk", j->identity, std::move(*psk), d.index});
          return;
        }
      }
      out_.sealed.push_back("j/psk answer for " + q->serial + ": PSK sealed (" +
                            std::to_string(j->sealed_psk.size()) +
                            " B, AES-256-GCM under the setup code)");
    }
  }

  const ObserverOptions& o_;
  Observation& out_;
  std::map<std::tuple<size_t, Direction, uint16_t, uint8_t>, Reassembly> parts_;
  std::map<size_t, uint16_t> suite_;
  std::map<std::tuple<size_t, Bytes>, std::pair<std::string, Bytes>> requests_;
};

}  // namespace

bool LooksLikeDtls(ByteView d) {
  return d.size() >= kRecordHeader && d[0] >= 20 && d[0] <= 23 && d[1] == 0xFE &&
         (d[2] == 0xFD || d[2] == 0xFF);
}

Observation Observe(const std::vector<Datagram>& capture, const ObserverOptions& o) {
  Observation out;
  Reader r(o, out);
  for (const auto& d : capture)
    if (d.fate != Fate::kInjected && d.fate != Fate::kReleased) r.Datagram(d);
  return out;
}

std::string Summarize(const std::vector<Datagram>& capture, size_t max) {
  std::string out;
  size_t n = 0;
  for (const auto& d : capture) {
    if (n++ == max) {
      out += "... " + std::to_string(capture.size() - max) + " more\n";
      break;
    }
    out += "#" + std::to_string(d.index) + " s" + std::to_string(d.session) + " " +
           DirectionName(d.dir) + " " + std::to_string(d.bytes.size()) + " B ";
    if (LooksLikeDtls(d.bytes)) {
      static const char* types[] = {"change_cipher_spec", "alert", "handshake", "application_data"};
      out += std::string("dtls ") + types[d.bytes[0] - 20] + " epoch " +
             std::to_string(U16(d.bytes, 3));
    } else if (auto m = ParseCoap(d.bytes)) {
      out += "coap " + m->code_string() + (m->path().empty() ? "" : " " + m->path());
    } else {
      out += "?";
    }
    out += std::string(" ") + FateName(d.fate) + (d.rewritten ? " (rewritten)" : "") + "\n";
  }
  return out;
}

}  // namespace secprof::lab::wire
