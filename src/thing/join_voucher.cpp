// SecProf_3/4's join by IDevID and voucher, the thing's side (docs/DOMAIN.md "Lifecycle" row
// installed -> commissioned, "Roles and anchors"; docs/VOUCHER.md; draft-garcia-security-
// mitigations-and-profiles §7.4 "Security Profile 3: Industrial usage" and §7.5 "Security
// Profile 4: Managed Industrial usage"). The KDC's side: src/kdc/join_voucher.cpp.
//
// A provisional DTLS session with the IDevID (RFC 8995 §5.1's provisional state), GET j/voucher,
// the voucher verified against the manufacturer trust anchor and bound to this serial and to the
// domain CA that certifies the KDC's handshake certificate (kdc_trust.cpp); then a new LDevID key
// in the thing's key store, POST j/enroll with its CSR, and the LDevID checked before the move.
// Any refusal (kRogueDomain, kVoucherBeforeReset, kBadLdevid) changes no state.
#include "agent_impl.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"
#include "secprof/thing/reasons.h"
#include "secprof/voucher/voucher.h"

namespace secprof::thing {

using crypto::Bytes;

Status Agent::Impl::JoinVoucher() {
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate anchor,
                           identity::Certificate::FromPem(st.trust_anchor_pem));
  coap::ClientConfig cc;
  cc.timeout = opt.timeout;
  cc.security = coap::Security::kPki;
  SECPROF_ASSIGN_OR_RETURN(cc.pki, PkiFor(st.idevid_pem, st.idevid_key_label));
  // Provisional: the KDC is not trusted until its voucher checks out (RFC 8995 §5.1 has the
  // same provisional state for BRSKI).
  cc.pki.require_peer_certificate = false;
  SECPROF_ASSIGN_OR_RETURN(auto c, coap::Client::Connect(st.kdc_host, st.kdc_dtls, std::move(cc)));
  SECPROF_ASSIGN_OR_RETURN(coap::Response rv, c->Get(domain::path::kVoucher));
  SECPROF_TRY(Expect(rv, coap::kContent, "voucher"));
  SECPROF_ASSIGN_OR_RETURN(domain::VoucherResponse vr, domain::DecodeVoucherResponse(rv.payload));
  auto v = voucher::Verify(vr.voucher, anchor, clock);
  if (!v)
    return Fail(ErrorCode::kVerifyFailed, kRogueDomain,
                "rogue domain refused: " + v.error().message());
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate domain_ca,
                           identity::Certificate::FromDer(vr.domain_ca));
  if (auto b = voucher::CheckBinding(*v, st.serial, domain_ca); !b)
    return Fail(ErrorCode::kVerifyFailed, kRogueDomain,
                "rogue domain refused: " + b.error().message());
  SECPROF_TRY(CheckVoucherAfterReset(v->created, st.owned_since));  // issue 9 item 10
  // The KDC we talk to must be the one the voucher's domain certifies (kdc_trust.cpp).
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate kdc_cert,
                           JoinedKdc(*c, vr.kdc_chain, domain_ca, clock));
  identity::VerifyOptions vo;
  vo.trust_anchors = {domain_ca};
  // LDevID key: a new key in the same store (the token for SecProf_3/4).
  std::string label = "ldevid-" + st.serial;
  auto have = store->PublicKey(label);
  if (!have) {
    auto gen = store->GenerateKey(label, crypto::KeyType::kP256);
    if (!gen) return Fail(gen.error());
  }
  SECPROF_ASSIGN_OR_RETURN(auto signer, store->GetSigner(label));
  identity::Name subject;
  subject.serial_number = st.serial;
  subject.common_name = st.model + " " + st.serial;
  SECPROF_ASSIGN_OR_RETURN(identity::CertificateRequest csr,
                           identity::CreateRequest(*signer, subject));
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response re,
      c->Post(domain::path::kEnroll, domain::Encode(domain::EnrollRequest{csr.ToDer()}),
              coap::content_format::kCbor));
  SECPROF_TRY(Expect(re, coap::kChanged, "enroll"));
  SECPROF_ASSIGN_OR_RETURN(domain::EnrollResponse er, domain::DecodeEnrollResponse(re.payload));
  SECPROF_ASSIGN_OR_RETURN(identity::Certificate ldevid, identity::Certificate::FromDer(er.ldevid));
  if (auto m = ldevid.MatchesPublicKey(signer->public_key()); !m)
    return Fail(ErrorCode::kVerifyFailed, kBadLdevid, "the LDevID does not certify our key");
  if (auto ok = identity::VerifyCertificate(ldevid, vo, clock); !ok)
    return Fail(ErrorCode::kVerifyFailed, kBadLdevid, "the LDevID does not chain to the domain CA");
  secrets[kSecretPairwise] = std::move(er.key);
  ThingState next = st;
  next.ldevid_pem = ldevid.ToPem();
  next.ldevid_key_label = label;
  next.domain_ca_pem = domain_ca.ToPem();
  next.kdc_spki_sha256 = KdcPin(kdc_cert);
  next.voucher_created = v->created;
  // The voucher's owner field is informational and may be empty; the domain CA it pins names the
  // owner in its O (the KDC's --owner): the one `thing status` shows then (issue 13 item 3).
  next.owner = !v->owner.empty() ? v->owner : domain_ca.subject().organization;
  return Apply(Operation::kJoin, "joined with IDevID + voucher; LDevID issued", std::move(next));
}

}  // namespace secprof::thing
