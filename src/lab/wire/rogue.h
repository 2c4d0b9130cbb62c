// src/lab/wire/rogue.h — rogue KDCs (T4 at installation; draft §4 threat 4; catalog
// M.boot.voucher "the thing accepts the domain only after checking the voucher against its
// manufacturer trust anchor (no rogue KDC, no man in the middle)"): an attacker's server that a
// thing being installed is pointed at, answering the join as well as the attacker can.
//
// Kinds (the scenario ids lab.rogue_kdc, lab.rogue_kdc_other_owner, lab.rogue_kdc_member):
//   kSelfMade   SecProf_3/4: a domain the attacker made itself (its own self-signed domain CA and
//               a KDC certificate with the KDC role, kdc::OpenDomainKeys) and a voucher for the
//               victim it signed with its own key; SecProf_2: a plain-CoAP join server that does
//               not know the victim's setup code and seals the PSK under a guess.
//   kOtherOwner SecProf_3/4: a genuine domain of another owner (made by the KDC's own code for
//               "Other-Owner") serving the victim's genuine voucher, copied from the real owner's
//               KDC (vouchers are not secret); SecProf_2: a genuine KDC of another owner that
//               allowed the victim's serial with the setup code it guessed.
//   kMember     SecProf_3/4: an enrolled member's own LDevID and key (in its token, used through
//               PKCS#11 as the member device would; file keys exported) serving the victim's
//               genuine voucher; SecProf_2 has no LDevIDs (not applicable).
// Success: the victim accepts the rogue's domain: SecProf_3/4, it sends its CSR (j/enroll) to the
// rogue after checking the voucher; SecProf_2, its join completes (it holds a PSK from the rogue).
// Negative control (defence_off): the rogue's voucher is signed by the genuine vendor CA (the
// vendor vouching for the attacker's domain), SecProf_2 the rogue knows the setup code.
#pragma once

#include "secprof/lab/scenario.h"

namespace secprof::lab::wire {

enum class RogueKind { kSelfMade, kOtherOwner, kMember };

Result<Measurement> RunRogueKdc(const RunContext& ctx, RogueKind kind);

}  // namespace secprof::lab::wire
