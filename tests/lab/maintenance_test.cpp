// The maintenance/ scenarios (src/lab/maintenance/): each mounted against a live domain, the
// blocked case in a profile that claims the mitigation and, where the scenario has one, the
// negative control in which the same adversary succeeds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "secprof/lab/live_domain.h"
#include "secprof/lab/scenario.h"
#include "testutil.h"

namespace secprof::lab {
namespace {

Measurement RunScenario(const std::string& id, domain::Profile p, const std::filesystem::path& dir,
                        bool defence_off = false, const TokenPool* tokens = nullptr) {
  const Scenario* s = FindScenario(id);
  EXPECT_NE(s, nullptr) << id;
  if (!s) return {};
  RunContext ctx;
  ctx.profile = p;
  ctx.dir = dir;
  ctx.defence_off = defence_off;
  ctx.tokens = tokens;
  auto m = s->Run(ctx);
  EXPECT_TRUE(m.has_value()) << id << ": " << (m ? "" : m.error().message());
  return m ? *m : Measurement{};
}

std::string Evidence(const Measurement& m) {
  std::string s;
  for (const auto& e : m.evidence) s += e.summary + " | " + e.data + "\n";
  return s;
}

// --- lab.fw_forged ------------------------------------------------------------------------------

TEST(LabFwForged, ForgedAndTamperedFirmwareAreRefusedByTheThingInSecProf2) {
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.fw_forged", domain::Profile::kSecProf2, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.fw_verify_signature");
  // The thing's own refusal reasons, one per attempt (update/install.h).
  EXPECT_EQ(m.reason, "forged-signature, image-digest") << Evidence(m);
  EXPECT_EQ(m.evidence.size(), 2u);
}

TEST(LabFwForged, NegativeControlWithTheVendorKeyInstallsTheAttackersImage) {
  secprof::testing::TempDir dir;
  Measurement m =
      RunScenario("lab.fw_forged", domain::Profile::kSecProf2, dir.path(), /*defence_off=*/true);
  EXPECT_EQ(m.outcome, Outcome::kSucceeded) << m.reason << "\n" << Evidence(m);
  EXPECT_NE(m.reason.find("the attacker's own image and the modified image"), std::string::npos)
      << m.reason;
}

TEST(LabFwForged, RefusedInSecProf3WithTokenKeys) {
  secprof::testing::TempDir dir;
  TokenPool pool = TokenPool::Prepare(dir.path());
  if (!pool.ok()) GTEST_SKIP() << pool.problem();
  Measurement m =
      RunScenario("lab.fw_forged", domain::Profile::kSecProf3, dir.path() / "run", false, &pool);
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.reason, "forged-signature, image-digest");
}

// --- lab.fw_rollback ----------------------------------------------------------------------------

TEST(LabFwRollback, OlderGenuineReleaseIsRefusedByTheSequenceFloorInSecProf2) {
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.fw_rollback", domain::Profile::kSecProf2, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.fw_sequence_floor");
  EXPECT_EQ(m.reason, "rollback");
  // The legitimate update before the attack is part of the evidence.
  ASSERT_EQ(m.evidence.size(), 2u);
  EXPECT_NE(m.evidence[0].summary.find("installed it"), std::string::npos) << Evidence(m);
}

// --- lab.fw_mix_and_match -----------------------------------------------------------------------

TEST(LabFwMixAndMatch, FirmwareForAnotherModelOrVendorIsRefusedInSecProf2) {
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.fw_mix_and_match", domain::Profile::kSecProf2, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.fw_verify_signature");
  EXPECT_EQ(m.reason, "wrong-class, image-digest, forged-signature");
  // The owner's path refused the other model's release before the attacker planted it.
  ASSERT_FALSE(m.evidence.empty());
  EXPECT_NE(m.evidence[0].summary.find("refused"), std::string::npos) << Evidence(m);
}

// --- lab.fw_endless_data ------------------------------------------------------------------------

TEST(LabFwEndlessData, TheThingStopsTheFetchAtTheManifestsSizeInSecProf2) {
  // The thing verifies the envelope first and bounds the image fetch by its image-size: the
  // source's 512 KiB are cut off there and the update refused (update::kImageTooLong).
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.fw_endless_data", domain::Profile::kSecProf2, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.fw_verify_signature");
  EXPECT_EQ(m.reason, "image-too-long") << Evidence(m);
  ASSERT_EQ(m.evidence.size(), 2u) << Evidence(m);
  EXPECT_NE(m.evidence[0].summary.find("fetched 0 image bytes"), std::string::npos) << Evidence(m);
  EXPECT_NE(m.evidence[1].summary.find("still runs sequence 1"), std::string::npos) << Evidence(m);
}

// --- lab.fw_partial -----------------------------------------------------------------------------

TEST(LabFwPartial, CutShortUpdatesLeaveABootableVerifiedImageInSecProf2) {
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.fw_partial", domain::Profile::kSecProf2, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.verified_boot");
  // The installer's refusal of the half image; the recovery's action on both power cuts.
  EXPECT_EQ(m.reason, "image-size, reverted-testing, reverted-testing") << Evidence(m);
  ASSERT_EQ(m.evidence.size(), 3u);
  EXPECT_NE(m.evidence[2].summary.find("boots sequence 1"), std::string::npos) << Evidence(m);
}

// --- lab.fw_freeze ------------------------------------------------------------------------------

TEST(LabFwFreeze, AWithheldUpdateRaisesAnAlertInSecProf2) {
  // The KDC's "nothing offered" carries its signed latest-release statement; the thing sees the
  // halted campaign's release above what it runs and raises an alert the KDC audits.
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.fw_freeze", domain::Profile::kSecProf2, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.update_check");
  EXPECT_EQ(m.reason, "alert:update-withheld") << Evidence(m);
  ASSERT_EQ(m.evidence.size(), 3u) << Evidence(m);
  EXPECT_NE(m.evidence[0].summary.find("not mounted"), std::string::npos) << Evidence(m);
  EXPECT_NE(m.evidence[1].summary.find("raised the alert update-withheld"), std::string::npos)
      << Evidence(m);
  EXPECT_NE(m.evidence[2].summary.find("alert alert:update-withheld"), std::string::npos)
      << Evidence(m);
}

TEST(LabFwFreeze, OnPathWithholdingInSecProf3WithTokenKeys) {
  secprof::testing::TempDir dir;
  TokenPool pool = TokenPool::Prepare(dir.path());
  if (!pool.ok()) GTEST_SKIP() << pool.problem();
  Measurement m =
      RunScenario("lab.fw_freeze", domain::Profile::kSecProf3, dir.path() / "run", false, &pool);
  // The on-path drop only makes the check fail; the statement, signed with the domain CA key the
  // thing holds, shows the withheld release once the path is back.
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.reason, "alert:update-withheld") << Evidence(m);
  ASSERT_EQ(m.evidence.size(), 3u) << Evidence(m);
  EXPECT_NE(m.evidence[0].summary.find("the thing's check failed"), std::string::npos)
      << Evidence(m);
}

// --- lab.fw_slow_retrieval ----------------------------------------------------------------------

TEST(LabFwSlowRetrieval, TheThingWaitsAsLongAsTheAttackerLikesInSecProf3) {
  // A finding: no overall deadline on an update; each held datagram costs the thing just under
  // its request timeout. The request timeout is shortened to keep the test short.
  secprof::testing::TempDir dir;
  TokenPool pool = TokenPool::Prepare(dir.path());
  if (!pool.ok()) GTEST_SKIP() << pool.problem();
  RunContext ctx;
  ctx.profile = domain::Profile::kSecProf3;
  ctx.dir = dir.path() / "run";
  ctx.tokens = &pool;
  ctx.timeout = std::chrono::milliseconds(800);
  auto m = FindScenario("lab.fw_slow_retrieval")->Run(ctx);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->outcome, Outcome::kSucceeded) << m->reason << "\n" << Evidence(*m);
  EXPECT_NE(m->reason.find("the thing kept waiting"), std::string::npos) << m->reason;
}

TEST(LabFwSlowRetrieval, TheThingWaitsAsLongAsTheAttackerLikesInSecProf2) {
  // The relay on the plain join rewrites the DTLS port its answer names, so the thing's session
  // crosses it (wire/on_path.h RedirectJoinAnswer); then the same finding as in SecProf_3.
  secprof::testing::TempDir dir;
  RunContext ctx;
  ctx.profile = domain::Profile::kSecProf2;
  ctx.dir = dir.path() / "run";
  ctx.timeout = std::chrono::milliseconds(800);
  auto m = FindScenario("lab.fw_slow_retrieval")->Run(ctx);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->outcome, Outcome::kSucceeded) << m->reason << "\n" << Evidence(*m);
  EXPECT_NE(m->reason.find("the thing kept waiting"), std::string::npos) << m->reason;
}

// --- SecProf_1: no firmware delivery
// ---------------------------------------------------------------

TEST(LabFirmware, SecProf1HasNoDeliveryToAttack) {
  secprof::testing::TempDir dir;
  for (const char* id :
       {"lab.fw_forged", "lab.fw_rollback", "lab.fw_mix_and_match", "lab.fw_endless_data",
        "lab.fw_partial", "lab.fw_freeze", "lab.fw_slow_retrieval"}) {
    Measurement m = RunScenario(id, domain::Profile::kSecProf1, dir.path());
    EXPECT_EQ(m.outcome, Outcome::kNotTestable) << id;
    EXPECT_NE(m.reason.find("no firmware delivery"), std::string::npos) << id << ": " << m.reason;
  }
}

// --- lab.flood ----------------------------------------------------------------------------------

// SecProf_2's plain-CoAP join under the flood: the spoofed j/nonce requests name the genuine
// serials (in clear in SecProf_2). Before issue 11 they evicted the genuine nonces (the KDC kept
// at most max_nonces_per_serial) and, on a loaded machine, kept the things out; the nonce is now
// a stateless token bound to the asker's address and port (docs/DOMAIN.md "Nonce").
void ExpectSecProf2FloodBlocked(const Measurement& m) {
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "kdc.join_cookie") << Evidence(m);
  ASSERT_EQ(m.evidence.size(), 3u) << Evidence(m);
  // The flood was mounted: join requests sent, and the KDC refused the made-up nonces by the
  // binding (its own reason for the flood's j/psk).
  EXPECT_NE(m.evidence[0].summary.find("join requests"), std::string::npos) << Evidence(m);
  EXPECT_EQ(m.evidence[0].summary.find(" 0 join requests"), std::string::npos) << Evidence(m);
  EXPECT_NE(m.evidence[2].summary.find("replay-or-stale x "), std::string::npos) << Evidence(m);
  // Nonces issued to the attacker's own addresses reach the attacker only if the KDC answers
  // within the attacker's short wait, which a loaded machine (ASan beside busy threads) does not
  // always do; when it got one, the KDC refused its j/psk at the proof.
  if (m.evidence[0].summary.find("(0 answered with a nonce") == std::string::npos) {
    EXPECT_NE(m.evidence[2].summary.find("bad-proof x "), std::string::npos) << Evidence(m);
  }
}

TEST(LabFlood, GenuineThingsJoinWhileTheKdcIsFloodedInSecProf2) {
  secprof::testing::TempDir dir;
  ExpectSecProf2FloodBlocked(RunScenario("lab.flood", domain::Profile::kSecProf2, dir.path()));
}

// The same under CPU load: as many busy threads as the machine has cores spin beside the KDC,
// the flood and the joins (the load under which the genuine things used to be kept out). The
// verdict must not depend on it.
TEST(LabFlood, GenuineThingsJoinInSecProf2AlsoWithBusyThreadsBeside) {
  secprof::testing::TempDir dir;
  std::atomic<uint64_t> spins{0};
  std::vector<std::jthread> busy;
  for (unsigned i = 0; i < std::max(2u, std::thread::hardware_concurrency()); ++i)
    busy.emplace_back([&spins](std::stop_token st) {
      uint64_t n = 0;
      while (!st.stop_requested()) ++n;
      spins += n;
    });
  Measurement m = RunScenario("lab.flood", domain::Profile::kSecProf2, dir.path());
  for (auto& t : busy) t.request_stop();
  busy.clear();  // joins them
  EXPECT_GT(spins.load(), 0u) << "the busy threads ran";
  ExpectSecProf2FloodBlocked(m);
}

TEST(LabFlood, GenuineThingsJoinWhileTheKdcIsFloodedInSecProf3WithTokenKeys) {
  secprof::testing::TempDir dir;
  TokenPool pool = TokenPool::Prepare(dir.path());
  if (!pool.ok()) GTEST_SKIP() << pool.problem();
  Measurement m =
      RunScenario("lab.flood", domain::Profile::kSecProf3, dir.path() / "run", false, &pool);
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "coap.dtls_cookie") << Evidence(m);
}

TEST(LabFlood, NotApplicableInSecProf1) {
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.flood", domain::Profile::kSecProf1, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kNotApplicable);
  EXPECT_NE(m.reason.find("no KDC"), std::string::npos) << m.reason;
}

// --- lab.vulnerable_fw --------------------------------------------------------------------------

TEST(LabVulnerableFw, TheThingsUpdatePollPatchesItUnattendedInSecProf2) {
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.vulnerable_fw", domain::Profile::kSecProf2, dir.path());
  // The thing serves with its update poll: the campaign's fix is installed without a command,
  // and the KDC's records (the campaign target, the audit log) show it.
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.update_check");
  EXPECT_EQ(m.reason, "fw-installed");
  ASSERT_EQ(m.evidence.size(), 3u) << Evidence(m);
  EXPECT_NE(m.evidence[1].summary.find("target installed, 1 fetch"), std::string::npos)
      << Evidence(m);
  EXPECT_NE(m.evidence[2].summary.find("now runs sequence 2"), std::string::npos) << Evidence(m);
}

TEST(LabVulnerableFw, SecProf1ThingInstallsTheVendorsFixFromItsUpdateService) {
  secprof::testing::TempDir dir;
  Measurement m = RunScenario("lab.vulnerable_fw", domain::Profile::kSecProf1, dir.path());
  // No KDC: the vendor publishes the fix to its update service, and the paired thing, serving
  // with its update poll, installs it without a command (secprof/vendor/update_service.h).
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.update_check");
  EXPECT_EQ(m.reason, "installed sequence 2 from the vendor's update service");
  ASSERT_EQ(m.evidence.size(), 3u) << Evidence(m);
  EXPECT_NE(m.evidence[1].summary.find("1 installed"), std::string::npos) << Evidence(m);
  EXPECT_NE(m.evidence[1].summary.find("1 image(s), 0 alert(s)"), std::string::npos) << Evidence(m);
  EXPECT_NE(m.evidence[2].summary.find("vendor publication to patched"), std::string::npos)
      << Evidence(m);
}

// --- routing: not testable until issue 15 -------------------------------------------------------

TEST(LabRouting, EveryRoutingAttackIsNotTestableNamingIssue15) {
  secprof::testing::TempDir dir;
  for (const char* id : {"lab.routing_sinkhole", "lab.routing_selective_forwarding",
                         "lab.routing_wormhole", "lab.routing_sybil"}) {
    for (auto p : {domain::Profile::kSecProf1, domain::Profile::kSecProf4}) {
      Measurement m = RunScenario(id, p, dir.path());
      EXPECT_EQ(m.outcome, Outcome::kNotTestable) << id;
      EXPECT_NE(m.reason.find("issue 15"), std::string::npos) << id;
    }
    EXPECT_EQ(FindScenario(id)->info().threat.rfind("T7.", 0), 0u) << id;
  }
}

}  // namespace
}  // namespace secprof::lab
