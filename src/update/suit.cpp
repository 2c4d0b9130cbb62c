// SUIT envelope and manifest parsing and verification (draft-ietf-suit-manifest §6.2, §8).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/update/suit.h"

namespace secprof::update {
namespace {

using cbor::Value;

tl::unexpected<Error> Bad(const std::string& field, const std::string& msg,
                          ErrorCode code = ErrorCode::kInvalidInput) {
  SourceLocation where;
  where.field = field;
  return Fail(code, "SUIT " + field + ": " + msg, std::move(where));
}

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

Result<Digest> DigestFromBstr(const Value& v, const ParseLimits& limits, const std::string& field) {
  if (!v.is_bytes()) return Bad(field, "must be a bstr-wrapped SUIT_Digest");
  SECPROF_ASSIGN_OR_RETURN(Value d, DecodeStrict(v.bytes(), limits, field));
  return DigestFromValue(d, field);
}

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
      return true;
    default:
      return false;
  }
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
    } else if (l == cmd::kOverrideParameters) {
      SECPROF_TRY(CheckParameters(arg, ctx.limits, fn));
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
  if (label == key::kText) {
    SECPROF_ASSIGN_OR_RETURN(Value t, DecodeStrict(v.bytes(), ctx.limits, f));
    if (!t.is_map()) return Bad(f, "SUIT_Text_Map must be a map");
    s.text_encoded = v.bytes();
    return s;
  }
  SECPROF_ASSIGN_OR_RETURN(s.sequence, ParseMember(v, ctx, f));
  return s;
}

std::string Hex(ByteView b) { return cbor::ToHex(b); }

}  // namespace

std::string CommandName(int64_t l) {
  switch (l) {
    case cmd::kVendorIdentifier:
      return "condition-vendor-identifier";
    case cmd::kClassIdentifier:
      return "condition-class-identifier";
    case cmd::kImageMatch:
      return "condition-image-match";
    case cmd::kComponentSlot:
      return "condition-component-slot";
    case cmd::kCheckContent:
      return "condition-check-content";
    case cmd::kAbort:
      return "condition-abort";
    case cmd::kDeviceIdentifier:
      return "condition-device-identifier";
    case cmd::kSetComponentIndex:
      return "directive-set-component-index";
    case cmd::kTryEach:
      return "directive-try-each";
    case cmd::kWrite:
      return "directive-write";
    case cmd::kOverrideParameters:
      return "directive-override-parameters";
    case cmd::kFetch:
      return "directive-fetch";
    case cmd::kCopy:
      return "directive-copy";
    case cmd::kInvoke:
      return "directive-invoke";
    case cmd::kSwap:
      return "directive-swap";
    case cmd::kRunSequence:
      return "directive-run-sequence";
    default:
      return l < 0 ? "command-custom(" + std::to_string(l) + ")"
                   : "command(" + std::to_string(l) + ")";
  }
}

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
    if (l == key::kPayloadFetch || l == key::kInstall || l == key::kText) {
      const std::string name = l == key::kText      ? "text"
                               : l == key::kInstall ? "install"
                                                    : "payload-fetch";
      const std::string f = "envelope." + name;
      if (!v.is_bytes()) return Bad(f, "severed member must be a bstr");
      const auto& mm = l == key::kText      ? env.manifest.text
                       : l == key::kInstall ? env.manifest.install
                                            : env.manifest.payload_fetch;
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

Status VerifyEnvelope(const Envelope& env, const cose::Key& key) {
  if (env.auth.digest.alg != kAlgSha256)
    return Fail(ErrorCode::kUnsupported, "SUIT authentication-wrapper.digest: algorithm " +
                                             std::to_string(env.auth.digest.alg) +
                                             " not supported (only SHA-256, -16)");
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(env.manifest_bstr));
  if (!crypto::ConstantTimeEqual(d, env.auth.digest.bytes))
    return Fail(ErrorCode::kVerifyFailed,
                "SUIT manifest digest mismatch: the authentication wrapper says " +
                    Hex(env.auth.digest.bytes) + ", the manifest hashes to " + Hex(d));
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
                                              Hex(p.image_digest->bytes) + ", image " + Hex(d));
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

Result<Bytes> ParseUuid(std::string_view text) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex += c;
  const bool dashed =
      text.size() == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-';
  if (hex.size() != 32 || (text.size() != 32 && !dashed))
    return Fail(ErrorCode::kInvalidInput,
                "UUID must be 8-4-4-4-12 hex digits or 32 hex digits: '" + std::string(text) + "'");
  auto b = cbor::FromHex(hex);
  if (!b) return Fail(ErrorCode::kInvalidInput, "UUID: " + b.error().message());
  return std::move(*b);
}

std::string FormatUuid(ByteView b) {
  std::string h = Hex(b);
  if (b.size() != kUuidSize) return h;
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::string Summary(const Envelope& env) {
  std::ostringstream o;
  const Manifest& m = env.manifest;
  o << "SUIT envelope (draft-ietf-suit-manifest)\n";
  o << "  manifest-version:         " << m.version << "\n";
  o << "  manifest-sequence-number: " << m.sequence_number << "\n";
  if (m.reference_uri) o << "  reference-uri:            " << *m.reference_uri << "\n";
  o << "  manifest digest:          sha-256 " << Hex(env.auth.digest.bytes) << "\n";
  o << "  authentication blocks:    " << env.auth.blocks.size() << "\n";
  for (size_t i = 0; i < env.auth.blocks.size(); ++i) {
    auto s = cose::DecodeSign1(env.auth.blocks[i], cose::TagPolicy::kRequireTagged);
    if (s) {
      auto alg = cose::MessageAlgorithm(s->protected_header, s->unprotected,
                                        cose::AlgorithmKind::kSignature);
      o << "    [" << i << "] COSE_Sign1 " << (alg ? alg->name : "(unknown alg)") << "\n";
    } else {
      o << "    [" << i << "] not a COSE_Sign1\n";
    }
  }
  o << "  components:               " << m.common.components.size() << "\n";
  for (size_t i = 0; i < m.common.components.size(); ++i) {
    o << "    [" << i << "] [";
    for (size_t j = 0; j < m.common.components[i].size(); ++j)
      o << (j ? ", " : "") << "h'" << Hex(m.common.components[i][j]) << "'";
    o << "]\n";
    auto p = ImageParametersFor(m, i);
    if (!p) continue;
    if (p->vendor_id) o << "        vendor-id:    " << FormatUuid(*p->vendor_id) << "\n";
    if (p->class_id) o << "        class-id:     " << FormatUuid(*p->class_id) << "\n";
    if (p->image_digest)
      o << "        image-digest: " << (p->image_digest->alg == kAlgSha256 ? "sha-256 " : "alg ")
        << Hex(p->image_digest->bytes) << "\n";
    if (p->image_size) o << "        image-size:   " << *p->image_size << "\n";
    if (p->uri) o << "        uri:          " << *p->uri << "\n";
  }
  auto seq = [&](const char* name, const CommandSequence& c) {
    o << "  " << name << ":";
    for (const auto& x : c) o << " " << CommandName(x.label);
    o << "\n";
  };
  if (m.common.shared_sequence) seq("shared-sequence", m.common.shared_sequence->commands);
  if (m.validate) seq("validate", m.validate->commands);
  if (m.load) seq("load", m.load->commands);
  if (m.invoke) seq("invoke", m.invoke->commands);
  auto sev = [&](const char* name, const std::optional<SeverableMember>& s) {
    if (!s) return;
    if (s->sequence)
      seq(name, s->sequence->commands);
    else if (s->digest)
      o << "  " << name << ": severed, digest " << Hex(s->digest->bytes) << "\n";
    else
      o << "  " << name << ": " << s->text_encoded->size() << " bytes (opaque)\n";
  };
  sev("payload-fetch", m.payload_fetch);
  sev("install", m.install);
  sev("text", m.text);
  for (const auto& [l, b] : env.severed)
    o << "  envelope carries severed member " << l << " (" << b.size() << " bytes)\n";
  for (const auto& [name, b] : env.integrated_payloads)
    o << "  integrated payload \"" << name << "\" (" << b.size() << " bytes)\n";
  if (!m.extensions.empty()) o << "  unknown manifest members: " << m.extensions.size() << "\n";
  return o.str();
}

}  // namespace secprof::update
