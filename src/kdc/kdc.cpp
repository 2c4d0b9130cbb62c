#include "secprof/kdc/kdc.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "clone_guard.h"
#include "internal.h"
#include "registry_lock.h"
#include "revocation.h"
#include "secprof/cbor/cbor.h"
#include "secprof/coap/errors.h"
#include "secprof/core/fs.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "setup_join.h"

namespace secprof::kdc {

namespace {

using coap::Method;
using coap::Request;
using coap::Response;
using crypto::ByteView;
using registry::State;

ByteView View(const crypto::SecureBuffer& b) { return ByteView(b.data(), b.size()); }

Response Cbor(coap::Code code, crypto::Bytes body) {
  return Response{
      .code = code, .content_format = coap::content_format::kCbor, .payload = std::move(body)};
}
Response Text(coap::Code code, const std::string& msg) {
  return Response{
      .code = code, .content_format = coap::content_format::kTextPlain, .payload = coap::Text(msg)};
}

// A refusal: the CoAP code to answer, a short reason key for statistics and the audit log, and a
// message for the peer (RFC 7252 §5.5.2 diagnostic payload).
struct Refusal {
  coap::Code code;
  std::string reason;
  std::string message;
};

template <class T>
using Checked = tl::expected<T, Refusal>;

Refusal FromError(const Error& e, const std::string& reason) {
  return Refusal{coap::CodeFor(e), reason, e.message()};
}

}  // namespace

struct Kdc::Impl {
  KdcOptions opt;
  const Clock& clock;
  crypto::Random& rng;
  const domain::Policy& policy;
  std::optional<RegistryLock> lock;  // released after the registry closes (members die in reverse)
  std::unique_ptr<registry::Registry> reg;
  std::optional<DomainKeys> dk;  // set by Create before Start
  std::unique_ptr<crypto::Signer> ca_signer;
  std::unique_ptr<coap::Server> server;
  std::unique_ptr<CloneGuard> guard;  // issue 9 item 6 (clone_guard.h)
  std::chrono::steady_clock::time_point started;
  mutable std::mutex stats_mu;
  KdcStats stats;
  LdevidValidator ldevids;  // issue 9 item 2 (trust.cpp)
  // Refusal accounting and rate limit (refusals.h); who is asking now (set by Dispatch).
  std::unique_ptr<RefusalLedger> ledger;
  std::string current_source;
  bool current_authenticated = false;

  Impl(KdcOptions o, const Clock& c, crypto::Random& r)
      : opt(std::move(o)), clock(c), rng(r), policy(domain::PolicyFor(opt.profile)) {}

  ByteView kek() const { return View(dk->wrap_kek); }

  // ---- bookkeeping ----------------------------------------------------------------------------
  Response Refuse(const Refusal& r, std::string_view serial) {
    {
      std::lock_guard<std::mutex> l(stats_mu);
      ++stats.refused[r.reason];
    }
    // Refusals are audited too (brief §4: the audit log records every step, failed ones included);
    // those of unidentified peers within a budget, then aggregated (refusals.h, issue 9 T9).
    if (current_authenticated)
      ledger->Authenticated(r.reason, serial, r.message);
    else
      ledger->Unauthenticated(r.reason, current_source, serial, r.message);
    return Text(r.code, r.message);
  }
  // Who asks, before any handler: an identified peer (a DTLS-PSK identity the KDC issued, or an
  // LDevID of this domain) or not; the latter within the per-source rate limit (refusals.h).
  Response Dispatch(const Request& r, Response (Impl::*fn)(const Request&)) {
    current_source = SourceAddress(r.peer_address);
    current_authenticated = r.peer.kind == coap::PeerIdentity::Kind::kPsk;
    if (r.peer.kind == coap::PeerIdentity::Kind::kCertificate) {
      auto c = identity::Certificate::FromDer(r.peer.certificate_der);
      // Names alone suffice here: VerifyPeer refused in the handshake every certificate that
      // names the domain CA as issuer but does not verify against it alone (issue 9 item 2), so
      // this only sorts refusals for the audit; authorization is Operational()'s (registry copy).
      current_authenticated = c && IssuedByDomain(*c);
    }
    if (current_authenticated) return (this->*fn)(r);
    if (!ledger->Admit(current_source)) {
      std::lock_guard<std::mutex> l(stats_mu);
      ++stats.refused["rate-limited"];
      return Text(coap::kServiceUnavailable, "too many requests from this address; retry later");
    }
    Response resp = (this->*fn)(r);
    // A token for work that did not end in a join: a refusal or a nonce; a join gives one back.
    bool ok = resp.code >> 5 == 2;
    if (!ok || r.path == domain::path::kJoinNonce)
      ledger->Charge(current_source);
    else if (r.path == domain::path::kJoinPsk)
      ledger->Refund(current_source);
    return resp;
  }
  void CountJoin(bool first) {
    std::lock_guard<std::mutex> l(stats_mu);
    ++(first ? stats.joins : stats.join_repeats);
  }

  bool JoinWindowOpen() const {
    std::chrono::seconds w = opt.join_window.value_or(policy.pairing_window);
    if (w.count() == 0) return true;
    return clock.Monotonic() - started <= w;
  }

  bool CipherAllowed(const coap::PeerIdentity& p) const {
    if (opt.allowed_ciphers.empty()) return true;
    return std::find(opt.allowed_ciphers.begin(), opt.allowed_ciphers.end(), p.cipher) !=
           opt.allowed_ciphers.end();
  }

  bool IssuedByDomain(const identity::Certificate& c) const {
    return c.issuer() == dk->domain_ca.subject() &&
           c.authority_key_id() == dk->domain_ca.subject_key_id();
  }

  // ---- who is asking ----------------------------------------------------------------------------

  // A commissioned thing on an operational session: DTLS-PSK with its KDC-issued identity, or DTLS
  // with its LDevID.
  Checked<registry::Thing> Operational(const Request& r) {
    if (!CipherAllowed(r.peer))
      return tl::unexpected(Refusal{coap::kForbidden, "cipher-suite",
                                    "cipher suite " + r.peer.cipher + " is not allowed here"});
    std::optional<registry::Thing> t;
    if (r.peer.kind == coap::PeerIdentity::Kind::kPsk) {
      auto f = reg->FindByCredential(registry::kCredentialPsk, r.peer.psk_identity);
      if (!f) return tl::unexpected(FromError(f.error(), "registry"));
      t = *f;
    } else if (r.peer.kind == coap::PeerIdentity::Kind::kCertificate) {
      auto c = identity::Certificate::FromDer(r.peer.certificate_der);
      if (!c || !IssuedByDomain(*c))
        return tl::unexpected(Refusal{coap::kForbidden, "not-ldevid",
                                      "operational requests need the LDevID this domain issued"});
      auto f = reg->FindByCredential(registry::kCredentialLdevid, c->serial_hex());
      if (!f) return tl::unexpected(FromError(f.error(), "registry"));
      t = *f;
      if (t)  // issue 9 item 2: the domain CA's signature and the registry's own copy decide
        if (auto ok = ldevids.Check(*c, dk->domain_ca, *t, clock); !ok)
          return tl::unexpected(Refusal{coap::kForbidden, "not-ldevid", ok.error().message()});
    } else {
      return tl::unexpected(
          Refusal{coap::kUnauthorized, "no-dtls", "this resource needs a DTLS session"});
    }
    if (!t)
      return tl::unexpected(
          Refusal{coap::kForbidden, "unknown-credential", "credential not known to this KDC"});
    if (!registry::IsActive(t->state))
      return tl::unexpected(Refusal{coap::kForbidden, "retired",
                                    "thing " + t->serial + " is " + registry::StateName(t->state)});
    if (auto g = guard->Admit(t->serial, r.peer_address))
      return tl::unexpected(Refusal{g->code, g->reason, g->message});
    return *t;
  }

  // A thing proving its IDevID on a provisional session (SecProf_3/4 join).
  Checked<registry::Thing> Joining(const Request& r) {
    if (r.peer.kind != coap::PeerIdentity::Kind::kCertificate)
      return tl::unexpected(Refusal{coap::kUnauthorized, "no-idevid",
                                    "joining needs DTLS with the thing's IDevID certificate"});
    auto c = identity::Certificate::FromDer(r.peer.certificate_der);
    if (!c) return tl::unexpected(FromError(c.error(), "bad-certificate"));
    if (IssuedByDomain(*c))
      return tl::unexpected(Refusal{coap::kForbidden, "already-enrolled",
                                    "this certificate is an LDevID of this domain, not an IDevID"});
    const std::string& serial = c->subject().serial_number;
    if (serial.empty())
      return tl::unexpected(
          Refusal{coap::kForbidden, "no-serial", "IDevID has no subject serialNumber"});
    auto t = reg->Get(serial);
    if (!t || t->voucher.empty())
      return tl::unexpected(Refusal{
          coap::kForbidden, "no-voucher",
          "no voucher imported for serial " + serial + " (unauthorized or substituted device)"});
    if (c->subject().organization != t->vendor)
      return tl::unexpected(Refusal{coap::kForbidden, "vendor-mismatch",
                                    "IDevID vendor '" + c->subject().organization +
                                        "' is not the voucher's '" + t->vendor + "'"});
    if (t->voucher_expiry && *t->voucher_expiry < UnixNow(clock))
      return tl::unexpected(
          Refusal{coap::kForbidden, "voucher-expired", "the voucher for " + serial + " expired"});
    if (t->state != State::kAllowed && !registry::IsActive(t->state))
      return tl::unexpected(Refusal{coap::kForbidden, "retired",
                                    "thing " + serial + " is " + registry::StateName(t->state)});
    if (auto kp = CheckThingKeyProtection(opt, *c); !kp)  // issue 9 item 5
      return tl::unexpected(Refusal{coap::kForbidden, "token-keys-required", kp.error().message()});
    auto issuer = reg->VoucherIssuer(serial);  // issue 9 item 3: the voucher's own vendor CA
    if (!issuer) return tl::unexpected(FromError(issuer.error(), "registry"));
    if (auto ok = CheckIdevidIssuer(*c, *t, *issuer, dk->vendor_cas, opt.keys_dir, clock); !ok)
      return tl::unexpected(Refusal{coap::kForbidden, "wrong-vendor-ca", ok.error().message()});
    return *t;
  }

  // ---- SecProf_2: setup code ------------------------------------------------------------------

  // setup_join.h: the checks and the join itself; here only the CoAP side.
  SetupJoinEnv SetupEnv() { return SetupJoinEnv{*reg, kek(), rng, clock, opt.join_repeat_grace}; }
  Response RefuseJoin(const JoinRefusal& j, std::string_view serial) {
    return Refuse(j.error ? FromError(*j.error, j.reason) : Refusal{j.code, j.reason, j.message},
                  serial);
  }

  Response OnJoinNonce(const Request& r) {
    auto req = domain::DecodeJoinNonceRequest(r.payload);
    if (!req) return Refuse(FromError(req.error(), "malformed"), "");
    if (!JoinWindowOpen())
      return Refuse({coap::kForbidden, "window-closed", "the join window is closed"}, req->serial);
    if (auto no = CheckNonceRequest(SetupEnv(), req->serial)) return RefuseJoin(*no, req->serial);
    auto nonce = rng.Draw(domain::kNonceSize);
    if (!nonce) return Refuse(FromError(nonce.error(), "internal"), req->serial);
    int64_t expires = UnixNow(clock) + opt.nonce_lifetime.count();
    auto put =
        reg->PutNonce(*nonce, req->serial, expires,
                      {opt.unauthenticated.max_nonces_per_serial, opt.unauthenticated.max_nonces});
    if (!put) return Refuse(FromError(put.error(), "registry"), req->serial);
    return Cbor(coap::kCreated, domain::Encode(domain::JoinNonce{*nonce, expires}));
  }

  Response OnJoinPsk(const Request& r) {
    auto req = domain::DecodePskJoinRequest(r.payload);
    if (!req) return Refuse(FromError(req.error(), "malformed"), "");
    if (!JoinWindowOpen())
      return Refuse({coap::kForbidden, "window-closed", "the join window is closed"}, req->serial);
    auto joined = SetupCodeJoin(SetupEnv(), *req);
    if (!joined) return RefuseJoin(joined.error(), req->serial);
    CountJoin(joined->first_time);
    domain::PskJoinResponse resp{req->serial, std::move(joined->sealed_psk), server->dtls_port()};
    return Cbor(coap::kChanged, domain::Encode(resp));
  }

  // ---- SecProf_3/4: voucher + IDevID ------------------------------------------------------------

  Response OnVoucher(const Request& r) {
    auto t = Joining(r);
    if (!t) return Refuse(t.error(), r.peer.serial_number);
    domain::VoucherResponse v{t->voucher, dk->domain_ca.ToDer(), dk->kdc_certificate.ToDer()};
    return Cbor(coap::kContent, domain::Encode(v));
  }

  Response OnEnroll(const Request& r) {
    auto t = Joining(r);
    if (!t) return Refuse(t.error(), r.peer.serial_number);
    auto req = domain::DecodeEnrollRequest(r.payload);
    if (!req) return Refuse(FromError(req.error(), "malformed"), t->serial);
    auto csr = identity::CertificateRequest::FromDer(req->csr);
    if (!csr) return Refuse(FromError(csr.error(), "malformed"), t->serial);
    if (auto pop = csr->VerifySignature(); !pop)
      return Refuse({coap::kBadRequest, "bad-csr", "CSR signature does not verify"}, t->serial);
    auto pub = csr->public_key();
    if (!pub) return Refuse(FromError(pub.error(), "bad-csr"), t->serial);
    auto spki = pub->ToDer();
    if (!spki) return Refuse(FromError(spki.error(), "bad-csr"), t->serial);
    std::string fp = HexSha256(*spki);

    registry::CommissionInput in;
    in.credential_kind = std::string(registry::kCredentialLdevid);
    in.credential_fingerprint = fp;
    crypto::SecureBuffer key;
    crypto::Bytes ldevid_der;
    if (registry::IsActive(t->state) && t->credential_fingerprint == fp) {
      auto k = domain::UnwrapKey(kek(), PairwiseContext(t->serial), t->wrapped_key);
      if (!k) return Refuse(FromError(k.error(), "internal"), t->serial);
      key = std::move(*k);
      auto cert = identity::Certificate::FromPem(t->ldevid_pem);
      if (!cert) return Refuse(FromError(cert.error(), "internal"), t->serial);
      ldevid_der = cert->ToDer();
      in.credential_id = t->credential_id;
      in.ldevid_pem = t->ldevid_pem;
      in.wrapped_key = t->wrapped_key;
    } else {
      identity::LdevidPolicy pol;
      pol.validity = opt.ldevid_validity;
      pol.expected_serial_number = t->serial;
      pol.organization = opt.owner;
      pol.extended_key_usage = ThingRole();
      auto cert = identity::IssueLdevid(*ca_signer, dk->domain_ca, *csr, pol, clock, rng);
      if (!cert) return Refuse(FromError(cert.error(), "bad-csr"), t->serial);
      auto k = rng.DrawSecret(domain::kMasterKeySize);
      if (!k) return Refuse(FromError(k.error(), "internal"), t->serial);
      key = std::move(*k);
      auto w = domain::WrapKey(kek(), PairwiseContext(t->serial), View(key), rng);
      if (!w) return Refuse(FromError(w.error(), "internal"), t->serial);
      in.credential_id = cert->serial_hex();
      in.ldevid_pem = cert->ToPem();
      in.wrapped_key = std::move(*w);
      ldevid_der = cert->ToDer();
    }
    auto out = reg->Commission(t->serial, in, "kdc");
    if (!out) return Refuse(FromError(out.error(), "commission"), t->serial);
    CountJoin(out->first_time);
    domain::EnrollResponse resp{ldevid_der, dk->domain_ca.ToDer(), std::move(key)};
    return Cbor(coap::kChanged, domain::Encode(resp));
  }

  // ---- operational ------------------------------------------------------------------------------

  void CountRequest() {
    std::lock_guard<std::mutex> l(stats_mu);
    ++stats.requests;
  }

  Response OnState(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto req = domain::DecodeStateReport(r.payload);
    if (!req) return Refuse(FromError(req.error(), "malformed"), t->serial);
    State to;
    if (req->state == "operational")
      to = State::kOperational;
    else if (req->state == "maintenance")
      to = State::kMaintenance;
    else
      return Refuse(
          {coap::kBadRequest, "malformed", "state must be 'operational' or 'maintenance'"},
          t->serial);
    CountRequest();
    if (t->state == to) return Text(coap::kChanged, "unchanged");
    auto tr = reg->Transition(t->serial, to, t->serial, "reported by the thing");
    if (!tr) return Refuse(FromError(tr.error(), "transition"), t->serial);
    return Text(coap::kChanged, registry::StateName(to));
  }

  Response OnDecommission(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto tr = reg->Transition(t->serial, State::kDecommissioned, t->serial,
                              "requested by the thing", RekeyWith(kek(), rng));
    if (!tr) return Refuse(FromError(tr.error(), "transition"), t->serial);
    CountRequest();
    return Text(coap::kChanged, "decommissioned");
  }

  Response OnPairKey(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto req = domain::DecodePairKeyRequest(r.payload);
    if (!req) return Refuse(FromError(req.error(), "malformed"), t->serial);
    if (req->peer == t->serial)
      return Refuse({coap::kBadRequest, "malformed", "a thing needs no key with itself"},
                    t->serial);
    auto peer = reg->Get(req->peer);
    if (!peer || !registry::IsActive(peer->state) || peer->wrapped_key.empty())
      return Refuse({coap::kForbidden, "peer-not-active",
                     "peer " + req->peer + " is not an active member of this domain"},
                    t->serial);
    auto peer_master = domain::UnwrapKey(kek(), PairwiseContext(peer->serial), peer->wrapped_key);
    if (!peer_master) return Refuse(FromError(peer_master.error(), "internal"), t->serial);
    auto kid = rng.Draw(16);
    auto kab = rng.DrawSecret(domain::kMasterKeySize);
    if (!kid || !kab) return Refuse({coap::kInternalServerError, "internal", "rng"}, t->serial);
    int64_t expires = UnixNow(clock) + opt.pair_key_lifetime.count();
    domain::TicketContents tc{t->serial, peer->serial, *kid, kab->Clone(), expires};
    auto ticket = domain::SealTicket(View(*peer_master), tc, rng);
    if (!ticket) return Refuse(FromError(ticket.error(), "internal"), t->serial);
    (void)ledger->Audit("pair-key", t->serial, "peer " + peer->serial);
    CountRequest();
    domain::PairKeyResponse resp{*kid, std::move(*kab), std::move(*ticket), expires};
    return Cbor(coap::kChanged, domain::Encode(resp));
  }

  Response OnGroupKey(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto req = domain::DecodeGroupKeyRequest(r.payload);
    if (!req) return Refuse(FromError(req.error(), "malformed"), t->serial);
    auto g = reg->GetGroup(req->group);
    if (!g) return Refuse({coap::kNotFound, "no-group", "no group " + req->group}, t->serial);
    if (std::find(g->members.begin(), g->members.end(), t->serial) == g->members.end())
      return Refuse(
          {coap::kForbidden, "not-member", t->serial + " is not a member of " + req->group},
          t->serial);
    auto key = domain::UnwrapKey(kek(), GroupContext(g->name, g->epoch), g->wrapped_key);
    if (!key) return Refuse(FromError(key.error(), "internal"), t->serial);
    domain::GroupKeyResponse resp{g->name, g->epoch, std::move(*key), {}};
    for (const auto& m : g->members) {
      domain::GroupMember gm{m, {}};
      if (policy.group_origin_auth) {
        auto mt = reg->Get(m);
        if (mt && !mt->ldevid_pem.empty())
          if (auto c = identity::Certificate::FromPem(mt->ldevid_pem)) gm.certificate = c->ToDer();
      }
      resp.members.push_back(std::move(gm));
    }
    CountRequest();
    return Cbor(coap::kChanged, domain::Encode(resp));
  }

  Response OnReport(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto reading = domain::DecodeReading(r.payload);
    if (!reading) return Refuse(FromError(reading.error(), "malformed"), t->serial);
    if (reading->serial != t->serial)
      return Refuse({coap::kForbidden, "spoofed-reading",
                     "reading names " + reading->serial + ", session belongs to " + t->serial},
                    t->serial);
    if (auto g = guard->Reading(t->serial, reading->counter, r.peer_address))
      return Refuse({g->code, g->reason, g->message}, t->serial);
    CountRequest();
    return Text(coap::kChanged, "ok");
  }

  Response OnRevoked(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto list = RevocationListOf(*reg, clock);
    if (!list) return Refuse(FromError(list.error(), "registry"), t->serial);
    CountRequest();
    return Cbor(coap::kContent, domain::Encode(*list));
  }

  // ---- maintenance: firmware campaigns (issue 5) ----------------------------------------------

  // Images served, by firmware id (read once from the firmware store; block-wise, RFC 7959).
  std::map<int64_t, crypto::Bytes> image_cache;

  // The firmware `query` names (id=N), if a running campaign offers it to `serial`.
  Checked<registry::Firmware> Offered(const registry::Thing& t, const std::string& query) {
    int64_t id = 0;
    if (query.rfind("id=", 0) == 0) id = std::atoll(query.c_str() + 3);
    auto offer = reg->OfferFor(t.serial);
    if (!offer) return tl::unexpected(FromError(offer.error(), "registry"));
    if (!*offer || (*offer)->second.id != id)
      return tl::unexpected(Refusal{coap::kForbidden, "not-offered",
                                    "firmware " + query + " is not offered to " + t.serial});
    return (*offer)->second;
  }

  Response OnFirmwareOffer(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto req = domain::DecodeFirmwareOfferRequest(r.payload);
    if (!req) return Refuse(FromError(req.error(), "malformed"), t->serial);
    auto offer = reg->OfferFor(t->serial);
    if (!offer) return Refuse(FromError(offer.error(), "registry"), t->serial);
    // Recorded only once the request is accepted (issue 9, item 9).
    (void)reg->SetFirmwareVersion(t->serial, req->running_sequence);
    CountRequest();
    if (!*offer) return Response{.code = coap::kChanged, .content_format = {}, .payload = {}};
    const auto& [c, fw] = **offer;
    domain::FirmwareOffer o{c.id, fw.id, fw.sequence, fw.envelope.size(), fw.image_size};
    return Cbor(coap::kContent, domain::Encode(o));
  }

  Response OnFirmwareManifest(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto fw = Offered(*t, r.query);
    if (!fw) return Refuse(fw.error(), t->serial);
    CountRequest();
    return Response{.code = coap::kContent,
                    .content_format = coap::content_format::kOctetStream,
                    .payload = fw->envelope};
  }

  Response OnFirmwareImage(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto fw = Offered(*t, r.query);
    if (!fw) return Refuse(fw.error(), t->serial);
    auto it = image_cache.find(fw->id);
    if (it == image_cache.end()) {
      auto data = ReadFile(fw->image_path);
      if (!data) return Refuse(FromError(data.error(), "firmware-store"), t->serial);
      it = image_cache.emplace(fw->id, crypto::Bytes(data->begin(), data->end())).first;
    }
    CountRequest();
    (void)ledger->Audit("fw-fetched", t->serial, "firmware " + std::to_string(fw->id));
    return Response{.code = coap::kContent,
                    .content_format = coap::content_format::kOctetStream,
                    .payload = it->second};
  }

  Response OnFirmwareStatus(const Request& r) {
    auto t = Operational(r);
    if (!t) return Refuse(t.error(), "");
    auto req = domain::DecodeFirmwareStatus(r.payload);
    if (!req) return Refuse(FromError(req.error(), "malformed"), t->serial);
    // The running version is recorded in the transaction that accepts the report, never on a
    // refusal (issue 9, item 9: incident campaigns target things by it).
    auto c = reg->ReportInstall(req->campaign, t->serial, req->ok, req->detail, t->serial,
                                req->running_sequence);
    if (!c) return Refuse(FromError(c.error(), "campaign"), t->serial);
    CountRequest();
    return Text(coap::kChanged, registry::CampaignStateName(c->state));
  }

  // ---- DTLS callbacks ---------------------------------------------------------------------------

  std::optional<crypto::SecureBuffer> PskFor(std::string_view identity) {
    auto t = reg->FindByCredential(registry::kCredentialPsk, identity);
    if (!t || !*t || !registry::IsActive((*t)->state)) return std::nullopt;
    auto k = domain::UnwrapKey(kek(), PairwiseContext((*t)->serial), (*t)->wrapped_key);
    if (!k) return std::nullopt;
    return std::move(*k);
  }

  // Refuses, in the handshake, an LDevID of this domain that is revoked or unknown (RFC 5280
  // §6.3 by registry lookup instead of a CRL). IDevIDs are authorized per request (Joining).
  bool VerifyPeer(const coap::PeerCertificate& pc) {
    if (pc.depth != 0) return true;
    auto c = identity::Certificate::FromDer(pc.der);
    if (!c) return false;
    if (!IssuedByDomain(*c)) return true;
    auto revoked = CheckDomainSigned(*c, dk->domain_ca, clock)  // item 2: the domain CA alone
                       ? reg->IsCredentialRevoked(registry::kCredentialLdevid, c->serial_hex())
                       : Result<bool>(true);
    if (!revoked || *revoked) {
      std::lock_guard<std::mutex> l(stats_mu);
      ++stats.refused["revoked-credential"];
      return false;
    }
    return true;
  }

  Status Start() {
    coap::ServerConfig cfg;
    cfg.address = opt.address;
    // Only SecProf_2 has a plain-CoAP step (j/nonce, j/psk): no such port otherwise (issue 9 T9).
    cfg.udp_port = policy.bootstrap == domain::Bootstrap::kSetupCode
                       ? std::optional<uint16_t>(opt.udp_port)
                       : std::nullopt;
    cfg.dtls_port = opt.dtls_port;
    cfg.limits = opt.limits;
    if (policy.app == domain::AppSecurity::kDtlsPsk) {
      coap::PskServerConfig psk;
      psk.key_for_identity = [this](std::string_view id) { return PskFor(id); };
      cfg.psk = std::move(psk);
    } else {
      coap::PkiConfig pki;
      pki.certificate_pem = dk->kdc_certificate_pem;
      SetKdcPrivateKey(pki, *dk);  // a PEM, or a token key (issue 9 item 12)
      std::string anchors = dk->domain_ca.ToPem();
      for (const auto& v : dk->vendor_cas)  // a CA posing as the domain CA is no anchor (item 2)
        if (auto d = CheckVendorCaDistinct(dk->domain_ca, v); d)
          anchors += v.ToPem();
        else
          (void)reg->Append("kdc", "vendor-ca-ignored", "", d.error().message());
      pki.trust_anchors_pem = anchors;
      pki.require_peer_certificate = true;
      pki.verify_peer = [this](const coap::PeerCertificate& pc) { return VerifyPeer(pc); };
      cfg.pki = std::move(pki);
    }
    SECPROF_ASSIGN_OR_RETURN(server, coap::Server::Create(std::move(cfg)));
    auto bind = [this](const char* path, Method m, Response (Impl::*fn)(const Request&)) {
      server->AddResource(path, m, [this, fn](const Request& r) { return Dispatch(r, fn); });
    };
    if (policy.bootstrap == domain::Bootstrap::kSetupCode) {
      bind(domain::path::kJoinNonce, Method::kPost, &Impl::OnJoinNonce);
      bind(domain::path::kJoinPsk, Method::kPost, &Impl::OnJoinPsk);
    } else {
      bind(domain::path::kVoucher, Method::kGet, &Impl::OnVoucher);
      bind(domain::path::kEnroll, Method::kPost, &Impl::OnEnroll);
    }
    bind(domain::path::kState, Method::kPost, &Impl::OnState);
    bind(domain::path::kDecommission, Method::kPost, &Impl::OnDecommission);
    bind(domain::path::kPairKey, Method::kPost, &Impl::OnPairKey);
    bind(domain::path::kGroupKey, Method::kPost, &Impl::OnGroupKey);
    bind(domain::path::kReport, Method::kPost, &Impl::OnReport);
    bind(domain::path::kRevoked, Method::kGet, &Impl::OnRevoked);
    bind(domain::path::kFirmwareOffer, Method::kPost, &Impl::OnFirmwareOffer);
    bind(domain::path::kFirmwareManifest, Method::kGet, &Impl::OnFirmwareManifest);
    bind(domain::path::kFirmwareImage, Method::kGet, &Impl::OnFirmwareImage);
    bind(domain::path::kFirmwareStatus, Method::kPost, &Impl::OnFirmwareStatus);
    started = clock.Monotonic();
    return {};
  }
};

Kdc::Kdc(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Kdc::~Kdc() = default;

Result<std::unique_ptr<Kdc>> Kdc::Create(KdcOptions options, const Clock& clock,
                                         crypto::Random& rng) {
  if (options.db_path.empty()) return Fail(ErrorCode::kInvalidInput, "--db is required");
  const domain::Policy& pol = domain::PolicyFor(options.profile);
  if (!pol.kdc)
    return Fail(ErrorCode::kInvalidInput,
                std::string(domain::ProfileName(options.profile)) +
                    " has no KDC: things pair with each other (resurrecting duckling)");
  if (options.keys_dir.empty()) options.keys_dir = options.db_path + ".keys";
  // Arguments are checked before the registry and the key directory are created, so that a
  // refused start leaves nothing behind (a registry bound to the wrong owner, say).
  std::vector<identity::Certificate> vendor_cas;
  for (const auto& f : options.vendor_ca_files) {
    SECPROF_ASSIGN_OR_RETURN(std::string pem, ReadFile(f));
    auto cert = identity::Certificate::FromPem(pem);
    if (!cert) return Fail(cert.error().WithContext(f));
    vendor_cas.push_back(*cert);
  }
  if (pol.bootstrap == domain::Bootstrap::kVoucher && vendor_cas.empty()) {
    bool saved = false;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(options.keys_dir + "/vendors", ec), end;
         !ec && it != end; it.increment(ec))
      saved = saved || it->path().extension() == ".pem";
    if (!saved)
      return Fail(ErrorCode::kInvalidInput,
                  "no manufacturer trust anchor: pass --vendor-ca or import a voucher first");
  }
  SECPROF_ASSIGN_OR_RETURN(std::string file_ca_note, CheckCaKeyPlace(options, rng));
  auto impl = std::make_unique<Impl>(std::move(options), clock, rng);
  SECPROF_ASSIGN_OR_RETURN(RegistryLock lock, RegistryLock::Acquire(impl->opt.db_path));
  impl->lock.emplace(std::move(lock));
  SECPROF_ASSIGN_OR_RETURN(impl->reg, registry::Registry::Open(impl->opt.db_path, clock));
  impl->ledger = MakeLedger(impl->opt, clock, *impl->reg);
  SECPROF_TRY(impl->reg->InitDomain(domain::ProfileName(impl->opt.profile), impl->opt.owner));
  SECPROF_ASSIGN_OR_RETURN(
      impl->dk, OpenDomainKeys(impl->opt.keys_dir, impl->opt.owner, clock, rng, impl->opt.kek));
  SECPROF_TRY(AuditKeyOverrides(*impl->reg, *impl->dk, file_ca_note));  // issue 9 item 12
  for (auto& c : vendor_cas) {
    SECPROF_TRY(CheckVendorCaDistinct(impl->dk->domain_ca, c));
    impl->dk->vendor_cas.push_back(std::move(c));
  }
  if (pol.bootstrap == domain::Bootstrap::kVoucher && impl->dk->vendor_cas.empty())
    return Fail(ErrorCode::kInvalidInput,
                "no manufacturer trust anchor: pass --vendor-ca or import a voucher first");
  SECPROF_ASSIGN_OR_RETURN(impl->ca_signer, DomainCaSigner(impl->opt.keys_dir, impl->opt.kek));
  impl->guard =
      std::make_unique<CloneGuard>(*impl->reg, clock, impl->opt.on_clone, impl->opt.clone_window,
                                   impl->opt.clone_incident_quiet);
  SECPROF_TRY(ConvertLegacySetupCodes(*impl->reg, impl->kek(), rng));
  SECPROF_TRY(impl->Start());
  return std::unique_ptr<Kdc>(new Kdc(std::move(impl)));
}

uint16_t Kdc::udp_port() const { return impl_->server->udp_port(); }
uint16_t Kdc::dtls_port() const { return impl_->server->dtls_port(); }
const identity::Certificate& Kdc::domain_ca() const { return impl_->dk->domain_ca; }
const KdcOptions& Kdc::options() const { return impl_->opt; }
KdcStats Kdc::stats() const {
  KdcStats s;
  {
    std::lock_guard<std::mutex> l(impl_->stats_mu);
    s = impl_->stats;
  }
  s.clone_alerts = impl_->guard->alerts();
  AddLedgerStats(*impl_->ledger, s);
  return s;
}
Status Kdc::RunOnce(std::chrono::milliseconds timeout) {
  Status st = impl_->server->RunOnce(timeout);
  impl_->ledger->Tick();
  return st;
}
Status Kdc::Serve(std::stop_token stop) {
  Status st = Ok();
  while (st && !stop.stop_requested()) st = RunOnce(std::chrono::milliseconds(50));
  impl_->ledger->Tick(/*force=*/true);
  return st;
}

}  // namespace secprof::kdc
