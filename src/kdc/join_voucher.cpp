// The SecProf_3/4 join at the KDC: a thing proves its IDevID over DTLS, gets the owner's voucher
// (j/voucher) and enrolls for an LDevID and a pairwise key (j/enroll) (docs/DOMAIN.md "Profiles",
// "Resources" and "Roles and anchors"; draft §7.1, SecProf_3: "the first association of devices
// to the network is required to be done in a secure way, i.e., requiring authentication and
// authorization", and §4 threat 2, malicious substitution of things).
#include "context.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"

namespace secprof::kdc::join_voucher {

namespace {

using coap::Request;
using coap::Response;
using registry::State;

// docs/DOMAIN.md "Refusals" (the join rows) and "Roles and anchors"; draft §4 threat 2: a thing
// proving its IDevID on a provisional session may join only as the serial the owner imported a
// voucher for, from that voucher's vendor, under the voucher vendor's own CA (issue 9 item 3),
// with its key in a token where the profile asks (issue 9 item 5).
Result<registry::Thing> Joining(KdcContext& ctx, const Request& r) {
  if (r.peer.kind != coap::PeerIdentity::Kind::kCertificate)
    return Fail(ErrorCode::kVerifyFailed, kNoIdevid,
                "joining needs DTLS with the thing's IDevID certificate");
  auto c = identity::Certificate::FromDer(r.peer.certificate_der);
  if (!c) return Fail(c.error().WithReason(kBadCertificate));
  if (ctx.IssuedByDomain(*c))
    return Fail(ErrorCode::kConflict, kAlreadyEnrolled,
                "this certificate is an LDevID of this domain, not an IDevID");
  const std::string& serial = c->subject().serial_number;
  if (serial.empty())
    return Fail(ErrorCode::kConflict, kNoSerial, "IDevID has no subject serialNumber");
  auto t = ctx.reg->Get(serial);
  if (!t || t->voucher.empty())
    return Fail(
        ErrorCode::kNotFound, kNoVoucher,
        "no voucher imported for serial " + serial + " (unauthorized or substituted device)");
  if (c->subject().organization != t->vendor)
    return Fail(ErrorCode::kConflict, kVendorMismatch,
                "IDevID vendor '" + c->subject().organization + "' is not the voucher's '" +
                    t->vendor + "'");
  if (t->voucher_expiry && *t->voucher_expiry < UnixSeconds(ctx.clock))
    return Fail(ErrorCode::kConflict, kVoucherExpired, "the voucher for " + serial + " expired");
  if (t->state != State::kAllowed && !registry::IsActive(t->state))
    return Fail(ErrorCode::kConflict, kRetired,
                "thing " + serial + " is " + registry::StateName(t->state));
  if (auto kp = CheckThingKeyProtection(ctx.opt, *c); !kp)  // issue 9 item 5; 4.03
    return Fail(ErrorCode::kConflict, kTokenKeysRequired, kp.error().message());
  auto issuer = ctx.reg->VoucherIssuer(serial);  // issue 9 item 3: the voucher's own vendor CA
  if (!issuer) return Fail(issuer.error().WithReason(kRegistry));
  if (auto ok = CheckIdevidIssuer(*c, *t, *issuer, ctx.dk->vendor_cas, ctx.opt.keys_dir, ctx.clock);
      !ok)
    return Fail(ErrorCode::kConflict, kWrongVendorCa, ok.error().message());  // 4.03
  return *t;
}

// j/voucher — docs/DOMAIN.md "Resources"; draft §7.1 (SecProf_3: authenticated first
// association): the owner's voucher for this serial, the domain CA and the KDC's certificate, so
// the thing can check it joins the domain its owner chose.
Response OnVoucher(KdcContext& ctx, const Request& r) {
  auto t = Joining(ctx, r);
  if (!t) return ctx.Refuse(t.error(), r.peer.serial_number);
  domain::VoucherResponse v{t->voucher, ctx.dk->domain_ca.ToDer(), ctx.dk->kdc_certificate.ToDer()};
  return Cbor(coap::kContent, domain::Encode(v));
}

// j/enroll — docs/DOMAIN.md "Resources" and "Roles and anchors"; draft §3.1 (bootstrapping: "the
// device identity and the secret keys used during normal operation are provided to the device
// during this phase"): an LDevID for the CSR's key
// (proof of possession: the CSR's signature), signed by the domain CA with the thing role, and a
// fresh pairwise key; idempotent for the same key (the same LDevID and key again).
Response OnEnroll(KdcContext& ctx, const Request& r) {
  auto t = Joining(ctx, r);
  if (!t) return ctx.Refuse(t.error(), r.peer.serial_number);
  auto req = domain::DecodeEnrollRequest(r.payload);
  if (!req) return ctx.Refuse(req.error().WithReason(kMalformed), t->serial);
  auto csr = identity::CertificateRequest::FromDer(req->csr);
  if (!csr) return ctx.Refuse(csr.error().WithReason(kMalformed), t->serial);
  if (auto pop = csr->VerifySignature(); !pop)  // 4.00: the CSR is bad input
    return ctx.Refuse(Error(ErrorCode::kInvalidInput, kBadCsr, "CSR signature does not verify"),
                      t->serial);
  auto pub = csr->public_key();
  if (!pub) return ctx.Refuse(pub.error().WithReason(kBadCsr), t->serial);
  auto spki = pub->ToDer();
  if (!spki) return ctx.Refuse(spki.error().WithReason(kBadCsr), t->serial);
  std::string fp = HexSha256(*spki);

  registry::CommissionInput in;
  in.credential_kind = std::string(registry::kCredentialLdevid);
  in.credential_fingerprint = fp;
  crypto::SecureBuffer key;
  crypto::Bytes ldevid_der;
  if (registry::IsActive(t->state) && t->credential_fingerprint == fp) {
    auto k = domain::UnwrapKey(ctx.kek(), PairwiseContext(t->serial), t->wrapped_key);
    if (!k) return ctx.Refuse(k.error().WithReason(kInternal), t->serial);
    key = std::move(*k);
    auto cert = identity::Certificate::FromPem(t->ldevid_pem);
    if (!cert) return ctx.Refuse(cert.error().WithReason(kInternal), t->serial);
    ldevid_der = cert->ToDer();
    in.credential_id = t->credential_id;
    in.ldevid_pem = t->ldevid_pem;
    in.wrapped_key = t->wrapped_key;
  } else {
    identity::LdevidPolicy pol;
    pol.validity = ctx.opt.ldevid_validity;
    pol.expected_serial_number = t->serial;
    pol.organization = ctx.opt.owner;
    pol.extended_key_usage = ThingRole();
    auto cert =
        identity::IssueLdevid(*ctx.ca_signer, ctx.dk->domain_ca, *csr, pol, ctx.clock, ctx.rng);
    if (!cert) return ctx.Refuse(cert.error().WithReason(kBadCsr), t->serial);
    auto k = ctx.rng.DrawSecret(domain::kMasterKeySize);
    if (!k) return ctx.Refuse(k.error().WithReason(kInternal), t->serial);
    key = std::move(*k);
    auto w = domain::WrapKey(ctx.kek(), PairwiseContext(t->serial), key.view(), ctx.rng);
    if (!w) return ctx.Refuse(w.error().WithReason(kInternal), t->serial);
    in.credential_id = cert->serial_hex();
    in.ldevid_pem = cert->ToPem();
    in.wrapped_key = std::move(*w);
    ldevid_der = cert->ToDer();
  }
  auto out = ctx.reg->Commission(t->serial, in, "kdc");
  if (!out) return ctx.Refuse(out.error().WithReason(kCommission), t->serial);
  ctx.CountJoin(out->first_time);
  domain::EnrollResponse resp{ldevid_der, ctx.dk->domain_ca.ToDer(), std::move(key)};
  return Cbor(coap::kChanged, domain::Encode(resp));
}

}  // namespace

void Register(coap::Server& server, KdcContext& ctx) {
  Bind(server, ctx, domain::path::kVoucher, coap::Method::kGet, &OnVoucher);
  Bind(server, ctx, domain::path::kEnroll, coap::Method::kPost, &OnEnroll);
}

}  // namespace secprof::kdc::join_voucher
