// Internal to secprof::thing.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "secprof/coap/coap.h"
#include "secprof/identity/identity.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

std::string StateToJson(const ThingState& t);
Result<ThingState> StateFromJson(std::string_view text, const std::string& file);

// ---- kdc_trust.cpp (issue 9 items 1 and 10) ----
// The KDC identity a thing pins at its voucher-verified join: lower-case hex SHA-256 of the KDC
// certificate's SubjectPublicKeyInfo (the key, not the certificate: kdc.pem may be re-issued).
std::string KdcPin(const identity::Certificate& kdc);
// kVerifyFailed unless `kdc` carries the KDC role (extendedKeyUsage id-kp-serverAuth) and, when
// `pin` is not empty, KdcPin(kdc) == pin.
Status CheckKdcIdentity(const identity::Certificate& kdc, std::string_view pin);
// The join's check of the KDC (SecProf_3/4, after the voucher verified): the certificate of
// `session`'s handshake is the one the KDC named (`named`, DER), chains to the voucher's
// `domain_ca` and carries the KDC role. kVerifyFailed "rogue domain refused: ..." otherwise.
Result<identity::Certificate> JoinedKdc(const coap::Client& session, const crypto::Bytes& named,
                                        const identity::Certificate& domain_ca, const Clock& clock);
// The pin of the KDC that answered `session`'s handshake, after CheckKdcIdentity(its certificate,
// pin): an operational session with an empty `pin` (a state from before pinning) learns it.
Result<std::string> AcceptedKdcPin(const coap::Client& session, std::string_view pin);
// kVerifyFailed when a voucher created at `voucher_created` predates `owned_since` (the thing's
// last factory reset, unix seconds; 0: never reset) by more than voucher::kAllowedSkew.
Status CheckVoucherAfterReset(int64_t voucher_created, int64_t owned_since);

}  // namespace secprof::thing
