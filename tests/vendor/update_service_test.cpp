// The vendor's update service (secprof/vendor/update_service.h) and a SecProf_1 thing updating
// from it (Agent::CheckForUpdate without a KDC; docs/DOMAIN.md "SecProf_1: the vendor's update
// service"). Every attack is mounted over loopback against the thing as deployed, and the test
// shows what the thing runs afterwards and the alert it raised; the legitimate path beside them.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "secprof/coap/coap.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/latest_release.h"
#include "secprof/domain/protocol.h"
#include "secprof/thing/reasons.h"
#include "secprof/update/suit.h"
#include "secprof/vendor/update_service.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof {
namespace {

namespace fs = std::filesystem;
using secprof::testing::TempDir;

crypto::Bytes Image(uint8_t salt) {
  crypto::Bytes b(8 * 1024);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 13 + salt);
  return b;
}

// A SUIT envelope for `image`, sequence `seq`, naming `vendor`/`model`, signed by `signer`.
crypto::Bytes Envelope(const crypto::Bytes& image, uint64_t seq, const std::string& vendor,
                       const std::string& model, crypto::Signer& signer) {
  auto d = crypto::Sha256(image);
  EXPECT_TRUE(d);
  update::CreateParams cp;
  cp.vendor_id = domain::FirmwareVendorId(vendor);
  cp.class_id = domain::FirmwareClassId(vendor, model);
  cp.sequence_number = seq;
  auto env = update::CreateEnvelopeWithSigner(
      update::Digest{update::kAlgSha256, crypto::Bytes(d->begin(), d->end())}, image.size(), cp,
      signer);
  EXPECT_TRUE(env) << env.error().message();
  return env ? *env : crypto::Bytes{};
}

// A CoAP server on its own thread while the object lives (stopped and joined by the destructor).
template <typename S>
struct Running {
  std::unique_ptr<S> server;
  std::jthread io;
  explicit Running(std::unique_ptr<S> s) : server(std::move(s)) {
    io = std::jthread([this](std::stop_token st) { (void)server->Serve(st); });
  }
  ~Running() {
    if (!io.joinable()) return;
    io.request_stop();
    io.join();
  }
};

// The attacker's own service: whatever bytes it likes per path (a missing path answers 4.04),
// and a count of the alerts it swallowed.
struct FakeService {
  void Answer(const char* path, crypto::Bytes body) {
    std::lock_guard<std::mutex> l(mu);
    answers[path] = coap::Response{.code = coap::kContent, .payload = std::move(body)};
  }
  std::mutex mu;
  std::map<std::string, coap::Response> answers;
  std::atomic<int> alerts{0};
  std::unique_ptr<Running<coap::Server>> run;
  uint16_t port = 0;
  void Start() {
    coap::ServerConfig cfg;
    auto s = coap::Server::Create(std::move(cfg));
    ASSERT_TRUE(s) << s.error().message();
    for (const char* p : {vendor::path::kLatest, vendor::path::kManifest, vendor::path::kImage})
      (*s)->AddResource(p, coap::Method::kGet, [this, p](const coap::Request&) {
        std::lock_guard<std::mutex> l(mu);
        auto it = answers.find(p);
        return it != answers.end() ? it->second : coap::Response{.code = coap::kNotFound};
      });
    (*s)->AddResource(vendor::path::kAlert, coap::Method::kPost, [this](const coap::Request&) {
      ++alerts;
      return coap::Response{.code = coap::kChanged};
    });
    port = (*s)->udp_port();
    run = std::make_unique<Running<coap::Server>>(std::move(*s));
  }
};

class VendorUpdate : public ::testing::Test {
 protected:
  void SetUp() override {
    factory_ = testing::MakeFactory(dir_.path(), "Acme", 1);
    ASSERT_FALSE(factory_.manifest.things.empty());
    auto m = voucher::Factory::Open(factory_.dir);
    ASSERT_TRUE(m) << m.error().message();
    maker_.emplace(std::move(*m));
    model_ = maker_->model();
    releases_ = (dir_.path() / "releases").string();
    fs::create_directories(releases_);
    thing_ = testing::NewAgent(dir_.path(), factory_, 0, domain::Profile::kSecProf1);
    ASSERT_TRUE(thing_);
    ASSERT_TRUE(thing_->BecomeMother());
    ASSERT_TRUE(thing_->GoOperational());
  }

  // The genuine vendor's service over releases_ (`clock`: its statements' time).
  void StartGenuine(const Clock* clock = nullptr) {
    vendor::ServiceOptions o;
    o.publish_dir = releases_;
    o.vendor = "Acme";
    o.models = {model_};
    o.signer = &maker_->signer();
    o.clock = clock;
    auto s = vendor::UpdateService::Start(std::move(o));
    ASSERT_TRUE(s) << s.error().message();
    genuine_ = std::make_unique<Running<vendor::UpdateService>>(std::move(*s));
  }
  uint16_t genuine_port() const { return genuine_->server->port(); }

  // The vendor publishes release `seq` (image salted by seq).
  void Publish(uint64_t seq) {
    const crypto::Bytes img = Image(static_cast<uint8_t>(seq));
    ASSERT_TRUE(vendor::Publish(releases_, "r" + std::to_string(seq),
                                Envelope(img, seq, "Acme", model_, maker_->signer()), img));
  }

  // GET `path` with `query` from the genuine service: what an on-path attacker records.
  crypto::Bytes Record(const char* path, const std::string& query) {
    auto c = coap::Client::Connect("127.0.0.1", genuine_port(), {});
    EXPECT_TRUE(c);
    if (!c) return {};
    auto r = (*c)->Get(path, query);
    EXPECT_TRUE(r && r->code == coap::kContent);
    return r ? r->payload : crypto::Bytes{};
  }
  crypto::Bytes klass() const { return domain::FirmwareClassId("Acme", model_); }

  thing::Agent::UpdateOutcome Check() {
    auto u = thing_->CheckForUpdate();
    EXPECT_TRUE(u) << u.error().message();
    return u ? *u : thing::Agent::UpdateOutcome{};
  }

  TempDir dir_;
  testing::Factory factory_;
  std::optional<voucher::Factory> maker_;
  std::string model_, releases_;
  std::unique_ptr<thing::Agent> thing_;
  std::unique_ptr<Running<vendor::UpdateService>> genuine_;
};

// --- the legitimate path ---------------------------------------------------------------------

TEST_F(VendorUpdate, ThingInstallsTheFixTheVendorPublished) {
  StartGenuine();
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", genuine_port()));
  auto none = Check();  // nothing published yet: a statement of sequence 0, no alert
  EXPECT_FALSE(none.offered);
  EXPECT_EQ(none.alert, "");
  Publish(2);  // while the service runs: served from the next request on
  auto u = Check();
  EXPECT_TRUE(u.offered);
  EXPECT_TRUE(u.installed) << u.detail;
  EXPECT_EQ(u.alert, "");
  EXPECT_EQ(thing_->RunningFirmware(), 2u);
  EXPECT_EQ(thing_->state().state, thing::State::kOperational);
  auto again = Check();  // up to date: nothing to fetch, nothing to alert
  EXPECT_FALSE(again.offered);
  EXPECT_EQ(again.alert, "");
  const auto st = genuine_->server->stats();
  EXPECT_EQ(st.images, 1u);
  EXPECT_EQ(st.statements, 3u);
  EXPECT_TRUE(st.alerts.empty());
}

TEST_F(VendorUpdate, TheAddressSurvivesAReopenAndCheckingWithoutOneIsRefused) {
  auto u = thing_->CheckForUpdate();
  ASSERT_FALSE(u);
  EXPECT_TRUE(u.error().Is(thing::kNoUpdateServer)) << u.error().message();
  EXPECT_FALSE(thing_->SetUpdateServer("", 5683));
  EXPECT_FALSE(thing_->SetUpdateServer("127.0.0.1", 0));
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", 5999));
  const std::string state_dir = testing::StateDir(dir_.path(), factory_, 0);
  thing_.reset();
  thing_ = testing::OpenAgent(state_dir);
  ASSERT_TRUE(thing_);
  EXPECT_EQ(thing_->state().update_host, "127.0.0.1");
  EXPECT_EQ(thing_->state().update_port, 5999);
}

TEST_F(VendorUpdate, ServiceServesOnlyWhatTheVendorSigned) {
  // A forger's key (another factory, also calling itself Acme) and an image that does not match.
  auto forger_dir = dir_.path() / "forger";
  testing::MakeFactory(forger_dir.string(), "Acme", model_, 1);
  auto forger = voucher::Factory::Open(forger_dir.string());
  ASSERT_TRUE(forger);
  const crypto::Bytes img = Image(5);
  ASSERT_TRUE(vendor::Publish(releases_, "forged",
                              Envelope(img, 5, "Acme", model_, forger->signer()), img));
  ASSERT_TRUE(vendor::Publish(releases_, "mismatch",
                              Envelope(img, 6, "Acme", model_, maker_->signer()), Image(7)));
  Publish(2);
  auto scan = vendor::ScanPublished(releases_, "Acme", {model_}, maker_->signer().public_key());
  ASSERT_TRUE(scan) << scan.error().message();
  ASSERT_EQ(scan->releases.size(), 1u);
  EXPECT_EQ(scan->releases[0].sequence, 2u);
  EXPECT_EQ(scan->problems.size(), 2u);
  EXPECT_FALSE(vendor::ScanPublished((dir_.path() / "none").string(), "Acme", {model_},
                                     maker_->signer().public_key()));
}

// --- attacks ---------------------------------------------------------------------------------

// A fake update service (a forger's key, the same vendor name and model, a "release" 9): its
// statement does not verify with the thing's vendor trust anchor, so nothing is fetched.
TEST_F(VendorUpdate, FakeServiceIsRefusedAndAlerted) {
  auto forger_dir = dir_.path() / "forger";
  testing::MakeFactory(forger_dir.string(), "Acme", model_, 1);
  auto forger = voucher::Factory::Open(forger_dir.string());
  ASSERT_TRUE(forger);
  const std::string fake_releases = (dir_.path() / "fake-releases").string();
  fs::create_directories(fake_releases);
  const crypto::Bytes img = Image(9);
  ASSERT_TRUE(vendor::Publish(fake_releases, "evil",
                              Envelope(img, 9, "Acme", model_, forger->signer()), img));
  vendor::ServiceOptions o;
  o.publish_dir = fake_releases;
  o.vendor = "Acme";
  o.models = {model_};
  o.signer = &forger->signer();
  auto s = vendor::UpdateService::Start(std::move(o));
  ASSERT_TRUE(s) << s.error().message();
  Running<vendor::UpdateService> fake(std::move(*s));
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", fake.server->port()));
  auto u = Check();
  EXPECT_FALSE(u.offered);
  EXPECT_EQ(u.alert.rfind("bad-latest-statement: statement refused", 0), 0u) << u.alert;
  EXPECT_EQ(thing_->RunningFirmware(), 1u);
  EXPECT_EQ(fake.server->stats().images, 0u);
}

// An on-path attacker relays the vendor's genuine statement (release 2 exists) but serves its own
// envelope and image for it: the installer refuses the signature, the thing stays and alerts.
TEST_F(VendorUpdate, ForgedEnvelopeUnderAGenuineStatementIsRefused) {
  StartGenuine();
  Publish(2);
  auto forger_dir = dir_.path() / "forger";
  testing::MakeFactory(forger_dir.string(), "Acme", model_, 1);
  auto forger = voucher::Factory::Open(forger_dir.string());
  ASSERT_TRUE(forger);
  FakeService on_path;
  const crypto::Bytes evil = Image(0xee);
  on_path.Answer(vendor::path::kLatest,
                 Record(vendor::path::kLatest, vendor::LatestQuery(klass())));
  on_path.Answer(vendor::path::kManifest, Envelope(evil, 2, "Acme", model_, forger->signer()));
  on_path.Answer(vendor::path::kImage, evil);
  on_path.Start();
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", on_path.port));
  auto u = Check();
  EXPECT_TRUE(u.offered);
  EXPECT_FALSE(u.installed);
  EXPECT_NE(u.detail.find("forged signature"), std::string::npos) << u.detail;
  EXPECT_EQ(u.alert.rfind("update-refused: ", 0), 0u) << u.alert;
  EXPECT_EQ(thing_->RunningFirmware(), 1u);
  EXPECT_EQ(thing_->state().state, thing::State::kOperational);
  EXPECT_EQ(on_path.alerts.load(), 1);  // the alert was posted (and swallowed)
}

// Rollback: the vendor published 2, then 3, which the thing runs; then 4. An attacker serves the
// genuine statement of 4 with the genuine, older release 2 it recorded; then replays the
// statement recorded when 2 was the latest. Both are refused, the thing stays on 3 and alerts.
TEST_F(VendorUpdate, RollbackAndAReplayedOlderStatementAreRefused) {
  StartGenuine();
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", genuine_port()));
  Publish(2);
  const crypto::Bytes statement2 = Record(vendor::path::kLatest, vendor::LatestQuery(klass()));
  const crypto::Bytes env2 = Record(vendor::path::kManifest, vendor::ReleaseQuery(klass(), 2));
  const crypto::Bytes img2 = Record(vendor::path::kImage, vendor::ReleaseQuery(klass(), 2));
  Publish(3);
  ASSERT_TRUE(Check().installed);
  ASSERT_EQ(thing_->RunningFirmware(), 3u);
  Publish(4);
  FakeService attacker;
  attacker.Answer(vendor::path::kLatest,
                  Record(vendor::path::kLatest, vendor::LatestQuery(klass())));
  attacker.Answer(vendor::path::kManifest, env2);
  attacker.Answer(vendor::path::kImage, img2);
  attacker.Start();
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", attacker.port));
  auto old = Check();
  EXPECT_FALSE(old.installed);
  EXPECT_EQ(old.detail.rfind("rollback: sequence 2 is below the installed 3", 0), 0u) << old.detail;
  EXPECT_EQ(old.alert.rfind("update-refused: ", 0), 0u) << old.alert;
  EXPECT_EQ(thing_->RunningFirmware(), 3u);
  // The statement of 2, recorded earlier and still within its lifetime, after 4 was seen.
  attacker.Answer(vendor::path::kLatest, statement2);
  auto replay = Check();
  EXPECT_FALSE(replay.offered);
  EXPECT_NE(replay.alert.find("went back from sequence 4 to 2"), std::string::npos) << replay.alert;
  EXPECT_EQ(thing_->RunningFirmware(), 3u);
}

// Freeze: the statement withheld (4.04), the release it names withheld, or a stale statement.
TEST_F(VendorUpdate, WithheldOrStaleStatementsAndWithheldReleasesRaiseAlerts) {
  StartGenuine();
  Publish(2);
  FakeService blocker;
  blocker.Start();  // answers 4.04 to everything
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", blocker.port));
  auto none = Check();
  EXPECT_EQ(none.alert.rfind("bad-latest-statement: the update service answered 4.04", 0), 0u)
      << none.alert;
  blocker.Answer(vendor::path::kLatest,
                 Record(vendor::path::kLatest, vendor::LatestQuery(klass())));
  auto withheld = Check();
  EXPECT_TRUE(withheld.offered);
  EXPECT_FALSE(withheld.installed);
  EXPECT_EQ(withheld.alert.rfind("update-withheld: ", 0), 0u) << withheld.alert;
  EXPECT_EQ(thing_->RunningFirmware(), 1u);
  EXPECT_EQ(blocker.alerts.load(), 2);

  // A statement two days old (the service's clock behind): expired, refused.
  FakeClock past(std::chrono::system_clock::now() - std::chrono::hours(48));
  genuine_.reset();
  StartGenuine(&past);
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", genuine_port()));
  auto stale = Check();
  EXPECT_FALSE(stale.offered);
  EXPECT_EQ(stale.alert.rfind("bad-latest-statement: stale statement", 0), 0u) << stale.alert;
  EXPECT_EQ(thing_->RunningFirmware(), 1u);
  EXPECT_EQ(genuine_->server->stats().alerts.size(), 1u);
}

// Unattended: a serving SecProf_1 thing with its update poll installs a release published while
// it serves (lab.vulnerable_fw measures the same in the lab).
TEST_F(VendorUpdate, ServingThingPollsTheServiceAndInstallsUnattended) {
  StartGenuine();
  ASSERT_TRUE(thing_->SetUpdateServer("127.0.0.1", genuine_port()));
  thing::ThingServerOptions so;
  so.update_poll = std::chrono::milliseconds(50);
  auto server = thing::ThingServer::Start(*thing_, so);
  ASSERT_TRUE(server) << server.error().message();
  Running<thing::ThingServer> serving(std::move(*server));
  Publish(2);
  for (int i = 0; i < 400 && serving.server->update_polls().installed == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  const auto polls = serving.server->update_polls();
  serving.io.request_stop();
  serving.io.join();
  EXPECT_EQ(polls.installed, 1u) << polls.last;
  EXPECT_EQ(thing_->RunningFirmware(), 2u);
}

}  // namespace
}  // namespace secprof
