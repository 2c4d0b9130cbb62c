// SUIT as published (issue 13 item 1): untagged envelopes, the fully-specified algorithms of
// RFC 9864 (ESP256, Ed25519), COSE_Mac0 authentication with a symmetric key, and every command,
// parameter and member of draft-ietf-suit-trust-domains-06 and draft-ietf-suit-update-management-09
// parsed (with their argument types checked), authenticated, and then either executed by the
// installer or named as not executable. Malformed input stays refused with the field named.
#include <gtest/gtest.h>

#include "install_testutil.h"
#include "secprof/cose/cose.h"
#include "suit_builder.h"

namespace secprof::update {
namespace {

using namespace suittest;

using installtest::Ed25519;
using installtest::P256;
using installtest::PublicOf;

cose::Key Secret(uint8_t fill) { return cose::SymmetricKey(Bytes(32, fill)); }

ManifestSpec Spec() {
  ManifestSpec s;
  s.seq = 4;
  s.image = Bytes(300, 0x5a);
  s.vendor_id = *ParseUuid("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe");
  s.class_id = *ParseUuid("1492af14-2569-5e48-bf42-9b2d51f2ab45");
  return s;
}

// ---- Tag 107 optional ---------------------------------------------------------------------------

TEST(SuitPublished, UntaggedEnvelopeParsesAndVerifies) {
  const cose::Key key = P256(0x11);
  const Bytes untagged = BuildEnvelope(BuildManifest(Spec()), key, /*tagged=*/false);
  ASSERT_NE(untagged[0], 0xd8);  // no tag head
  auto env = ParseAndVerify(untagged, PublicOf(key));
  ASSERT_TRUE(env.has_value()) << env.error().ToString();
  EXPECT_FALSE(env->value.is_tag());
  EXPECT_EQ(env->manifest.sequence_number, 4u);
  // A caller that wants the tag can still require it; a wrong tag stays refused.
  EXPECT_FALSE(ParseEnvelope(untagged, {}, /*allow_untagged=*/false));
  Bytes wrong = cbor::Encode(Value::Tag(108, *cbor::Decode(untagged)));
  auto w = ParseEnvelope(wrong);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().message().find("107"), std::string::npos);
  // The tagged form of the same manifest verifies too.
  EXPECT_TRUE(ParseAndVerify(BuildEnvelope(BuildManifest(Spec()), key, true), PublicOf(key)));
}

// ---- Algorithms ---------------------------------------------------------------------------------

struct AlgCase {
  const char* name;
  int64_t alg;
  bool okp;
};

class SuitAlgorithm : public ::testing::TestWithParam<AlgCase> {};

TEST_P(SuitAlgorithm, SignsVerifiesAndRejectsAnotherKey) {
  const AlgCase c = GetParam();
  cose::Key key = c.okp ? Ed25519(0x21) : P256(0x21);
  key.alg = c.alg;  // the block carries this algorithm (AuthenticationBlock)
  const Bytes wire = BuildEnvelope(BuildManifest(Spec()), key);
  auto env = ParseEnvelope(wire);
  ASSERT_TRUE(env.has_value()) << env.error().ToString();
  auto s = cose::DecodeSign1(env->auth.blocks[0]);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(*s->protected_header.map.Find(cose::label::kAlg), Value::Int(c.alg));
  auto auth = Authenticate(*env, PublicOf(key));  // the verifier's key names no alg
  ASSERT_TRUE(auth.has_value()) << auth.error().ToString();
  EXPECT_EQ(auth->structure, "COSE_Sign1");
  EXPECT_EQ(auth->algorithm, c.name);
  EXPECT_NE(Summary(*env).find(std::string("COSE_Sign1 ") + c.name), std::string::npos);
  // Forgery: the right kind of key, not the signer's.
  const cose::Key other = c.okp ? Ed25519(0x22) : P256(0x22);
  auto bad = VerifyEnvelope(*env, PublicOf(other));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kVerifyFailed);
}

INSTANTIATE_TEST_SUITE_P(Rfc9053AndRfc9864, SuitAlgorithm,
                         ::testing::Values(AlgCase{"ES256", cose::kAlgEs256, false},
                                           AlgCase{"ESP256", cose::kAlgEsp256, false},
                                           AlgCase{"EdDSA", cose::kAlgEdDsa, true},
                                           AlgCase{"Ed25519", cose::kAlgEd25519, true}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(SuitPublished, Esp256KeyOfTheWrongTypeIsRefused) {
  // RFC 9864 §2.1: ESP256 is P-256 only; an Ed25519 key cannot sign or verify it.
  cose::Key ed = Ed25519(0x31);
  ed.alg = cose::kAlgEsp256;
  auto block = AuthenticationBlock(ed, Bytes{0x01});
  ASSERT_FALSE(block);
  EXPECT_EQ(block.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(block.error().message().find("ESP256 needs an EC2 P-256 key"), std::string::npos);
}

// ---- COSE_Mac0 ----------------------------------------------------------------------------------

TEST(SuitPublished, Mac0WithTheSharedKeyVerifies) {
  const cose::Key k = Secret(0x42);
  const Bytes wire = BuildEnvelope(BuildManifest(Spec()), k);
  auto env = ParseEnvelope(wire);
  ASSERT_TRUE(env.has_value()) << env.error().ToString();
  auto tag = cose::PeekTag(env->auth.blocks[0]);
  ASSERT_TRUE(tag && *tag);
  EXPECT_EQ(**tag, cose::kTagMac0);
  auto auth = Authenticate(*env, k);
  ASSERT_TRUE(auth.has_value()) << auth.error().ToString();
  EXPECT_EQ(auth->structure, "COSE_Mac0");
  EXPECT_EQ(auth->algorithm, "HMAC 256/256");
  EXPECT_NE(Summary(*env).find("COSE_Mac0 HMAC 256/256"), std::string::npos);
  // CreateEnvelope makes the same kind of block.
  CreateParams p;
  p.vendor_id = Spec().vendor_id;
  p.class_id = Spec().class_id;
  auto made = CreateEnvelope(Spec().image, p, k);
  ASSERT_TRUE(made.has_value()) << made.error().ToString();
  EXPECT_TRUE(ParseAndVerify(*made, k));
}

TEST(SuitPublished, Mac0AttacksFail) {
  const cose::Key k = Secret(0x42);
  const Bytes wire = BuildEnvelope(BuildManifest(Spec()), k);
  auto env = ParseEnvelope(wire);
  ASSERT_TRUE(env);
  // Another symmetric key (an attacker's guess, or another device's key).
  auto wrong = VerifyEnvelope(*env, Secret(0x43));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), ErrorCode::kVerifyFailed);
  // A signature key finds no COSE_Sign1 to verify: not authenticated for it.
  auto sigkey = VerifyEnvelope(*env, PublicOf(P256(0x11)));
  ASSERT_FALSE(sigkey);
  EXPECT_EQ(sigkey.error().code(), ErrorCode::kUnsupported);
  // A manifest changed after MACing: the digest no longer matches.
  ManifestSpec s = Spec();
  s.seq = 99;
  Envelope changed = *env;
  changed.manifest_bstr = cbor::Encode(Bstr(BuildManifest(s)));
  EXPECT_EQ(VerifyEnvelope(changed, k).error().code(), ErrorCode::kVerifyFailed);
  // Every bit of the MAC tag matters: flip each byte of the block's last 32 bytes (the tag).
  const Bytes& block = env->auth.blocks[0];
  size_t accepted = 0;
  for (size_t i = block.size() - 32; i < block.size(); ++i) {
    Envelope t = *env;
    t.auth.blocks[0][i] ^= 0x01;
    if (VerifyEnvelope(t, k)) ++accepted;
  }
  EXPECT_EQ(accepted, 0u);
  // A key shorter than the hash is refused for HMAC (RFC 2104 §3).
  EXPECT_FALSE(VerifyEnvelope(*env, cose::SymmetricKey(Bytes(16, 0x42))));
}

// ---- Extension commands: parsed, then executed or named ----------------------------------------

struct ExtCase {
  int64_t label;
  const char* name;
  const char* spec;  // what the refusal cites
  bool executed;
};

Value ArgFor(int64_t label) {
  switch (label) {
    case cmd::kSetParameters:
      return Value::Map({{Value::Int(param::kUri), Value::Text("coap://[::1]/fw")}});
    case cmd::kOverrideMultiple:
      return Value::Map({{Value::Unsigned(0),
                          Value::Map({{Value::Int(param::kUpdatePriority), Value::Int(-1)}})}});
    case cmd::kCopyParams:
      return Value::Map({{Value::Unsigned(0), Value::MakeArray({Value::Int(param::kUri)})}});
    default:
      return Value::Unsigned(15);  // SUIT_Rep_Policy
  }
}

class SuitExtension : public ::testing::TestWithParam<ExtCase> {};

TEST_P(SuitExtension, ParsedAuthenticatedThenExecutedOrNamed) {
  const ExtCase c = GetParam();
  const cose::Key key = P256(0x11);
  ManifestSpec s = Spec();
  s.extra_install = {{c.label, ArgFor(c.label)}};
  auto env = ParseAndVerify(BuildEnvelope(BuildManifest(s), key), PublicOf(key));
  ASSERT_TRUE(env.has_value()) << env.error().ToString();
  EXPECT_EQ(CommandName(c.label), c.name);
  EXPECT_NE(CommandSpec(c.label).find(c.spec), std::string::npos) << CommandSpec(c.label);
  auto st = CheckInstallerSupport(*env);
  if (c.executed) {
    EXPECT_TRUE(st) << st.error().ToString();
  } else {
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ErrorCode::kUnsupported);
    EXPECT_NE(st.error().message().find(std::string("suit-") + c.name), std::string::npos)
        << st.error().message();
    EXPECT_NE(st.error().message().find(c.spec), std::string::npos) << st.error().message();
    EXPECT_NE(st.error().message().find("manifest.install[2]"), std::string::npos)
        << st.error().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    TrustDomainsAndUpdateManagement, SuitExtension,
    ::testing::Values(
        ExtCase{cmd::kDependencyIntegrity, "condition-dependency-integrity",
                "trust-domains-06 §5.6.4", false},
        ExtCase{cmd::kIsDependency, "condition-is-dependency", "trust-domains-06 §5.6.3", false},
        ExtCase{cmd::kProcessDependency, "directive-process-dependency", "trust-domains-06 §5.6.2",
                false},
        ExtCase{cmd::kSetParameters, "directive-set-parameters", "trust-domains-06 §5.6.1", true},
        ExtCase{cmd::kUnlink, "directive-unlink", "trust-domains-06 §5.6.5", false},
        ExtCase{cmd::kUseBefore, "condition-use-before", "update-management-09 §5.1", false},
        ExtCase{cmd::kImageNotMatch, "condition-image-not-match", "update-management-09 §5.2",
                false},
        ExtCase{cmd::kMinimumBattery, "condition-minimum-battery", "update-management-09 §5.3",
                false},
        ExtCase{cmd::kUpdateAuthorized, "condition-update-authorized", "update-management-09 §5.4",
                false},
        ExtCase{cmd::kVersion, "condition-version", "update-management-09 §5.5", false},
        ExtCase{cmd::kWait, "directive-wait", "update-management-09 §5.6", false},
        ExtCase{cmd::kOverrideMultiple, "directive-override-multiple", "update-management-09 §5.7",
                true},
        ExtCase{cmd::kCopyParams, "directive-copy-params", "update-management-09 §5.8", false}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& ch : n)
        if (ch == '-') ch = '_';
      return n;
    });

TEST(SuitPublished, SetParametersAndOverrideMultipleAreExecuted) {
  ManifestSpec s = Spec();
  // set-parameters leaves an image-size already set (trust-domains-06 §5.6.1) and sets a uri;
  // override-multiple overrides for component 0 (update-management-09 §5.7).
  s.extra_install = {};
  Value m = BuildManifest(s);
  // Replace the shared sequence: set-parameters before and after override-parameters.
  const Value rep = Value::Unsigned(15);
  Value shared = Seq(
      {{cmd::kSetParameters, Value::Map({{Value::Int(param::kImageSize), Value::Unsigned(1)},
                                         {Value::Int(param::kUri), Value::Text("coap://a/")}})},
       {cmd::kOverrideMultiple,
        Value::Map({{Value::Unsigned(0),
                     Value::Map({{Value::Int(param::kVendorId), Value::ByteString(s.vendor_id)},
                                 {Value::Int(param::kClassId), Value::ByteString(s.class_id)},
                                 {Value::Int(param::kImageDigest), Bstr(DigestOf(s.image))}})}})},
       {cmd::kSetParameters,
        Value::Map({{Value::Int(param::kImageSize), Value::Unsigned(s.image.size())}})},
       {cmd::kVendorIdentifier, rep}});
  Value common = Value::Map({{Value::Int(key::kComponents),
                              Value::MakeArray({Value::MakeArray({Value::ByteString(Bytes{0})})})},
                             {Value::Int(key::kSharedSequence), Bstr(shared)}});
  for (auto& [k, v] : m.map())
    if (k == Value::Int(key::kCommon)) v = Bstr(common);
  auto env = ParseEnvelope(BuildEnvelope(m, P256(0x11)));
  ASSERT_TRUE(env.has_value()) << env.error().ToString();
  auto p = ImageParametersFor(env->manifest);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->image_size, 1u);  // the first set-parameters won; the second did not override
  EXPECT_EQ(p->uri, "coap://a/");
  EXPECT_EQ(p->vendor_id, s.vendor_id);
  EXPECT_EQ(p->class_id, s.class_id);
  EXPECT_TRUE(CheckInstallerSupport(*env));
}

TEST(SuitPublished, ExtensionMembersParseAndSeveredOnesAreChecked) {
  const cose::Key key = P256(0x11);
  ManifestSpec s = Spec();
  s.components = 2;
  const Value coswid = Value::Map({{Value::Int(0), Value::Text("tag-id")}});
  const Value coswid_bstr = Bstr(coswid);
  const Value uninstall = Bstr(
      Seq({{cmd::kSetComponentIndex, Value::Unsigned(0)}, {cmd::kUnlink, Value::Unsigned(0)}}));
  s.common_members = {
      {Value::Int(key::kDependencies), Value::Map({{Value::Unsigned(1), Value::Map()}})}};
  s.members = {
      {Value::Int(key::kManifestComponentId), Value::MakeArray({Value::ByteString(Bytes{7})})},
      {Value::Int(key::kSetVersion), Bstr(Value::MakeArray({Value::Int(1), Value::Int(2)}))},
      {Value::Int(key::kCoswid), DigestOf(cbor::Encode(coswid_bstr))},  // severed
      {Value::Int(key::kUninstall), uninstall},
      {Value::Int(key::kDependencyResolution),
       Bstr(Seq({{cmd::kSetComponentIndex, Value::Unsigned(1)},
                 {cmd::kProcessDependency, Value::Unsigned(0)}}))},
  };
  const Value manifest = BuildManifest(s);
  const Value delegation =
      Bstr(Value::MakeArray({Value::MakeArray({Value::ByteString(Bytes{1})})}));
  auto env = ParseAndVerify(BuildEnvelope(manifest, key, true,
                                          {{Value::Int(key::kCoswid), coswid_bstr},
                                           {Value::Int(key::kDelegation), delegation}}),
                            PublicOf(key));
  ASSERT_TRUE(env.has_value()) << env.error().ToString();
  const Manifest& m = env->manifest;
  ASSERT_EQ(m.common.dependencies.size(), 1u);
  EXPECT_EQ(m.common.dependencies[0].first, 1u);
  EXPECT_EQ(m.set_version, (std::vector<int64_t>{1, 2}));
  ASSERT_TRUE(m.uninstall && m.dependency_resolution && m.coswid && m.manifest_component_id);
  EXPECT_TRUE(env->delegation.has_value());
  // Dependencies are named as not executable; the severed coswid was checked against its digest.
  auto st = CheckInstallerSupport(*env);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("directive-process-dependency"), std::string::npos);
  bool deps = false, uninst = false;
  for (const auto& u : InstallerFeatures(*env)) {
    if (u.where == "manifest.common.dependencies") deps = u.handling == Handling::kNotExecuted;
    if (u.where == "manifest.uninstall") uninst = u.handling == Handling::kIgnored;
  }
  EXPECT_TRUE(deps);
  EXPECT_TRUE(uninst);
  // The envelope carries a coswid that is not the one the manifest's digest names: forged.
  const Value other = Bstr(Value::Map({{Value::Int(0), Value::Text("other")}}));
  auto forged =
      ParseEnvelope(BuildEnvelope(manifest, key, true, {{Value::Int(key::kCoswid), other}}));
  ASSERT_TRUE(forged.has_value());
  EXPECT_EQ(VerifyEnvelope(*forged, PublicOf(key)).error().code(), ErrorCode::kVerifyFailed);
}

TEST(SuitPublished, MalformedExtensionArgumentsAreRefusedWithTheField) {
  const cose::Key key = P256(0x11);
  struct Bad {
    int64_t label;
    Value arg;
    const char* must_contain;
  };
  const Bad cases[] = {
      {cmd::kWait, Value::Text("soon"), "reporting policy"},
      {cmd::kOverrideMultiple,
       Value::Map({{Value::Unsigned(5), Value::Map({{Value::Int(1), Value::Int(1)}})}}),
       "out of range"},
      {cmd::kCopyParams, Value::Map({{Value::Unsigned(0), Value::MakeArray({})}}), "copy-params"},
      {cmd::kSetParameters,
       Value::Map({{Value::Int(param::kVersion),
                    Bstr(Value::MakeArray({Value::Int(9), Value::MakeArray({Value::Int(1)})}))}}),
       "version"},
      {cmd::kSetParameters,
       Value::Map(
           {{Value::Int(param::kWaitInfo), Bstr(Value::Map({{Value::Int(5), Value::Int(-1)}}))}}),
       "wait event 5"},
      {cmd::kSetParameters, Value::Map({{Value::Int(param::kUseBefore), Value::Text("2030")}}),
       "unsigned"},
      {cmd::kSetParameters,
       Value::Map({{Value::Int(param::kComponentMetadata), Bstr(Value::Int(1))}}),
       "component-metadata"},
  };
  for (const auto& b : cases) {
    ManifestSpec s = Spec();
    s.extra_install = {{b.label, b.arg}};
    auto env = ParseEnvelope(BuildEnvelope(BuildManifest(s), key));
    ASSERT_FALSE(env) << CommandName(b.label);
    EXPECT_EQ(env.error().code(), ErrorCode::kInvalidInput) << env.error().ToString();
    EXPECT_NE(env.error().message().find("manifest.install[2]"), std::string::npos)
        << env.error().message();
    EXPECT_NE(env.error().message().find(b.must_contain), std::string::npos)
        << env.error().message();
  }
  // A directive with a reporting policy is not a shared command (§8.4.5, trust-domains-06 CDDL).
  ManifestSpec s = Spec();
  s.shared_prefix = {{cmd::kUnlink, Value::Unsigned(0)}};
  auto env = ParseEnvelope(BuildEnvelope(BuildManifest(s), key));
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message().find("shared-sequence"), std::string::npos);
}

}  // namespace
}  // namespace secprof::update
