// Tests for the registry's schema v2 (issue 5): the firmware store, campaigns with a staged
// rollout, install reports, firmware versions, incidents, and the migration of a v1 file. Every
// refusal is checked to change nothing by comparing a dump of every row before and after.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "../../src/registry/schema.h"  // the v1 migration, to build a v1 file exactly as v1 did
#include "secprof/crypto/hash.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry {
namespace {

using secprof::testing::TempDir;
using namespace std::chrono_literals;

constexpr int64_t kStart = 1'700'000'000;
constexpr uint64_t kTooBig = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1;

std::string Hex(const crypto::Sha256Digest& d) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

std::string Digest(const std::string& seed) {
  return Hex(*crypto::Sha256(
      crypto::ByteView(reinterpret_cast<const uint8_t*>(seed.data()), seed.size())));
}

Firmware MakeFirmware(uint64_t sequence, const std::string& model = "bulb") {
  Firmware fw;
  fw.vendor = "acme";
  fw.model = model;
  fw.sequence = sequence;
  fw.envelope = Bytes{0xd8, 0x6b, 0xa2, static_cast<uint8_t>(sequence)};
  fw.image_path = "/var/lib/secprof/fw/" + model + "-" + std::to_string(sequence) + ".bin";
  fw.image_size = 4096 + sequence;
  fw.image_digest = Digest(model + std::to_string(sequence));
  return fw;
}

CommissionInput Psk(const std::string& id) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = id;
  in.credential_fingerprint = Digest("psk:" + id);
  in.wrapped_key = Bytes(48, 7);
  return in;
}

// The documented audit hash (docs/REGISTRY.md), computed independently of the implementation.
crypto::Sha256Digest EntryHash(const crypto::Sha256Digest& prev, int64_t seq, int64_t time,
                               const std::string& actor, const std::string& action,
                               const std::string& serial, const std::string& detail) {
  Bytes in(prev.begin(), prev.end());
  auto u64 = [&](uint64_t v) {
    for (int i = 7; i >= 0; --i) in.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto lp = [&](const std::string& s) {
    for (int i = 3; i >= 0; --i) in.push_back(static_cast<uint8_t>(s.size() >> (8 * i)));
    in.insert(in.end(), s.begin(), s.end());
  };
  u64(static_cast<uint64_t>(seq));
  u64(static_cast<uint64_t>(time));
  lp(actor);
  lp(action);
  lp(serial);
  lp(detail);
  return *crypto::Sha256(in);
}

// Every row of every table (sorted), as text: equal dumps mean nothing changed.
std::vector<std::string> Dump(store::Database& db) {
  std::vector<std::string> tables;
  {
    auto st = db.Prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    EXPECT_TRUE(st);
    while (*st->Step()) tables.push_back(st->Text(0));
  }
  std::vector<std::string> out;
  for (const std::string& t : tables) {
    auto st = db.Prepare("SELECT * FROM \"" + t + "\"");
    EXPECT_TRUE(st) << t;
    std::vector<std::string> rows;
    while (*st->Step()) {
      std::string row = t + ":";
      for (int c = 0; c < st->ColumnCount(); ++c) {
        if (st->IsNull(c)) {
          row += "|NULL";
        } else {
          Bytes b = st->Blob(c);
          row += "|" + std::string(b.begin(), b.end());
        }
      }
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
    out.insert(out.end(), rows.begin(), rows.end());
  }
  out.push_back("user_version " + std::to_string(*db.UserVersion()));
  return out;
}

class RegistryFirmwareTest : public ::testing::Test {
 protected:
  RegistryFirmwareTest()
      : clock_(std::chrono::system_clock::time_point(std::chrono::seconds(kStart))) {}
  void SetUp() override {
    path_ = (dir_.path() / "kdc.db").string();
    auto r = Registry::Open(path_, clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
  }
  void TearDown() override {
    if (reg_) {
      auto v = reg_->VerifyAuditChain();
      EXPECT_TRUE(v) << v.error().ToString();
      EXPECT_TRUE(reg_->database().IntegrityCheck());
    }
  }
  std::vector<std::string> Snapshot() { return Dump(reg_->database()); }
  // An operational thing of acme/`model`.
  void Thing(const std::string& serial, const std::string& model = "bulb") {
    ASSERT_TRUE(reg_->Allow(serial, "acme", model, std::nullopt, "owner"));
    ASSERT_TRUE(reg_->Commission(serial, Psk("psk-" + serial), "kdc"));
    ASSERT_TRUE(reg_->Transition(serial, State::kOperational, "kdc", ""));
  }
  int64_t AddFw(uint64_t sequence, const std::string& model = "bulb") {
    auto id = reg_->AddFirmware(MakeFirmware(sequence, model), "owner");
    EXPECT_TRUE(id) << id.error().ToString();
    return id ? *id : 0;
  }
  std::vector<AuditEntry> Actions(const std::string& action) {
    auto a = reg_->Audit();
    EXPECT_TRUE(a);
    std::vector<AuditEntry> out;
    for (const auto& e : *a) {
      if (e.action == action) out.push_back(e);
    }
    return out;
  }
  std::vector<TargetStatus> Statuses(int64_t campaign) {
    auto t = reg_->CampaignTargets(campaign);
    EXPECT_TRUE(t) << t.error().ToString();
    std::vector<TargetStatus> out;
    for (const auto& x : *t) out.push_back(x.status);
    return out;
  }
  // Expects `status` to fail with `code` and to leave every row as it was.
  template <class R>
  void ExpectRefused(const std::vector<std::string>& before, const R& result, ErrorCode code,
                     const std::string& message_part = "") {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), code) << result.error().ToString();
    if (!message_part.empty()) {
      EXPECT_NE(result.error().message().find(message_part), std::string::npos)
          << result.error().message();
    }
    EXPECT_EQ(Snapshot(), before);
  }

  TempDir dir_;
  FakeClock clock_;
  std::string path_;
  std::unique_ptr<Registry> reg_;
};

using W = TargetStatus;
constexpr W kW = TargetStatus::kWaiting, kO = TargetStatus::kOffered, kI = TargetStatus::kInstalled,
            kF = TargetStatus::kFailed;

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

// --- firmware versions ---------------------------------------------------------------------------

TEST_F(RegistryFirmwareTest, FirmwareVersions) {
  Thing("t1");
  auto v = reg_->FirmwareVersion("t1");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, std::nullopt);
  const auto audit = reg_->Audit()->size();
  ASSERT_TRUE(reg_->SetFirmwareVersion("t1", 5));
  EXPECT_EQ(*reg_->FirmwareVersion("t1"), std::optional<uint64_t>(5));
  ASSERT_TRUE(reg_->SetFirmwareVersion("t1", 3));  // a report: stored as given
  EXPECT_EQ(*reg_->FirmwareVersion("t1"), std::optional<uint64_t>(3));
  ASSERT_TRUE(reg_->SetFirmwareVersion("t1", kTooBig - 1));
  EXPECT_EQ(*reg_->FirmwareVersion("t1"), std::optional<uint64_t>(kTooBig - 1));
  EXPECT_EQ(reg_->Audit()->size(), audit);  // not audited

  const auto before = Snapshot();
  ExpectRefused(before, reg_->SetFirmwareVersion("ghost", 1), ErrorCode::kNotFound);
  ExpectRefused(before, reg_->SetFirmwareVersion("t1", kTooBig), ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->SetFirmwareVersion("", 1), ErrorCode::kInvalidInput);
  auto ghost = reg_->FirmwareVersion("ghost");
  ASSERT_FALSE(ghost);
  EXPECT_EQ(ghost.error().code(), ErrorCode::kNotFound);
}

// --- incidents -----------------------------------------------------------------------------------

Incident MakeIncident(uint64_t min, uint64_t max, const std::string& severity = "high") {
  Incident in;
  in.vendor = "acme";
  in.model = "bulb";
  in.min_sequence = min;
  in.max_sequence = max;
  in.severity = severity;
  in.description = "CVE-2024-0001: heap overflow in the CoAP parser";
  return in;
}

TEST_F(RegistryFirmwareTest, RecordGetListIncidents) {
  Incident in = MakeIncident(1, 4);
  in.id = 9;
  in.created = 3;
  in.campaign_id = 8;  // all ignored
  clock_.Advance(7s);
  auto id = reg_->RecordIncident(in, "owner");
  ASSERT_TRUE(id) << id.error().ToString();
  EXPECT_EQ(*id, 1);
  for (const char* sev : {"low", "medium", "critical"}) {
    ASSERT_TRUE(reg_->RecordIncident(MakeIncident(2, 2, sev), "owner")) << sev;
  }
  auto got = reg_->GetIncident(1);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, 1);
  EXPECT_EQ(got->vendor, "acme");
  EXPECT_EQ(got->model, "bulb");
  EXPECT_EQ(got->min_sequence, 1u);
  EXPECT_EQ(got->max_sequence, 4u);
  EXPECT_EQ(got->severity, "high");
  EXPECT_EQ(got->description, in.description);
  EXPECT_EQ(got->created, kStart + 7);
  EXPECT_EQ(got->campaign_id, 0);
  auto list = reg_->ListIncidents();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[3].severity, "critical");
  EXPECT_EQ((*list)[3].id, 4);
  auto recorded = Actions("incident-recorded");
  ASSERT_EQ(recorded.size(), 4u);
  EXPECT_NE(recorded[0].detail.find("high"), std::string::npos);
  auto missing = reg_->GetIncident(5);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);

  const auto before = Snapshot();
  ExpectRefused(before, reg_->RecordIncident(MakeIncident(5, 4), "owner"),
                ErrorCode::kInvalidInput);
  for (const char* sev : {"", "High", "severe", "low "}) {
    ExpectRefused(before, reg_->RecordIncident(MakeIncident(1, 4, sev), "owner"),
                  ErrorCode::kInvalidInput);
  }
  Incident e = MakeIncident(1, 4);
  e.vendor.clear();
  ExpectRefused(before, reg_->RecordIncident(e, "owner"), ErrorCode::kInvalidInput);
  e = MakeIncident(1, 4);
  e.model.clear();
  ExpectRefused(before, reg_->RecordIncident(e, "owner"), ErrorCode::kInvalidInput);
  e = MakeIncident(1, 4);
  e.description.clear();
  ExpectRefused(before, reg_->RecordIncident(e, "owner"), ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->RecordIncident(MakeIncident(1, kTooBig), "owner"),
                ErrorCode::kInvalidInput);
  ExpectRefused(before, reg_->RecordIncident(MakeIncident(1, 4), ""), ErrorCode::kInvalidInput);
}

TEST_F(RegistryFirmwareTest, AffectedBy) {
  Thing("a");  // version 3: in range
  ASSERT_TRUE(reg_->SetFirmwareVersion("a", 3));
  Thing("b");  // version 5: above
  ASSERT_TRUE(reg_->SetFirmwareVersion("b", 5));
  Thing("c");  // no version known: affected
  Thing("g");  // version 1: the lower bound
  ASSERT_TRUE(reg_->SetFirmwareVersion("g", 1));
  ASSERT_TRUE(reg_->Transition("g", State::kMaintenance, "kdc", ""));
  Thing("h");  // version 4: the upper bound
  ASSERT_TRUE(reg_->SetFirmwareVersion("h", 4));
  Thing("z");  // version 0: below
  ASSERT_TRUE(reg_->SetFirmwareVersion("z", 0));
  ASSERT_TRUE(reg_->Allow("d", "acme", "bulb", std::nullopt, "owner"));  // not active
  ASSERT_TRUE(reg_->SetFirmwareVersion("d", 2));
  Thing("e");  // decommissioned: not active
  ASSERT_TRUE(reg_->SetFirmwareVersion("e", 2));
  ASSERT_TRUE(reg_->Transition("e", State::kDecommissioned, "owner", ""));
  Thing("f", "plug");  // another model
  ASSERT_TRUE(reg_->SetFirmwareVersion("f", 2));
  ASSERT_TRUE(reg_->Allow("k", "other", "bulb", std::nullopt, "owner"));  // another vendor
  ASSERT_TRUE(reg_->Commission("k", Psk("psk-k"), "kdc"));
  // Commissioned (active) without a version.
  ASSERT_TRUE(reg_->Allow("m", "acme", "bulb", std::nullopt, "owner"));
  ASSERT_TRUE(reg_->Commission("m", Psk("psk-m"), "kdc"));

  const int64_t id = *reg_->RecordIncident(MakeIncident(1, 4), "owner");
  auto affected = reg_->AffectedBy(id);
  ASSERT_TRUE(affected) << affected.error().ToString();
  EXPECT_EQ(*affected, (std::vector<std::string>{"a", "c", "g", "h", "m"}));

  // After an update out of the range, a thing is no longer affected.
  ASSERT_TRUE(reg_->SetFirmwareVersion("a", 9));
  EXPECT_EQ(*reg_->AffectedBy(id), (std::vector<std::string>{"c", "g", "h", "m"}));

  auto missing = reg_->AffectedBy(id + 1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryFirmwareTest, IncidentsAndCampaignsLink) {
  for (const char* s : {"t1", "t2"}) Thing(s);
  const int64_t fw = AddFw(7);
  const int64_t inc = *reg_->RecordIncident(MakeIncident(1, 6, "critical"), "owner");
  const int64_t inc2 = *reg_->RecordIncident(MakeIncident(1, 2, "low"), "owner");

  // Started for an incident: linked both ways.
  const int64_t c1 = *reg_->StartCampaign(fw, {"t1", "t2"}, 1, 0.5, "owner", inc);
  EXPECT_EQ(reg_->GetCampaign(c1)->incident_id, inc);
  EXPECT_EQ(reg_->GetIncident(inc)->campaign_id, c1);
  auto started = Actions("campaign-started");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_NE(started[0].detail.find("incident " + std::to_string(inc)), std::string::npos);

  // A later campaign linked afterwards: the incident points at the latest.
  const int64_t c2 = *reg_->StartCampaign(fw, {"t2"}, 1, 0.5, "owner");
  EXPECT_EQ(reg_->GetCampaign(c2)->incident_id, 0);
  ASSERT_TRUE(reg_->LinkIncidentCampaign(inc, c2, "owner"));
  EXPECT_EQ(reg_->GetIncident(inc)->campaign_id, c2);
  EXPECT_EQ(reg_->GetCampaign(c2)->incident_id, inc);
  auto linked = Actions("incident-linked");
  ASSERT_EQ(linked.size(), 1u);
  EXPECT_NE(linked[0].detail.find("was campaign " + std::to_string(c1)), std::string::npos);

  const auto before = Snapshot();
  // Repeating an existing link changes nothing and is Ok.
  ASSERT_TRUE(reg_->LinkIncidentCampaign(inc, c2, "owner"));
  EXPECT_EQ(Snapshot(), before);
  // A campaign answers one incident.
  ExpectRefused(before, reg_->LinkIncidentCampaign(inc2, c2, "owner"), ErrorCode::kConflict);
  ExpectRefused(before, reg_->LinkIncidentCampaign(inc2, c1, "owner"), ErrorCode::kConflict);
  ExpectRefused(before, reg_->LinkIncidentCampaign(99, c2, "owner"), ErrorCode::kNotFound);
  ExpectRefused(before, reg_->LinkIncidentCampaign(inc, 99, "owner"), ErrorCode::kNotFound);
  ExpectRefused(before, reg_->LinkIncidentCampaign(inc, c2, ""), ErrorCode::kInvalidInput);

  // Re-linking the incident to its first campaign (which already answers it) is allowed.
  ASSERT_TRUE(reg_->LinkIncidentCampaign(inc, c1, "owner"));
  EXPECT_EQ(reg_->GetIncident(inc)->campaign_id, c1);
}

// --- migration -----------------------------------------------------------------------------------

// A v1 file built with the v1 migration and v1 rows (a thing, a group, an audit chain) is migrated
// by Open: the new tables appear, nothing old changes, and everything works on it.
TEST(RegistryFirmwareMigration, AV1FileIsMigrated) {
  TempDir dir;
  const std::string path = (dir.path() / "v1.db").string();
  std::vector<std::string> v1_dump;
  {
    auto db = store::Database::Open(path);
    ASSERT_TRUE(db) << db.error().ToString();
    ASSERT_TRUE(store::Migrate(**db, std::span(internal::kMigrations).first(1)));
    ASSERT_EQ(*(*db)->UserVersion(), 1);
    ASSERT_TRUE((*db)->Exec(
        "INSERT INTO things(serial, vendor, model, state, credential_kind, credential_id, "
        "credential_fingerprint, wrapped_key, key_epoch, joins, created, updated, "
        "commissioned_at) VALUES('old-1', 'acme', 'bulb', 'operational', 'psk', 'psk-old-1', '" +
        Digest("x") + "', x'0102', 1, 1, 1700000000, 1700000000, 1700000000)"));
    // Two audit entries chained as v1 did.
    crypto::Sha256Digest prev{};
    const std::pair<const char*, const char*> entries[] = {{"allowed", "acme bulb"},
                                                           {"commissioned", "psk psk-old-1"}};
    int64_t seq = 0;
    for (const auto& [action, detail] : entries) {
      ++seq;
      prev = EntryHash(prev, seq, kStart, "owner", action, "old-1", detail);
      auto st = (*db)->Prepare(
          "INSERT INTO audit(seq, time, actor, action, serial, detail, hash) "
          "VALUES(?, ?, 'owner', ?, 'old-1', ?, ?)");
      ASSERT_TRUE(st);
      ASSERT_TRUE(st->Bind(1, seq));
      ASSERT_TRUE(st->Bind(2, kStart));
      ASSERT_TRUE(st->Bind(3, action));
      ASSERT_TRUE(st->Bind(4, detail));
      ASSERT_TRUE(st->Bind(5, Hex(prev)));
      ASSERT_TRUE(st->Run());
    }
    ASSERT_TRUE(
        (*db)->Exec("INSERT INTO domain(key, value) VALUES('audit_head_seq', '2'), "
                    "('audit_head_hash', '" +
                    Hex(prev) + "')"));
    v1_dump = Dump(**db);
  }

  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(kStart + 100)));
  auto reg = Registry::Open(path, clock);
  ASSERT_TRUE(reg) << reg.error().ToString();
  auto& db = (*reg)->database();
  EXPECT_EQ(*db.UserVersion(), kSchemaVersion);  // migrated through every later version
  EXPECT_TRUE(db.IntegrityCheck());
  EXPECT_TRUE((*reg)->VerifyAuditChain());
  // Every v1 row is still there, unchanged; the v2 tables are new and empty.
  std::vector<std::string> now = Dump(db);
  now.pop_back();
  std::vector<std::string> old = v1_dump;
  old.pop_back();
  EXPECT_EQ(now, old);
  auto old_thing = (*reg)->Get("old-1");
  ASSERT_TRUE(old_thing);
  EXPECT_EQ(old_thing->state, State::kOperational);
  EXPECT_EQ(*(*reg)->FirmwareVersion("old-1"), std::nullopt);

  // v2 operations on the migrated file.
  auto fw = (*reg)->AddFirmware(MakeFirmware(3), "owner");
  ASSERT_TRUE(fw) << fw.error().ToString();
  auto c = (*reg)->StartCampaign(*fw, {"old-1"}, 1, 0.0, "owner");
  ASSERT_TRUE(c) << c.error().ToString();
  auto r = (*reg)->ReportInstall(*c, "old-1", true, "ok", "kdc");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->state, CampaignState::kCompleted);
  EXPECT_EQ(*(*reg)->FirmwareVersion("old-1"), std::optional<uint64_t>(3));
  EXPECT_TRUE((*reg)->VerifyAuditChain());

  // Opening again changes nothing (already at v2).
  const auto before = Dump(db);
  reg->reset();
  auto again = Registry::Open(path, clock);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(Dump((*again)->database()), before);
  EXPECT_TRUE((*again)->VerifyAuditChain());
}

// Everything above on one file, then the chain: every v2 action is in the hash chain.
TEST_F(RegistryFirmwareTest, AuditChainCoversEveryV2Action) {
  for (const char* s : {"t1", "t2", "t3"}) Thing(s);
  const int64_t fw = AddFw(7);
  const int64_t inc = *reg_->RecordIncident(MakeIncident(1, 6), "owner");
  const int64_t c = *reg_->StartCampaign(fw, {"t1", "t2", "t3"}, 1, 0.5, "owner", inc);
  ASSERT_TRUE(reg_->ReportInstall(c, "t1", true, "ok", "kdc"));
  ASSERT_TRUE(reg_->ReportInstall(c, "t2", false, "no", "kdc"));
  ASSERT_TRUE(reg_->ReportInstall(c, "t3", true, "ok", "kdc"));
  const int64_t c2 = *reg_->StartCampaign(fw, {"t2"}, 1, 0.5, "owner");
  ASSERT_TRUE(reg_->LinkIncidentCampaign(inc, c2, "owner"));
  ASSERT_TRUE(reg_->HaltCampaign(c2, "owner stop", "owner"));
  auto v = reg_->VerifyAuditChain();
  ASSERT_TRUE(v) << v.error().ToString();
  for (const char* action : {"firmware-added", "incident-recorded", "campaign-started",
                             "fw-offered", "fw-installed", "fw-failed", "campaign-stage",
                             "campaign-completed", "incident-linked", "campaign-halted"}) {
    EXPECT_FALSE(Actions(action).empty()) << action;
  }
  // The chain still catches an edit of a v2 entry.
  ASSERT_TRUE(reg_->database().Exec("DROP TRIGGER audit_no_update"));
  ASSERT_TRUE(reg_->database().Exec(
      "UPDATE audit SET detail = 'forged' WHERE action = 'campaign-completed'"));
  auto bad = reg_->VerifyAuditChain();
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kVerifyFailed);
  reg_.reset();  // TearDown would verify the chain we just broke
}

}  // namespace
}  // namespace secprof::registry
