// tests/thing/domain_util.h — an in-process domain for the issue 9 tests (clone guard, tickets,
// group re-keying, link freshness): a factory, a KDC served on its own thread, and thing agents
// in state directories under a temporary directory. Loopback only, ephemeral ports.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "secprof/kdc/kdc.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/thing/agent.h"
#include "secprof/voucher/voucher.h"

namespace secprof::thing::testing {

struct Factory {
  std::string dir;
  manufacture::Manifest manifest;
};

inline Factory MakeFactory(const std::filesystem::path& dir, const std::string& vendor, int n) {
  manufacture::Options o;
  o.vendor = vendor;
  o.model = "Sensor-1";
  o.count = n;
  o.out_dir = (dir / ("factory-" + vendor)).string();
  auto made = manufacture::Manufacture(o);
  EXPECT_TRUE(made) << made.error().message();
  return Factory{o.out_dir, made ? made->manifest : manufacture::Manifest{}};
}

// A KDC serving on its own thread while the object lives.
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

inline std::unique_ptr<Agent> OpenAgent(const std::string& state_dir) {
  AgentOptions ao;
  ao.state_dir = state_dir;
  ao.timeout = std::chrono::milliseconds(3000);
  auto a = Agent::Open(ao);
  EXPECT_TRUE(a) << a.error().message();
  return a ? std::move(*a) : nullptr;
}

inline std::string StateDir(const std::filesystem::path& dir, const Factory& f, size_t i) {
  return (dir / ("thing-" + f.manifest.things[i].serial)).string();
}

inline std::unique_ptr<Agent> NewAgent(const std::filesystem::path& dir, const Factory& f, size_t i,
                                       domain::Profile p) {
  InitOptions io;
  io.state_dir = StateDir(dir, f, i);
  io.factory_dir = f.dir;
  io.serial = f.manifest.things[i].serial;
  io.profile = p;
  io.allow_file_keys = true;  // file-store things also in SecProf_3 (recorded override; item 5)
  auto init = Agent::Init(io);
  EXPECT_TRUE(init) << init.error().message();
  return OpenAgent(io.state_dir);
}

// A SecProf_2 thing joined and operational at `k`.
inline std::unique_ptr<Agent> JoinedSecProf2(const std::filesystem::path& dir, const Factory& f,
                                             size_t i, kdc::Kdc& k) {
  auto a = NewAgent(dir, f, i, domain::Profile::kSecProf2);
  if (!a) return nullptr;
  EXPECT_TRUE(a->Install("127.0.0.1", k.udp_port(), k.dtls_port()));
  auto j = a->Join();
  EXPECT_TRUE(j) << j.error().message();
  EXPECT_TRUE(a->GoOperational());
  return a;
}

inline kdc::KdcOptions SecProf2Options(const std::filesystem::path& dir) {
  kdc::KdcOptions ko;
  ko.profile = domain::Profile::kSecProf2;
  ko.db_path = (dir / "kdc.db").string();
  ko.join_window = std::chrono::seconds(0);
  return ko;
}

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
  std::unique_ptr<Agent> Joined(const std::filesystem::path& dir, size_t i) {
    auto a = NewAgent(dir, f, i, domain::Profile::kSecProf3);
    if (!a) return nullptr;
    EXPECT_TRUE(a->Install("127.0.0.1", kdc->kdc->udp_port(), kdc->kdc->dtls_port()));
    auto j = a->Join();
    EXPECT_TRUE(j) << j.error().message();
    EXPECT_TRUE(a->GoOperational());
    return j ? std::move(a) : nullptr;
  }
};

}  // namespace secprof::thing::testing
