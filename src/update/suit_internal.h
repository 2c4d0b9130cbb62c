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

}  // namespace secprof::update::detail
