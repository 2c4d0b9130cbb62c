// Issue 9 item 6: clones and replays detected in seconds. The attack: a byte copy of a SecProf_2
// thing's state directory (what `cp -a` of a stolen device's flash gives) reporting beside the
// genuine thing, and a second session on one credential from another endpoint. The KDC must audit
// `alert:clone-suspected` once, quarantine the credential (by policy) so that every further request
// of it is refused, keep the quarantine across a restart, and not raise an alarm for a genuine
// thing that restarts and reconnects from new ports. Detection latency and false alarms are printed
// (docs/PERFORMANCE.md); no timing is asserted.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "../../src/kdc/clone_guard.h"
#include "secprof/coap/coap.h"
#include "secprof/domain/protocol.h"
#include "secprof/thing/testing.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using secprof::testing::TempDir;
using testing::JoinedSecProf2;
using testing::OpenAgent;
using testing::ServedKdc;
using testing::StateDir;

// ---- the detector alone, on a FakeClock
// ----------------------------------------------------------

TEST(CloneDetector, InterleavedEndpointsWithinTheWindowAreConcurrentUse) {
  FakeClock c;
  kdc::CloneDetector d(c, 10s, 300s);
  EXPECT_FALSE(d.OnRequest("s1", "127.0.0.1:1000"));
  c.Advance(2s);
  EXPECT_FALSE(d.OnRequest("s1", "127.0.0.1:2000"));  // B: could be a reconnect
  c.Advance(2s);
  EXPECT_TRUE(d.OnRequest("s1", "127.0.0.1:1000"));  // A again: two live sessions
  // Another thing's requests are its own.
  EXPECT_FALSE(d.OnRequest("s2", "127.0.0.1:2000"));
}

TEST(CloneDetector, ReconnectsFromNewEndpointsAreNotConcurrentUse) {
  FakeClock c;
  kdc::CloneDetector d(c, 10s, 300s);
  // A new port per connection (a thing that restarts, or renews its session), many times.
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(d.OnRequest("s1", "127.0.0.1:" + std::to_string(3000 + i)));
    EXPECT_FALSE(d.OnRequest("s1", "127.0.0.1:" + std::to_string(3000 + i)));
    c.Advance(1s);
  }
  // A, then B for good.
  EXPECT_FALSE(d.OnRequest("s2", "10.0.0.1:5000"));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(d.OnRequest("s2", "10.0.0.2:5000"));
  // A, a pause longer than the window, B, then A again long after B: not concurrent.
  EXPECT_FALSE(d.OnRequest("s3", "A"));
  c.Advance(30s);
  EXPECT_FALSE(d.OnRequest("s3", "B"));
  c.Advance(30s);
  EXPECT_FALSE(d.OnRequest("s3", "A"));
}

TEST(CloneDetector, OneAlertPerIncident) {
  FakeClock c;
  kdc::CloneDetector d(c, 10s, 300s);
  EXPECT_TRUE(d.Signal("s1"));
  c.Advance(100s);
  EXPECT_FALSE(d.Signal("s1"));  // the same incident goes on
  c.Advance(250s);
  EXPECT_FALSE(d.Signal("s1"));  // still within 300 s of the last signal
  c.Advance(301s);
  EXPECT_TRUE(d.Signal("s1"));  // quiet for longer than 300 s: a new incident
  EXPECT_TRUE(d.Signal("s2"));
}

// ---- against a running KDC ---------------------------------------------------------------------

size_t Alerts(registry::Registry& reg, const std::string& serial) {
  auto a = reg.Audit(serial);
  EXPECT_TRUE(a);
  size_t n = 0;
  for (const auto& e : a ? *a : std::vector<registry::AuditEntry>{})
    n += e.action == "alert:clone-suspected";
  return n;
}

class Clone : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(d_.Start(tmp_.path(), 2)); }
  registry::Registry& reg() { return d_.owner->registry(); }

  TempDir tmp_;
  testing::SecProf2Domain d_;
  testing::Factory& f_ = d_.f;
  kdc::KdcOptions& ko_ = d_.ko;
  std::unique_ptr<ServedKdc>& kdc_ = d_.kdc;
  std::unique_ptr<kdc::OwnerTools>& owner_ = d_.owner;
};

TEST_F(Clone, CopiedStateDirectoryIsDetectedQuarantinedAndReleased) {
  auto genuine = JoinedSecProf2(tmp_.path(), f_, 0, *kdc_->kdc);
  ASSERT_TRUE(genuine);
  const std::string serial = genuine->state().serial;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(genuine->SendReading(2100 + i));
  EXPECT_EQ(Alerts(reg(), serial), 0u);

  // The attacker copies the thing's state directory byte for byte and runs it.
  const fs::path copy = tmp_.path() / "stolen-copy";
  fs::copy(StateDir(tmp_.path(), f_, 0), copy, fs::copy_options::recursive);
  // ... and its KEK, kept beside the directory (issue 9 item 12): the whole device.
  fs::copy_file(StateDir(tmp_.path(), f_, 0) + ".kek", copy.string() + ".kek");
  auto clone = OpenAgent(copy.string());
  ASSERT_TRUE(clone);
  const auto t0 = std::chrono::steady_clock::now();
  // The clone's first reading carries a counter above the genuine thing's (it skips to the
  // reserved mark), so the KDC cannot tell yet; the genuine thing's next request gives it away.
  EXPECT_TRUE(clone->SendReading(9999));
  auto refused = genuine->SendReading(2104);
  const auto latency = std::chrono::steady_clock::now() - t0;
  EXPECT_FALSE(refused);
  EXPECT_EQ(Alerts(reg(), serial), 1u);
  auto q = reg().QuarantineOf(serial);
  ASSERT_TRUE(q);
  ASSERT_TRUE(q->has_value());
  EXPECT_NE((*q)->reason.find("suspected clone"), std::string::npos) << (*q)->reason;
  std::cout << "[clone] detection latency (clone's first request -> alert): "
            << std::chrono::duration_cast<std::chrono::milliseconds>(latency).count()
            << " ms, back-to-back requests\n";

  // Quarantined: both copies are refused on every resource, and a refusal changes nothing.
  auto high = reg().HighestReadingCounter(serial);
  ASSERT_TRUE(high);
  auto before = reg().Get(serial);
  ASSERT_TRUE(before);
  auto r1 = clone->SendReading(1);
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error().message().find("quarantined"), std::string::npos) << r1.error().message();
  EXPECT_FALSE(genuine->SendReading(1));
  EXPECT_FALSE(clone->RequestPairKey(f_.manifest.things[1].serial));
  EXPECT_FALSE(genuine->EnterMaintenance());
  auto after = reg().Get(serial);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, before->state);
  EXPECT_EQ(after->updated, before->updated);
  EXPECT_EQ(*reg().HighestReadingCounter(serial), *high);
  EXPECT_EQ(Alerts(reg(), serial), 1u);  // once per incident, not per packet
  EXPECT_EQ(kdc_->kdc->stats().clone_alerts, 1u);

  // The quarantine survives a KDC restart (same ports, so the agents find it again).
  ko_.udp_port = kdc_->kdc->udp_port();
  ko_.dtls_port = kdc_->kdc->dtls_port();
  kdc_.reset();
  kdc_ = std::make_unique<ServedKdc>(ko_);
  ASSERT_TRUE(kdc_->kdc);
  clone.reset();
  genuine.reset();  // the genuine thing restarts too: a fresh session to the new KDC
  genuine = OpenAgent(StateDir(tmp_.path(), f_, 0));
  ASSERT_TRUE(genuine);
  auto r2 = genuine->SendReading(2000);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message().find("quarantined"), std::string::npos) << r2.error().message();

  // The owner lifts it (after dealing with the copy): the genuine thing works again.
  ASSERT_TRUE(owner_->ReleaseQuarantine(serial));
  EXPECT_FALSE(owner_->ReleaseQuarantine(serial));  // nothing left to release
  auto ok = genuine->SendReading(2000);
  EXPECT_TRUE(ok) << ok.error().message();
  auto audit = reg().Audit(serial);
  ASSERT_TRUE(audit);
  bool released = false;
  for (const auto& e : *audit) released = released || e.action == "released";
  EXPECT_TRUE(released);
  EXPECT_TRUE(reg().VerifyAuditChain());
}

// Two sessions on one credential from two endpoints, interleaved (the counters even increase: a
// careful clone that shares a counter source). Policy "audit": alerted once, nothing refused.
TEST_F(Clone, InterleavedSessionsFromTwoEndpointsAreAlertedOnce) {
  kdc_.reset();
  ko_.on_clone = kdc::OnClone::kAudit;
  kdc_ = std::make_unique<ServedKdc>(ko_);
  ASSERT_TRUE(kdc_->kdc);
  auto genuine = JoinedSecProf2(tmp_.path(), f_, 0, *kdc_->kdc);
  ASSERT_TRUE(genuine);
  const std::string serial = genuine->state().serial;
  auto psk = AgentTestPeer::PairwiseKey(*genuine);
  ASSERT_TRUE(psk);
  auto connect = [&]() {
    coap::ClientConfig cc;
    cc.security = coap::Security::kPsk;
    cc.psk_identity = genuine->state().psk_identity;
    cc.psk_key = psk->Clone();
    cc.timeout = 3s;
    auto c = coap::Client::Connect("127.0.0.1", kdc_->kdc->dtls_port(), std::move(cc));
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
  };
  auto a = connect(), b = connect();
  ASSERT_TRUE(a && b);
  int64_t counter = 1000;
  auto post = [&](coap::Client& c) {
    auto r = c.Post(domain::path::kReport, domain::Encode(domain::Reading{serial, 2000, ++counter}),
                    coap::content_format::kCbor);
    EXPECT_TRUE(r);
    return r ? r->code : coap::Code{};
  };
  EXPECT_EQ(post(*a), coap::kChanged);
  EXPECT_EQ(post(*b), coap::kChanged);
  EXPECT_EQ(Alerts(reg(), serial), 0u);  // one switch is a reconnect
  EXPECT_EQ(post(*a), coap::kChanged);   // back to A: concurrent use
  EXPECT_EQ(Alerts(reg(), serial), 1u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(post(*b), coap::kChanged);  // audit only: nothing refused
    EXPECT_EQ(post(*a), coap::kChanged);
  }
  EXPECT_EQ(Alerts(reg(), serial), 1u);  // one incident
  auto q = reg().QuarantineOf(serial);
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->has_value());
  // A replayed counter is refused even under "audit" (and changes nothing).
  auto r = a->Post(domain::path::kReport, domain::Encode(domain::Reading{serial, 2000, 5}),
                   coap::content_format::kCbor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kUnauthorized) << coap::AsText(r->payload);
  EXPECT_EQ(*reg().HighestReadingCounter(serial), std::optional<int64_t>(counter));
}

// False alarms: a genuine thing that restarts (a new agent on its state directory, new source
// port, counters skipping to the reserved mark) and renews its session before every request.
TEST_F(Clone, GenuineRestartsAndReconnectsRaiseNoAlarm) {
  auto genuine = JoinedSecProf2(tmp_.path(), f_, 0, *kdc_->kdc);
  ASSERT_TRUE(genuine);
  const std::string serial = genuine->state().serial;
  const std::string dir = StateDir(tmp_.path(), f_, 0);
  genuine.reset();
  int reconnects = 0, readings = 0;
  for (int restart = 0; restart < 20; ++restart) {
    AgentOptions ao;
    ao.state_dir = dir;
    ao.timeout = 3000ms;
    ao.session_max_messages = 1;  // a fresh DTLS session (new port) for every request
    auto a = Agent::Open(ao);
    ASSERT_TRUE(a) << a.error().message();
    for (int i = 0; i < 3; ++i) {
      auto s = (*a)->SendReading(2000 + i);
      ASSERT_TRUE(s) << "restart " << restart << ": " << s.error().message();
      ++readings;
      ++reconnects;
    }
  }
  EXPECT_EQ(Alerts(reg(), serial), 0u);
  EXPECT_EQ(kdc_->kdc->stats().clone_alerts, 0u);
  auto q = reg().QuarantineOf(serial);
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->has_value());
  std::cout << "[clone] false alarms: 0 of " << readings << " readings over 20 restarts and "
            << reconnects << " new sessions\n";
}

// Detection latency with both copies reporting on their own schedule (one reading every 500 ms
// each), measured from the clone's first request to the alert.
TEST_F(Clone, DetectionLatencyWithPeriodicReporting) {
  auto genuine = JoinedSecProf2(tmp_.path(), f_, 0, *kdc_->kdc);
  ASSERT_TRUE(genuine);
  const std::string serial = genuine->state().serial;
  const fs::path copy = tmp_.path() / "copy";
  std::atomic<bool> stop{false};
  std::mutex writing;                       // the copy is not taken in the middle of a state write
  std::jthread g([&](std::stop_token st) {  // stopped also when an assertion returns early
    while (!stop && !st.stop_requested()) {
      {
        std::lock_guard<std::mutex> l(writing);
        (void)genuine->SendReading(2100);
      }
      std::this_thread::sleep_for(500ms);
    }
  });
  // Copied while the genuine thing runs, after it reserved its counters: the clone's counters
  // start above the genuine thing's (the harder case: its first readings are accepted).
  std::this_thread::sleep_for(700ms);
  {
    std::lock_guard<std::mutex> l(writing);
    fs::copy(StateDir(tmp_.path(), f_, 0), copy, fs::copy_options::recursive);
    // ... and its KEK, kept beside the directory (issue 9 item 12): the whole device.
    fs::copy_file(StateDir(tmp_.path(), f_, 0) + ".kek", copy.string() + ".kek");
  }
  auto clone = OpenAgent(copy.string());
  ASSERT_TRUE(clone);
  const auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration latency{};
  bool detected = false;
  const auto deadline = t0 + 60s;  // safety bound only
  while (std::chrono::steady_clock::now() < deadline) {
    (void)clone->SendReading(2200);
    if (kdc_->kdc->stats().clone_alerts > 0) {
      latency = std::chrono::steady_clock::now() - t0;
      detected = true;
      break;
    }
    for (int i = 0; i < 50 && kdc_->kdc->stats().clone_alerts == 0; ++i)
      std::this_thread::sleep_for(10ms);
    if (kdc_->kdc->stats().clone_alerts > 0) {
      latency = std::chrono::steady_clock::now() - t0;
      detected = true;
      break;
    }
  }
  stop = true;
  g.join();
  EXPECT_TRUE(detected);
  EXPECT_EQ(Alerts(reg(), serial), 1u);
  std::cout << "[clone] detection latency, both copies reporting every 500 ms: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(latency).count() << " ms\n";
}

// The same attack in SecProf_3: the copy holds the LDevID and its key (a file key store is part
// of the state directory). One credential, two devices: detected and quarantined alike.
TEST(CloneSecProf3, CopiedLdevidIsDetectedAndQuarantined) {
  TempDir tmp;
  testing::SecProf3Domain d;
  ASSERT_NO_FATAL_FAILURE(d.Start(tmp.path(), 1));
  auto genuine = d.Joined(tmp.path(), 0);
  ASSERT_TRUE(genuine);
  const std::string serial = genuine->state().serial;
  ASSERT_TRUE(genuine->SendReading(2000));
  const fs::path copy = tmp.path() / "copy";
  fs::copy(StateDir(tmp.path(), d.f, 0), copy, fs::copy_options::recursive);
  // ... and its KEK, kept beside the directory (issue 9 item 12): the whole device.
  fs::copy_file(StateDir(tmp.path(), d.f, 0) + ".kek", copy.string() + ".kek");
  auto clone = OpenAgent(copy.string());
  ASSERT_TRUE(clone);
  EXPECT_TRUE(clone->SendReading(2500));     // its counters start above the genuine thing's
  EXPECT_FALSE(genuine->SendReading(2000));  // the genuine thing's next request gives it away
  EXPECT_FALSE(clone->SendReading(2500));    // quarantined: both refused
  EXPECT_EQ(Alerts(d.owner->registry(), serial), 1u);
  auto q = d.owner->registry().QuarantineOf(serial);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->has_value());
}

}  // namespace
}  // namespace secprof::thing
