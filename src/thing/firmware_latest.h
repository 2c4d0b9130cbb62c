// Internal to secprof::thing: the thing's check of the KDC's latest-release statement
// (secprof/domain/latest_release.h) when the KDC offers nothing; docs/DOMAIN.md "Maintenance".
#pragma once

#include <string>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/domain/latest_release.h"
#include "secprof/thing/agent.h"

namespace secprof::thing::internal {

// Checks `statement` (the body of the KDC's "nothing offered" answer) for thing `st` running
// `running`: signature with the domain CA key it holds (SecProf_3/4; SecProf_2 holds none: the
// DTLS-PSK session vouches for the origin), its vendor and model, issued-at not in the future
// beyond kLatestReleaseSkew, not expired, sequence not below the highest seen before in this
// domain membership (kept in `last_seen_path` with the join's identity, raised when a higher one
// verifies; a factory reset or another join starts from 0). Returns the alert to raise: none (kind
// empty), kAlertBadStatement (absent, forged, another model's, stale, or lower than seen), or
// kAlertUpdateWithheld (the latest is above `running` while nothing is offered). Err only when
// the last-seen file cannot be read or written.
Result<domain::FirmwareAlert> CheckLatestRelease(const ThingState& st, uint64_t running,
                                                 crypto::ByteView statement, const Clock& clock,
                                                 const std::string& last_seen_path);

}  // namespace secprof::thing::internal
