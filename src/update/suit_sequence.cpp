// SUIT command sequences (draft-ietf-suit-manifest §8.4.5-§8.4.10: conditions, directives, their
// parameters) and the manifest members made of them: SUIT_Common (§8.4.5) and the severable
// members (§8.4.11). Called by the manifest parser in suit.cpp.
#include <string>
#include <utility>

#include "secprof/update/suit.h"

#include "suit_internal.h"

namespace secprof::update::detail {
namespace {

using cbor::Value;

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

}  // namespace

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

}  // namespace secprof::update::detail
