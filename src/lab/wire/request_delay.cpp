// lab.request_delay: an on-path attacker holds a request until its sender has given up, then
// delivers it (T4 in operation; draft-ietf-core-attacks-on-coap §2.3 "the request delay attack":
// DTLS and OSCORE give integrity and replay protection, not freshness; the defence is Echo,
// RFC 9175 §2, which secprof does not implement).
//
// Attacker: the relay holds every datagram the thing sends towards the server while the thing
//   makes one request (so the thing's retransmissions and any closing alert stay held too), and
//   after the thing's request has failed it releases only the first: the original request.
// Success: the server executes the request after its sender gave up (the KDC counts the reading;
//   SecProf_1 the receiver answers 2.04 to the link frame), which an actuator command would turn
//   into an action at a time the sender did not choose.
// Expected: succeeded in every profile (no freshness); the evidence gives the delay.
#include "coap_message.h"
#include "groups.h"
#include "observer.h"
#include "on_path.h"
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

Result<Measurement> Managed(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx, 1, ShortTimeout(ctx)));
  kdc::Kdc& k = *p.domain->kdc();
  auto on = std::make_shared<std::atomic<bool>>(true);
  p.relay->SetPolicy(HoldWhile(on));
  const auto before = k.stats().requests;
  auto sent = p.domain->thing(0).SendReading(2150);
  const auto during = k.stats().requests;
  SECPROF_ASSIGN_OR_RETURN(auto delay, ReleaseFirst(ctx, *p.relay));
  const auto after = k.stats().requests;
  Measurement m;
  auto cap = p.relay->Capture();
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back({"timing",
                        "the reading's DTLS record was delivered " +
                            std::to_string(delay.count() / 1000) + " ms late; the thing " +
                            (sent ? "got an answer" : "had given up: " + sent.error().message()),
                        "KDC requests " + std::to_string(before) + " -> " + std::to_string(during) +
                            " (while held) -> " + std::to_string(after) + " (after the release)"});
  if (after > during && !sent) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the KDC executed a request delivered " + std::to_string(delay.count() / 1000) +
               " ms late, after its sender had given up: DTLS protects integrity and replay, not "
               "freshness (no Echo, RFC 9175)";
  } else {
    m.outcome = Outcome::kBlocked;
    m.control = "coap.dtls";
    m.reason = "the delayed request was not executed";
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
        {"M.app.dtls", "M.net.l2_network_key"},
        {"coap.dtls", "thing.l2_security"},
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
