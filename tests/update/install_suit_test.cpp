// The installer (install.h) with SUIT as published (issue 13 item 1): a COSE_Mac0-authenticated
// envelope installs with the thing's symmetric key and is refused with any other key, without
// touching any slot; an untagged envelope installs; an authentic manifest that asks for a command
// the installer cannot execute is refused as unsupported-feature, naming the command and its
// section, with no change to the directory; the extension directives the installer does execute
// (set-parameters, override-multiple) install.
#include <gtest/gtest.h>

#include "install_testutil.h"
#include "suit_builder.h"
#include "testutil.h"

namespace secprof::update {
namespace {

using namespace installtest;
using namespace suittest;
using secprof::testing::TempDir;

cose::Key ThingSecret() { return cose::SymmetricKey(Bytes(32, 0x5c)); }

ManifestSpec Spec(uint64_t seq) {
  ManifestSpec s;
  s.seq = seq;
  s.image = Image(seq);
  s.vendor_id = VendorId();
  s.class_id = ClassId();
  return s;
}

class InstallSuitTest : public ::testing::Test {
 protected:
  std::string Dir() const { return (tmp_.path() / "fw").string(); }
  SlotStore Fresh(InstallIdentity id) {
    auto s = SlotStore::Open(Dir(), std::move(id));
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    EXPECT_TRUE(s->Initialize(Image(1), 1));
    return std::move(*s);
  }
  InstallIdentity MacIdentity() {
    InstallIdentity id = Identity();
    id.vendor_key = ThingSecret();
    return id;
  }
  void ExpectRefused(const Status& r, Reason reason, const std::map<std::string, Bytes>& before,
                     const std::string& must_contain) {
    ASSERT_FALSE(r) << "accepted, expected " << reason.name();
    EXPECT_TRUE(r.error().Is(reason)) << r.error().ToString();
    EXPECT_NE(r.error().message().find(must_contain), std::string::npos) << r.error().message();
    EXPECT_EQ(Snapshot(Dir()), before) << "a refused update changed the directory";
  }
  TempDir tmp_;
};

TEST_F(InstallSuitTest, MacEnvelopeWithTheThingsKeyInstalls) {
  SlotStore s = Fresh(MacIdentity());
  auto st = s.Install(BuildEnvelope(BuildManifest(Spec(2)), ThingSecret()), Image(2));
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(s.state().floor, 2u);
  EXPECT_EQ(s.state().active, Slot::kB);
  // CreateEnvelope with the same key (what `fw sign --key <oct key>` does) installs too.
  CreateParams p;
  p.vendor_id = VendorId();
  p.class_id = ClassId();
  p.sequence_number = 3;
  auto env = CreateEnvelope(Image(3), p, ThingSecret());
  ASSERT_TRUE(env);
  ASSERT_TRUE(s.Install(*env, Image(3)));
  EXPECT_EQ(s.state().floor, 3u);
}

TEST_F(InstallSuitTest, MacEnvelopeWithAnotherKeyTouchesNoSlot) {
  SlotStore s = Fresh(MacIdentity());
  const auto before = Snapshot(Dir());
  // The attacker holds a symmetric key, not the thing's: the MAC does not verify.
  const Bytes forged = BuildEnvelope(BuildManifest(Spec(2)), cose::SymmetricKey(Bytes(32, 0x5d)));
  ExpectRefused(s.Install(forged, Image(2)), kForgedSignature, before, "MAC does not verify");
  // A signature by a P-256 key is no MAC: no block the thing's key can check.
  ExpectRefused(s.Install(BuildEnvelope(BuildManifest(Spec(2)), VendorKey()), Image(2)),
                kForgedSignature, before, "no COSE_Mac0");
  // Step by step: Verify refuses, so there is nothing to Write.
  auto v = s.Verify(forged, Image(2));
  ASSERT_FALSE(v);
  EXPECT_TRUE(v.error().Is(kForgedSignature));
  EXPECT_EQ(RefusalOf(v.error()), Refusal::kForgedSignature);
  EXPECT_EQ(Snapshot(Dir()), before);
  EXPECT_EQ(s.state().floor, 1u);
  EXPECT_FALSE(s.state().pending);
}

TEST_F(InstallSuitTest, UntaggedEnvelopeInstalls) {
  SlotStore s = Fresh(Identity());
  auto st =
      s.Install(BuildEnvelope(BuildManifest(Spec(2)), VendorKey(), /*tagged=*/false), Image(2));
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(s.state().floor, 2u);
}

TEST_F(InstallSuitTest, CommandTheInstallerCannotExecuteIsRefusedByName) {
  SlotStore s = Fresh(Identity());
  const auto before = Snapshot(Dir());
  struct Case {
    int64_t label;
    const char* must_contain;
  };
  for (const Case& c :
       {Case{cmd::kWait, "suit-directive-wait (draft-ietf-suit-update-management-09 §5.6)"},
        Case{cmd::kProcessDependency,
             "suit-directive-process-dependency (draft-ietf-suit-trust-domains-06 §5.6.2)"},
        Case{cmd::kSwap, "suit-directive-swap"}}) {
    ManifestSpec spec = Spec(2);
    spec.extra_install = {{c.label, Value::Unsigned(15)}};
    auto r = s.Install(BuildEnvelope(BuildManifest(spec), VendorKey()), Image(2));
    ExpectRefused(r, kUnsupportedFeature, before, c.must_contain);
    EXPECT_EQ(RefusalOf(r.error()), Refusal::kUnsupportedFeature);
    EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
    EXPECT_NE(r.error().message().rfind("unsupported feature: ", 0), std::string::npos);
  }
  // Authentication comes first: a forged manifest with the same command is a forgery.
  ManifestSpec spec = Spec(2);
  spec.extra_install = {{cmd::kWait, Value::Unsigned(15)}};
  ExpectRefused(s.Install(BuildEnvelope(BuildManifest(spec), OtherKey()), Image(2)),
                kForgedSignature, before, "no valid vendor signature");
}

TEST_F(InstallSuitTest, ExecutedExtensionDirectivesInstall) {
  SlotStore s = Fresh(Identity());
  ManifestSpec spec = Spec(2);
  spec.extra_install = {
      {cmd::kSetParameters,
       Value::Map({{Value::Int(param::kUri), Value::Text("coap://[::1]/fw")}})},
      {cmd::kOverrideMultiple,
       Value::Map({{Value::Unsigned(0),
                    Value::Map({{Value::Int(param::kUpdatePriority), Value::Int(-1)}})}})}};
  spec.members = {{Value::Int(key::kSetVersion), Bstr(Value::MakeArray({Value::Int(2)}))}};
  auto st = s.Install(BuildEnvelope(BuildManifest(spec), VendorKey()), Image(2));
  ASSERT_TRUE(st) << st.error().ToString();
  EXPECT_EQ(s.state().floor, 2u);
}

}  // namespace
}  // namespace secprof::update
