// SUIT envelope verification and the image checks (draft-ietf-suit-manifest §8.3, §8.4.8):
// signatures over the manifest digest, severed members, the image parameters a manifest sets.
#include <algorithm>
#include <fstream>

#include "secprof/core/hex.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"
#include "secprof/update/suit.h"
#include "suit_internal.h"

namespace secprof::update {

using cbor::Value;
using detail::Bad;
using detail::DigestFromBstr;

namespace {

// §8.3: every authentication block covers the encoded SUIT_Digest as its detached payload, with
// an empty external AAD. A COSE_Sign1 (RFC 9052 §4.2) for a signature key, a COSE_Mac0
// (RFC 9052 §6.2; HMAC, RFC 9053 §3.1) for a symmetric key.
Status VerifyBlock(ByteView block, uint64_t tag, const Envelope& env, const cose::Key& key,
                   const std::string& f, std::string* alg_name) {
  if (tag == cose::kTagSign1) {
    auto m = cose::DecodeSign1(block, cose::TagPolicy::kRequireTagged);
    if (!m) return Bad(f, m.error().message());
    if (m->payload) return Bad(f, "COSE_Sign1 payload must be nil (detached SUIT_Digest, §8.3)");
    auto alg = cose::MessageAlgorithm(m->protected_header, m->unprotected,
                                      cose::AlgorithmKind::kSignature);
    if (alg) *alg_name = alg->name;
    return cose::VerifySign1(*m, key, {}, ByteView(env.auth.digest_encoded));
  }
  auto m = cose::DecodeMac0(block, cose::TagPolicy::kRequireTagged);
  if (!m) return Bad(f, m.error().message());
  if (m->payload) return Bad(f, "COSE_Mac0 payload must be nil (detached SUIT_Digest, §8.3)");
  auto alg = cose::MessageAlgorithm(m->protected_header, m->unprotected, cose::AlgorithmKind::kMac);
  if (alg) *alg_name = alg->name;
  return cose::VerifyMac0(*m, key, {}, ByteView(env.auth.digest_encoded));
}

}  // namespace

Result<Authentication> Authenticate(const Envelope& env, const cose::Key& key) {
  if (env.auth.digest.alg != kAlgSha256)
    return Fail(ErrorCode::kUnsupported, "SUIT authentication-wrapper.digest: algorithm " +
                                             std::to_string(env.auth.digest.alg) +
                                             " not supported (only SHA-256, -16)");
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(env.manifest_bstr));
  if (!crypto::ConstantTimeEqual(d, env.auth.digest.bytes))
    return Fail(ErrorCode::kVerifyFailed,
                "SUIT manifest digest mismatch: the authentication wrapper says " +
                    ToHex(env.auth.digest.bytes) + ", the manifest hashes to " + ToHex(d));
  // A symmetric key verifies COSE_Mac0 blocks, any other key COSE_Sign1 blocks; blocks of the
  // other kind are skipped (they are for other recipients or other authorities).
  const bool mac = key.kty == cose::KeyType::kSymmetric;
  const uint64_t want = mac ? cose::kTagMac0 : cose::kTagSign1;
  const char* want_name = mac ? "COSE_Mac0" : "COSE_Sign1";
  bool any = false;
  std::string reasons;
  std::optional<Authentication> found;
  for (size_t i = 0; i < env.auth.blocks.size() && !found; ++i) {
    const std::string f = "authentication-wrapper[" + std::to_string(i + 1) + "]";
    auto tag = cose::PeekTag(env.auth.blocks[i]);
    if (!tag) return Bad(f, tag.error().message());
    if (!*tag || **tag != want) {
      reasons += f + ": not a " + want_name + " (skipped); ";
      continue;
    }
    any = true;
    std::string alg_name = "?";
    auto st = VerifyBlock(env.auth.blocks[i], want, env, key, f, &alg_name);
    if (st) {
      found = Authentication{i + 1, want_name, alg_name};
    } else if (st.error().code() == ErrorCode::kVerifyFailed) {
      reasons += f + ": " + st.error().message() + "; ";
    } else {
      return Bad(f, st.error().message(), st.error().code());
    }
  }
  if (!found) {
    if (!any)
      return Fail(ErrorCode::kUnsupported, std::string("SUIT envelope has no ") + want_name +
                                               " authentication block for " + key.Describe() +
                                               ": " + reasons);
    return Fail(ErrorCode::kVerifyFailed, std::string("SUIT ") + (mac ? "MAC" : "signature") +
                                              " does not verify with " + key.Describe() + ": " +
                                              reasons);
  }
  for (const auto& [label, bstr] : env.severed) {
    const std::optional<SeverableMember>* mm = detail::SeverableFor(env.manifest, label);
    if (!mm || !*mm || !(*mm)->digest)
      return Fail(ErrorCode::kInternal, "severed member without digest");
    if ((*mm)->digest->alg != kAlgSha256)
      return Fail(ErrorCode::kUnsupported, "severed member digest algorithm not supported");
    SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest sd, crypto::Sha256(bstr));
    if (!crypto::ConstantTimeEqual(sd, (*mm)->digest->bytes))
      return Fail(ErrorCode::kVerifyFailed, "SUIT severed member " + detail::SeverableName(label) +
                                                " does not match its digest in the manifest");
  }
  return *found;
}

Status VerifyEnvelope(const Envelope& env, const cose::Key& key) {
  SECPROF_TRY(Authenticate(env, key));
  return Ok();
}

Result<Envelope> ParseAndVerify(ByteView data, const cose::Key& key, const ParseLimits& limits) {
  SECPROF_ASSIGN_OR_RETURN(Envelope env, ParseEnvelope(data, limits));
  SECPROF_TRY(VerifyEnvelope(env, key));
  return env;
}

namespace {
void SetParameters(const Value& map, bool override, ImageParameters& p, const ParseLimits& limits) {
  for (const auto& [k, v] : map.map()) {
    auto l = k.AsInt64();
    if (!l) continue;
    if (*l == param::kVendorId && (override || !p.vendor_id))
      p.vendor_id = v.is_tag() ? v.tag_content().bytes() : v.bytes();
    else if (*l == param::kClassId && (override || !p.class_id))
      p.class_id = v.bytes();
    else if (*l == param::kImageDigest && (override || !p.image_digest)) {
      auto d = DigestFromBstr(v, limits, "image-digest");
      if (d) p.image_digest = *d;
    } else if (*l == param::kImageSize && (override || !p.image_size))
      p.image_size = v.uint_value();
    else if (*l == param::kUri && (override || !p.uri))
      p.uri = v.text();
  }
}

void ApplySequence(const CommandSequence& seq, size_t index, bool& selected, ImageParameters& p,
                   const ParseLimits& limits) {
  for (const auto& c : seq) {
    if (c.label == cmd::kSetComponentIndex) {
      if (c.arg.is_bool()) {
        selected = true;
      } else if (c.arg.is_array()) {
        selected = std::any_of(c.arg.array().begin(), c.arg.array().end(),
                               [&](const Value& x) { return x.uint_value() == index; });
      } else {
        selected = c.arg.uint_value() == index;
      }
    } else if ((c.label == cmd::kOverrideParameters || c.label == cmd::kSetParameters) &&
               selected) {
      // trust-domains-06 §5.6.1: set-parameters leaves a parameter that is already set.
      SetParameters(c.arg, c.label == cmd::kOverrideParameters, p, limits);
    } else if (c.label == cmd::kOverrideMultiple) {
      // update-management-09 §5.7: override-parameters for each component index named.
      for (const auto& [idx, params] : c.arg.map())
        if (idx.uint_value() == index) SetParameters(params, true, p, limits);
    }
  }
}
}  // namespace

Result<ImageParameters> ImageParametersFor(const Manifest& m, size_t index) {
  if (index >= m.common.components.size())
    return Fail(ErrorCode::kInvalidInput,
                "SUIT manifest has no component " + std::to_string(index));
  ImageParameters p;
  ParseLimits limits;
  bool selected = index == 0;  // the component index starts at 0 in every sequence (§8.4.10.1)
  if (m.common.shared_sequence)
    ApplySequence(m.common.shared_sequence->commands, index, selected, p, limits);
  if (m.install && m.install->sequence) {
    ImageParameters q;
    selected = index == 0;
    ApplySequence(m.install->sequence->commands, index, selected, q, limits);
    if (q.uri) p.uri = q.uri;
  }
  return p;
}

Status CheckVendorClass(const ImageParameters& p, ByteView vendor_id, ByteView class_id) {
  if (!p.vendor_id)
    return Fail(ErrorCode::kVerifyFailed, "SUIT manifest sets no vendor-id for the component");
  if (!std::equal(p.vendor_id->begin(), p.vendor_id->end(), vendor_id.begin(), vendor_id.end()))
    return Fail(ErrorCode::kVerifyFailed, "SUIT vendor-id mismatch: manifest " +
                                              FormatUuid(*p.vendor_id) + ", expected " +
                                              FormatUuid(vendor_id));
  if (!p.class_id)
    return Fail(ErrorCode::kVerifyFailed, "SUIT manifest sets no class-id for the component");
  if (!std::equal(p.class_id->begin(), p.class_id->end(), class_id.begin(), class_id.end()))
    return Fail(ErrorCode::kVerifyFailed, "SUIT class-id mismatch: manifest " +
                                              FormatUuid(*p.class_id) + ", expected " +
                                              FormatUuid(class_id));
  return Ok();
}

namespace {
Status CompareImage(const ImageParameters& p, uint64_t size, const crypto::Sha256Digest& d) {
  if (p.image_size && *p.image_size != size)
    return Fail(ErrorCode::kVerifyFailed, "SUIT image-size mismatch: manifest " +
                                              std::to_string(*p.image_size) + ", image " +
                                              std::to_string(size) + " bytes");
  if (!crypto::ConstantTimeEqual(d, p.image_digest->bytes))
    return Fail(ErrorCode::kVerifyFailed, "SUIT image-digest mismatch: manifest " +
                                              ToHex(p.image_digest->bytes) + ", image " + ToHex(d));
  return Ok();
}
Status NeedSha256(const ImageParameters& p) {
  if (!p.image_digest)
    return Fail(ErrorCode::kInvalidInput, "SUIT manifest sets no image-digest for the component");
  if (p.image_digest->alg != kAlgSha256)
    return Fail(
        ErrorCode::kUnsupported,
        "SUIT image-digest algorithm " + std::to_string(p.image_digest->alg) + " not supported");
  return Ok();
}
}  // namespace

Status CheckImage(const ImageParameters& p, ByteView image) {
  SECPROF_TRY(NeedSha256(p));
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(image));
  return CompareImage(p, image.size(), d);
}

Result<std::pair<Digest, uint64_t>> DigestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kNotFound, path + ": cannot open");
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Hasher h, crypto::Sha256Hasher::Create());
  std::vector<uint8_t> buf(1u << 16);
  uint64_t total = 0;
  while (in) {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    SECPROF_TRY(h.Update(ByteView(buf.data(), n)));
    total += n;
  }
  if (in.bad()) return Fail(ErrorCode::kIo, path + ": read error");
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, h.Finish());
  return std::make_pair(Digest{kAlgSha256, Bytes(d.begin(), d.end())}, total);
}

Status CheckImageFile(const ImageParameters& p, const std::string& path) {
  SECPROF_TRY(NeedSha256(p));
  SECPROF_ASSIGN_OR_RETURN(auto ds, DigestFile(path));
  crypto::Sha256Digest d{};
  std::copy(ds.first.bytes.begin(), ds.first.bytes.end(), d.begin());
  return CompareImage(p, ds.second, d);
}

}  // namespace secprof::update
