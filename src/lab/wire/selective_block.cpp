// lab.selective_block: an on-path attacker suppresses one kind of message and lets the others
// through, recognizing it despite encryption (T4 in operation; draft-ietf-core-attacks-on-coap
// §2.2 "the selective blocking attack": encryption hides content, not size and timing).
//
// Attacker: learns the size of the DTLS record of a reading from one it sees, then drops every
//   record of that size towards the server and forwards everything else (SecProf_1: the link
//   frames, recognized by their plain CoAP path).
// Success: the thing's readings no longer reach the server while its other messages (a state
//   report; SecProf_1 an actuator command) still do, and neither end notices.
// Expected: the dropping itself cannot be prevented (no padding hides the size; RFC 8446's
//   record padding has no DTLS 1.2 equivalent), so the claim is detection (docs/DOMAIN.md
//   "Missing readings"): SecProf_2..4 blocked by kdc.missing_readings when the KDC's own audit
//   shows `alert:readings-missing` for the thing (its op/sent report, made before the state
//   report, names a reading counter above the highest the KDC received). SecProf_1: succeeded
//   and not claimed: there is no KDC to keep the record, and the L2 network key's frame counters
//   show replays, not frames that never arrived, so the scenario does not test
//   M.net.l2_network_key.
#include "coap_message.h"
#include "groups.h"
#include "observer.h"
#include "on_path.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

using namespace wire;

Result<Measurement> Home(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  SECPROF_ASSIGN_OR_RETURN(auto client, MotherClient(p, ShortTimeout(ctx)));
  auto dropped = std::make_shared<std::atomic<int>>(0);
  p.relay->SetPolicy([dropped](const Datagram& d, Bytes&) {
    auto m = ParseCoap(d.bytes);
    if (d.dir == Direction::kToServer && m && m->path() == domain::path::kLink) {
      ++*dropped;
      return Decision{Decision::Action::kDrop};
    }
    return Decision{};
  });
  SECPROF_ASSIGN_OR_RETURN(Bytes frame, LinkReadingFrame(p, 2150));
  auto reading = client->Post(domain::path::kLink, frame);
  // A new client: a coap::Client whose request timed out may have closed its session.
  SECPROF_ASSIGN_OR_RETURN(auto second, MotherClient(p, ShortTimeout(ctx)));
  auto command = second->Put(domain::path::kActuator, domain::Encode(domain::ActuatorCommand{true}),
                             coap::content_format::kCbor);
  const bool led = p.served->server->led();
  Measurement m;
  auto cap = p.relay->Capture();
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back(
      {"log",
       std::to_string(dropped->load()) + " link frames dropped; the reading: " +
           (reading ? coap::CodeString(reading->code) : reading.error().message()) +
           "; the command: " +
           (command ? coap::CodeString(command->code) : command.error().message()) +
           ", the LED is " + (led ? "on" : "off"),
       ""});
  if (!reading && command && led) {
    m.outcome = Outcome::kSucceeded;
    m.reason =
        "the attacker dropped the link frames (readings) and let the actuator command "
        "through: plain CoAP names its resource in clear";
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = "thing.l2_security";
  m.reason = "the selection failed";
  return m;
}

// The detail of the last audit entry `action` of `serial` in the owner's registry; "" if none.
std::string AuditDetail(LiveDomain& d, const std::string& serial, const std::string& action) {
  if (!d.owner()) return "";
  auto a = d.owner()->registry().Audit(serial);
  std::string out;
  if (a)
    for (const auto& e : *a)
      if (e.action == action) out = e.detail;
  return out;
}

Result<Measurement> Managed(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx, 1, ShortTimeout(ctx)));
  kdc::Kdc& k = *p.domain->kdc();
  thing::Agent& t = p.domain->thing(0);
  // Learn: the size of one reading's record.
  const size_t from = p.relay->size();
  SECPROF_TRY(t.SendReading(2150));
  auto rec = AppDataIndices(p.relay->Capture(), Direction::kToServer, from);
  if (rec.empty()) return Fail(ErrorCode::kInternal, "lab: the reading did not cross the relay");
  // The last one: the request that was executed (an earlier one may lack the Echo value, RFC 9175).
  const size_t size = p.relay->Capture().at(rec.back()).bytes.size();
  auto dropped = std::make_shared<std::atomic<int>>(0);
  p.relay->SetPolicy([dropped, size](const Datagram& d, Bytes&) {
    if (d.dir == Direction::kToServer && LooksLikeDtls(d.bytes) && d.bytes[0] == 23 &&
        d.bytes.size() == size) {
      ++*dropped;
      return Decision{Decision::Action::kDrop};
    }
    return Decision{};
  });
  const auto before = k.stats().requests;
  auto reading = t.SendReading(2151);
  const auto mid = k.stats().requests;
  auto report = t.EnterMaintenance();
  const auto after = k.stats().requests;
  Measurement m;
  auto cap = p.relay->Capture();
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back(
      {"log",
       "dropped " + std::to_string(dropped->load()) + " DTLS records of " + std::to_string(size) +
           " B (a reading's size); the reading: " +
           (reading ? "answered" : reading.error().message()) +
           "; the state report: " + (report ? "answered" : report.error().message()),
       "KDC requests " + std::to_string(before) + " -> " + std::to_string(mid) + " (reading) -> " +
           std::to_string(after) + " (state report)"});
  const std::string alert = AuditDetail(*p.domain, t.state().serial, "alert:readings-missing");
  m.evidence.push_back(
      {"audit",
       "the KDC's audit for " + t.state().serial + ": " +
           (alert.empty() ? "no alert:readings-missing" : "alert:readings-missing"),
       alert});
  const bool dropped_selectively = !reading && mid == before && report && after > mid;
  if (dropped_selectively && alert.empty()) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "readings were recognized by the size of their DTLS records (" +
               std::to_string(size) +
               " B) and dropped while the state report went through, and nothing noticed the gap";
    return m;
  }
  m.outcome = Outcome::kBlocked;
  if (!alert.empty()) {
    m.control = "kdc.missing_readings";
    m.reason = std::string("alert:readings-missing: ") + alert +
               (dropped_selectively ? " (the readings were dropped, the gap was detected)" : "");
  } else {
    m.control = "coap.dtls";
    m.reason = "the attacker could not block readings selectively";
  }
  return m;
}

class SelectiveBlock final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.selective_block",
        "T4",
        "operation",
        "transport",
        "sits on the path and drops one kind of message, recognized by size or path, forwarding "
        "the rest",
        "the chosen messages stop reaching the server while the others still do",
        {"M.app.dtls"},
        {"coap.dtls", "kdc.missing_readings", "thing.l2_security"},
        false};
    return i;
  }
  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return Home(ctx);
    return Managed(ctx);
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeSelectiveBlock() { return std::make_unique<SelectiveBlock>(); }

}  // namespace secprof::lab::internal
