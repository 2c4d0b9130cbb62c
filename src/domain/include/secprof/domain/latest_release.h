// secprof/domain/latest_release.h — the KDC's signed, dated statement of the latest firmware
// release it knows for a thing's model, carried in the fw/offer answer when nothing is offered,
// and the thing's alert when the statement shows an update is being withheld (docs/DOMAIN.md
// "Maintenance"; lab scenario lab.fw_freeze).
//
// Against Uptane's "freeze" attack (a device kept from learning that updates exist; Uptane's
// timestamp role signs the latest metadata version with an expiry): a thing told "nothing
// offered" learns, signed by the KDC's domain CA key, which sequence is the latest for its vendor
// and model, when that was said and until when it holds. It refuses a statement that is forged,
// for another model, not yet valid or expired, or whose sequence is below one it saw before
// (a replayed older statement), and it raises an alert (POST fw/alert, audited "alert:<kind>" by
// the KDC) when the latest known is above what it runs while nothing is offered to it.
//
//   POST fw/offer -> 2.04 with the COSE_Sign1 statement as body when nothing is offered
//   POST fw/alert FirmwareAlert -> 2.04 (the KDC audits "alert:<kind>" for the thing)
//
// What it does not do: the latest sequence comes from the KDC's own registry, so a registry from
// which the campaign was removed before the thing saw a statement naming it states a lower latest
// (Uptane keeps the timestamp key apart from the repository; secprof's KDC holds both). A thing
// that saw the higher one refuses the lower (sequence not below the last seen).
//
// Bodies: LatestRelease {1: vendor tstr, 2: model tstr, 3: sequence uint, 4: issued-at uint,
// 5: expires uint}; FirmwareAlert {1: kind tstr, 2: detail tstr}. Strict like protocol.h.
#pragma once

#include <cstdint>
#include <string>

#include "secprof/core/result.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/crypto/signer.h"

namespace secprof::domain {

namespace path {
inline constexpr const char* kFirmwareAlert = "fw/alert";
}  // namespace path

// How long a statement holds after it is issued.
inline constexpr int64_t kLatestReleaseLifetime = 24 * 3600;
// Clock skew a thing tolerates on issued-at.
inline constexpr int64_t kLatestReleaseSkew = 300;

struct LatestRelease {
  std::string vendor, model;
  uint64_t sequence = 0;  // the highest sequence released to the thing (0: none)
  int64_t issued_at = 0;  // unix s
  int64_t expires = 0;    // unix s
};

// Alert kinds (audited "alert:<kind>").
inline constexpr const char* kAlertUpdateWithheld = "update-withheld";
inline constexpr const char* kAlertBadStatement = "bad-latest-statement";

struct FirmwareAlert {
  std::string kind;    // 1..64 bytes: [a-z0-9-]
  std::string detail;  // at most 1000 bytes
};

crypto::Bytes Encode(const LatestRelease&);
Result<LatestRelease> DecodeLatestRelease(crypto::ByteView);
crypto::Bytes Encode(const FirmwareAlert&);
Result<FirmwareAlert> DecodeFirmwareAlert(crypto::ByteView);

// The statement as a tagged COSE_Sign1 (RFC 9052 §4.2) over Encode(r), signed by `signer` (ES256
// for a P-256 key, EdDSA for Ed25519/Ed448).
Result<crypto::Bytes> SignLatestRelease(crypto::Signer& signer, const LatestRelease& r);
// Verifies the COSE_Sign1 with `key` (kVerifyFailed if forged) and decodes the statement.
// `key` nullptr: only decoded (SecProf_2: the thing holds no key of the KDC's; the statement's
// origin then rests on the DTLS-PSK session it arrived on). kInvalidInput if malformed.
Result<LatestRelease> OpenLatestRelease(crypto::ByteView statement, const crypto::PublicKey* key);

}  // namespace secprof::domain
