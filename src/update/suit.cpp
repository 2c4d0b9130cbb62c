// SUIT envelope and manifest parsing (draft-ietf-suit-manifest §6.2, §8). The command sequences,
// their parameters and the common and severable members are parsed in suit_sequence.cpp;
// verification and the image checks are in suit_verify.cpp, command names, UUIDs and the summary
// in suit_text.cpp.
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

}  // namespace

namespace detail {

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

using detail::DecodeStrict;
using detail::DigestFromBstr;
using detail::DigestFromValue;
using detail::Label;
using detail::ParseCommon;
using detail::ParseMember;
using detail::ParseSeverable;
using detail::SeqContext;

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
