// The whole lifecycle over real CoAP/DTLS on loopback: an in-process KDC (secprof::kdc) and thing
// agents (secprof::thing), per profile.
#include <gtest/gtest.h>

#include <thread>

#include "secprof/core/fs.h"
#include "secprof/kdc/kdc.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"
#include "secprof/thing/testing.h"
#include "secprof/voucher/voucher.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof {
namespace {

using domain::Profile;
using testing::TempDir;
using thing::Agent;
using thing::State;

// The factories, the served KDC and the agents are tests/support/domain_fixture.h's; a thing's
// state directory names its vendor too (two vendors' factories number their serials alike).
using Fleet = testing::Factory;
using testing::MakeFactory;
using RunningKdc = testing::ServedKdc;

std::string ThingDir(const std::filesystem::path& dir, const std::string& vendor,
                     const std::string& serial) {
  return (dir / ("thing-" + vendor + "-" + serial)).string();
}

std::unique_ptr<Agent> NewThing(const std::filesystem::path& dir, const Fleet& f, size_t i,
                                Profile p) {
  const auto& t = f.manifest.things[i];
  return testing::InitAgent(ThingDir(dir, f.manifest.vendor, t.serial), f.dir, t.serial, p);
}

// Closes the agent (it holds its state directory's firmware lock) and opens it again.
std::unique_ptr<Agent> Reopen(std::unique_ptr<Agent> a, const std::filesystem::path& dir) {
  const std::string state_dir = ThingDir(dir, a->state().vendor, a->state().serial);
  a.reset();
  return testing::OpenAgent(state_dir);
}

TEST(Lifecycle, SecProf2SetupCodeJoinOperateDecommission) {
  TempDir tmp;
  Fleet f = MakeFactory(tmp.path(), "Acme", 3);
  kdc::KdcOptions ko;
  ko.profile = Profile::kSecProf2;
  ko.db_path = (tmp.path() / "kdc.db").string();
  RunningKdc k(ko);
  auto owner = kdc::OwnerTools::Open(ko.db_path);
  ASSERT_TRUE(owner) << owner.error().message();
  for (int i = 0; i < 2; ++i) {  // the third thing is never allowed
    const auto& t = f.manifest.things[i];
    ASSERT_TRUE((*owner)->AllowSetupCode(t.serial, "Acme", "Sensor-1", t.setup_code));
  }
  auto a = NewThing(tmp.path(), f, 0, Profile::kSecProf2);
  auto b = NewThing(tmp.path(), f, 1, Profile::kSecProf2);
  auto c = NewThing(tmp.path(), f, 2, Profile::kSecProf2);
  for (auto* x : {a.get(), b.get(), c.get()})
    ASSERT_TRUE(x->Install("127.0.0.1", k.kdc->udp_port(), k.kdc->dtls_port()));
  ASSERT_TRUE(a->Join());
  ASSERT_TRUE(b->Join());
  auto refused = c->Join();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(c->state().state, State::kInstalled);  // no state change

  // The state survives a restart.
  a = Reopen(std::move(a), tmp.path());
  EXPECT_EQ(a->state().state, State::kCommissioned);
  ASSERT_TRUE(a->GoOperational());
  ASSERT_TRUE(b->GoOperational());
  ASSERT_TRUE(a->SendReading(2100));
  auto reg = (*owner)->registry().Get(a->state().serial);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->state, registry::State::kOperational);

  // Thing-to-thing: A gets a key + ticket for B; B's server accepts the ticket; DTLS-PSK between
  // the two; the sensor answers only on that session.
  auto srv = thing::ThingServer::Start(*b, {});
  ASSERT_TRUE(srv) << srv.error().message();
  std::jthread bio([&](std::stop_token st) { (void)(*srv)->Serve(st); });
  auto pk = a->RequestPairKey(b->state().serial);
  ASSERT_TRUE(pk) << pk.error().message();
  auto peer = thing::ConnectToPeer("127.0.0.1", (*srv)->udp_port(), (*srv)->dtls_port(), *pk,
                                   std::chrono::milliseconds(3000));
  ASSERT_TRUE(peer) << peer.error().message();
  auto reading = (*peer)->Get(domain::path::kSensor);
  ASSERT_TRUE(reading);
  EXPECT_EQ(reading->code, coap::kContent);
  EXPECT_EQ((*srv)->ticket_peers(), std::vector<std::string>{a->state().serial});
  // A forged ticket (sealed under another key) is refused by B.
  domain::PairKeyResponse forged = std::move(*pk);
  forged.ticket.back() ^= 1;
  auto bad = thing::ConnectToPeer("127.0.0.1", (*srv)->udp_port(), (*srv)->dtls_port(), forged,
                                  std::chrono::milliseconds(2000));
  EXPECT_FALSE(bad);
  bio.request_stop();
  bio.join();

  // Groups: epoch 1 for both; A leaves -> epoch 2; A's messages (old epoch) are refused by B.
  ASSERT_TRUE((*owner)->CreateGroup("lights"));
  ASSERT_TRUE((*owner)->AddMember("lights", a->state().serial));
  ASSERT_TRUE((*owner)->AddMember("lights", b->state().serial));
  auto ga = a->FetchGroupKey("lights");
  auto gb = b->FetchGroupKey("lights");
  ASSERT_TRUE(ga && gb);
  EXPECT_EQ(ga->epoch, 1);
  auto msg = a->SealGroupMessage("lights", crypto::Bytes{1, 2, 3});
  ASSERT_TRUE(msg);
  auto opened = b->OpenGroupMessage("lights", *msg, gb->members);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->sender, a->state().serial);
  EXPECT_FALSE(opened->origin_authenticated);  // SecProf_2: no origin authentication
  ASSERT_TRUE((*owner)->RemoveMember("lights", a->state().serial));
  auto gb2 = b->FetchGroupKey("lights");
  ASSERT_TRUE(gb2);
  EXPECT_EQ(gb2->epoch, 2);
  auto stale = a->SealGroupMessage("lights", crypto::Bytes{9});
  ASSERT_TRUE(stale);
  auto refused_msg = b->OpenGroupMessage("lights", *stale, gb2->members);
  ASSERT_FALSE(refused_msg);
  EXPECT_NE(refused_msg.error().message().find("stale epoch"), std::string::npos);
  EXPECT_FALSE(a->FetchGroupKey("lights"));  // no longer a member: 4.03

  // Decommission: the KDC revokes, the thing wipes; its old PSK is refused afterwards.
  auto old_psk = thing::AgentTestPeer::PairwiseKey(*a);
  ASSERT_TRUE(old_psk);
  std::string old_identity = a->state().psk_identity;
  ASSERT_TRUE(a->Decommission());
  EXPECT_EQ(a->state().state, State::kDecommissioned);
  EXPECT_FALSE(thing::AgentTestPeer::PairwiseKey(*a));
  coap::ClientConfig cc;
  cc.security = coap::Security::kPsk;
  cc.psk_identity = old_identity;
  cc.psk_key = std::move(*old_psk);
  cc.timeout = std::chrono::milliseconds(1500);
  auto revived = coap::Client::Connect("127.0.0.1", k.kdc->dtls_port(), std::move(cc));
  EXPECT_FALSE(revived);
  reg = (*owner)->registry().Get(a->state().serial);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->state, registry::State::kDecommissioned);
  // Audit: exactly one "commissioned" entry for A, and the chain verifies.
  auto audit = (*owner)->registry().Audit(a->state().serial);
  ASSERT_TRUE(audit);
  int commissioned = 0;
  for (const auto& e : *audit) commissioned += e.action == "commissioned";
  EXPECT_EQ(commissioned, 1);
  EXPECT_TRUE((*owner)->registry().VerifyAuditChain());
}

TEST(Lifecycle, SecProf3VoucherJoinReplaceAndReOwnership) {
  TempDir tmp;
  Fleet f = MakeFactory(tmp.path(), "Acme", 3);
  Fleet rogue_vendor = MakeFactory(tmp.path(), "Evil", 1);
  kdc::KdcOptions ko;
  ko.profile = Profile::kSecProf3;
  ko.db_path = (tmp.path() / "kdc.db").string();
  ko.owner = "Factory-Owner";
  ko.vendor_ca_files = {f.dir + "/ca/ca.pem"};
  ko.require_token_keys = false;    // file-store things (key_protection_test covers the policy)
  ko.kek.allow_file_ca_key = true;  // a file-store domain CA (audited override)
  RunningKdc k(ko);
  auto owner = kdc::OwnerTools::Open(ko.db_path);
  ASSERT_TRUE(owner) << owner.error().message();
  auto vendor = voucher::Factory::Open(f.dir);
  ASSERT_TRUE(vendor);
  for (int i = 0; i < 2; ++i) {
    auto v = vendor->Issue(f.manifest.things[i].serial, k.kdc->domain_ca(), "Factory-Owner",
                           std::chrono::hours(24), SystemClock());
    ASSERT_TRUE(v) << v.error().message();
    ASSERT_TRUE((*owner)->ImportVoucher(*v, vendor->vendor_ca()));
  }
  // A voucher forged by another manufacturer's key is refused and changes nothing.
  auto evil = voucher::Factory::Open(rogue_vendor.dir);
  ASSERT_TRUE(evil);
  auto forged = evil->Issue(rogue_vendor.manifest.things[0].serial, k.kdc->domain_ca(), "x",
                            std::chrono::hours(1), SystemClock());
  ASSERT_TRUE(forged);
  EXPECT_FALSE((*owner)->ImportVoucher(*forged, vendor->vendor_ca()));

  auto a = NewThing(tmp.path(), f, 0, Profile::kSecProf3);
  auto b = NewThing(tmp.path(), f, 1, Profile::kSecProf3);
  auto c = NewThing(tmp.path(), f, 2, Profile::kSecProf3);             // no voucher: substitution
  auto e = NewThing(tmp.path(), rogue_vendor, 0, Profile::kSecProf3);  // unknown vendor
  for (auto* x : {a.get(), b.get(), c.get(), e.get()})
    ASSERT_TRUE(x->Install("127.0.0.1", k.kdc->udp_port(), k.kdc->dtls_port()));
  ASSERT_TRUE(a->Join()) << a->Join().error().message();
  ASSERT_TRUE(b->Join());
  EXPECT_FALSE(c->Join());
  EXPECT_FALSE(e->Join());
  EXPECT_EQ(c->state().state, State::kInstalled);
  EXPECT_EQ(e->state().state, State::kInstalled);
  EXPECT_FALSE(a->state().ldevid_pem.empty());

  ASSERT_TRUE(a->GoOperational());
  ASSERT_TRUE(b->GoOperational());
  ASSERT_TRUE(a->SendReading(1999));

  // Signed group messages (origin authentication).
  ASSERT_TRUE((*owner)->CreateGroup("line-1"));
  ASSERT_TRUE((*owner)->AddMember("line-1", a->state().serial));
  ASSERT_TRUE((*owner)->AddMember("line-1", b->state().serial));
  auto ga = a->FetchGroupKey("line-1");
  auto gb = b->FetchGroupKey("line-1");
  ASSERT_TRUE(ga && gb);
  auto msg = a->SealGroupMessage("line-1", crypto::Bytes{7});
  ASSERT_TRUE(msg) << msg.error().message();
  auto opened = b->OpenGroupMessage("line-1", *msg, gb->members);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->origin_authenticated);

  // Replacement: C takes over A's role. First C needs its voucher and a join.
  auto vc = vendor->Issue(f.manifest.things[2].serial, k.kdc->domain_ca(), "Factory-Owner",
                          std::chrono::hours(24), SystemClock());
  ASSERT_TRUE(vc);
  ASSERT_TRUE((*owner)->ImportVoucher(*vc, vendor->vendor_ca()));
  ASSERT_TRUE(c->Join());
  ASSERT_TRUE((*owner)->Replace(a->state().serial, c->state().serial));
  auto groups = (*owner)->registry().GroupsOf(c->state().serial);
  ASSERT_TRUE(groups);
  EXPECT_EQ(*groups, std::vector<std::string>{"line-1"});
  // The replaced thing's LDevID is refused in the handshake.
  EXPECT_FALSE(a->SendReading(1));

  // Re-ownership of B: the old owner decommissions it; factory reset; the new owner's voucher; B
  // joins the new domain; the old domain refuses it.
  ASSERT_TRUE(b->Decommission());
  ASSERT_TRUE(b->FactoryReset());
  EXPECT_EQ(b->state().state, State::kReOwned);
  kdc::KdcOptions ko2 = ko;
  ko2.db_path = (tmp.path() / "kdc2.db").string();
  ko2.owner = "Second-Owner";
  RunningKdc k2(ko2);
  auto owner2 = kdc::OwnerTools::Open(ko2.db_path);
  ASSERT_TRUE(owner2);
  auto v2 = vendor->Issue(b->state().serial, k2.kdc->domain_ca(), "Second-Owner",
                          std::chrono::hours(24), SystemClock());
  ASSERT_TRUE(v2);
  // The voucher for the new domain does not import into the old one (it pins another domain).
  EXPECT_FALSE((*owner)->ImportVoucher(*v2, vendor->vendor_ca()));
  ASSERT_TRUE((*owner2)->ImportVoucher(*v2, vendor->vendor_ca()));
  // Pointed at the OLD KDC, B refuses nothing but the old KDC refuses B (decommissioned).
  ASSERT_TRUE(b->Install("127.0.0.1", k.kdc->udp_port(), k.kdc->dtls_port()));
  EXPECT_FALSE(b->Join());
  ASSERT_TRUE(b->FactoryReset(true));
  ASSERT_TRUE(b->Install("127.0.0.1", k2.kdc->udp_port(), k2.kdc->dtls_port()));
  ASSERT_TRUE(b->Join());
  EXPECT_EQ(b->state().state, State::kCommissioned);
  EXPECT_EQ(b->state().owner, "Second-Owner");
}

TEST(Lifecycle, SecProf3ThingRefusesARogueKdc) {
  TempDir tmp;
  Fleet f = MakeFactory(tmp.path(), "Acme", 1);
  // A rogue KDC holds a genuine voucher for ANOTHER domain and presents its own certificate.
  kdc::KdcOptions real;
  real.profile = Profile::kSecProf3;
  real.db_path = (tmp.path() / "real.db").string();
  real.vendor_ca_files = {f.dir + "/ca/ca.pem"};
  real.require_token_keys = false;    // file-store things (key_protection_test covers the policy)
  real.kek.allow_file_ca_key = true;  // a file-store domain CA (audited override)
  kdc::KdcOptions rogue = real;
  rogue.db_path = (tmp.path() / "rogue.db").string();
  rogue.owner = "Mallory";
  RunningKdc kr(real);
  RunningKdc km(rogue);
  auto vendor = voucher::Factory::Open(f.dir);
  ASSERT_TRUE(vendor);
  // Mallory obtains the real owner's voucher and imports it into her registry directly.
  auto v = vendor->Issue(f.manifest.things[0].serial, kr.kdc->domain_ca(), "Owner",
                         std::chrono::hours(1), SystemClock());
  ASSERT_TRUE(v);
  auto mreg = registry::Registry::Open(rogue.db_path);
  ASSERT_TRUE(mreg);
  ASSERT_TRUE((*mreg)->ImportVoucher(f.manifest.things[0].serial, "Acme", "Sensor-1", *v,
                                     INT64_MAX / 2, "mallory"));
  auto a = NewThing(tmp.path(), f, 0, Profile::kSecProf3);
  ASSERT_TRUE(a->Install("127.0.0.1", km.kdc->udp_port(), km.kdc->dtls_port()));
  auto j = a->Join();
  ASSERT_FALSE(j);
  EXPECT_TRUE(j.error().Is(thing::kRogueDomain)) << j.error().message();
  EXPECT_EQ(a->state().state, State::kInstalled);
}

TEST(Lifecycle, SecProf1DucklingImprintsOnce) {
  TempDir tmp;
  Fleet f = MakeFactory(tmp.path(), "Home", 3);
  auto mother = NewThing(tmp.path(), f, 0, Profile::kSecProf1);
  auto chick = NewThing(tmp.path(), f, 1, Profile::kSecProf1);
  auto other = NewThing(tmp.path(), f, 2, Profile::kSecProf1);
  ASSERT_TRUE(mother->BecomeMother());
  auto srv = thing::ThingServer::Start(*chick, {});
  ASSERT_TRUE(srv);
  std::jthread io([&](std::stop_token st) { (void)(*srv)->Serve(st); });
  coap::ClientConfig cc;
  auto cl = coap::Client::Connect("127.0.0.1", (*srv)->udp_port(), std::move(cc));
  ASSERT_TRUE(cl);
  auto imprint = mother->MakeImprint();
  ASSERT_TRUE(imprint);
  auto r = (*cl)->Post(domain::path::kPair, domain::Encode(*imprint), coap::content_format::kCbor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kChanged);
  // A second "mother" is refused: the duckling obeys its first.
  ASSERT_TRUE(other->BecomeMother());
  auto second = other->MakeImprint();
  ASSERT_TRUE(second);
  auto r2 = (*cl)->Post(domain::path::kPair, domain::Encode(*second), coap::content_format::kCbor);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->code, coap::kForbidden);
  // Link frames: the mother's frame is accepted once; a replay is refused.
  auto frame = mother->SealLinkFrame(crypto::Bytes{42});
  ASSERT_TRUE(frame);
  auto l1 = (*cl)->Post(domain::path::kLink, *frame);
  ASSERT_TRUE(l1);
  EXPECT_EQ(l1->code, coap::kChanged);
  auto l2 = (*cl)->Post(domain::path::kLink, *frame);
  ASSERT_TRUE(l2);
  EXPECT_EQ(l2->code, coap::kUnauthorized);
  io.request_stop();
  io.join();
  EXPECT_EQ(chick->state().state, State::kCommissioned);
  EXPECT_EQ(chick->state().owner, mother->state().serial);
}

TEST(Lifecycle, SecProf1PairingWindowCloses) {
  TempDir tmp;
  Fleet f = MakeFactory(tmp.path(), "Home", 2);
  auto mother = NewThing(tmp.path(), f, 0, Profile::kSecProf1);
  auto chick = NewThing(tmp.path(), f, 1, Profile::kSecProf1);
  ASSERT_TRUE(mother->BecomeMother());
  thing::ThingServerOptions so;
  so.pairing_window = std::chrono::seconds(0);
  auto srv = thing::ThingServer::Start(*chick, so);
  ASSERT_TRUE(srv);
  std::jthread io([&](std::stop_token st) { (void)(*srv)->Serve(st); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto cl = coap::Client::Connect("127.0.0.1", (*srv)->udp_port(), {});
  ASSERT_TRUE(cl);
  auto r = (*cl)->Post(domain::path::kPair, domain::Encode(*mother->MakeImprint()),
                       coap::content_format::kCbor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kForbidden);
  io.request_stop();
  io.join();
  EXPECT_EQ(chick->state().state, State::kManufactured);
}

}  // namespace
}  // namespace secprof

namespace secprof {
namespace {

// The session-key policy: a DTLS session is replaced by a fresh handshake after N requests or T
// seconds (DTLS 1.2 has no in-session rekey).
TEST(Lifecycle, SessionKeysRenewedByMessageCountAndAge) {
  TempDir tmp;
  Fleet f = MakeFactory(tmp.path(), "Acme", 1);
  kdc::KdcOptions ko;
  ko.profile = Profile::kSecProf2;
  ko.db_path = (tmp.path() / "kdc.db").string();
  RunningKdc k(ko);
  auto owner = kdc::OwnerTools::Open(ko.db_path);
  ASSERT_TRUE(owner);
  const auto& t = f.manifest.things[0];
  ASSERT_TRUE((*owner)->AllowSetupCode(t.serial, "Acme", "Sensor-1", t.setup_code));
  thing::InitOptions in{(tmp.path() / "thing").string(), f.dir, t.serial, Profile::kSecProf2};
  ASSERT_TRUE(Agent::Init(in));
  FakeClock clock(std::chrono::system_clock::now());
  thing::AgentOptions ao;
  ao.state_dir = in.state_dir;
  ao.clock = &clock;
  ao.session_max_messages = 2;
  ao.session_max_age = std::chrono::seconds(60);
  auto a = Agent::Open(ao);
  ASSERT_TRUE(a);
  ASSERT_TRUE((*a)->Install("127.0.0.1", k.kdc->udp_port(), k.kdc->dtls_port()));
  ASSERT_TRUE((*a)->Join());
  ASSERT_TRUE((*a)->GoOperational());  // session 1, message 1
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*a)->SendReading(2000 + i));
  // Messages 2 | 3 4 | 5: two renewals by count.
  EXPECT_EQ((*a)->state().session_renewals, 2u);
  // Age: past 60 s the next request renews although the count allows one more.
  clock.Advance(std::chrono::seconds(61));
  ASSERT_TRUE((*a)->SendReading(1));
  EXPECT_EQ((*a)->state().session_renewals, 3u);
}

}  // namespace
}  // namespace secprof
