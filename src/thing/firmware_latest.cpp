// The thing's check of a latest-release statement (firmware_latest.h; Uptane's timestamp role
// against the "freeze" attack; lab scenarios lab.fw_freeze and, SecProf_1, lab.vulnerable_fw).
#include "firmware_latest.h"

#include <filesystem>

#include "secprof/core/fs.h"
#include "secprof/identity/identity.h"

namespace secprof::thing::internal {

Result<LatestCheck> VerifyLatestRelease(const ThingState& st, crypto::ByteView statement,
                                        const crypto::PublicKey* key, const std::string& scope,
                                        const Clock& clock, const std::string& last_seen_path) {
  auto bad = [](std::string why) {
    return LatestCheck{domain::FirmwareAlert{domain::kAlertBadStatement, why.substr(0, 1000)}, 0};
  };
  if (statement.empty()) return bad("no latest-release statement");
  auto lr = domain::OpenLatestRelease(statement, key);
  if (!lr) return bad("statement refused: " + lr.error().message());
  if (lr->vendor != st.vendor || lr->model != st.model)
    return bad("statement for " + lr->vendor + " " + lr->model + ", this thing is " + st.vendor +
               " " + st.model);
  const int64_t now = UnixSeconds(clock);
  if (lr->issued_at > now + domain::kLatestReleaseSkew)
    return bad("statement issued in the future (" + std::to_string(lr->issued_at) + ", now " +
               std::to_string(now) + ")");
  if (lr->expires < now)
    return bad("stale statement: expired at " + std::to_string(lr->expires) + ", now " +
               std::to_string(now));
  uint64_t seen = 0;
  if (std::filesystem::exists(last_seen_path)) {
    SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(last_seen_path));
    const auto space = text.rfind(' ');
    if (space == std::string::npos)
      return Fail(ErrorCode::kInvalidInput, last_seen_path + ": not \"<scope> <sequence>\"");
    try {
      if (text.substr(0, space) == scope) seen = std::stoull(text.substr(space + 1));
    } catch (...) {
      return Fail(ErrorCode::kInvalidInput, last_seen_path + ": not a sequence number");
    }
  }
  if (lr->sequence < seen)
    return bad("the latest release went back from sequence " + std::to_string(seen) + " to " +
               std::to_string(lr->sequence) + " (a replayed or rolled-back statement)");
  if (lr->sequence > seen)
    SECPROF_TRY(WriteFileAtomic(last_seen_path, scope + " " + std::to_string(lr->sequence), 0600));
  return LatestCheck{{}, lr->sequence};
}

Result<domain::FirmwareAlert> CheckLatestRelease(const ThingState& st, uint64_t running,
                                                 crypto::ByteView statement, const Clock& clock,
                                                 const std::string& last_seen_path) {
  std::optional<crypto::PublicKey> key;
  if (!st.domain_ca_pem.empty()) {
    SECPROF_ASSIGN_OR_RETURN(identity::Certificate ca,
                             identity::Certificate::FromPem(st.domain_ca_pem));
    SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pk, ca.public_key());
    key = std::move(pk);
  }
  // The domain is what the join gave (SecProf_2 PSK identity, SecProf_3/4 pinned KDC key).
  SECPROF_ASSIGN_OR_RETURN(
      LatestCheck c,
      VerifyLatestRelease(st, statement, key ? &*key : nullptr,
                          st.psk_identity + "/" + st.kdc_spki_sha256, clock, last_seen_path));
  if (!c.alert.kind.empty()) {
    if (statement.empty()) c.alert.detail = "nothing offered, without a latest-release statement";
    return c.alert;
  }
  if (c.sequence > running)
    return domain::FirmwareAlert{domain::kAlertUpdateWithheld,
                                 "the KDC's latest release for " + st.vendor + " " + st.model +
                                     " is sequence " + std::to_string(c.sequence) +
                                     ", this thing runs " + std::to_string(running) +
                                     ", and nothing is offered to it"};
  return domain::FirmwareAlert{};
}

}  // namespace secprof::thing::internal
