// Tests for the thing-side installer (secprof/update/install.h): the happy path a -> b -> a with
// the floor rising, every refusal reason with no change to the directory, the owner's
// countersignature. Step order, revert, recovery, the lock and the state file are in
// install_recover_test.cpp.
#include <gtest/gtest.h>

#include <chrono>

#include "install_fixture.h"
#include "install_testutil.h"
#include "secprof/core/clock.h"
#include "testutil.h"

namespace secprof::update {
namespace {
using namespace install_fixture;

// ---- Initialize and the happy path --------------------------------------------------------------

TEST_F(InstallTest, InitializeFreshDevice) {
  SlotStore s = OpenStore();
  EXPECT_FALSE(s.initialized());
  ASSERT_TRUE(s.Initialize(Image(3), 3));
  EXPECT_TRUE(s.initialized());
  EXPECT_EQ(s.state().active, Slot::kA);
  EXPECT_EQ(s.state().active_image.sequence_number, 3u);
  EXPECT_EQ(s.state().active_image.digest, Sha256Of(Image(3)));
  EXPECT_EQ(s.state().active_image.size, Image(3).size());
  EXPECT_EQ(s.state().floor, 3u);
  EXPECT_FALSE(s.state().pending);
  EXPECT_EQ(ReadBytes(s.SlotPath(Slot::kA)), Image(3));
  auto again = s.Initialize(Image(4), 4);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  {
    SlotStore moved = std::move(s);  // the lock moves with the object, and dies with it
    EXPECT_EQ(moved.state().floor, 3u);
  }
  // Reopened, the state is the one on disk.
  SlotStore again2 = OpenStore();
  EXPECT_EQ(again2.state().floor, 3u);
  EXPECT_EQ(again2.state().active_image.digest, Sha256Of(Image(3)));
}

TEST_F(InstallTest, HappyPathABAFloorRises) {
  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
  InstallOptions opt;
  opt.clock = &clock;
  SlotStore s = Fresh(1, opt);
  clock.Advance(std::chrono::seconds(10));
  Installed(s, 2);
  EXPECT_EQ(s.state().active, Slot::kB);
  EXPECT_EQ(s.state().active_image.sequence_number, 2u);
  EXPECT_EQ(s.state().floor, 2u);
  EXPECT_EQ(ReadBytes(s.SlotPath(Slot::kB)), Image(2));
  EXPECT_EQ(ReadBytes(s.SlotPath(Slot::kA)), Image(1));  // the old image stays in the other slot
  ASSERT_TRUE(s.state().last_result);
  EXPECT_TRUE(s.state().last_result->ok);
  EXPECT_EQ(s.state().last_result->at_unix, 1700000010);
  EXPECT_EQ(s.state().last_result->message,
            "installed sequence 2 in slot b (was sequence 1 in slot a)");

  Installed(s, 7);  // sequence numbers need not be consecutive
  EXPECT_EQ(s.state().active, Slot::kA);
  EXPECT_EQ(s.state().floor, 7u);
  EXPECT_EQ(ReadBytes(s.SlotPath(Slot::kA)), Image(7));
  Installed(s, 8);
  EXPECT_EQ(s.state().active, Slot::kB);
  EXPECT_EQ(s.state().floor, 8u);
  EXPECT_FALSE(s.state().pending);

  // What is on disk is what the object says.
  { SlotStore gone = std::move(s); }
  SlotStore r = OpenStore();
  EXPECT_EQ(r.state().active, Slot::kB);
  EXPECT_EQ(r.state().floor, 8u);
  auto rec = r.Recover();
  ASSERT_TRUE(rec) << rec.error().ToString();
  EXPECT_EQ(rec->action, RecoveryAction::kNone);
}

TEST_F(InstallTest, StepByStepWithFiles) {
  SlotStore s = OpenStore();
  const auto factory = tmp_.path() / "factory.bin";
  WriteBytes(factory, Image(1, 70000));
  ASSERT_TRUE(s.InitializeFromFile(factory.string(), 1));
  const auto img = tmp_.path() / "fw.bin";
  WriteBytes(img, Image(2, 300000));
  const Bytes env = MakeEnvelope(2, Image(2, 300000));
  auto v = s.VerifyFile(env, img.string());
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->sequence_number(), 2u);
  EXPECT_EQ(v->image_size(), 300000u);
  EXPECT_EQ(v->image_digest(), Sha256Of(Image(2, 300000)));
  ASSERT_TRUE(s.WriteFile(*v, img.string()));
  ASSERT_TRUE(s.state().pending);
  EXPECT_EQ(s.state().pending->phase, Phase::kWritten);
  EXPECT_EQ(s.state().pending->slot, Slot::kB);
  EXPECT_EQ(s.state().active, Slot::kA);  // not yet
  EXPECT_EQ(s.state().floor, 1u);
  ASSERT_TRUE(s.TestBoot());
  EXPECT_EQ(s.state().pending->phase, Phase::kTesting);
  ASSERT_TRUE(s.Confirm());
  EXPECT_EQ(s.state().active, Slot::kB);
  EXPECT_EQ(s.state().floor, 2u);
  EXPECT_EQ(ReadBytes(s.SlotPath(Slot::kB)), Image(2, 300000));
  // The one-call file API.
  WriteBytes(img, Image(3, 123457));
  auto st = s.InstallFile(MakeEnvelope(3, Image(3, 123457)), img.string());
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(s.state().active, Slot::kA);
  EXPECT_EQ(s.state().floor, 3u);
}

TEST_F(InstallTest, FileReadModesAndChunkSizesAgree) {
  // Sizes around the page and chunk boundaries, including an empty image.
  uint64_t seq = 1;
  for (FileReads mode : {FileReads::kMmap, FileReads::kRead}) {
    for (size_t chunk : {size_t{1}, size_t{4096}, size_t{1} << 20}) {  // 1: raised to 4096
      TempDir tmp;
      InstallOptions opt;
      opt.file_reads = mode;
      opt.read_chunk = chunk;
      opt.map_window = chunk;
      auto s = SlotStore::Open((tmp.path() / "fw").string(), Identity(), opt);
      ASSERT_TRUE(s) << s.error().ToString();
      ASSERT_TRUE(s->Initialize(Image(seq), seq));
      for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, 3 * size_t{4096} + 5,
                          (size_t{1} << 20) + 1}) {
        ++seq;
        const Bytes img = Image(seq, size);
        const auto path = tmp.path() / "fw.bin";
        WriteBytes(path, img);
        auto st = s->InstallFile(MakeEnvelope(seq, img), path.string());
        ASSERT_TRUE(st) << "size " << size << ": " << st.error().ToString();
        EXPECT_EQ(s->state().active_image.digest, Sha256Of(img));
        EXPECT_EQ(ReadBytes(s->SlotPath(s->state().active)), img);
        // The same image one byte short is refused in both modes.
        if (size > 0) {
          const Bytes cut(img.begin(), img.end() - 1);
          WriteBytes(path, cut);
          const Bytes env = MakeEnvelope(seq + 1, img);
          auto r = s->VerifyFile(env, path.string());
          ASSERT_FALSE(r);
          EXPECT_TRUE(r.error().Is(kImageSize)) << r.error().ToString();
        }
      }
    }
  }
}

// ---- Refusals: each with the directory unchanged ------------------------------------------------

TEST_F(InstallTest, RefusesForgedSignature) {
  SlotStore s = Fresh();
  const auto before = Snapshot(Dir());
  ExpectRefused(s.Verify(MakeEnvelope(2, Image(2), OtherKey()), Image(2)), kForgedSignature, before,
                "no valid vendor signature");
  ExpectRefused(s.Install(MakeEnvelope(2, Image(2), OtherKey()), Image(2)), kForgedSignature,
                before);
  EXPECT_EQ(s.state().floor, 1u);
}

// The offset of the manifest bstr's content inside an envelope.
size_t ManifestOffset(const Bytes& env) {
  auto parsed = ParseEnvelope(env);
  EXPECT_TRUE(parsed);
  const Bytes& m = parsed->manifest_bstr;
  auto it = std::search(env.begin(), env.end(), m.begin(), m.end());
  EXPECT_NE(it, env.end());
  return static_cast<size_t>(it - env.begin());
}

TEST_F(InstallTest, RefusesOneByteFlippedInTheManifest) {
  SlotStore s = Fresh();
  const auto before = Snapshot(Dir());
  const Bytes good = MakeEnvelope(2, Image(2));
  auto parsed = ParseEnvelope(good);
  ASSERT_TRUE(parsed);
  const size_t off = ManifestOffset(good);
  const size_t len = parsed->manifest_bstr.size();
  // The sequence number: "02 02" (key 2, value 2) in the manifest map. Raising it to 3 keeps the
  // manifest well-formed, so only the signature (the manifest digest) catches it.
  Bytes bumped = good;
  bool found = false;
  for (size_t i = off; i + 1 < off + len; ++i) {
    if (bumped[i] == 0x02 && bumped[i + 1] == 0x02) {
      bumped[i + 1] = 0x03;
      found = true;
      break;
    }
  }
  ASSERT_TRUE(found);
  ExpectRefused(s.Verify(bumped, Image(2)), kForgedSignature, before, "manifest digest mismatch");
  // Every single byte of the manifest bstr, head included: refused as forged, malformed, or (the
  // strict parser runs before the signature check) as SUIT we do not handle.
  for (size_t i = off; i < off + len; ++i) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    auto r = s.Install(bad, Image(2));
    ASSERT_FALSE(r) << "byte " << i;
    const Error& why = r.error();
    EXPECT_TRUE(why.Is(kForgedSignature) || why.Is(kMalformedEnvelope) || why.Is(kUnsupportedSuit))
        << "byte " << i << ": " << r.error().ToString();
  }
  EXPECT_EQ(Snapshot(Dir()), before);
}

TEST_F(InstallTest, RefusesWrongVendorAndWrongClass) {
  SlotStore s = Fresh();
  const auto before = Snapshot(Dir());
  ExpectRefused(s.Install(MakeEnvelope(2, Image(2), VendorKey(), OtherId(), ClassId()), Image(2)),
                kWrongVendor, before, "00112233-4455-6677-8899-aabbccddeeff");
  ExpectRefused(s.Install(MakeEnvelope(2, Image(2), VendorKey(), VendorId(), OtherId()), Image(2)),
                kWrongClass, before, "this thing is 1492af14");
}

TEST_F(InstallTest, RefusesTamperedImage) {
  SlotStore s = Fresh();
  const auto before = Snapshot(Dir());
  Bytes img = Image(2);
  const Bytes env = MakeEnvelope(2, img);
  img[img.size() / 2] ^= 0x80;
  ExpectRefused(s.Install(env, img), kImageDigest, before, "(tampered)");
  const auto path = tmp_.path() / "fw.bin";
  WriteBytes(path, img);
  const auto before_file = Snapshot(Dir());
  ExpectRefused(s.InstallFile(env, path.string()), kImageDigest, before_file);
}

TEST_F(InstallTest, RefusesTruncatedImage) {
  SlotStore s = Fresh();
  const auto before = Snapshot(Dir());
  const Bytes img = Image(2);
  const Bytes env = MakeEnvelope(2, img);
  const Bytes cut(img.begin(), img.end() - 100);
  ExpectRefused(s.Install(env, cut), kImageSize, before,
                "image size mismatch (truncated transfer): the manifest says 5000 bytes, the "
                "image has 4900");
  const auto path = tmp_.path() / "fw.bin";
  WriteBytes(path, cut);
  ExpectRefused(s.InstallFile(env, path.string()), kImageSize, before, "truncated transfer");
  Bytes longer = img;
  longer.push_back(0);
  ExpectRefused(s.Install(env, longer), kImageSize, before, "image too long");
}

TEST_F(InstallTest, RefusesRollbackAndReplays) {
  SlotStore s = Fresh();
  Installed(s, 2);
  const Bytes env2 = MakeEnvelope(2, Image(2));
  Installed(s, 5);
  const Bytes env5 = MakeEnvelope(5, Image(5));
  const auto before = Snapshot(Dir());
  // A properly signed older image: rollback.
  ExpectRefused(s.Install(MakeEnvelope(3, Image(3)), Image(3)), kRollback, before,
                "rollback: sequence 3 is below the installed 5");
  // The currently installed manifest again.
  ExpectRefused(s.Install(env5, Image(5)), kReplay, before,
                "replayed manifest: sequence 5 is not above the installed 5");
  // An old, lower manifest that was once installed.
  ExpectRefused(s.Install(env2, Image(2)), kRollback, before,
                "rollback: sequence 2 is below the installed 5");
  // The factory sequence number and 0.
  ExpectRefused(s.Install(MakeEnvelope(0, Image(0)), Image(0)), kRollback, before);
  EXPECT_EQ(s.state().floor, 5u);
  EXPECT_EQ(s.state().active_image.sequence_number, 5u);
}

TEST_F(InstallTest, RollbackIsRefusedBeforeTheImageIsRead) {
  SlotStore s = Fresh(5);
  const auto before = Snapshot(Dir());
  // An empty image would be a size mismatch: the sequence check comes first.
  ExpectRefused(s.Verify(MakeEnvelope(4, Image(4)), Bytes{}), kRollback, before);
}

// Step 0 for a fetcher (SlotStore::VerifyManifest): the envelope alone, before any image byte,
// states what the image must be (the fetch's bound); the same refusals as Verify, no state.
TEST_F(InstallTest, VerifyManifestStatesTheImageBeforeItIsFetched) {
  SlotStore s = Fresh(2);
  const auto before = Snapshot(Dir());
  const Bytes image = Image(3);
  auto want = s.VerifyManifest(MakeEnvelope(3, image));
  ASSERT_TRUE(want) << want.error().ToString();
  EXPECT_EQ(want->sequence_number, 3u);
  EXPECT_EQ(want->size, image.size());
  auto digest = crypto::Sha256(image);
  ASSERT_TRUE(digest);
  EXPECT_EQ(want->digest, Bytes(digest->begin(), digest->end()));
  EXPECT_EQ(Snapshot(Dir()), before);
  // Forged, rolled back, replayed: refused from the envelope alone, nothing changed.
  ExpectRefused(s.VerifyManifest(MakeEnvelope(3, image, OtherKey())), kForgedSignature, before);
  ExpectRefused(s.VerifyManifest(MakeEnvelope(1, Image(1))), kRollback, before);
  ExpectRefused(s.VerifyManifest(MakeEnvelope(2, Image(2))), kReplay, before);
  ExpectRefused(s.VerifyManifest(Bytes{0x01, 0x02}), kMalformedEnvelope, before);
  // The fetcher's own refusal carries the installer's phrase and reason.
  Error e = MakeRefusal(Refusal::kImageTooLong, ErrorCode::kVerifyFailed, "sent 5 > 4");
  EXPECT_TRUE(e.Is(kImageTooLong));
  EXPECT_EQ(RefusalOf(e), Refusal::kImageTooLong);
  EXPECT_EQ(e.message(), "image too long: sent 5 > 4");
}

TEST_F(InstallTest, RefusesMalformedEnvelopes) {
  SlotStore s = Fresh();
  const auto before = Snapshot(Dir());
  ExpectRefused(s.Install(Bytes{0xd8, 0x6b, 0xa0}, Image(2)), kMalformedEnvelope, before);
  ExpectRefused(s.Install(Bytes{}, Image(2)), kMalformedEnvelope, before);
  Bytes env = MakeEnvelope(2, Image(2));
  env.resize(env.size() / 2);
  ExpectRefused(s.Install(env, Image(2)), kMalformedEnvelope, before);
}

TEST_F(InstallTest, RefusesWhenNotInitialized) {
  SlotStore s = OpenStore();
  auto r = s.Verify(MakeEnvelope(2, Image(2)), Image(2));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_FALSE(std::filesystem::exists(s.StatePath()));
}

// ---- The owner's countersignature ---------------------------------------------------------------

TEST_F(InstallTest, OwnerSignatureRequiredWhenConfigured) {
  SlotStore s = Fresh(1, {}, /*owner=*/true);
  const auto before = Snapshot(Dir());
  const Bytes vendor_only = MakeEnvelope(2, Image(2));
  ExpectRefused(s.Install(vendor_only, Image(2)), kForgedSignature, before,
                "no valid owner signature");
  // Countersigned by someone else: still refused.
  auto by_other = AddEnvelopeSignature(vendor_only, OtherKey());
  ASSERT_TRUE(by_other) << by_other.error().ToString();
  ExpectRefused(s.Install(*by_other, Image(2)), kForgedSignature, before,
                "no valid owner signature");
  // Signed by the owner only (no vendor signature): refused.
  auto owner_only = CreateEnvelope(
      Image(2),
      [] {
        CreateParams p;
        p.vendor_id = VendorId();
        p.class_id = ClassId();
        p.sequence_number = 2;
        return p;
      }(),
      OwnerKey());
  ASSERT_TRUE(owner_only);
  ExpectRefused(s.Install(*owner_only, Image(2)), kForgedSignature, before,
                "no valid vendor signature");
  // Vendor + owner: accepted.
  auto both = AddEnvelopeSignature(vendor_only, OwnerKey());
  ASSERT_TRUE(both) << both.error().ToString();
  auto st = s.Install(*both, Image(2));
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(s.state().floor, 2u);
}

TEST_F(InstallTest, AddEnvelopeSignatureKeepsTheManifest) {
  const Bytes env = MakeEnvelope(2, Image(2));
  auto two = AddEnvelopeSignature(env, OwnerKey());
  ASSERT_TRUE(two);
  auto a = ParseEnvelope(env);
  auto b = ParseEnvelope(*two);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->manifest_bstr, b->manifest_bstr);
  EXPECT_EQ(a->auth.digest_encoded, b->auth.digest_encoded);
  ASSERT_EQ(b->auth.blocks.size(), 2u);
  EXPECT_EQ(b->auth.blocks[0], a->auth.blocks[0]);
  // Either key verifies the two-signature envelope through the plain SUIT API.
  EXPECT_TRUE(VerifyEnvelope(*b, PublicOf(VendorKey())));
  EXPECT_TRUE(VerifyEnvelope(*b, PublicOf(OwnerKey())));
  EXPECT_FALSE(VerifyEnvelope(*b, PublicOf(OtherKey())));
  auto pub_only = AddEnvelopeSignature(env, PublicOf(OwnerKey()));
  ASSERT_FALSE(pub_only);
  EXPECT_EQ(pub_only.error().code(), ErrorCode::kInvalidInput);
}

TEST_F(InstallTest, OpenRefusesBadIdentities) {
  InstallIdentity id = Identity();
  id.vendor_id.pop_back();
  EXPECT_EQ(SlotStore::Open(Dir(), id).error().code(), ErrorCode::kInvalidInput);
  id = Identity();
  id.owner_key = PublicOf(VendorKey());
  auto same = SlotStore::Open(Dir(), id);
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code(), ErrorCode::kInvalidInput);
  id = Identity();
  id.vendor_key = cose::SymmetricKey(Bytes{});  // a MAC key needs key material
  EXPECT_EQ(SlotStore::Open(Dir(), id).error().code(), ErrorCode::kInvalidInput);
}

}  // namespace
}  // namespace secprof::update
