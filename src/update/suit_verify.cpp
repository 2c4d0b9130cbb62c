// SUIT envelope verification and the image checks (draft-ietf-suit-manifest §8.3, §8.4.8):
// signatures over the manifest digest, severed members, the image parameters a manifest sets.
#include <algorithm>
#include <fstream>

#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"
#include "secprof/update/suit.h"
#include "suit_internal.h"

namespace secprof::update {

using cbor::Value;
using detail::Bad;
using detail::DigestFromBstr;

Status VerifyEnvelope(const Envelope& env, const cose::Key& key) {
  if (env.auth.digest.alg != kAlgSha256)
    return Fail(ErrorCode::kUnsupported, "SUIT authentication-wrapper.digest: algorithm " +
                                             std::to_string(env.auth.digest.alg) +
                                             " not supported (only SHA-256, -16)");
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(env.manifest_bstr));
  if (!crypto::ConstantTimeEqual(d, env.auth.digest.bytes))
    return Fail(ErrorCode::kVerifyFailed,
                "SUIT manifest digest mismatch: the authentication wrapper says " +
                    ToHex(env.auth.digest.bytes) + ", the manifest hashes to " + ToHex(d));
  bool any_sign1 = false;
  std::string reasons;
  bool verified = false;
  for (size_t i = 0; i < env.auth.blocks.size() && !verified; ++i) {
    const std::string f = "authentication-wrapper[" + std::to_string(i + 1) + "]";
    auto tag = cose::PeekTag(env.auth.blocks[i]);
    if (!tag) return Bad(f, tag.error().message());
    if (!*tag || **tag != cose::kTagSign1) {
      reasons += f + ": not a COSE_Sign1 (skipped); ";
      continue;
    }
    any_sign1 = true;
    auto m = cose::DecodeSign1(env.auth.blocks[i], cose::TagPolicy::kRequireTagged);
    if (!m) return Bad(f, m.error().message());
    if (m->payload) return Bad(f, "COSE_Sign1 payload must be nil (detached SUIT_Digest, §8.3)");
    auto st = cose::VerifySign1(*m, key, {}, ByteView(env.auth.digest_encoded));
    if (st) {
      verified = true;
    } else if (st.error().code() == ErrorCode::kVerifyFailed) {
      reasons += f + ": " + st.error().message() + "; ";
    } else {
      return Bad(f, st.error().message(), st.error().code());
    }
  }
  if (!verified) {
    if (!any_sign1)
      return Fail(ErrorCode::kUnsupported,
                  "SUIT envelope has no COSE_Sign1 authentication block: " + reasons);
    return Fail(ErrorCode::kVerifyFailed,
                "SUIT signature does not verify with " + key.Describe() + ": " + reasons);
  }
  for (const auto& [label, bstr] : env.severed) {
    const auto& mm = label == key::kText      ? env.manifest.text
                     : label == key::kInstall ? env.manifest.install
                                              : env.manifest.payload_fetch;
    if (!mm || !mm->digest) return Fail(ErrorCode::kInternal, "severed member without digest");
    if (mm->digest->alg != kAlgSha256)
      return Fail(ErrorCode::kUnsupported, "severed member digest algorithm not supported");
    SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest sd, crypto::Sha256(bstr));
    if (!crypto::ConstantTimeEqual(sd, mm->digest->bytes))
      return Fail(ErrorCode::kVerifyFailed, "SUIT severed member " + std::to_string(label) +
                                                " does not match its digest in the manifest");
  }
  return Ok();
}

Result<Envelope> ParseAndVerify(ByteView data, const cose::Key& key, const ParseLimits& limits) {
  SECPROF_ASSIGN_OR_RETURN(Envelope env, ParseEnvelope(data, limits));
  SECPROF_TRY(VerifyEnvelope(env, key));
  return env;
}

namespace {
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
    } else if (c.label == cmd::kOverrideParameters && selected) {
      for (const auto& [k, v] : c.arg.map()) {
        auto l = k.AsInt64();
        if (!l) continue;
        if (*l == param::kVendorId)
          p.vendor_id = v.is_tag() ? v.tag_content().bytes() : v.bytes();
        else if (*l == param::kClassId)
          p.class_id = v.bytes();
        else if (*l == param::kImageDigest) {
          auto d = DigestFromBstr(v, limits, "image-digest");
          if (d) p.image_digest = *d;
        } else if (*l == param::kImageSize)
          p.image_size = v.uint_value();
        else if (*l == param::kUri)
          p.uri = v.text();
      }
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
