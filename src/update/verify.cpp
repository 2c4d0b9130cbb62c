// Step 1 of an install, Verify (install.h): the envelope's signatures, vendor-id, class-id,
// sequence number against the floor, image size and digest; and the refusal reasons it returns.
#include <string>

#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"
#include "store_impl.h"
#include "suit_internal.h"

namespace secprof::update {
namespace {

// ---- Refusals: the message's fixed phrase and the stable reason
// ----------------------------------

struct RefusalInfo {
  Refusal refusal;
  const char* phrase;  // the message starts with it (people read it; callers use the reason)
  Reason reason;
};
constexpr RefusalInfo kRefusals[] = {
    {Refusal::kMalformed, "malformed envelope", kMalformedEnvelope},
    {Refusal::kUnsupported, "unsupported", kUnsupportedSuit},
    {Refusal::kForgedSignature, "forged signature", kForgedSignature},
    {Refusal::kWrongVendor, "wrong vendor", kWrongVendor},
    {Refusal::kWrongClass, "wrong class", kWrongClass},
    {Refusal::kImageDigest, "image digest mismatch (tampered)", kImageDigest},
    {Refusal::kImageSize, "image size mismatch", kImageSize},
    {Refusal::kRollback, "rollback", kRollback},
    {Refusal::kReplay, "replayed manifest", kReplay},
    {Refusal::kBusy, "install pending", kInstallPending},
    {Refusal::kUnsupportedFeature, "unsupported feature", kUnsupportedFeature},
    {Refusal::kImageTooLong, "image too long", kImageTooLong},
};

// "<phrase>: <detail>", carrying the refusal's reason.
tl::unexpected<Error> Refuse(Refusal r, ErrorCode code, const std::string& detail) {
  for (const auto& x : kRefusals)
    if (x.refusal == r) return Fail(code, x.reason, std::string(x.phrase) + ": " + detail);
  return Fail(code, detail);
}

}  // namespace

Error MakeRefusal(Refusal r, ErrorCode code, const std::string& detail) {
  return Refuse(r, code, detail).value();
}

const char* RefusalName(Refusal r) {
  for (const auto& x : kRefusals)
    if (x.refusal == r) return x.phrase;
  return "none";
}

Refusal RefusalOf(const Error& e) {
  for (const auto& x : kRefusals)
    if (e.Is(x.reason)) return x.refusal;
  return Refusal::kNone;
}

namespace detail {

Status CheckSequence(uint64_t seq, uint64_t floor) {
  if (seq < floor)
    return Fail(ErrorCode::kVerifyFailed, kRollback,
                "rollback: sequence " + std::to_string(seq) + " is below the installed " +
                    std::to_string(floor));
  if (seq == floor)
    return Fail(ErrorCode::kVerifyFailed, kReplay,
                "replayed manifest: sequence " + std::to_string(seq) +
                    " is not above the installed " + std::to_string(floor));
  return Ok();
}

Status CheckSize(uint64_t expected, uint64_t actual) {
  if (actual < expected)
    return Fail(ErrorCode::kVerifyFailed, kImageSize,
                "image size mismatch (truncated transfer): the manifest says " +
                    std::to_string(expected) + " bytes, the image has " + std::to_string(actual));
  if (actual > expected)
    return Fail(ErrorCode::kVerifyFailed, kImageSize,
                "image size mismatch (image too long): the manifest says " +
                    std::to_string(expected) + " bytes, the image has " + std::to_string(actual));
  return Ok();
}

Status CheckDigest(ByteView expected, ByteView actual) {
  if (!crypto::ConstantTimeEqual(expected, actual))
    return Fail(ErrorCode::kVerifyFailed, kImageDigest,
                "image digest mismatch (tampered): the manifest says "
                "sha-256 " +
                    ToHex(expected) + ", the image hashes to " + ToHex(actual));
  return Ok();
}

}  // namespace detail

using detail::CheckDigest;
using detail::CheckSequence;
using detail::CheckSize;
using detail::Hashed;
using detail::HashSource;
using detail::ImageSource;

Status SlotStore::Impl::CheckSignatures(const Envelope& env) const {
  // A signature key verifies COSE_Sign1 blocks, a symmetric key COSE_Mac0 blocks (suit.h
  // Authenticate); an envelope with no block of the vendor key's kind is unauthenticated.
  const bool mac = id.vendor_key.kty == cose::KeyType::kSymmetric;
  const uint64_t want = mac ? cose::kTagMac0 : cose::kTagSign1;
  size_t blocks = 0;
  for (const auto& b : env.auth.blocks) {
    auto tag = cose::PeekTag(b);
    if (tag && *tag && **tag == want) ++blocks;
  }
  if (blocks == 0)
    return Refuse(Refusal::kForgedSignature, ErrorCode::kVerifyFailed,
                  mac ? "the envelope carries no COSE_Mac0 block (unauthenticated)"
                      : "the envelope carries no COSE_Sign1 block (unsigned)");
  auto check = [&](const cose::Key& key, const char* who) -> Status {
    auto st = VerifyEnvelope(env, key);
    if (st) return Ok();
    const Error& e = st.error();
    if (e.code() == ErrorCode::kVerifyFailed)
      return Refuse(Refusal::kForgedSignature, ErrorCode::kVerifyFailed,
                    std::string(who) + ": " + e.message());
    if (e.code() == ErrorCode::kUnsupported)
      return Refuse(Refusal::kUnsupported, ErrorCode::kUnsupported, e.message());
    return Refuse(Refusal::kMalformed, ErrorCode::kInvalidInput, e.message());
  };
  SECPROF_TRY(check(id.vendor_key, "no valid vendor signature"));
  if (id.owner_key) SECPROF_TRY(check(*id.owner_key, "no valid owner signature"));
  return Ok();
}

Result<ImageRecord> SlotStore::Impl::VerifyManifestImpl(ByteView envelope) const {
  SECPROF_TRY(NeedInitialized());
  auto env = ParseEnvelope(envelope, opt.limits);
  if (!env) {
    const Error& e = env.error();
    if (e.code() == ErrorCode::kUnsupported)
      return Refuse(Refusal::kUnsupported, ErrorCode::kUnsupported, e.message());
    return Refuse(Refusal::kMalformed,
                  e.code() == ErrorCode::kLimit ? e.code() : ErrorCode::kInvalidInput, e.message());
  }
  SECPROF_TRY(CheckSignatures(*env));
  // The manifest is authentic: refuse it if it asks for something the installer cannot do.
  if (auto st = CheckInstallerSupport(*env); !st)
    return Refuse(Refusal::kUnsupportedFeature, ErrorCode::kUnsupported, st.error().message());

  // From here on the manifest is authentic: its fields can be trusted as the signer's.
  const Manifest& m = env->manifest;
  if (m.common.components.size() != 1)
    return Refuse(Refusal::kUnsupported, ErrorCode::kUnsupported,
                  "the installer takes one image component, the manifest has " +
                      std::to_string(m.common.components.size()));
  auto p = ImageParametersFor(m, 0);
  if (!p) return Refuse(Refusal::kMalformed, ErrorCode::kInvalidInput, p.error().message());
  if (!p->vendor_id)
    return Refuse(Refusal::kWrongVendor, ErrorCode::kVerifyFailed,
                  "the manifest names no vendor-id");
  if (!crypto::ConstantTimeEqual(*p->vendor_id, id.vendor_id))
    return Refuse(Refusal::kWrongVendor, ErrorCode::kVerifyFailed,
                  "the manifest is for vendor " + FormatUuid(*p->vendor_id) + ", this thing is " +
                      FormatUuid(id.vendor_id));
  if (!p->class_id)
    return Refuse(Refusal::kWrongClass, ErrorCode::kVerifyFailed, "the manifest names no class-id");
  if (!crypto::ConstantTimeEqual(*p->class_id, id.class_id))
    return Refuse(Refusal::kWrongClass, ErrorCode::kVerifyFailed,
                  "the manifest is for class " + FormatUuid(*p->class_id) + ", this thing is " +
                      FormatUuid(id.class_id));
  // Before touching the image: a replay or rollback is refused without reading 64 MiB.
  SECPROF_TRY(CheckSequence(m.sequence_number, state->floor));
  if (!p->image_digest)
    return Refuse(Refusal::kMalformed, ErrorCode::kInvalidInput,
                  "the manifest sets no image-digest");
  if (p->image_digest->alg != kAlgSha256)
    return Refuse(
        Refusal::kUnsupported, ErrorCode::kUnsupported,
        "image-digest algorithm " + std::to_string(p->image_digest->alg) + " (only SHA-256, -16)");
  if (!p->image_size)
    return Refuse(Refusal::kMalformed, ErrorCode::kInvalidInput,
                  "the manifest sets no image-size (the installer requires one)");
  return ImageRecord{m.sequence_number, p->image_digest->bytes, *p->image_size};
}

Result<VerifiedUpdate> SlotStore::Impl::VerifyImpl(ByteView envelope, ImageSource& image) const {
  SECPROF_ASSIGN_OR_RETURN(ImageRecord want, VerifyManifestImpl(envelope));
  SECPROF_TRY(CheckSize(want.size, image.size()));
  SECPROF_ASSIGN_OR_RETURN(Hashed h, HashSource(image, opt.read_chunk));
  SECPROF_TRY(CheckSize(want.size, h.size));  // the file changed size while read
  SECPROF_TRY(CheckDigest(want.digest, h.digest));
  return VerifiedUpdate(ImageRecord{want.sequence_number, std::move(want.digest), h.size});
}

}  // namespace secprof::update
