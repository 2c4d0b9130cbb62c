// Owner countersigning of a SUIT envelope (install.h AddEnvelopeSignature; draft-ietf-suit-manifest
// §8.3: several authentication blocks over one manifest digest).
#include "secprof/cose/cose.h"
#include "secprof/update/install.h"

namespace secprof::update {

using cbor::Value;

Result<Bytes> AddEnvelopeSignature(ByteView envelope, const cose::Key& key) {
  SECPROF_ASSIGN_OR_RETURN(Envelope env, ParseEnvelope(envelope));
  // §8.3: every authentication block covers the same detached payload, the encoded SUIT_Digest.
  SECPROF_ASSIGN_OR_RETURN(Bytes block, AuthenticationBlock(key, env.auth.digest_encoded));
  cbor::Array auth;
  auth.push_back(Value::ByteString(env.auth.digest_encoded));
  for (const auto& b : env.auth.blocks) auth.push_back(Value::ByteString(b));
  auth.push_back(Value::ByteString(std::move(block)));

  // Replace the wrapper in the envelope map; keep the other members, and their order, as held.
  const Value wrapper = Value::ByteString(cbor::Encode(Value::MakeArray(std::move(auth))));
  const bool tagged = env.value.is_tag();
  Value map = tagged ? env.value.tag_content() : env.value;
  for (auto& [k, v] : map.map())
    if (k == Value::Int(key::kAuthenticationWrapper)) v = wrapper;
  const Value out = tagged ? Value::Tag(env.value.tag_number(), std::move(map)) : std::move(map);
  Bytes wire = cbor::Encode(out, cbor::MapOrder::kPreserveOrder);
  // The digest covers the manifest bstr as encoded, head included: re-encoding must not change it.
  SECPROF_ASSIGN_OR_RETURN(Envelope check, ParseEnvelope(wire));
  if (check.manifest_bstr != env.manifest_bstr)
    return Fail(ErrorCode::kUnsupported,
                "AddEnvelopeSignature: the envelope's manifest is not in preferred serialization; "
                "re-encoding would change the signed bytes");
  return wire;
}

}  // namespace secprof::update
