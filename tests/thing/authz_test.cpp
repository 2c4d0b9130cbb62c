// Issue 9 items 1 and 10 as attacks on loopback: an enrolled member (or anyone holding a
// certificate of the domain other than the KDC's) posing as the KDC, and a previous owner
// reclaiming a sold thing with the voucher it was once issued. Real KDCs (secprof::kdc), real
// thing agents, and a fake KDC (coap::Server) with the attacker's certificate.
#include "../../src/kdc/testing.h"  // kdc::DomainCaSigner
#include "thing/authz_util.h"
#include "secprof/thing/testing.h"

namespace secprof {
namespace {

namespace fs = std::filesystem;

using authz_testing::FakeKdc;
using secprof::testing::OpenAgent;
using secprof::testing::ServedKdc;
using authz_testing::Snapshot;
using thing::State;

struct Domain {
  testing::TempDir tmp;
  fs::path factory;
  manufacture::Manifest made;
  kdc::KdcOptions ko;
  std::unique_ptr<ServedKdc> k;
  std::unique_ptr<kdc::OwnerTools> owner;

  explicit Domain(int things, uint16_t dtls_port = 0) {
    factory = tmp.path() / "factory";
    made = secprof::testing::MakeFactory(factory, "Acme", "Sensor-1", things);
    ko.profile = domain::Profile::kSecProf3;
    ko.kek.allow_file_ca_key = true;  // a file-store domain CA (audited override)
    ko.require_token_keys = false;    // file-store things (key_protection_test covers the policy)
    ko.db_path = (tmp.path() / "kdc.db").string();
    ko.owner = "First-Owner";
    ko.vendor_ca_files = {(factory / "ca/ca.pem").string()};
    ko.dtls_port = dtls_port;
    Start();
  }
  void Start() {
    k = std::make_unique<ServedKdc>(ko);
    ko.dtls_port = k->kdc->dtls_port();  // a restart keeps the port the things know
    auto o = kdc::OwnerTools::Open(ko.db_path);
    ASSERT_TRUE(o) << o.error().message();
    owner = std::move(*o);
  }
  void Stop() {
    owner.reset();
    k.reset();
  }
  std::string keys() const { return ko.db_path + ".keys"; }

  // Thing i: made, voucher imported, joined and operational.
  std::unique_ptr<thing::Agent> Operational(size_t i) {
    auto a = authz_testing::NewThing(tmp.path(), factory, made, i);
    authz_testing::ImportVoucher(factory, made.things[i].serial, *owner, ko.owner);
    EXPECT_TRUE(a->Install("127.0.0.1", k->kdc->udp_port(), k->kdc->dtls_port()));
    auto j = a->Join();
    EXPECT_TRUE(j) << j.error().message();
    EXPECT_TRUE(a->GoOperational());
    return a;
  }
};

// state.json without what the agent rewrites on its own: the reading-counter reservation (issue 9
// item 6 reserves blocks before use, also for a reading that then fails) and the sealed secrets
// (re-sealed with a fresh nonce on every write; their content is compared through the agent).
nlohmann::json Essentials(const std::string& dir) {
  auto j = nlohmann::json::parse(Snapshot(dir));
  j.erase("reading_reserved");
  j.erase("secrets");
  return j;
}

// What the victim does when the fake KDC answers: nothing must reach the fake, and its state file
// must not change (no wipe on a fake decommission reply, no group key taken).
void ExpectVictimRefuses(const std::string& dir, FakeKdc& fake, const char* what) {
  SCOPED_TRACE(what);
  ASSERT_NE(fake.port(), 0);
  authz_testing::Repoint(dir, fake.port());
  auto v = OpenAgent(dir);
  ASSERT_TRUE(v);
  const nlohmann::json before = Essentials(dir);  // as the agent keeps it (Open may write it)
  auto key_before = thing::AgentTestPeer::PairwiseKey(*v);
  ASSERT_TRUE(key_before);
  auto r = v->SendReading(2222);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed) << r.error().message();
  EXPECT_FALSE(v->FetchGroupKey("line-1"));
  auto d = v->Decommission();
  ASSERT_FALSE(d);
  EXPECT_EQ(v->state().state, State::kOperational);
  auto key_after = thing::AgentTestPeer::PairwiseKey(*v);  // not wiped
  ASSERT_TRUE(key_after);
  EXPECT_EQ(crypto::Bytes(key_after->data(), key_after->data() + key_after->size()),
            crypto::Bytes(key_before->data(), key_before->data() + key_before->size()));
  v.reset();
  EXPECT_TRUE(Essentials(dir) == before) << "state.json changed";
  EXPECT_EQ(fake.requests.load(), 0);
}

TEST(AuthzKdcIdentity, MemberOrForeignKeyCannotServeAsKdc) {
  Domain d(3);
  auto member = d.Operational(0);
  auto victim = d.Operational(1);
  const std::string victim_dir = authz_testing::ThingDir(d.tmp.path(), d.made, 1);
  const std::string victim_serial = victim->state().serial;
  // The victim pinned the KDC's key in the voucher-verified join.
  EXPECT_EQ(victim->state().kdc_spki_sha256.size(), 64u);
  ASSERT_TRUE(victim->SendReading(1));
  victim.reset();

  const std::string member_dir = authz_testing::ThingDir(d.tmp.path(), d.made, 0);
  const std::string member_cert = member->state().ldevid_pem;
  crypto::SecureBuffer member_key =
      secprof::testing::StoreKeyPem(member_dir + "/keystore", member->state().ldevid_key_label,
                                keystore::SiblingKekPath(member_dir), "thing keystore");
  const std::string anchors = d.owner->domain_ca().ToPem();

  // 1. The member's own LDevID and key (a compromised member): the thing role, not the KDC's.
  {
    FakeKdc fake(member_cert, member_key, anchors);
    ExpectVictimRefuses(victim_dir, fake, "member LDevID");
  }
  // 2. The member's key under a domain certificate without any role (as every LDevID was before
  //    roles existed).
  auto ca_signer = kdc::DomainCaSigner(d.keys());
  ASSERT_TRUE(ca_signer);
  {
    keystore::FileKeyStoreOptions so;
    so.dir = member_dir + "/keystore";
    auto master = keystore::ReadKekFile(keystore::SiblingKekPath(member_dir));
    ASSERT_TRUE(master) << master.error().ToString();
    auto store_kek =
        keystore::DeriveKek(crypto::ByteView(master->data(), master->size()), "thing keystore");
    ASSERT_TRUE(store_kek);
    so.kek = std::move(*store_kek);
    auto ks = keystore::FileKeyStore::Open(std::move(so));
    ASSERT_TRUE(ks);
    auto signer = (*ks)->GetSigner(member->state().ldevid_key_label);
    ASSERT_TRUE(signer);
    identity::Name n{.common_name = "kdc.First-Owner", .organization = "First-Owner"};
    auto csr = identity::CreateRequest(**signer, n);
    ASSERT_TRUE(csr);
    auto legacy = identity::IssueLdevid(**ca_signer, d.owner->domain_ca(), *csr, {});
    ASSERT_TRUE(legacy) << legacy.error().message();
    FakeKdc fake(legacy->ToPem(), member_key, anchors);
    ExpectVictimRefuses(victim_dir, fake, "role-less domain certificate");

    // The same certificate posing as the KDC to a NEW thing's join, with a genuine voucher for it
    // (vouchers are not secret): refused for the missing KDC role, nothing enrolled.
    const std::string newcomer_serial = d.made.things[2].serial;
    auto vendor = voucher::Factory::Open(d.factory.string());
    ASSERT_TRUE(vendor);
    auto v = vendor->Issue(newcomer_serial, d.owner->domain_ca(), "First-Owner",
                           std::chrono::hours(24), SystemClock());
    ASSERT_TRUE(v);
    domain::VoucherResponse vr{*v, d.owner->domain_ca().ToDer(), legacy->ToDer()};
    FakeKdc join_fake(legacy->ToPem(), member_key, anchors, domain::Encode(vr));
    auto newcomer = authz_testing::NewThing(d.tmp.path(), d.factory, d.made, 2);
    ASSERT_TRUE(newcomer->Install("127.0.0.1", 0, join_fake.port()));
    auto j = newcomer->Join();
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().message().find("KDC role"), std::string::npos) << j.error().message();
    EXPECT_EQ(newcomer->state().state, State::kInstalled);
    EXPECT_EQ(join_fake.requests.load(), 1);  // the voucher was fetched, nothing else
  }
  // 3. A certificate WITH the KDC role, chaining to the domain CA, but for another key (a second
  //    "KDC" made with the domain CA key): the pin refuses it.
  {
    auto other = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
    ASSERT_TRUE(other);
    auto other_pem = other->ToPem();
    ASSERT_TRUE(other_pem);
    auto other_signer = crypto::SoftwareSigner::Create(
        std::move(*other), crypto::SignatureAlgorithm::kEcdsaP256Sha256);
    ASSERT_TRUE(other_signer);
    identity::Name n{.common_name = "kdc.First-Owner", .organization = "First-Owner"};
    auto csr = identity::CreateRequest(*other_signer, n);
    ASSERT_TRUE(csr);
    identity::LdevidPolicy p;
    p.extended_key_usage = {std::string(identity::eku::kServerAuth)};
    auto kdc_like = identity::IssueLdevid(**ca_signer, d.owner->domain_ca(), *csr, p);
    ASSERT_TRUE(kdc_like);
    FakeKdc fake(kdc_like->ToPem(), *other_pem, anchors);
    ExpectVictimRefuses(victim_dir, fake, "KDC role, another key");
  }
  // The registry still lists the victim as operational; the genuine KDC still serves it.
  auto reg = d.owner->registry().Get(victim_serial);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->state, registry::State::kOperational);
  authz_testing::Repoint(victim_dir, d.k->kdc->dtls_port());
  victim = OpenAgent(victim_dir);
  ASSERT_TRUE(victim->SendReading(3)) << victim->SendReading(3).error().message();
  ASSERT_TRUE(victim->Decommission());
  EXPECT_EQ(victim->state().state, State::kDecommissioned);
}

TEST(AuthzKdcIdentity, KdcCertificateWithoutRoleIsReissuedForTheSameKey) {
  Domain d(1);
  auto a = d.Operational(0);
  const std::string pin = a->state().kdc_spki_sha256;
  const std::string dir = authz_testing::ThingDir(d.tmp.path(), d.made, 0);
  a.reset();
  d.Stop();
  // A key directory from before roles: kdc.pem certifies the same key, without extendedKeyUsage.
  auto old = secprof::testing::LoadCert(d.keys() + "/kdc.pem");
  ASSERT_TRUE(old);
  {
    keystore::FileKeyStoreOptions so;
    so.dir = d.keys() + "/keystore";
    auto master = keystore::ReadKekFile(keystore::SiblingKekPath(d.keys()));
    ASSERT_TRUE(master) << master.error().ToString();
    auto store_kek =
        keystore::DeriveKek(crypto::ByteView(master->data(), master->size()), "kdc keystore");
    ASSERT_TRUE(store_kek);
    so.kek = std::move(*store_kek);
    auto ks = keystore::FileKeyStore::Open(std::move(so));
    ASSERT_TRUE(ks);
    auto tls = (*ks)->GetSigner("kdc-tls");
    ASSERT_TRUE(tls);
    auto ca = (*ks)->GetSigner("domain-ca");
    ASSERT_TRUE(ca);
    auto csr = identity::CreateRequest(**tls, old->subject());
    ASSERT_TRUE(csr);
    auto ca_cert = secprof::testing::LoadCert(d.keys() + "/domain-ca.pem");
    ASSERT_TRUE(ca_cert);
    auto legacy = identity::IssueLdevid(**ca, *ca_cert, *csr, {});
    ASSERT_TRUE(legacy);
    ASSERT_FALSE(legacy->extended_key_usage());
    ASSERT_TRUE(WriteFileAtomic(d.keys() + "/kdc.pem", legacy->ToPem(), 0644));
  }
  d.Start();
  auto upgraded = secprof::testing::LoadCert(d.keys() + "/kdc.pem");
  ASSERT_TRUE(upgraded);
  EXPECT_TRUE(upgraded->HasExtendedKeyUsage(identity::eku::kServerAuth));
  EXPECT_FALSE(upgraded->HasExtendedKeyUsage(identity::eku::kClientAuth));
  EXPECT_EQ(upgraded->public_key_der(), old->public_key_der());
  // The thing's pin (the key) still matches: it reports to the upgraded KDC.
  a = OpenAgent(dir);
  EXPECT_EQ(a->state().kdc_spki_sha256, pin);
  ASSERT_TRUE(a->SendReading(5)) << a->SendReading(5).error().message();
}

TEST(AuthzKdcIdentity, StateWithoutPinLearnsItFromTheKdcRole) {
  Domain d(1);
  auto a = d.Operational(0);
  const std::string pin = a->state().kdc_spki_sha256;
  const std::string dir = authz_testing::ThingDir(d.tmp.path(), d.made, 0);
  a.reset();
  // A state.json written before pinning existed has no kdc_spki_sha256.
  auto text = ReadFile(dir + "/state.json");
  ASSERT_TRUE(text);
  auto j = nlohmann::json::parse(*text);
  j.erase("kdc_spki_sha256");
  j.erase("owned_since");
  j.erase("voucher_created");
  ASSERT_TRUE(WriteFileAtomic(dir + "/state.json", j.dump(2), 0600));
  a = OpenAgent(dir);
  EXPECT_TRUE(a->state().kdc_spki_sha256.empty());
  ASSERT_TRUE(a->SendReading(6));
  EXPECT_EQ(a->state().kdc_spki_sha256, pin);
}

// Item 10: the previous owner keeps the year-long voucher it was issued; after the sale it makes a
// fresh registry for its domain (same domain CA), re-imports that voucher and waits for the thing.
TEST(AuthzReOwnership, OldOwnersVoucherRefusedAfterFactoryReset) {
  Domain d(1);
  const std::string serial = d.made.things[0].serial;
  auto a = authz_testing::NewThing(d.tmp.path(), d.factory, d.made, 0);
  // The first owner's voucher was issued an hour before the thing joined, valid for a year.
  FakeClock an_hour_ago(std::chrono::system_clock::now() - std::chrono::hours(1));
  auto vendor = voucher::Factory::Open(d.factory.string());
  ASSERT_TRUE(vendor);
  auto v1 = vendor->Issue(serial, d.owner->domain_ca(), "First-Owner", std::chrono::hours(24 * 365),
                          an_hour_ago);
  ASSERT_TRUE(v1);
  ASSERT_TRUE(d.owner->ImportVoucher(*v1, vendor->vendor_ca()));
  ASSERT_TRUE(a->Install("127.0.0.1", 0, d.k->kdc->dtls_port()));
  ASSERT_TRUE(a->Join());
  EXPECT_GT(a->state().voucher_created, 0);
  // Sold: decommissioned and factory reset.
  ASSERT_TRUE(a->Decommission());
  ASSERT_TRUE(a->FactoryReset());
  EXPECT_GT(a->state().owned_since, 0);
  d.Stop();

  // The old owner's fresh registry on the same key directory, the old voucher re-imported.
  kdc::KdcOptions old = d.ko;
  old.db_path = (d.tmp.path() / "fresh.db").string();
  old.keys_dir = d.keys();
  old.dtls_port = 0;
  ServedKdc reclaim(old);
  auto old_owner = kdc::OwnerTools::Open(old.db_path, old.keys_dir);
  ASSERT_TRUE(old_owner);
  ASSERT_TRUE((*old_owner)->ImportVoucher(*v1, vendor->vendor_ca()));
  ASSERT_TRUE(a->Install("127.0.0.1", 0, reclaim.kdc->dtls_port()));
  const std::string dir = authz_testing::ThingDir(d.tmp.path(), d.made, 0);
  const std::string before = Snapshot(dir);
  auto j = a->Join();
  ASSERT_FALSE(j);
  EXPECT_TRUE(j.error().Is(thing::kVoucherBeforeReset)) << j.error().message();
  EXPECT_EQ(a->state().state, State::kInstalled);
  EXPECT_EQ(Snapshot(dir), before);
  auto row = (*old_owner)->registry().Get(serial);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state, registry::State::kAllowed);  // nothing enrolled

  // The new owner's voucher, issued after the reset, works.
  kdc::KdcOptions next = old;
  next.db_path = (d.tmp.path() / "second.db").string();
  next.keys_dir.clear();
  next.owner = "Second-Owner";
  ServedKdc k2(next);
  auto owner2 = kdc::OwnerTools::Open(next.db_path);
  ASSERT_TRUE(owner2);
  ASSERT_TRUE(a->FactoryReset(true));
  authz_testing::ImportVoucher(d.factory, serial, **owner2, "Second-Owner");
  ASSERT_TRUE(a->Install("127.0.0.1", 0, k2.kdc->dtls_port()));
  auto j2 = a->Join();
  ASSERT_TRUE(j2) << j2.error().message();
  EXPECT_EQ(a->state().owner, "Second-Owner");
}

}  // namespace
}  // namespace secprof
