// lab.response_mismatch: an on-path attacker withholds the answer to one request and delivers it
// as the answer to a later one (T4 in operation; draft-ietf-core-attacks-on-coap §2.4 "the
// response delay and mismatch attack").
//
// Attacker: the relay holds the server's answer to request A (so A fails at the client), then,
//   while the client waits for the answer to a later request B (B's own answer held, or B
//   dropped), delivers A's answer into B's exchange: SecProf_1 (plain CoAP) with B's message id
//   and token written in; SecProf_2..4 (DTLS) as recorded, into the session B uses (the
//   attacker cannot re-encrypt).
// Success: the client takes A's answer as B's: B "succeeds" although its own answer never came.
// Expected: SecProf_1 succeeded (nothing binds an answer to its request but the token, in clear);
//   SecProf_2..4 blocked: the agent drops a session whose request failed (src/thing/agent.cpp,
//   "a broken session is not reused"), so B runs on a new DTLS session whose keys A's answer was
//   not made with.
#include <thread>

#include "coap_message.h"
#include "groups.h"
#include "home_commands.h"
#include "observer.h"
#include "on_path.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

using namespace wire;

// Holds the server's DTLS application data (its answers); handshakes pass.
Policy HoldAnswers() {
  return [](const Datagram& d, Bytes&) {
    const bool answer = d.dir == Direction::kToClient && LooksLikeDtls(d.bytes) && d.bytes[0] == 23;
    return answer ? Decision{Decision::Action::kHold} : Decision{};
  };
}

Result<Measurement> Home(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  SECPROF_ASSIGN_OR_RETURN(auto client, MotherClient(p, ShortTimeout(ctx)));
  p.relay->SetPolicy([](const Datagram& d, Bytes&) {
    if (d.dir == Direction::kToClient) return Decision{Decision::Action::kHold};
    auto m = ParseCoap(d.bytes);
    if (m && m->path() == domain::path::kActuator) return Decision{Decision::Action::kDrop};
    return Decision{};
  });
  SECPROF_ASSIGN_OR_RETURN(Bytes frame, LinkReadingFrame(p, 2150));
  auto a = client->Post(domain::path::kLink, frame);
  auto held = p.relay->held();
  if (held.empty() || a) return Fail(ErrorCode::kInternal, "lab: A's answer was not held");
  const Datagram answer_a = p.relay->Capture().at(held.front());
  const size_t b_from = p.relay->size();
  // B on a new client: a coap::Client whose request timed out may have closed its session.
  SECPROF_ASSIGN_OR_RETURN(auto second, MotherClient(p, ShortTimeout(ctx)));
  Result<coap::Response> b = Fail(ErrorCode::kInternal, "not run");
  std::jthread run_b([&] {
    b = second->Put(domain::path::kActuator, domain::Encode(domain::ActuatorCommand{true}),
                    coap::content_format::kCbor);
  });
  auto idx = std::optional<size_t>();
  p.relay->WaitFor(
      [&](const std::vector<Datagram>& c) {
        idx = FindRequest(c, domain::path::kActuator, b_from);
        return idx.has_value();
      },
      ctx.timeout);
  if (idx) {
    const Datagram req_b = p.relay->Capture().at(*idx);
    auto req = ParseCoap(req_b.bytes);
    auto stale = ParseCoap(answer_a.bytes);
    if (req && stale) {
      stale->mid = req->mid;
      stale->token = req->token;
      (void)p.relay->Send(req_b.session, Direction::kToClient, SerializeCoap(*stale));
    }
  }
  run_b.join();
  const bool led = p.served->server->led();
  Measurement m;
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back(
      {"log",
       "request A (a link frame) went unanswered; command B (\"on\") was dropped and A's answer "
       "delivered with B's message id and token; B: " +
           (b ? coap::CodeString(b->code) + " " + coap::AsText(b->payload) : b.error().message()),
       std::string("the LED is ") + (led ? "on" : "off")});
  if (b && b->code == coap::kChanged && !led) {
    m.outcome = Outcome::kSucceeded;
    m.reason =
        "the mother took the stale answer to its link frame as the answer to its command, "
        "which never reached the thing: plain CoAP binds answers to requests only by a "
        "token in clear";
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = "thing.l2_security";
  m.reason = "the stale answer was not taken as B's";
  return m;
}

Result<Measurement> Managed(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx, 1, ShortTimeout(ctx)));
  thing::Agent& t = p.domain->thing(0);
  p.relay->SetPolicy(HoldAnswers());
  auto a = t.SendReading(2150);
  std::optional<Datagram> answer_a;
  for (size_t i : p.relay->held()) {
    const Datagram d = p.relay->Capture().at(i);
    if (LooksLikeDtls(d.bytes) && d.bytes[0] == 23) {
      answer_a = d;
      break;
    }
  }
  if (!answer_a || a) return Fail(ErrorCode::kInternal, "lab: A's answer was not held");
  const size_t b_from = p.relay->size();
  Status b = Fail(ErrorCode::kInternal, "not run");
  std::jthread run_b([&] { b = t.EnterMaintenance(); });
  std::optional<size_t> b_session;
  p.relay->WaitFor(
      [&](const std::vector<Datagram>& c) {
        for (size_t i = b_from; i < c.size(); ++i)
          if (c[i].dir == Direction::kToServer && LooksLikeDtls(c[i].bytes) &&
              c[i].bytes[0] == 23) {
            b_session = c[i].session;
            return true;
          }
        return false;
      },
      ctx.timeout);
  if (b_session) (void)p.relay->Send(*b_session, Direction::kToClient, answer_a->bytes);
  run_b.join();
  if (!b_session) return Fail(ErrorCode::kInternal, "lab: request B did not cross the relay");
  Measurement m;
  m.evidence.push_back(CaptureEvidence(*p.relay));
  m.evidence.push_back({"log",
                        "the answer to reading A (session " + std::to_string(answer_a->session) +
                            ") was held, then sent into state report B's exchange (session " +
                            std::to_string(*b_session) +
                            "); B: " + (b ? "answered" : b.error().message()),
                        std::string("the thing is ") + thing::StateName(t.state().state)});
  if (b) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the thing took the stale answer to its reading as the answer to its state report";
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = "coap.dtls";
  m.reason =
      "the stale answer did not complete B: the thing had dropped the failed session and "
      "ran B on a new DTLS session (session " +
      std::to_string(*b_session) + " vs " + std::to_string(answer_a->session) +
      "), whose keys A's answer was not made with, so B timed out";
  return m;
}

class ResponseMismatch final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.response_mismatch",
        "T4",
        "operation",
        "application",
        "sits on the path, withholds the answer to one request and delivers it as the answer to "
        "a later request of the same client",
        "the client takes the stale answer as the answer to its later request",
        {"M.app.dtls"},
        {"coap.dtls"},
        false};
    return i;
  }
  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return Home(ctx);
    return Managed(ctx);
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeResponseMismatch() { return std::make_unique<ResponseMismatch>(); }

}  // namespace secprof::lab::internal
