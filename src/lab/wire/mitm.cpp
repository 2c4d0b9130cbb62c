// lab.mitm: an on-path attacker alters an operational message in flight (T4 in operation; draft
// §4 threat 4; catalog M.net.l2_network_key (SecProf_1) and M.app.dtls (SecProf_2..4) counter it).
//
// Attacker: the relay on the path of an operational thing rewrites datagrams towards the server:
//   SecProf_1, the reading inside a link frame (the MAC kept as it was); SecProf_2..4, a byte of
//   every DTLS application_data record of one reading (the attacker cannot decrypt, so it flips).
// Success: the server acts on the altered message (the link frame is accepted; the KDC's handler
//   runs for the altered record: a request or a refusal counted).
// Blocked: SecProf_1 by the receiver's MAC check (its 4.01 diagnostic is the reason); DTLS by the
//   record authentication (RFC 6347 §4.1.2.1, AEAD): the KDC never saw the request (its request
//   and refusal counters do not move) and the thing's request failed; the same reading unaltered
//   afterwards is accepted (the legitimate path works through the same relay).
// Negative control: the SecProf_1 actuator command (plain CoAP, no link-frame MAC) rewritten from
//   "off" to "on": the thing switches on.
#include "groups.h"
#include "home_commands.h"
#include "observer.h"
#include "on_path.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

using namespace wire;

constexpr int64_t kForged = 9999;

Result<Measurement> LinkFrame(const RunContext& ctx) {
  Measurement m;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  p.relay->SetPolicy([](const Datagram& d, Bytes& out) {
    if (d.dir == Direction::kToServer)
      if (auto altered = AlterLinkReading(d.bytes, kForged)) out = std::move(*altered);
    return Decision{};
  });
  SECPROF_ASSIGN_OR_RETURN(coap::Response r, SendLinkReading(p, 2150));
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back({"log", "the altered link frame was answered " + coap::CodeString(r.code),
                        coap::AsText(r.payload)});
  if (r.code == coap::kChanged) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the receiver accepted a link frame whose reading was changed to " +
               std::to_string(kForged);
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = "thing.l2_security";
  m.reason = coap::CodeString(r.code) + " " + coap::AsText(r.payload);
  return m;
}

Result<Measurement> Command(const RunContext& ctx) {
  Measurement m;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  p.relay->SetPolicy([](const Datagram& d, Bytes& out) {
    auto msg = ParseCoap(d.bytes);
    if (d.dir == Direction::kToServer && msg && msg->path() == domain::path::kActuator) {
      msg->payload = domain::Encode(domain::ActuatorCommand{true});
      out = SerializeCoap(*msg);
    }
    return Decision{};
  });
  SECPROF_ASSIGN_OR_RETURN(coap::Response r, SendCommand(p, false));
  const bool led = p.served->server->led();
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back({"log",
                        std::string("command \"off\" sent, answered ") + coap::CodeString(r.code) +
                            "; the LED is " + (led ? "on" : "off"),
                        coap::AsText(r.payload)});
  m.outcome = led ? Outcome::kSucceeded : Outcome::kBlocked;
  m.control = led ? "" : "thing.l2_security";
  m.reason = led ? "the thing executed the command rewritten in flight (\"off\" -> \"on\"): "
                   "SecProf_1 serves actuator/led over plain CoAP, without the link frames' MAC"
                 : "the rewritten command was not executed: " + coap::AsText(r.payload);
  return m;
}

Result<Measurement> Dtls(const RunContext& ctx) {
  Measurement m;
  // A short request timeout: the altered request is expected to go unanswered.
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx, 1, ShortTimeout(ctx)));
  kdc::Kdc& k = *p.domain->kdc();
  thing::Agent& t = p.domain->thing(0);
  auto flipped = std::make_shared<std::atomic<int>>(0);
  p.relay->SetPolicy([flipped](const Datagram& d, Bytes& out) {
    if (d.dir == Direction::kToServer && LooksLikeDtls(d.bytes) && d.bytes[0] == 23) {
      out.back() ^= 0x01;  // in the AEAD tag or ciphertext of the (last) record
      ++*flipped;
    }
    return Decision{};
  });
  const auto before = k.stats();
  auto sent = t.SendReading(kForged);
  const auto after = k.stats();
  p.relay->SetPolicy({});
  uint64_t refused_before = 0, refused_after = 0;
  for (const auto& [r, n] : before.refused) refused_before += n;
  for (const auto& [r, n] : after.refused) refused_after += n;
  // The legitimate path, unaltered, through the same relay.
  auto genuine = t.SendReading(2150);
  const auto last = k.stats();
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back(
      {"log",
       std::to_string(flipped->load()) + " DTLS records altered; the thing's request: " +
           (sent ? std::string("answered") : sent.error().message()),
       "KDC requests " + std::to_string(before.requests) + " -> " + std::to_string(after.requests) +
           ", refusals " + std::to_string(refused_before) + " -> " + std::to_string(refused_after) +
           "; the same reading unaltered: " + (genuine ? "accepted" : genuine.error().message()) +
           " (requests " + std::to_string(last.requests) + ")"});
  if (flipped->load() == 0)
    return Fail(ErrorCode::kInternal, "lab: no DTLS record of the reading crossed the relay");
  if (after.requests != before.requests || refused_after != refused_before || sent) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the KDC acted on a DTLS record altered in flight";
    return m;
  }
  if (!genuine)
    return Fail(ErrorCode::kInternal,
                "lab: the unaltered reading failed too: " + genuine.error().message());
  m.outcome = Outcome::kBlocked;
  m.control = "coap.dtls";
  m.reason =
      "record authentication (RFC 6347 §4.1.2.1): the altered records were discarded by the "
      "KDC's DTLS layer, no request reached it (requests and refusals unchanged) and the thing's "
      "request timed out; the unaltered reading was accepted";
  return m;
}

class Mitm final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.mitm",
        "T4",
        "operation",
        "transport",
        "sits on the path of an operational thing and rewrites its datagrams in flight",
        "the server acts on the altered message",
        {"M.net.l2_network_key", "M.app.dtls"},
        {"thing.l2_security", "coap.dtls"},
        true};
    return i;
  }
  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.defence_off) return Command(ctx);
    if (ctx.profile == domain::Profile::kSecProf1) return LinkFrame(ctx);
    return Dtls(ctx);
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeMitm() { return std::make_unique<Mitm>(); }

}  // namespace secprof::lab::internal
