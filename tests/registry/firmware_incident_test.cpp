// Tests for the registry's schema v2 (issue 5): firmware versions, incidents and their link to
// campaigns, the migration of a v1 file, and the audit chain over every v2 action.
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
