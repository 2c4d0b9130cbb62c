// Internal to secprof::thing: the thing's check of a latest-release statement
// (secprof/domain/latest_release.h): the KDC's, when it offers nothing (SecProf_2-4), and the
// vendor's update service's (SecProf_1, secprof/vendor/update_service.h); docs/DOMAIN.md
// "Maintenance" and "SecProf_1: the vendor's update service".
#pragma once

#include <string>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/domain/latest_release.h"
#include "secprof/thing/agent.h"

namespace secprof::thing::internal {

// A verified statement's sequence, or the alert that it did not hold (alert.kind
// kAlertBadStatement; then `sequence` is 0).
struct LatestCheck {
  domain::FirmwareAlert alert;
  uint64_t sequence = 0;
};

// Checks `statement` for thing `st`: signature with `key` (nullptr: decoded only, for SecProf_2,
// whose DTLS-PSK session with the KDC vouches for the origin), its vendor and model, issued-at
// not in the future beyond kLatestReleaseSkew, not expired, sequence not below the highest seen
// before in `scope` (kept in `last_seen_path` as "<scope> <sequence>", raised when a higher one
// verifies; another scope starts from 0). An empty statement is a bad one (withheld). Err only
// when the last-seen file cannot be read or written.
Result<LatestCheck> VerifyLatestRelease(const ThingState& st, crypto::ByteView statement,
                                        const crypto::PublicKey* key, const std::string& scope,
                                        const Clock& clock, const std::string& last_seen_path);

// The KDC's statement when it offers nothing: VerifyLatestRelease with the domain CA key the thing
// holds (SecProf_3/4; none in SecProf_2) in the scope of this domain membership (the join's
// identity: a factory reset or another join starts from 0). Returns the alert to raise: none
// (kind empty), kAlertBadStatement, or kAlertUpdateWithheld (the latest is above `running` while
// nothing is offered).
Result<domain::FirmwareAlert> CheckLatestRelease(const ThingState& st, uint64_t running,
                                                 crypto::ByteView statement, const Clock& clock,
                                                 const std::string& last_seen_path);

}  // namespace secprof::thing::internal
