// lab.replay: an on-path attacker re-sends a recorded operational message (T4 in operation; draft
// §4 threat 4, the network key's "freshness" of SecProf_1-2 (earlier revision figure 10); catalog
// M.net.l2_network_key and M.app.dtls).
//
// Attacker: the relay records an operational message and injects it again later: SecProf_1, the
//   recorded link frame in a fresh CoAP message (new message id and token, so that CoAP
//   deduplication, RFC 7252 §4.5, cannot be what stops it); SecProf_2..4, the recorded DTLS
//   datagram of a reading, byte for byte (the attacker cannot re-encrypt).
// Success: the server acts on the message a second time.
// Blocked: SecProf_1 by the receiver's counter check (its 4.01 diagnostic); DTLS by the replay
//   window (RFC 6347 §4.1.2.6): after the injection a fresh reading is sent through the same
//   session, and the KDC's request and refusal counters moved for that one only, and no answer
//   crossed the relay for the injected record.
// Negative control: a recorded SecProf_1 actuator command (plain CoAP, no counter) replayed: the
//   thing executes it again.
#include "groups.h"
#include "home_commands.h"
#include "observer.h"
#include "on_path.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

using namespace wire;

// Replays the recorded request at `index` in a fresh CoAP message; returns the answer.
Result<CoapMessage> ReplayFresh(const RunContext& ctx, Relay& r, size_t index) {
  auto cap = r.Capture();
  auto msg = ParseCoap(cap.at(index).bytes);
  if (!msg) return Fail(ErrorCode::kInternal, "lab: recorded datagram is not CoAP");
  Bytes fresh = Refreshed(*msg);
  SECPROF_TRY(r.Inject(index, &fresh));
  auto answer = AwaitResponse(r, ParseCoap(fresh)->mid, ctx.timeout);
  if (!answer) return Fail(ErrorCode::kIo, "lab: no answer to the replayed message");
  return *answer;
}

Result<Measurement> LinkFrame(const RunContext& ctx) {
  Measurement m;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  const size_t from = p.relay->size();
  SECPROF_ASSIGN_OR_RETURN(coap::Response first, SendLinkReading(p, 2150));
  if (first.code != coap::kChanged)
    return Fail(ErrorCode::kInternal, "lab: the genuine link frame was refused");
  auto idx = FindRequest(p.relay->Capture(), domain::path::kLink, from);
  if (!idx) return Fail(ErrorCode::kInternal, "lab: the link frame did not cross the relay");
  SECPROF_ASSIGN_OR_RETURN(CoapMessage answer, ReplayFresh(ctx, *p.relay, *idx));
  const std::string diag(answer.payload.begin(), answer.payload.end());
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back(
      {"log", "the recorded link frame, replayed, was answered " + answer.code_string(), diag});
  if (answer.code == coap::kChanged) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the receiver accepted the same link frame twice";
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = "thing.l2_security";
  m.reason = answer.code_string() + " " + diag;
  return m;
}

Result<Measurement> Command(const RunContext& ctx) {
  Measurement m;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  const size_t from = p.relay->size();
  SECPROF_ASSIGN_OR_RETURN(coap::Response on, SendCommand(p, true));
  SECPROF_ASSIGN_OR_RETURN(coap::Response off, SendCommand(p, false));
  if (on.code != coap::kChanged || off.code != coap::kChanged || p.served->server->led())
    return Fail(ErrorCode::kInternal, "lab: the genuine commands were not executed");
  auto idx = FindRequest(p.relay->Capture(), domain::path::kActuator, from);
  if (!idx) return Fail(ErrorCode::kInternal, "lab: the command did not cross the relay");
  SECPROF_ASSIGN_OR_RETURN(CoapMessage answer, ReplayFresh(ctx, *p.relay, *idx));
  const bool led = p.served->server->led();
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back({"log",
                        "the recorded \"on\" command, replayed after \"off\", was answered " +
                            answer.code_string() + "; the LED is " + (led ? "on" : "off"),
                        ""});
  m.outcome = led ? Outcome::kSucceeded : Outcome::kBlocked;
  m.control = led ? "" : "thing.l2_security";
  m.reason = led ? "the thing executed a recorded command again: SecProf_1 serves actuator/led "
                   "over plain CoAP, without the link frames' counter"
                 : "the replayed command was not executed";
  return m;
}

uint64_t Refusals(const kdc::KdcStats& s) {
  uint64_t n = 0;
  for (const auto& [r, c] : s.refused) n += c;
  return n;
}

Result<Measurement> Dtls(const RunContext& ctx) {
  Measurement m;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx));
  kdc::Kdc& k = *p.domain->kdc();
  thing::Agent& t = p.domain->thing(0);
  const size_t from = p.relay->size();
  SECPROF_TRY(t.SendReading(2150));
  auto recorded = AppDataIndices(p.relay->Capture(), Direction::kToServer, from);
  if (recorded.empty())
    return Fail(ErrorCode::kInternal, "lab: the reading did not cross the relay");
  const auto before = k.stats();
  const size_t injected_at = p.relay->size();
  SECPROF_TRY(p.relay->Inject(recorded.front()));
  // A fresh reading through the same session: it reaches the KDC after the injected datagram.
  SECPROF_TRY(t.SendReading(2151));
  const auto after = k.stats();
  const auto answers = AppDataIndices(p.relay->Capture(), Direction::kToClient, injected_at);
  const uint64_t acted = (after.requests - before.requests) + (Refusals(after) - Refusals(before));
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back({"log",
                        "datagram #" + std::to_string(recorded.front()) +
                            " (the reading's DTLS record) injected again",
                        "KDC requests " + std::to_string(before.requests) + " -> " +
                            std::to_string(after.requests) + ", refusals " +
                            std::to_string(Refusals(before)) + " -> " +
                            std::to_string(Refusals(after)) + "; answers after the injection: " +
                            std::to_string(answers.size()) + " (the fresh reading's)"});
  if (acted > 1) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the KDC acted on the replayed DTLS record";
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = "coap.dtls";
  m.reason = answers.size() > 1
                 ? "the replayed record passed DTLS but CoAP deduplication answered it from its "
                   "cache (RFC 7252 §4.5): the KDC did not act on it again"
                 : "replay window (RFC 6347 §4.1.2.6): the replayed record was discarded by the "
                   "KDC's DTLS layer (no answer, requests and refusals moved only for the fresh "
                   "reading)";
  return m;
}

class Replay final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{"lab.replay",
                                "T4",
                                "operation",
                                "transport",
                                "records an operational message on the path and injects it again",
                                "the server acts on the same message a second time",
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

std::unique_ptr<Scenario> MakeReplay() { return std::make_unique<Replay>(); }

}  // namespace secprof::lab::internal
