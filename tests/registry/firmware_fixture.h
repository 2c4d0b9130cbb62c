// Shared by firmware_test.cpp and firmware_incident_test.cpp: firmware and thing inputs, a dump of
// every row (to show that a refusal changes nothing) and the RegistryFirmwareTest fixture. A named
// namespace, so that both files see one fixture type.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "../../src/registry/schema.h"  // the v1 migration, to build a v1 file exactly as v1 did
#include "secprof/crypto/hash.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry::firmware_fixture {

using secprof::testing::TempDir;
using namespace std::chrono_literals;

inline constexpr int64_t kStart = 1'700'000'000;
inline constexpr uint64_t kTooBig = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1;

inline std::string Hex(const crypto::Sha256Digest& d) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

inline std::string Digest(const std::string& seed) {
  return Hex(*crypto::Sha256(
      crypto::ByteView(reinterpret_cast<const uint8_t*>(seed.data()), seed.size())));
}

inline Firmware MakeFirmware(uint64_t sequence, const std::string& model = "bulb") {
  Firmware fw;
  fw.vendor = "acme";
  fw.model = model;
  fw.sequence = sequence;
  fw.envelope = Bytes{0xd8, 0x6b, 0xa2, static_cast<uint8_t>(sequence)};
  fw.image_path = "/var/lib/secprof/fw/" + model + "-" + std::to_string(sequence) + ".bin";
  fw.image_size = 4096 + sequence;
  fw.image_digest = Digest(model + std::to_string(sequence));
  return fw;
}

inline CommissionInput Psk(const std::string& id) {
  CommissionInput in;
  in.credential_kind = "psk";
  in.credential_id = id;
  in.credential_fingerprint = Digest("psk:" + id);
  in.wrapped_key = Bytes(48, 7);
  return in;
}

// The documented audit hash (docs/REGISTRY.md), computed independently of the implementation.
inline crypto::Sha256Digest EntryHash(const crypto::Sha256Digest& prev, int64_t seq, int64_t time,
                                      const std::string& actor, const std::string& action,
                                      const std::string& serial, const std::string& detail) {
  Bytes in(prev.begin(), prev.end());
  auto u64 = [&](uint64_t v) {
    for (int i = 7; i >= 0; --i) in.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto lp = [&](const std::string& s) {
    for (int i = 3; i >= 0; --i) in.push_back(static_cast<uint8_t>(s.size() >> (8 * i)));
    in.insert(in.end(), s.begin(), s.end());
  };
  u64(static_cast<uint64_t>(seq));
  u64(static_cast<uint64_t>(time));
  lp(actor);
  lp(action);
  lp(serial);
  lp(detail);
  return *crypto::Sha256(in);
}

// Every row of every table (sorted), as text: equal dumps mean nothing changed.
inline std::vector<std::string> Dump(store::Database& db) {
  std::vector<std::string> tables;
  {
    auto st = db.Prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
    EXPECT_TRUE(st);
    while (*st->Step()) tables.push_back(st->Text(0));
  }
  std::vector<std::string> out;
  for (const std::string& t : tables) {
    auto st = db.Prepare("SELECT * FROM \"" + t + "\"");
    EXPECT_TRUE(st) << t;
    std::vector<std::string> rows;
    while (*st->Step()) {
      std::string row = t + ":";
      for (int c = 0; c < st->ColumnCount(); ++c) {
        if (st->IsNull(c)) {
          row += "|NULL";
        } else {
          Bytes b = st->Blob(c);
          row += "|" + std::string(b.begin(), b.end());
        }
      }
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
    out.insert(out.end(), rows.begin(), rows.end());
  }
  out.push_back("user_version " + std::to_string(*db.UserVersion()));
  return out;
}

class RegistryFirmwareTest : public ::testing::Test {
 protected:
  RegistryFirmwareTest()
      : clock_(std::chrono::system_clock::time_point(std::chrono::seconds(kStart))) {}
  void SetUp() override {
    path_ = (dir_.path() / "kdc.db").string();
    auto r = Registry::Open(path_, clock_);
    ASSERT_TRUE(r) << r.error().ToString();
    reg_ = std::move(*r);
  }
  void TearDown() override {
    if (reg_) {
      auto v = reg_->VerifyAuditChain();
      EXPECT_TRUE(v) << v.error().ToString();
      EXPECT_TRUE(reg_->database().IntegrityCheck());
    }
  }
  std::vector<std::string> Snapshot() { return Dump(reg_->database()); }
  // An operational thing of acme/`model`.
  void Thing(const std::string& serial, const std::string& model = "bulb") {
    ASSERT_TRUE(reg_->Allow(serial, "acme", model, std::nullopt, "owner"));
    ASSERT_TRUE(reg_->Commission(serial, Psk("psk-" + serial), "kdc"));
    ASSERT_TRUE(reg_->Transition(serial, State::kOperational, "kdc", ""));
  }
  int64_t AddFw(uint64_t sequence, const std::string& model = "bulb") {
    auto id = reg_->AddFirmware(MakeFirmware(sequence, model), "owner");
    EXPECT_TRUE(id) << id.error().ToString();
    return id ? *id : 0;
  }
  std::vector<AuditEntry> Actions(const std::string& action) {
    auto a = reg_->Audit();
    EXPECT_TRUE(a);
    std::vector<AuditEntry> out;
    for (const auto& e : *a) {
      if (e.action == action) out.push_back(e);
    }
    return out;
  }
  std::vector<TargetStatus> Statuses(int64_t campaign) {
    auto t = reg_->CampaignTargets(campaign);
    EXPECT_TRUE(t) << t.error().ToString();
    std::vector<TargetStatus> out;
    for (const auto& x : *t) out.push_back(x.status);
    return out;
  }
  // Expects `status` to fail with `code` and to leave every row as it was.
  template <class R>
  void ExpectRefused(const std::vector<std::string>& before, const R& result, ErrorCode code,
                     const std::string& message_part = "") {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), code) << result.error().ToString();
    if (!message_part.empty()) {
      EXPECT_NE(result.error().message().find(message_part), std::string::npos)
          << result.error().message();
    }
    EXPECT_EQ(Snapshot(), before);
  }

  TempDir dir_;
  FakeClock clock_;
  std::string path_;
  std::unique_ptr<Registry> reg_;
};

using W = TargetStatus;
inline constexpr W kW = TargetStatus::kWaiting, kO = TargetStatus::kOffered,
                   kI = TargetStatus::kInstalled, kF = TargetStatus::kFailed;

}  // namespace secprof::registry::firmware_fixture
