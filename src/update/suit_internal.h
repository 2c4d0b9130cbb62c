// Internal to secprof::update: helpers the SUIT parser (suit.cpp), verifier (suit_verify.cpp) and
// printer (suit_text.cpp) share.
#pragma once

#include <string>

#include "secprof/update/suit.h"

namespace secprof::update::detail {

// A parse error at `field`: "SUIT <field>: <msg>", with the field as the error's location.
tl::unexpected<Error> Bad(const std::string& field, const std::string& msg,
                          ErrorCode code = ErrorCode::kInvalidInput);

// A bstr-wrapped SUIT_Digest (§10, SUIT_Digest), decoded with the parser's strict limits.
Result<Digest> DigestFromBstr(const cbor::Value& v, const ParseLimits& limits,
                              const std::string& field);

// The manifest's severable member with this label (payload-fetch, install, text, and the
// extensions' dependency-resolution, candidate-verification, coswid), or nullptr for a label
// that is not a severable member. SeverableName gives "install", "coswid", ...
const std::optional<SeverableMember>* SeverableFor(const Manifest& m, int64_t label);
std::string SeverableName(int64_t label);

// ---- the parser's pieces, shared by suit.cpp and suit_sequence.cpp ----------------------------

// Every bstr .cbor member is decoded with the same strict limits: definite lengths only, unique
// keys, bounded depth and size; a tag only on the envelope.
Result<cbor::Value> DecodeStrict(ByteView data, const ParseLimits& limits,
                                 const std::string& field);
// A map label: an integer (kInvalidInput naming `field` otherwise).
Result<int64_t> Label(const cbor::Value& v, const std::string& field);
// SUIT_Digest = [algorithm-id, digest-bytes] (§10), the algorithm a suit-cose-hash-alg.
Result<Digest> DigestFromValue(const cbor::Value& v, const std::string& field);

// Where a command sequence is parsed: the limits, the number of components, and whether it is
// the shared sequence (conditions and shared commands only).
struct SeqContext {
  const ParseLimits& limits;
  size_t components;  // 0 when not known
  bool shared;        // SUIT_Shared_Sequence: conditions and shared commands only
};

// A bstr-wrapped command sequence, kept with its bytes (§8.4.5-§8.4.10).
Result<SequenceMember> ParseMember(const cbor::Value& v, const SeqContext& ctx,
                                   const std::string& f);
// The bstr-wrapped SUIT_Common (§8.4.5): components, shared sequence, dependencies.
Result<Common> ParseCommon(const cbor::Value& v, const ParseLimits& limits);
// A severable member (§8.4.11) with label `label`: its digest, or the member itself.
Result<SeverableMember> ParseSeverable(const cbor::Value& v, int64_t label, const SeqContext& ctx,
                                       const std::string& f);

}  // namespace secprof::update::detail
