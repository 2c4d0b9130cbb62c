// The thing's check of the latest-release statement (firmware_latest.h; Uptane's timestamp role
// against the "freeze" attack; lab scenario lab.fw_freeze).
#include "firmware_latest.h"

#include <filesystem>

#include "secprof/core/fs.h"
#include "secprof/identity/identity.h"

namespace secprof::thing::internal {

Result<domain::FirmwareAlert> CheckLatestRelease(const ThingState& st, uint64_t running,
                                                 crypto::ByteView statement, const Clock& clock,
                                                 const std::string& last_seen_path) {
  auto bad = [](std::string why) {
    return domain::FirmwareAlert{domain::kAlertBadStatement, why.substr(0, 1000)};
  };
  if (statement.empty()) return bad("nothing offered, without a latest-release statement");
  std::optional<crypto::PublicKey> key;
  if (!st.domain_ca_pem.empty()) {
    SECPROF_ASSIGN_OR_RETURN(identity::Certificate ca,
                             identity::Certificate::FromPem(st.domain_ca_pem));
    SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pk, ca.public_key());
    key = std::move(pk);
  }
  auto lr = domain::OpenLatestRelease(statement, key ? &*key : nullptr);
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
  // The highest sequence seen, for this domain membership only: "<domain> <sequence>", where the
  // domain is what the join gave (SecProf_2 PSK identity, SecProf_3/4 pinned KDC key). A factory
  // reset or another join starts again from 0.
  const std::string domain = st.psk_identity + "/" + st.kdc_spki_sha256;
  uint64_t seen = 0;
  if (std::filesystem::exists(last_seen_path)) {
    SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(last_seen_path));
    const auto space = text.rfind(' ');
    if (space == std::string::npos)
      return Fail(ErrorCode::kInvalidInput, last_seen_path + ": not \"<domain> <sequence>\"");
    try {
      if (text.substr(0, space) == domain) seen = std::stoull(text.substr(space + 1));
    } catch (...) {
      return Fail(ErrorCode::kInvalidInput, last_seen_path + ": not a sequence number");
    }
  }
  if (lr->sequence < seen)
    return bad("the latest release went back from sequence " + std::to_string(seen) + " to " +
               std::to_string(lr->sequence) + " (a replayed or rolled-back statement)");
  if (lr->sequence > seen)
    SECPROF_TRY(WriteFileAtomic(last_seen_path, domain + " " + std::to_string(lr->sequence), 0600));
  if (lr->sequence > running)
    return domain::FirmwareAlert{domain::kAlertUpdateWithheld,
                                 "the KDC's latest release for " + st.vendor + " " + st.model +
                                     " is sequence " + std::to_string(lr->sequence) +
                                     ", this thing runs " + std::to_string(running) +
                                     ", and nothing is offered to it"};
  return domain::FirmwareAlert{};
}

}  // namespace secprof::thing::internal
