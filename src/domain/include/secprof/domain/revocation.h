// secprof/domain/revocation.h — the KDC's revocation list for things (issue 9 item 7;
// docs/DOMAIN.md "Resources", "Thing resources").
//
//   GET k/revoked (operational DTLS, any active thing) -> 2.05 RevocationList
//
// The serials of the domain's things that held a credential and no longer may use it (retired:
// decommissioned, revoked, evicted, replaced) or are quarantined as suspected clones. A thing that
// serves peers (ThingServer) polls it and drops, and refuses from then on, the thing-to-thing
// tickets of those serials; the poll interval plus the request timeout bounds how long a retired
// thing can still use a ticket it got before (docs/DOMAIN.md "Limits").
//
// Body: one CBOR map {1: [serial tstr ...] (at most kMaxRevoked, sorted), 2: as-of (unix s)}.
// Strict like protocol.h: unknown or duplicate labels, wrong types and sizes are refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::domain {

namespace path {
inline constexpr const char* kRevoked = "k/revoked";
}  // namespace path

inline constexpr size_t kMaxRevoked = 65536;

struct RevocationList {
  std::vector<std::string> serials;  // sorted
  int64_t as_of = 0;                 // unix s
};

crypto::Bytes Encode(const RevocationList&);
Result<RevocationList> DecodeRevocationList(crypto::ByteView);

}  // namespace secprof::domain
