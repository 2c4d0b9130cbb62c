// lab.request_delay: an on-path attacker holds a request until its sender has given up, then
// delivers it (T4 in operation; draft-ietf-core-attacks-on-coap §2.3 "the request delay attack":
// DTLS and OSCORE give integrity and replay protection, not freshness; the defence is Echo,
// RFC 9175 §2, which the KDC asks for on readings (op/report) and a thing on actuator
// commands; docs/DOMAIN.md "Request freshness").
//
// Attacker: the relay holds every datagram the thing sends towards the server while the thing
//   makes one request (so the thing's retransmissions and any closing alert stay held too), and
//   after the thing's request has failed it releases only the first: the original request. In
//   SecProf_2..4 the attacker first lets the request and the KDC's 4.01 challenge pass and holds
//   from the thing's repeat on, so the held request carries the Echo value the KDC has just
//   issued (the best case for the attacker).
// Success: the server executes the request after its sender gave up (the KDC counts the reading;
//   SecProf_1 the receiver answers 2.04 to the link frame), which an actuator command would turn
//   into an action at a time the sender did not choose.
// Expected: SecProf_2..4 blocked by coap.echo: the KDC's freshness window (set here to half the
//   thing's request timeout, so a request held until the thing gave up is past it) has passed
//   when the request arrives, so it is refused 4.01 (KdcStats::refused "echo-stale"). SecProf_1:
//   succeeded and not claimed: it has no application security, and RFC 9175 §2.3 needs the Echo
//   value integrity-protected with the request (plain CoAP would let the attacker swap in a fresh
//   one it asked for itself); the L2 network key's frame counters give replay protection, not
//   freshness against delay (draft-ietf-core-attacks-on-coap §2.3), so this scenario does not
//   test M.net.l2_network_key.
#include "coap_message.h"
#include "groups.h"
#include "observer.h"
#include "on_path.h"
#include "secprof/coap/echo.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

using namespace wire;

// Holds everything towards the server while `on`.
Policy HoldWhile(std::shared_ptr<std::atomic<bool>> on) {
  return [on](const Datagram& d, Bytes&) {
    if (on->load() && d.dir == Direction::kToServer) return Decision{Decision::Action::kHold};
    return Decision{};
  };
}

// Holds everything towards the server once a DTLS application record (the 4.01 challenge with
// its Echo, RFC 9175 §2.4) has gone towards the client: the thing's repeat and what follows.
Policy HoldAfterChallenge(std::shared_ptr<std::atomic<bool>> challenged) {
  return [challenged](const Datagram& d, Bytes&) {
    if (d.dir == Direction::kToClient && LooksLikeDtls(d.bytes) && d.bytes[0] == 23)
      challenged->store(true);
    else if (d.dir == Direction::kToServer && challenged->load())
      return Decision{Decision::Action::kHold};
    return Decision{};
  };
}

// Releases the first held datagram and waits for an answer towards the client after it.
Result<std::chrono::microseconds> ReleaseFirst(const RunContext& ctx, Relay& r) {
  auto held = r.held();
  if (held.empty()) return Fail(ErrorCode::kInternal, "lab: nothing was held");
  const auto held_at = r.Capture().at(held.front()).at;
  const size_t released_at = r.size();
  SECPROF_TRY(r.Release(held.front()));
  r.WaitFor(
      [&](const std::vector<Datagram>& c) {
        for (size_t i = released_at; i < c.size(); ++i)
          if (c[i].dir == Direction::kToClient) return true;
        return false;
      },
      ctx.timeout);
  return r.Capture().at(released_at).at - held_at;
}

Result<Measurement> Home(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  SECPROF_ASSIGN_OR_RETURN(auto client, MotherClient(p, ShortTimeout(ctx)));
  auto on = std::make_shared<std::atomic<bool>>(true);
  p.relay->SetPolicy(HoldWhile(on));
  SECPROF_ASSIGN_OR_RETURN(Bytes frame, LinkReadingFrame(p, 2150));
  const size_t from = p.relay->size();
  auto sent = client->Post(domain::path::kLink, frame);
  SECPROF_ASSIGN_OR_RETURN(auto delay, ReleaseFirst(ctx, *p.relay));
  Measurement m;
  auto cap = p.relay->Capture();
  std::string answer;  // the receiver's answer to the delivered frame
  for (size_t i = from; i < cap.size(); ++i)
    if (cap[i].dir == Direction::kToClient)
      if (auto msg = ParseCoap(cap[i].bytes)) answer = msg->code_string();
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back(
      {"timing",
       "the link frame was delivered " + std::to_string(delay.count() / 1000) +
           " ms late; its sender " +
           (sent ? "got an answer" : "had given up: " + sent.error().message()),
       "answer to the delivered frame: " + (answer.empty() ? std::string("none") : answer)});
  if (answer == "2.04") {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the receiver accepted a link frame delivered " +
               std::to_string(delay.count() / 1000) +
               " ms late, after its sender gave up: counters stop replays, not delays";
  } else {
    m.outcome = Outcome::kBlocked;
    m.control = "thing.l2_security";
    m.reason = "the delayed frame was not accepted (" + answer + ")";
  }
  return m;
}

uint64_t EchoRefusals(LiveDomain& d) {
  auto r = d.refusals();
  return r[std::string(coap::kEchoStale.name())] + r[std::string(coap::kEchoUnknown.name())];
}

Result<Measurement> Managed(const RunContext& ctx) {
  const auto timeout = ShortTimeout(ctx);
  const auto window = timeout / 2;
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx, 1, timeout, [window](kdc::KdcOptions& o) {
                             o.limits.echo_freshness = window;
                           }));
  kdc::Kdc& k = *p.domain->kdc();
  thing::Agent& t = p.domain->thing(0);
  // The legitimate path: a reading goes through (a challenge, a repeat with the Echo).
  auto first = t.SendReading(2149);
  auto challenged = std::make_shared<std::atomic<bool>>(false);
  p.relay->SetPolicy(HoldAfterChallenge(challenged));
  const auto before = k.stats().requests;
  const auto refused_before = EchoRefusals(*p.domain);
  auto sent = t.SendReading(2150);
  const auto during = k.stats().requests;
  SECPROF_ASSIGN_OR_RETURN(auto delay, ReleaseFirst(ctx, *p.relay));
  const auto after = k.stats().requests;
  const auto refused_after = EchoRefusals(*p.domain);
  const std::string late = std::to_string(delay.count() / 1000) + " ms late";
  Measurement m;
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back(
      {"timing",
       "the reading's repeat (carrying the KDC's Echo) was delivered " + late + "; the thing " +
           (sent ? "got an answer" : "had given up: " + sent.error().message()) +
           "; the KDC's freshness window: " + std::to_string(window.count()) + " ms",
       "KDC requests " + std::to_string(before) + " -> " + std::to_string(during) +
           " (while held) -> " + std::to_string(after) + " (after the release)"});
  m.evidence.push_back({"refusal",
                        "the KDC's refusals echo-stale + echo-unknown: " +
                            std::to_string(refused_before) + " -> " + std::to_string(refused_after),
                        std::string("the reading before the attack: ") +
                            (first ? "accepted" : first.error().message())});
  if (after > during && !sent) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the KDC executed a request delivered " + late +
               ", after its sender had given up: DTLS protects integrity and replay, not freshness";
  } else if (refused_after > refused_before) {
    m.outcome = Outcome::kBlocked;
    m.control = "coap.echo";
    m.reason = "the KDC refused the request delivered " + late + " (" +
               std::string(coap::kEchoStale.name()) + ": its Echo value was older than the " +
               std::to_string(window.count()) + " ms freshness window, RFC 9175 §2.3)";
  } else {
    m.outcome = Outcome::kBlocked;
    m.control = "coap.echo";
    m.reason = "the delayed request was not executed (no Echo refusal was counted)";
  }
  return m;
}

class RequestDelay final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.request_delay",
        "T4",
        "operation",
        "application",
        "sits on the path and holds a thing's request until the thing has given up, then "
        "delivers it",
        "the server executes the request after its sender gave up on it",
        {"M.app.dtls"},
        {"coap.dtls", "coap.echo", "thing.l2_security"},
        false};
    return i;
  }
  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return Home(ctx);
    return Managed(ctx);
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeRequestDelay() { return std::make_unique<RequestDelay>(); }

}  // namespace secprof::lab::internal
