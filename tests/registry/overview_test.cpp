// Tests for the owner's read-only views (secprof/registry/overview.h; issue 13 item 3): when the
// KDC last heard from a thing (LastSeen) from each kind of contact it records, the
// per-thing overview `secprof kdc list` prints, and the per-target campaign overview `secprof kdc
// campaign status` prints. A fake clock makes every time exact.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "secprof/core/clock.h"
#include "secprof/registry/overview.h"
#include "secprof/registry/registry.h"
#include "testutil.h"

namespace secprof::registry {
namespace {

using secprof::testing::TempDir;
using namespace std::chrono_literals;

constexpr int64_t kStart = 1'700'000'000;

CommissionInput Psk(const std::string& id) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = id;
  in.credential_fingerprint = std::string(63, 'a') + (id.back() == '1' ? "1" : "2");
  in.wrapped_key = Bytes(48, 7);
  return in;
}

class Overview : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Registry::Open((dir_.path() / "r.db").string(), clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
    ASSERT_TRUE(reg_->InitDomain("SecProf_2", "owner"));
    for (const char* s : {"t1", "t2"}) ASSERT_TRUE(reg_->Allow(s, "acme", "bulb", {}, "owner"));
  }
  // Moves the fake clock to kStart + s.
  void At(int64_t s) {
    clock_.Advance(
        std::chrono::seconds(kStart + s) -
        std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()));
  }

  TempDir dir_;
  FakeClock clock_{std::chrono::system_clock::time_point(std::chrono::seconds(kStart))};
  std::unique_ptr<Registry> reg_;
};

TEST_F(Overview, LastSeenIsTheNewestContactOfTheThingItself) {
  // Allowed by the owner, never in contact: no time (the owner's actions are not the thing's).
  auto seen = LastSeen(*reg_, "t1");
  ASSERT_TRUE(seen) << seen.error().ToString();
  EXPECT_FALSE(seen->has_value());

  At(10);  // the join
  ASSERT_TRUE(reg_->Commission("t1", Psk("id-1"), "kdc"));
  EXPECT_EQ(*LastSeen(*reg_, "t1"), kStart + 10);
  At(20);  // an owner's action on the thing is not contact
  ASSERT_TRUE(reg_->CreateGroup("lights", Bytes(48, 1), "owner"));
  ASSERT_TRUE(reg_->AddMember("lights", "t1", "owner"));
  EXPECT_EQ(*LastSeen(*reg_, "t1"), kStart + 10);
  At(30);  // a state it reported itself (actor = its serial)
  ASSERT_TRUE(reg_->Transition("t1", State::kOperational, "t1", "reported by the thing"));
  EXPECT_EQ(*LastSeen(*reg_, "t1"), kStart + 30);
  At(40);  // a reading
  ASSERT_TRUE(reg_->AdvanceReadingCounter("t1", 1));
  EXPECT_EQ(*LastSeen(*reg_, "t1"), kStart + 40);
  At(50);  // a firmware offer request (its running version)
  ASSERT_TRUE(reg_->SetFirmwareVersion("t1", 3));
  EXPECT_EQ(*LastSeen(*reg_, "t1"), kStart + 50);
  // The other thing saw none of it; an unknown serial is kNotFound, a malformed one bad input.
  EXPECT_FALSE(LastSeen(*reg_, "t2")->has_value());
  EXPECT_EQ(LastSeen(*reg_, "nosuch").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(LastSeen(*reg_, "").error().code(), ErrorCode::kInvalidInput);

  auto list = ListOverview(*reg_);
  ASSERT_TRUE(list) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  const ThingOverview& t1 = (*list)[0];
  EXPECT_EQ(t1.thing.serial, "t1");
  EXPECT_EQ(t1.thing.state, State::kOperational);
  EXPECT_EQ(t1.firmware_sequence, std::optional<uint64_t>(3));
  EXPECT_EQ(t1.last_seen, std::optional<int64_t>(kStart + 50));
  EXPECT_EQ(t1.groups, std::vector<std::string>{"lights"});
  const ThingOverview& t2 = (*list)[1];
  EXPECT_EQ(t2.thing.serial, "t2");
  EXPECT_FALSE(t2.firmware_sequence);
  EXPECT_FALSE(t2.last_seen);
  EXPECT_TRUE(t2.groups.empty());
  // The filter is List's.
  auto allowed = ListOverview(*reg_, State::kAllowed);
  ASSERT_TRUE(allowed);
  ASSERT_EQ(allowed->size(), 1u);
  EXPECT_EQ((*allowed)[0].thing.serial, "t2");
}

TEST_F(Overview, CampaignTargetsCarryStateSequencesLastAttemptAndReason) {
  Firmware fw;
  fw.vendor = "acme";
  fw.model = "bulb";
  fw.sequence = 7;
  fw.envelope = Bytes{1, 2, 3};
  fw.image_path = "/fw/bulb-7.bin";
  fw.image_size = 100;
  fw.image_digest = std::string(64, 'b');
  auto id = reg_->AddFirmware(fw, "owner");
  ASSERT_TRUE(id) << id.error().ToString();
  for (const char* s : {"t1", "t2"}) {
    ASSERT_TRUE(reg_->Commission(s, Psk(std::string("id-") + s[1]), "kdc"));
    ASSERT_TRUE(reg_->Transition(s, State::kOperational, s, "reported by the thing"));
    ASSERT_TRUE(reg_->SetFirmwareVersion(s, 6));
  }
  At(100);
  auto c = reg_->StartCampaign(*id, {"t1", "t2"}, 1, 1.0, "owner");
  ASSERT_TRUE(c) << c.error().ToString();
  At(200);  // t1 fails its test boot and keeps running 6
  ASSERT_TRUE(reg_->ReportInstall(*c, "t1", false, "test boot failed", "t1", 6));

  auto o = GetCampaignOverview(*reg_, *c);
  ASSERT_TRUE(o) << o.error().ToString();
  EXPECT_EQ(o->campaign.id, *c);
  EXPECT_EQ(o->firmware.sequence, 7u);
  EXPECT_TRUE(o->firmware.envelope.empty());  // not carried into a status view
  EXPECT_EQ(o->counts.at("failed"), 1);
  EXPECT_EQ(o->counts.at("offered"), 1);  // t2 released after t1's stage reported
  EXPECT_EQ(o->counts.at("waiting"), 0);
  EXPECT_EQ(o->counts.at("installed"), 0);
  ASSERT_EQ(o->targets.size(), 2u);
  const TargetOverview& t1 = o->targets[0];
  EXPECT_EQ(t1.serial, "t1");
  EXPECT_EQ(t1.status, TargetStatus::kFailed);
  EXPECT_EQ(t1.thing_state, State::kOperational);
  EXPECT_EQ(t1.running_sequence, std::optional<uint64_t>(6));
  EXPECT_EQ(t1.last_attempt, std::optional<int64_t>(kStart + 200));
  EXPECT_EQ(t1.reason, "test boot failed");
  const TargetOverview& t2 = o->targets[1];
  EXPECT_EQ(t2.serial, "t2");
  EXPECT_EQ(t2.status, TargetStatus::kOffered);
  EXPECT_FALSE(t2.last_attempt);  // offered, not tried yet
  EXPECT_EQ(t2.updated, kStart + 200);
  EXPECT_TRUE(t2.reason.empty());

  auto all = ListCampaignOverviews(*reg_);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].targets.size(), 2u);
  EXPECT_EQ(GetCampaignOverview(*reg_, 99).error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace secprof::registry
