// Owner countersigning of a SUIT envelope (install.h AddEnvelopeSignature; draft-ietf-suit-manifest
// §8.3: several authentication blocks over one manifest digest).
#include "secprof/cose/cose.h"
#include "secprof/update/install.h"

namespace secprof::update {

using cbor::Value;

Result<Bytes> AddEnvelopeSignature(ByteView envelope, const cose::Key& key) {
  SECPROF_ASSIGN_OR_RETURN(Envelope env, ParseEnvelope(envelope));
  if (!key.has_private())
    return Fail(ErrorCode::kInvalidInput, "AddEnvelopeSignature: the key has no private part");
  // §8.3: every authentication block signs the same detached payload, the encoded SUIT_Digest.
  cose::Sign1Params sp;
  sp.alg = key.crv == cose::Curve::kEd25519 || key.crv == cose::Curve::kEd448 ? cose::kAlgEdDsa
                                                                              : cose::kAlgEs256;
  if (key.alg) sp.alg = *key.alg;
  sp.detached = true;
  SECPROF_ASSIGN_OR_RETURN(cose::Sign1 sig, cose::CreateSign1(key, env.auth.digest_encoded, sp));
  cbor::Array auth;
  auth.push_back(Value::ByteString(env.auth.digest_encoded));
  for (const auto& b : env.auth.blocks) auth.push_back(Value::ByteString(b));
  auth.push_back(Value::ByteString(cose::Encode(sig, true)));

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
