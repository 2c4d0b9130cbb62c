// The KDC's wiring (docs/DOMAIN.md "KDC"; draft §7.1: the SecProf_2-4 "central device" that
// serves "as a key distribution center"): Kdc::Create checks the options, opens the registry and
// the key directory, binds the CoAP/DTLS server with its DTLS callbacks, and lets each protocol
// flow register its resources (context.h lists the files).
#include "secprof/kdc/kdc.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "context.h"
#include "internal.h"
#include "join_setup_code.h"
#include "registry_lock.h"
#include "secprof/core/fs.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/registry/location.h"

namespace secprof::kdc {

struct Kdc::Impl {
  // Destroyed in reverse: the server (whose handlers use the context) first, then the context
  // (the ledger flushes into the registry, then the registry closes), then the lock.
  std::optional<RegistryLock> lock;
  KdcContext ctx;
  std::unique_ptr<coap::Server> server;

  Impl(KdcOptions o, const Clock& c, crypto::Random& r) : ctx(std::move(o), c, r) {}

  // ---- DTLS callbacks ---------------------------------------------------------------------------

  // docs/DOMAIN.md "Resources" (SecProf_2 operational DTLS-PSK); draft §7.1 (SecProf_2): the PSK
  // of an active thing's KDC-issued identity; none for a retired one (its handshake fails).
  std::optional<crypto::SecureBuffer> PskFor(std::string_view identity) {
    auto t = ctx.reg->FindByCredential(registry::kCredentialPsk, identity);
    if (!t || !*t || !registry::IsActive((*t)->state)) return std::nullopt;
    auto k = domain::UnwrapKey(ctx.kek(), PairwiseContext((*t)->serial), (*t)->wrapped_key);
    if (!k) return std::nullopt;
    return std::move(*k);
  }

  // docs/DOMAIN.md "Refusals" (revoked-credential) and "Roles and anchors"; draft §3.1 (end of
  // life: a decommissioned thing's credential is no longer accepted): refuses, in the
  // handshake, an LDevID of this domain that is revoked or unknown (RFC 5280 §6.3 by registry
  // lookup instead of a CRL), or not signed by the domain CA alone. IDevIDs are authorized per
  // request (join_voucher.cpp).
  bool VerifyPeer(const coap::PeerCertificate& pc) {
    if (pc.depth != 0) return true;
    auto c = identity::Certificate::FromDer(pc.der);
    if (!c) return false;
    if (!ctx.IssuedByDomain(*c)) return true;
    auto revoked = CheckDomainSigned(*c, ctx.dk->domain_ca, ctx.clock)  // item 2: the CA alone
                       ? ctx.reg->IsCredentialRevoked(registry::kCredentialLdevid, c->serial_hex())
                       : Result<bool>(true);
    if (!revoked || *revoked) {
      ctx.CountRefused(kRevokedCredential);  // counted, not audited
      return false;
    }
    return true;
  }

  Status Start() {
    const KdcOptions& opt = ctx.opt;
    coap::ServerConfig cfg;
    cfg.address = opt.address;
    // Only SecProf_2 has a plain-CoAP step (j/nonce, j/psk): no such port otherwise (issue 9 T9).
    const bool setup_code = ctx.policy.bootstrap == domain::Bootstrap::kSetupCode;
    cfg.udp_port = setup_code ? std::optional<uint16_t>(opt.udp_port) : std::nullopt;
    cfg.dtls_port = opt.dtls_port;
    cfg.limits = opt.limits;
    if (ctx.policy.app == domain::AppSecurity::kDtlsPsk) {
      coap::PskServerConfig psk;
      psk.key_for_identity = [this](std::string_view id) { return PskFor(id); };
      cfg.psk = std::move(psk);
    } else {
      coap::PkiConfig pki;
      pki.certificate_pem = ctx.dk->kdc_certificate_pem;
      SetKdcPrivateKey(pki, *ctx.dk);  // a PEM, or a token key (issue 9 item 12)
      std::string anchors = ctx.dk->domain_ca.ToPem();
      for (const auto& v : ctx.dk->vendor_cas)  // a CA posing as the domain CA is no anchor
        if (auto d = CheckVendorCaDistinct(ctx.dk->domain_ca, v); d)
          anchors += v.ToPem();
        else
          (void)ctx.reg->Append("kdc", "vendor-ca-ignored", "", d.error().message());
      pki.trust_anchors_pem = anchors;
      pki.require_peer_certificate = true;
      pki.verify_peer = [this](const coap::PeerCertificate& pc) { return VerifyPeer(pc); };
      cfg.pki = std::move(pki);
    }
    SECPROF_ASSIGN_OR_RETURN(server, coap::Server::Create(std::move(cfg)));
    ctx.dtls_port = server->dtls_port();
    if (setup_code)
      join_setup_code::Register(*server, ctx);
    else
      join_voucher::Register(*server, ctx);
    operational::Register(*server, ctx);
    keys::Register(*server, ctx);
    firmware::Register(*server, ctx);
    ctx.started = ctx.clock.Monotonic();
    return {};
  }
};

Kdc::Kdc(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Kdc::~Kdc() = default;

Result<std::unique_ptr<Kdc>> Kdc::Create(KdcOptions options, const Clock& clock,
                                         crypto::Random& rng) {
  if (options.db_path.empty())
    return Fail(ErrorCode::kInvalidInput, kNoDatabase, "--db is required");
  const domain::Policy& pol = domain::PolicyFor(options.profile);
  if (!pol.kdc)
    return Fail(ErrorCode::kInvalidInput, kNoKdc,
                std::string(domain::ProfileName(options.profile)) +
                    " has no KDC: things pair with each other (resurrecting duckling)");
  // The owner is the domain CA's O and is named in every SecProf_2 join answer
  // (domain::PskJoinResponse::owner): 1..kMaxOwner printable ASCII (RFC 5280 ub-organization-name).
  if (options.owner.empty() || options.owner.size() > domain::kMaxOwner ||
      !std::all_of(options.owner.begin(), options.owner.end(),
                   [](char c) { return c >= 0x20 && c < 0x7f; }))
    return Fail(ErrorCode::kInvalidInput, kBadOwner,
                "--owner must be 1.." + std::to_string(domain::kMaxOwner) +
                    " printable ASCII characters (it is the domain CA's organisation name)");
  const bool postgres = registry::IsPostgresUri(options.db_path);  // else an SQLite file
  if (options.keys_dir.empty() && postgres)
    return Fail(ErrorCode::kInvalidInput, kNotKeyDirectory,
                "--keys is required with a PostgreSQL registry");
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
      return Fail(ErrorCode::kInvalidInput, kNoTrustAnchor,
                  "no manufacturer trust anchor: pass --vendor-ca or import a voucher first");
  }
  SECPROF_ASSIGN_OR_RETURN(std::string file_ca_note, CheckCaKeyPlace(options, rng));
  auto impl = std::make_unique<Impl>(std::move(options), clock, rng);
  // A PostgreSQL registry has no file to lock beside: one KDC per key directory instead (several
  // KDCs on one PostgreSQL registry are issue 16 item 2).
  if (postgres) {
    std::error_code ec;
    std::filesystem::create_directories(impl->ctx.opt.keys_dir, ec);
    std::filesystem::permissions(impl->ctx.opt.keys_dir, std::filesystem::perms::owner_all, ec);
  }
  SECPROF_ASSIGN_OR_RETURN(RegistryLock lock,
                           RegistryLock::Acquire(postgres ? impl->ctx.opt.keys_dir + "/registry"
                                                          : impl->ctx.opt.db_path));
  impl->lock.emplace(std::move(lock));
  SECPROF_ASSIGN_OR_RETURN(impl->ctx.reg, registry::Registry::Open(impl->ctx.opt.db_path, clock));
  impl->ctx.ledger = MakeLedger(impl->ctx.opt, clock, *impl->ctx.reg);
  SECPROF_TRY(
      impl->ctx.reg->InitDomain(domain::ProfileName(impl->ctx.opt.profile), impl->ctx.opt.owner));
  SECPROF_ASSIGN_OR_RETURN(impl->ctx.dk, OpenDomainKeys(impl->ctx.opt.keys_dir, impl->ctx.opt.owner,
                                                        clock, rng, impl->ctx.opt.kek));
  SECPROF_TRY(AuditKeyOverrides(*impl->ctx.reg, *impl->ctx.dk, file_ca_note));  // issue 9 item 12
  for (auto& c : vendor_cas) {
    SECPROF_TRY(CheckVendorCaDistinct(impl->ctx.dk->domain_ca, c));
    impl->ctx.dk->vendor_cas.push_back(std::move(c));
  }
  if (pol.bootstrap == domain::Bootstrap::kVoucher && impl->ctx.dk->vendor_cas.empty())
    return Fail(ErrorCode::kInvalidInput, kNoTrustAnchor,
                "no manufacturer trust anchor: pass --vendor-ca or import a voucher first");
  SECPROF_ASSIGN_OR_RETURN(impl->ctx.ca_signer,
                           DomainCaSigner(impl->ctx.opt.keys_dir, impl->ctx.opt.kek));
  impl->ctx.guard =
      std::make_unique<CloneGuard>(*impl->ctx.reg, clock, impl->ctx.opt.on_clone,
                                   impl->ctx.opt.clone_window, impl->ctx.opt.clone_incident_quiet);
  SECPROF_TRY(ConvertLegacySetupCodes(*impl->ctx.reg, impl->ctx.kek(), rng));
  SECPROF_TRY(impl->Start());
  return std::unique_ptr<Kdc>(new Kdc(std::move(impl)));
}

uint16_t Kdc::udp_port() const { return impl_->server->udp_port(); }
uint16_t Kdc::dtls_port() const { return impl_->server->dtls_port(); }
const identity::Certificate& Kdc::domain_ca() const { return impl_->ctx.dk->domain_ca; }
const KdcOptions& Kdc::options() const { return impl_->ctx.opt; }
KdcStats Kdc::stats() const {
  KdcStats s;
  {
    std::lock_guard<std::mutex> l(impl_->ctx.stats_mu);
    s = impl_->ctx.stats;
  }
  s.clone_alerts = impl_->ctx.guard->alerts();
  AddLedgerStats(*impl_->ctx.ledger, s);
  return s;
}
Status Kdc::RunOnce(std::chrono::milliseconds timeout) {
  Status st = impl_->server->RunOnce(timeout);
  impl_->ctx.ledger->Tick();
  return st;
}
Status Kdc::Serve(std::stop_token stop) {
  Status st = Ok();
  while (st && !stop.stop_requested()) st = RunOnce(std::chrono::milliseconds(50));
  impl_->ctx.ledger->Tick(/*force=*/true);
  return st;
}

}  // namespace secprof::kdc
