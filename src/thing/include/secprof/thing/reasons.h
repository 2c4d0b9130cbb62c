// secprof/thing/reasons.h — the stable reasons (core/result.h `Reason`) the thing's refusals
// carry. Callers and tests branch on `error.Is(kX)`, never on message text; docs/ERRORS.md
// ("### thing") lists them. A published name never changes.
#pragma once

#include "secprof/core/result.h"

namespace secprof::thing {

// kConflict: the operation is not allowed in the thing's lifecycle state (the transition table,
// secprof/thing/lifecycle.h). Nothing was changed.
inline constexpr Reason kWrongState{"wrong-state"};
// kConflict: a SecProf_1 thing already obeys a mother; only a factory reset frees it.
inline constexpr Reason kAlreadyImprinted{"already-imprinted"};
// kInvalidInput: the operation belongs to another profile's bootstrapping (a KDC for a SecProf_1
// thing, a mother for a KDC profile).
inline constexpr Reason kWrongProfile{"wrong-profile"};
// kConflict: the thing holds no operational credential (PSK or LDevID): it has not joined.
inline constexpr Reason kNotJoined{"not-joined"};
// kConflict: SecProf_1: the thing holds no domain key (neither a mother nor imprinted).
inline constexpr Reason kNoDomainKey{"no-domain-key"};
// kNotFound: the thing holds no key for the group (FetchGroupKey first).
inline constexpr Reason kNoGroupKey{"no-group-key"};
// kLimit: the SecProf_1 replay window holds kMaxLinkSenders senders already.
inline constexpr Reason kTooManySenders{"too-many-senders"};
// kConflict: Init into a state directory that already holds a thing.
inline constexpr Reason kAlreadyInitialized{"already-initialized"};
// kVerifyFailed: the join's KDC is not the voucher's domain (bad voucher, another serial, another
// domain, a handshake certificate that is not the one named or lacks the KDC role).
inline constexpr Reason kRogueDomain{"rogue-domain"};
// kVerifyFailed: the voucher was created before the thing's last factory reset.
inline constexpr Reason kVoucherBeforeReset{"voucher-before-reset"};
// kVerifyFailed: an operational session's peer lacks the KDC role (extendedKeyUsage
// id-kp-serverAuth), or its key is not the one pinned at the join.
inline constexpr Reason kNotTheKdc{"not-the-kdc"};
inline constexpr Reason kKdcPinMismatch{"kdc-pin-mismatch"};
// kVerifyFailed: the LDevID the KDC issued does not certify our key or chain to the domain CA.
inline constexpr Reason kBadLdevid{"bad-ldevid"};
// kVerifyFailed: a peer thing's server refused the ticket (ConnectToPeer).
inline constexpr Reason kTicketRefused{"ticket-refused"};
// kInvalidInput: a KEK inside the state directory it protects, without the recorded override.
inline constexpr Reason kColocatedKek{"colocated-kek"};
// kInvalidInput: file keys in a profile that requires a token, without the recorded override.
inline constexpr Reason kFileKeys{"file-keys"};
// kVerifyFailed: the KEK found is not the thing's (its id differs from state.json's).
inline constexpr Reason kWrongKek{"wrong-kek"};
// kInvalidInput: Install without the KDC port the profile joins on: SecProf_3/4 join over DTLS
// (no DTLS port given), SecProf_2 over plain CoAP first (no UDP port given). Nothing changed.
inline constexpr Reason kNoKdcDtlsPort{"no-kdc-dtls-port"};
inline constexpr Reason kNoKdcUdpPort{"no-kdc-udp-port"};
// SecProf_1: CheckForUpdate with no vendor update service configured (ThingState::update_host).
inline constexpr Reason kNoUpdateServer{"no-update-server"};

}  // namespace secprof::thing
