// The request delay attack on a live thing's actuator (draft-ietf-core-attacks-on-coap §2.3;
// docs/DOMAIN.md "Request freshness"): a peer thing switches another thing's LED (PUT
// actuator/led over a ticket-keyed DTLS-PSK session, SecProf_2) through the lab's on-path relay
// (src/lab/wire/relay.h). DTLS keeps the command intact and unreplayable but not fresh: the
// attacker holds it until its sender has given up and delivers it later. The thing's server asks
// for a fresh Echo (RFC 9175 §2.3, coap::Limits::echo_freshness, 2 s by default), so the
// delivered command is refused 4.01 and the LED stays as it was. Also: a recorded command
// injected again is dropped, and the legitimate command goes through the same relay.
//
// Timing: the only wait is the attacker's hold, until the server's Echo value is older than the
// freshness window (the attack itself, about 2 s); nothing asserts on how long anything took.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "../../src/lab/wire/relay.h"
#include "secprof/coap/coap.h"
#include "secprof/domain/protocol.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

using namespace std::chrono_literals;
using lab::wire::Datagram;
using lab::wire::Decision;
using lab::wire::Direction;
using lab::wire::Relay;
using secprof::testing::TempDir;
using testing::JoinedSecProf2;

const auto kFreshness = coap::Limits{}.echo_freshness;  // what ThingServer runs with

// A ThingServer serving on its own thread while the object lives (stopped and joined first).
struct ServedThing {
  std::unique_ptr<ThingServer> server;
  std::jthread io;
  explicit ServedThing(Agent& agent) {
    auto s = ThingServer::Start(agent, ThingServerOptions{});
    EXPECT_TRUE(s) << s.error().message();
    if (!s) return;
    server = std::move(*s);
    io = std::jthread([this](std::stop_token st) { (void)server->Serve(st); });
  }
  ~ServedThing() {
    if (io.joinable()) {
      io.request_stop();
      io.join();
    }
  }
};

// A DTLS record of type application_data (23, RFC 6347 §4.1): a CoAP message in the session.
bool IsApplicationRecord(const Datagram& d) { return !d.bytes.empty() && d.bytes[0] == 23; }

Bytes Led(bool on) { return domain::Encode(domain::ActuatorCommand{on}); }

class ActuatorDelay : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(d_.Start(tmp_.path(), 2));
    for (size_t i = 0; i < 2; ++i) {
      things_.push_back(JoinedSecProf2(tmp_.path(), d_.f, i, *d_.kdc->kdc));
      ASSERT_TRUE(things_.back());
    }
    thing_ = std::make_unique<ServedThing>(*things_[1]);
    ASSERT_TRUE(thing_->server);
    auto relay = Relay::Start({thing_->server->udp_port(), thing_->server->dtls_port()});
    ASSERT_TRUE(relay) << relay.error().message();
    relay_ = std::move(*relay);
    // The peer (things_[0]) gets a ticket for the thing and talks to it through the relay.
    auto pk = things_[0]->RequestPairKey(things_[1]->state().serial);
    ASSERT_TRUE(pk) << pk.error().message();
    auto c = ConnectToPeer("127.0.0.1", relay_->port(0), relay_->port(1), *pk, 1500ms);
    ASSERT_TRUE(c) << c.error().message();
    peer_ = std::move(*c);
  }

  ThingServer& server() { return *thing_->server; }

  TempDir tmp_;
  testing::SecProf2Domain d_;
  std::vector<std::unique_ptr<Agent>> things_;
  std::unique_ptr<ServedThing> thing_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<coap::Client> peer_;  // declared last: closed before the relay and the server
};

TEST_F(ActuatorDelay, TheLegitimateCommandGoesThroughTheRelay) {
  auto r = peer_->Put(domain::path::kActuator, Led(true), coap::content_format::kCbor);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->code, coap::kChanged);
  EXPECT_TRUE(server().led());
  r = peer_->Put(domain::path::kActuator, Led(false), coap::content_format::kCbor);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->code, coap::kChanged);
  EXPECT_FALSE(server().led());
  EXPECT_EQ(server().refused(), 0u);  // a missing Echo is the normal first step, not a refusal
}

TEST_F(ActuatorDelay, ACommandHeldPastTheFreshnessWindowIsRefusedAndTheLedUnchanged) {
  auto on = peer_->Put(domain::path::kActuator, Led(true), coap::content_format::kCbor);
  ASSERT_TRUE(on && on->code == coap::kChanged);
  ASSERT_TRUE(server().led());
  const uint64_t refused_before = server().refused();

  // The attacker lets the command and the thing's 4.01 challenge (with its Echo) pass, then holds
  // everything the peer sends: the repeat that carries the Echo and its retransmissions.
  std::atomic<bool> challenged{false};
  std::atomic<std::chrono::steady_clock::time_point> challenged_at{};
  relay_->SetPolicy([&](const Datagram& d, Bytes&) {
    if (d.dir == Direction::kToClient && IsApplicationRecord(d) && !challenged) {
      challenged_at = std::chrono::steady_clock::now();
      challenged = true;
    } else if (d.dir == Direction::kToServer && challenged) {
      return Decision{Decision::Action::kHold};
    }
    return Decision{};
  });
  auto off = peer_->Put(domain::path::kActuator, Led(false), coap::content_format::kCbor);
  EXPECT_FALSE(off) << "the peer got an answer although its repeat was held";
  ASSERT_TRUE(challenged);
  auto held = relay_->held();
  ASSERT_FALSE(held.empty());
  EXPECT_TRUE(server().led());  // nothing executed while held

  // Hold until the Echo value is older than the window (it was issued before the challenge went
  // through the relay), then deliver the original repeat, the genuine command.
  std::this_thread::sleep_until(challenged_at.load() + kFreshness + 200ms);
  const size_t before_release = relay_->size();
  ASSERT_TRUE(relay_->Release(held.front()));
  // The thing answers it (so it was delivered and decrypted) ...
  ASSERT_TRUE(relay_->WaitFor(
      [&](const std::vector<Datagram>& c) {
        for (size_t i = before_release; i < c.size(); ++i)
          if (c[i].dir == Direction::kToClient && IsApplicationRecord(c[i])) return true;
        return false;
      },
      5s));
  // ... and refused it: the LED is unchanged and the refusal counted (echo-stale).
  EXPECT_TRUE(server().led());
  EXPECT_EQ(server().refused(), refused_before + 1);

  // The legitimate path is still open: the peer's next command, in time, is executed.
  relay_->SetPolicy({});
  auto again = peer_->Put(domain::path::kActuator, Led(false), coap::content_format::kCbor);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->code, coap::kChanged);
  EXPECT_FALSE(server().led());
}

TEST_F(ActuatorDelay, ARecordedCommandWithItsEchoInjectedAgainIsDropped) {
  // The genuine "on" command: a challenge and the repeat carrying the thing's Echo value.
  auto on = peer_->Put(domain::path::kActuator, Led(true), coap::content_format::kCbor);
  ASSERT_TRUE(on && on->code == coap::kChanged);
  auto off = peer_->Put(domain::path::kActuator, Led(false), coap::content_format::kCbor);
  ASSERT_TRUE(off && off->code == coap::kChanged);
  ASSERT_FALSE(server().led());
  // The attacker injects every application record the peer sent for "on" again, at once (the
  // repeat's Echo value is still within the window): the old command with its old Echo.
  auto cap = relay_->Capture();
  std::vector<size_t> sent;
  for (const auto& d : cap)
    if (d.dir == Direction::kToServer && IsApplicationRecord(d)) sent.push_back(d.index);
  ASSERT_GE(sent.size(), 4u);  // "on" and its repeat, "off" and its repeat
  const size_t before = relay_->size();
  for (size_t i = 0; i < 2; ++i) ASSERT_TRUE(relay_->Inject(sent[i]));
  // DTLS drops both as replays (RFC 6347 §4.1.2.6): no answer and the LED stays off. The probe
  // that follows (a fresh "off", answered) shows the injected records were behind it in the queue.
  auto probe = peer_->Put(domain::path::kActuator, Led(false), coap::content_format::kCbor);
  ASSERT_TRUE(probe && probe->code == coap::kChanged);
  EXPECT_FALSE(server().led());
  size_t answers = 0;
  auto after = relay_->Capture();
  for (size_t i = before; i < after.size(); ++i)
    answers += after[i].dir == Direction::kToClient && IsApplicationRecord(after[i]);
  EXPECT_EQ(answers, 2u);  // the probe's challenge and its 2.04 only
}

}  // namespace
}  // namespace secprof::thing
