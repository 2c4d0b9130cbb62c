// Tests for the registry's schema v2 (issue 5): names and schema, the firmware store, campaigns
// with a staged rollout and install reports. Every refusal is checked to change nothing by
// comparing a dump of every row before and after. Versions, incidents and the v1 migration are in
// firmware_incident_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "../../src/registry/schema.h"  // the v1 migration, to build a v1 file exactly as v1 did
#include "firmware_fixture.h"
#include "secprof/crypto/hash.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry {
namespace {
using namespace firmware_fixture;

// --- names and schema ----------------------------------------------------------------------------

TEST(RegistryFirmwareNames, StatesAndStatuses) {
  EXPECT_STREQ(CampaignStateName(CampaignState::kRunning), "running");
  EXPECT_STREQ(CampaignStateName(CampaignState::kHalted), "halted");
  EXPECT_STREQ(CampaignStateName(CampaignState::kCompleted), "completed");
  EXPECT_STREQ(TargetStatusName(TargetStatus::kWaiting), "waiting");
  EXPECT_STREQ(TargetStatusName(TargetStatus::kOffered), "offered");
  EXPECT_STREQ(TargetStatusName(TargetStatus::kInstalled), "installed");
  EXPECT_STREQ(TargetStatusName(TargetStatus::kFailed), "failed");
}

TEST_F(RegistryFirmwareTest, SchemaVersion2HasTheNewTables) {
  auto& db = reg_->database();
  EXPECT_EQ(*db.UserVersion(), kSchemaVersion);
  EXPECT_GE(kSchemaVersion, 2);
  for (const char* table :
       {"firmware", "campaigns", "campaign_targets", "incidents", "thing_firmware"}) {
    EXPECT_EQ(*db.QueryInt64(std::string("SELECT count(*) FROM sqlite_schema WHERE type = "
                                         "'table' AND name = '") +
                             table + "'"),
              1)
        << table;
  }
}

// --- firmware ------------------------------------------------------------------------------------

TEST_F(RegistryFirmwareTest, AddGetListFirmware) {
  Firmware fw = MakeFirmware(7);
  fw.id = 99;       // ignored
  fw.added = 1234;  // ignored
  auto id = reg_->AddFirmware(fw, "owner");
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(*id, 1);
  clock_.Advance(10s);
  auto id2 = reg_->AddFirmware(MakeFirmware(8), "owner");
  ASSERT_TRUE(id2);
  EXPECT_EQ(*id2, 2);
  // Another model may reuse the sequence number.
  ASSERT_TRUE(reg_->AddFirmware(MakeFirmware(7, "plug"), "owner"));

  auto got = reg_->GetFirmware(1);
  ASSERT_TRUE(got) << got.error().ToString();
  EXPECT_EQ(got->id, 1);
  EXPECT_EQ(got->vendor, "acme");
  EXPECT_EQ(got->model, "bulb");
  EXPECT_EQ(got->sequence, 7u);
  EXPECT_EQ(got->envelope, fw.envelope);
  EXPECT_EQ(got->image_path, fw.image_path);
  EXPECT_EQ(got->image_size, fw.image_size);
  EXPECT_EQ(got->image_digest, fw.image_digest);
  EXPECT_EQ(got->added, kStart);

  auto list = reg_->ListFirmware();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, 1);
  EXPECT_EQ((*list)[1].id, 2);
  EXPECT_EQ((*list)[1].added, kStart + 10);
  EXPECT_EQ((*list)[2].model, "plug");

  auto added = Actions("firmware-added");
  ASSERT_EQ(added.size(), 3u);
  EXPECT_EQ(added[0].actor, "owner");
  EXPECT_EQ(added[0].detail.rfind("acme bulb 7 " + fw.image_digest, 0), 0u) << added[0].detail;

  // The largest sequence SQLite can hold is accepted and read back.
  Firmware big = MakeFirmware(1);
  big.sequence = kTooBig - 1;
  auto bid = reg_->AddFirmware(big, "owner");
  ASSERT_TRUE(bid) << bid.error().ToString();
  EXPECT_EQ(reg_->GetFirmware(*bid)->sequence, kTooBig - 1);

  auto missing = reg_->GetFirmware(42);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryFirmwareTest, AddFirmwareRefusalsChangeNothing) {
  AddFw(7);
  const auto before = Snapshot();
  ExpectRefused(before, reg_->AddFirmware(MakeFirmware(7), "owner"), ErrorCode::kConflict,
                "exists");
  struct Case {
    const char* what;
    void (*edit)(Firmware&);
  };
  const Case cases[] = {
      {"empty vendor", [](Firmware& f) { f.vendor.clear(); }},
      {"empty model", [](Firmware& f) { f.model.clear(); }},
      {"control char in vendor", [](Firmware& f) { f.vendor = "ac\nme"; }},
      {"empty envelope", [](Firmware& f) { f.envelope.clear(); }},
      {"envelope over 1 MiB", [](Firmware& f) { f.envelope.assign(1024 * 1024 + 1, 1); }},
      {"empty image path", [](Firmware& f) { f.image_path.clear(); }},
      {"image size 0", [](Firmware& f) { f.image_size = 0; }},
      {"image size too big", [](Firmware& f) { f.image_size = kTooBig; }},
      {"sequence too big", [](Firmware& f) { f.sequence = kTooBig; }},
      {"empty digest", [](Firmware& f) { f.image_digest.clear(); }},
      {"short digest", [](Firmware& f) { f.image_digest.pop_back(); }},
      {"long digest", [](Firmware& f) { f.image_digest += "0"; }},
      {"upper-case digest",
       [](Firmware& f) {
         std::transform(f.image_digest.begin(), f.image_digest.end(), f.image_digest.begin(),
                        [](char c) { return static_cast<char>(std::toupper(c)); });
       }},
      {"non-hex digest", [](Firmware& f) { f.image_digest[0] = 'g'; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Firmware fw = MakeFirmware(8);
    c.edit(fw);
    ExpectRefused(before, reg_->AddFirmware(fw, "owner"), ErrorCode::kInvalidInput);
  }
  ExpectRefused(before, reg_->AddFirmware(MakeFirmware(8), ""), ErrorCode::kInvalidInput);
}

// --- campaigns -----------------------------------------------------------------------------------

TEST_F(RegistryFirmwareTest, StartCampaignReleasesTheFirstStage) {
  for (const char* s : {"t1", "t2", "t3", "t4", "t5"}) Thing(s);
  const int64_t fw = AddFw(7);
  clock_.Advance(5s);
  auto id = reg_->StartCampaign(fw, {"t3", "t1", "t5", "t2", "t4"}, 2, 0.5, "owner");
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(*id, 1);

  auto c = reg_->GetCampaign(*id);
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->id, 1);
  EXPECT_EQ(c->firmware_id, fw);
  EXPECT_EQ(c->state, CampaignState::kRunning);
  EXPECT_EQ(c->stage_size, 2);
  EXPECT_EQ(c->max_failure_rate, 0.5);
  EXPECT_EQ(c->released, 2);
  EXPECT_EQ(c->reason, "");
  EXPECT_EQ(c->incident_id, 0);
  EXPECT_EQ(c->created, kStart + 5);
  EXPECT_EQ(c->updated, kStart + 5);

  // Targets in the order given; the first stage_size offered.
  auto targets = reg_->CampaignTargets(*id);
  ASSERT_TRUE(targets);
  std::vector<std::string> serials;
  for (const auto& t : *targets) serials.push_back(t.serial);
  EXPECT_EQ(serials, (std::vector<std::string>{"t3", "t1", "t5", "t2", "t4"}));
  EXPECT_EQ(Statuses(*id), (std::vector<W>{kO, kO, kW, kW, kW}));
  EXPECT_EQ((*targets)[0].updated, kStart + 5);
  EXPECT_EQ((*targets)[0].detail, "");

  ASSERT_EQ(Actions("campaign-started").size(), 1u);
  auto offered = Actions("fw-offered");
  ASSERT_EQ(offered.size(), 2u);
  EXPECT_EQ(offered[0].serial, "t3");
  EXPECT_EQ(offered[1].serial, "t1");

  // A stage larger than the campaign releases everything.
  auto all = reg_->StartCampaign(fw, {"t1", "t2"}, 10, 1.0, "owner");
  ASSERT_TRUE(all);
  EXPECT_EQ(reg_->GetCampaign(*all)->released, 2);
  EXPECT_EQ(Statuses(*all), (std::vector<W>{kO, kO}));

  auto list = reg_->ListCampaigns();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, 1);
  EXPECT_EQ((*list)[1].id, 2);
  EXPECT_EQ((*list)[1].max_failure_rate, 1.0);

  for (int64_t bad : {0, 3, -1}) {
    auto g = reg_->GetCampaign(bad);
    ASSERT_FALSE(g);
    EXPECT_EQ(g.error().code(), ErrorCode::kNotFound);
    auto t = reg_->CampaignTargets(bad);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code(), ErrorCode::kNotFound);
  }
}

TEST_F(RegistryFirmwareTest, FailureRateReadsBackExactly) {
  Thing("t1");
  const int64_t fw = AddFw(7);
  for (double rate : {0.0, 0.1, 0.2, 1.0 / 3.0, 0.123456789012345678, 1.0}) {
    auto id = reg_->StartCampaign(fw, {"t1"}, 1, rate, "owner");
    ASSERT_TRUE(id) << id.error().ToString();
    EXPECT_EQ(reg_->GetCampaign(*id)->max_failure_rate, rate);
  }
}

TEST_F(RegistryFirmwareTest, StartCampaignRefusalsChangeNothing) {
  Thing("t1");
  Thing("t2");
  Thing("p1", "plug");
  const int64_t fw = AddFw(7);
  const auto before = Snapshot();
  ExpectRefused(before, reg_->StartCampaign(fw + 1, {"t1"}, 1, 0.5, "owner"), ErrorCode::kNotFound,
                "firmware");
  ExpectRefused(before, reg_->StartCampaign(fw, {}, 1, 0.5, "owner"), ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1", "t2", "t1"}, 1, 0.5, "owner"),
                ErrorCode::kInvalidInput, "t1");
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1", "ghost", "t2"}, 1, 0.5, "owner"),
                ErrorCode::kNotFound, "ghost");
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1", "p1"}, 1, 0.5, "owner"),
                ErrorCode::kConflict, "p1");
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1", "bad serial"}, 1, 0.5, "owner"),
                ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1"}, 0, 0.5, "owner"), ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1"}, -3, 0.5, "owner"),
                ErrorCode::kInvalidInput);
  for (double rate : {-0.01, 1.01, std::nan(""), std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(rate);
    ExpectRefused(before, reg_->StartCampaign(fw, {"t1"}, 1, rate, "owner"),
                  ErrorCode::kInvalidInput);
  }
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1"}, 1, 0.5, "owner", 5), ErrorCode::kNotFound,
                "incident");
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1"}, 1, 0.5, "owner", -1),
                ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->StartCampaign(fw, {"t1"}, 1, 0.5, ""), ErrorCode::kInvalidInput);
}

TEST_F(RegistryFirmwareTest, OfferFor) {
  for (const char* s : {"t1", "t2", "t3"}) Thing(s);
  const int64_t fw7 = AddFw(7), fw8 = AddFw(8);
  auto none = reg_->OfferFor("t1");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  const int64_t c1 = *reg_->StartCampaign(fw7, {"t1", "t2"}, 1, 0.5, "owner");
  const int64_t c2 = *reg_->StartCampaign(fw8, {"t2", "t1", "t3"}, 3, 0.5, "owner");
  // t1 is offered in both: the oldest running campaign wins.
  auto o1 = reg_->OfferFor("t1");
  ASSERT_TRUE(o1) << o1.error().ToString();
  ASSERT_TRUE(*o1);
  EXPECT_EQ((*o1)->first.id, c1);
  EXPECT_EQ((*o1)->second.id, fw7);
  EXPECT_EQ((*o1)->second.sequence, 7u);
  EXPECT_EQ((*o1)->second.envelope, MakeFirmware(7).envelope);
  // t2 waits in c1 but is offered in c2.
  auto o2 = reg_->OfferFor("t2");
  ASSERT_TRUE(o2 && *o2);
  EXPECT_EQ((*o2)->first.id, c2);
  EXPECT_EQ((*o2)->second.id, fw8);
  // Unknown and malformed serials.
  auto ghost = reg_->OfferFor("ghost");
  ASSERT_TRUE(ghost);
  EXPECT_FALSE(*ghost);
  auto bad = reg_->OfferFor("");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
  // A halted campaign is offered no more; the next running one is.
  ASSERT_TRUE(reg_->HaltCampaign(c1, "bad batch", "owner"));
  auto after = reg_->OfferFor("t1");
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->first.id, c2);
  // Reported: not offered any more.
  ASSERT_TRUE(reg_->ReportInstall(c2, "t1", true, "ok", "kdc"));
  auto done = reg_->OfferFor("t1");
  ASSERT_TRUE(done);
  EXPECT_FALSE(*done);
}

// The example of the brief: stage 2 of 5 targets, one failure under 0.5 releases the next stage,
// then completion.
TEST_F(RegistryFirmwareTest, StagedRolloutReleasesAndCompletes) {
  for (const char* s : {"t1", "t2", "t3", "t4", "t5"}) Thing(s);
  const int64_t fw = AddFw(7);
  const int64_t id = *reg_->StartCampaign(fw, {"t1", "t2", "t3", "t4", "t5"}, 2, 0.5, "owner");

  clock_.Advance(60s);
  auto r1 = reg_->ReportInstall(id, "t1", true, "installed sequence 7 in slot b", "kdc");
  ASSERT_TRUE(r1) << r1.error().ToString();
  EXPECT_EQ(r1->state, CampaignState::kRunning);
  EXPECT_EQ(r1->released, 2);  // t2 has not reported: the stage is not done
  EXPECT_EQ(r1->updated, kStart + 60);
  EXPECT_EQ(Statuses(id), (std::vector<W>{kI, kO, kW, kW, kW}));
  EXPECT_EQ(*reg_->FirmwareVersion("t1"), std::optional<uint64_t>(7));

  auto r2 = reg_->ReportInstall(id, "t2", false, "digest mismatch", "kdc");
  ASSERT_TRUE(r2) << r2.error().ToString();
  // rate 1/2 = 0.5, not above 0.5: the next stage is released.
  EXPECT_EQ(r2->state, CampaignState::kRunning);
  EXPECT_EQ(r2->released, 4);
  EXPECT_EQ(Statuses(id), (std::vector<W>{kI, kF, kO, kO, kW}));
  EXPECT_EQ(*reg_->FirmwareVersion("t2"), std::nullopt);  // a failure sets no version
  auto stages = Actions("campaign-stage");
  ASSERT_EQ(stages.size(), 1u);
  EXPECT_NE(stages[0].detail.find("stage 2: 2 released"), std::string::npos) << stages[0].detail;
  auto offered = Actions("fw-offered");
  ASSERT_EQ(offered.size(), 4u);
  EXPECT_EQ(offered[2].serial, "t3");
  EXPECT_EQ(offered[3].serial, "t4");
  auto failed = Actions("fw-failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].serial, "t2");
  EXPECT_NE(failed[0].detail.find("digest mismatch"), std::string::npos);
  auto targets = *reg_->CampaignTargets(id);
  EXPECT_EQ(targets[1].detail, "digest mismatch");

  ASSERT_TRUE(reg_->ReportInstall(id, "t3", true, "ok", "kdc"));
  auto r4 = reg_->ReportInstall(id, "t4", true, "ok", "kdc");
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->released, 5);  // 1/4 failed: the last stage (one target)
  EXPECT_EQ(Statuses(id), (std::vector<W>{kI, kF, kI, kI, kO}));
  auto r5 = reg_->ReportInstall(id, "t5", true, "ok", "kdc");
  ASSERT_TRUE(r5);
  EXPECT_EQ(r5->state, CampaignState::kCompleted);
  EXPECT_EQ(r5->reason, "");
  EXPECT_EQ(Statuses(id), (std::vector<W>{kI, kF, kI, kI, kI}));
  EXPECT_EQ(Actions("campaign-stage").size(), 2u);
  auto completed = Actions("campaign-completed");
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_NE(completed[0].detail.find("4 installed, 1 failed"), std::string::npos);
  EXPECT_EQ(Actions("fw-installed").size(), 4u);
  for (const char* s : {"t1", "t3", "t4", "t5"}) {
    EXPECT_EQ(*reg_->FirmwareVersion(s), std::optional<uint64_t>(7)) << s;
  }
  // A completed campaign cannot be halted.
  const auto before = Snapshot();
  ExpectRefused(before, reg_->HaltCampaign(id, "too late", "owner"), ErrorCode::kConflict);
}

TEST_F(RegistryFirmwareTest, StagedRolloutHaltsOverTheThreshold) {
  for (const char* s : {"t1", "t2", "t3", "t4", "t5"}) Thing(s);
  const int64_t fw = AddFw(7);
  const int64_t id = *reg_->StartCampaign(fw, {"t1", "t2", "t3", "t4", "t5"}, 2, 0.2, "owner");
  ASSERT_TRUE(reg_->ReportInstall(id, "t1", true, "ok", "kdc"));
  auto r = reg_->ReportInstall(id, "t2", false, "boot failed", "kdc");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->state, CampaignState::kHalted);
  EXPECT_EQ(r->reason, "failure rate 0.50 > 0.20 after 2 reports");
  EXPECT_EQ(r->released, 2);
  EXPECT_EQ(Statuses(id), (std::vector<W>{kI, kF, kW, kW, kW}));  // waiting stay waiting
  auto halted = Actions("campaign-halted");
  ASSERT_EQ(halted.size(), 1u);
  EXPECT_NE(halted[0].detail.find("failure rate 0.50 > 0.20 after 2 reports"), std::string::npos);
  EXPECT_TRUE(Actions("campaign-stage").empty());
  for (const char* s : {"t3", "t4", "t5"}) {
    auto o = reg_->OfferFor(s);
    ASSERT_TRUE(o);
    EXPECT_FALSE(*o) << s;
  }
  // A waiting target of a halted campaign cannot report.
  const auto before = Snapshot();
  ExpectRefused(before, reg_->ReportInstall(id, "t3", true, "ok", "kdc"), ErrorCode::kConflict);
  ExpectRefused(before, reg_->HaltCampaign(id, "again", "owner"), ErrorCode::kConflict);
}

// The brief's reason text: 2 of 5 failed in one stage over a 0.2 threshold. The halt check comes
// before completion, so the last stage over the threshold ends halted.
TEST_F(RegistryFirmwareTest, LastStageOverTheThresholdHalts) {
  for (const char* s : {"t1", "t2", "t3", "t4", "t5"}) Thing(s);
  const int64_t id = *reg_->StartCampaign(AddFw(7), {"t1", "t2", "t3", "t4", "t5"}, 5, 0.2, "o");
  for (const char* s : {"t1", "t2", "t3"}) ASSERT_TRUE(reg_->ReportInstall(id, s, true, "", "k"));
  ASSERT_TRUE(reg_->ReportInstall(id, "t4", false, "", "k"));
  auto r = reg_->ReportInstall(id, "t5", false, "", "k");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, CampaignState::kHalted);
  EXPECT_EQ(r->reason, "failure rate 0.40 > 0.20 after 5 reports");
  EXPECT_TRUE(Actions("campaign-completed").empty());
}

// Exactly at the threshold is not over it; rate 0 with threshold 0 completes.
TEST_F(RegistryFirmwareTest, ThresholdBoundaries) {
  for (const char* s : {"t1", "t2", "t3", "t4", "t5"}) Thing(s);
  const int64_t fw = AddFw(7);
  const int64_t a = *reg_->StartCampaign(fw, {"t1", "t2", "t3", "t4", "t5"}, 5, 0.2, "o");
  for (const char* s : {"t1", "t2", "t3", "t4"})
    ASSERT_TRUE(reg_->ReportInstall(a, s, true, "", "k"));
  auto ra = reg_->ReportInstall(a, "t5", false, "", "k");
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->state, CampaignState::kCompleted);  // 1/5 = 0.2, not > 0.2

  const int64_t b = *reg_->StartCampaign(fw, {"t1", "t2"}, 1, 0.0, "o");
  auto rb = reg_->ReportInstall(b, "t1", true, "", "k");
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->state, CampaignState::kRunning);
  EXPECT_EQ(rb->released, 2);
  rb = reg_->ReportInstall(b, "t2", true, "", "k");
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->state, CampaignState::kCompleted);

  const int64_t c = *reg_->StartCampaign(fw, {"t1", "t2"}, 1, 0.0, "o");
  auto rc = reg_->ReportInstall(c, "t1", false, "", "k");
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->state, CampaignState::kHalted);
  EXPECT_EQ(rc->reason, "failure rate 1.00 > 0.00 after 1 reports");

  const int64_t d = *reg_->StartCampaign(fw, {"t1", "t2"}, 1, 1.0, "o");
  ASSERT_TRUE(reg_->ReportInstall(d, "t1", false, "", "k"));
  auto rd = reg_->ReportInstall(d, "t2", false, "", "k");
  ASSERT_TRUE(rd);
  EXPECT_EQ(rd->state, CampaignState::kCompleted);  // 1.0 is never exceeded
}

TEST_F(RegistryFirmwareTest, ReportInstallRefusalsChangeNothing) {
  for (const char* s : {"t1", "t2", "t3"}) Thing(s);
  Thing("other");
  const int64_t id = *reg_->StartCampaign(AddFw(7), {"t1", "t2", "t3"}, 2, 0.5, "owner");
  ASSERT_TRUE(reg_->ReportInstall(id, "t1", true, "ok", "kdc"));
  const auto before = Snapshot();
  // A second report, either way.
  ExpectRefused(before, reg_->ReportInstall(id, "t1", true, "ok", "kdc"), ErrorCode::kConflict,
                "already reported installed");
  ExpectRefused(before, reg_->ReportInstall(id, "t1", false, "no", "kdc"), ErrorCode::kConflict);
  // Not released yet.
  auto waiting = reg_->ReportInstall(id, "t3", true, "ok", "kdc");
  ExpectRefused(before, waiting, ErrorCode::kConflict, "not offered");
  EXPECT_TRUE(waiting.error().Is(kNotReleased)) << waiting.error().reason();
  // Not a target; unknown campaign; malformed input.
  ExpectRefused(before, reg_->ReportInstall(id, "other", true, "ok", "kdc"), ErrorCode::kNotFound);
  ExpectRefused(before, reg_->ReportInstall(id, "ghost", true, "ok", "kdc"), ErrorCode::kNotFound);
  ExpectRefused(before, reg_->ReportInstall(id + 1, "t2", true, "ok", "kdc"), ErrorCode::kNotFound);
  ExpectRefused(before, reg_->ReportInstall(id, "", true, "ok", "kdc"), ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->ReportInstall(id, "t2", true, "ok", ""), ErrorCode::kInvalidInput);
  // The thing's report is free text: sanitised, never refused.
  ASSERT_TRUE(reg_->ReportInstall(id, "t2", false, "bad\x1b[0m\nimage", "kdc"));
  EXPECT_EQ((*reg_->CampaignTargets(id))[1].detail, "bad\\x1b[0m\\x0aimage");
  auto failed = Actions("fw-failed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].detail.find(": bad\\x1b[0m\\x0aimage"), std::string::npos)
      << failed[0].detail;  // escaped once, not twice
}

TEST_F(RegistryFirmwareTest, HaltCampaignByTheOwner) {
  for (const char* s : {"t1", "t2", "t3"}) Thing(s);
  const int64_t id = *reg_->StartCampaign(AddFw(7), {"t1", "t2", "t3"}, 2, 0.5, "owner");
  const auto before = Snapshot();
  ExpectRefused(before, reg_->HaltCampaign(id, "", "owner"), ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->HaltCampaign(id, "x", ""), ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->HaltCampaign(id + 1, "x", "owner"), ErrorCode::kNotFound);
  clock_.Advance(30s);
  ASSERT_TRUE(reg_->HaltCampaign(id, "vendor recalled the image", "owner"));
  auto c = *reg_->GetCampaign(id);
  EXPECT_EQ(c.state, CampaignState::kHalted);
  EXPECT_EQ(c.reason, "vendor recalled the image");
  EXPECT_EQ(c.updated, kStart + 30);
  auto halted = Actions("campaign-halted");
  ASSERT_EQ(halted.size(), 1u);
  EXPECT_EQ(halted[0].actor, "owner");
  // An offered target may still report (the install happened); nothing is released.
  auto r = reg_->ReportInstall(id, "t1", true, "ok", "kdc");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->state, CampaignState::kHalted);
  auto r2 = reg_->ReportInstall(id, "t2", true, "ok", "kdc");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->state, CampaignState::kHalted);
  EXPECT_EQ(r2->released, 2);
  EXPECT_EQ(Statuses(id), (std::vector<W>{kI, kI, kW}));
  EXPECT_EQ(*reg_->FirmwareVersion("t1"), std::optional<uint64_t>(7));
  EXPECT_EQ(Actions("campaign-halted").size(), 1u);
}

}  // namespace
}  // namespace secprof::registry
