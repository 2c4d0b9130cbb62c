// secprof/update/suit.h — the SUIT envelope and manifest of draft-ietf-suit-manifest: parse,
// verify, create.
//
// Section numbers below are those of draft-ietf-suit-manifest. The CDDL shipped with the test
// vectors (shared/vectors/suit/draft-ietf-suit-manifest.cddl) carries no revision header; its
// labels (envelope tag 107, manifest tag 1070, suit-reference-uri 4, suit-directive-write 18,
// suit-parameter-content 18, suit-condition-check-content 6, suit-parameter-fetch-arguments 25,
// the integrated-payload tstr keys and a SUIT_Digest as the first element of the authentication
// wrapper) are those of the late revisions (-2x), which is what this module implements.
//
//   SECPROF_ASSIGN_OR_RETURN(update::Envelope env, update::ParseEnvelope(bytes));
//   SECPROF_TRY(update::VerifyEnvelope(env, vendor_public_key));   // kVerifyFailed if forged
//   SECPROF_ASSIGN_OR_RETURN(update::ImageParameters p, update::ImageParametersFor(env.manifest));
//   SECPROF_TRY(update::CheckVendorClass(p, my_vendor, my_class));
//   SECPROF_TRY(update::CheckImageFile(p, "/tmp/fw.bin"));
//
// What is covered (§8): the envelope (§8.2), the authentication wrapper with its SUIT_Digest and
// COSE_Sign1 blocks (§8.3), the manifest's version, sequence number, reference URI, common
// section (components, shared sequence) and the validate/load/invoke/payload-fetch/install
// command sequences (§8.4), with parameters vendor-id, class-id, image-digest, image-size,
// component-slot, uri, source-component (§8.4.8). Severable members (§8.4.5) are checked against
// the digests the manifest holds for them. suit-text and unknown manifest or envelope members are
// kept as opaque CBOR. A SUIT processor (running the sequences, §6) is not part of this module.
//
// Error codes: kInvalidInput for malformed input (the message names the field, e.g.
// "SUIT manifest: common: shared-sequence[3]: ..."); kLimit when a configured size/depth limit is
// exceeded; kUnsupported for well-formed SUIT we do not handle (e.g. a SHA-384 digest, a
// COSE_Mac0 authentication block only); kVerifyFailed when a digest, a signature, a vendor/class
// identifier or an image does not match.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "secprof/cbor/cbor.h"
#include "secprof/core/result.h"
#include "secprof/cose/key.h"
#include "secprof/crypto/signer.h"

namespace secprof::update {

using cbor::Bytes;
using cbor::ByteView;

// ---- Constants (§8.2, §8.3, §8.4 and the CDDL of Appendix A) ---------------------------------
inline constexpr uint64_t kTagEnvelope = 107;   // SUIT_Envelope_Tagged
inline constexpr uint64_t kTagManifest = 1070;  // SUIT_Manifest_Tagged (refused inside envelopes)
inline constexpr int64_t kAlgSha256 = -16;      // cose-alg-sha-256, REQUIRED to implement
inline constexpr uint64_t kManifestVersion = 1;
inline constexpr size_t kUuidSize = 16;  // RFC4122_UUID = bstr .size 16

namespace key {  // envelope and manifest member labels
inline constexpr int64_t kAuthenticationWrapper = 2;
inline constexpr int64_t kManifest = 3;
inline constexpr int64_t kManifestVersion = 1;
inline constexpr int64_t kSequenceNumber = 2;
inline constexpr int64_t kCommon = 3;
inline constexpr int64_t kReferenceUri = 4;
inline constexpr int64_t kValidate = 7;
inline constexpr int64_t kLoad = 8;
inline constexpr int64_t kInvoke = 9;
inline constexpr int64_t kPayloadFetch = 16;
inline constexpr int64_t kInstall = 20;
inline constexpr int64_t kText = 23;
inline constexpr int64_t kComponents = 2;      // in SUIT_Common
inline constexpr int64_t kSharedSequence = 4;  // in SUIT_Common
// draft-ietf-suit-trust-domains-06 (§9.1-§9.3 and Appendix A):
inline constexpr int64_t kDelegation = 1;              // envelope: delegation chains (App. A)
inline constexpr int64_t kManifestComponentId = 5;     // manifest, §5.2.1
inline constexpr int64_t kDependencyResolution = 15;   // manifest/envelope, severable, §5.5
inline constexpr int64_t kCandidateVerification = 18;  // manifest/envelope, severable, §7.1
inline constexpr int64_t kUninstall = 24;              // manifest, §6
inline constexpr int64_t kDependencies = 1;            // in SUIT_Common, §5.2.2
// draft-ietf-suit-update-management-09 (§3, Appendix A):
inline constexpr int64_t kSetVersion = 6;  // manifest, §3.1
inline constexpr int64_t kCoswid = 14;     // manifest/envelope, severable, §3.2
}  // namespace key

namespace cmd {  // conditions and directives (§8.4.9, §8.4.10)
inline constexpr int64_t kVendorIdentifier = 1;
inline constexpr int64_t kClassIdentifier = 2;
inline constexpr int64_t kImageMatch = 3;
inline constexpr int64_t kComponentSlot = 5;
inline constexpr int64_t kCheckContent = 6;
inline constexpr int64_t kSetComponentIndex = 12;
inline constexpr int64_t kAbort = 14;
inline constexpr int64_t kTryEach = 15;
inline constexpr int64_t kWrite = 18;
inline constexpr int64_t kOverrideParameters = 20;
inline constexpr int64_t kFetch = 21;
inline constexpr int64_t kCopy = 22;
inline constexpr int64_t kInvoke = 23;
inline constexpr int64_t kDeviceIdentifier = 24;
inline constexpr int64_t kSwap = 31;
inline constexpr int64_t kRunSequence = 32;
// draft-ietf-suit-trust-domains-06 §5.6 (IANA §9.4):
inline constexpr int64_t kDependencyIntegrity = 7;  // condition, §5.6.4
inline constexpr int64_t kIsDependency = 8;         // condition, §5.6.3
inline constexpr int64_t kProcessDependency = 11;   // directive, §5.6.2
inline constexpr int64_t kSetParameters = 19;       // directive, §5.6.1
inline constexpr int64_t kUnlink = 33;              // directive, §5.6.5
// draft-ietf-suit-update-management-09 §5 (IANA §6.1):
inline constexpr int64_t kUseBefore = 4;          // condition, §5.1
inline constexpr int64_t kImageNotMatch = 25;     // condition, §5.2
inline constexpr int64_t kMinimumBattery = 26;    // condition, §5.3
inline constexpr int64_t kUpdateAuthorized = 27;  // condition, §5.4
inline constexpr int64_t kVersion = 28;           // condition, §5.5
inline constexpr int64_t kWait = 29;              // directive, §5.6
inline constexpr int64_t kOverrideMultiple = 34;  // directive, §5.7
inline constexpr int64_t kCopyParams = 35;        // directive, §5.8
// draft-ietf-suit-report-10 defines the report a processor sends, and no manifest command or
// parameter: a manifest asks for records through each command's SUIT_Rep_Policy (§8.4.7 here).
}  // namespace cmd

namespace param {  // SUIT_Parameters (§8.4.8)
inline constexpr int64_t kVendorId = 1;
inline constexpr int64_t kClassId = 2;
inline constexpr int64_t kImageDigest = 3;
inline constexpr int64_t kComponentSlot = 5;
inline constexpr int64_t kStrictOrder = 12;
inline constexpr int64_t kSoftFailure = 13;
inline constexpr int64_t kImageSize = 14;
inline constexpr int64_t kContent = 18;
inline constexpr int64_t kUri = 21;
inline constexpr int64_t kSourceComponent = 22;
inline constexpr int64_t kInvokeArgs = 23;
inline constexpr int64_t kDeviceId = 24;
inline constexpr int64_t kFetchArguments = 25;
// draft-ietf-suit-update-management-09 §4 (IANA §6.2):
inline constexpr int64_t kUseBefore = 4;           // uint, seconds since 1970, §4.1
inline constexpr int64_t kMinimumBattery = 26;     // uint, mWh, §4.2
inline constexpr int64_t kUpdatePriority = 27;     // int, §4.3
inline constexpr int64_t kVersion = 28;            // bstr .cbor [type 1..5, [+ int]], §4.4
inline constexpr int64_t kWaitInfo = 29;           // bstr .cbor SUIT_Wait_Event, §4.5
inline constexpr int64_t kComponentMetadata = 30;  // bstr .cbor SUIT_Component_Metadata, §4.6
}  // namespace param

// Reporting policy bits (§8.4.7): send-record-on-success 0 .. send-sysinfo-failure 3.
inline constexpr uint64_t kRepPolicyDefault = 15;

// ---- Types -------------------------------------------------------------------------------------
// SUIT_Digest = [algorithm-id, digest-bytes] (§10, CDDL). Extensions are refused.
struct Digest {
  int64_t alg = kAlgSha256;
  Bytes bytes;
};

// One (condition or directive, argument) pair of a command sequence (§8.4.6). The argument is
// kept as decoded; nested sequences (try-each, run-sequence) are checked when parsed.
struct Command {
  int64_t label = 0;
  cbor::Value arg;
};
using CommandSequence = std::vector<Command>;

// A command sequence member as held in the manifest: `encoded` is the bstr content (what a
// severable member's digest covers, once wrapped), `commands` the parsed pairs.
struct SequenceMember {
  Bytes encoded;
  CommandSequence commands;
};

// A severable member (§8.4.5): in the manifest either the member itself or its SUIT_Digest; when
// a digest, the envelope may carry the member (checked by VerifyEnvelope).
struct SeverableMember {
  std::optional<Digest> digest;            // severed: the manifest holds only this
  std::optional<SequenceMember> sequence;  // present in the manifest (command sequences only)
  std::optional<Bytes> text_encoded;       // suit-text kept in the manifest, opaque
};

using ComponentId = std::vector<Bytes>;  // SUIT_Component_Identifier = [* bstr]

struct Common {  // SUIT_Common (§8.4.5)
  std::vector<ComponentId> components;
  std::optional<SequenceMember> shared_sequence;
  // draft-ietf-suit-trust-domains-06 §5.2.2: SUIT_Dependencies, component index -> prefix
  // (empty when the dependency metadata names none). Empty when the manifest has none.
  std::vector<std::pair<uint64_t, ComponentId>> dependencies;
};

struct Manifest {  // SUIT_Manifest (§8.4)
  uint64_t version = kManifestVersion;
  uint64_t sequence_number = 0;
  Bytes common_encoded;  // the bstr content of suit-common
  Common common;
  std::optional<std::string> reference_uri;
  std::optional<SequenceMember> validate, load, invoke;
  std::optional<SeverableMember> payload_fetch, install, text;
  // draft-ietf-suit-trust-domains-06: §5.5 and §7.1 (severable command sequences), §6, §5.2.1.
  std::optional<SeverableMember> dependency_resolution, candidate_verification;
  std::optional<SequenceMember> uninstall;
  std::optional<ComponentId> manifest_component_id;
  // draft-ietf-suit-update-management-09: §3.2 (severable, kept opaque), §3.1.
  std::optional<SeverableMember> coswid;
  std::optional<std::vector<int64_t>> set_version;
  cbor::MapEntries extensions;  // unknown members, as decoded
};

struct AuthenticationWrapper {  // SUIT_Authentication (§8.3)
  Digest digest;
  Bytes digest_encoded;       // the encoded SUIT_Digest (bstr content): the COSE payload
  std::vector<Bytes> blocks;  // each block's bstr content (a COSE structure, tagged)
};

struct Envelope {  // SUIT_Envelope (§8.2)
  AuthenticationWrapper auth;
  Bytes manifest_bstr;  // suit-manifest exactly as in the envelope, bstr head included
  Manifest manifest;
  // Severable members carried by the envelope (payload-fetch, install, text): label and the
  // member's bstr exactly as encoded (head included), which the manifest's digest covers.
  std::vector<std::pair<int64_t, Bytes>> severed;
  // tstr keys (§7.5); an integrated dependency (draft-ietf-suit-trust-domains-06 §8.1.1) is one
  // of these whose content is a SUIT_Envelope.
  std::vector<std::pair<std::string, Bytes>> integrated_payloads;
  // draft-ietf-suit-trust-domains-06 Appendix A: SUIT_Delegation, [+ [+ bstr .cbor CWT]], as
  // the bstr content. Checked for shape only: secprof trusts no key a delegation introduces.
  std::optional<Bytes> delegation;
  cbor::MapEntries extensions;  // other members, opaque
  cbor::Value value;            // the whole envelope
};

struct ParseLimits {
  size_t max_envelope_bytes = 1u << 20;  // envelopes with integrated payloads are refused above
  size_t max_depth = 24;                 // CBOR nesting inside any one bstr
  size_t max_sequence_nesting = 4;       // try-each / run-sequence nesting
  size_t max_components = 64;
  size_t max_auth_blocks = 8;
};

// ---- Parse (§8) ---------------------------------------------------------------------------------
// Strict: definite lengths, unique keys, the tag 107 when tagged (an untagged SUIT_Envelope is
// as valid, §8.2 and the CDDL's SUIT_Envelope_Tagged / SUIT_Envelope; `allow_untagged` false
// requires the tag), the
// required members and their types, manifest version 1, SHA-256 digests of 32 bytes, 16-byte
// UUIDs, a non-empty command sequence of (int, argument) pairs with the argument types of the CDDL.
Result<Envelope> ParseEnvelope(ByteView data, const ParseLimits& limits = {},
                               bool allow_untagged = true);
// The SUIT_Manifest map from its bstr content.
Result<Manifest> ParseManifest(ByteView manifest, const ParseLimits& limits = {});

// ---- Verify (§6.2, §8.3) -----------------------------------------------------------------------
// 1. SHA-256 over `manifest_bstr` (bstr head included) equals the wrapper's digest;
// 2. one authentication block verifies with `key` (payload nil, detached payload = the encoded
//    SUIT_Digest, external AAD empty; §8.3): a COSE_Sign1 (tag 18; ES256, ESP256, EdDSA,
//    Ed25519, Ed448) for an EC2/OKP key, a COSE_Mac0 (tag 17; HMAC 256/256 or 256/64, RFC 9053
//    §3.1) for a symmetric key;
// 3. every severed member in the envelope matches the digest the manifest holds for it.
// kVerifyFailed for any mismatch, kUnsupported when no block is of the kind the key verifies.
Status VerifyEnvelope(const Envelope& env, const cose::Key& key);

// What step 2 found: the block (1-based, as in "authentication-wrapper[1]"), its structure
// ("COSE_Sign1" or "COSE_Mac0") and its algorithm's IANA name.
struct Authentication {
  size_t block = 0;
  std::string structure;
  std::string algorithm;
};
// VerifyEnvelope, returning which block verified.
Result<Authentication> Authenticate(const Envelope& env, const cose::Key& key);
// ParseEnvelope then VerifyEnvelope.
Result<Envelope> ParseAndVerify(ByteView data, const cose::Key& key,
                                const ParseLimits& limits = {});

// ---- What the manifest says about one component ------------------------------------------------
struct ImageParameters {
  std::optional<Bytes> vendor_id, class_id;
  std::optional<Digest> image_digest;
  std::optional<uint64_t> image_size;
  std::optional<std::string> uri;
};
// The parameters set for component `index` by override-parameters, set-parameters
// (trust-domains-06 §5.6.1: only parameters not yet set) and override-multiple
// (update-management-09 §5.7) directives at the top level of the shared sequence (tracking
// set-component-index; parameters inside try-each are ambiguous and ignored), then of the install
// sequence when it is in the manifest (uri only).
Result<ImageParameters> ImageParametersFor(const Manifest& m, size_t index = 0);

// kVerifyFailed naming the field when the manifest's vendor-id / class-id differ from ours, or
// when the manifest sets none (a thing must not accept an update that does not name it).
Status CheckVendorClass(const ImageParameters& p, ByteView vendor_id, ByteView class_id);
// kVerifyFailed when the image's size or SHA-256 differ from the manifest's; kInvalidInput when
// the manifest gives no digest; kUnsupported for a digest algorithm other than SHA-256.
Status CheckImage(const ImageParameters& p, ByteView image);
// The same over a file, read in chunks (no size limit).
Status CheckImageFile(const ImageParameters& p, const std::string& path);

// A UUID as 16 bytes from "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe" or 32 hex digits.
Result<Bytes> ParseUuid(std::string_view text);
std::string FormatUuid(ByteView b);  // 8-4-4-4-12 for 16 bytes, else hex

// ---- Create -------------------------------------------------------------------------------------
struct CreateParams {
  Bytes vendor_id;  // 16 bytes
  Bytes class_id;   // 16 bytes
  uint64_t sequence_number = 0;
  ComponentId component_id{Bytes{0x00}};
  std::string uri;  // when set, install = override uri, fetch, image-match
};
// An envelope for one image: common = components [component_id] and shared sequence
// [override-parameters {vendor-id, class-id, image-digest, image-size},
// condition-vendor-identifier, condition-class-identifier]; validate = [condition-image-match];
// install = ([override uri, fetch,] condition-image-match); invoke = [directive-invoke]; every map
// deterministically encoded (RFC 8949 §4.2.1). Authenticated by one block over the encoded
// SUIT_Digest of the manifest bstr (§8.3): a COSE_Sign1 (ES256 for P-256 keys, EdDSA for
// Ed25519/Ed448, or the key's own alg, e.g. ESP256) or, for a symmetric key, a COSE_Mac0 with
// HMAC 256/256 (RFC 9053 §3.1; or the key's own HMAC alg).
Result<Bytes> CreateEnvelope(ByteView image, const CreateParams& params, const cose::Key& key);
// The same with the image's digest and size given (e.g. hashed from a file).
Result<Bytes> CreateEnvelopeForDigest(const Digest& image_digest, uint64_t image_size,
                                      const CreateParams& params, const cose::Key& key);
// The same signed through a crypto::Signer (a key store's key that never leaves it, e.g. the
// vendor CA key of `secprof manufacture`'s factory): one COSE_Sign1, ES256 for an ECDSA P-256
// signer, EdDSA for Ed25519/Ed448 (cose::CreateSign1WithSigner).
Result<Bytes> CreateEnvelopeWithSigner(const Digest& image_digest, uint64_t image_size,
                                       const CreateParams& params, crypto::Signer& signer);
// The authentication block CreateEnvelope* put in the wrapper, over `digest_encoded` (a tagged
// COSE_Sign1 or COSE_Mac0 with a nil payload, encoded). kInvalidInput for a key without a private
// part or secret.
Result<Bytes> AuthenticationBlock(const cose::Key& key, ByteView digest_encoded);
// SHA-256 and size of a file, read in chunks.
Result<std::pair<Digest, uint64_t>> DigestFile(const std::string& path);

// ---- What a processor must do, and what secprof's installer does (§6, the extension drafts) --
// Every command, parameter and member an authentic manifest uses, named with the section that
// defines it, and how the installer (install.h) handles it:
//   kExecuted     the installer does what the specification says (e.g. condition-class-identifier)
//   kNotExecuted  the installer cannot do it: an install of this manifest is refused
//   kIgnored      it changes nothing the installer does (metadata, a parameter no executed
//                 command reads, a sequence the installer never runs); the note says why
enum class Handling { kExecuted, kNotExecuted, kIgnored };
const char* HandlingName(Handling h);  // "executed", "not executed", "ignored"
struct FeatureUse {
  std::string where;    // "manifest.install[4]", "manifest.common.dependencies"
  std::string feature;  // "suit-directive-unlink (draft-ietf-suit-trust-domains-06 §5.6.5)"
  Handling handling = Handling::kIgnored;
  std::string note;
};
std::vector<FeatureUse> InstallerFeatures(const Envelope& env);
// kUnsupported naming the first kNotExecuted use ("suit-directive-process-dependency
// (draft-ietf-suit-trust-domains-06 §5.6.2) in manifest.install[2]: ..."), else Ok.
Status CheckInstallerSupport(const Envelope& env);

// ---- Presentation -------------------------------------------------------------------------------
// A readable multi-line summary: sequence number, components, vendor/class ids, digest, size,
// sequences present with their commands named, authentication blocks, severed members.
std::string Summary(const Envelope& env);
// Each authentication block's structure ("COSE_Sign1", "COSE_Mac0", or "other") and algorithm
// name ("ES256", "HMAC 256/256", "?" when unknown), in wrapper order. Nothing is verified.
struct BlockInfo {
  std::string structure;
  std::string algorithm;
};
std::vector<BlockInfo> DescribeBlocks(const Envelope& env);
// Name of a condition/directive label ("condition-image-match"), or "command(N)".
std::string CommandName(int64_t label);
// Where a command is defined: "draft-ietf-suit-manifest §8.4.9.2", or "" when no document
// secprof knows defines it.
std::string CommandSpec(int64_t label);
// Name of a parameter label ("image-digest"), or "parameter(N)".
std::string ParameterName(int64_t label);

}  // namespace secprof::update
