// The thing agent's core (docs/DOMAIN.md "Thing agent": "State directory", "Lifecycle"; draft-
// garcia-security-mitigations-and-profiles §3.1 "The Thing Lifecycle"): creating and opening a
// state directory, persistence (state.json written atomically, secrets sealed under the KEK), the
// key store, the operational DTLS session to the KDC with its session-key policy, and the
// lifecycle steps that need no protocol flow of their own (install, decommission, factory reset).
// The flows live beside it (agent_impl.h lists them).
#include <sys/stat.h>

#include <filesystem>

#include "agent_impl.h"
#include "secprof/cbor/cbor.h"
#include "secprof/coap/errors.h"
#include "secprof/core/fs.h"
#include "secprof/crypto/hash.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/keystore/file_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/reasons.h"
#include "state_io.h"

namespace secprof::thing {

namespace fs = std::filesystem;
using crypto::Bytes;
using crypto::ByteView;

namespace {

// Overwrites the byte strings of a CBOR map of secrets (the Value's own copies of the keys) before
// the Value is released. `m` is a local, non-const object, so writing through bytes() is sound.
void WipeSecretMap(cbor::Value& m) {
  if (!m.is_map()) return;
  for (auto& [k, v] : m.map()) {
    if (!v.is_bytes()) continue;
    auto& b = const_cast<Bytes&>(v.bytes());
    crypto::Cleanse(b);
  }
}

// Creates `dir` (mode 0700) and its missing parents, each new name made durable: a directory
// entry survives a power loss only once its parent is fsynced (core/fs.h), and a state directory
// that vanished would take the thing with it. An existing `dir` is only chmod-ed.
Status MakeDurableDir(const std::string& dir, FileSystem& fsys) {
  fs::path p = fs::absolute(dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "a/b/" -> "a/b"
  std::vector<fs::path> missing;               // deepest first
  for (fs::path q = p; !q.empty() && !fs::exists(q) && q != q.parent_path(); q = q.parent_path())
    missing.push_back(q);
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
  ::chmod(p.c_str(), 0700);
  for (const fs::path& q : missing) SECPROF_TRY(fsys.SyncDir(q.parent_path().string()));
  return Ok();
}

// The factory image `image` as sequence 1 in slot a. A store that already holds exactly that
// image was initialised by an Init that a crash interrupted before its commit: it is kept.
Status InitializeFactoryImage(update::SlotStore& store, ByteView image) {
  if (!store.initialized()) return store.Initialize(image, 1);
  SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d, crypto::Sha256(image));
  const update::SlotState& s = store.state();
  if (s.active_image.sequence_number == 1 && s.active_image.size == image.size() &&
      s.active_image.digest == Bytes(d.begin(), d.end()) && !s.pending)
    return Ok();
  return Fail(ErrorCode::kConflict,
              "the firmware store holds another image than the factory's: not a thing's first "
              "initialisation");
}

}  // namespace

Status Expect(const coap::Response& r, coap::Code want, const char* what) {
  return coap::ExpectCode(r, want, what, "KDC");
}

Agent::Impl::Impl(AgentOptions o)
    : opt(std::move(o)),
      clock(opt.clock ? *opt.clock : SystemClock()),
      rng(opt.random ? *opt.random : crypto::SystemRandomSource()) {}

// ---- persistence ---------------------------------------------------------------------------

Result<std::string> Agent::Impl::SealSecrets() {
  cbor::MapEntries e;
  for (const auto& [k, v] : secrets)
    e.emplace_back(cbor::Value::Text(k), cbor::Value::ByteString(View(v)));
  cbor::Value map = cbor::Value::Map(std::move(e));
  Bytes encoded = cbor::Encode(map);
  WipeSecretMap(map);
  crypto::SecureBuffer plain{ByteView(encoded)};
  crypto::Cleanse(encoded);  // the encoding held every secret in clear
  auto w = keys.sealer->Seal("thing-secrets:" + st.serial, View(plain), rng);
  if (!w) return Fail(w.error());
  return cbor::ToHex(*w);
}

Status Agent::Impl::LoadSecrets() {
  secrets.clear();
  if (st.wrapped_secrets.empty()) return {};
  SECPROF_ASSIGN_OR_RETURN(Bytes w, cbor::FromHex(st.wrapped_secrets));
  SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer plain,
                           keys.sealer->Open("thing-secrets:" + st.serial, w));
  SECPROF_ASSIGN_OR_RETURN(cbor::Value v, cbor::Decode(View(plain)));
  if (!v.is_map()) return Fail(ErrorCode::kInvalidInput, "sealed secrets are not a map");
  Status loaded;
  for (const auto& [k, val] : v.map()) {
    if (!k.is_text() || !val.is_bytes()) {
      loaded = Fail(ErrorCode::kInvalidInput, "sealed secrets hold a non-key entry");
      break;
    }
    secrets[k.text()] = crypto::SecureBuffer(val.bytes());
  }
  WipeSecretMap(v);
  return loaded;
}

Status Agent::Impl::Commit(ThingState next) {
  std::string saved = std::move(next.wrapped_secrets);
  auto sealed = SealSecrets();
  if (!sealed) return Fail(sealed.error());
  next.wrapped_secrets = *sealed;
  auto w = SaveState(StatePath(), next, Fs());
  if (!w) return Fail(w.error());
  st = std::move(next);
  (void)saved;
  return {};
}

Status Agent::Impl::Move(State to, const std::string& why, ThingState next) {
  next.history.push_back({UnixSeconds(clock), StateName(st.state), StateName(to), why});
  if (next.history.size() > kHistory) next.history.erase(next.history.begin());
  next.state = to;
  return Commit(std::move(next));
}

// ---- keys ----------------------------------------------------------------------------------

Status Agent::Impl::OpenStore() {
  if (st.key_store == "file") {
    keystore::FileKeyStoreOptions o;
    o.dir = opt.state_dir + "/keystore";
    o.kek = keys.keystore_kek.Clone();  // empty only for the accepted old layout
    o.random = &rng;
    o.file_system = fsys;
    SECPROF_ASSIGN_OR_RETURN(auto s, keystore::FileKeyStore::Open(std::move(o)));
    store = std::move(s);
    return {};
  }
  SECPROF_ASSIGN_OR_RETURN(auto s, OpenToken(opt, st.token_label));
  store = std::move(s);
  return {};
}

Result<coap::PkiConfig> Agent::Impl::PkiFor(const std::string& cert_pem, const std::string& label) {
  coap::PkiConfig pki;
  pki.certificate_pem = cert_pem;
  if (st.key_store == "file") {
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer der, store->ExportPrivate(label));
    SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk, crypto::PrivateKey::FromDer(View(der)));
    SECPROF_ASSIGN_OR_RETURN(pki.private_key_pem, sk.ToPem());
  } else {
    coap::Pkcs11PrivateKey k;
    k.uri = "pkcs11:token=" + st.token_label + ";object=" + label + ";type=private";
    k.pin = opt.pkcs11.pin.value().Clone();
    k.module_path = opt.pkcs11.module_path;
    pki.private_key_pkcs11 = std::move(k);
  }
  return pki;
}

Status Agent::Impl::Wipe() {
  session.reset();
  secrets.clear();
  if (!st.ldevid_key_label.empty() && store) {
    auto d = store->Delete(st.ldevid_key_label);
    if (!d && d.error().code() != ErrorCode::kNotFound) return d;
  }
  return {};
}

// ---- KDC sessions (docs/DOMAIN.md "Lifecycle": the session-key policy) ----------------------

Result<std::unique_ptr<coap::Client>> Agent::Impl::ConnectOperational() {
  coap::ClientConfig cc;
  cc.timeout = opt.timeout;
  if (policy().app == domain::AppSecurity::kDtlsPsk) {
    auto it = secrets.find(kSecretPairwise);
    if (it == secrets.end() || st.psk_identity.empty())
      return Fail(ErrorCode::kConflict, kNotJoined, st.serial + " holds no PSK: join first");
    cc.security = coap::Security::kPsk;
    cc.psk_identity = st.psk_identity;
    cc.psk_key = it->second.Clone();
  } else {
    if (st.ldevid_pem.empty())
      return Fail(ErrorCode::kConflict, kNotJoined, st.serial + " holds no LDevID: join first");
    SECPROF_ASSIGN_OR_RETURN(cc.pki, PkiFor(st.ldevid_pem, st.ldevid_key_label));
    cc.pki.trust_anchors_pem = st.domain_ca_pem;
    cc.pki.require_peer_certificate = true;
    cc.security = coap::Security::kPki;
  }
  const bool pki = cc.security == coap::Security::kPki;
  SECPROF_ASSIGN_OR_RETURN(auto c, coap::Client::Connect(st.kdc_host, st.kdc_dtls, std::move(cc)));
  if (!pki) return c;
  // Issue 9 item 1: the KDC role and the key pinned at the join (kdc_trust.cpp).
  SECPROF_ASSIGN_OR_RETURN(std::string pin, AcceptedKdcPin(*c, st.kdc_spki_sha256));
  if (pin == st.kdc_spki_sha256) return c;
  ThingState next = st;  // a state from before pinning learns the pin now
  next.kdc_spki_sha256 = pin;
  SECPROF_TRY(Commit(std::move(next)));
  return c;
}

Result<coap::Client*> Agent::Impl::Session() {
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

Result<coap::Response> Agent::Impl::Post(const char* path, Bytes body) {
  SECPROF_ASSIGN_OR_RETURN(coap::Client * c, Session());
  auto r = c->Post(path, body, coap::content_format::kCbor);
  if (!r) session.reset();  // a broken session is not reused
  return r;
}

Result<crypto::SecureBuffer> PairwiseKeyOf(const Agent& agent) {
  const Agent::Impl& impl = AgentAccess::Of(agent);
  auto it = impl.secrets.find(kSecretPairwise);
  if (it == impl.secrets.end())
    return Fail(ErrorCode::kNotFound, impl.st.serial + " holds no pairwise key");
  return it->second.Clone();
}

// ---- Agent: open / init --------------------------------------------------------------------

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

// Crash-safe by its order (docs/DOMAIN.md "Thing agent", "State directory"): the directory, the
// KEK, the key store and the factory image are made durable first and state.json is written last
// (WriteFileAtomic), so a crash or power loss at any point leaves either no thing (state.json
// absent: Init can simply be run again, reusing what an interrupted run left) or a whole one.
Status Agent::Init(const InitOptions& o) { return InitThing(o, DefaultFileSystem()); }

Status InitThing(const InitOptions& o, FileSystem& fsys) {
  SECPROF_TRY(domain::ValidateSerial(o.serial));
  if (fs::exists(o.state_dir + "/state.json"))
    return Fail(ErrorCode::kConflict, kAlreadyInitialized, o.state_dir + " already holds a thing");
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
  ThingState t;
  t.serial = rec->serial;
  t.vendor = m.vendor;
  t.model = m.model;
  t.profile = o.profile;
  SECPROF_ASSIGN_OR_RETURN(t.idevid_pem, ReadFile(o.factory_dir + "/" + rec->idevid));
  SECPROF_ASSIGN_OR_RETURN(t.trust_anchor_pem, ReadFile(o.factory_dir + "/" + rec->trust_anchor));
  t.setup_code = rec->setup_code;
  t.key_store = rec->key_store;
  t.update_host = o.update_host;
  t.update_port = o.update_port;
  t.idevid_key_label = rec->key_label;
  if (rec->key_store != "file") {
    const std::string prefix = "pkcs11:token=";
    if (rec->key_location.rfind(prefix, 0) != 0)
      return Fail(ErrorCode::kInvalidInput, "unknown key location " + rec->key_location);
    t.token_label = rec->key_location.substr(prefix.size());
  }
  SECPROF_TRY(MakeDurableDir(o.state_dir, fsys));
  // The KEK, outside the state directory, and the key store under it (key_protection.h).
  SECPROF_ASSIGN_OR_RETURN(std::string note, SetUpKeyProtection(o, *rec, t, fsys));
  t.history.push_back({UnixSeconds(SystemClock()), "", StateName(State::kManufactured),
                       "from " + o.factory_dir + note});
  // The factory image in slot a, sequence number 1 (a stand-in: secprof has no real firmware).
  // Only the firmware store is needed here, not the key store (a token may need a PIN).
  Agent::Impl fw_only(AgentOptions{.state_dir = o.state_dir});
  fw_only.fsys = &fsys;
  fw_only.st = t;
  SECPROF_TRY(fw_only.OpenFirmware());
  std::string image = "secprof factory firmware\nvendor " + t.vendor + "\nmodel " + t.model + "\n";
  image.resize(4096, '.');
  SECPROF_TRY(InitializeFactoryImage(
      *fw_only.firmware, ByteView(reinterpret_cast<const uint8_t*>(image.data()), image.size())));
  // Last, the commit point: from here on the directory holds a thing.
  return SaveState(o.state_dir + "/state.json", t, fsys);
}

Result<std::unique_ptr<Agent>> Agent::Open(AgentOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  const std::string path = impl->StatePath();
  if (!fs::exists(path))
    return Fail(ErrorCode::kNotFound, path + " does not exist (run `secprof thing init` first)");
  SECPROF_ASSIGN_OR_RETURN(impl->st, LoadState(path, impl->Fs()));
  SECPROF_ASSIGN_OR_RETURN(impl->keys, OpenKeyProtection(impl->opt, impl->st, impl->Fs()));
  SECPROF_TRY(impl->LoadSecrets());
  impl->readings = impl->st.reading_reserved;       // skip what an earlier run may have used
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

// ---- lifecycle steps without a flow of their own (docs/DOMAIN.md "Lifecycle") ---------------

Status Agent::Install(const std::string& host, uint16_t udp, uint16_t dtls) {
  // The port the profile's join needs (docs/DOMAIN.md "Joining"): SecProf_3/4 join over DTLS with
  // the IDevID (draft §7.4, §7.5); SecProf_2 asks for its nonce over plain CoAP (draft §7.3).
  const std::string profile(domain::ProfileName(impl_->st.profile));
  if (impl_->policy().bootstrap == domain::Bootstrap::kVoucher && dtls == 0)
    return Fail(ErrorCode::kInvalidInput, kNoKdcDtlsPort,
                profile + " joins over DTLS: the KDC's DTLS port is needed");
  if (impl_->policy().bootstrap == domain::Bootstrap::kSetupCode && udp == 0)
    return Fail(ErrorCode::kInvalidInput, kNoKdcUdpPort,
                profile + " asks for its join nonce over CoAP: the KDC's UDP port is needed");
  SECPROF_TRY(impl_->Check(Operation::kInstall));
  if (!impl_->policy().kdc)
    return Fail(ErrorCode::kInvalidInput, kWrongProfile,
                std::string(domain::ProfileName(impl_->st.profile)) + " has no KDC: use pairing");
  ThingState next = impl_->st;
  next.kdc_host = host;
  next.kdc_udp = udp;
  next.kdc_dtls = dtls;
  return impl_->Apply(Operation::kInstall, "installed for KDC " + host, std::move(next));
}

// The profile's bootstrapping (draft §7.3-7.5): join_setup_code.cpp, join_voucher.cpp.
Status Agent::Join() {
  SECPROF_TRY(impl_->Check(Operation::kJoin));
  switch (impl_->policy().bootstrap) {
    case domain::Bootstrap::kSetupCode:
      return impl_->JoinSetupCode();
    case domain::Bootstrap::kVoucher:
      return impl_->JoinVoucher();
    case domain::Bootstrap::kDuckling:
      break;
  }
  return Fail(ErrorCode::kInvalidInput, kWrongProfile,
              "SecProf_1 things join by pairing, not through a KDC");
}

// Draft §3.1: decommissioned at the end of its lifecycle; the KDC is told first (lc/decommission).
Status Agent::Decommission(bool kdc_reachable) {
  SECPROF_TRY(impl_->Check(Operation::kDecommission));
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
  return impl_->Apply(
      Operation::kDecommission,
      kdc_reachable ? "decommissioned by the KDC; keys wiped" : "keys wiped locally",
      std::move(next));
}

// Draft §3.1: "removed and re-commissioned ... under a different owner": re-owned.
Status Agent::FactoryReset(bool force) {
  SECPROF_TRY(impl_->Check(Operation::kFactoryReset, force));
  SECPROF_TRY(impl_->Wipe());
  ThingState next = impl_->st;
  next.kdc_host.clear();
  next.kdc_udp = next.kdc_dtls = 0;
  next.psk_identity.clear();
  next.ldevid_pem.clear();
  next.ldevid_key_label.clear();
  next.domain_ca_pem.clear();
  next.kdc_spki_sha256.clear();
  next.owned_since = UnixSeconds(impl_->clock);  // older vouchers are refused from now on (item 10)
  next.voucher_created = 0;
  next.owner.clear();
  next.groups.clear();
  next.link_counter = 0;
  next.link_seen.clear();
  return impl_->Apply(Operation::kFactoryReset, "factory reset: ready for a new owner",
                      std::move(next));
}

}  // namespace secprof::thing
