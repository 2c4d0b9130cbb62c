// Test helper: SUIT envelopes built by hand (draft-ietf-suit-manifest §8), so that a test can put
// any command, parameter or member of the manifest specification and its extensions into an
// otherwise ordinary one-image manifest, and authenticate it with any key (suit.h
// AuthenticationBlock), tagged or untagged.
#pragma once

#include <utility>
#include <vector>

#include "secprof/cbor/cbor.h"
#include "secprof/crypto/hash.h"
#include "secprof/update/suit.h"

namespace secprof::update::suittest {

using cbor::Value;

inline Value Bstr(const Value& v) { return Value::ByteString(cbor::Encode(v)); }

inline Value Seq(const std::vector<std::pair<int64_t, Value>>& cmds) {
  cbor::Array a;
  for (const auto& [l, arg] : cmds) {
    a.push_back(Value::Int(l));
    a.push_back(arg);
  }
  return Value::MakeArray(std::move(a));
}

inline Value DigestOf(ByteView b) {
  auto d = crypto::Sha256(b);
  return Value::MakeArray({Value::Int(kAlgSha256), Value::ByteString(Bytes(d->begin(), d->end()))});
}

// What goes into one hand-built manifest. The shared sequence sets vendor-id, class-id,
// image-digest and image-size for component 0 and checks vendor and class; `install` is
// [condition-image-match] followed by `extra_install`; `members` are added to the manifest map.
struct ManifestSpec {
  uint64_t seq = 1;
  Bytes image;
  Bytes vendor_id, class_id;
  std::vector<std::pair<int64_t, Value>> shared_prefix;  // before override-parameters
  std::vector<std::pair<int64_t, Value>> extra_install;
  std::vector<std::pair<Value, Value>> common_members;
  std::vector<std::pair<Value, Value>> members;
  size_t components = 1;
};

inline Value BuildManifest(const ManifestSpec& s) {
  const Value rep = Value::Unsigned(15);
  Value params = Value::Map({{Value::Int(param::kVendorId), Value::ByteString(s.vendor_id)},
                             {Value::Int(param::kClassId), Value::ByteString(s.class_id)},
                             {Value::Int(param::kImageDigest), Bstr(DigestOf(s.image))},
                             {Value::Int(param::kImageSize), Value::Unsigned(s.image.size())}});
  std::vector<std::pair<int64_t, Value>> shared = s.shared_prefix;
  shared.push_back({cmd::kOverrideParameters, params});
  shared.push_back({cmd::kVendorIdentifier, rep});
  shared.push_back({cmd::kClassIdentifier, rep});
  cbor::Array comps;
  for (size_t i = 0; i < s.components; ++i)
    comps.push_back(Value::MakeArray({Value::ByteString(Bytes{static_cast<uint8_t>(i)})}));
  Value common = Value::Map({{Value::Int(key::kComponents), Value::MakeArray(std::move(comps))},
                             {Value::Int(key::kSharedSequence), Bstr(Seq(shared))}});
  for (const auto& m : s.common_members) common.map().push_back(m);
  std::vector<std::pair<int64_t, Value>> install = {{cmd::kImageMatch, rep}};
  for (const auto& c : s.extra_install) install.push_back(c);
  Value m = Value::Map({{Value::Int(key::kManifestVersion), Value::Unsigned(1)},
                        {Value::Int(key::kSequenceNumber), Value::Unsigned(s.seq)},
                        {Value::Int(key::kCommon), Bstr(common)},
                        {Value::Int(key::kInvoke), Bstr(Seq({{cmd::kInvoke, Value::Unsigned(2)}}))},
                        {Value::Int(key::kInstall), Bstr(Seq(install))}});
  for (const auto& x : s.members) m.map().push_back(x);
  return m;
}

// An envelope for `manifest`, authenticated by `key` (COSE_Sign1 or, for a symmetric key,
// COSE_Mac0), with `extra` envelope members; maps deterministically encoded (RFC 8949 §4.2.1).
inline Bytes BuildEnvelope(const Value& manifest, const cose::Key& key, bool tagged = true,
                           const std::vector<std::pair<Value, Value>>& extra = {}) {
  const Value manifest_bstr = Bstr(manifest);
  const Bytes digest_encoded = cbor::Encode(DigestOf(cbor::Encode(manifest_bstr)));
  auto block = AuthenticationBlock(key, digest_encoded);
  EXPECT_TRUE(block.has_value()) << block.error().ToString();
  Value auth = Value::MakeArray({Value::ByteString(digest_encoded), Value::ByteString(*block)});
  Value env = Value::Map({{Value::Int(key::kAuthenticationWrapper), Bstr(auth)},
                          {Value::Int(key::kManifest), manifest_bstr}});
  for (const auto& x : extra) env.map().push_back(x);
  return cbor::Encode(tagged ? Value::Tag(kTagEnvelope, std::move(env)) : env);
}

}  // namespace secprof::update::suittest
