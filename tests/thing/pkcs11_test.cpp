// SecProf_3 with the things' keys in a PKCS#11 token (SoftHSM2 standing in for a secure element):
// the IDevID and the LDevID are generated in the token, never leave it, and sign the DTLS
// handshakes (coap::Pkcs11PrivateKey through OpenSSL's pkcs11 engine) and the group messages.
// A separate binary: the engine and SOFTHSM2_CONF are per process.
#include <gtest/gtest.h>

#include <thread>

#include "secprof/kdc/kdc.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"
#include "secprof/voucher/voucher.h"
#include "support/softhsm_fixture.h"
#include "testutil.h"

namespace secprof {
namespace {

TEST(TokenThings, SecProf3JoinOperateSignAndWipeWithKeysInTheToken) {
  SECPROF_REQUIRE_SOFTHSM();
  testing::SoftHsmToken token;
  ASSERT_TRUE(token.ok()) << token.init_output();
  testing::TempDir tmp;
  manufacture::Options mo;
  mo.vendor = "Acme";
  mo.model = "Robot";
  mo.count = 2;
  mo.out_dir = (tmp.path() / "factory").string();
  mo.keystore = keystore::StoreKind::kPkcs11;
  mo.pkcs11 = token.Options();
  auto made = manufacture::Manufacture(mo);
  ASSERT_TRUE(made) << made.error().message();

  kdc::KdcOptions ko;
  ko.profile = domain::Profile::kSecProf3;
  ko.db_path = (tmp.path() / "kdc.db").string();
  ko.vendor_ca_files = {mo.out_dir + "/ca/ca.pem"};
  ko.kek.ca_token = token.Options().token_label;  // the domain CA key in the token too
  ko.kek.ca_pin = token.Options().pin;
  auto k = kdc::Kdc::Create(ko);
  ASSERT_TRUE(k) << k.error().message();
  std::jthread io([&](std::stop_token st) { (void)(*k)->Serve(st); });
  auto owner = kdc::OwnerTools::Open(ko.db_path);
  ASSERT_TRUE(owner);
  auto vendor = voucher::Factory::Open(mo.out_dir);
  ASSERT_TRUE(vendor);

  std::vector<std::unique_ptr<thing::Agent>> things;
  for (const auto& t : made->manifest.things) {
    auto v =
        vendor->Issue(t.serial, (*k)->domain_ca(), "Owner", std::chrono::hours(1), SystemClock());
    ASSERT_TRUE(v);
    ASSERT_TRUE((*owner)->ImportVoucher(*v, vendor->vendor_ca()));
    thing::InitOptions in{(tmp.path() / t.serial).string(), mo.out_dir, t.serial,
                          domain::Profile::kSecProf3};
    ASSERT_TRUE(thing::Agent::Init(in));
    thing::AgentOptions ao;
    ao.state_dir = in.state_dir;
    ao.pkcs11 = token.Options();
    auto a = thing::Agent::Open(ao);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ((*a)->state().key_store, "pkcs11");
    ASSERT_TRUE((*a)->Install("127.0.0.1", (*k)->udp_port(), (*k)->dtls_port()));
    auto j = (*a)->Join();
    ASSERT_TRUE(j) << j.error().message();
    ASSERT_TRUE((*a)->GoOperational());
    ASSERT_TRUE((*a)->SendReading(2000));
    things.push_back(std::move(*a));
  }
  // Both keys of each thing are in the token and cannot be exported.
  auto store = keystore::Pkcs11KeyStore::Open(token.Options());
  ASSERT_TRUE(store);
  for (const auto& a : things) {
    for (const auto& label : {a->state().idevid_key_label, a->state().ldevid_key_label}) {
      auto ex = (*store)->ExportPrivate(label);
      ASSERT_FALSE(ex) << label;
      EXPECT_EQ(ex.error().code(), ErrorCode::kUnsupported);
    }
  }
  // Signed group message, signed in the token.
  ASSERT_TRUE((*owner)->CreateGroup("cell"));
  for (const auto& a : things) ASSERT_TRUE((*owner)->AddMember("cell", a->state().serial));
  auto g0 = things[0]->FetchGroupKey("cell");
  auto g1 = things[1]->FetchGroupKey("cell");
  ASSERT_TRUE(g0 && g1);
  auto msg = things[0]->SealGroupMessage("cell", crypto::Bytes{1});
  ASSERT_TRUE(msg) << msg.error().message();
  auto opened = things[1]->OpenGroupMessage("cell", *msg, g1->members);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->origin_authenticated);
  // Decommissioning deletes the LDevID key from the token.
  std::string ldevid_label = things[0]->state().ldevid_key_label;
  ASSERT_TRUE(things[0]->Decommission());
  auto gone = (*store)->PublicKey(ldevid_label);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  io.request_stop();
  io.join();
}

}  // namespace
}  // namespace secprof
