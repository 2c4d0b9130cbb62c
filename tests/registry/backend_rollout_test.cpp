// The registry's rollout, setup-code and clone-guard aggregates and the owner's overview on both
// storage backends (backend_fixture.h): firmware ids (LastInsertId), staged campaigns, incidents,
// setup-code keys (and the legacy conversion, which erases freed pages), reading counters,
// quarantine, LastSeen.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backend_fixture.h"
#include "secprof/registry/overview.h"

namespace secprof::registry {
namespace {

using namespace std::chrono_literals;

Firmware Release(uint64_t sequence) {
  Firmware fw;
  fw.vendor = "acme";
  fw.model = "m1";
  fw.sequence = sequence;
  fw.envelope = Bytes{0xd8, 0x6b, 0x00, static_cast<uint8_t>(sequence)};
  fw.image_path = "/srv/fw/m1-" + std::to_string(sequence) + ".bin";
  fw.image_size = 1000 + sequence;
  fw.image_digest = std::string(64, 'd');
  return fw;
}

CommissionInput Psk(const std::string& id) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = id;
  in.credential_fingerprint = std::string(64, id.back());
  in.wrapped_key = Bytes(48, 2);
  return in;
}

using BackendRollout = BackendTest;
using BackendSetupCodes = BackendTest;
using BackendGuard = BackendTest;

TEST_P(BackendRollout, StagedCampaignIncidentAndOverview) {
  std::vector<std::string> serials;
  for (int i = 1; i <= 4; ++i) {
    serials.push_back("r-" + std::to_string(i));
    ASSERT_TRUE(reg_->Allow(serials.back(), "acme", "m1", std::nullopt, "owner"));
    ASSERT_TRUE(reg_->Commission(serials.back(), Psk("p-" + std::to_string(i)), "kdc"));
  }
  auto fw1 = reg_->AddFirmware(Release(7), "owner");
  ASSERT_TRUE(fw1) << fw1.error().ToString();
  auto fw2 = reg_->AddFirmware(Release(8), "owner");
  ASSERT_TRUE(fw2);
  EXPECT_EQ(*fw1, 1);  // ids assigned 1, 2, 3 ... (the INTEGER PRIMARY KEY / identity)
  EXPECT_EQ(*fw2, 2);
  EXPECT_TRUE(reg_->AddFirmware(Release(7), "owner").error().Is(kExists));
  auto got = reg_->GetFirmware(*fw2);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->envelope, Release(8).envelope);
  EXPECT_EQ(got->image_size, 1008u);

  Incident in;
  in.vendor = "acme";
  in.model = "m1";
  in.min_sequence = 0;
  in.max_sequence = 7;
  in.severity = "high";
  in.description = "CVE-0000-0001";
  ASSERT_TRUE(reg_->SetFirmwareVersion("r-4", 8));  // already fixed: not affected
  auto incident = reg_->RecordIncident(in, "owner");
  ASSERT_TRUE(incident) << incident.error().ToString();
  EXPECT_EQ(*incident, 1);
  auto affected = reg_->AffectedBy(*incident);
  ASSERT_TRUE(affected);
  EXPECT_EQ(*affected, (std::vector<std::string>{"r-1", "r-2", "r-3"}));

  auto c = reg_->StartCampaign(*fw2, serials, 2, 0.5, "owner", *incident);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(*c, 1);
  auto offer = reg_->OfferFor("r-1");
  ASSERT_TRUE(offer && *offer);
  EXPECT_EQ((*offer)->second.id, *fw2);
  EXPECT_FALSE(*reg_->OfferFor("r-3"));  // the second stage waits
  EXPECT_TRUE(reg_->ReportInstall(*c, "r-3", true, "", "r-3").error().Is(kNotReleased));
  ASSERT_TRUE(reg_->ReportInstall(*c, "r-1", true, "ok", "r-1"));
  EXPECT_TRUE(reg_->ReportInstall(*c, "r-1", true, "ok", "r-1").error().Is(kAlreadyReported));
  clock_.Advance(5s);
  auto after = reg_->ReportInstall(*c, "r-2", true, "ok", "r-2");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->released, 4);  // the stage reported: the next two released
  ASSERT_TRUE(reg_->ReportInstall(*c, "r-3", false, "boot loop", "r-3", 7));
  auto done = reg_->ReportInstall(*c, "r-4", false, "flash error", "r-4");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, CampaignState::kCompleted);  // 2 of 4 failed: 0.5 is not over 0.5
  auto v = reg_->FirmwareVersion("r-1");
  ASSERT_TRUE(v && *v);
  EXPECT_EQ(**v, 8u);
  auto targets = reg_->CampaignTargets(*c);
  ASSERT_TRUE(targets);
  ASSERT_EQ(targets->size(), 4u);
  EXPECT_EQ((*targets)[2].status, TargetStatus::kFailed);
  auto linked = reg_->GetIncident(*incident);
  ASSERT_TRUE(linked);
  EXPECT_EQ(linked->campaign_id, *c);
  auto seen = LastSeen(*reg_, "r-2");  // the thing's own report
  ASSERT_TRUE(seen) << seen.error().ToString();
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ(**seen, kBackendStart + 5);
  auto overview = ListOverview(*reg_, std::nullopt);
  ASSERT_TRUE(overview);
  EXPECT_EQ(overview->size(), 4u);
  auto status = GetCampaignOverview(*reg_, *c);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->counts.at("failed"), 2);
  EXPECT_TRUE(reg_->VerifyAuditChain());
}

TEST_P(BackendRollout, HaltAndRefusals) {
  ASSERT_TRUE(reg_->Allow("h-1", "acme", "m1", std::nullopt, "owner"));
  ASSERT_TRUE(reg_->Allow("h-2", "acme", "other", std::nullopt, "owner"));
  auto fw = reg_->AddFirmware(Release(3), "owner");
  ASSERT_TRUE(fw);
  auto wrong_model = reg_->StartCampaign(*fw, {"h-2"}, 1, 0.1, "owner");
  ASSERT_FALSE(wrong_model);
  EXPECT_TRUE(wrong_model.error().Is(kModelMismatch));
  EXPECT_EQ(reg_->StartCampaign(*fw, {"h-1"}, 1, 1.5, "owner").error().code(),
            ErrorCode::kInvalidInput);
  auto none = reg_->ListCampaigns();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto c = reg_->StartCampaign(*fw, {"h-1"}, 1, 0.25, "owner");
  ASSERT_TRUE(c);
  ASSERT_TRUE(reg_->HaltCampaign(*c, "owner says stop", "owner"));
  EXPECT_TRUE(reg_->HaltCampaign(*c, "again", "owner").error().Is(kCampaignNotRunning));
  auto halted = reg_->GetCampaign(*c);
  ASSERT_TRUE(halted);
  EXPECT_EQ(halted->state, CampaignState::kHalted);
  EXPECT_EQ(halted->reason, "owner says stop");
  EXPECT_EQ(halted->max_failure_rate, 0.25);
}

TEST_P(BackendSetupCodes, JoinRetireAndLegacyConversion) {
  ASSERT_TRUE(reg_->AllowSetupVerifier("c-1", "acme", "m1", Bytes(40, 0x11), "owner"));
  auto code = reg_->GetSetupCode("c-1");
  ASSERT_TRUE(code && *code);
  EXPECT_EQ((*code)->verifier, Bytes(40, 0x11));
  const Bytes nonce(16, 0x42);
  ASSERT_TRUE(reg_->PutNonce(nonce, "c-1", Now() + 60));
  auto joined = reg_->CommissionBySetupCode("c-1", Psk("sc-1"), nonce, 600s, "kdc");
  ASSERT_TRUE(joined) << joined.error().ToString();
  EXPECT_TRUE(joined->first_time);
  EXPECT_TRUE(reg_->ConsumeNonce(nonce, "c-1").error().Is(kReplay));
  ASSERT_TRUE(reg_->RetireSetupCode("c-1", "joined", "owner"));
  EXPECT_TRUE(reg_->RetireSetupCode("c-1", "again", "owner").error().Is(kSetupCodeRetired));
  code = reg_->GetSetupCode("c-1");
  ASSERT_TRUE(code && *code);
  EXPECT_TRUE((*code)->verifier.empty());

  // A row from before schema v4 with a code in clear: converted, and the clear code is gone
  // (EraseFreedPages: SQLite checkpoints its WAL, PostgreSQL VACUUMs).
  ASSERT_TRUE(reg_->Allow("c-2", "acme", "m1", std::nullopt, "owner"));
  ASSERT_EQ(RawSql("UPDATE things SET setup_code = 'legacy-code-123' WHERE serial = 'c-2'"), "");
  auto legacy = reg_->LegacySetupCodes();
  ASSERT_TRUE(legacy);
  ASSERT_EQ(legacy->size(), 1u);
  EXPECT_EQ(legacy->front().second, "legacy-code-123");
  ASSERT_TRUE(reg_->ConvertLegacySetupCode("c-2", Bytes(40, 0x22)));
  legacy = reg_->LegacySetupCodes();
  ASSERT_TRUE(legacy);
  EXPECT_TRUE(legacy->empty());
  EXPECT_EQ(reg_->ConvertLegacySetupCode("c-2", Bytes(40, 0x22)).error().code(),
            ErrorCode::kNotFound);
}

TEST_P(BackendGuard, ReadingCountersAndQuarantine) {
  ASSERT_TRUE(reg_->Allow("q-1", "acme", "m1", std::nullopt, "owner"));
  auto first = reg_->AdvanceReadingCounter("q-1", 5);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*reg_->AdvanceReadingCounter("q-1", 5));  // a replay: not above
  EXPECT_FALSE(*reg_->AdvanceReadingCounter("q-1", 4));
  EXPECT_TRUE(*reg_->AdvanceReadingCounter("q-1", 6));
  auto high = reg_->HighestReadingCounter("q-1");
  ASSERT_TRUE(high && *high);
  EXPECT_EQ(**high, 6);
  EXPECT_EQ(reg_->AdvanceReadingCounter("nobody", 1).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(reg_->QuarantineThing("q-1", "counter went back", "kdc"));
  ASSERT_TRUE(reg_->QuarantineThing("q-1", "again", "kdc"));  // already: nothing changes
  auto q = reg_->ListQuarantined();
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ(q->front().reason, "counter went back");
  ASSERT_TRUE(reg_->ReleaseQuarantine("q-1", "owner"));
  auto none = reg_->QuarantineOf("q-1");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  high = reg_->HighestReadingCounter("q-1");
  ASSERT_TRUE(high);
  EXPECT_FALSE(high->has_value());  // released: counters start afresh
}

INSTANTIATE_BACKENDS(BackendRollout);
INSTANTIATE_BACKENDS(BackendSetupCodes);
INSTANTIATE_BACKENDS(BackendGuard);

}  // namespace
}  // namespace secprof::registry
