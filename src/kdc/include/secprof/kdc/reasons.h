// secprof/kdc/reasons.h — why the KDC refuses a request (issue 10 item 5; docs/ERRORS.md "kdc",
// docs/DOMAIN.md "Refusals").
//
// A refusal is an Error carrying one of these reasons. The KDC answers it with
// coap::CodeFor(error) (4.04 for kNoGroup: the one code CodeFor has no rule for) and the error's
// message as the diagnostic payload (RFC 7252 §5.5.2), counts it in KdcStats::refused under the
// reason's name and audits it as "refused:<name>". The names are the ones the KDC has always
// counted and audited: they never change once published.
#pragma once

#include "secprof/core/result.h"

namespace secprof::kdc {

// ---- any request ----
inline constexpr Reason kMalformed{"malformed"};       // not the resource's message; 4.00
inline constexpr Reason kRateLimited{"rate-limited"};  // an unidentified source's allowance; 5.03
inline constexpr Reason kRegistry{"registry"};         // the registry failed (or is busy: 5.03)
inline constexpr Reason kInternal{"internal"};         // crypto or randomness failed; 5.00
inline constexpr Reason kRetired{"retired"};  // decommissioned, revoked, evicted, replaced; 4.03

// ---- SecProf_2 join by setup code (j/nonce, j/psk) ----
inline constexpr Reason kWindowClosed{"window-closed"};             // 4.03
inline constexpr Reason kNotAllowed{"not-allowed"};                 // no setup code; 4.03
inline constexpr Reason kCodeRetired{"code-retired"};               // 4.03
inline constexpr Reason kReplayOrStale{"replay-or-stale"};          // the nonce; 4.01
inline constexpr Reason kBadProof{"bad-proof"};                     // 4.01
inline constexpr Reason kJoinRepeatRefused{"join-repeat-refused"};  // after the grace; 4.03
inline constexpr Reason kCommission{"commission"};  // the registry refused; its code

// ---- SecProf_3/4 join by voucher (j/voucher, j/enroll) ----
inline constexpr Reason kNoIdevid{"no-idevid"};                // 4.01
inline constexpr Reason kBadCertificate{"bad-certificate"};    // does not parse; 4.00
inline constexpr Reason kAlreadyEnrolled{"already-enrolled"};  // an LDevID on a join; 4.03
inline constexpr Reason kNoSerial{"no-serial"};                // 4.03
inline constexpr Reason kNoVoucher{"no-voucher"};              // unauthorized/substituted; 4.03
inline constexpr Reason kVendorMismatch{"vendor-mismatch"};    // 4.03
inline constexpr Reason kVoucherExpired{"voucher-expired"};    // 4.03
inline constexpr Reason kTokenKeysRequired{"token-keys-required"};  // 4.03
inline constexpr Reason kWrongVendorCa{"wrong-vendor-ca"};          // 4.03
inline constexpr Reason kBadCsr{"bad-csr"};                         // 4.00 (or the error's)

// ---- the operational session (any operational resource) ----
inline constexpr Reason kNoDtls{"no-dtls"};                        // 4.01
inline constexpr Reason kCipherSuite{"cipher-suite"};              // 4.03
inline constexpr Reason kNotLdevid{"not-ldevid"};                  // 4.03
inline constexpr Reason kUnknownCredential{"unknown-credential"};  // 4.03
inline constexpr Reason kQuarantined{"quarantined"};               // clone guard; 4.03
inline constexpr Reason kRevokedCredential{"revoked-credential"};  // in the handshake (counted)
inline constexpr Reason kTransition{"transition"};           // lc/*: the registry refused; its code
inline constexpr Reason kSpoofedReading{"spoofed-reading"};  // op/report; 4.03
inline constexpr Reason kStaleReading{"stale-reading"};      // op/report, clone guard; 4.01

// ---- pair and group keys (k/pair, k/group) ----
inline constexpr Reason kPeerNotActive{"peer-not-active"};  // 4.03
inline constexpr Reason kNoGroup{"no-group"};               // 4.04
inline constexpr Reason kNotMember{"not-member"};           // 4.03

// ---- firmware (fw/*) ----
inline constexpr Reason kNotOffered{"not-offered"};        // 4.03
inline constexpr Reason kFirmwareStore{"firmware-store"};  // the image file; its code
inline constexpr Reason kCampaign{"campaign"};             // fw/status refused; its code

// ---- starting a KDC and the owner's tools (Kdc::Create, OwnerTools; never answered on the wire,
// never counted): why a start or an owner command was refused. Errors of the registry, the key
// directory and the parsers pass through with their own reasons (or none).
inline constexpr Reason kNoDatabase{"no-database"};  // no --db; OwnerTools: the file is missing
inline constexpr Reason kNoKdc{"no-kdc"};            // the profile has no KDC (SecProf_1)
inline constexpr Reason kBadOwner{"bad-owner"};      // --owner empty, too long or not printable
inline constexpr Reason kNoTrustAnchor{"no-trust-anchor"};  // a voucher profile, no vendor CA
inline constexpr Reason kRegistryInUse{"registry-in-use"};  // another KDC holds the registry lock
inline constexpr Reason kNotKeyDirectory{"not-key-directory"};  // OwnerTools: no domain-ca.pem
// A KEK migration (MigrateDomainKek) was interrupted: the key store is partly re-encrypted.
inline constexpr Reason kKekMigrationInterrupted{"kek-migration-interrupted"};
inline constexpr Reason kVendorCaClash{"vendor-ca-clash"};   // a vendor CA looks like the domain CA
inline constexpr Reason kNotVendorCa{"not-vendor-ca"};       // TrustVendor: not a CA with an O
inline constexpr Reason kVoucherRefused{"voucher-refused"};  // ImportVoucher: does not verify
inline constexpr Reason kOtherDomain{"other-domain"};        // ImportVoucher: pins another domain
inline constexpr Reason kNotRetirement{"not-retirement"};    // Retire to an active state
inline constexpr Reason kFirmwareIncomplete{"firmware-incomplete"};  // AddFirmware: no vendor-id..
inline constexpr Reason kUntrustedVendor{"untrusted-vendor"};        // AddFirmware: the vendor-id
inline constexpr Reason kFirmwareSignature{"firmware-signature"};    // AddFirmware: signature
inline constexpr Reason kFirmwareClass{"firmware-class"};  // AddFirmware: vendor/class ids
inline constexpr Reason kFirmwareImage{"firmware-image"};  // AddFirmware: the image file
inline constexpr Reason kNoTargets{"no-targets"};          // StartCampaign: no active thing

}  // namespace secprof::kdc
