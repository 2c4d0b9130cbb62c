// Who is who in the domain (issue 9, items 1-3): the roles of the KDC's certificate and of LDevIDs,
// which anchor verifies which kind of certificate, and which vendor CA an IDevID must chain to.
// docs/DOMAIN.md "Roles and anchors" states the rules these functions enforce.
#include <filesystem>

#include "internal.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/voucher/voucher.h"

namespace secprof::kdc {

namespace {

std::string Hex(const crypto::Sha256Digest& d) {
  return cbor::ToHex(crypto::ByteView(d.data(), d.size()));
}

// RFC 5280 §6 path validation of `leaf` against exactly one anchor.
Status VerifyAgainst(const identity::Certificate& leaf, const identity::Certificate& anchor,
                     const Clock& clock) {
  identity::VerifyOptions vo;
  vo.trust_anchors = {anchor};
  auto path = identity::VerifyCertificate(leaf, vo, clock);
  if (!path) return Fail(path.error());
  return {};
}

}  // namespace

std::vector<std::string> KdcRole() { return {std::string(identity::eku::kServerAuth)}; }
std::vector<std::string> ThingRole() { return {std::string(identity::eku::kClientAuth)}; }

bool HasKdcRole(const identity::Certificate& c) {
  return c.HasExtendedKeyUsage(identity::eku::kServerAuth);
}

Status CheckVendorCaDistinct(const identity::Certificate& domain_ca,
                             const identity::Certificate& vendor_ca) {
  if (identity::SameSubject(vendor_ca, domain_ca))
    return Fail(ErrorCode::kVerifyFailed, kVendorCaClash,
                "vendor CA '" + vendor_ca.subject().text + "' has the subject of this domain's CA");
  if (!vendor_ca.subject_key_id().empty() &&
      vendor_ca.subject_key_id() == domain_ca.subject_key_id())
    return Fail(
        ErrorCode::kVerifyFailed, kVendorCaClash,
        "vendor CA '" + vendor_ca.subject().text + "' has the key identifier of this domain's CA");
  return {};
}

Status CheckDomainSigned(const identity::Certificate& c, const identity::Certificate& domain_ca,
                         const Clock& clock) {
  // The thing role: extendedKeyUsage with id-kp-clientAuth. An LDevID without the extension was
  // issued before roles existed (its registry row decides, see CheckPresentedLdevid); one with the
  // extension but not the thing role (the KDC's own certificate) is never a thing.
  if (c.extended_key_usage() && !c.HasExtendedKeyUsage(identity::eku::kClientAuth))
    return Fail(ErrorCode::kVerifyFailed, "the certificate does not carry the thing role");
  if (auto ok = VerifyAgainst(c, domain_ca, clock); !ok)
    return Fail(ErrorCode::kVerifyFailed,
                "not signed by this domain's CA: " + ok.error().message());
  return {};
}

Status CheckPresentedLdevid(const identity::Certificate& presented,
                            const identity::Certificate& domain_ca, const registry::Thing& t,
                            const Clock& clock) {
  // The cheap comparison first: a forgery naming the thing's serial fails here already.
  auto held = identity::Certificate::FromPem(t.ldevid_pem);
  if (!held || !(*held == presented))
    return Fail(ErrorCode::kVerifyFailed,
                "the certificate is not the LDevID this KDC issued to " + t.serial);
  return CheckDomainSigned(presented, domain_ca, clock);
}

Status LdevidValidator::Check(const identity::Certificate& presented,
                              const identity::Certificate& domain_ca, const registry::Thing& t,
                              const Clock& clock) {
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(clock.Now());
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = passed_.find(presented.fingerprint());
    // Remembered as equal to the registry's PEM `it->second.second`: still equal when the
    // registry holds that same text (the role and the signature were checked then).
    if (it != passed_.end() && now < it->second.first && it->second.second == t.ldevid_pem)
      return {};
  }
  SECPROF_TRY(CheckPresentedLdevid(presented, domain_ca, t, clock));
  std::lock_guard<std::mutex> l(mu_);
  if (passed_.size() >= kMaxRemembered) passed_.clear();
  passed_[presented.fingerprint()] = {presented.not_after(), t.ldevid_pem};
  return {};
}

Status CheckIdevidIssuer(const identity::Certificate& idevid, const registry::Thing& t,
                         const std::optional<std::string>& recorded,
                         const std::vector<identity::Certificate>& vendor_cas,
                         const std::string& keys_dir, const Clock& clock) {
  std::optional<identity::Certificate> ca;
  if (recorded) {
    for (const auto& v : vendor_cas)
      if (Hex(v.fingerprint()) == *recorded) ca = v;
    if (!ca) {  // imported while this KDC ran: SaveVendorCa kept it as vendors/<sha256>.pem
      auto pem = ReadFile(keys_dir + "/vendors/" + *recorded + ".pem");
      if (pem)
        if (auto c = identity::Certificate::FromPem(*pem); c && Hex(c->fingerprint()) == *recorded)
          ca = *c;
    }
    if (!ca)
      return Fail(ErrorCode::kVerifyFailed,
                  "the vendor CA that signed the voucher for " + t.serial + " is not available");
  } else {
    // A voucher imported before schema v3: the CA is the one its signature verifies under.
    for (const auto& v : vendor_cas)
      if (voucher::Verify(t.voucher, v, clock)) {
        ca = v;
        break;
      }
    if (!ca)
      return Fail(ErrorCode::kVerifyFailed,
                  "no trusted vendor CA verifies the voucher for " + t.serial);
  }
  if (auto ok = VerifyAgainst(idevid, *ca, clock); !ok)
    return Fail(ErrorCode::kVerifyFailed, "the IDevID does not chain to '" + ca->subject().text +
                                              "', the vendor CA that signed the voucher for " +
                                              t.serial);
  return {};
}

}  // namespace secprof::kdc
