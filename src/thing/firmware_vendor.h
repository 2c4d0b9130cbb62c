// Internal to secprof::thing: SecProf_1's update check, against the vendor's update service
// (secprof/vendor/update_service.h; docs/DOMAIN.md "SecProf_1: the vendor's update service").
#pragma once

#include "secprof/thing/agent.h"

namespace secprof::thing::internal {

// Agent::CheckForUpdate for a thing without a KDC (SecProf_1), already checked against the
// lifecycle (operational). Over plain CoAP to ThingState::update_host/update_port:
//   1. GET vu/latest: the vendor-signed latest-release statement, verified with the thing's
//      vendor trust anchor (signature, vendor and model, issued-at, expiry, sequence not below the
//      last seen, kept in <state>/firmware-latest-vendor). Absent, forged, stale or lower:
//      alert kAlertBadStatement.
//   2. Its sequence not above the running one: nothing to do.
//   3. Above: maintenance, then the shared fetch-verify-install path (firmware_fetch.h) for
//      exactly that sequence; back to operational. A release the service does not serve, or one
//      that does not arrive, raises kAlertUpdateWithheld; one the installer refuses (forged,
//      rolled back, another class...) raises "update-refused". The running image stays.
// Every alert is the outcome's (UpdateOutcome::alert) and is also posted to vu/alert, best
// effort: a fake service swallows it, so the thing's own record is the one that counts.
// kConflict kNoUpdateServer when the thing has no update service configured; a transport error
// (the service unreachable) is an Error (the poll counts it as failed).
Result<Agent::UpdateOutcome> CheckVendorUpdate(Agent& agent, const update::TestBootHook& test_boot);

}  // namespace secprof::thing::internal
