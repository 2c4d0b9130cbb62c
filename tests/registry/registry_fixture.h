// Shared by the registry_*_test.cpp files: realistic commission inputs, the documented audit
// hash computed independently of the implementation, and the RegistryTest fixture (a fresh
// registry on a fake clock). A named namespace, so that every file sees one fixture type.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "secprof/crypto/hash.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry::registry_fixture {

using secprof::testing::TempDir;
using namespace std::chrono_literals;

inline constexpr int64_t kStart = 1'700'000'000;  // the fake clock's start, unix s

inline constexpr State kAllStates[] = {
    State::kAllowed,        State::kCommissioned, State::kOperational, State::kMaintenance,
    State::kDecommissioned, State::kRevoked,      State::kEvicted,     State::kReplaced};

inline std::string Hex(const crypto::Sha256Digest& d) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

// A realistic fingerprint: hex SHA-256 of `seed`.
inline std::string Fingerprint(const std::string& seed) {
  auto d =
      crypto::Sha256(crypto::ByteView(reinterpret_cast<const uint8_t*>(seed.data()), seed.size()));
  return Hex(*d);
}

// The documented audit hash (docs/REGISTRY.md), computed independently of the implementation.
inline crypto::Sha256Digest EntryHash(const crypto::Sha256Digest& prev, const AuditEntry& e) {
  Bytes in(prev.begin(), prev.end());
  auto u64 = [&](uint64_t v) {
    for (int i = 7; i >= 0; --i) in.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto lp = [&](const std::string& s) {
    for (int i = 3; i >= 0; --i) in.push_back(static_cast<uint8_t>(s.size() >> (8 * i)));
    in.insert(in.end(), s.begin(), s.end());
  };
  u64(static_cast<uint64_t>(e.seq));
  u64(static_cast<uint64_t>(e.time));
  lp(e.actor);
  lp(e.action);
  lp(e.serial);
  lp(e.detail);
  return *crypto::Sha256(in);
}

inline Bytes Key(uint8_t fill, size_t n = 48) { return Bytes(n, fill); }

inline CommissionInput Ldevid(const std::string& id, uint8_t key = 1) {
  CommissionInput in;
  in.credential_kind = "ldevid";
  in.credential_id = id;
  in.credential_fingerprint = Fingerprint(id);
  in.ldevid_pem = "-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n";
  in.wrapped_key = Key(key);
  return in;
}

inline CommissionInput Psk(const std::string& id, uint8_t key = 2) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = id;
  in.credential_fingerprint = Fingerprint("psk:" + id);
  in.wrapped_key = Key(key);
  return in;
}

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : clock_(std::chrono::system_clock::time_point(std::chrono::seconds(kStart))) {}
  void SetUp() override {
    path_ = (dir_.path() / "kdc.db").string();
    auto r = Registry::Open(path_, clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
  }
  int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch())
        .count();
  }
  int64_t AuditSize() {
    auto a = reg_->Audit();
    EXPECT_TRUE(a);
    return a ? static_cast<int64_t>(a->size()) : -1;
  }
  int Count(const std::string& action, const std::string& serial) {
    auto a = reg_->Audit(serial);
    EXPECT_TRUE(a);
    int n = 0;
    for (const auto& e : *a) n += e.action == action;
    return n;
  }
  State StateOf(const std::string& serial) {
    auto t = reg_->Get(serial);
    EXPECT_TRUE(t) << serial;
    return t ? t->state : State::kAllowed;
  }
  // A thing with `serial` brought to state `s` through the public API.
  void MakeThing(const std::string& serial, State s) {
    ASSERT_TRUE(reg_->Allow(serial, "acme", "bulb", std::nullopt, "owner"));
    if (s == State::kAllowed) return;
    if (s == State::kReplaced) {
      ASSERT_TRUE(reg_->Allow(serial + "-new", "acme", "bulb", std::nullopt, "owner"));
      ASSERT_TRUE(reg_->Replace(serial, serial + "-new", "owner"));
      return;
    }
    ASSERT_TRUE(reg_->Commission(serial, Ldevid("cert-" + serial), "kdc"));
    if (s == State::kDecommissioned || s == State::kRevoked || s == State::kEvicted) {
      ASSERT_TRUE(reg_->Transition(serial, s, "owner", ""));
      return;
    }
    if (s == State::kCommissioned) return;
    ASSERT_TRUE(reg_->Transition(serial, State::kOperational, "kdc", ""));
    if (s == State::kOperational) return;
    ASSERT_TRUE(reg_->Transition(serial, State::kMaintenance, "kdc", ""));
  }
  std::unique_ptr<store::Database> Raw() {
    auto db = store::Database::Open(path_);
    EXPECT_TRUE(db) << db.error().ToString();
    return db ? std::move(*db) : nullptr;
  }

  TempDir dir_;
  FakeClock clock_;
  std::string path_;
  std::unique_ptr<Registry> reg_;
};

}  // namespace secprof::registry::registry_fixture
