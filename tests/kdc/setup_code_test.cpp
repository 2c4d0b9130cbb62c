// Attacks on the SecProf_2 setup-code join and on refused requests (issue 9, items 4, 9 and the
// setup-code part of 12), against an in-process KDC on 127.0.0.1. The attacker is a raw CoAP
// client (coap::Client, Security::kNone) on the plain-CoAP port the join uses. Time moves only
// when the test says (a thread-safe stepped clock): no timing thresholds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <string>

#include "secprof/domain/setup_code.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "support/kdc_client.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace secprof::testing;
using registry::State;

// A clock the test steps while the KDC's I/O thread reads it (FakeClock is not thread-safe).
class SteppedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return start_ + std::chrono::seconds(offset_.load());
  }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point{} + std::chrono::seconds(offset_.load());
  }
  void Advance(std::chrono::seconds d) { offset_ += d.count(); }

 private:
  std::chrono::system_clock::time_point start_ =
      std::chrono::system_clock::time_point{} + std::chrono::seconds(1'800'000'000);
  std::atomic<int64_t> offset_{0};
};

// A reason's name, as KdcStats::refused counts it (secprof/kdc/reasons.h).
std::string Name(Reason r) { return std::string(r.name()); }

int CountAudit(registry::Registry& reg, const std::string& serial, const std::string& action) {
  auto entries = reg.Audit(serial);
  EXPECT_TRUE(entries) << entries.error().ToString();
  if (!entries) return -1;
  return static_cast<int>(std::count_if(entries->begin(), entries->end(),
                                        [&](const auto& e) { return e.action == action; }));
}

std::string Body(const coap::Response& r) {
  return std::string(r.payload.begin(), r.payload.end());
}

bool Contains(const crypto::Bytes& hay, const crypto::Bytes& needle) {
  return !needle.empty() &&
         std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}
crypto::Bytes B(const std::string& s) { return crypto::Bytes(s.begin(), s.end()); }
crypto::Bytes FileBytes(const fs::path& p) {
  if (!fs::exists(p)) return {};
  auto s = ReadFile(p.string());
  EXPECT_TRUE(s) << p;
  return s ? B(*s) : crypto::Bytes{};
}

// What a refused request must leave as it was.
struct Snapshot {
  State state;
  int64_t joins, updated, key_epoch;
  crypto::Bytes wrapped_key;
  bool operator==(const Snapshot&) const = default;
};
Snapshot Snap(registry::Registry& reg, const std::string& serial) {
  auto t = reg.Get(serial);
  EXPECT_TRUE(t) << t.error().ToString();
  return Snapshot{t->state, t->joins, t->updated, t->key_epoch, t->wrapped_key};
}

class KdcSetupCode : public ::testing::Test {
 protected:
  void SetUp() override {
    factory_ = dir_.path() / "factory";
    manifest_ = MakeFactory(factory_, "Acme", "Plug", 2);
    ASSERT_EQ(manifest_.things.size(), 2u);
    db_ = (dir_.path() / "kdc.db").string();
  }

  std::unique_ptr<Kdc> MakeKdc(std::chrono::seconds grace = 120s, bool allow = true) {
    KdcOptions o;
    o.profile = domain::Profile::kSecProf2;
    o.db_path = db_;
    o.join_window = 0s;
    o.join_repeat_grace = grace;
    auto k = Kdc::Create(std::move(o), clock_);
    EXPECT_TRUE(k) << k.error().ToString();
    if (!k) return nullptr;
    auto tools = OwnerTools::Open(db_, {}, clock_);
    EXPECT_TRUE(tools) << tools.error().ToString();
    if (!tools) return nullptr;
    tools_ = std::move(*tools);
    for (const auto& t : manifest_.things) {
      if (!allow) break;
      auto st = tools_->AllowSetupCode(t.serial, manifest_.vendor, manifest_.model, t.setup_code);
      EXPECT_TRUE(st) << st.error().ToString();
    }
    return std::move(*k);
  }

  const manufacture::ThingRecord& thing(size_t i) const { return manifest_.things[i]; }
  registry::Registry& reg() { return tools_->registry(); }

  // j/nonce as the thing sends it.
  crypto::Bytes Nonce(coap::Client& c, const std::string& serial) {
    auto r =
        PostCbor(c, domain::path::kJoinNonce, domain::Encode(domain::JoinNonceRequest{serial}));
    EXPECT_TRUE(r);
    if (!r || r->code != coap::kCreated) {
      ADD_FAILURE() << "j/nonce refused: " << (r ? Body(*r) : r.error().ToString());
      return {};
    }
    auto n = domain::DecodeJoinNonce(r->payload);
    EXPECT_TRUE(n);
    return n ? n->nonce : crypto::Bytes{};
  }
  coap::Response Psk(coap::Client& c, const std::string& serial, const crypto::Bytes& nonce,
                     const crypto::Bytes& proof) {
    auto r = PostCbor(c, domain::path::kJoinPsk,
                      domain::Encode(domain::PskJoinRequest{serial, nonce, proof}));
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? *r : coap::Response{};
  }
  crypto::Bytes Proof(const std::string& code, const std::string& serial,
                      const crypto::Bytes& nonce) {
    auto p = domain::JoinProof(code, serial, nonce);
    EXPECT_TRUE(p);
    return p ? *p : crypto::Bytes{};
  }

  SteppedClock clock_;
  secprof::testing::TempDir dir_;
  fs::path factory_;
  manufacture::Manifest manifest_;
  std::string db_;
  std::unique_ptr<OwnerTools> tools_;
};

// Item 9: an on-path sender that copies the thing's nonce and sends a forged proof first must not
// burn the nonce: the thing's own j/psk with that nonce still succeeds, and the forgery changed
// nothing. Since issue 11 the nonce is bound to the thing's address and port (docs/DOMAIN.md
// "Nonce"): from the attacker's own socket the copy is refused before the proof is looked at;
// an attacker that spoofs the thing's address and port (played here from the thing's socket)
// reaches the proof check and is refused there.
TEST_F(KdcSetupCode, ForgedProofDoesNotBurnTheThingsNonce) {
  auto kdc = MakeKdc();
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto thing_c = Udp(kdc->udp_port());
  auto attacker = Udp(kdc->udp_port());
  ASSERT_TRUE(thing_c && attacker);
  const std::string serial = thing(0).serial;

  const crypto::Bytes nonce = Nonce(**thing_c, serial);
  ASSERT_FALSE(nonce.empty());
  const Snapshot before = Snap(reg(), serial);
  // The attacker saw the nonce go by and races the thing with a proof under a guessed code.
  crypto::Bytes forged = Proof("AAAA-AAAA-AAAA-AAAA", serial, nonce);
  for (int i = 0; i < 3; ++i) {
    auto r = Psk(**attacker, serial, nonce, forged);
    EXPECT_EQ(r.code, coap::kUnauthorized) << Body(r);
  }
  EXPECT_EQ(kdc->stats().refused[Name(kReplayOrStale)], 3u);
  for (int i = 0; i < 3; ++i) {
    auto r = Psk(**thing_c, serial, nonce, forged);
    EXPECT_EQ(r.code, coap::kUnauthorized) << Body(r);
  }
  EXPECT_EQ(Snap(reg(), serial), before);
  EXPECT_EQ(CountAudit(reg(), serial, "refused:bad-proof"), 3);
  auto recorded = reg().ValidateNonce(nonce, serial);
  ASSERT_FALSE(recorded) << "a refused j/psk recorded the nonce";
  EXPECT_TRUE(recorded.error().Is(registry::kUnknownNonce)) << recorded.error().ToString();

  // The legitimate join with the same nonce succeeds.
  auto ok = Psk(**thing_c, serial, nonce, Proof(thing(0).setup_code, serial, nonce));
  ASSERT_EQ(ok.code, coap::kChanged) << Body(ok);
  EXPECT_EQ(reg().Get(serial)->state, State::kCommissioned);
  // ...and consumed it: the same request again is a replay, from any socket.
  for (auto* c : {&*attacker, &*thing_c}) {
    auto replay = Psk(**c, serial, nonce, Proof(thing(0).setup_code, serial, nonce));
    EXPECT_EQ(replay.code, coap::kUnauthorized) << Body(replay);
  }
  EXPECT_EQ(kdc->stats().refused[Name(kReplayOrStale)], 5u);
}

// Item 4: within the grace a repeated join (the answer was lost) gets the same PSK, and is alerted.
TEST_F(KdcSetupCode, RepeatWithinTheGraceGetsTheSamePskAndIsAlerted) {
  auto kdc = MakeKdc(120s);
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  PskJoined first, again;
  ASSERT_EQ(JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &first).code, coap::kChanged);
  EXPECT_EQ(CountAudit(reg(), thing(0).serial, "alert:join-repeat"), 0);
  clock_.Advance(100s);
  auto r = JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &again);
  ASSERT_EQ(r.code, coap::kChanged) << Body(r);
  ASSERT_EQ(again.psk.size(), first.psk.size());
  EXPECT_TRUE(std::equal(first.psk.data(), first.psk.data() + first.psk.size(), again.psk.data()));
  // A passive sniffer of either answer does not see the PSK: it is sealed under the setup code.
  EXPECT_FALSE(Contains(r.payload, crypto::Bytes(first.psk.data(), first.psk.data() + 32)));
  EXPECT_EQ(reg().Get(thing(0).serial)->joins, 2);
  EXPECT_EQ(CountAudit(reg(), thing(0).serial, "alert:join-repeat"), 1);
  EXPECT_EQ(kdc->stats().join_repeats, 1u);
  // The PSK still opens the DTLS session.
  auto dtls = ConnectPsk(kdc->dtls_port(), first.identity, first.psk);
  ASSERT_TRUE(dtls) << dtls.error().ToString();
}

// Item 4: someone who knows the setup code (it was printed on the box) asks again later: refused,
// the PSK is not disclosed, the registry is unchanged and an alert is audited.
TEST_F(KdcSetupCode, RepeatAfterTheGraceIsRefusedWithoutThePskAndAlerted) {
  auto kdc = MakeKdc(120s);
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  auto attacker = Udp(kdc->udp_port());
  ASSERT_TRUE(udp && attacker);
  const std::string serial = thing(0).serial;
  PskJoined legit;
  ASSERT_EQ(JoinPsk(**udp, serial, thing(0).setup_code, &legit).code, coap::kChanged);
  // The attacker prepares inside the grace: a nonce...
  clock_.Advance(100s);
  const crypto::Bytes nonce = Nonce(**attacker, serial);
  ASSERT_FALSE(nonce.empty());
  // ...and uses it after the grace (the nonce itself is still valid).
  clock_.Advance(21s);
  const Snapshot before = Snap(reg(), serial);
  // The code retired with the grace: no new nonce for it...
  auto n = PostCbor(**attacker, domain::path::kJoinNonce,
                    domain::Encode(domain::JoinNonceRequest{serial}));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->code, coap::kForbidden) << Body(*n);
  // ...and the prepared j/psk with a correct proof does not get the PSK.
  auto r = Psk(**attacker, serial, nonce, Proof(thing(0).setup_code, serial, nonce));
  EXPECT_EQ(r.code, coap::kForbidden) << Body(r);
  EXPECT_FALSE(Contains(r.payload, crypto::Bytes(legit.psk.data(), legit.psk.data() + 32)));
  EXPECT_EQ(Snap(reg(), serial), before);
  EXPECT_EQ(CountAudit(reg(), serial, "alert:join-repeat"), 1);
  EXPECT_EQ(CountAudit(reg(), serial, "refused:join-repeat-refused"), 1);
  EXPECT_EQ(kdc->stats().refused.at(Name(kJoinRepeatRefused)), 1u);
  // The legitimate thing is unaffected.
  auto dtls = ConnectPsk(kdc->dtls_port(), legit.identity, legit.psk);
  ASSERT_TRUE(dtls) << dtls.error().ToString();
  auto rep = PostCbor(**dtls, domain::path::kReport, domain::Encode(domain::Reading{serial, 1, 1}));
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->code, coap::kChanged);
}

// Item 4: the owner retires a code before the join; joins with it are refused and change nothing;
// allowing the thing again with a new code admits it.
TEST_F(KdcSetupCode, RetiredCodeIsRefusedUntilAllowedAgain) {
  auto kdc = MakeKdc();
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  const std::string serial = thing(1).serial;
  const crypto::Bytes early = Nonce(**udp, serial);  // obtained before the retirement
  ASSERT_TRUE(tools_->RetireSetupCode(serial, "box lost in transit"));
  auto again = tools_->RetireSetupCode(serial, "twice");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  const Snapshot before = Snap(reg(), serial);
  auto code = reg().GetSetupCode(serial);
  ASSERT_TRUE(code && *code);
  EXPECT_TRUE((*code)->verifier.empty()) << "a retired code keeps no key";

  auto n =
      PostCbor(**udp, domain::path::kJoinNonce, domain::Encode(domain::JoinNonceRequest{serial}));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->code, coap::kForbidden) << Body(*n);
  auto r = Psk(**udp, serial, early, Proof(thing(1).setup_code, serial, early));
  EXPECT_EQ(r.code, coap::kForbidden) << Body(r);
  EXPECT_EQ(Snap(reg(), serial), before);
  EXPECT_EQ(reg().Get(serial)->state, State::kAllowed);

  // Re-allowing needs a new code.
  const std::string fresh = "QRST-UVWX-YZ23-4567";
  ASSERT_TRUE(tools_->AllowSetupCode(serial, manifest_.vendor, manifest_.model, fresh));
  EXPECT_NE(JoinPsk(**udp, serial, thing(1).setup_code).code, coap::kChanged);
  auto ok = JoinPsk(**udp, serial, fresh);
  EXPECT_EQ(ok.code, coap::kChanged) << Body(ok);
}

// Item 4: codes are long enough that a sniffed exchange does not give them to an offline guesser.
TEST_F(KdcSetupCode, CodesOfFewerThan64BitsAreRefusedAndFactoryCodesHave80) {
  for (const auto& t : manifest_.things) {
    EXPECT_EQ(t.setup_code.size(), manufacture::kSetupCodeLength);
    EXPECT_GE(domain::SetupCodeBits(t.setup_code), 80.0) << t.setup_code;
    EXPECT_TRUE(domain::CheckSetupCodeStrength(t.setup_code));
  }
  EXPECT_DOUBLE_EQ(domain::SetupCodeBits("ABCD-EF01"), 8 * 4.0);  // judged as hex: 4 bits each
  EXPECT_DOUBLE_EQ(domain::SetupCodeBits("QRST-UVWX"), 8 * 5.0);  // the old 40-bit codes
  EXPECT_NEAR(domain::SetupCodeBits("1234567890123456789"), 19 * 3.3219, 0.01);
  EXPECT_EQ(domain::NormalizeSetupCode("abcd-efgh ijkl"), "ABCDEFGHIJKL");
  auto kdc = MakeKdc(120s, /*allow=*/false);
  ASSERT_TRUE(kdc);
  for (const char* weak : {"QRST-UVWX", "123456", "1234567890123456789", "AAAAAAAAAAAAAAA"}) {
    auto st = tools_->AllowSetupCode(thing(0).serial, "Acme", "Plug", weak);
    ASSERT_FALSE(st) << weak;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidInput);
    EXPECT_NE(st.error().message().find("too weak"), std::string::npos) << st.error().message();
  }
  EXPECT_FALSE(reg().Get(thing(0).serial)) << "a refused allow wrote a thing";
  // Case and dashes do not matter: the thing's code typed in lower case without dashes joins.
  std::string typed;
  for (char c : thing(0).setup_code)
    if (c != '-') typed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  ASSERT_TRUE(tools_->AllowSetupCode(thing(0).serial, "Acme", "Plug", typed));
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  auto r = JoinPsk(**udp, thing(0).serial, thing(0).setup_code);
  EXPECT_EQ(r.code, coap::kChanged) << Body(r);
}

// Item 12 (setup-code part): the registry files hold no setup code, only the wrapped key; rows
// written before schema v4 with a code in clear are converted when the KDC opens the registry.
TEST_F(KdcSetupCode, RegistryFilesHoldNoSetupCodeAndLegacyRowsAreConverted) {
  {
    auto kdc = MakeKdc();
    ASSERT_TRUE(kdc);
    // A row as a v2 registry wrote it: thing 1 with its code in the clear column.
    ASSERT_TRUE(reg().database().Exec("UPDATE things SET setup_code = '" + thing(1).setup_code +
                                      "' WHERE serial = '" + thing(1).serial + "'"));
    ASSERT_TRUE(
        reg().database().Exec("DELETE FROM setup_codes WHERE serial = '" + thing(1).serial + "'"));
    tools_.reset();
  }
  auto kdc = MakeKdc(120s, /*allow=*/false);  // converts on open
  ASSERT_TRUE(kdc);
  auto legacy = reg().LegacySetupCodes();
  ASSERT_TRUE(legacy);
  EXPECT_TRUE(legacy->empty());
  EXPECT_EQ(CountAudit(reg(), thing(1).serial, "setup-code-converted"), 1);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  for (size_t i = 0; i < 2; ++i) {
    auto r = JoinPsk(**udp, thing(i).serial, thing(i).setup_code);
    EXPECT_EQ(r.code, coap::kChanged) << Body(r);
  }
  crypto::Bytes files = FileBytes(db_);
  for (const char* ext : {"-wal", "-shm", "-journal"}) {
    crypto::Bytes more = FileBytes(db_ + ext);
    files.insert(files.end(), more.begin(), more.end());
  }
  ASSERT_FALSE(files.empty());
  for (const auto& t : manifest_.things) {
    EXPECT_FALSE(Contains(files, B(t.setup_code))) << t.setup_code << " is in the registry files";
    EXPECT_FALSE(Contains(files, B(domain::NormalizeSetupCode(t.setup_code))))
        << t.setup_code << " (normalized) is in the registry files";
  }
}

// Item 9: a refused fw/status (a campaign the thing is not in) does not rewrite the firmware
// version the registry holds for it, which incident campaigns target by.
TEST_F(KdcSetupCode, RefusedFirmwareStatusLeavesTheFirmwareVersion) {
  auto kdc = MakeKdc();
  ASSERT_TRUE(kdc);
  Serving serving(*kdc);
  auto udp = Udp(kdc->udp_port());
  ASSERT_TRUE(udp);
  PskJoined j;
  ASSERT_EQ(JoinPsk(**udp, thing(0).serial, thing(0).setup_code, &j).code, coap::kChanged);
  auto dtls = ConnectPsk(kdc->dtls_port(), j.identity, j.psk);
  ASSERT_TRUE(dtls) << dtls.error().ToString();
  // Accepted: the offer request records the running version.
  auto offer = PostCbor(**dtls, domain::path::kFirmwareOffer,
                        domain::Encode(domain::FirmwareOfferRequest{7}));
  ASSERT_TRUE(offer);
  ASSERT_EQ(offer->code, coap::kChanged) << Body(*offer);
  ASSERT_EQ(reg().FirmwareVersion(thing(0).serial).value(), std::optional<uint64_t>(7));
  // Refused: campaign 42 does not exist; the claimed version 1 must not be recorded.
  auto status = PostCbor(**dtls, domain::path::kFirmwareStatus,
                         domain::Encode(domain::FirmwareStatus{42, false, "rolled back", 1}));
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code, coap::kForbidden) << Body(*status);
  EXPECT_EQ(reg().FirmwareVersion(thing(0).serial).value(), std::optional<uint64_t>(7));
}

}  // namespace
}  // namespace secprof::kdc
