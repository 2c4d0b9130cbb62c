// Tests for the thing-side installer (secprof/update/install.h): the step order, test-boot failure
// and revert, recovery of each phase, the lock, and the state file's strict decoding.
#include <gtest/gtest.h>

#include <chrono>

#include "install_fixture.h"
#include "install_testutil.h"
#include "secprof/core/clock.h"
#include "testutil.h"

namespace secprof::update {
namespace {
using namespace install_fixture;

// ---- Step order, test boot, revert
// ----------------------------------------------------------------

TEST_F(InstallTest, StepsOutOfOrderAreConflicts) {
  SlotStore s = Fresh();
  EXPECT_EQ(s.TestBoot().error().code(), ErrorCode::kConflict);
  EXPECT_EQ(s.Confirm().error().code(), ErrorCode::kConflict);
  EXPECT_EQ(s.Revert("x").error().code(), ErrorCode::kConflict);
  auto v = s.Verify(MakeEnvelope(2, Image(2)), Image(2));
  ASSERT_TRUE(v);
  ASSERT_TRUE(s.Write(*v, Image(2)));
  EXPECT_EQ(s.Confirm().error().code(), ErrorCode::kConflict);  // no test boot yet
  // A second write while one is pending: refused, nothing changes.
  const auto before = Snapshot(Dir());
  auto v3 = s.Verify(MakeEnvelope(3, Image(3)), Image(3));
  ASSERT_TRUE(v3);
  ExpectRefused(s.Write(*v3, Image(3)), kInstallPending, before, "sequence 2 in slot b");
  ASSERT_TRUE(s.TestBoot());
  EXPECT_EQ(s.TestBoot().error().code(), ErrorCode::kConflict);  // already testing
  ASSERT_TRUE(s.Confirm());
  EXPECT_EQ(s.state().floor, 2u);
}

TEST_F(InstallTest, WriteRechecksTheFloorAndTheImage) {
  SlotStore s = Fresh();
  auto v3 = s.Verify(MakeEnvelope(3, Image(3)), Image(3));
  auto v4 = s.Verify(MakeEnvelope(4, Image(4)), Image(4));
  ASSERT_TRUE(v3 && v4);
  // An image other than the verified one: refused while copying, the slot is untouched.
  const auto before = Snapshot(Dir());
  ExpectRefused(s.Write(*v4, Image(3)), kImageDigest, before);  // same size
  Bytes short4 = Image(4);
  short4.pop_back();
  ExpectRefused(s.Write(*v4, short4), kImageSize, before);
  Bytes swapped = Image(4);
  swapped[0] ^= 1;
  ExpectRefused(s.Write(*v4, swapped), kImageDigest, before);
  ASSERT_TRUE(s.Write(*v4, Image(4)));
  ASSERT_TRUE(s.TestBoot());
  ASSERT_TRUE(s.Confirm());
  // v3 was verified when the floor was 1; it is 4 now.
  const auto after = Snapshot(Dir());
  ExpectRefused(s.Write(*v3, Image(3)), kRollback, after);
}

TEST_F(InstallTest, FailedTestBootReverts) {
  bool boot_ok = false;
  std::string booted;
  InstallOptions opt;
  opt.test_boot = [&](const std::string& slot_path) -> Status {
    booted = slot_path;
    if (!boot_ok) return Fail(ErrorCode::kVerifyFailed, "no heartbeat from the new image");
    return Ok();
  };
  SlotStore s = Fresh(1, opt);
  const Bytes env = MakeEnvelope(2, Image(2));
  auto st = s.Install(env, Image(2));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("no heartbeat"), std::string::npos);
  EXPECT_EQ(booted, s.SlotPath(Slot::kB));
  EXPECT_EQ(s.state().active, Slot::kA);
  EXPECT_EQ(s.state().floor, 1u);
  EXPECT_FALSE(s.state().pending);
  ASSERT_TRUE(s.state().last_result);
  EXPECT_FALSE(s.state().last_result->ok);
  EXPECT_EQ(s.state().last_result->sequence_number, 2u);
  EXPECT_EQ(s.state().last_result->message,
            "test boot of sequence 2 in slot b failed: no heartbeat from the new image");
  // Not confirmed, so the same update may be tried again.
  boot_ok = true;
  ASSERT_TRUE(s.Install(env, Image(2)));
  EXPECT_EQ(s.state().active, Slot::kB);
  EXPECT_EQ(s.state().floor, 2u);
}

TEST_F(InstallTest, DefaultTestBootChecksTheSlot) {
  SlotStore s = Fresh();
  auto v = s.Verify(MakeEnvelope(2, Image(2)), Image(2));
  ASSERT_TRUE(v);
  ASSERT_TRUE(s.Write(*v, Image(2)));
  // The slot is damaged between the write and the test boot.
  Bytes damaged = Image(2);
  damaged[10] ^= 0xff;
  WriteBytes(s.SlotPath(Slot::kB), damaged);
  auto st = s.TestBoot();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("image digest mismatch"), std::string::npos);
  EXPECT_EQ(s.state().active, Slot::kA);
  EXPECT_FALSE(s.state().pending);
}

TEST_F(InstallTest, ExplicitRevert) {
  SlotStore s = Fresh();
  auto v = s.Verify(MakeEnvelope(2, Image(2)), Image(2));
  ASSERT_TRUE(v);
  ASSERT_TRUE(s.Write(*v, Image(2)));
  ASSERT_TRUE(s.Revert("operator cancelled"));
  EXPECT_FALSE(s.state().pending);
  EXPECT_EQ(s.state().last_result->message, "operator cancelled");
  EXPECT_EQ(s.state().active, Slot::kA);
}

// ---- Recover
// --------------------------------------------------------------------------------------

TEST_F(InstallTest, RecoverDiscardsWrittenAndRevertsTesting) {
  {
    SlotStore s = Fresh();
    auto v = s.Verify(MakeEnvelope(2, Image(2)), Image(2));
    ASSERT_TRUE(v);
    ASSERT_TRUE(s.Write(*v, Image(2)));
  }  // "power cut" after the write
  {
    SlotStore s = OpenStore();
    ASSERT_TRUE(s.state().pending);
    // Nothing may proceed on top of a pending install but Recover (or finishing it).
    auto v = s.Verify(MakeEnvelope(3, Image(3)), Image(3));
    ASSERT_TRUE(v);
    EXPECT_TRUE(s.Write(*v, Image(3)).error().Is(kInstallPending));
    auto r = s.Recover();
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->action, RecoveryAction::kDiscardedWritten);
    EXPECT_FALSE(s.state().pending);
    EXPECT_EQ(s.state().active, Slot::kA);
    EXPECT_FALSE(s.state().last_result->ok);
    EXPECT_NE(s.state().last_result->message.find("discarded"), std::string::npos);
    auto w = s.Write(*s.Verify(MakeEnvelope(2, Image(2)), Image(2)), Image(2));
    ASSERT_TRUE(w);
    ASSERT_TRUE(s.TestBoot());
  }  // "power cut" during the test boot: the new image never confirmed
  {
    SlotStore s = OpenStore();
    EXPECT_EQ(s.Confirm().error().code(), ErrorCode::kConflict);  // not tested in this process
    auto r = s.Recover();
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->action, RecoveryAction::kRevertedTesting);
    EXPECT_NE(r->message.find("watchdog"), std::string::npos);
    EXPECT_EQ(s.state().active, Slot::kA);
    EXPECT_EQ(s.state().floor, 1u);
    ASSERT_TRUE(s.Install(MakeEnvelope(2, Image(2)), Image(2)));
    EXPECT_EQ(s.state().active, Slot::kB);
  }
}

TEST_F(InstallTest, RecoverRemovesStrayTempFilesOnly) {
  { SlotStore s = Fresh(); }
  WriteBytes(std::filesystem::path(Dir()) / ".slot-b.img.tmp", Bytes(10, 1));
  WriteBytes(std::filesystem::path(Dir()) / ".state.cbor.tmp-AbC123", Bytes(3, 2));
  WriteBytes(std::filesystem::path(Dir()) / "notes.txt", Bytes(3, 3));
  SlotStore s = OpenStore();
  auto r = s.Recover();
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->temp_files_removed, 2u);
  EXPECT_EQ(r->action, RecoveryAction::kNone);
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(Dir()) / ".slot-b.img.tmp"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(Dir()) / ".state.cbor.tmp-AbC123"));
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(Dir()) / "notes.txt"));
}

TEST_F(InstallTest, RecoverDetectsADamagedActiveSlot) {
  SlotStore s = Fresh();
  Bytes img = Image(1);
  img[0] ^= 1;
  WriteBytes(s.SlotPath(Slot::kA), img);
  auto r = s.Recover();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(r.error().message().find("active slot a"), std::string::npos);
}

TEST_F(InstallTest, RecoverOnAnUninitializedStore) {
  SlotStore s = OpenStore();
  auto r = s.Recover();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

// ---- Lock, identity, state file
// ---------------------------------------------------------------------

TEST_F(InstallTest, OneInstallerPerDirectory) {
  SlotStore s = Fresh();
  auto second = SlotStore::Open(Dir(), Identity());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
}

TEST_F(InstallTest, StoreOfAnotherClassIsRefused) {
  { SlotStore s = Fresh(); }
  InstallIdentity id = Identity();
  id.class_id = OtherId();
  auto other = SlotStore::Open(Dir(), id);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kConflict);
}

TEST_F(InstallTest, CorruptStateFileIsAClearError) {
  { SlotStore s = Fresh(); }
  const auto state = std::filesystem::path(Dir()) / "state.cbor";
  Bytes b = ReadBytes(state);
  b.resize(b.size() - 3);
  WriteBytes(state, b);
  auto s = SlotStore::Open(Dir(), Identity());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(s.error().message().find("state.cbor"), std::string::npos) << s.error().message();
}

TEST(SlotStateCodec, RoundTripAndStrictness) {
  SlotState s;
  s.vendor_id = VendorId();
  s.class_id = ClassId();
  s.active = Slot::kB;
  s.active_image = {4, Sha256Of(Image(4)), 5000};
  s.floor = 6;
  s.pending = PendingInstall{Slot::kA, {7, Sha256Of(Image(7)), 5000}, Phase::kTesting};
  s.last_result = LastResult{false, 6, "test boot failed", -5};
  const Bytes enc = EncodeSlotState(s);
  auto d = DecodeSlotState(enc);
  ASSERT_TRUE(d) << d.error().ToString();
  EXPECT_EQ(EncodeSlotState(*d), enc);
  EXPECT_EQ(d->pending->phase, Phase::kTesting);
  EXPECT_EQ(d->last_result->at_unix, -5);

  auto bad = [](SlotState x) { return DecodeSlotState(EncodeSlotState(x)); };
  SlotState t = s;
  t.floor = 3;  // below the active sequence number
  EXPECT_FALSE(bad(t));
  t = s;
  t.pending->slot = Slot::kB;  // the active slot
  EXPECT_FALSE(bad(t));
  t = s;
  t.active_image.digest.pop_back();
  EXPECT_FALSE(bad(t));
  // An unknown key.
  auto v = cbor::Decode(enc);
  ASSERT_TRUE(v);
  cbor::Value extra = *v;
  extra.map().emplace_back(cbor::Value::Text("surprise"), cbor::Value::Unsigned(1));
  auto e = DecodeSlotState(cbor::Encode(extra));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("unknown key \"surprise\""), std::string::npos);
  EXPECT_FALSE(DecodeSlotState(Bytes{0xa0}));
}

TEST(RefusalNames, ReasonsMapToRefusals) {
  const std::pair<Refusal, Reason> all[] = {{Refusal::kMalformed, kMalformedEnvelope},
                                            {Refusal::kUnsupported, kUnsupportedSuit},
                                            {Refusal::kForgedSignature, kForgedSignature},
                                            {Refusal::kWrongVendor, kWrongVendor},
                                            {Refusal::kWrongClass, kWrongClass},
                                            {Refusal::kImageDigest, kImageDigest},
                                            {Refusal::kImageSize, kImageSize},
                                            {Refusal::kRollback, kRollback},
                                            {Refusal::kReplay, kReplay},
                                            {Refusal::kBusy, kInstallPending},
                                            {Refusal::kImageTooLong, kImageTooLong}};
  for (const auto& [r, reason] : all)
    EXPECT_EQ(RefusalOf(Error(ErrorCode::kVerifyFailed, reason, "x")), r) << reason.name();
  // The reason decides, not the message: a message that merely starts with a phrase is no refusal.
  EXPECT_EQ(RefusalOf(Error(ErrorCode::kVerifyFailed, "rollback: sequence 1")), Refusal::kNone);
  EXPECT_EQ(RefusalOf(Error(ErrorCode::kIo, "cannot read")), Refusal::kNone);
  // The published reason strings (docs/ERRORS.md) and the phrases messages start with.
  EXPECT_EQ(kRollback.name(), "rollback");
  EXPECT_EQ(kReplay.name(), "replay");
  EXPECT_EQ(kForgedSignature.name(), "forged-signature");
  EXPECT_STREQ(RefusalName(Refusal::kReplay), "replayed manifest");
  EXPECT_STREQ(RefusalName(Refusal::kForgedSignature), "forged signature");
}

}  // namespace
}  // namespace secprof::update
