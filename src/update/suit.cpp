// SUIT envelope and manifest parsing (draft-ietf-suit-manifest §6.2, §8). Verification and the
// image checks are in suit_verify.cpp, command names, UUIDs and the summary in suit_text.cpp.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/update/suit.h"

#include "suit_internal.h"

namespace secprof::update {
namespace detail {

tl::unexpected<Error> Bad(const std::string& field, const std::string& msg, ErrorCode code) {
  SourceLocation where;
  where.field = field;
  return Fail(code, "SUIT " + field + ": " + msg, std::move(where));
}

}  // namespace detail
namespace {

using cbor::Value;
using detail::Bad;

// Every bstr .cbor member is decoded with the same strict limits: definite lengths only, unique
// keys, bounded depth and size.
Result<Value> DecodeStrict(ByteView data, const ParseLimits& limits, const std::string& field) {
  cbor::Limits l;
  l.max_depth = limits.max_depth;
  l.max_bytes = limits.max_envelope_bytes;
  l.max_items = 1u << 16;
  l.allow_indefinite = false;
  l.reject_duplicate_keys = true;
  auto v = cbor::Decode(data, l);
  if (!v) return Bad(field, v.error().message(), v.error().code());
  if (v->is_tag() && field != "envelope")
    return Bad(field, "unexpected CBOR tag " + std::to_string(v->tag_number()));
  return v;
}

Result<int64_t> Label(const Value& v, const std::string& field) {
  if (!v.is_int())
    return Bad(field, std::string("label must be an integer, not ") + cbor::TypeName(v.type()));
  auto i = v.AsInt64();
  if (!i) return Bad(field, "label out of range");
  return *i;
}

size_t DigestSize(int64_t alg) {
  switch (alg) {
    case kAlgSha256:
      return 32;
    case -43:
      return 48;  // SHA-384
    case -44:
      return 64;  // SHA-512
    default:
      return 0;  // SHAKE128/256: variable
  }
}

Result<Digest> DigestFromValue(const Value& v, const std::string& field) {
  if (!v.is_array() || v.array().size() != 2)
    return Bad(field, "SUIT_Digest must be [algorithm-id, digest-bytes]");
  const auto& a = v.array();
  if (!a[0].is_int()) return Bad(field, "algorithm-id must be an integer");
  auto alg = a[0].AsInt64();
  if (!alg) return Bad(field, "algorithm-id out of range");
  if (*alg != kAlgSha256 && *alg != -18 && *alg != -43 && *alg != -44 && *alg != -45)
    return Bad(field, "algorithm-id " + std::to_string(*alg) + " is not a suit-cose-hash-alg");
  if (!a[1].is_bytes()) return Bad(field, "digest-bytes must be a byte string");
  size_t want = DigestSize(*alg);
  if (want && a[1].bytes().size() != want)
    return Bad(field, "digest-bytes must be " + std::to_string(want) + " bytes, got " +
                          std::to_string(a[1].bytes().size()));
  if (a[1].bytes().empty()) return Bad(field, "digest-bytes is empty");
  return Digest{*alg, a[1].bytes()};
}

}  // namespace

namespace detail {

Result<Digest> DigestFromBstr(const cbor::Value& v, const ParseLimits& limits,
                              const std::string& field) {
  if (!v.is_bytes()) return Bad(field, "must be a bstr-wrapped SUIT_Digest");
  SECPROF_ASSIGN_OR_RETURN(Value d, DecodeStrict(v.bytes(), limits, field));
  return DigestFromValue(d, field);
}

const std::optional<SeverableMember>* SeverableFor(const Manifest& m, int64_t label) {
  switch (label) {
    case key::kPayloadFetch:
      return &m.payload_fetch;
    case key::kInstall:
      return &m.install;
    case key::kText:
      return &m.text;
    case key::kDependencyResolution:
      return &m.dependency_resolution;
    case key::kCandidateVerification:
      return &m.candidate_verification;
    case key::kCoswid:
      return &m.coswid;
    default:
      return nullptr;
  }
}

std::string SeverableName(int64_t label) {
  switch (label) {
    case key::kPayloadFetch:
      return "payload-fetch";
    case key::kInstall:
      return "install";
    case key::kText:
      return "text";
    case key::kDependencyResolution:
      return "dependency-resolution";
    case key::kCandidateVerification:
      return "candidate-verification";
    case key::kCoswid:
      return "coswid";
    default:
      return std::to_string(label);
  }
}

}  // namespace detail
namespace {

using detail::DigestFromBstr;

bool IsRepPolicyCommand(int64_t l) {
  switch (l) {
    case cmd::kVendorIdentifier:
    case cmd::kClassIdentifier:
    case cmd::kImageMatch:
    case cmd::kComponentSlot:
    case cmd::kCheckContent:
    case cmd::kAbort:
    case cmd::kDeviceIdentifier:
    case cmd::kWrite:
    case cmd::kFetch:
    case cmd::kCopy:
    case cmd::kInvoke:
    case cmd::kSwap:
    // draft-ietf-suit-trust-domains-06 §5.6 (Appendix A: SUIT_Rep_Policy arguments)
    case cmd::kDependencyIntegrity:
    case cmd::kIsDependency:
    case cmd::kProcessDependency:
    case cmd::kUnlink:
    // draft-ietf-suit-update-management-09 §5 (Appendix A: SUIT_Rep_Policy arguments)
    case cmd::kUseBefore:
    case cmd::kImageNotMatch:
    case cmd::kMinimumBattery:
    case cmd::kUpdateAuthorized:
    case cmd::kVersion:
    case cmd::kWait:
      return true;
    default:
      return false;
  }
}
bool IsCondition(int64_t l) {
  switch (l) {
    case cmd::kVendorIdentifier:
    case cmd::kClassIdentifier:
    case cmd::kImageMatch:
    case cmd::kComponentSlot:
    case cmd::kCheckContent:
    case cmd::kAbort:
    case cmd::kDeviceIdentifier:
    case cmd::kDependencyIntegrity:  // trust-domains-06 §5.6.4
    case cmd::kIsDependency:         // §5.6.3
    case cmd::kUseBefore:            // update-management-09 §5.1
    case cmd::kImageNotMatch:        // §5.2
    case cmd::kMinimumBattery:       // §5.3
    case cmd::kUpdateAuthorized:     // §5.4
    case cmd::kVersion:              // §5.5
      return true;
    default:
      return false;
  }
}

// draft-ietf-suit-update-management-09 §4.4: SUIT_Parameter_Version_Match =
// [comparison-type 1..5, [+ int]].
Status CheckVersionMatch(const Value& v, const std::string& f) {
  if (!v.is_array() || v.array().size() != 2 || !v.array()[0].is_unsigned() ||
      v.array()[0].uint_value() < 1 || v.array()[0].uint_value() > 5)
    return Bad(f, "version match must be [comparison-type 1..5, [+ int]]");
  const Value& vals = v.array()[1];
  if (!vals.is_array() || vals.array().empty())
    return Bad(f, "version comparison value must be a non-empty array of int");
  for (const auto& x : vals.array())
    if (!x.is_int()) return Bad(f, "version comparison value must be a non-empty array of int");
  return Ok();
}

// draft-ietf-suit-update-management-09 §4.5: SUIT_Wait_Event = { + event => argument }, events
// 1..3 int, 4 [bstr, [+ version match]], 5..9 uint; other keys are extensions.
Status CheckWaitEvent(const Value& v, const std::string& f) {
  if (!v.is_map() || v.map().empty()) return Bad(f, "SUIT_Wait_Event must be a non-empty map");
  for (const auto& [k, a] : v.map()) {
    if (!k.is_int()) return Bad(f, "wait event keys must be integers");
    const auto e = k.AsInt64().value_or(0);
    if (e >= 1 && e <= 3 && !a.is_int()) return Bad(f, "wait event " + std::to_string(e) + ": int");
    if (e >= 5 && e <= 9 && !a.is_unsigned())
      return Bad(f, "wait event " + std::to_string(e) + ": uint");
    if (e == 4) {
      if (!a.is_array() || a.array().size() != 2 || !a.array()[0].is_bytes() ||
          !a.array()[1].is_array() || a.array()[1].array().empty())
        return Bad(f, "wait event 4: [other-device: bstr, [+ version match]]");
      for (const auto& m : a.array()[1].array()) SECPROF_TRY(CheckVersionMatch(m, f));
    }
  }
  return Ok();
}

Status CheckUuid(const Value& v, const std::string& field) {
  if (!v.is_bytes() || v.bytes().size() != kUuidSize)
    return Bad(field, "must be a 16-byte RFC 4122 UUID bstr");
  return Ok();
}

Status CheckParameters(const Value& m, const ParseLimits& limits, const std::string& field) {
  if (!m.is_map() || m.map().empty()) return Bad(field, "parameters must be a non-empty map");
  for (const auto& [k, v] : m.map()) {
    SECPROF_ASSIGN_OR_RETURN(int64_t p, Label(k, field));
    const std::string f = field + "." + std::to_string(p);
    switch (p) {
      case param::kVendorId:
        if (v.is_tag() && v.tag_number() == 112 && v.tag_content().is_bytes()) break;  // cbor-pen
        SECPROF_TRY(CheckUuid(v, f + " (vendor-id)"));
        break;
      case param::kClassId:
        SECPROF_TRY(CheckUuid(v, f + " (class-id)"));
        break;
      case param::kDeviceId:
        SECPROF_TRY(CheckUuid(v, f + " (device-id)"));
        break;
      case param::kImageDigest: {
        SECPROF_TRY(DigestFromBstr(v, limits, f + " (image-digest)"));
        break;
      }
      case param::kImageSize:
      case param::kComponentSlot:
      case param::kSourceComponent:
        if (!v.is_unsigned()) return Bad(f, "must be an unsigned integer");
        break;
      case param::kUri:
        if (!v.is_text()) return Bad(f + " (uri)", "must be a text string");
        break;
      case param::kContent:
      case param::kInvokeArgs:
      case param::kFetchArguments:
        if (!v.is_bytes()) return Bad(f, "must be a byte string");
        break;
      case param::kStrictOrder:
      case param::kSoftFailure:
        if (!v.is_bool()) return Bad(f, "must be a bool");
        break;
      // draft-ietf-suit-update-management-09 §4.1-§4.6
      case param::kUseBefore:
      case param::kMinimumBattery:
        if (!v.is_unsigned()) return Bad(f, "must be an unsigned integer");
        break;
      case param::kUpdatePriority:
        if (!v.is_int()) return Bad(f + " (update-priority)", "must be an integer");
        break;
      case param::kVersion:
      case param::kWaitInfo:
      case param::kComponentMetadata: {
        if (!v.is_bytes()) return Bad(f, "must be a bstr-wrapped structure");
        SECPROF_ASSIGN_OR_RETURN(Value inner, DecodeStrict(v.bytes(), limits, f));
        if (p == param::kVersion) SECPROF_TRY(CheckVersionMatch(inner, f + " (version)"));
        if (p == param::kWaitInfo) SECPROF_TRY(CheckWaitEvent(inner, f + " (wait-info)"));
        if (p == param::kComponentMetadata && !inner.is_map())
          return Bad(f + " (component-metadata)", "SUIT_Component_Metadata must be a map");
        break;
      }
      default:
        if (p < 0 && !(v.is_int() || v.is_bool() || v.is_text() || v.is_bytes()))
          return Bad(f, "custom parameter must be int, bool, tstr or bstr");
        break;  // unknown parameters are extensions ($$SUIT_Parameters)
    }
  }
  return Ok();
}

struct SeqContext {
  const ParseLimits& limits;
  size_t components;  // 0 when not known
  bool shared;        // SUIT_Shared_Sequence: conditions and shared commands only
};

Result<CommandSequence> ParseSequenceValue(const Value& v, const SeqContext& ctx,
                                           const std::string& field, size_t depth);

Result<CommandSequence> ParseSequenceBstr(const Value& v, const SeqContext& ctx,
                                          const std::string& field, size_t depth) {
  if (!v.is_bytes()) return Bad(field, "must be a bstr-wrapped command sequence");
  if (depth > ctx.limits.max_sequence_nesting)
    return Bad(field, "command sequences nested too deeply", ErrorCode::kLimit);
  SECPROF_ASSIGN_OR_RETURN(Value s, DecodeStrict(v.bytes(), ctx.limits, field));
  return ParseSequenceValue(s, ctx, field, depth);
}

Result<CommandSequence> ParseSequenceValue(const Value& s, const SeqContext& ctx,
                                           const std::string& field, size_t depth) {
  if (!s.is_array() || s.array().empty() || s.array().size() % 2 != 0)
    return Bad(field, "must be a non-empty array of (command, argument) pairs");
  CommandSequence out;
  const auto& a = s.array();
  for (size_t i = 0; i < a.size(); i += 2) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    SECPROF_ASSIGN_OR_RETURN(int64_t l, Label(a[i], f));
    const Value& arg = a[i + 1];
    const std::string fn = f + " (" + CommandName(l) + ")";
    if (l < 0) {
      if (!(arg.is_bytes() || arg.is_text() || arg.is_int() || arg.is_null()))
        return Bad(fn, "custom command argument must be bstr, tstr, int or nil");
    } else if (IsRepPolicyCommand(l)) {
      if (ctx.shared && !IsCondition(l)) return Bad(fn, "directive not allowed in shared-sequence");
      if (!arg.is_unsigned()) return Bad(fn, "reporting policy must be an unsigned integer");
    } else if (l == cmd::kSetComponentIndex) {
      auto check = [&](const Value& x) -> Status {
        if (!x.is_unsigned()) return Bad(fn, "component index must be uint, true or [+ uint]");
        if (ctx.components && x.uint_value() >= ctx.components)
          return Bad(fn, "component index " + std::to_string(x.uint_value()) + " out of range (" +
                             std::to_string(ctx.components) + " components)");
        return Ok();
      };
      if (arg.is_bool()) {
        if (!arg.bool_value()) return Bad(fn, "component index false is not allowed");
      } else if (arg.is_array()) {
        if (arg.array().empty()) return Bad(fn, "empty component index list");
        for (const auto& x : arg.array()) SECPROF_TRY(check(x));
      } else {
        SECPROF_TRY(check(arg));
      }
    } else if (l == cmd::kOverrideParameters || l == cmd::kSetParameters) {
      SECPROF_TRY(CheckParameters(arg, ctx.limits, fn));
    } else if (l == cmd::kOverrideMultiple || l == cmd::kCopyParams) {
      // draft-ietf-suit-update-management-09 §5.7: { + uint => { + parameters } };
      // §5.8: { + uint => [+ int] } (source component index => parameter labels).
      if (!arg.is_map() || arg.map().empty())
        return Bad(fn, "argument must be a non-empty map of component index to parameters");
      for (const auto& [idx, val] : arg.map()) {
        if (!idx.is_unsigned()) return Bad(fn, "component index must be a uint");
        if (ctx.components && idx.uint_value() >= ctx.components)
          return Bad(fn, "component index " + std::to_string(idx.uint_value()) + " out of range (" +
                             std::to_string(ctx.components) + " components)");
        if (l == cmd::kOverrideMultiple) {
          SECPROF_TRY(CheckParameters(val, ctx.limits, fn));
        } else {
          if (!val.is_array() || val.array().empty())
            return Bad(fn, "copy-params value must be a non-empty array of parameter labels");
          for (const auto& x : val.array())
            if (!x.is_int()) return Bad(fn, "copy-params parameter labels must be integers");
        }
      }
    } else if (l == cmd::kTryEach) {
      if (!arg.is_array()) return Bad(fn, "argument must be an array of sequences");
      const auto& alts = arg.array();
      size_t n = alts.size();
      if (n > 0 && alts[n - 1].is_null()) --n;
      if (n < 2) return Bad(fn, "needs at least two alternatives");
      for (size_t j = 0; j < n; ++j)
        SECPROF_TRY(ParseSequenceBstr(alts[j], ctx, fn + "[" + std::to_string(j) + "]", depth + 1));
    } else if (l == cmd::kRunSequence) {
      SECPROF_TRY(ParseSequenceBstr(arg, ctx, fn, depth + 1));
    } else {
      return Bad(fn, "unknown command " + std::to_string(l), ErrorCode::kUnsupported);
    }
    out.push_back(Command{l, arg});
  }
  return out;
}

Result<SequenceMember> ParseMember(const Value& v, const SeqContext& ctx, const std::string& f) {
  SECPROF_ASSIGN_OR_RETURN(CommandSequence c, ParseSequenceBstr(v, ctx, f, 0));
  return SequenceMember{v.bytes(), std::move(c)};
}

Result<Common> ParseCommon(const Value& v, const ParseLimits& limits) {
  if (!v.is_bytes()) return Bad("manifest.common", "must be a bstr-wrapped SUIT_Common");
  SECPROF_ASSIGN_OR_RETURN(Value m, DecodeStrict(v.bytes(), limits, "manifest.common"));
  if (!m.is_map()) return Bad("manifest.common", "must be a map");
  Common c;
  if (const Value* comps = m.Find(key::kComponents)) {
    if (!comps->is_array() || comps->array().empty())
      return Bad("manifest.common.components", "must be a non-empty array");
    if (comps->array().size() > limits.max_components)
      return Bad("manifest.common.components", "too many components", ErrorCode::kLimit);
    for (size_t i = 0; i < comps->array().size(); ++i) {
      const Value& id = comps->array()[i];
      const std::string f = "manifest.common.components[" + std::to_string(i) + "]";
      if (!id.is_array()) return Bad(f, "component identifier must be an array of bstr");
      ComponentId cid;
      for (const auto& part : id.array()) {
        if (!part.is_bytes()) return Bad(f, "component identifier parts must be bstr");
        cid.push_back(part.bytes());
      }
      c.components.push_back(std::move(cid));
    }
  }
  if (const Value* seq = m.Find(key::kSharedSequence)) {
    SeqContext ctx{limits, c.components.size(), true};
    SECPROF_ASSIGN_OR_RETURN(c.shared_sequence,
                             ParseMember(*seq, ctx, "manifest.common.shared-sequence"));
  }
  if (const Value* deps = m.Find(key::kDependencies)) {
    // draft-ietf-suit-trust-domains-06 §5.2.2: SUIT_Dependencies = { + uint =>
    // { ? suit-dependency-prefix (1) => SUIT_Component_Identifier, * extensions } }; the key is
    // the index of the component that holds the dependency manifest.
    const std::string f = "manifest.common.dependencies";
    if (!deps->is_map() || deps->map().empty()) return Bad(f, "must be a non-empty map");
    for (const auto& [idx, meta] : deps->map()) {
      if (!idx.is_unsigned()) return Bad(f, "component index must be a uint");
      if (idx.uint_value() >= c.components.size())
        return Bad(f, "component index " + std::to_string(idx.uint_value()) + " out of range");
      if (!meta.is_map()) return Bad(f, "SUIT_Dependency_Metadata must be a map");
      ComponentId prefix;
      if (const Value* pre = meta.Find(1)) {
        if (!pre->is_array()) return Bad(f, "dependency-prefix must be an array of bstr");
        for (const auto& part : pre->array()) {
          if (!part.is_bytes()) return Bad(f, "dependency-prefix parts must be bstr");
          prefix.push_back(part.bytes());
        }
      }
      c.dependencies.emplace_back(idx.uint_value(), std::move(prefix));
    }
  }
  for (const auto& [k, val] : m.map()) SECPROF_TRY(Label(k, "manifest.common"));
  return c;
}

Result<SeverableMember> ParseSeverable(const Value& v, int64_t label, const SeqContext& ctx,
                                       const std::string& f) {
  SeverableMember s;
  if (v.is_array()) {
    SECPROF_ASSIGN_OR_RETURN(s.digest, DigestFromValue(v, f));
    return s;
  }
  if (!v.is_bytes()) return Bad(f, "must be a SUIT_Digest or a bstr");
  if (label == key::kText || label == key::kCoswid) {
    // suit-text: SUIT_Text_Map; suit-coswid (update-management-09 §3.2): a concise-swid-tag
    // (RFC 9393), a map. Both are kept opaque.
    SECPROF_ASSIGN_OR_RETURN(Value t, DecodeStrict(v.bytes(), ctx.limits, f));
    if (!t.is_map())
      return Bad(f, label == key::kText ? "SUIT_Text_Map must be a map"
                                        : "concise-swid-tag must be a map");
    s.text_encoded = v.bytes();
    return s;
  }
  SECPROF_ASSIGN_OR_RETURN(s.sequence, ParseMember(v, ctx, f));
  return s;
}

}  // namespace

Result<Manifest> ParseManifest(ByteView data, const ParseLimits& limits) {
  SECPROF_ASSIGN_OR_RETURN(Value m, DecodeStrict(data, limits, "manifest"));
  if (!m.is_map()) return Bad("manifest", "must be a map");
  Manifest out;
  const Value* version = m.Find(key::kManifestVersion);
  if (!version) return Bad("manifest.manifest-version", "missing");
  if (!version->is_unsigned() || version->uint_value() != kManifestVersion)
    return Bad("manifest.manifest-version", "must be 1", ErrorCode::kUnsupported);
  const Value* seq = m.Find(key::kSequenceNumber);
  if (!seq) return Bad("manifest.manifest-sequence-number", "missing");
  if (!seq->is_unsigned()) return Bad("manifest.manifest-sequence-number", "must be a uint");
  out.sequence_number = seq->uint_value();
  const Value* common = m.Find(key::kCommon);
  if (!common) return Bad("manifest.common", "missing");
  SECPROF_ASSIGN_OR_RETURN(out.common, ParseCommon(*common, limits));
  out.common_encoded = common->bytes();
  SeqContext ctx{limits, out.common.components.size(), false};
  for (const auto& [k, v] : m.map()) {
    if (k.is_text()) {
      out.extensions.emplace_back(k, v);
      continue;
    }
    SECPROF_ASSIGN_OR_RETURN(int64_t l, Label(k, "manifest"));
    switch (l) {
      case key::kManifestVersion:
      case key::kSequenceNumber:
      case key::kCommon:
        break;
      case key::kReferenceUri:
        if (!v.is_text()) return Bad("manifest.reference-uri", "must be a text string");
        out.reference_uri = v.text();
        break;
      case key::kValidate: {
        SECPROF_ASSIGN_OR_RETURN(out.validate, ParseMember(v, ctx, "manifest.validate"));
        break;
      }
      case key::kLoad: {
        SECPROF_ASSIGN_OR_RETURN(out.load, ParseMember(v, ctx, "manifest.load"));
        break;
      }
      case key::kInvoke: {
        SECPROF_ASSIGN_OR_RETURN(out.invoke, ParseMember(v, ctx, "manifest.invoke"));
        break;
      }
      case key::kPayloadFetch: {
        SECPROF_ASSIGN_OR_RETURN(out.payload_fetch,
                                 ParseSeverable(v, l, ctx, "manifest.payload-fetch"));
        break;
      }
      case key::kInstall: {
        SECPROF_ASSIGN_OR_RETURN(out.install, ParseSeverable(v, l, ctx, "manifest.install"));
        break;
      }
      case key::kText: {
        SECPROF_ASSIGN_OR_RETURN(out.text, ParseSeverable(v, l, ctx, "manifest.text"));
        break;
      }
      case key::kDependencyResolution: {  // trust-domains-06 §5.5
        SECPROF_ASSIGN_OR_RETURN(out.dependency_resolution,
                                 ParseSeverable(v, l, ctx, "manifest.dependency-resolution"));
        break;
      }
      case key::kCandidateVerification: {  // trust-domains-06 §7.1
        SECPROF_ASSIGN_OR_RETURN(out.candidate_verification,
                                 ParseSeverable(v, l, ctx, "manifest.candidate-verification"));
        break;
      }
      case key::kCoswid: {  // update-management-09 §3.2
        SECPROF_ASSIGN_OR_RETURN(out.coswid, ParseSeverable(v, l, ctx, "manifest.coswid"));
        break;
      }
      case key::kUninstall: {  // trust-domains-06 §6: bstr .cbor SUIT_Command_Sequence
        SECPROF_ASSIGN_OR_RETURN(out.uninstall, ParseMember(v, ctx, "manifest.uninstall"));
        break;
      }
      case key::kManifestComponentId: {  // trust-domains-06 §5.2.1: SUIT_Component_Identifier
        const std::string f = "manifest.manifest-component-id";
        if (!v.is_array()) return Bad(f, "must be an array of bstr");
        ComponentId id;
        for (const auto& part : v.array()) {
          if (!part.is_bytes()) return Bad(f, "must be an array of bstr");
          id.push_back(part.bytes());
        }
        out.manifest_component_id = std::move(id);
        break;
      }
      case key::kSetVersion: {  // update-management-09 §3.1: bstr .cbor [+ int]
        const std::string f = "manifest.set-version";
        if (!v.is_bytes()) return Bad(f, "must be a bstr-wrapped array of int");
        SECPROF_ASSIGN_OR_RETURN(Value ver, DecodeStrict(v.bytes(), limits, f));
        if (!ver.is_array() || ver.array().empty()) return Bad(f, "must be a non-empty array");
        std::vector<int64_t> parts;
        for (const auto& x : ver.array()) {
          if (!x.is_int()) return Bad(f, "version parts must be integers");
          auto i = x.AsInt64();
          if (!i) return Bad(f, "version part out of range");
          parts.push_back(*i);
        }
        out.set_version = std::move(parts);
        break;
      }
      default:
        out.extensions.emplace_back(k, v);  // $$SUIT_Manifest_Extensions, kept opaque
        break;
    }
  }
  return out;
}

Result<Envelope> ParseEnvelope(ByteView data, const ParseLimits& limits, bool allow_untagged) {
  if (data.size() > limits.max_envelope_bytes)
    return Bad("envelope", "larger than " + std::to_string(limits.max_envelope_bytes) + " bytes",
               ErrorCode::kLimit);
  SECPROF_ASSIGN_OR_RETURN(Value top, DecodeStrict(data, limits, "envelope"));
  // Preferred serialization is required so that the members' bstr heads re-encode exactly as
  // received: the digest covers the manifest bstr as encoded in the envelope (§8.3).
  if (cbor::Encode(top, cbor::MapOrder::kPreserveOrder) != cbor::Bytes(data.begin(), data.end()))
    return Bad("envelope", "not in preferred serialization (RFC 8949 §4.2.1)");
  const Value* body = &top;
  if (top.is_tag()) {
    if (top.tag_number() != kTagEnvelope)
      return Bad("envelope", "wrong CBOR tag " + std::to_string(top.tag_number()) +
                                 " (SUIT_Envelope_Tagged is 107)");
    body = &top.tag_content();
  } else if (!allow_untagged) {
    return Bad("envelope", "missing CBOR tag 107 (SUIT_Envelope_Tagged)");
  }
  if (!body->is_map()) return Bad("envelope", "must be a map");
  Envelope env;
  const Value* auth = body->Find(key::kAuthenticationWrapper);
  if (!auth) return Bad("envelope.authentication-wrapper", "missing");
  if (!auth->is_bytes()) return Bad("envelope.authentication-wrapper", "must be a bstr");
  SECPROF_ASSIGN_OR_RETURN(Value aw,
                           DecodeStrict(auth->bytes(), limits, "envelope.authentication-wrapper"));
  if (!aw.is_array() || aw.array().empty())
    return Bad("envelope.authentication-wrapper", "must be [digest, * authentication-block]");
  if (aw.array().size() - 1 > limits.max_auth_blocks)
    return Bad("envelope.authentication-wrapper", "too many authentication blocks",
               ErrorCode::kLimit);
  SECPROF_ASSIGN_OR_RETURN(
      env.auth.digest,
      DigestFromBstr(aw.array()[0], limits, "envelope.authentication-wrapper.digest"));
  env.auth.digest_encoded = aw.array()[0].bytes();
  for (size_t i = 1; i < aw.array().size(); ++i) {
    if (!aw.array()[i].is_bytes())
      return Bad("envelope.authentication-wrapper[" + std::to_string(i) + "]",
                 "authentication block must be a bstr");
    env.auth.blocks.push_back(aw.array()[i].bytes());
  }
  const Value* man = body->Find(key::kManifest);
  if (!man) return Bad("envelope.manifest", "missing");
  if (!man->is_bytes()) return Bad("envelope.manifest", "must be a bstr");
  env.manifest_bstr = cbor::Encode(*man);
  SECPROF_ASSIGN_OR_RETURN(env.manifest, ParseManifest(man->bytes(), limits));

  SeqContext ctx{limits, env.manifest.common.components.size(), false};
  for (const auto& [k, v] : body->map()) {
    if (k.is_text()) {
      const std::string f = "envelope[\"" + k.text() + "\"]";
      if (!v.is_bytes()) return Bad(f, "integrated payload must be a bstr");
      env.integrated_payloads.emplace_back(k.text(), v.bytes());
      continue;
    }
    SECPROF_ASSIGN_OR_RETURN(int64_t l, Label(k, "envelope"));
    if (l == key::kAuthenticationWrapper || l == key::kManifest) continue;
    if (l == key::kDelegation) {
      // trust-domains-06 Appendix A: bstr .cbor [+ [+ bstr .cbor CWT]]
      const std::string f = "envelope.delegation";
      if (!v.is_bytes()) return Bad(f, "must be a bstr-wrapped array of chains");
      SECPROF_ASSIGN_OR_RETURN(Value d, DecodeStrict(v.bytes(), limits, f));
      if (!d.is_array() || d.array().empty()) return Bad(f, "must be [+ [+ bstr]]");
      for (const auto& chain : d.array()) {
        if (!chain.is_array() || chain.array().empty()) return Bad(f, "must be [+ [+ bstr]]");
        for (const auto& cwt : chain.array())
          if (!cwt.is_bytes()) return Bad(f, "must be [+ [+ bstr]]");
      }
      env.delegation = v.bytes();
      continue;
    }
    if (const std::optional<SeverableMember>* slot = detail::SeverableFor(env.manifest, l)) {
      const std::string f = "envelope." + detail::SeverableName(l);
      if (!v.is_bytes()) return Bad(f, "severed member must be a bstr");
      const auto& mm = *slot;
      if (!mm || !mm->digest)
        return Bad(f, "the manifest holds no digest for this severable member (§8.4.5)");
      SECPROF_TRY(ParseSeverable(v, l, ctx, f));
      env.severed.emplace_back(l, cbor::Encode(v));
      continue;
    }
    env.extensions.emplace_back(k, v);
  }
  env.value = std::move(top);
  return env;
}

}  // namespace secprof::update
