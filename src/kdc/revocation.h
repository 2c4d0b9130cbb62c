// Internal to secprof::kdc: the revocation list things poll (issue 9 item 7;
// secprof/domain/revocation.h).
#pragma once

#include "secprof/core/clock.h"
#include "secprof/domain/revocation.h"
#include "secprof/registry/registry.h"

namespace secprof::kdc {

// Every thing that held a credential (commissioned_at set) and is now retired (decommissioned,
// revoked, evicted, replaced), and every quarantined thing; sorted, as of now.
Result<domain::RevocationList> RevocationListOf(registry::Registry& reg, const Clock& clock);

}  // namespace secprof::kdc
