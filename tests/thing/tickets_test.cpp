// Issue 9 item 7: thing-to-thing tickets expire and a revocation at the KDC reaches peers. The
// attacks: a peer keeps using a ticket past its expiry (on its open session, in a new handshake,
// by posting it again); an evicted thing keeps reading a peer's sensor with the ticket it got
// before; a flood of tickets grows the peer's store. Real servers on loopback (the KDC and the
// peer's ThingServer); the peer polls the KDC's revocation list as `secprof thing serve` does.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "secprof/cbor/cbor.h"
#include "secprof/coap/coap.h"
#include "secprof/domain/protocol.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

using namespace std::chrono_literals;
using secprof::testing::TempDir;
using testing::JoinedSecProf2;
using testing::ServedKdc;

// A clock the test thread moves while the server's thread reads it.
class SharedFakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return SystemClock().Now() + std::chrono::seconds(offset_.load());
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return SystemClock().Monotonic() + std::chrono::seconds(offset_.load());
  }
  void Advance(std::chrono::seconds d) { offset_ += d.count(); }

 private:
  std::atomic<int64_t> offset_{0};
};

// A ThingServer serving on its own thread while the object lives.
struct ServedPeer {
  std::unique_ptr<ThingServer> server;
  std::jthread io;
  ServedPeer(Agent& agent, ThingServerOptions o) {
    auto s = ThingServer::Start(agent, std::move(o));
    EXPECT_TRUE(s) << s.error().message();
    if (!s) return;
    server = std::move(*s);
    io = std::jthread([this](std::stop_token st) { (void)server->Serve(st); });
  }
  ~ServedPeer() {
    if (io.joinable()) {
      io.request_stop();
      io.join();
    }
  }
};

class Tickets : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(d_.Start(tmp_.path(), 3));
    for (size_t i = 0; i < 3; ++i) {
      things_.push_back(JoinedSecProf2(tmp_.path(), f_, i, *kdc_->kdc));
      ASSERT_TRUE(things_.back());
    }
  }
  Agent& a() { return *things_[0]; }
  Agent& b() { return *things_[1]; }
  Agent& c() { return *things_[2]; }

  // A DTLS-PSK session with the peer under a ticket's key, without posting the ticket first.
  Result<std::unique_ptr<coap::Client>> Handshake(uint16_t port,
                                                  const domain::PairKeyResponse& pk) {
    coap::ClientConfig cc;
    cc.timeout = 2000ms;
    cc.security = coap::Security::kPsk;
    cc.psk_identity = cbor::ToHex(pk.kid);
    cc.psk_key = pk.key.Clone();
    return coap::Client::Connect("127.0.0.1", port, std::move(cc));
  }

  TempDir tmp_;
  testing::SecProf2Domain d_;
  testing::Factory& f_ = d_.f;
  kdc::KdcOptions& ko_ = d_.ko;
  std::unique_ptr<ServedKdc>& kdc_ = d_.kdc;
  std::unique_ptr<kdc::OwnerTools>& owner_ = d_.owner;
  std::vector<std::unique_ptr<Agent>> things_;
};

TEST_F(Tickets, ExpiredTicketIsRefusedOnRequestHandshakeAndRepost) {
  SharedFakeClock clock;
  ThingServerOptions so;
  so.clock = &clock;
  ServedPeer peer(b(), so);
  ASSERT_TRUE(peer.server);
  auto pk = a().RequestPairKey(b().state().serial);
  ASSERT_TRUE(pk) << pk.error().message();
  auto s = ConnectToPeer("127.0.0.1", peer.server->udp_port(), peer.server->dtls_port(), *pk, 2s);
  ASSERT_TRUE(s) << s.error().message();
  auto r = (*s)->Get(domain::path::kSensor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kContent);  // the legitimate path
  EXPECT_EQ(peer.server->ticket_holders(), std::vector<std::string>{a().state().serial});

  clock.Advance(std::chrono::seconds(ko_.pair_key_lifetime) + 1s);
  // On the session opened before the expiry: every request checks it.
  r = (*s)->Get(domain::path::kSensor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kUnauthorized);
  auto put = (*s)->Put(domain::path::kActuator, domain::Encode(domain::ActuatorCommand{true}),
                       coap::content_format::kCbor);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->code, coap::kUnauthorized);
  EXPECT_FALSE(peer.server->led());
  EXPECT_TRUE(peer.server->ticket_holders().empty());  // purged
  // A new handshake under the expired ticket's key, and the ticket posted again.
  EXPECT_FALSE(Handshake(peer.server->dtls_port(), *pk));
  EXPECT_FALSE(
      ConnectToPeer("127.0.0.1", peer.server->udp_port(), peer.server->dtls_port(), *pk, 2s));
  EXPECT_TRUE(peer.server->ticket_holders().empty());
}

TEST_F(Tickets, ExpiryIsCheckedInTheHandshake) {
  SharedFakeClock clock;
  ThingServerOptions so;
  so.clock = &clock;
  ServedPeer peer(b(), so);
  ASSERT_TRUE(peer.server);
  auto pk = a().RequestPairKey(b().state().serial);
  ASSERT_TRUE(pk);
  // The ticket is accepted while valid (plain CoAP POST t) ...
  auto u = coap::Client::Connect("127.0.0.1", peer.server->udp_port(), coap::ClientConfig{});
  ASSERT_TRUE(u);
  auto t = (*u)->Post(domain::path::kTicket, pk->ticket, coap::content_format::kCbor);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->code, coap::kChanged);
  // ... and the first handshake comes after its expiry: the PSK lookup refuses it.
  clock.Advance(std::chrono::seconds(ko_.pair_key_lifetime) + 1s);
  EXPECT_FALSE(Handshake(peer.server->dtls_port(), *pk));
  clock.Advance(-std::chrono::seconds(ko_.pair_key_lifetime) - 1s);
  // Purged, not just skipped: back in its validity, the key is still unknown.
  EXPECT_FALSE(Handshake(peer.server->dtls_port(), *pk));
}

TEST_F(Tickets, StoreIsBoundedAndEvictsTheSoonestToExpire) {
  ThingServerOptions so;
  so.max_tickets = 2;
  ServedPeer peer(b(), so);
  ASSERT_TRUE(peer.server);
  std::vector<domain::PairKeyResponse> pks;
  for (int i = 0; i < 5; ++i) {
    auto pk = a().RequestPairKey(b().state().serial);
    ASSERT_TRUE(pk);
    auto s = ConnectToPeer("127.0.0.1", peer.server->udp_port(), peer.server->dtls_port(), *pk, 2s);
    ASSERT_TRUE(s) << s.error().message();
    pks.push_back(std::move(*pk));
    EXPECT_LE(peer.server->ticket_holders().size(), 2u);
  }
  EXPECT_EQ(peer.server->ticket_holders().size(), 2u);
  // The newest ticket still works.
  auto s = Handshake(peer.server->dtls_port(), pks.back());
  ASSERT_TRUE(s) << s.error().message();
  auto r = (*s)->Get(domain::path::kSensor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kContent);
}

TEST_F(Tickets, EvictionAtTheKdcReachesThePeerWithinThePollBound) {
  ThingServerOptions so;
  so.revocation_poll = 1s;
  ServedPeer peer(b(), so);
  ASSERT_TRUE(peer.server);
  auto pka = a().RequestPairKey(b().state().serial);
  auto pkc = c().RequestPairKey(b().state().serial);
  ASSERT_TRUE(pka && pkc);
  auto sa = ConnectToPeer("127.0.0.1", peer.server->udp_port(), peer.server->dtls_port(), *pka, 2s);
  auto sc = ConnectToPeer("127.0.0.1", peer.server->udp_port(), peer.server->dtls_port(), *pkc, 2s);
  ASSERT_TRUE(sa && sc);
  auto r = (*sa)->Get(domain::path::kSensor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kContent);

  ASSERT_TRUE(owner_->Retire(a().state().serial, registry::State::kEvicted, "misbehaving"));
  const auto t0 = std::chrono::steady_clock::now();
  bool refused = false;
  while (std::chrono::steady_clock::now() - t0 < 60s) {  // a safety bound, not an assertion
    auto x = (*sa)->Get(domain::path::kSensor);
    if (x && x->code == coap::kUnauthorized) {
      refused = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(refused);
  std::cout << "[tickets] eviction reached the peer after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms (poll interval 1 s)\n";
  const auto holders = peer.server->ticket_holders();
  EXPECT_EQ(std::count(holders.begin(), holders.end(), a().state().serial), 0);
  // Its ticket is refused if posted again, and a handshake under it fails.
  EXPECT_FALSE(
      ConnectToPeer("127.0.0.1", peer.server->udp_port(), peer.server->dtls_port(), *pka, 2s));
  EXPECT_FALSE(Handshake(peer.server->dtls_port(), *pka));
  // The legitimate peer is unaffected.
  r = (*sc)->Get(domain::path::kSensor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kContent);
}

}  // namespace
}  // namespace secprof::thing
