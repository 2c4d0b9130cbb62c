// Rogue KDCs against a thing being installed (rogue.h).
#include "rogue.h"

#include <atomic>
#include <thread>

#include "on_path.h"
#include "secprof/core/clock.h"
#include "secprof/crypto/keys.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/signer.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/lab/live_domain.h"
#include "secprof/voucher/voucher.h"

namespace secprof::lab::wire {

namespace {

namespace fs = std::filesystem;

// The attacker's guess at a setup code it never saw (80 bits judged, so a KDC accepts it).
constexpr const char* kGuessedCode = "ABCD-EFGH-IJKL-MNOP";

// The attacker's join server on its own thread; counts what the victim asked.
struct RogueServer {
  std::unique_ptr<coap::Server> server;
  std::atomic<int> vouchers{0}, enrolls{0}, joins{0};
  std::jthread io;
  ~RogueServer() {
    if (io.joinable()) {
      io.request_stop();
      io.join();
    }
  }
  void Serve() {
    io = std::jthread([this](std::stop_token st) { (void)server->Serve(st); });
  }
};

coap::Response Cbor(coap::Code c, Bytes b) {
  return coap::Response{c, coap::content_format::kCbor, std::move(b)};
}

// ---- SecProf_3/4: the voucher join -------------------------------------------------------------

struct RogueIdentity {
  std::string cert_pem;
  crypto::SecureBuffer key_pem;
  std::optional<coap::Pkcs11PrivateKey> key_pkcs11;
  std::optional<identity::Certificate> domain_ca;
  Bytes kdc_cert_der;
  std::string what;
};

Result<RogueIdentity> MadeDomain(const RunContext& ctx, const std::string& owner) {
  SECPROF_ASSIGN_OR_RETURN(kdc::DomainKeys dk,
                           kdc::OpenDomainKeys((ctx.dir / (owner + ".keys")).string(), owner,
                                               SystemClock(), crypto::SystemRandomSource()));
  RogueIdentity r;
  r.cert_pem = dk.kdc_certificate_pem;
  r.key_pem = dk.kdc_private_key_pem.Clone();
  r.domain_ca = dk.domain_ca;
  r.kdc_cert_der = dk.kdc_certificate.ToDer();
  r.what = "a KDC certificate (KDC role) under the self-signed domain CA \"" +
           dk.domain_ca.subject().text + "\" of " + owner;
  return r;
}

// The member's LDevID and key: in its token (PKCS#11, never extracted), else its file store.
Result<RogueIdentity> MemberIdentity(LiveDomain& d) {
  const thing::ThingState& st = d.thing(0).state();
  RogueIdentity r;
  r.cert_pem = st.ldevid_pem;
  r.domain_ca = d.kdc()->domain_ca();
  SECPROF_ASSIGN_OR_RETURN(auto cert, identity::Certificate::FromPem(st.ldevid_pem));
  r.kdc_cert_der = cert.ToDer();
  r.what = "member " + st.serial + "'s own LDevID (" + cert.subject().text + ")";
  if (st.key_store == "pkcs11") {
    coap::Pkcs11PrivateKey k;
    k.uri = "pkcs11:token=" + st.token_label + ";object=" + st.ldevid_key_label + ";type=private";
    k.pin = crypto::SecureBuffer(ByteView(reinterpret_cast<const uint8_t*>("1234"), 4));
    k.module_path = keystore::kDefaultPkcs11Module;
    r.key_pkcs11 = std::move(k);
    r.what += ", its key used in the member's token";
    return r;
  }
  const std::string dir = d.thing_dir(0).string();
  SECPROF_ASSIGN_OR_RETURN(auto master, keystore::ReadKekFile(keystore::SiblingKekPath(dir)));
  keystore::FileKeyStoreOptions so;
  so.dir = dir + "/keystore";
  SECPROF_ASSIGN_OR_RETURN(
      so.kek, keystore::DeriveKek(ByteView(master.data(), master.size()), "thing keystore"));
  SECPROF_ASSIGN_OR_RETURN(auto store, keystore::FileKeyStore::Open(std::move(so)));
  SECPROF_ASSIGN_OR_RETURN(auto der, store->ExportPrivate(st.ldevid_key_label));
  SECPROF_ASSIGN_OR_RETURN(auto sk, crypto::PrivateKey::FromDer(ByteView(der.data(), der.size())));
  SECPROF_ASSIGN_OR_RETURN(r.key_pem, sk.ToPem());
  r.what += ", its key read from the member's file store";
  return r;
}

// A voucher for `serial` pinning `domain_ca`, signed by a key the attacker made.
Result<Bytes> ForgedVoucher(const manufacture::Manifest& m, const std::string& serial,
                            const identity::Certificate& domain_ca) {
  SECPROF_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  SECPROF_ASSIGN_OR_RETURN(
      auto signer,
      crypto::SoftwareSigner::Create(std::move(key), crypto::SignatureAlgorithm::kEcdsaP256Sha256));
  voucher::Voucher v;
  v.serial = serial;
  v.vendor = m.vendor;
  v.model = m.model;
  v.owner = "Rogue";
  v.domain_hash = voucher::DomainHash(domain_ca);
  v.created = UnixSeconds(SystemClock());
  v.expires = v.created + 86400;
  return voucher::Issue(signer, v);
}

Result<Measurement> VoucherJoin(const RunContext& ctx, RogueKind kind) {
  DomainOptions o;
  o.profile = ctx.profile;
  o.dir = ctx.dir / "domain";
  o.things = kind == RogueKind::kMember ? 1 : 0;
  o.spares = 1;
  o.tokens = ctx.tokens;
  o.timeout = ctx.timeout;
  SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
  const int victim = o.things;
  const std::string serial = d->manifest().things.at(static_cast<size_t>(victim)).serial;
  RogueIdentity id;
  if (kind == RogueKind::kMember) {
    SECPROF_ASSIGN_OR_RETURN(id, MemberIdentity(*d));
  } else {
    SECPROF_ASSIGN_OR_RETURN(
        id, MadeDomain(ctx, kind == RogueKind::kSelfMade ? "Rogue" : "Other-Owner"));
  }
  Bytes v;
  std::string how;
  if (ctx.defence_off) {  // the negative control: the genuine vendor vouches for the rogue
    SECPROF_ASSIGN_OR_RETURN(v, d->vendor()->Issue(serial, *id.domain_ca, "Rogue",
                                                   std::chrono::hours(24), SystemClock()));
    how = "a voucher the genuine vendor signed for the rogue's domain (negative control)";
  } else if (kind == RogueKind::kSelfMade) {
    SECPROF_ASSIGN_OR_RETURN(v, ForgedVoucher(d->manifest(), serial, *id.domain_ca));
    how = "a voucher for " + serial + " signed with the attacker's own key";
  } else {
    SECPROF_ASSIGN_OR_RETURN(v, d->vendor()->Issue(serial, d->kdc()->domain_ca(), o.owner,
                                                   std::chrono::hours(24), SystemClock()));
    how = "the victim's genuine voucher (for its owner's domain), copied";
  }
  domain::VoucherResponse vr{v, id.domain_ca->ToDer(), id.kdc_cert_der};
  coap::ServerConfig cfg;
  cfg.udp_port = std::nullopt;
  cfg.dtls_port = 0;
  coap::PkiConfig pki;
  pki.certificate_pem = id.cert_pem;
  if (id.key_pkcs11)
    pki.private_key_pkcs11 = std::move(id.key_pkcs11);
  else
    pki.private_key_pem = id.key_pem.Clone();
  pki.trust_anchors_pem = id.domain_ca->ToPem();
  pki.require_peer_certificate = false;
  cfg.pki = std::move(pki);
  RogueServer rogue;
  SECPROF_ASSIGN_OR_RETURN(rogue.server, coap::Server::Create(std::move(cfg)));
  rogue.server->AddResource(domain::path::kVoucher, coap::Method::kGet,
                            [&rogue, body = domain::Encode(vr)](const coap::Request&) {
                              ++rogue.vouchers;
                              return Cbor(coap::kContent, body);
                            });
  rogue.server->AddResource(
      domain::path::kEnroll, coap::Method::kPost, [&rogue](const coap::Request&) {
        ++rogue.enrolls;
        return coap::Response{coap::kServiceUnavailable, coap::content_format::kTextPlain,
                              coap::Text("rogue: CSR received")};
      });
  rogue.Serve();
  thing::Agent& t = d->thing(victim);
  SECPROF_TRY(t.Install("127.0.0.1", 0, rogue.server->dtls_port()));
  auto joined = t.Join();
  Measurement m;
  m.evidence.push_back({"log", "the rogue presented " + id.what + " and " + how,
                        "voucher requests " + std::to_string(rogue.vouchers.load()) +
                            ", CSRs received " + std::to_string(rogue.enrolls.load())});
  if (rogue.enrolls.load() > 0) {
    m.outcome = Outcome::kSucceeded;
    m.reason = serial + " accepted the rogue's domain and sent it its CSR to enrol there";
    return m;
  }
  if (joined) return Fail(ErrorCode::kInternal, "lab: the join completed without the rogue");
  m.outcome = Outcome::kBlocked;
  m.control = "thing.voucher_check";
  m.reason = std::string(joined.error().reason().empty() ? "refused" : joined.error().reason()) +
             ": " + joined.error().message();
  m.evidence.push_back(
      {"refusal", serial + " refused the rogue (state " + thing::StateName(t.state().state) + ")",
       joined.error().message()});
  return m;
}

// ---- SecProf_2: the setup-code join ------------------------------------------------------------

Result<Measurement> SetupCodeJoin(const RunContext& ctx, RogueKind kind) {
  DomainOptions o;
  o.profile = ctx.profile;
  o.dir = ctx.dir / "domain";
  o.things = 0;
  o.spares = 1;
  o.timeout = ctx.timeout;
  SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
  const auto& made = d->manifest().things.at(0);
  const std::string code = ctx.defence_off ? made.setup_code : kGuessedCode;
  thing::Agent& t = d->thing(0);
  Measurement m;
  std::unique_ptr<scenario::RunningKdc> other;
  RogueServer rogue;
  if (kind == RogueKind::kOtherOwner) {
    kdc::KdcOptions ko;
    ko.profile = ctx.profile;
    ko.db_path = (ctx.dir / "other.db").string();
    ko.owner = "Other-Owner";
    SECPROF_ASSIGN_OR_RETURN(other, scenario::RunningKdc::Start(ko));
    SECPROF_ASSIGN_OR_RETURN(auto tools, kdc::OwnerTools::Open(ko.db_path));
    SECPROF_TRY(
        tools->AllowSetupCode(made.serial, d->manifest().vendor, d->manifest().model, code));
    SECPROF_TRY(t.Install("127.0.0.1", other->kdc->udp_port(), other->kdc->dtls_port()));
    m.evidence.push_back(
        {"log",
         "another owner's genuine KDC allowed " + made.serial + " with " +
             (ctx.defence_off ? "its real setup code (negative control)" : "a guessed setup code"),
         ""});
  } else {
    coap::ServerConfig cfg;
    SECPROF_ASSIGN_OR_RETURN(rogue.server, coap::Server::Create(std::move(cfg)));
    auto nonces = std::make_shared<std::map<std::string, Bytes>>();
    rogue.server->AddResource(
        domain::path::kJoinNonce, coap::Method::kPost, [nonces](const coap::Request& r) {
          auto q = domain::DecodeJoinNonceRequest(r.payload);
          auto n = crypto::SystemRandomSource().Draw(domain::kNonceSize);
          if (!q || !n) return Cbor(coap::kBadRequest, {});
          (*nonces)[q->serial] = *n;
          return Cbor(coap::kCreated,
                      domain::Encode(domain::JoinNonce{*n, UnixSeconds(SystemClock()) + 60}));
        });
    rogue.server->AddResource(
        domain::path::kJoinPsk, coap::Method::kPost, [&rogue, code](const coap::Request& r) {
          ++rogue.joins;
          auto q = domain::DecodePskJoinRequest(r.payload);
          if (!q) return Cbor(coap::kBadRequest, {});
          auto k = domain::SetupCodeKey(code, q->serial);
          auto psk = crypto::SystemRandomSource().Draw(32);
          if (!k || !psk) return Cbor(coap::kInternalServerError, {});
          auto sealed = domain::SealJoinPsk(ByteView(k->data(), k->size()), q->serial, "rogue",
                                            q->nonce, *psk, crypto::SystemRandomSource());
          if (!sealed) return Cbor(coap::kInternalServerError, {});
          return Cbor(coap::kChanged,
                      domain::Encode(domain::PskJoinResponse{q->serial, *sealed, 5684, "rogue"}));
        });
    rogue.Serve();
    SECPROF_TRY(t.Install("127.0.0.1", rogue.server->udp_port(), 0));
    m.evidence.push_back({"log",
                          "a rogue join server sealed a PSK under " +
                              std::string(ctx.defence_off ? "the real setup code (negative control)"
                                                          : "a guessed setup code"),
                          ""});
  }
  auto joined = t.Join();
  if (joined) {
    m.outcome = Outcome::kSucceeded;
    m.reason = made.serial + " joined the rogue's domain and holds a PSK from it";
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = "kdc.key_transport";
  std::string why = joined.error().message();
  if (other)
    for (const auto& [reason, n] : other->kdc->stats().refused)
      why += " [rogue KDC: " + reason + "]";
  m.reason = "the setup code is the secret the join proves and seals with; without it the rogue " +
             std::string("cannot complete the join: ") + why;
  m.evidence.push_back(
      {"refusal", made.serial + " did not join (state " + thing::StateName(t.state().state) + ")",
       joined.error().message()});
  return m;
}

}  // namespace

Result<Measurement> RunRogueKdc(const RunContext& ctx, RogueKind kind) {
  if (ctx.profile == domain::Profile::kSecProf1)
    return NotApplicable(
        "SecProf_1 has no KDC: a thing imprints on the first mother that pairs "
        "it (the draft accepts this, M.boot.pairing_window)");
  if (ctx.profile == domain::Profile::kSecProf2) {
    if (kind == RogueKind::kMember)
      return NotApplicable("SecProf_2 issues no LDevIDs: a member holds only its PSK");
    return SetupCodeJoin(ctx, kind);
  }
  return VoucherJoin(ctx, kind);
}

}  // namespace secprof::lab::wire
