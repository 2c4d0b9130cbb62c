// Creating a signed SUIT envelope for one image (draft-ietf-suit-manifest §8.2-§8.4).
#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"
#include "secprof/update/suit.h"

namespace secprof::update {
namespace {

using cbor::Value;

Value Bstr(const Value& v) { return Value::ByteString(cbor::Encode(v)); }

Value Sequence(std::initializer_list<std::pair<int64_t, Value>> cmds) {
  cbor::Array a;
  for (const auto& [l, arg] : cmds) {
    a.push_back(Value::Int(l));
    a.push_back(arg);
  }
  return Value::MakeArray(std::move(a));
}

Value DigestValue(const Digest& d) {
  return Value::MakeArray({Value::Int(d.alg), Value::ByteString(d.bytes)});
}

}  // namespace

Result<Bytes> AuthenticationBlock(const cose::Key& key, ByteView digest_encoded) {
  if (key.kty == cose::KeyType::kSymmetric) {
    if (!key.secret)
      return Fail(ErrorCode::kInvalidInput, "SUIT authentication: the symmetric key is empty");
    // RFC 9053 §3.1: HMAC 256/256 unless the key names its own HMAC algorithm.
    cose::Mac0Params mp;
    mp.alg = key.alg.value_or(cose::kAlgHmac256_256);
    mp.detached = true;
    SECPROF_ASSIGN_OR_RETURN(cose::Mac0 mac, cose::CreateMac0(key, digest_encoded, mp));
    return cose::Encode(mac, true);
  }
  if (!key.has_private() || !key.private_key)
    return Fail(ErrorCode::kInvalidInput,
                "SUIT authentication: the key must be an EC2/OKP private key or a symmetric key");
  cose::Sign1Params sp;
  sp.alg = key.crv == cose::Curve::kEd25519 || key.crv == cose::Curve::kEd448 ? cose::kAlgEdDsa
                                                                              : cose::kAlgEs256;
  if (key.alg) sp.alg = *key.alg;
  sp.detached = true;
  SECPROF_ASSIGN_OR_RETURN(cose::Sign1 sig, cose::CreateSign1(key, digest_encoded, sp));
  return cose::Encode(sig, true);
}

namespace {

// The manifest bstr (as it goes into the envelope) and the encoded SUIT_Digest over it.
struct Prepared {
  Value manifest_bstr;
  Bytes digest_encoded;
};

Result<Prepared> Prepare(const Digest& image_digest, uint64_t image_size, const CreateParams& p) {
  if (p.vendor_id.size() != kUuidSize)
    return Fail(ErrorCode::kInvalidInput, "SUIT create: vendor-id must be 16 bytes");
  if (p.class_id.size() != kUuidSize)
    return Fail(ErrorCode::kInvalidInput, "SUIT create: class-id must be 16 bytes");
  if (image_digest.alg != kAlgSha256 || image_digest.bytes.size() != crypto::kSha256Size)
    return Fail(ErrorCode::kInvalidInput, "SUIT create: image digest must be SHA-256");
  const Value rep = Value::Unsigned(kRepPolicyDefault);

  cbor::Array comp;
  for (const auto& part : p.component_id) comp.push_back(Value::ByteString(part));
  Value params = Value::Map({{Value::Int(param::kVendorId), Value::ByteString(p.vendor_id)},
                             {Value::Int(param::kClassId), Value::ByteString(p.class_id)},
                             {Value::Int(param::kImageDigest), Bstr(DigestValue(image_digest))},
                             {Value::Int(param::kImageSize), Value::Unsigned(image_size)}});
  Value shared = Sequence({{cmd::kOverrideParameters, params},
                           {cmd::kVendorIdentifier, rep},
                           {cmd::kClassIdentifier, rep}});
  Value common = Value::Map(
      {{Value::Int(key::kComponents), Value::MakeArray({Value::MakeArray(std::move(comp))})},
       {Value::Int(key::kSharedSequence), Bstr(shared)}});
  Value validate = Sequence({{cmd::kImageMatch, rep}});
  Value install = p.uri.empty()
                      ? Sequence({{cmd::kImageMatch, rep}})
                      : Sequence({{cmd::kOverrideParameters,
                                   Value::Map({{Value::Int(param::kUri), Value::Text(p.uri)}})},
                                  {cmd::kFetch, Value::Unsigned(2)},
                                  {cmd::kImageMatch, rep}});
  Value invoke = Sequence({{cmd::kInvoke, Value::Unsigned(2)}});
  Value manifest =
      Value::Map({{Value::Int(key::kManifestVersion), Value::Unsigned(kManifestVersion)},
                  {Value::Int(key::kSequenceNumber), Value::Unsigned(p.sequence_number)},
                  {Value::Int(key::kCommon), Bstr(common)},
                  {Value::Int(key::kValidate), Bstr(validate)},
                  {Value::Int(key::kInvoke), Bstr(invoke)},
                  {Value::Int(key::kInstall), Bstr(install)}});
  const Value manifest_bstr = Bstr(manifest);
  const Bytes manifest_wire = cbor::Encode(manifest_bstr);

  // §8.3: the digest covers the manifest bstr as encoded in the envelope; the COSE_Sign1 has a
  // nil payload and signs the encoded SUIT_Digest as its detached payload.
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest md, crypto::Sha256(manifest_wire));
  const Bytes digest_encoded =
      cbor::Encode(DigestValue(Digest{kAlgSha256, Bytes(md.begin(), md.end())}));
  return Prepared{manifest_bstr, digest_encoded};
}

Bytes Assemble(const Prepared& pr, const Bytes& block) {
  Value auth = Value::MakeArray({Value::ByteString(pr.digest_encoded), Value::ByteString(block)});
  Value envelope =
      Value::Tag(kTagEnvelope, Value::Map({{Value::Int(key::kAuthenticationWrapper), Bstr(auth)},
                                           {Value::Int(key::kManifest), pr.manifest_bstr}}));
  return cbor::Encode(envelope);
}

}  // namespace

Result<Bytes> CreateEnvelopeForDigest(const Digest& image_digest, uint64_t image_size,
                                      const CreateParams& p, const cose::Key& key) {
  SECPROF_ASSIGN_OR_RETURN(Prepared pr, Prepare(image_digest, image_size, p));
  SECPROF_ASSIGN_OR_RETURN(Bytes block, AuthenticationBlock(key, pr.digest_encoded));
  return Assemble(pr, block);
}

Result<Bytes> CreateEnvelopeWithSigner(const Digest& image_digest, uint64_t image_size,
                                       const CreateParams& p, crypto::Signer& signer) {
  SECPROF_ASSIGN_OR_RETURN(Prepared pr, Prepare(image_digest, image_size, p));
  // RFC 9053 §2.1 / §2.2: ES256 for an ECDSA P-256 signer, EdDSA for Ed25519 / Ed448.
  const crypto::SignatureAlgorithm sa = signer.algorithm();
  cose::Sign1Params sp;
  sp.alg = sa == crypto::SignatureAlgorithm::kEcdsaP256Sha256 ||
                   sa == crypto::SignatureAlgorithm::kEcdsaP256Sha256Der
               ? cose::kAlgEs256
               : cose::kAlgEdDsa;
  sp.detached = true;
  SECPROF_ASSIGN_OR_RETURN(cose::Sign1 sig,
                           cose::CreateSign1WithSigner(signer, pr.digest_encoded, sp));
  return Assemble(pr, cose::Encode(sig, true));
}

Result<Bytes> CreateEnvelope(ByteView image, const CreateParams& params, const cose::Key& key) {
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(image));
  return CreateEnvelopeForDigest(Digest{kAlgSha256, Bytes(d.begin(), d.end())}, image.size(),
                                 params, key);
}

}  // namespace secprof::update
