// Maintenance over the domain (issue 5): the KDC's firmware store, staged campaigns, incidents,
// and things fetching (block-wise) and installing signed updates into their A/B slots.
#include <gtest/gtest.h>

#include <thread>

#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"
#include "secprof/update/suit.h"
#include "testutil.h"

namespace secprof {
namespace {

using domain::Profile;
using testing::TempDir;

struct Domain {
  TempDir tmp;
  std::string factory;
  manufacture::Manifest manifest;
  std::unique_ptr<kdc::Kdc> kdc;
  std::jthread io;
  std::unique_ptr<kdc::OwnerTools> owner;
  std::vector<std::unique_ptr<thing::Agent>> things;

  explicit Domain(int count) {
    manufacture::Options o;
    o.vendor = "Acme";
    o.model = "Valve";
    o.count = count;
    o.out_dir = (tmp.path() / "factory").string();
    auto made = manufacture::Manufacture(o);
    EXPECT_TRUE(made);
    factory = o.out_dir;
    manifest = made->manifest;
    kdc::KdcOptions ko;
    ko.profile = Profile::kSecProf2;
    ko.db_path = (tmp.path() / "kdc.db").string();
    auto k = kdc::Kdc::Create(ko);
    EXPECT_TRUE(k) << k.error().message();
    kdc = std::move(*k);
    io = std::jthread([this](std::stop_token st) { (void)kdc->Serve(st); });
    auto ow = kdc::OwnerTools::Open(ko.db_path, "", SystemClock());
    EXPECT_TRUE(ow) << ow.error().message();
    owner = std::move(*ow);
    auto ca = identity::Certificate::FromPem(*ReadFile(factory + "/ca/ca.pem"));
    EXPECT_TRUE(ca);
    EXPECT_TRUE(owner->TrustVendor(*ca));
    for (const auto& t : manifest.things) {
      EXPECT_TRUE(owner->AllowSetupCode(t.serial, "Acme", "Valve", t.setup_code));
      thing::InitOptions in{(tmp.path() / t.serial).string(), factory, t.serial,
                            Profile::kSecProf2};
      EXPECT_TRUE(thing::Agent::Init(in));
      thing::AgentOptions ao;
      ao.state_dir = in.state_dir;
      auto a = thing::Agent::Open(ao);
      EXPECT_TRUE(a) << a.error().message();
      EXPECT_TRUE((*a)->Install("127.0.0.1", kdc->udp_port(), kdc->dtls_port()));
      EXPECT_TRUE((*a)->Join());
      EXPECT_TRUE((*a)->GoOperational());
      things.push_back(std::move(*a));
    }
  }
  ~Domain() {
    io.request_stop();
    io.join();
  }

  // The vendor's signing key: the factory's CA key (the things' trust anchor).
  cose::Key VendorKey() {
    keystore::FileKeyStoreOptions so;
    so.dir = factory + "/ca/keystore";
    auto store = keystore::FileKeyStore::Open(std::move(so));
    EXPECT_TRUE(store);
    auto der = (*store)->ExportPrivate(manufacture::kCaKeyLabel);
    EXPECT_TRUE(der);
    auto sk = crypto::PrivateKey::FromDer(crypto::ByteView(der->data(), der->size()));
    EXPECT_TRUE(sk);
    auto k = cose::KeyFromPrivate(std::move(*sk));
    EXPECT_TRUE(k);
    return *k;
  }

  // Signs an image of `size` bytes as sequence `seq`; returns (envelope, image path).
  std::pair<crypto::Bytes, std::string> Release(uint64_t seq, size_t size, const cose::Key& key,
                                                const std::string& model = "Valve") {
    crypto::Bytes image(size);
    for (size_t i = 0; i < size; ++i) image[i] = static_cast<uint8_t>(i * 31 + seq);
    std::string path = (tmp.path() / ("image-" + std::to_string(seq) + ".bin")).string();
    EXPECT_TRUE(WriteFileAtomic(path, std::string(image.begin(), image.end())));
    update::CreateParams p;
    p.vendor_id = domain::FirmwareVendorId("Acme");
    p.class_id = domain::FirmwareClassId("Acme", model);
    p.sequence_number = seq;
    auto env = update::CreateEnvelope(image, p, key);
    EXPECT_TRUE(env) << env.error().message();
    return {*env, path};
  }
};

TEST(Maintenance, StagedCampaignUpdatesEveryThingBlockwise) {
  Domain d(4);
  for (const auto& t : d.things) EXPECT_EQ(t->RunningFirmware(), 1u);
  // 200 KiB: far beyond one CoAP message, so the image travels block-wise (RFC 7959).
  auto [env, path] = d.Release(2, 200 * 1024, d.VendorKey());
  auto fw = d.owner->AddFirmware(env, path, "Valve");
  ASSERT_TRUE(fw) << fw.error().message();
  auto c = d.owner->StartCampaign(*fw, {}, 2, 0.5);
  ASSERT_TRUE(c) << c.error().message();
  // Stage 1: only the first two are offered.
  auto o3 = d.things[3]->CheckForUpdate();
  ASSERT_TRUE(o3);
  EXPECT_FALSE(o3->offered);
  for (int i = 0; i < 2; ++i) {
    auto r = d.things[i]->CheckForUpdate();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->installed) << r->detail;
    EXPECT_EQ(r->bytes_fetched, env.size() + 200 * 1024);
  }
  // Stage 2 released after the first reported.
  for (int i = 2; i < 4; ++i) {
    auto r = d.things[i]->CheckForUpdate();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->installed) << r->detail;
  }
  for (const auto& t : d.things) {
    EXPECT_EQ(t->RunningFirmware(), 2u);
    EXPECT_EQ(t->FirmwareState().floor, 2u);
    EXPECT_EQ(t->state().state, thing::State::kOperational);
  }
  auto camp = d.owner->registry().GetCampaign(*c);
  ASSERT_TRUE(camp);
  EXPECT_EQ(camp->state, registry::CampaignState::kCompleted);
  // Nothing more is offered, and the audit chain holds every step.
  auto again = d.things[0]->CheckForUpdate();
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->offered);
  EXPECT_TRUE(d.owner->registry().VerifyAuditChain());
}

TEST(Maintenance, ForgedOrMisdirectedFirmwareIsRefusedByTheStore) {
  Domain d(1);
  auto other = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  ASSERT_TRUE(other);
  auto forged_key = cose::KeyFromPrivate(std::move(*other));
  ASSERT_TRUE(forged_key);
  auto [env, path] = d.Release(2, 1000, *forged_key);
  auto fw = d.owner->AddFirmware(env, path, "Valve");
  ASSERT_FALSE(fw);
  EXPECT_EQ(fw.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_TRUE(fw.error().Is(kdc::kFirmwareSignature)) << fw.error().reason();
  // Another model's class-id.
  auto [env2, path2] = d.Release(3, 1000, d.VendorKey(), "Pump");
  auto fw2 = d.owner->AddFirmware(env2, path2, "Valve");
  ASSERT_FALSE(fw2);
  EXPECT_TRUE(fw2.error().Is(kdc::kFirmwareClass)) << fw2.error().reason();
  // A tampered image file.
  auto [env3, path3] = d.Release(4, 1000, d.VendorKey());
  std::string bytes = *ReadFile(path3);
  bytes[10] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(path3, bytes));
  auto fw3 = d.owner->AddFirmware(env3, path3, "Valve");
  ASSERT_FALSE(fw3);
  EXPECT_TRUE(fw3.error().Is(kdc::kFirmwareImage)) << fw3.error().reason();
  auto store = d.owner->registry().ListFirmware();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->empty());
}

TEST(Maintenance, FailuresHaltTheCampaignAndThingsStayOnTheirImage) {
  Domain d(4);
  auto [env, path] = d.Release(5, 5000, d.VendorKey());
  auto fw = d.owner->AddFirmware(env, path, "Valve");
  ASSERT_TRUE(fw);
  auto c = d.owner->StartCampaign(*fw, {}, 2, 0.2);
  ASSERT_TRUE(c);
  // The test boot fails on the first thing: it reverts and reports.
  auto broken = [](const std::string&) -> Status {
    return Fail(ErrorCode::kVerifyFailed, "self-test failed");
  };
  auto r0 = d.things[0]->CheckForUpdate(broken);
  ASSERT_TRUE(r0) << r0.error().message();
  EXPECT_TRUE(r0->offered);
  EXPECT_FALSE(r0->installed);
  EXPECT_EQ(d.things[0]->RunningFirmware(), 1u);
  auto r1 = d.things[1]->CheckForUpdate();
  ASSERT_TRUE(r1);
  EXPECT_TRUE(r1->installed);
  auto camp = d.owner->registry().GetCampaign(*c);
  ASSERT_TRUE(camp);
  EXPECT_EQ(camp->state, registry::CampaignState::kHalted) << camp->reason;
  // The halted campaign offers nothing to the rest.
  auto r3 = d.things[3]->CheckForUpdate();
  ASSERT_TRUE(r3);
  EXPECT_FALSE(r3->offered);
  EXPECT_EQ(d.things[3]->RunningFirmware(), 1u);
}

TEST(Maintenance, RollbackIsRefusedByTheThingAndReported) {
  Domain d(1);
  auto [env5, path5] = d.Release(5, 3000, d.VendorKey());
  auto fw5 = d.owner->AddFirmware(env5, path5, "Valve");
  ASSERT_TRUE(fw5);
  ASSERT_TRUE(d.owner->StartCampaign(*fw5, {}, 1, 0.5));
  auto up = d.things[0]->CheckForUpdate();
  ASSERT_TRUE(up && up->installed);
  // An older, genuinely signed release offered again: the thing refuses it (sequence floor).
  auto [env3, path3] = d.Release(3, 3000, d.VendorKey());
  auto fw3 = d.owner->AddFirmware(env3, path3, "Valve");
  ASSERT_TRUE(fw3);
  auto c = d.owner->StartCampaign(*fw3, {}, 1, 0.5);
  ASSERT_TRUE(c);
  auto down = d.things[0]->CheckForUpdate();
  ASSERT_TRUE(down);
  EXPECT_TRUE(down->offered);
  EXPECT_FALSE(down->installed);
  EXPECT_NE(down->detail.find("rollback"), std::string::npos) << down->detail;
  EXPECT_EQ(d.things[0]->RunningFirmware(), 5u);
  auto targets = d.owner->registry().CampaignTargets(*c);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_EQ((*targets)[0].status, registry::TargetStatus::kFailed);
}

TEST(Maintenance, IncidentFindsAffectedThingsAndStartsTheFix) {
  Domain d(3);
  // Things report their running version when they ask for offers.
  for (auto& t : d.things) ASSERT_TRUE(t->CheckForUpdate());
  auto [env, path] = d.Release(7, 2048, d.VendorKey());
  auto fw = d.owner->AddFirmware(env, path, "Valve");
  ASSERT_TRUE(fw);
  registry::Incident in;
  in.vendor = "Acme";
  in.model = "Valve";
  in.min_sequence = 1;
  in.max_sequence = 6;
  in.severity = "high";
  in.description = "CVE-0000-0001: stack overflow in the CoAP option parser";
  auto out = d.owner->ReportIncident(in, 3, 0.2);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(out->affected.size(), 3u);
  ASSERT_NE(out->campaign_id, 0);
  for (auto& t : d.things) {
    auto r = t->CheckForUpdate();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->installed) << r->detail;
  }
  auto none = d.owner->ReportIncident(in, 3, 0.2);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->affected.empty());  // everyone runs 7 now
}

// Uptane's "endless data" attack (lab scenario lab.fw_endless_data): a compromised repository
// serves, behind a genuine envelope for a 16 KiB image, 512 KiB. The thing verifies the envelope
// first and bounds its fetch by the manifest's image-size: the transfer is cut off there, the
// update refused (update::kImageTooLong) and reported, the slots and the floor untouched. The
// thing's next update, genuine, installs over a fresh session.
TEST(Maintenance, AnImageLongerThanItsManifestIsCutOffAtTheManifestsSize) {
  Domain d(1);
  thing::Agent& t = *d.things[0];
  auto [env, path] = d.Release(2, 16 * 1024, d.VendorKey());
  auto fw = d.owner->AddFirmware(env, path, "Valve");
  ASSERT_TRUE(fw) << fw.error().message();
  auto store = d.owner->registry().ListFirmware();
  ASSERT_TRUE(store);
  ASSERT_EQ(store->size(), 1u);
  const std::string stored = store->front().image_path;
  auto genuine = ReadFile(stored);
  ASSERT_TRUE(genuine);
  ASSERT_TRUE(WriteFileAtomic(stored, *genuine + std::string(496 * 1024, 'x')));  // 512 KiB
  ASSERT_TRUE(d.owner->StartCampaign(*fw, {}, 1, 1.0));

  const std::string fw_dir = (d.tmp.path() / t.state().serial / "firmware").string();
  const std::string inactive = fw_dir + "/slot-b.img";
  auto inactive_before = ReadFile(inactive);  // absent on a fresh thing
  const update::SlotState before = t.FirmwareState();

  auto r = t.CheckForUpdate();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->offered);
  EXPECT_FALSE(r->installed);
  EXPECT_EQ(r->detail.rfind("image too long: ", 0), 0u) << r->detail;
  EXPECT_NE(r->detail.find("image-size of 16384 bytes"), std::string::npos) << r->detail;
  EXPECT_EQ(r->bytes_fetched, env.size());  // no image was taken
  // Nothing written: same slots, floor, no pending install, no download left behind.
  EXPECT_EQ(t.RunningFirmware(), 1u);
  EXPECT_EQ(t.FirmwareState().floor, before.floor);
  EXPECT_EQ(t.FirmwareState().active, before.active);
  EXPECT_FALSE(t.FirmwareState().pending.has_value());
  auto inactive_after = ReadFile(inactive);
  EXPECT_EQ(inactive_after.has_value(), inactive_before.has_value());
  if (inactive_after && inactive_before) {
    EXPECT_EQ(*inactive_after, *inactive_before);
  }
  EXPECT_FALSE(std::filesystem::exists(d.tmp.path() / t.state().serial / "download.img"));
  EXPECT_EQ(t.state().state, thing::State::kOperational);
  // The KDC holds the thing's refusal as its report on the campaign.
  auto camps = d.owner->registry().ListCampaigns();
  ASSERT_TRUE(camps);
  ASSERT_EQ(camps->size(), 1u);
  auto targets = d.owner->registry().CampaignTargets(camps->front().id);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_EQ(targets->front().status, registry::TargetStatus::kFailed);
  EXPECT_EQ(targets->front().detail.rfind("image too long: ", 0), 0u) << targets->front().detail;

  // The legitimate path afterwards: a genuine release installs over a fresh session.
  auto [env3, path3] = d.Release(3, 16 * 1024, d.VendorKey());
  auto fw3 = d.owner->AddFirmware(env3, path3, "Valve");
  ASSERT_TRUE(fw3) << fw3.error().message();
  ASSERT_TRUE(d.owner->StartCampaign(*fw3, {}, 1, 1.0));
  auto ok = t.CheckForUpdate();
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_TRUE(ok->installed) << ok->detail;
  EXPECT_EQ(ok->bytes_fetched, env3.size() + 16 * 1024);
  EXPECT_EQ(t.RunningFirmware(), 3u);
}

// Thing-initiated polling (ThingServerOptions::update_poll; threat T10, lab scenario
// lab.vulnerable_fw): a thing that serves finds and installs a campaign's update by itself, through
// the same crash-safe path, and the poll stops with the server.
TEST(Maintenance, AServingThingPollsAndInstallsAnOfferedUpdateUnattended) {
  Domain d(1);
  thing::Agent& t = *d.things[0];
  const std::string serial = t.state().serial;
  thing::ThingServerOptions so;
  so.update_poll = std::chrono::milliseconds(100);
  auto srv = thing::ThingServer::Start(t, so);
  ASSERT_TRUE(srv) << srv.error().message();
  thing::ThingServer& server = **srv;
  std::jthread io([&server](std::stop_token st) { (void)server.Serve(st); });
  // The release comes after the thing started serving: only its own poll can find it.
  auto [env, path] = d.Release(2, 40 * 1024, d.VendorKey());
  auto fw = d.owner->AddFirmware(env, path, "Valve");
  ASSERT_TRUE(fw) << fw.error().message();
  auto c = d.owner->StartCampaign(*fw, {}, 1, 0.5);
  ASSERT_TRUE(c) << c.error().message();
  // Wait (a liveness bound, not a timing claim) for the thing's own report in the registry.
  registry::TargetStatus status = registry::TargetStatus::kOffered;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (status != registry::TargetStatus::kInstalled &&
         std::chrono::steady_clock::now() < give_up) {
    auto targets = d.owner->registry().CampaignTargets(*c);
    ASSERT_TRUE(targets);
    ASSERT_EQ(targets->size(), 1u);
    status = targets->front().status;
    if (status == registry::TargetStatus::kFailed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, registry::TargetStatus::kInstalled);
  io.request_stop();
  io.join();  // the poll stops with the server; the agent is ours again
  const thing::UpdatePollStats u = server.update_polls();
  EXPECT_GE(u.checks, 1u);
  EXPECT_EQ(u.installed, 1u) << u.last;
  EXPECT_EQ(u.running, 2u);
  EXPECT_EQ(t.RunningFirmware(), 2u);
  EXPECT_EQ(t.FirmwareState().floor, 2u);
  EXPECT_EQ(t.state().state, thing::State::kOperational);
  auto audit = d.owner->registry().Audit(serial);
  ASSERT_TRUE(audit);
  size_t installed = 0;
  for (const auto& e : *audit) installed += e.action == "fw-installed";
  EXPECT_EQ(installed, 1u);
  // Nothing more is offered; the agent works on after the server stopped.
  auto again = t.CheckForUpdate();
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_FALSE(again->offered);
}

// Uptane's "freeze" (lab scenario lab.fw_freeze): the KDC's "nothing offered" carries its signed,
// dated latest-release statement (domain/latest_release.h). Nothing released: no alert. A campaign
// halted before the thing installed it: the thing raises "update-withheld", which the KDC audits.
// A statement lower than one seen before, or stale by the thing's clock, is refused with an alert.
TEST(Maintenance, AWithheldUpdateRaisesAnAlertTheKdcAudits) {
  Domain d(1);
  const std::string serial = d.things[0]->state().serial;
  const std::string state_dir = (d.tmp.path() / serial).string();
  auto none = d.things[0]->CheckForUpdate();
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_FALSE(none->offered);
  EXPECT_TRUE(none->alert.empty()) << none->alert;
  // The owner releases sequence 2 to the thing; the campaign is halted before the thing checks.
  auto [env, path] = d.Release(2, 4096, d.VendorKey());
  auto fw = d.owner->AddFirmware(env, path, "Valve");
  ASSERT_TRUE(fw) << fw.error().message();
  auto c = d.owner->StartCampaign(*fw, {}, 1, 0.5);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_TRUE(d.owner->registry().HaltCampaign(*c, "maintenance window", "attacker"));
  auto frozen = d.things[0]->CheckForUpdate();
  ASSERT_TRUE(frozen) << frozen.error().message();
  EXPECT_FALSE(frozen->offered);
  EXPECT_EQ(frozen->alert.rfind("update-withheld: ", 0), 0u) << frozen->alert;
  EXPECT_NE(frozen->alert.find("sequence 2, this thing runs 1"), std::string::npos)
      << frozen->alert;
  auto count = [&](const std::string& action) {
    auto audit = d.owner->registry().Audit(serial);
    EXPECT_TRUE(audit);
    size_t n = 0;
    for (const auto& e : *audit) n += e.action == action;
    return n;
  };
  EXPECT_EQ(count("alert:update-withheld"), 1u);
  // The highest sequence seen, kept with the domain membership (the SecProf_2 PSK identity).
  const std::string seen = *ReadFile(state_dir + "/firmware-latest");
  const std::string membership = seen.substr(0, seen.rfind(' '));
  EXPECT_EQ(seen, d.things[0]->state().psk_identity + "/ 2");
  // A statement below the highest seen (as a replayed older one would be): refused, alert.
  ASSERT_TRUE(WriteFileAtomic(state_dir + "/firmware-latest", membership + " 9"));
  auto lower = d.things[0]->CheckForUpdate();
  ASSERT_TRUE(lower) << lower.error().message();
  EXPECT_EQ(lower->alert.rfind("bad-latest-statement: the latest release went back", 0), 0u)
      << lower->alert;
  // Seen in another domain membership (before a factory reset): not held against this one.
  ASSERT_TRUE(WriteFileAtomic(state_dir + "/firmware-latest", "old-identity/ 9"));
  auto other = d.things[0]->CheckForUpdate();
  ASSERT_TRUE(other) << other.error().message();
  EXPECT_EQ(other->alert.rfind("update-withheld: ", 0), 0u) << other->alert;
  // Stale by the thing's clock (two days ahead of the KDC's): refused, alert.
  d.things[0].reset();
  FakeClock ahead(std::chrono::system_clock::now() + std::chrono::hours(48));
  thing::AgentOptions ao;
  ao.state_dir = state_dir;
  ao.clock = &ahead;
  auto late = thing::Agent::Open(ao);
  ASSERT_TRUE(late) << late.error().message();
  auto stale = (*late)->CheckForUpdate();
  ASSERT_TRUE(stale) << stale.error().message();
  EXPECT_EQ(stale->alert.rfind("bad-latest-statement: stale statement", 0), 0u) << stale->alert;
  EXPECT_EQ(count("alert:bad-latest-statement"), 2u);
  EXPECT_EQ(count("alert:update-withheld"), 2u);
  EXPECT_EQ((*late)->RunningFirmware(), 1u);
}

}  // namespace
}  // namespace secprof
