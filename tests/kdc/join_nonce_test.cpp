// SecProf_2's join nonce under a spoofed flood (issue 11, lab.flood SecProf_2; draft §4 threat 9;
// docs/DOMAIN.md "SecProf_2: setup code", "Nonce"). The nonce is a stateless token bound to the
// serial and to the address and port that asked for it (src/kdc/join_nonce.h):
//   JoinNonceToken          the token as a unit (pure functions, no KDC);
//   KdcJoinUnderSpoofedFlood an in-process KDC on 127.0.0.1 and an attacker sending raw CoAP from
//                            a thousand other loopback addresses (127.0.x.y), naming the genuine
//                            serial in clear as a SecProf_2 join lets it: the genuine nonce is
//                            neither evicted nor usable from elsewhere, nothing is stored for the
//                            flood, and the legitimate join (and its retry) still works.
// Time moves only when the test says; no timing thresholds.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "../../src/kdc/join_nonce.h"
#include "secprof/kdc/reasons.h"
#include "secprof/lab/attack_traffic.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

using namespace std::chrono_literals;
using namespace secprof::testing;

std::string Body(const coap::Response& r) {
  return std::string(r.payload.begin(), r.payload.end());
}

// ------------------------------------------------------------------------ the token as a unit

const crypto::Bytes kKek(32, 0x11);
constexpr int64_t kNow = 1'800'000'000;

crypto::Bytes Issued(const std::string& serial, const std::string& peer,
                     int64_t expires = kNow + 60) {
  auto n = join_nonce::Issue(kKek, serial, peer, expires, crypto::SystemRandomSource());
  EXPECT_TRUE(n) << n.error().ToString();
  return n ? *n : crypto::Bytes{};
}

void ExpectStale(const Status& s, const std::string& words) {
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_TRUE(s.error().Is(kReplayOrStale)) << s.error().ToString();
  EXPECT_NE(s.error().message().find(words), std::string::npos) << s.error().message();
}

TEST(JoinNonceToken, GoodOnlyForItsSerialAddressAndPort) {
  const crypto::Bytes n = Issued("plug-000001", "127.0.0.1:40000");
  ASSERT_EQ(n.size(), domain::kNonceSize);
  EXPECT_EQ(join_nonce::Expires(n), kNow + 60);
  EXPECT_TRUE(join_nonce::Check(kKek, n, "plug-000001", "127.0.0.1:40000", kNow, 60s));
  for (const auto& [serial, peer] : {std::pair{"plug-000001", "127.0.0.1:40001"},
                                     {"plug-000001", "127.0.0.2:40000"},
                                     {"plug-000002", "127.0.0.1:40000"},
                                     {"plug-00000", "1127.0.0.1:40000"}})
    ExpectStale(join_nonce::Check(kKek, n, serial, peer, kNow, 60s), "not issued by this KDC");
  // Another KDC (another KEK), and every single bit flipped, expiry bytes included.
  ExpectStale(
      join_nonce::Check(crypto::Bytes(32, 0x12), n, "plug-000001", "127.0.0.1:40000", kNow, 60s),
      "not issued");
  for (size_t i = 0; i < n.size() * 8; ++i) {
    crypto::Bytes t = n;
    t[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    EXPECT_FALSE(join_nonce::Check(kKek, t, "plug-000001", "127.0.0.1:40000", kNow, 60s)) << i;
  }
  // Two nonces for the same asker differ (4 random bytes).
  EXPECT_NE(Issued("plug-000001", "127.0.0.1:40000"), n);
}

TEST(JoinNonceToken, ExpiresAndRefusesALifetimeLongerThanTheKdcs) {
  const crypto::Bytes n = Issued("plug-000001", "127.0.0.1:1", kNow + 60);
  EXPECT_TRUE(join_nonce::Check(kKek, n, "plug-000001", "127.0.0.1:1", kNow + 60, 60s));
  ExpectStale(join_nonce::Check(kKek, n, "plug-000001", "127.0.0.1:1", kNow + 61, 60s), "expired");
  // Issued under a lifetime of 60 s, checked by a KDC now configured for 10 s.
  ExpectStale(join_nonce::Check(kKek, n, "plug-000001", "127.0.0.1:1", kNow, 10s), "more than");
  auto bad = join_nonce::Issue(kKek, "plug-000001", "127.0.0.1:1", int64_t{1} << 32,
                               crypto::SystemRandomSource());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
}

TEST(JoinNonceToken, OldFormatAndWrongSizesAreRefusedWithTheReason) {
  // An older KDC's nonce: 16 random bytes it stored in its registry.
  auto old = crypto::SystemRandomSource().Draw(domain::kNonceSize);
  ASSERT_TRUE(old);
  ExpectStale(join_nonce::Check(kKek, *old, "plug-000001", "127.0.0.1:1", kNow, 60s),
              "ask j/nonce again");
  for (size_t size : {0u, 8u, 15u, 17u, 64u})
    ExpectStale(
        join_nonce::Check(kKek, crypto::Bytes(size, 0), "plug-000001", "127.0.0.1:1", kNow, 60s),
        "not issued");
  EXPECT_EQ(join_nonce::Expires(crypto::Bytes(8, 0xff)), 0);
}

// ------------------------------------------------------------ the KDC under a spoofed flood

// A clock the test steps while the KDC's I/O thread reads it.
class SteppedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point{} + std::chrono::seconds(kNow + offset_.load());
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point{} + std::chrono::seconds(offset_.load());
  }
  void Advance(std::chrono::seconds d) { offset_ += d.count(); }

 private:
  std::atomic<int64_t> offset_{0};
};

constexpr int kSpoofedAddresses = 1024;  // 127.0.1.0 .. 127.0.4.255

class KdcJoinUnderSpoofedFlood : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = MakeFactory(dir_.path(), "Acme", 2);
    ko_ = SecProf2Options(dir_.path());
    kdc_ = std::make_unique<ServedKdc>(ko_, clock_);
    ASSERT_TRUE(kdc_->kdc);
    auto o = OwnerTools::Open(ko_.db_path, {}, clock_);
    ASSERT_TRUE(o) << o.error().message();
    owner_ = std::move(*o);
    for (const auto& t : f_.manifest.things)
      ASSERT_TRUE(owner_->AllowSetupCode(t.serial, "Acme", "Sensor-1", t.setup_code));
  }

  const manufacture::ThingRecord& thing(size_t i) const { return f_.manifest.things[i]; }
  uint16_t udp() const { return kdc_->kdc->udp_port(); }
  registry::Registry& reg() { return owner_->registry(); }

  int64_t Query(const std::string& sql) {
    auto db = store::Database::Open(ko_.db_path);
    EXPECT_TRUE(db);
    if (!db) return -1;
    auto v = (*db)->QueryInt64(sql);
    EXPECT_TRUE(v);
    return v ? *v : -1;
  }

  crypto::Bytes Nonce(coap::Client& c, const std::string& serial) {
    auto r =
        PostCbor(c, domain::path::kJoinNonce, domain::Encode(domain::JoinNonceRequest{serial}));
    EXPECT_TRUE(r && r->code == coap::kCreated) << (r ? Body(*r) : r.error().ToString());
    if (!r || r->code != coap::kCreated) return {};
    auto n = domain::DecodeJoinNonce(r->payload);
    EXPECT_TRUE(n);
    return n ? n->nonce : crypto::Bytes{};
  }
  coap::Response Psk(coap::Client& c, const std::string& serial, const crypto::Bytes& nonce,
                     const std::string& code) {
    auto proof = domain::JoinProof(code, serial, nonce);
    EXPECT_TRUE(proof);
    auto r = PostCbor(
        c, domain::path::kJoinPsk,
        domain::Encode(domain::PskJoinRequest{serial, nonce, proof ? *proof : crypto::Bytes{}}));
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : coap::Response{};
  }

  // The attacker: one j/nonce naming `serial` from each of kSpoofedAddresses loopback addresses,
  // each answered before the next is sent (so the KDC has processed all of them). Returns the
  // number answered 2.01 (-1 when the addresses cannot be bound).
  int Flood(const std::string& serial) {
    const attack::Packet body = domain::Encode(domain::JoinNonceRequest{serial});
    int created = 0;
    for (int i = 0; i < kSpoofedAddresses; ++i) {
      attack::UdpSocket s("127.0." + std::to_string(1 + i / 256) + "." + std::to_string(i % 256));
      if (!s.ok()) return -1;
      if (!s.SendTo(udp(), attack::CoapRequest(attack::kCoapPost, static_cast<uint16_t>(i),
                                               domain::path::kJoinNonce, body, 60)))
        return -1;
      auto answer = s.Recv(5s);  // a bound on a lost datagram, not a measurement
      if (answer && attack::CoapCode(*answer) == coap::kCreated) ++created;
    }
    return created;
  }

  TempDir dir_;
  SteppedClock clock_;
  Factory f_;
  KdcOptions ko_;
  std::unique_ptr<ServedKdc> kdc_;
  std::unique_ptr<OwnerTools> owner_;
};

// The attack of lab.flood in SecProf_2, without the load: the genuine thing has its nonce, then a
// thousand addresses ask nonces for its serial (250 times the old per-serial bound of 4, which
// dropped the oldest - the genuine one). Its j/psk with the nonce it holds still joins.
TEST_F(KdcJoinUnderSpoofedFlood, SpoofedNonceRequestsDoNotEvictTheGenuineNonce) {
  auto c = Udp(udp());
  ASSERT_TRUE(c);
  const std::string serial = thing(0).serial;
  const crypto::Bytes genuine = Nonce(**c, serial);
  ASSERT_FALSE(genuine.empty());
  const int created = Flood(serial);
  if (created < 0) GTEST_SKIP() << "cannot bind 127.0.x.y";
  EXPECT_EQ(created, kSpoofedAddresses) << "each spoofed request got a nonce for its address";
  // The bound: the flood stored nothing (no nonce row, nothing to evict or to fill).
  EXPECT_EQ(Query("SELECT count(*) FROM nonces"), 0);
  auto r = Psk(**c, serial, genuine, thing(0).setup_code);
  ASSERT_EQ(r.code, coap::kChanged) << Body(r);
  EXPECT_EQ(reg().Get(serial)->state, registry::State::kCommissioned);
  // Recorded once proven: the one row is the genuine nonce, used.
  EXPECT_EQ(Query("SELECT count(*) FROM nonces WHERE used_at IS NOT NULL"), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM nonces"), 1);
}

// A nonce seen on the wire (the join is plain CoAP) is useless from another address or port,
// even with the right proof: refused 4.01 before any key is unwrapped, nothing changes, and the
// genuine thing's nonce is not burnt.
TEST_F(KdcJoinUnderSpoofedFlood, NonceFromAnotherAddressOrPortIsRefusedAndChangesNothing) {
  auto c = Udp(udp());
  auto other_port = Udp(udp());
  ASSERT_TRUE(c && other_port);
  const std::string serial = thing(0).serial;
  const crypto::Bytes genuine = Nonce(**c, serial);
  ASSERT_FALSE(genuine.empty());
  auto r = Psk(**other_port, serial, genuine, thing(0).setup_code);
  EXPECT_EQ(r.code, coap::kUnauthorized) << Body(r);
  EXPECT_NE(Body(r).find("bound to the serial, address and port"), std::string::npos) << Body(r);
  // From another address, raw.
  attack::UdpSocket s("127.0.9.9");
  if (s.ok()) {
    auto proof = domain::JoinProof(thing(0).setup_code, serial, genuine);
    ASSERT_TRUE(proof);
    ASSERT_TRUE(s.SendTo(
        udp(),
        attack::CoapRequest(attack::kCoapPost, 7, domain::path::kJoinPsk,
                            domain::Encode(domain::PskJoinRequest{serial, genuine, *proof}), 60)));
    auto answer = s.Recv(5s);
    ASSERT_TRUE(answer);
    EXPECT_EQ(attack::CoapCode(*answer), coap::kUnauthorized);
  }
  EXPECT_EQ(reg().Get(serial)->state, registry::State::kAllowed);
  EXPECT_EQ(Query("SELECT count(*) FROM nonces"), 0);
  EXPECT_GE(kdc_->kdc->stats().refused[std::string(kReplayOrStale.name())], 1u);
  auto ok = Psk(**c, serial, genuine, thing(0).setup_code);
  EXPECT_EQ(ok.code, coap::kChanged) << Body(ok);
}

// The legitimate path with its retries: a thing whose j/psk never went out asks again (the first
// nonce is not displaced by the second); one whose nonce expired on the way is refused with the
// reason and joins with a fresh one; the same j/psk sent twice is a replay.
TEST_F(KdcJoinUnderSpoofedFlood, LegitimateJoinAndRetriesWork) {
  auto c = Udp(udp());
  ASSERT_TRUE(c);
  const std::string s0 = thing(0).serial, s1 = thing(1).serial;
  const crypto::Bytes first = Nonce(**c, s0);
  const crypto::Bytes second = Nonce(**c, s0);
  ASSERT_FALSE(first.empty() || second.empty());
  EXPECT_NE(first, second);
  auto r = Psk(**c, s0, first, thing(0).setup_code);
  ASSERT_EQ(r.code, coap::kChanged) << Body(r);
  auto again = Psk(**c, s0, first, thing(0).setup_code);
  EXPECT_EQ(again.code, coap::kUnauthorized) << Body(again);
  EXPECT_NE(Body(again).find("nonce already used"), std::string::npos) << Body(again);
  EXPECT_EQ(reg().Get(s0)->joins, 1);

  const crypto::Bytes late = Nonce(**c, s1);
  ASSERT_FALSE(late.empty());
  clock_.Advance(ko_.nonce_lifetime + 1s);
  auto expired = Psk(**c, s1, late, thing(1).setup_code);
  EXPECT_EQ(expired.code, coap::kUnauthorized) << Body(expired);
  EXPECT_NE(Body(expired).find("expired"), std::string::npos) << Body(expired);
  EXPECT_EQ(reg().Get(s1)->state, registry::State::kAllowed);
  PskJoined j;
  auto retried = JoinPsk(**c, s1, thing(1).setup_code, &j);
  ASSERT_EQ(retried.code, coap::kChanged) << Body(retried);
  auto dtls = ConnectPsk(kdc_->kdc->dtls_port(), j.identity, j.psk);
  ASSERT_TRUE(dtls) << dtls.error().ToString();
  auto rep = PostCbor(**dtls, domain::path::kReport, domain::Encode(domain::Reading{s1, 1, 1}));
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->code, coap::kChanged);
}

// A KDC upgraded while a thing held an old-format nonce (random, stored by the older KDC): its
// j/psk is refused 4.01 with the reason, nothing changes, and the thing's next join works.
TEST_F(KdcJoinUnderSpoofedFlood, OldFormatNonceIsRefusedWithTheReason) {
  auto c = Udp(udp());
  ASSERT_TRUE(c);
  const std::string serial = thing(0).serial;
  auto old = crypto::SystemRandomSource().Draw(domain::kNonceSize);
  ASSERT_TRUE(old);
  ASSERT_TRUE(reg().PutNonce(*old, serial, kNow + 60));
  auto r = Psk(**c, serial, *old, thing(0).setup_code);
  EXPECT_EQ(r.code, coap::kUnauthorized) << Body(r);
  EXPECT_NE(Body(r).find("ask j/nonce again"), std::string::npos) << Body(r);
  EXPECT_EQ(reg().Get(serial)->state, registry::State::kAllowed);
  EXPECT_TRUE(reg().ValidateNonce(*old, serial)) << "the refusal changed the registry";
  EXPECT_EQ(JoinPsk(**c, serial, thing(0).setup_code).code, coap::kChanged);
}

}  // namespace
}  // namespace secprof::kdc
