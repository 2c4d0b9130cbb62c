// The thing's side of "who is the KDC" and "is this voucher still mine to obey" (issue 9 items 1
// and 10; docs/DOMAIN.md "Roles and anchors", docs/VOUCHER.md "Vouchers do not outlive ownership").
#include "internal.h"
#include "secprof/cbor/cbor.h"
#include "secprof/crypto/hash.h"
#include "secprof/thing/reasons.h"
#include "secprof/voucher/voucher.h"

namespace secprof::thing {

std::string KdcPin(const identity::Certificate& kdc) {
  auto d = crypto::Sha256(kdc.public_key_der());
  if (!d) return {};
  return cbor::ToHex(crypto::ByteView(d->data(), d->size()));
}

Status CheckKdcIdentity(const identity::Certificate& kdc, std::string_view pin) {
  if (!kdc.HasExtendedKeyUsage(identity::eku::kServerAuth))
    return Fail(ErrorCode::kVerifyFailed, kNotTheKdc,
                "KDC refused: its certificate does not carry the KDC role (extendedKeyUsage "
                "id-kp-serverAuth); a member's LDevID cannot serve as the KDC");
  if (!pin.empty() && KdcPin(kdc) != pin)
    return Fail(ErrorCode::kVerifyFailed, kKdcPinMismatch,
                "KDC refused: its key is not the one pinned at the voucher-verified join");
  return {};
}

Result<identity::Certificate> JoinedKdc(const coap::Client& session, const crypto::Bytes& named,
                                        const identity::Certificate& domain_ca,
                                        const Clock& clock) {
  const auto& seen = session.server_identity().certificate_der;
  if (seen.empty() || seen != named)
    return Fail(ErrorCode::kVerifyFailed, kRogueDomain,
                "rogue domain refused: the KDC's handshake certificate is not the one it names");
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate kdc, identity::Certificate::FromDer(seen));
  identity::VerifyOptions vo;
  vo.trust_anchors = {domain_ca};
  if (auto ok = identity::VerifyCertificate(kdc, vo, clock); !ok)
    return Fail(ErrorCode::kVerifyFailed, kRogueDomain,
                "rogue domain refused: KDC certificate does not chain to the voucher's domain: " +
                    ok.error().message());
  if (auto role = CheckKdcIdentity(kdc, {}); !role)
    return Fail(ErrorCode::kVerifyFailed, kRogueDomain,
                "rogue domain refused: " + role.error().message());
  return kdc;
}

Result<std::string> AcceptedKdcPin(const coap::Client& session, std::string_view pin) {
  SECPROF_ASSIGN_OR_RETURN(
      identity::Certificate kdc,
      identity::Certificate::FromDer(session.server_identity().certificate_der));
  SECPROF_TRY(CheckKdcIdentity(kdc, pin));
  return KdcPin(kdc);
}

Status CheckVoucherAfterReset(int64_t voucher_created, int64_t owned_since) {
  // kAllowedSkew: the manufacturer's clock may run behind the thing's by as much as the voucher
  // verification tolerates ahead (voucher.h).
  const int64_t skew = voucher::kAllowedSkew.count();
  if (owned_since > 0 && voucher_created + skew < owned_since)
    return Fail(ErrorCode::kVerifyFailed, kVoucherBeforeReset,
                "voucher refused: it predates this thing's last factory reset (created " +
                    std::to_string(voucher_created) + ", reset " + std::to_string(owned_since) +
                    "); ask the manufacturer for a new one");
  return {};
}

}  // namespace secprof::thing
