// Issue 9 items 2 and 3 as attacks on loopback: a trusted vendor CA that copies the domain CA's
// subject and key identifier (signing with another algorithm) forges an LDevID of a member; a
// trusted vendor mints another vendor's serial. Certificates are crafted with OpenSSL directly
// (the attacker does not use secprof's issuance, which would never copy a key identifier).
#include "../../src/kdc/internal.h"  // the checks themselves, for the layer below the handshake
#include "support/forged_certs.h"
#include "thing/authz_util.h"

namespace secprof {
namespace {

namespace fs = std::filesystem;
using crypto::Bytes;

using namespace secprof::testing::forge;
using secprof::testing::OpenAgent;
using secprof::testing::ServedKdc;
using thing::State;

struct Sec3Domain {
  testing::TempDir tmp;
  fs::path factory;
  manufacture::Manifest made;
  kdc::KdcOptions ko;
  Sec3Domain() {
    factory = tmp.path() / "factory";
    made = secprof::testing::MakeFactory(factory, "Acme", "Sensor-1", 2);
    ko.profile = domain::Profile::kSecProf3;
    ko.kek.allow_file_ca_key = true;  // a file-store domain CA (audited override)
    ko.require_token_keys = false;    // file-store things (key_protection_test covers the policy)
    ko.db_path = (tmp.path() / "kdc.db").string();
    ko.owner = "Owner";
    ko.vendor_ca_files = {(factory / "ca/ca.pem").string()};
  }
};

TEST(AuthzForgedDomainCa, VendorCaPosingAsDomainCaIsRefusedEverywhere) {
  Sec3Domain d;
  auto k = std::make_unique<ServedKdc>(d.ko);
  auto owner = kdc::OwnerTools::Open(d.ko.db_path);
  ASSERT_TRUE(owner);
  // The victim: a member, operational.
  auto v = authz_testing::NewThing(d.tmp.path(), d.factory, d.made, 1);
  authz_testing::ImportVoucher(d.factory, d.made.things[1].serial, **owner, "Owner");
  ASSERT_TRUE(v->Install("127.0.0.1", 0, k->kdc->dtls_port()));
  ASSERT_TRUE(v->Join());
  ASSERT_TRUE(v->GoOperational());
  ASSERT_TRUE((*owner)->CreateGroup("line-1"));
  ASSERT_TRUE((*owner)->AddMember("line-1", v->state().serial));
  const std::string victim_serial = v->state().serial;
  auto victim_ldevid = identity::Certificate::FromPem(v->state().ldevid_pem);
  ASSERT_TRUE(victim_ldevid);
  const identity::Certificate domain_ca = (*owner)->domain_ca();

  PkeyPtr evil_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  PkeyPtr attacker_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(evil_key && attacker_key);
  identity::Certificate evil = EvilCa(domain_ca, evil_key.get());
  identity::Certificate forged =
      ForgedLdevid(*victim_ldevid, domain_ca, evil_key.get(), attacker_key.get());
  ASSERT_EQ(forged.serial_hex(), victim_ldevid->serial_hex());
  ASSERT_EQ(forged.issuer(), domain_ca.subject());
  ASSERT_EQ(forged.authority_key_id(), domain_ca.subject_key_id());

  // The hole: against a store holding the vendor CA too, the forgery validates.
  identity::VerifyOptions combined;
  combined.trust_anchors = {evil, domain_ca};
  EXPECT_TRUE(identity::VerifyCertificate(forged, combined));
  // The KDC's checks: the domain CA alone, and the registry's own copy.
  auto row = (*owner)->registry().Get(victim_serial);
  ASSERT_TRUE(row);
  EXPECT_FALSE(kdc::CheckDomainSigned(forged, domain_ca, SystemClock()));
  EXPECT_FALSE(kdc::CheckPresentedLdevid(forged, domain_ca, *row, SystemClock()));
  EXPECT_TRUE(kdc::CheckPresentedLdevid(*victim_ldevid, domain_ca, *row, SystemClock()));
  // The per-request form remembers certificates that passed, by fingerprint and registry copy.
  kdc::LdevidValidator validator;
  EXPECT_TRUE(validator.Check(*victim_ldevid, domain_ca, *row, SystemClock()));
  EXPECT_TRUE(validator.Check(*victim_ldevid, domain_ca, *row, SystemClock()));
  EXPECT_FALSE(validator.Check(forged, domain_ca, *row, SystemClock()));
  registry::Thing swapped = *row;  // a registry whose copy is the forgery: the signature decides
  swapped.ldevid_pem = forged.ToPem();
  EXPECT_FALSE(validator.Check(forged, domain_ca, swapped, SystemClock()));
  EXPECT_FALSE(validator.Check(*victim_ldevid, domain_ca, swapped, SystemClock()));

  // Refused at the door: as a trusted vendor, with a voucher, or as --vendor-ca.
  auto trust = (*owner)->TrustVendor(evil);
  ASSERT_FALSE(trust);
  EXPECT_TRUE(trust.error().Is(kdc::kVendorCaClash)) << trust.error().message();
  auto acme = voucher::Factory::Open(d.factory.string());
  ASSERT_TRUE(acme);
  // The key identifier alone is enough to be refused (a subject of a genuine vendor, Acme's).
  identity::Certificate same_ski = EvilCa(domain_ca, evil_key.get(), &acme->vendor_ca());
  ASSERT_FALSE(identity::SameSubject(same_ski, domain_ca));
  auto trust_ski = (*owner)->TrustVendor(same_ski);
  ASSERT_FALSE(trust_ski);
  EXPECT_TRUE(trust_ski.error().Is(kdc::kVendorCaClash)) << trust_ski.error().message();
  auto voucher0 = acme->Issue(d.made.things[0].serial, domain_ca, "Owner", std::chrono::hours(1),
                              SystemClock());
  ASSERT_TRUE(voucher0);
  EXPECT_FALSE((*owner)->ImportVoucher(*voucher0, evil));
  EXPECT_FALSE(fs::exists(d.ko.db_path + ".keys/vendors/" +
                          cbor::ToHex(crypto::ByteView(evil.fingerprint().data(), 32)) + ".pem"));
  ASSERT_TRUE(WriteFileAtomic((d.tmp.path() / "evil.pem").string(), evil.ToPem(), 0644));
  {
    kdc::KdcOptions with_evil = d.ko;
    with_evil.vendor_ca_files.push_back((d.tmp.path() / "evil.pem").string());
    // The running KDC holds the registry's lock (one KDC per registry): the second start uses
    // the same key directory (the same domain CA) with a registry of its own.
    with_evil.keys_dir = d.ko.db_path + ".keys";
    with_evil.db_path = (d.tmp.path() / "second.db").string();
    auto refused = kdc::Kdc::Create(with_evil);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().Is(kdc::kVendorCaClash)) << refused.error().message();
  }

  // Even when it got into the store (a key directory from before this check), a running KDC
  // refuses the forgery: no reading in the victim's name, no group key, no decommissioning.
  owner->reset();
  const uint16_t port = k->kdc->dtls_port();
  k.reset();
  // The same refusals from the `secprof` binary: tests/cli/authz_forge_cli_test.cpp.
  ASSERT_TRUE(WriteFileAtomic(d.ko.db_path + ".keys/vendors/evil.pem", evil.ToPem(), 0644));
  kdc::KdcOptions again = d.ko;
  again.dtls_port = port;
  k = std::make_unique<ServedKdc>(again);
  ASSERT_TRUE(k->kdc);
  auto reg = registry::Registry::Open(d.ko.db_path);
  ASSERT_TRUE(reg);
  auto before = (*reg)->Get(victim_serial);
  ASSERT_TRUE(before);
  auto client = secprof::testing::ConnectPki(port, forged.ToPem(), PemOf(attacker_key.get()));
  if (client) {  // the handshake may already refuse it; if not, every request is refused
    auto r1 = secprof::testing::PostCbor(**client, domain::path::kReport,
                                         domain::Encode(domain::Reading{victim_serial, 1, 1}));
    EXPECT_TRUE(!r1 || r1->code == coap::kForbidden);
    auto r2 = secprof::testing::PostCbor(**client, domain::path::kGroupKey,
                                         domain::Encode(domain::GroupKeyRequest{"line-1"}));
    EXPECT_TRUE(!r2 || r2->code == coap::kForbidden);
    auto r3 = secprof::testing::PostCbor(**client, domain::path::kDecommission, {});
    EXPECT_TRUE(!r3 || r3->code == coap::kForbidden);
  }
  auto after = (*reg)->Get(victim_serial);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, registry::State::kOperational);
  EXPECT_EQ(after->state, before->state);
  EXPECT_EQ(after->updated, before->updated);
  auto ignored = (*reg)->Audit();
  ASSERT_TRUE(ignored);
  bool audited = false;
  for (const auto& e : *ignored) audited = audited || e.action == "vendor-ca-ignored";
  EXPECT_TRUE(audited);
  // The legitimate member still works with the same KDC.
  v.reset();
  v = OpenAgent(authz_testing::ThingDir(d.tmp.path(), d.made, 1));
  auto ok = v->SendReading(42);
  ASSERT_TRUE(ok) << ok.error().message();
  auto g = v->FetchGroupKey("line-1");
  ASSERT_TRUE(g) << g.error().message();
}

TEST(AuthzVoucherVendor, AnotherVendorCannotMintTheSerial) {
  Sec3Domain d;
  fs::path bolt_factory = d.tmp.path() / "bolt";
  auto bolt = secprof::testing::MakeFactory(bolt_factory, "Bolt", "Plug-2", 1);
  d.ko.vendor_ca_files.push_back((bolt_factory / "ca/ca.pem").string());
  ServedKdc k(d.ko);
  auto owner = kdc::OwnerTools::Open(d.ko.db_path);
  ASSERT_TRUE(owner);
  const std::string serial = d.made.things[0].serial;
  authz_testing::ImportVoucher(d.factory, serial, **owner, "Owner");  // Acme's voucher
  authz_testing::ImportVoucher(bolt_factory, bolt.things[0].serial, **owner, "Owner");
  auto recorded = (*owner)->registry().VoucherIssuer(serial);
  ASSERT_TRUE(recorded && *recorded);
  auto acme_ca = secprof::testing::LoadCert(d.factory / "ca/ca.pem");
  ASSERT_TRUE(acme_ca);
  EXPECT_EQ(**recorded, cbor::ToHex(crypto::ByteView(acme_ca->fingerprint().data(), 32)));

  // Bolt's CA mints an IDevID with Acme's serial and O=Acme for a key Bolt holds.
  keystore::FileKeyStoreOptions so;
  so.dir = (bolt_factory / "ca/keystore").string();
  auto bolt_store = keystore::FileKeyStore::Open(std::move(so));
  ASSERT_TRUE(bolt_store);
  auto bolt_signer = (*bolt_store)->GetSigner(manufacture::kCaKeyLabel);
  ASSERT_TRUE(bolt_signer);
  auto bolt_ca = secprof::testing::LoadCert(bolt_factory / "ca/ca.pem");
  ASSERT_TRUE(bolt_ca);
  auto dev = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  ASSERT_TRUE(dev);
  identity::IdevidRequest req{.serial_number = serial, .model = "Sensor-1", .vendor = "Acme"};
  auto minted = identity::IssueIdevid(**bolt_signer, *bolt_ca, dev->public_key(), req);
  ASSERT_TRUE(minted) << minted.error().message();
  ASSERT_TRUE(minted) << minted.error().message();
  EXPECT_EQ(minted->subject().organization, "Acme");
  auto dev_pem = dev->ToPem();
  ASSERT_TRUE(dev_pem);
  auto dev_pub = dev->public_key();

  auto client = secprof::testing::ConnectPki(k.kdc->dtls_port(), minted->ToPem(), *dev_pem);
  ASSERT_TRUE(client) << client.error().message();
  auto rv = (*client)->Get(domain::path::kVoucher);
  ASSERT_TRUE(rv);
  EXPECT_EQ(rv->code, coap::kForbidden) << secprof::testing::Text(*rv);
  EXPECT_NE(secprof::testing::Text(*rv).find("vendor CA that signed the voucher"),
            std::string::npos)
      << secprof::testing::Text(*rv);
  auto dev_signer =
      crypto::SoftwareSigner::Create(std::move(*dev), crypto::SignatureAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(dev_signer);
  auto csr = identity::CreateRequest(*dev_signer, identity::Name{.serial_number = serial});
  ASSERT_TRUE(csr);
  auto re = secprof::testing::PostCbor(**client, domain::path::kEnroll,
                                       domain::Encode(domain::EnrollRequest{csr->ToDer()}));
  ASSERT_TRUE(re);
  EXPECT_EQ(re->code, coap::kForbidden) << secprof::testing::Text(*re);
  auto row = (*owner)->registry().Get(serial);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state, registry::State::kAllowed);
  EXPECT_TRUE(row->credential_id.empty());

  // A voucher imported before the record existed (no voucher_issuers row): the KDC finds the CA
  // under which the stored voucher verifies (Acme's) and still refuses Bolt's IDevID.
  ASSERT_TRUE((*owner)->registry().ImportVoucher(serial, "Acme", "Sensor-1", row->voucher,
                                                 *row->voucher_expiry, "before-v3"));
  ASSERT_FALSE(*(*owner)->registry().VoucherIssuer(serial));
  auto again = secprof::testing::ConnectPki(k.kdc->dtls_port(), minted->ToPem(), *dev_pem);
  ASSERT_TRUE(again) << again.error().message();
  auto rv2 = (*again)->Get(domain::path::kVoucher);
  ASSERT_TRUE(rv2);
  EXPECT_EQ(rv2->code, coap::kForbidden) << secprof::testing::Text(*rv2);

  // The genuine Acme device still joins.
  auto genuine = authz_testing::NewThing(d.tmp.path(), d.factory, d.made, 0);
  ASSERT_TRUE(genuine->Install("127.0.0.1", 0, k.kdc->dtls_port()));
  auto j = genuine->Join();
  ASSERT_TRUE(j) << j.error().message();
  EXPECT_EQ(genuine->state().state, State::kCommissioned);
}

}  // namespace
}  // namespace secprof
