// Tests for secprof::kdc (suites Kdc*): an in-process KDC on 127.0.0.1 (ephemeral ports) driven
// by raw coap::Client requests built with the domain message encoders, as a thing would send
// them. SecProf_2: setup-code join, DTLS-PSK, refusals (proof, replay, unknown serial, malformed
// body, closed window, retired thing, cipher suite). SecProf_3: voucher + IDevID join, LDevID
// enrollment, refusals (forged voucher, unknown vendor, no voucher, revoked LDevID). Groups.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "secprof/registry/registry.h"
#include "secprof/voucher/voucher.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;
using namespace secprof::testing;
using registry::State;

// A reason's name, as KdcStats::refused counts it (secprof/kdc/reasons.h).
std::string Name(Reason r) { return std::string(r.name()); }

int CountAudit(registry::Registry& reg, const std::string& serial, const std::string& action) {
  auto entries = reg.Audit(serial);
  EXPECT_TRUE(entries) << entries.error().ToString();
  if (!entries) return -1;
  return static_cast<int>(std::count_if(entries->begin(), entries->end(),
                                        [&](const auto& e) { return e.action == action; }));
}

// ------------------------------------------------------------------------------- SecProf_2

class KdcSecProf2 : public ::testing::Test {
 protected:
  void SetUp() override {
    factory_ = dir_.path() / "factory";
    manifest_ = MakeFactory(factory_, "Acme", "LightBulb-9", 3);
    ASSERT_EQ(manifest_.things.size(), 3u);
    db_ = (dir_.path() / "kdc.db").string();
  }

  // Creates the KDC (first use creates registry and keys), then allows every thing with its
  // setup code as the installer would.
  std::unique_ptr<Kdc> MakeKdc(KdcOptions o, const Clock& clock = SystemClock()) {
    o.profile = domain::Profile::kSecProf2;
    o.db_path = db_;
    auto k = Kdc::Create(std::move(o), clock);
    EXPECT_TRUE(k) << k.error().ToString();
    if (!k) return nullptr;
    auto tools = OwnerTools::Open(db_);
    EXPECT_TRUE(tools) << tools.error().ToString();
    if (!tools) return nullptr;
    tools_ = std::move(*tools);
    for (const auto& t : manifest_.things) {
      auto st = tools_->AllowSetupCode(t.serial, manifest_.vendor, manifest_.model, t.setup_code);
      EXPECT_TRUE(st) << st.error().ToString();
    }
    return std::move(*k);
  }

  const manufacture::ThingRecord& thing(size_t i) const { return manifest_.things[i]; }
  registry::Registry& reg() { return tools_->registry(); }

  secprof::testing::TempDir dir_;
  fs::path factory_;
  manufacture::Manifest manifest_;
  std::string db_;
  std::unique_ptr<OwnerTools> tools_;
};

TEST_F(KdcSecProf2, JoinWithSetupCodeThenReportOverDtlsPsk) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp) << udp.error().ToString();

  PskJoined j;
  auto r = JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &j);
  ASSERT_EQ(r.code, coap::kChanged) << Text(r);
  EXPECT_EQ(j.identity, thing(0).serial);
  EXPECT_EQ(j.psk.size(), domain::kMasterKeySize);
  EXPECT_EQ(j.dtls_port, kdc->dtls_port());

  auto t = reg().Get(thing(0).serial);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, State::kCommissioned);
  EXPECT_EQ(t->credential_kind, registry::kCredentialPsk);
  EXPECT_EQ(t->joins, 1);

  auto dtls = ConnectPsk(j.dtls_port, j.identity, j.psk);
  ASSERT_TRUE(dtls) << dtls.error().ToString();
  auto rep = PostCbor(**dtls, domain::path::kReport,
                      domain::Encode(domain::Reading{thing(0).serial, 2150, 1}));
  ASSERT_TRUE(rep) << rep.error().ToString();
  EXPECT_EQ(rep->code, coap::kChanged) << Text(*rep);

  // A reading naming another thing on this session is refused.
  rep = PostCbor(**dtls, domain::path::kReport,
                 domain::Encode(domain::Reading{thing(1).serial, 2150, 2}));
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->code, coap::kForbidden) << Text(*rep);

  // lc/state moves it to operational.
  auto st =
      PostCbor(**dtls, domain::path::kState, domain::Encode(domain::StateReport{"operational"}));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->code, coap::kChanged) << Text(*st);
  EXPECT_EQ(reg().Get(thing(0).serial)->state, State::kOperational);

  // The same key with another identity, or another key, is refused in the handshake.
  auto wrong = ConnectPsk(j.dtls_port, thing(1).serial, j.psk);
  EXPECT_FALSE(wrong);
  crypto::SecureBuffer other(domain::kMasterKeySize);
  EXPECT_FALSE(ConnectPsk(j.dtls_port, j.identity, other));

  KdcStats s = kdc->stats();
  EXPECT_EQ(s.joins, 1u);
  EXPECT_EQ(s.join_repeats, 0u);
  EXPECT_EQ(s.requests, 2u);
  EXPECT_EQ(s.refused[Name(kSpoofedReading)], 1u);
}

TEST_F(KdcSecProf2, WrongProofIsUnauthorizedAndChangesNothing) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  auto r = JoinPsk(**udp, thing(0).serial, "WRONGCODE");
  EXPECT_EQ(r.code, coap::kUnauthorized) << Text(r);
  // Another thing's setup code is wrong too.
  r = JoinPsk(**udp, thing(0).serial, thing(1).setup_code);
  EXPECT_EQ(r.code, coap::kUnauthorized) << Text(r);
  auto t = reg().Get(thing(0).serial);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, State::kAllowed);
  EXPECT_EQ(t->joins, 0);
  EXPECT_EQ(kdc->stats().refused[Name(kBadProof)], 2u);
  EXPECT_EQ(CountAudit(reg(), thing(0).serial, "refused:bad-proof"), 2);
  // The right code still works afterwards.
  r = JoinPsk(**udp, thing(0).serial, thing(0).setup_code);
  EXPECT_EQ(r.code, coap::kChanged) << Text(r);
}

TEST_F(KdcSecProf2, ReplayedJoinIsUnauthorized) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  PskJoined j;
  auto r = JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &j);
  ASSERT_EQ(r.code, coap::kChanged) << Text(r);
  // The eavesdropper's replay of the same j/psk bytes: the nonce is spent.
  auto again = PostCbor(**udp, domain::path::kJoinPsk, j.request);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->code, coap::kUnauthorized) << Text(*again);
  EXPECT_EQ(kdc->stats().refused[Name(kReplayOrStale)], 1u);
  EXPECT_EQ(reg().Get(thing(0).serial)->joins, 1);
  // A made-up nonce is refused the same way.
  crypto::Bytes forged_nonce(domain::kNonceSize, 0x42);
  auto proof = domain::JoinProof(thing(1).setup_code, thing(1).serial, forged_nonce);
  ASSERT_TRUE(proof);
  auto f = PostCbor(**udp, domain::path::kJoinPsk,
                    domain::Encode(domain::PskJoinRequest{thing(1).serial, forged_nonce, *proof}));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, coap::kUnauthorized) << Text(*f);
  EXPECT_EQ(reg().Get(thing(1).serial)->state, State::kAllowed);
  EXPECT_EQ(kdc->stats().refused[Name(kReplayOrStale)], 2u);
}

TEST_F(KdcSecProf2, UnknownSerialIsForbidden) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  auto r = PostCbor(**udp, domain::path::kJoinNonce,
                    domain::Encode(domain::JoinNonceRequest{"stranger-000001"}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kForbidden) << Text(*r);
  auto t = reg().Get("stranger-000001");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(kdc->stats().refused[Name(kNotAllowed)], 1u);
}

TEST_F(KdcSecProf2, MalformedBodiesAreBadRequestsAndChangeNoThing) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  auto before = reg().List();
  ASSERT_TRUE(before);
  const crypto::Bytes bodies[] = {
      {},                               // empty
      {0xff},                           // not CBOR
      {0xa1, 0x01},                     // truncated map
      {0x83, 0x01, 0x02, 0x03},         // an array, not a map
      {0xa1, 0x18, 0x63, 0x01},         // unknown label 99
      crypto::Bytes{0xa1, 0x01, 0x05},  // label 1 (serial) holds an integer
  };
  for (const char* path : {domain::path::kJoinNonce, domain::path::kJoinPsk}) {
    for (const auto& b : bodies) {
      auto r = PostCbor(**udp, path, b);
      ASSERT_TRUE(r) << r.error().ToString();
      EXPECT_EQ(r->code, coap::kBadRequest) << path << ": " << Text(*r);
    }
  }
  auto after = reg().List();
  ASSERT_TRUE(after);
  ASSERT_EQ(before->size(), after->size());
  for (size_t i = 0; i < before->size(); ++i) {
    EXPECT_EQ((*before)[i].serial, (*after)[i].serial);
    EXPECT_EQ((*before)[i].state, (*after)[i].state);
    EXPECT_EQ((*before)[i].joins, (*after)[i].joins);
    EXPECT_EQ((*before)[i].updated, (*after)[i].updated);
  }
  EXPECT_EQ(kdc->stats().refused[Name(kMalformed)], 2 * std::size(bodies));
  EXPECT_EQ(kdc->stats().joins, 0u);
}

TEST_F(KdcSecProf2, JoinWindowClosesAfterItsLength) {
  FakeClock clock(SystemClock().Now());
  KdcOptions o;
  o.join_window = std::chrono::seconds(1);
  auto kdc = MakeKdc(std::move(o), clock);
  ASSERT_TRUE(kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  {
    Serving serving(*kdc);  // inside the window
    auto r = JoinPsk(**udp, thing(0).serial, thing(0).setup_code);
    EXPECT_EQ(r.code, coap::kChanged) << Text(r);
  }
  // The clock moves only while nobody serves (FakeClock is not thread-safe).
  clock.Advance(std::chrono::seconds(2));
  Serving serving(*kdc);
  auto r = JoinPsk(**udp, thing(1).serial, thing(1).setup_code);
  EXPECT_EQ(r.code, coap::kForbidden) << Text(r);
  EXPECT_EQ(reg().Get(thing(1).serial)->state, State::kAllowed);
  EXPECT_EQ(kdc->stats().refused[Name(kWindowClosed)], 1u);
}

TEST_F(KdcSecProf2, ZeroJoinWindowIsAlwaysOpen) {
  FakeClock clock(SystemClock().Now());
  KdcOptions o;
  o.join_window = std::chrono::seconds(0);
  auto kdc = MakeKdc(std::move(o), clock);
  ASSERT_TRUE(kdc);
  clock.Advance(std::chrono::hours(24 * 400));
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  auto r = JoinPsk(**udp, thing(0).serial, thing(0).setup_code);
  EXPECT_EQ(r.code, coap::kChanged) << Text(r);
}

TEST_F(KdcSecProf2, RepeatedJoinReturnsTheSameKeyAndIsCommissionedOnce) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  PskJoined first, second;
  ASSERT_EQ(JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &first).code, coap::kChanged);
  // The answer was lost: the thing joins again with a fresh nonce.
  ASSERT_EQ(JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &second).code, coap::kChanged);
  EXPECT_EQ(first.identity, second.identity);
  ASSERT_EQ(first.psk.size(), second.psk.size());
  EXPECT_TRUE(std::equal(first.psk.data(), first.psk.data() + first.psk.size(), second.psk.data()));
  EXPECT_EQ(CountAudit(reg(), thing(0).serial, "commissioned"), 1);
  EXPECT_EQ(CountAudit(reg(), thing(0).serial, "join-repeat"), 1);
  auto t = reg().Get(thing(0).serial);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->joins, 2);
  EXPECT_EQ(t->key_epoch, 1);
  KdcStats s = kdc->stats();
  EXPECT_EQ(s.joins, 1u);
  EXPECT_EQ(s.join_repeats, 1u);
  EXPECT_TRUE(reg().VerifyAuditChain());
}

TEST_F(KdcSecProf2, RetiredThingIsRefusedInTheHandshakeAndCannotRejoin) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  PskJoined j;
  ASSERT_EQ(JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &j).code, coap::kChanged);
  ASSERT_TRUE(ConnectPsk(j.dtls_port, j.identity, j.psk));

  ASSERT_TRUE(tools_->Retire(thing(0).serial, State::kRevoked, "lost"));
  auto c = ConnectPsk(j.dtls_port, j.identity, j.psk);
  EXPECT_FALSE(c);
  auto r = JoinPsk(**udp, thing(0).serial, thing(0).setup_code);
  EXPECT_EQ(r.code, coap::kForbidden) << Text(r);
  auto t = reg().Get(thing(0).serial);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->state, State::kRevoked);
  EXPECT_TRUE(t->wrapped_key.empty());
  auto revoked = reg().IsCredentialRevoked(registry::kCredentialPsk, j.identity);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(*revoked);
}

TEST_F(KdcSecProf2, OperationalRequestsOverDisallowedCipherSuiteAreForbidden) {
  KdcOptions o;
  // RFC 7925's PSK suite; libcoap 4.3.1 negotiates another one (docs/COAP.md).
  o.allowed_ciphers = {"PSK-AES128-CCM8"};
  auto kdc = MakeKdc(std::move(o));
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  PskJoined j;
  ASSERT_EQ(JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &j).code, coap::kChanged);
  auto dtls = ConnectPsk(j.dtls_port, j.identity, j.psk);
  ASSERT_TRUE(dtls) << dtls.error().ToString();
  const std::string cipher = (*dtls)->server_identity().cipher;
  auto rep = PostCbor(**dtls, domain::path::kReport,
                      domain::Encode(domain::Reading{thing(0).serial, 2000, 1}));
  ASSERT_TRUE(rep);
  if (cipher == "PSK-AES128-CCM8") GTEST_SKIP() << "this libcoap negotiates the RFC 7925 suite";
  EXPECT_EQ(rep->code, coap::kForbidden) << Text(*rep);
  EXPECT_EQ(kdc->stats().refused[Name(kCipherSuite)], 1u);
}

TEST_F(KdcSecProf2, OperationalResourcesNeedDtls) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  auto r = PostCbor(**udp, domain::path::kReport,
                    domain::Encode(domain::Reading{thing(0).serial, 2000, 1}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kUnauthorized) << Text(*r);
}

TEST_F(KdcSecProf2, RegistryOfAnotherProfileIsRefused) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  kdc.reset();
  KdcOptions o;
  o.profile = domain::Profile::kSecProf3;
  o.db_path = db_;
  o.vendor_ca_files = {(factory_ / "ca" / "ca.pem").string()};
  o.kek.allow_file_ca_key = true;  // not what this test is about
  auto k3 = Kdc::Create(std::move(o));
  ASSERT_FALSE(k3);
  EXPECT_EQ(k3.error().code(), ErrorCode::kConflict);
}

TEST(KdcCreate, SecProf1HasNoKdc) {
  secprof::testing::TempDir dir;
  KdcOptions o;
  o.profile = domain::Profile::kSecProf1;
  o.db_path = (dir.path() / "kdc.db").string();
  auto k = Kdc::Create(std::move(o));
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(k.error().Is(kNoKdc)) << k.error().reason();
  EXPECT_FALSE(fs::exists(dir.path() / "kdc.db"));
}

TEST(KdcOwnerTools, RefusesAMissingKeyDirectory) {
  secprof::testing::TempDir dir;
  KdcOptions o;
  o.db_path = (dir.path() / "kdc.db").string();
  auto k = Kdc::Create(std::move(o));
  ASSERT_TRUE(k) << k.error().ToString();
  auto t = OwnerTools::Open((dir.path() / "kdc.db").string(), (dir.path() / "elsewhere").string());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(t.error().Is(kNotKeyDirectory)) << t.error().reason();
  EXPECT_FALSE(fs::exists(dir.path() / "elsewhere"));
  EXPECT_TRUE(OwnerTools::Open((dir.path() / "kdc.db").string()));
}

// ----------------------------------------------------------------------------------- groups

TEST_F(KdcSecProf2, GroupKeysForMembersOnlyAndRekeyedOnRemoval) {
  auto kdc = MakeKdc({});
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  PskJoined j[3];
  for (size_t i = 0; i < 3; ++i)
    ASSERT_EQ(JoinPsk(**udp, thing(i).serial, thing(i).setup_code, &j[i]).code, coap::kChanged);
  ASSERT_TRUE(tools_->CreateGroup("lights"));
  ASSERT_TRUE(tools_->AddMember("lights", thing(0).serial));
  ASSERT_TRUE(tools_->AddMember("lights", thing(1).serial));

  auto ask = [&](size_t i, const std::string& group) -> coap::Response {
    auto c = ConnectPsk(j[i].dtls_port, j[i].identity, j[i].psk);
    EXPECT_TRUE(c) << c.error().ToString();
    if (!c) return {};
    auto r = PostCbor(**c, domain::path::kGroupKey, domain::Encode(domain::GroupKeyRequest{group}));
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : coap::Response{};
  };
  auto r0 = ask(0, "lights");
  ASSERT_EQ(r0.code, coap::kChanged) << Text(r0);
  auto g0 = domain::DecodeGroupKeyResponse(r0.payload);
  ASSERT_TRUE(g0) << g0.error().ToString();
  EXPECT_EQ(g0->group, "lights");
  EXPECT_EQ(g0->epoch, 1);
  EXPECT_EQ(g0->key.size(), domain::kMasterKeySize);
  ASSERT_EQ(g0->members.size(), 2u);
  auto r1 = ask(1, "lights");
  ASSERT_EQ(r1.code, coap::kChanged) << Text(r1);
  auto g1 = domain::DecodeGroupKeyResponse(r1.payload);
  ASSERT_TRUE(g1);
  EXPECT_EQ(g1->epoch, 1);
  EXPECT_TRUE(std::equal(g0->key.data(), g0->key.data() + g0->key.size(), g1->key.data()));

  auto r2 = ask(2, "lights");  // not a member
  EXPECT_EQ(r2.code, coap::kForbidden) << Text(r2);
  EXPECT_EQ(ask(0, "no-such-group").code, coap::kNotFound);

  ASSERT_TRUE(tools_->RemoveMember("lights", thing(1).serial));
  auto r0b = ask(0, "lights");
  ASSERT_EQ(r0b.code, coap::kChanged) << Text(r0b);
  auto g0b = domain::DecodeGroupKeyResponse(r0b.payload);
  ASSERT_TRUE(g0b);
  EXPECT_EQ(g0b->epoch, 2);
  ASSERT_EQ(g0b->members.size(), 1u);
  EXPECT_FALSE(std::equal(g0->key.data(), g0->key.data() + g0->key.size(), g0b->key.data()));
  EXPECT_EQ(ask(1, "lights").code, coap::kForbidden);
  EXPECT_EQ(kdc->stats().refused[Name(kNotMember)], 2u);
}

// ------------------------------------------------------------------------------- SecProf_3

class KdcSecProf3 : public ::testing::Test {
 protected:
  void SetUp() override {
    acme_dir_ = dir_.path() / "acme";
    evil_dir_ = dir_.path() / "evil";
    acme_ = MakeFactory(acme_dir_, "Acme", "Sensor-7", 3);
    evil_ = MakeFactory(evil_dir_, "Evil", "Sensor-7", 1);
    ASSERT_EQ(acme_.things.size(), 3u);
    ASSERT_EQ(evil_.things.size(), 1u);
    acme_ca_ = LoadCert(acme_dir_ / "ca" / "ca.pem");
    ASSERT_TRUE(acme_ca_);
    db_ = (dir_.path() / "kdc.db").string();
    KdcOptions o;
    o.profile = domain::Profile::kSecProf3;
    o.db_path = db_;
    o.owner = "Plant 7";
    o.vendor_ca_files = {(acme_dir_ / "ca" / "ca.pem").string()};
    o.require_token_keys = false;    // file-store IDevIDs (key_protection_test covers the policy)
    o.kek.allow_file_ca_key = true;  // a file-store domain CA (audited override)
    auto k = Kdc::Create(std::move(o));
    ASSERT_TRUE(k) << k.error().ToString();
    kdc_ = std::move(*k);
    auto tools = OwnerTools::Open(db_);
    ASSERT_TRUE(tools) << tools.error().ToString();
    tools_ = std::move(*tools);
    // Vouchers for things 0 and 1; thing 2 has none.
    for (size_t i = 0; i < 2; ++i) {
      auto v =
          voucher::IssueFromFactory(acme_dir_.string(), acme_.things[i].serial, tools_->domain_ca(),
                                    "Plant 7", std::chrono::days(30), SystemClock());
      ASSERT_TRUE(v) << v.error().ToString();
      auto st = tools_->ImportVoucher(*v, *acme_ca_);
      ASSERT_TRUE(st) << st.error().ToString();
    }
  }

  std::string IdevidPem(const fs::path& factory, const manufacture::ThingRecord& t) {
    auto pem = ReadFile((factory / t.idevid).string());
    EXPECT_TRUE(pem);
    return pem ? *pem : "";
  }

  Result<std::unique_ptr<coap::Client>> ConnectIdevid(const fs::path& factory,
                                                      const manufacture::ThingRecord& t) {
    return ConnectPki(kdc_->dtls_port(), IdevidPem(factory, t), IdevidKeyPem(factory, t));
  }

  struct Enrolled {
    std::string ldevid_pem;
    crypto::SecureBuffer key_pem;
    crypto::SecureBuffer pairwise;
  };

  // j/enroll on an IDevID session with the key in out->key_pem, or a fresh P-256 key when it is
  // empty.
  coap::Response Enroll(coap::Client& c, const std::string& serial, Enrolled* out) {
    auto sk = out->key_pem.empty()
                  ? crypto::PrivateKey::Generate(crypto::KeyType::kP256)
                  : crypto::PrivateKey::FromPem(std::string_view(
                        reinterpret_cast<const char*>(out->key_pem.data()), out->key_pem.size()));
    EXPECT_TRUE(sk);
    if (!sk) return {};
    auto pem = sk->ToPem();
    EXPECT_TRUE(pem);
    auto signer = crypto::SoftwareSigner::Create(std::move(*sk),
                                                 crypto::SignatureAlgorithm::kEcdsaP256Sha256);
    EXPECT_TRUE(signer);
    if (!signer || !pem) return {};
    identity::Name n;
    n.common_name = serial;
    n.serial_number = serial;
    auto csr = identity::CreateRequest(*signer, n);
    EXPECT_TRUE(csr) << csr.error().ToString();
    if (!csr) return {};
    auto r =
        PostCbor(c, domain::path::kEnroll, domain::Encode(domain::EnrollRequest{csr->ToDer()}));
    EXPECT_TRUE(r) << r.error().ToString();
    if (!r) return {};
    if (r->code == coap::kChanged) {
      auto resp = domain::DecodeEnrollResponse(r->payload);
      EXPECT_TRUE(resp) << resp.error().ToString();
      if (resp) {
        auto cert = identity::Certificate::FromDer(resp->ldevid);
        EXPECT_TRUE(cert);
        if (cert) out->ldevid_pem = cert->ToPem();
        out->key_pem = std::move(*pem);
        out->pairwise = std::move(resp->key);
      }
    }
    return *r;
  }

  secprof::testing::TempDir dir_;
  fs::path acme_dir_, evil_dir_;
  manufacture::Manifest acme_, evil_;
  std::optional<identity::Certificate> acme_ca_;
  std::string db_;
  std::unique_ptr<Kdc> kdc_;
  std::unique_ptr<OwnerTools> tools_;
};

TEST_F(KdcSecProf3, VoucherThenEnrollThenOperateWithLdevid) {
  Serving serving(*kdc_);
  const auto& t = acme_.things[0];
  auto c = ConnectIdevid(acme_dir_, t);
  ASSERT_TRUE(c) << c.error().ToString();

  // The thing checks the voucher against its manufacturer trust anchor before trusting the KDC.
  auto vr = (*c)->Get(domain::path::kVoucher);
  ASSERT_TRUE(vr) << vr.error().ToString();
  ASSERT_EQ(vr->code, coap::kContent) << Text(*vr);
  auto resp = domain::DecodeVoucherResponse(vr->payload);
  ASSERT_TRUE(resp) << resp.error().ToString();
  auto trust_anchor = LoadCert(acme_dir_ / t.trust_anchor);
  ASSERT_TRUE(trust_anchor);
  auto v = voucher::Verify(resp->voucher, *trust_anchor, SystemClock());
  ASSERT_TRUE(v) << v.error().ToString();
  auto domain_ca = identity::Certificate::FromDer(resp->domain_ca);
  ASSERT_TRUE(domain_ca);
  EXPECT_TRUE(voucher::CheckBinding(*v, t.serial, *domain_ca));
  EXPECT_EQ(*domain_ca, kdc_->domain_ca());
  // The KDC's certificate chains to the pinned domain CA, and is the one it showed in DTLS.
  auto kdc_cert = identity::Certificate::FromDer(resp->kdc_chain);
  ASSERT_TRUE(kdc_cert);
  identity::VerifyOptions vo;
  vo.trust_anchors = {*domain_ca};
  EXPECT_TRUE(identity::VerifyCertificate(*kdc_cert, vo));
  EXPECT_EQ((*c)->server_identity().certificate_der, kdc_cert->ToDer());

  Enrolled e;
  auto er = Enroll(**c, t.serial, &e);
  ASSERT_EQ(er.code, coap::kChanged) << Text(er);
  auto ldevid = identity::Certificate::FromPem(e.ldevid_pem);
  ASSERT_TRUE(ldevid);
  auto path = identity::VerifyCertificate(*ldevid, vo);
  ASSERT_TRUE(path) << path.error().ToString();
  EXPECT_EQ(ldevid->subject().serial_number, t.serial);
  EXPECT_EQ(ldevid->subject().organization, "Plant 7");
  EXPECT_EQ(e.pairwise.size(), domain::kMasterKeySize);
  auto rec = tools_->registry().Get(t.serial);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->state, State::kCommissioned);
  EXPECT_EQ(rec->credential_kind, registry::kCredentialLdevid);
  EXPECT_EQ(rec->credential_id, ldevid->serial_hex());

  // The IDevID session is provisional: operational resources refuse it.
  auto op = PostCbor(**c, domain::path::kReport, domain::Encode(domain::Reading{t.serial, 1, 1}));
  ASSERT_TRUE(op);
  EXPECT_EQ(op->code, coap::kForbidden) << Text(*op);

  auto oc = ConnectPki(kdc_->dtls_port(), e.ldevid_pem, e.key_pem);
  ASSERT_TRUE(oc) << oc.error().ToString();
  op = PostCbor(**oc, domain::path::kReport, domain::Encode(domain::Reading{t.serial, 1999, 1}));
  ASSERT_TRUE(op);
  EXPECT_EQ(op->code, coap::kChanged) << Text(*op);
  // The LDevID is not an IDevID: it cannot enroll again.
  Enrolled again;
  EXPECT_EQ(Enroll(**oc, t.serial, &again).code, coap::kForbidden);

  KdcStats s = kdc_->stats();
  EXPECT_EQ(s.joins, 1u);
  EXPECT_EQ(s.requests, 1u);
}

TEST_F(KdcSecProf3, RepeatedEnrollWithTheSameKeyIsIdempotent) {
  Serving serving(*kdc_);
  const auto& t = acme_.things[1];
  auto c = ConnectIdevid(acme_dir_, t);
  ASSERT_TRUE(c) << c.error().ToString();
  Enrolled e1;
  ASSERT_EQ(Enroll(**c, t.serial, &e1).code, coap::kChanged);
  Enrolled e2;
  e2.key_pem = e1.key_pem.Clone();
  ASSERT_EQ(Enroll(**c, t.serial, &e2).code, coap::kChanged);
  EXPECT_EQ(e1.ldevid_pem, e2.ldevid_pem);
  EXPECT_TRUE(
      std::equal(e1.pairwise.data(), e1.pairwise.data() + e1.pairwise.size(), e2.pairwise.data()));
  // Another key for the same serial while it is commissioned: a conflict.
  Enrolled e3;
  EXPECT_EQ(Enroll(**c, t.serial, &e3).code, coap::kForbidden);
  EXPECT_EQ(CountAudit(tools_->registry(), t.serial, "commissioned"), 1);
  EXPECT_EQ(kdc_->stats().join_repeats, 1u);
}

TEST_F(KdcSecProf3, ForgedVoucherIsRefusedByImport) {
  // Evil's CA signs a voucher that claims Acme's thing 2 for this domain.
  keystore::FileKeyStoreOptions so;
  so.dir = (evil_dir_ / "ca" / "keystore").string();
  auto store = keystore::FileKeyStore::Open(std::move(so));
  ASSERT_TRUE(store) << store.error().ToString();
  auto signer = (*store)->GetSigner(manufacture::kCaKeyLabel);
  ASSERT_TRUE(signer) << signer.error().ToString();
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(SystemClock().Now().time_since_epoch())
          .count();
  voucher::Voucher v;
  v.serial = acme_.things[2].serial;
  v.vendor = "Acme";
  v.model = "Sensor-7";
  v.domain_hash = voucher::DomainHash(tools_->domain_ca());
  v.created = now;
  v.expires = now + 86400;
  auto forged = voucher::Issue(**signer, v);
  ASSERT_TRUE(forged) << forged.error().ToString();
  auto st = tools_->ImportVoucher(*forged, *acme_ca_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_TRUE(st.error().Is(kVoucherRefused)) << st.error().reason();
  EXPECT_FALSE(tools_->registry().Get(acme_.things[2].serial));

  // A genuine voucher for another domain is refused too.
  secprof::testing::TempDir other;
  KdcOptions o;
  o.db_path = (other.path() / "other.db").string();
  auto other_kdc = Kdc::Create(std::move(o));
  ASSERT_TRUE(other_kdc) << other_kdc.error().ToString();
  auto elsewhere = voucher::IssueFromFactory(acme_dir_.string(), acme_.things[2].serial,
                                             (*other_kdc)->domain_ca(), "Other",
                                             std::chrono::days(1), SystemClock());
  ASSERT_TRUE(elsewhere);
  st = tools_->ImportVoucher(*elsewhere, *acme_ca_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_TRUE(st.error().Is(kOtherDomain)) << st.error().reason();
  EXPECT_FALSE(tools_->registry().Get(acme_.things[2].serial));
}

TEST_F(KdcSecProf3, IdevidOfAnUnknownVendorIsRefusedInTheHandshake) {
  Serving serving(*kdc_);
  auto c = ConnectIdevid(evil_dir_, evil_.things[0]);
  EXPECT_FALSE(c);
  EXPECT_EQ(kdc_->stats().joins, 0u);
}

TEST_F(KdcSecProf3, SerialWithoutVoucherIsForbidden) {
  Serving serving(*kdc_);
  const auto& t = acme_.things[2];
  auto c = ConnectIdevid(acme_dir_, t);
  ASSERT_TRUE(c) << c.error().ToString();
  auto vr = (*c)->Get(domain::path::kVoucher);
  ASSERT_TRUE(vr);
  EXPECT_EQ(vr->code, coap::kForbidden) << Text(*vr);
  Enrolled e;
  EXPECT_EQ(Enroll(**c, t.serial, &e).code, coap::kForbidden);
  EXPECT_FALSE(tools_->registry().Get(t.serial));
  EXPECT_EQ(kdc_->stats().refused[Name(kNoVoucher)], 2u);
}

TEST_F(KdcSecProf3, RevokedLdevidIsRefusedInTheHandshake) {
  Serving serving(*kdc_);
  const auto& t = acme_.things[0];
  Enrolled e;
  {
    auto c = ConnectIdevid(acme_dir_, t);
    ASSERT_TRUE(c) << c.error().ToString();
    ASSERT_EQ(Enroll(**c, t.serial, &e).code, coap::kChanged);
  }
  ASSERT_TRUE(ConnectPki(kdc_->dtls_port(), e.ldevid_pem, e.key_pem));
  ASSERT_TRUE(tools_->Retire(t.serial, State::kRevoked, "key compromise"));
  auto c = ConnectPki(kdc_->dtls_port(), e.ldevid_pem, e.key_pem);
  EXPECT_FALSE(c);
  EXPECT_GE(kdc_->stats().refused[Name(kRevokedCredential)], 1u);
  // Its IDevID cannot enroll again either.
  auto ic = ConnectIdevid(acme_dir_, t);
  ASSERT_TRUE(ic) << ic.error().ToString();
  Enrolled again;
  EXPECT_EQ(Enroll(**ic, t.serial, &again).code, coap::kForbidden);
}

TEST(KdcSecProf3Create, NeedsAManufacturerTrustAnchor) {
  secprof::testing::TempDir dir;
  KdcOptions o;
  o.profile = domain::Profile::kSecProf3;
  o.db_path = (dir.path() / "kdc.db").string();
  auto k = Kdc::Create(std::move(o));
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(k.error().Is(kNoTrustAnchor)) << k.error().reason();
}

}  // namespace
}  // namespace secprof::kdc
