#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "internal.h"
#include "key_protection.h"
#include "secprof/cbor/cbor.h"
#include "secprof/coap/errors.h"
#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/crypto/hash.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/file_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"
#include "secprof/update/install.h"
#include "secprof/voucher/voucher.h"
#include "state_io.h"

namespace secprof::thing {

namespace fs = std::filesystem;
using crypto::Bytes;
using crypto::ByteView;

namespace {

constexpr size_t kHistory = 32;
constexpr const char* kSecretPairwise = "pairwise";  // PSK (SecProf_2) / pairwise key (3/4)
constexpr const char* kSecretDomain = "domain";      // SecProf_1 domain key

ByteView View(const crypto::SecureBuffer& b) { return ByteView(b.data(), b.size()); }

int64_t UnixNow(const Clock& c) {
  return std::chrono::duration_cast<std::chrono::seconds>(c.Now().time_since_epoch()).count();
}

Status Expect(const coap::Response& r, coap::Code want, const char* what) {
  return coap::ExpectCode(r, want, what, "KDC");
}

}  // namespace

// ------------------------------------------------------------------------------------------------

struct Agent::Impl {
  AgentOptions opt;
  const Clock& clock;
  crypto::Random& rng;
  ThingState st;
  KeyProtection keys;  // the KEK: sealer of the secrets, key store KEK (key_protection.h)
  std::map<std::string, crypto::SecureBuffer> secrets;
  std::unique_ptr<keystore::KeyStore> store;
  std::unique_ptr<coap::Client> session;
  uint64_t session_messages = 0;
  uint64_t readings = 0;  // the last reading counter used; starts at st.reading_reserved
  std::chrono::steady_clock::time_point session_started{};
  std::optional<update::SlotStore> firmware;

  std::string FirmwareDir() const { return opt.state_dir + "/firmware"; }

  // The A/B store of this thing's firmware; the vendor trust anchor's key verifies updates.
  Status OpenFirmware(const update::TestBootHook& hook = {}) {
    SECPROF_ASSIGN_OR_RETURN(identity::Certificate anchor,
                             identity::Certificate::FromPem(st.trust_anchor_pem));
    SECPROF_ASSIGN_OR_RETURN(crypto::PublicKey pk, anchor.public_key());
    SECPROF_ASSIGN_OR_RETURN(cose::Key key, cose::KeyFromPublic(pk));
    update::InstallIdentity id{domain::FirmwareVendorId(st.vendor),
                               domain::FirmwareClassId(st.vendor, st.model), std::move(key),
                               std::nullopt};
    update::InstallOptions io;
    io.test_boot = hook;
    io.clock = &clock;
    firmware.reset();
    SECPROF_ASSIGN_OR_RETURN(update::SlotStore s,
                             update::SlotStore::Open(FirmwareDir(), std::move(id), io));
    firmware.emplace(std::move(s));
    return {};
  }

  Impl(AgentOptions o)
      : opt(std::move(o)),
        clock(opt.clock ? *opt.clock : SystemClock()),
        rng(opt.random ? *opt.random : crypto::SystemRandomSource()) {}

  std::string StatePath() const { return opt.state_dir + "/state.json"; }
  const domain::Policy& policy() const { return domain::PolicyFor(st.profile); }

  // ---- persistence
  // -------------------------------------------------------------------------------
  Result<std::string> SealSecrets() {
    cbor::MapEntries e;
    for (const auto& [k, v] : secrets)
      e.emplace_back(cbor::Value::Text(k), cbor::Value::ByteString(View(v)));
    Bytes plain = cbor::Encode(cbor::Value::Map(std::move(e)));
    auto w = keys.sealer->Seal("thing-secrets:" + st.serial, plain, rng);
    std::fill(plain.begin(), plain.end(), uint8_t{0});
    if (!w) return Fail(w.error());
    return cbor::ToHex(*w);
  }
  Status LoadSecrets() {
    secrets.clear();
    if (st.wrapped_secrets.empty()) return {};
    SECPROF_ASSIGN_OR_RETURN(Bytes w, cbor::FromHex(st.wrapped_secrets));
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer plain,
                             keys.sealer->Open("thing-secrets:" + st.serial, w));
    SECPROF_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(View(plain)));
    if (!v.is_map()) return Fail(ErrorCode::kInvalidInput, "sealed secrets are not a map");
    for (const auto& [k, val] : v.map()) {
      if (!k.is_text() || !val.is_bytes())
        return Fail(ErrorCode::kInvalidInput, "sealed secrets hold a non-key entry");
      secrets[k.text()] = crypto::SecureBuffer(val.bytes());
    }
    return {};
  }
  // Writes `next` (with the current secrets) atomically; only then is it adopted.
  Status Commit(ThingState next) {
    std::string saved = std::move(next.wrapped_secrets);
    auto sealed = SealSecrets();
    if (!sealed) return Fail(sealed.error());
    next.wrapped_secrets = *sealed;
    auto w = SaveState(StatePath(), next);
    if (!w) return Fail(w.error());
    st = std::move(next);
    (void)saved;
    return {};
  }
  Status Move(State to, const std::string& why, ThingState next) {
    next.history.push_back({UnixNow(clock), StateName(st.state), StateName(to), why});
    if (next.history.size() > kHistory) next.history.erase(next.history.begin());
    next.state = to;
    return Commit(std::move(next));
  }
  Status Move(State to, const std::string& why) { return Move(to, why, st); }

  Status Require(std::initializer_list<State> allowed, const char* action) const {
    for (State s : allowed)
      if (st.state == s) return {};
    std::string list;
    for (State s : allowed) list += std::string(list.empty() ? "" : ", ") + StateName(s);
    return Fail(ErrorCode::kConflict, std::string(action) + " needs state " + list + "; " +
                                          st.serial + " is " + StateName(st.state));
  }

  // ---- keys
  // --------------------------------------------------------------------------------------
  Status OpenStore() {
    if (st.key_store == "file") {
      keystore::FileKeyStoreOptions o;
      o.dir = opt.state_dir + "/keystore";
      o.kek = keys.keystore_kek.Clone();  // empty only for the accepted old layout
      o.random = &rng;
      SECPROF_ASSIGN_OR_RETURN(auto s, keystore::FileKeyStore::Open(std::move(o)));
      store = std::move(s);
      return {};
    }
    keystore::Pkcs11KeyStoreOptions o = opt.pkcs11;
    o.token_label = st.token_label;
    if (o.pin.empty())
      if (const char* p = std::getenv("SECPROF_PKCS11_PIN")) o.pin = p;
    SECPROF_ASSIGN_OR_RETURN(auto s, keystore::Pkcs11KeyStore::Open(o));
    store = std::move(s);
    return {};
  }

  // The DTLS key configuration for `label` whose certificate is `cert_pem`.
  Result<coap::PkiConfig> PkiFor(const std::string& cert_pem, const std::string& label) {
    coap::PkiConfig pki;
    pki.certificate_pem = cert_pem;
    if (st.key_store == "file") {
      SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer der, store->ExportPrivate(label));
      SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk, crypto::PrivateKey::FromDer(View(der)));
      SECPROF_ASSIGN_OR_RETURN(pki.private_key_pem, sk.ToPem());
    } else {
      coap::Pkcs11PrivateKey k;
      k.uri = "pkcs11:token=" + st.token_label + ";object=" + label + ";type=private";
      std::string pin = opt.pkcs11.pin;
      if (pin.empty())
        if (const char* p = std::getenv("SECPROF_PKCS11_PIN")) pin = p;
      k.pin =
          crypto::SecureBuffer(ByteView(reinterpret_cast<const uint8_t*>(pin.data()), pin.size()));
      k.module_path = opt.pkcs11.module_path;
      pki.private_key_pkcs11 = std::move(k);
    }
    return pki;
  }

  // ---- KDC sessions --------------------------------------------------------------------------
  Result<std::unique_ptr<coap::Client>> ConnectOperational() {
    coap::ClientConfig cc;
    cc.timeout = opt.timeout;
    if (policy().app == domain::AppSecurity::kDtlsPsk) {
      auto it = secrets.find(kSecretPairwise);
      if (it == secrets.end() || st.psk_identity.empty())
        return Fail(ErrorCode::kConflict, st.serial + " holds no PSK: join first");
      cc.security = coap::Security::kPsk;
      cc.psk_identity = st.psk_identity;
      cc.psk_key = it->second.Clone();
    } else {
      if (st.ldevid_pem.empty())
        return Fail(ErrorCode::kConflict, st.serial + " holds no LDevID: join first");
      SECPROF_ASSIGN_OR_RETURN(cc.pki, PkiFor(st.ldevid_pem, st.ldevid_key_label));
      cc.pki.trust_anchors_pem = st.domain_ca_pem;
      cc.pki.require_peer_certificate = true;
      cc.security = coap::Security::kPki;
    }
    const bool pki = cc.security == coap::Security::kPki;
    SECPROF_ASSIGN_OR_RETURN(auto c,
                             coap::Client::Connect(st.kdc_host, st.kdc_dtls, std::move(cc)));
    if (!pki) return c;
    // Issue 9 item 1: the KDC role and the key pinned at the join (kdc_trust.cpp).
    SECPROF_ASSIGN_OR_RETURN(std::string pin, AcceptedKdcPin(*c, st.kdc_spki_sha256));
    if (pin == st.kdc_spki_sha256) return c;
    ThingState next = st;  // a state from before pinning learns the pin now
    next.kdc_spki_sha256 = pin;
    SECPROF_TRY(Commit(std::move(next)));
    return c;
  }

  Result<coap::Client*> Session() {
    const auto& pol = policy();
    uint64_t max_msgs = opt.session_max_messages.value_or(pol.session_max_messages);
    auto max_age = opt.session_max_age.value_or(pol.session_max_age);
    bool expired = session && ((max_msgs && session_messages >= max_msgs) ||
                               (max_age.count() && clock.Monotonic() - session_started >= max_age));
    if (expired) {
      session.reset();  // the session-key policy: a fresh handshake gives fresh keys
      ++st.session_renewals;
    }
    if (!session) {
      SECPROF_ASSIGN_OR_RETURN(session, ConnectOperational());
      session_messages = 0;
      session_started = clock.Monotonic();
    }
    ++session_messages;
    return session.get();
  }

  Result<coap::Response> Post(const char* path, Bytes body) {
    SECPROF_ASSIGN_OR_RETURN(coap::Client * c, Session());
    auto r = c->Post(path, body, coap::content_format::kCbor);
    if (!r) session.reset();  // a broken session is not reused
    return r;
  }

  // ---- joins
  // -------------------------------------------------------------------------------------
  Status JoinSetupCode() {
    coap::ClientConfig cc;
    cc.timeout = opt.timeout;
    SECPROF_ASSIGN_OR_RETURN(auto c, coap::Client::Connect(st.kdc_host, st.kdc_udp, std::move(cc)));
    SECPROF_ASSIGN_OR_RETURN(
        coap::Response rn,
        c->Post(domain::path::kJoinNonce, domain::Encode(domain::JoinNonceRequest{st.serial}),
                coap::content_format::kCbor));
    SECPROF_TRY(Expect(rn, coap::kCreated, "join nonce"));
    SECPROF_ASSIGN_OR_RETURN(domain::JoinNonce n, domain::DecodeJoinNonce(rn.payload));
    SECPROF_ASSIGN_OR_RETURN(Bytes proof, domain::JoinProof(st.setup_code, st.serial, n.nonce));
    SECPROF_ASSIGN_OR_RETURN(
        coap::Response rj,
        c->Post(domain::path::kJoinPsk,
                domain::Encode(domain::PskJoinRequest{st.serial, n.nonce, proof}),
                coap::content_format::kCbor));
    SECPROF_TRY(Expect(rj, coap::kChanged, "join"));
    SECPROF_ASSIGN_OR_RETURN(domain::PskJoinResponse j, domain::DecodePskJoinResponse(rj.payload));
    SECPROF_ASSIGN_OR_RETURN(secrets[kSecretPairwise],
                             domain::OpenJoinPsk(st.setup_code, st.serial, n.nonce, j.sealed_psk));
    ThingState next = st;
    next.psk_identity = j.identity;
    next.kdc_dtls = j.dtls_port;
    return Move(State::kCommissioned, "joined by setup code", std::move(next));
  }

  Status JoinVoucher() {
    SECPROF_ASSIGN_OR_RETURN(identity::Certificate anchor,
                             identity::Certificate::FromPem(st.trust_anchor_pem));
    coap::ClientConfig cc;
    cc.timeout = opt.timeout;
    cc.security = coap::Security::kPki;
    SECPROF_ASSIGN_OR_RETURN(cc.pki, PkiFor(st.idevid_pem, st.idevid_key_label));
    // Provisional: the KDC is not trusted until its voucher checks out (RFC 8995 §5.1 has the
    // same provisional state for BRSKI).
    cc.pki.require_peer_certificate = false;
    SECPROF_ASSIGN_OR_RETURN(auto c,
                             coap::Client::Connect(st.kdc_host, st.kdc_dtls, std::move(cc)));
    SECPROF_ASSIGN_OR_RETURN(coap::Response rv, c->Get(domain::path::kVoucher));
    SECPROF_TRY(Expect(rv, coap::kContent, "voucher"));
    SECPROF_ASSIGN_OR_RETURN(domain::VoucherResponse vr, domain::DecodeVoucherResponse(rv.payload));
    auto v = voucher::Verify(vr.voucher, anchor, clock);
    if (!v) return Fail(ErrorCode::kVerifyFailed, "rogue domain refused: " + v.error().message());
    SECPROF_ASSIGN_OR_RETURN(identity::Certificate domain_ca,
                             identity::Certificate::FromDer(vr.domain_ca));
    if (auto b = voucher::CheckBinding(*v, st.serial, domain_ca); !b)
      return Fail(ErrorCode::kVerifyFailed, "rogue domain refused: " + b.error().message());
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
    SECPROF_ASSIGN_OR_RETURN(identity::Certificate ldevid,
                             identity::Certificate::FromDer(er.ldevid));
    if (auto m = ldevid.MatchesPublicKey(signer->public_key()); !m)
      return Fail(ErrorCode::kVerifyFailed, "the LDevID does not certify our key");
    if (auto ok = identity::VerifyCertificate(ldevid, vo, clock); !ok)
      return Fail(ErrorCode::kVerifyFailed, "the LDevID does not chain to the domain CA");
    secrets[kSecretPairwise] = std::move(er.key);
    ThingState next = st;
    next.ldevid_pem = ldevid.ToPem();
    next.ldevid_key_label = label;
    next.domain_ca_pem = domain_ca.ToPem();
    next.kdc_spki_sha256 = KdcPin(kdc_cert);
    next.voucher_created = v->created;
    next.owner = v->owner;
    return Move(State::kCommissioned, "joined with IDevID + voucher; LDevID issued",
                std::move(next));
  }

  Status Wipe() {
    session.reset();
    secrets.clear();
    if (!st.ldevid_key_label.empty() && store) {
      auto d = store->Delete(st.ldevid_key_label);
      if (!d && d.error().code() != ErrorCode::kNotFound) return d;
    }
    return {};
  }
};

// ------------------------------------------------------------------------------------------------

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

Status Agent::Init(const InitOptions& o) {
  SECPROF_TRY(domain::ValidateSerial(o.serial));
  if (fs::exists(o.state_dir + "/state.json"))
    return Fail(ErrorCode::kConflict, o.state_dir + " already holds a thing");
  SECPROF_ASSIGN_OR_RETURN(std::string mtext, ReadFile(o.factory_dir + "/manifest.json"));
  SECPROF_ASSIGN_OR_RETURN(manufacture::Manifest m,
                           manufacture::ManifestFromJson(mtext, o.factory_dir + "/manifest.json"));
  const manufacture::ThingRecord* rec = nullptr;
  for (const auto& t : m.things)
    if (t.serial == o.serial) rec = &t;
  if (!rec)
    return Fail(ErrorCode::kNotFound,
                "serial " + o.serial + " is not in " + o.factory_dir + "/manifest.json");
  SECPROF_TRY(CheckKeyStoreAllowed(o, *rec));
  std::error_code ec;
  fs::create_directories(o.state_dir, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + o.state_dir + ": " + ec.message());
  ::chmod(o.state_dir.c_str(), 0700);
  ThingState t;
  t.serial = rec->serial;
  t.vendor = m.vendor;
  t.model = m.model;
  t.profile = o.profile;
  SECPROF_ASSIGN_OR_RETURN(t.idevid_pem, ReadFile(o.factory_dir + "/" + rec->idevid));
  SECPROF_ASSIGN_OR_RETURN(t.trust_anchor_pem, ReadFile(o.factory_dir + "/" + rec->trust_anchor));
  t.setup_code = rec->setup_code;
  t.key_store = rec->key_store;
  t.idevid_key_label = rec->key_label;
  if (rec->key_store != "file") {
    const std::string prefix = "pkcs11:token=";
    if (rec->key_location.rfind(prefix, 0) != 0)
      return Fail(ErrorCode::kInvalidInput, "unknown key location " + rec->key_location);
    t.token_label = rec->key_location.substr(prefix.size());
  }
  // The KEK, outside the state directory, and the key store under it (key_protection.h).
  SECPROF_ASSIGN_OR_RETURN(std::string note, SetUpKeyProtection(o, *rec, t));
  t.history.push_back({UnixNow(SystemClock()), "", StateName(State::kManufactured),
                       "from " + o.factory_dir + note});
  SECPROF_TRY(WriteFileAtomic(o.state_dir + "/state.json", StateToJson(t), 0600));
  // The factory image in slot a, sequence number 1 (a stand-in: secprof has no real firmware).
  // Only the firmware store is needed here, not the key store (a token may need a PIN).
  Impl fw_only(AgentOptions{.state_dir = o.state_dir});
  fw_only.st = t;
  SECPROF_TRY(fw_only.OpenFirmware());
  std::string image = "secprof factory firmware\nvendor " + t.vendor + "\nmodel " + t.model + "\n";
  image.resize(4096, '.');
  return fw_only.firmware->Initialize(
      ByteView(reinterpret_cast<const uint8_t*>(image.data()), image.size()), 1);
}

Result<std::unique_ptr<Agent>> Agent::Open(AgentOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  const std::string path = impl->StatePath();
  if (!fs::exists(path))
    return Fail(ErrorCode::kNotFound, path + " does not exist (run `secprof thing init` first)");
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  SECPROF_ASSIGN_OR_RETURN(impl->st, StateFromJson(text, path));
  SECPROF_ASSIGN_OR_RETURN(impl->keys, OpenKeyProtection(impl->opt, impl->st));
  SECPROF_TRY(impl->LoadSecrets());
  impl->readings = impl->st.reading_reserved;  // skip what an earlier run may have used
  for (const auto& o : impl->keys.new_overrides) {  // recorded once, in state.json and history
    ThingState next = impl->st;
    next.key_overrides.push_back(o);
    SECPROF_TRY(
        impl->Move(impl->st.state, "override --allow-" + o + " (key protection)", std::move(next)));
  }
  SECPROF_TRY(impl->OpenStore());
  SECPROF_TRY(impl->OpenFirmware());
  // Whatever an interrupted update left: back to a good image (update::SlotStore::Recover).
  if (impl->firmware->initialized()) SECPROF_TRY(impl->firmware->Recover());
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

const ThingState& Agent::state() const { return impl_->st; }
const domain::Policy& Agent::policy() const { return impl_->policy(); }

Status Agent::Install(const std::string& host, uint16_t udp, uint16_t dtls) {
  SECPROF_TRY(impl_->Require({State::kManufactured, State::kReOwned}, "install"));
  if (!impl_->policy().kdc)
    return Fail(ErrorCode::kInvalidInput,
                std::string(domain::ProfileName(impl_->st.profile)) + " has no KDC: use pairing");
  ThingState next = impl_->st;
  next.kdc_host = host;
  next.kdc_udp = udp;
  next.kdc_dtls = dtls;
  return impl_->Move(State::kInstalled, "installed for KDC " + host, std::move(next));
}

Status Agent::Join() {
  SECPROF_TRY(impl_->Require({State::kInstalled}, "join"));
  switch (impl_->policy().bootstrap) {
    case domain::Bootstrap::kSetupCode:
      return impl_->JoinSetupCode();
    case domain::Bootstrap::kVoucher:
      return impl_->JoinVoucher();
    case domain::Bootstrap::kDuckling:
      break;
  }
  return Fail(ErrorCode::kInvalidInput, "SecProf_1 things join by pairing, not through a KDC");
}

Status Agent::GoOperational() {
  SECPROF_TRY(impl_->Require({State::kCommissioned, State::kMaintenance}, "go operational"));
  if (impl_->policy().kdc) {
    SECPROF_ASSIGN_OR_RETURN(
        coap::Response r,
        impl_->Post(domain::path::kState, domain::Encode(domain::StateReport{"operational"})));
    SECPROF_TRY(Expect(r, coap::kChanged, "state report"));
  }
  return impl_->Move(State::kOperational, "in service");
}

Status Agent::EnterMaintenance() {
  SECPROF_TRY(impl_->Require({State::kOperational}, "enter maintenance"));
  if (impl_->policy().kdc) {
    SECPROF_ASSIGN_OR_RETURN(
        coap::Response r,
        impl_->Post(domain::path::kState, domain::Encode(domain::StateReport{"maintenance"})));
    SECPROF_TRY(Expect(r, coap::kChanged, "state report"));
  }
  return impl_->Move(State::kMaintenance, "maintenance");
}

Status Agent::SendReading(int64_t centi) {
  SECPROF_TRY(impl_->Require({State::kOperational, State::kCommissioned}, "send a reading"));
  // A fresh counter; a new block is reserved in state.json before the first counter of it leaves.
  uint64_t counter = impl_->readings + 1;
  if (counter > impl_->st.reading_reserved) {
    ThingState next = impl_->st;
    next.reading_reserved = counter + kReadingBlock - 1;
    SECPROF_TRY(impl_->Commit(std::move(next)));
  }
  impl_->readings = counter;
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response r, impl_->Post(domain::path::kReport,
                                    domain::Encode(domain::Reading{
                                        impl_->st.serial, centi, static_cast<int64_t>(counter)})));
  return Expect(r, coap::kChanged, "reading");
}

Result<domain::PairKeyResponse> Agent::RequestPairKey(const std::string& peer) {
  SECPROF_TRY(impl_->Require({State::kOperational, State::kCommissioned, State::kMaintenance},
                             "request a pair key"));
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response r,
      impl_->Post(domain::path::kPairKey, domain::Encode(domain::PairKeyRequest{peer})));
  SECPROF_TRY(Expect(r, coap::kChanged, "pair key"));
  return domain::DecodePairKeyResponse(r.payload);
}

Result<domain::GroupKeyResponse> Agent::FetchGroupKey(const std::string& group) {
  SECPROF_TRY(impl_->Require({State::kOperational, State::kCommissioned, State::kMaintenance},
                             "fetch a group key"));
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response r,
      impl_->Post(domain::path::kGroupKey, domain::Encode(domain::GroupKeyRequest{group})));
  SECPROF_TRY(Expect(r, coap::kChanged, "group key"));
  SECPROF_ASSIGN_OR_RETURN(domain::GroupKeyResponse g, domain::DecodeGroupKeyResponse(r.payload));
  impl_->secrets["group:" + group] = g.key.Clone();
  ThingState next = impl_->st;
  next.groups[group] = g.epoch;
  SECPROF_TRY(impl_->Commit(std::move(next)));
  return g;
}

Result<Bytes> Agent::SealGroupMessage(const std::string& group, ByteView data) {
  auto it = impl_->secrets.find("group:" + group);
  auto ep = impl_->st.groups.find(group);
  if (it == impl_->secrets.end() || ep == impl_->st.groups.end())
    return Fail(ErrorCode::kNotFound, impl_->st.serial + " holds no key for group " + group);
  std::unique_ptr<crypto::Signer> signer;
  if (impl_->policy().group_origin_auth) {
    SECPROF_ASSIGN_OR_RETURN(signer, impl_->store->GetSigner(impl_->st.ldevid_key_label));
  }
  return domain::SealGroupMessage(View(it->second), group, ep->second, impl_->st.serial, data,
                                  signer.get(), impl_->rng);
}

Result<domain::GroupMessage> Agent::OpenGroupMessage(
    const std::string& group, ByteView message, const std::vector<domain::GroupMember>& members) {
  auto it = impl_->secrets.find("group:" + group);
  auto ep = impl_->st.groups.find(group);
  if (it == impl_->secrets.end() || ep == impl_->st.groups.end())
    return Fail(ErrorCode::kNotFound, impl_->st.serial + " holds no key for group " + group);
  auto lookup = [&](std::string_view serial) -> std::optional<crypto::PublicKey> {
    for (const auto& m : members) {
      if (m.serial != serial || m.certificate.empty()) continue;
      auto c = identity::Certificate::FromDer(m.certificate);
      if (!c) return std::nullopt;
      auto pk = c->public_key();
      if (!pk) return std::nullopt;
      return *pk;
    }
    return std::nullopt;
  };
  return domain::OpenGroupMessage(View(it->second), group, ep->second, message,
                                  impl_->policy().group_origin_auth, lookup);
}

Status Agent::Decommission(bool kdc_reachable) {
  SECPROF_TRY(impl_->Require({State::kCommissioned, State::kOperational, State::kMaintenance},
                             "decommission"));
  if (kdc_reachable && impl_->policy().kdc) {
    SECPROF_ASSIGN_OR_RETURN(coap::Response r, impl_->Post(domain::path::kDecommission, {}));
    SECPROF_TRY(Expect(r, coap::kChanged, "decommission"));
  }
  SECPROF_TRY(impl_->Wipe());
  ThingState next = impl_->st;
  next.psk_identity.clear();
  next.ldevid_pem.clear();
  next.ldevid_key_label.clear();
  next.groups.clear();
  return impl_->Move(State::kDecommissioned,
                     kdc_reachable ? "decommissioned by the KDC; keys wiped" : "keys wiped locally",
                     std::move(next));
}

Status Agent::FactoryReset(bool force) {
  if (!force) SECPROF_TRY(impl_->Require({State::kDecommissioned}, "factory reset"));
  SECPROF_TRY(impl_->Wipe());
  ThingState next = impl_->st;
  next.kdc_host.clear();
  next.kdc_udp = next.kdc_dtls = 0;
  next.psk_identity.clear();
  next.ldevid_pem.clear();
  next.ldevid_key_label.clear();
  next.domain_ca_pem.clear();
  next.kdc_spki_sha256.clear();
  next.owned_since = UnixNow(impl_->clock);  // older vouchers are refused from now on (item 10)
  next.voucher_created = 0;
  next.owner.clear();
  next.groups.clear();
  next.link_counter = 0;
  next.link_seen.clear();
  return impl_->Move(State::kReOwned, "factory reset: ready for a new owner", std::move(next));
}

Status Agent::BecomeMother() {
  SECPROF_TRY(impl_->Require({State::kManufactured, State::kReOwned}, "become the mother"));
  if (impl_->policy().bootstrap != domain::Bootstrap::kDuckling)
    return Fail(ErrorCode::kInvalidInput, "only SecProf_1 domains pair without a KDC");
  SECPROF_ASSIGN_OR_RETURN(impl_->secrets[kSecretDomain], impl_->rng.DrawSecret(32));
  ThingState next = impl_->st;
  next.owner = impl_->st.serial;
  return impl_->Move(State::kCommissioned, "first member: made the domain key", std::move(next));
}

Result<domain::PairImprint> Agent::MakeImprint() const {
  auto it = impl_->secrets.find(kSecretDomain);
  if (it == impl_->secrets.end())
    return Fail(ErrorCode::kConflict, impl_->st.serial + " holds no domain key");
  return domain::PairImprint{impl_->st.serial, it->second.Clone()};
}

Status Agent::AcceptImprint(const domain::PairImprint& imprint) {
  if (impl_->st.state == State::kCommissioned || impl_->st.state == State::kOperational ||
      impl_->st.state == State::kMaintenance)
    return Fail(ErrorCode::kConflict, impl_->st.serial + " is already imprinted on " +
                                          impl_->st.owner + " (factory reset first)");
  SECPROF_TRY(impl_->Require({State::kManufactured, State::kInstalled, State::kReOwned}, "pair"));
  impl_->secrets[kSecretDomain] = imprint.domain_key.Clone();
  ThingState next = impl_->st;
  next.owner = imprint.mother;
  return impl_->Move(State::kCommissioned,
                     "imprinted on " + imprint.mother + " (domain key received in the clear)",
                     std::move(next));
}

Result<Bytes> Agent::SealLinkFrame(ByteView data) {
  auto it = impl_->secrets.find(kSecretDomain);
  if (it == impl_->secrets.end())
    return Fail(ErrorCode::kConflict, impl_->st.serial + " holds no domain key");
  ThingState next = impl_->st;
  ++next.link_counter;
  // The counter is persisted before the frame leaves, so a restart never reuses one.
  SECPROF_TRY(impl_->Commit(next));
  return domain::SealLinkFrame(
      View(it->second),
      domain::LinkFrame{impl_->st.serial, impl_->st.link_counter, Bytes(data.begin(), data.end())});
}

Result<domain::LinkFrame> Agent::OpenLinkFrame(ByteView frame) {
  auto it = impl_->secrets.find(kSecretDomain);
  if (it == impl_->secrets.end())
    return Fail(ErrorCode::kConflict, impl_->st.serial + " holds no domain key");
  auto f = domain::OpenLinkFrame(View(it->second), frame, [&](std::string_view s) {
    auto x = impl_->st.link_seen.find(std::string(s));
    return x == impl_->st.link_seen.end() ? uint64_t{0} : x->second;
  });
  if (!f) return f;
  // The replay window is persisted before the frame is accepted, so a restart does not reopen it.
  ThingState next = impl_->st;
  if (!next.link_seen.count(f->sender) && next.link_seen.size() >= kMaxLinkSenders)
    return Fail(ErrorCode::kLimit, "too many link-frame senders");
  next.link_seen[f->sender] = f->counter;
  SECPROF_TRY(impl_->Commit(std::move(next)));
  return f;
}

uint64_t Agent::RunningFirmware() const {
  return impl_->firmware->state().active_image.sequence_number;
}
const update::SlotState& Agent::FirmwareState() const { return impl_->firmware->state(); }

Result<Agent::UpdateOutcome> Agent::CheckForUpdate(const update::TestBootHook& test_boot) {
  SECPROF_TRY(impl_->Require({State::kOperational}, "check for an update"));
  UpdateOutcome out;
  SECPROF_ASSIGN_OR_RETURN(
      coap::Response ro,
      impl_->Post(domain::path::kFirmwareOffer,
                  domain::Encode(domain::FirmwareOfferRequest{RunningFirmware()})));
  if (ro.code == coap::kChanged && ro.payload.empty()) return out;  // nothing offered
  SECPROF_TRY(Expect(ro, coap::kContent, "firmware offer"));
  SECPROF_ASSIGN_OR_RETURN(domain::FirmwareOffer offer, domain::DecodeFirmwareOffer(ro.payload));
  out.offered = true;
  out.campaign = offer.campaign;
  out.sequence = offer.sequence;
  SECPROF_TRY(EnterMaintenance());
  // Fetch, then install; any failure is reported to the KDC and leaves the running image.
  auto attempt = [&]() -> Status {
    std::string q = "id=" + std::to_string(offer.firmware);
    SECPROF_ASSIGN_OR_RETURN(coap::Client * c, impl_->Session());
    SECPROF_ASSIGN_OR_RETURN(coap::Response env, c->Get(domain::path::kFirmwareManifest, q));
    SECPROF_TRY(Expect(env, coap::kContent, "firmware manifest"));
    SECPROF_ASSIGN_OR_RETURN(c, impl_->Session());
    SECPROF_ASSIGN_OR_RETURN(coap::Response img, c->Get(domain::path::kFirmwareImage, q));
    SECPROF_TRY(Expect(img, coap::kContent, "firmware image"));
    out.bytes_fetched = env.payload.size() + img.payload.size();
    // The download goes to a file in one write (the installer hashes it through mmap).
    std::string path = impl_->opt.state_dir + "/download.img";
    SECPROF_TRY(WriteFileAtomic(
        path,
        std::string_view(reinterpret_cast<const char*>(img.payload.data()), img.payload.size()),
        0600));
    if (test_boot) SECPROF_TRY(impl_->OpenFirmware(test_boot));
    auto installed = impl_->firmware->InstallFile(env.payload, path);
    std::error_code ec;
    fs::remove(path, ec);
    if (test_boot) SECPROF_TRY(impl_->OpenFirmware());
    return installed;
  };
  Status done = attempt();
  out.installed = done.has_value();
  out.detail =
      done ? "installed sequence " + std::to_string(offer.sequence) : done.error().message();
  auto report = impl_->Post(
      domain::path::kFirmwareStatus,
      domain::Encode(domain::FirmwareStatus{offer.campaign, out.installed,
                                            out.detail.substr(0, 1000), RunningFirmware()}));
  SECPROF_TRY(GoOperational());
  if (!report) return Fail(report.error().WithContext("reporting the update"));
  SECPROF_TRY(Expect(*report, coap::kChanged, "firmware status"));
  return out;
}

Result<coap::Client*> Agent::KdcSession() { return impl_->Session(); }

Result<crypto::SecureBuffer> Agent::PairwiseKey() const {
  auto it = impl_->secrets.find(kSecretPairwise);
  if (it == impl_->secrets.end())
    return Fail(ErrorCode::kNotFound, impl_->st.serial + " holds no pairwise key");
  return it->second.Clone();
}

}  // namespace secprof::thing
