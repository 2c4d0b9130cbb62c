// tests/support/domain_fixture.h — an in-process domain for the KDC, thing and CLI tests: a
// factory of things, a KDC served on its own thread, thing agents in state directories under a
// temporary directory, the factory's key stores read back, and whole running SecProf_2 and
// SecProf_3 domains. Loopback only, ephemeral ports; every thread started here is stopped and
// joined by a destructor, also when a test fails half-way.
//
// Target: secprof::test_domain (tests/support/CMakeLists.txt). The wire side of a thing talking
// to the KDC (join requests, DTLS clients) is support/kdc_client.h.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>

#include "secprof/core/fs.h"
#include "secprof/crypto/keys.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"
#include "secprof/voucher/voucher.h"

namespace secprof::testing {

// ------------------------------------------------------------------------------------- factory

// `count` things of `vendor`/`model` made into `dir` (file key stores); the manifest, empty on
// failure (a failed expectation is recorded).
inline manufacture::Manifest MakeFactory(const std::filesystem::path& dir,
                                         const std::string& vendor, const std::string& model,
                                         int count) {
  manufacture::Options o;
  o.vendor = vendor;
  o.model = model;
  o.count = count;
  o.out_dir = dir.string();
  auto made = manufacture::Manufacture(o);
  EXPECT_TRUE(made) << made.error().ToString();
  if (!made) return {};
  return made->manifest;
}

// A factory folder and what it made.
struct Factory {
  std::string dir;
  manufacture::Manifest manifest;
};

// `n` "Sensor-1" things of `vendor` made into `dir`/factory-<vendor>.
inline Factory MakeFactory(const std::filesystem::path& dir, const std::string& vendor, int n) {
  const std::string out = (dir / ("factory-" + vendor)).string();
  return Factory{out, MakeFactory(out, vendor, "Sensor-1", n)};
}

inline std::optional<identity::Certificate> LoadCert(const std::filesystem::path& p) {
  auto pem = ReadFile(p.string());
  EXPECT_TRUE(pem) << p;
  if (!pem) return std::nullopt;
  auto c = identity::Certificate::FromPem(*pem);
  EXPECT_TRUE(c) << p << ": " << (c ? "" : c.error().ToString());
  if (!c) return std::nullopt;
  return *c;
}

// The private key `label` of the file key store in `dir`, as PEM.
// `master_kek_file` (optional): the KEK file kept outside the store's directory and `purpose` the
// derivation secprof uses for that store ("thing keystore", "kdc keystore"; keystore/kek.h).
inline crypto::SecureBuffer StoreKeyPem(const std::string& dir, const std::string& label,
                                        const std::string& master_kek_file = {},
                                        std::string_view purpose = {}) {
  keystore::FileKeyStoreOptions o;
  o.dir = dir;
  if (!master_kek_file.empty()) {
    auto master = keystore::ReadKekFile(master_kek_file);
    EXPECT_TRUE(master) << master.error().ToString();
    if (!master) return {};
    auto k = keystore::DeriveKek(crypto::ByteView(master->data(), master->size()), purpose);
    EXPECT_TRUE(k) << k.error().ToString();
    if (!k) return {};
    o.kek = std::move(*k);
  }
  auto store = keystore::FileKeyStore::Open(std::move(o));
  EXPECT_TRUE(store) << store.error().ToString();
  if (!store) return {};
  auto der = (*store)->ExportPrivate(label);
  EXPECT_TRUE(der) << der.error().ToString();
  if (!der) return {};
  auto sk = crypto::PrivateKey::FromDer(crypto::ByteView(der->data(), der->size()));
  EXPECT_TRUE(sk);
  if (!sk) return {};
  auto pem = sk->ToPem();
  EXPECT_TRUE(pem);
  return pem ? std::move(*pem) : crypto::SecureBuffer{};
}

// The IDevID private key of a thing made with the file key store, as PEM.
inline crypto::SecureBuffer IdevidKeyPem(const std::filesystem::path& factory,
                                         const manufacture::ThingRecord& t) {
  return StoreKeyPem((factory / t.key_location).string(), t.key_label);
}

// ------------------------------------------------------------------------------------------ KDC

// A Kdc served on its own thread while this object lives (REQUIRES: the Kdc outlives it). The
// thread is stopped and joined in the destructor, also when a test fails half-way.
class Serving {
 public:
  explicit Serving(kdc::Kdc& kdc) : io_([&kdc](std::stop_token st) { (void)kdc.Serve(st); }) {}
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;

 private:
  std::jthread io_;
};

// A KDC created from `o` and serving on its own thread while the object lives; `kdc` is null
// (and a failed expectation recorded) when it could not be created.
struct ServedKdc {
  std::unique_ptr<kdc::Kdc> kdc;
  std::jthread io;
  explicit ServedKdc(kdc::KdcOptions o, const Clock& clock = SystemClock()) {
    auto k = kdc::Kdc::Create(std::move(o), clock);
    EXPECT_TRUE(k) << k.error().message();
    if (!k) return;
    kdc = std::move(*k);
    io = std::jthread([this](std::stop_token st) { (void)kdc->Serve(st); });
  }
  ~ServedKdc() {
    if (io.joinable()) {
      io.request_stop();
      io.join();
    }
  }
};

inline kdc::KdcOptions SecProf2Options(const std::filesystem::path& dir) {
  kdc::KdcOptions ko;
  ko.profile = domain::Profile::kSecProf2;
  ko.db_path = (dir / "kdc.db").string();
  ko.join_window = std::chrono::seconds(0);
  return ko;
}

// ------------------------------------------------------------------------------------- things

// The agent whose state is in `state_dir` (3 s per exchange; `clock` as in AgentOptions).
inline std::unique_ptr<thing::Agent> OpenAgent(const std::string& state_dir,
                                               const Clock* clock = nullptr) {
  thing::AgentOptions ao;
  ao.state_dir = state_dir;
  ao.timeout = std::chrono::milliseconds(3000);
  ao.clock = clock;
  auto a = thing::Agent::Open(ao);
  EXPECT_TRUE(a) << a.error().message();
  return a ? std::move(*a) : nullptr;
}

// Initialises thing `serial` from `factory_dir` in `state_dir` for `profile` and opens it.
// File-store things are allowed in SecProf_3 too (the recorded override of issue 9 item 5).
inline std::unique_ptr<thing::Agent> InitAgent(const std::string& state_dir,
                                               const std::string& factory_dir,
                                               const std::string& serial, domain::Profile profile) {
  thing::InitOptions io;
  io.state_dir = state_dir;
  io.factory_dir = factory_dir;
  io.serial = serial;
  io.profile = profile;
  io.allow_file_keys = true;
  auto init = thing::Agent::Init(io);
  EXPECT_TRUE(init) << init.error().message();
  return OpenAgent(io.state_dir);
}

inline std::string StateDir(const std::filesystem::path& dir, const Factory& f, size_t i) {
  return (dir / ("thing-" + f.manifest.things[i].serial)).string();
}

// Thing `i` of `f`, initialised in StateDir(dir, f, i) for `p`.
inline std::unique_ptr<thing::Agent> NewAgent(const std::filesystem::path& dir, const Factory& f,
                                              size_t i, domain::Profile p) {
  return InitAgent(StateDir(dir, f, i), f.dir, f.manifest.things[i].serial, p);
}

// A SecProf_2 thing joined and operational at `k`.
inline std::unique_ptr<thing::Agent> JoinedSecProf2(const std::filesystem::path& dir,
                                                    const Factory& f, size_t i, kdc::Kdc& k) {
  auto a = NewAgent(dir, f, i, domain::Profile::kSecProf2);
  if (!a) return nullptr;
  EXPECT_TRUE(a->Install("127.0.0.1", k.udp_port(), k.dtls_port()));
  auto j = a->Join();
  EXPECT_TRUE(j) << j.error().message();
  EXPECT_TRUE(a->GoOperational());
  return a;
}

// ------------------------------------------------------------------------------------ domains

// A running SecProf_2 domain: `n` things made by "Acme", a served KDC, the owner's tools, and
// every thing allowed with its setup code.
struct SecProf2Domain {
  Factory f;
  kdc::KdcOptions ko;
  std::unique_ptr<ServedKdc> kdc;
  std::unique_ptr<kdc::OwnerTools> owner;

  void Start(const std::filesystem::path& dir, int n) {
    f = MakeFactory(dir, "Acme", n);
    ko = SecProf2Options(dir);
    kdc = std::make_unique<ServedKdc>(ko);
    ASSERT_TRUE(kdc->kdc);
    auto o = kdc::OwnerTools::Open(ko.db_path);
    ASSERT_TRUE(o) << o.error().message();
    owner = std::move(*o);
    for (const auto& t : f.manifest.things)
      ASSERT_TRUE(owner->AllowSetupCode(t.serial, "Acme", "Sensor-1", t.setup_code));
  }
};

// A running SecProf_3 domain: `n` things made by "Acme" (file key stores), a served KDC trusting
// the vendor, the owner's tools, and a voucher imported for every thing.
struct SecProf3Domain {
  Factory f;
  kdc::KdcOptions ko;
  std::unique_ptr<ServedKdc> kdc;
  std::unique_ptr<kdc::OwnerTools> owner;

  void Start(const std::filesystem::path& dir, int n) {
    f = MakeFactory(dir, "Acme", n);
    ko.profile = domain::Profile::kSecProf3;
    ko.db_path = (dir / "kdc.db").string();
    ko.vendor_ca_files = {f.dir + "/ca/ca.pem"};
    ko.require_token_keys = false;    // file-store things (key_protection_test covers the policy)
    ko.kek.allow_file_ca_key = true;  // a file-store domain CA (audited override)
    kdc = std::make_unique<ServedKdc>(ko);
    ASSERT_TRUE(kdc->kdc);
    auto o = kdc::OwnerTools::Open(ko.db_path);
    ASSERT_TRUE(o) << o.error().message();
    owner = std::move(*o);
    auto vendor = voucher::Factory::Open(f.dir);
    ASSERT_TRUE(vendor);
    for (const auto& t : f.manifest.things) {
      auto v = vendor->Issue(t.serial, kdc->kdc->domain_ca(), ko.owner, std::chrono::hours(24),
                             SystemClock());
      ASSERT_TRUE(v) << v.error().message();
      ASSERT_TRUE(owner->ImportVoucher(*v, vendor->vendor_ca()));
    }
  }
  // Thing `i` joined (LDevID enrolled) and operational.
  std::unique_ptr<thing::Agent> Joined(const std::filesystem::path& dir, size_t i) {
    auto a = NewAgent(dir, f, i, domain::Profile::kSecProf3);
    if (!a) return nullptr;
    EXPECT_TRUE(a->Install("127.0.0.1", kdc->kdc->udp_port(), kdc->kdc->dtls_port()));
    auto j = a->Join();
    EXPECT_TRUE(j) << j.error().message();
    EXPECT_TRUE(a->GoOperational());
    return j ? std::move(a) : nullptr;
  }
};

}  // namespace secprof::testing
