// tests/thing/authz_util.h — helpers for the authentication/authorization attack tests (issue 9
// items 1-3 and 10) on top of the shared domain fixture (tests/support/domain_fixture.h: the
// served KDC, agents): things in vendor-named state directories, vouchers, a fake KDC (a
// coap::Server with whatever certificate the attacker holds) and state-file snapshots.
// Loopback only, ephemeral ports; every server started here is stopped by its destructor.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "secprof/core/fs.h"
#include "secprof/kdc/kdc.h"
#include "secprof/thing/agent.h"
#include "secprof/voucher/voucher.h"
#include "support/domain_fixture.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::authz_testing {

namespace fs = std::filesystem;

inline std::string ThingDir(const fs::path& dir, const manufacture::Manifest& m, size_t i) {
  return (dir / ("thing-" + m.vendor + "-" + m.things[i].serial)).string();
}

// Thing `i` of `m` made in `factory`, initialised for SecProf_3 in ThingDir(dir, m, i).
inline std::unique_ptr<thing::Agent> NewThing(const fs::path& dir, const fs::path& factory,
                                              const manufacture::Manifest& m, size_t i) {
  return secprof::testing::InitAgent(ThingDir(dir, m, i), factory.string(), m.things[i].serial,
                                     domain::Profile::kSecProf3);
}

// Issues and imports a voucher for `serial` (created at clock.Now()).
inline void ImportVoucher(const fs::path& factory, const std::string& serial,
                          kdc::OwnerTools& owner, const std::string& owner_name,
                          const Clock& clock = SystemClock(),
                          std::chrono::seconds validity = std::chrono::hours(24 * 365)) {
  auto vendor = voucher::Factory::Open(factory.string());
  ASSERT_TRUE(vendor) << vendor.error().message();
  auto v = vendor->Issue(serial, owner.domain_ca(), owner_name, validity, clock);
  ASSERT_TRUE(v) << v.error().message();
  auto imp = owner.ImportVoucher(*v, vendor->vendor_ca());
  ASSERT_TRUE(imp) << imp.error().message();
}

// Points the thing whose state is in `state_dir` at another DTLS port (what an on-path attacker
// achieves by redirecting its traffic). The agent must be closed.
inline void Repoint(const std::string& state_dir, uint16_t dtls_port) {
  auto text = ReadFile(state_dir + "/state.json");
  ASSERT_TRUE(text);
  auto j = nlohmann::ordered_json::parse(*text);
  j["kdc"]["dtls"] = dtls_port;
  ASSERT_TRUE(WriteFileAtomic(state_dir + "/state.json", j.dump(2) + "\n", 0600));
}

inline std::string Snapshot(const std::string& state_dir) {
  auto text = ReadFile(state_dir + "/state.json");
  EXPECT_TRUE(text);
  return text ? *text : std::string();
}

// A fake KDC: DTLS with the attacker's certificate and key, answering 2.04 "ok" to every
// operational POST (report, state, decommission, group and pair keys) and counting them.
struct FakeKdc {
  std::unique_ptr<coap::Server> server;
  std::atomic<int> requests{0};
  std::jthread io;
  // `voucher_response`: what GET j/voucher answers (a join's first step), when not empty.
  FakeKdc(const std::string& cert_pem, const crypto::SecureBuffer& key_pem,
          const std::string& anchors_pem, crypto::Bytes voucher_response = {}) {
    coap::ServerConfig cfg;
    cfg.udp_port = std::nullopt;
    cfg.dtls_port = 0;
    coap::PkiConfig pki;
    pki.certificate_pem = cert_pem;
    pki.private_key_pem = key_pem.Clone();
    pki.trust_anchors_pem = anchors_pem;
    pki.require_peer_certificate = false;
    cfg.pki = std::move(pki);
    auto s = coap::Server::Create(std::move(cfg));
    EXPECT_TRUE(s) << s.error().message();
    if (!s) return;
    server = std::move(*s);
    for (const char* p : {domain::path::kReport, domain::path::kState, domain::path::kDecommission,
                          domain::path::kGroupKey, domain::path::kPairKey})
      server->AddResource(p, coap::Method::kPost, [this](const coap::Request&) {
        ++requests;
        return coap::Response{coap::kChanged, coap::content_format::kTextPlain, coap::Text("ok")};
      });
    if (!voucher_response.empty())
      server->AddResource(domain::path::kVoucher, coap::Method::kGet,
                          [this, v = std::move(voucher_response)](const coap::Request&) {
                            ++requests;
                            return coap::Response{coap::kContent, coap::content_format::kCbor, v};
                          });
    io = std::jthread([this](std::stop_token st) { (void)server->Serve(st); });
  }
  ~FakeKdc() {
    if (io.joinable()) {
      io.request_stop();
      io.join();
    }
  }
  uint16_t port() const { return server ? server->dtls_port() : 0; }
};

}  // namespace secprof::authz_testing
