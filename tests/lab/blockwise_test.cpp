// lab.blockwise_rearrange (src/lab/maintenance/fw_blockwise_rearrange.cpp): an on-path attacker
// rearranges the Block2 fragments of a firmware download (draft-ietf-core-attacks-on-coap, the
// fragment rearrangement attack; RFC 7959 §2.4). One test per profile outcome: SecProf_1 (plain
// CoAP to the vendor's update service) refused by the thing's digest check, SecProf_2 and a token
// profile (DTLS to the KDC) by the DTLS layer. The scenario has no negative control; each run
// shows the adversary at work instead (the rewritten or moved fragments, the thing's refusal).
#include <gtest/gtest.h>

#include <string>

#include "secprof/lab/live_domain.h"
#include "secprof/lab/scenario.h"
#include "testutil.h"

namespace secprof::lab {
namespace {

constexpr const char* kId = "lab.blockwise_rearrange";

Measurement Rearrange(domain::Profile p, const std::filesystem::path& dir,
                      const TokenPool* tokens = nullptr) {
  const Scenario* s = FindScenario(kId);
  EXPECT_NE(s, nullptr);
  if (!s) return {};
  RunContext ctx;
  ctx.profile = p;
  ctx.dir = dir;
  ctx.tokens = tokens;
  auto m = s->Run(ctx);
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message());
  return m ? *m : Measurement{};
}

std::string Evidence(const Measurement& m) {
  std::string s;
  for (const auto& e : m.evidence) s += e.summary + " | " + e.data + "\n";
  return s;
}

bool Has(const Measurement& m, const std::string& text) {
  return Evidence(m).find(text) != std::string::npos;
}

TEST(LabBlockwiseRearrange, TheScenarioKeepsItsCatalogIdentity) {
  const Scenario* s = FindScenario(kId);
  ASSERT_NE(s, nullptr);
  const ScenarioInfo& i = s->info();
  EXPECT_EQ(i.threat, "T4");
  EXPECT_EQ(i.phase, "maintenance");
  EXPECT_EQ(i.controls, (std::vector<std::string>{"thing.fw_verify_signature", "coap.dtls"}));
  EXPECT_EQ(i.mitigations, (std::vector<std::string>{"M.app.signed_fw_update", "M.app.dtls"}));
  EXPECT_FALSE(i.has_negative_control);
}

TEST(LabBlockwiseRearrange, SecProf1ThingRefusesSplicedAndSwappedBlocksAndKeepsItsFirmware) {
  secprof::testing::TempDir dir;
  Measurement m = Rearrange(domain::Profile::kSecProf1, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "thing.fw_verify_signature");
  // The thing's own installer reason, once per rearranged transfer (update/install.h).
  EXPECT_EQ(m.reason, "image-digest, image-digest") << Evidence(m);
  ASSERT_GE(m.evidence.size(), 5u) << Evidence(m);
  EXPECT_NE(m.evidence[1].summary.find("replaced by block 2 of release A's"), std::string::npos)
      << Evidence(m);
  EXPECT_NE(m.evidence[2].summary.find("blocks 1 and 2 of release B's transfer swapped"),
            std::string::npos)
      << Evidence(m);
  // Afterwards it still runs release A (sequence 2, its SHA-256 in the evidence) ...
  EXPECT_TRUE(Has(m, "afterwards the thing runs sequence 2, SHA-256 ")) << Evidence(m);
  EXPECT_TRUE(Has(m, "the thing refused (image-digest); its active slot: sequence 2"))
      << Evidence(m);
  // ... and the vendor's service heard its refusals; the legitimate path then installs B.
  EXPECT_TRUE(Has(m, "2 alert(s) from it")) << Evidence(m);
  EXPECT_TRUE(Has(m,
                  "legitimate path, nothing rearranged: the thing installed what it "
                  "assembled; its active slot: sequence 3"))
      << Evidence(m);
}

TEST(LabBlockwiseRearrange, SecProf2DtlsLetsNoRecordOfAnotherBlockTakeAHeldOnesPlace) {
  secprof::testing::TempDir dir;
  Measurement m = Rearrange(domain::Profile::kSecProf2, dir.path());
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "coap.dtls");
  EXPECT_EQ(m.reason.rfind("the thing installed release B byte for byte", 0), 0u) << m.reason;
  // Both moves were made: a splice from release A's transfer and a replay of block 0.
  EXPECT_TRUE(Has(m, "(block 1 of release A's transfer")) << Evidence(m);
  EXPECT_TRUE(Has(m, "(block 0 of this transfer, already delivered)")) << Evidence(m);
  EXPECT_TRUE(Has(m, "its active slot: sequence 3, SHA-256 ")) << Evidence(m);
  EXPECT_TRUE(Has(m, "= release B (sequence 3)")) << Evidence(m);
}

TEST(LabBlockwiseRearrange, SecProf3WithTokenKeysDtlsBlocksTheRearrangement) {
  secprof::testing::TempDir dir;
  TokenPool pool = TokenPool::Prepare(dir.path());
  if (!pool.ok()) GTEST_SKIP() << pool.problem();
  Measurement m = Rearrange(domain::Profile::kSecProf3, dir.path() / "run", &pool);
  EXPECT_EQ(m.outcome, Outcome::kBlocked) << m.reason << "\n" << Evidence(m);
  EXPECT_EQ(m.control, "coap.dtls");
  EXPECT_EQ(m.reason.rfind("the thing installed release B byte for byte", 0), 0u) << m.reason;
  EXPECT_TRUE(Has(m, "(block 1 of release A's transfer")) << Evidence(m);
  EXPECT_TRUE(Has(m, "(block 0 of this transfer, already delivered)")) << Evidence(m);
}

}  // namespace
}  // namespace secprof::lab
