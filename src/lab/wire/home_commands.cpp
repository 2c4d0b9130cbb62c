// SecProf_1 traffic as the on-path attacker edits it (home_commands.h).
#include "home_commands.h"

#include "secprof/cbor/cbor.h"
#include "secprof/cose/cose.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::wire {

std::optional<Bytes> AlterLinkReading(ByteView datagram, int64_t value) {
  auto m = ParseCoap(datagram);
  if (!m || !m->is_request() || m->path() != domain::path::kLink) return std::nullopt;
  auto mac = cose::DecodeMac0(m->payload);
  if (!mac || !mac->payload) return std::nullopt;
  auto v = cbor::Decode(*mac->payload);
  if (!v || !v->is_array() || v->array().size() != 3 || !v->array()[2].is_bytes())
    return std::nullopt;
  auto r = domain::DecodeReading(v->array()[2].bytes());
  if (!r) return std::nullopt;
  r->centi_celsius = value;
  mac->payload = cbor::Encode(cbor::Value::MakeArray(
      {v->array()[0], v->array()[1], cbor::Value::ByteString(domain::Encode(*r))}));
  m->payload = cose::Encode(*mac);
  return SerializeCoap(*m);
}

Result<coap::Response> SendCommand(OnPath& p, bool on) {
  return p.mother->Put(domain::path::kActuator, domain::Encode(domain::ActuatorCommand{on}),
                       coap::content_format::kCbor);
}

Bytes Refreshed(const CoapMessage& m) {
  CoapMessage c = m;
  c.mid = static_cast<uint16_t>(m.mid + 0x4000);
  c.token = {0x1a, 0xb0, static_cast<uint8_t>(m.mid >> 8), static_cast<uint8_t>(m.mid)};
  return SerializeCoap(c);
}

std::optional<size_t> FindRequest(const std::vector<Datagram>& cap, const std::string& path,
                                  size_t from) {
  for (size_t i = from; i < cap.size(); ++i) {
    if (cap[i].dir != Direction::kToServer) continue;
    auto m = ParseCoap(cap[i].bytes);
    if (m && m->is_request() && m->path() == path) return i;
  }
  return std::nullopt;
}

std::optional<CoapMessage> AwaitResponse(const Relay& r, uint16_t mid,
                                         std::chrono::milliseconds timeout) {
  std::optional<CoapMessage> out;
  r.WaitFor(
      [&](const std::vector<Datagram>& cap) {
        for (const auto& d : cap) {
          if (d.dir != Direction::kToClient) continue;
          auto m = ParseCoap(d.bytes);
          if (m && m->mid == mid && m->is_response()) {
            out = std::move(m);
            return true;
          }
        }
        return false;
      },
      timeout);
  return out;
}

}  // namespace secprof::lab::wire
