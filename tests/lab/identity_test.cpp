// The identity/ scenarios (T1, T2, T6, T11) against live domains: each attack blocked where a
// profile's defence claims it, and succeeding where the profile has no such defence or in the
// negative control (src/lab/identity/).
#include <gtest/gtest.h>

#include "secprof/lab/live_domain.h"
#include "secprof/lab/scenario.h"
#include "testutil.h"

namespace secprof::lab {
namespace {

using domain::Profile;

// One scenario run in a fresh directory; `pool` gives SecProf_3/4 their tokens (may be null).
struct LabRun {
  secprof::testing::TempDir dir;
  std::optional<TokenPool> pool;
  Result<Measurement> m = Fail(ErrorCode::kInternal, "not run");

  LabRun(const char* id, Profile p, bool tokens = false, bool defence_off = false) {
    const Scenario* s = FindScenario(id);
    if (!s) {
      m = Fail(ErrorCode::kNotFound, std::string("no scenario ") + id);
      return;
    }
    RunContext ctx;
    ctx.profile = p;
    ctx.dir = dir.path() / "run";
    ctx.defence_off = defence_off;
    if (tokens) {
      pool = TokenPool::Prepare(dir.path());
      ctx.tokens = &*pool;
    }
    m = s->Run(ctx);
  }
  bool no_tokens() const { return pool && !pool->ok(); }
  std::string Evidence() const {
    std::string out;
    if (m)
      for (const auto& e : m->evidence) out += e.kind + ": " + e.summary + "\n" + e.data + "\n";
    return out;
  }
};

// ---- lab.substitute (T2) -------------------------------------------------------------------

TEST(LabSubstitute, NegativeControlTheAdmittedDeviceJoins) {
  LabRun r("lab.substitute", Profile::kSecProf2, false, /*defence_off=*/true);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kSucceeded) << r.m->reason << "\n" << r.Evidence();
}

// ---- lab.clone (T1) -------------------------------------------------------------------------

TEST(LabClone, SecProf1CopyIsServedAsTheThingUndetected) {
  LabRun r("lab.clone", Profile::kSecProf1);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kSucceeded) << r.m->reason << "\n" << r.Evidence();
}

TEST(LabClone, SecProf2CopyRunningBesideTheThingIsQuarantined) {
  LabRun r("lab.clone", Profile::kSecProf2);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_EQ(r.m->control, "kdc.registry_unique_identity");
  // The KDC's own word: a refusal reason of the clone guard and its audit entry.
  EXPECT_TRUE(r.m->reason.find("quarantined") != std::string::npos ||
              r.m->reason.find("stale-reading") != std::string::npos)
      << r.m->reason;
  EXPECT_NE(r.Evidence().find("1 alert:clone-suspected"), std::string::npos) << r.Evidence();
}

TEST(LabClone, SecProf3CopyWithoutTheTokenDoesNotRun) {
  LabRun r("lab.clone", Profile::kSecProf3, true);
  if (r.no_tokens()) GTEST_SKIP() << r.pool->problem();
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_EQ(r.m->control, "keystore.pkcs11_nonextractable");
}

// Without a token (the file-keys override) the copy of a SecProf_3 thing runs, with its LDevID and
// key: the clone guard stops it as in SecProf_2.
TEST(LabClone, SecProf3WithFileKeysTheCopyMeetsTheCloneGuard) {
  LabRun r("lab.clone", Profile::kSecProf3);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_EQ(r.m->control, "kdc.registry_unique_identity");
}

// ---- lab.extract (T6) -----------------------------------------------------------------------

TEST(LabExtract, SecProf2FilesGiveThePskAndItOpensASessionAsTheThing) {
  LabRun r("lab.extract", Profile::kSecProf2);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kSucceeded) << r.m->reason << "\n" << r.Evidence();
  // The state directory alone opens nothing; with the KEK beside it, the PSK works.
  EXPECT_NE(r.Evidence().find("state directory alone: the copy holds no KEK file"),
            std::string::npos)
      << r.Evidence();
  EXPECT_NE(r.m->reason.find("GET k/revoked answered 2.05"), std::string::npos) << r.m->reason;
}

TEST(LabExtract, SecProf3TokenRefusesToGiveUpTheKeys) {
  LabRun r("lab.extract", Profile::kSecProf3, true);
  if (r.no_tokens()) GTEST_SKIP() << r.pool->problem();
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_EQ(r.m->control, "keystore.pkcs11_nonextractable");
  EXPECT_EQ(r.m->reason, "CKR_ATTRIBUTE_SENSITIVE");
}

TEST(LabExtract, NegativeControlSecProf3WithFileKeysGivesUpTheLdevidKey) {
  LabRun r("lab.extract", Profile::kSecProf3, false, /*defence_off=*/true);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kSucceeded) << r.m->reason << "\n" << r.Evidence();
  EXPECT_NE(r.m->reason.find("LDevID and its key"), std::string::npos) << r.m->reason;
}

TEST(LabExtract, TokenProfileWithoutTokensIsNotTestable) {
  secprof::testing::TempDir dir;
  RunContext ctx;
  ctx.profile = Profile::kSecProf4;
  ctx.dir = dir.path();
  auto m = FindScenario("lab.extract")->Run(ctx);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  EXPECT_EQ(m->outcome, Outcome::kNotTestable);
}

// ---- lab.substitute_foreign_ca (T2) ---------------------------------------------------------

TEST(LabSubstituteForeignCa, AnotherVendorsMintedSerialIsRefusedAndTheGenuineThingJoins) {
  LabRun r("lab.substitute_foreign_ca", Profile::kSecProf3);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_EQ(r.m->control, "kdc.voucher_check");
  EXPECT_EQ(r.m->reason, "wrong-vendor-ca");
  EXPECT_NE(r.Evidence().find("then joins: commissioned"), std::string::npos) << r.Evidence();
}

TEST(LabSubstituteForeignCa, NegativeControlWithTheOtherVendorsVoucherEnrolls) {
  LabRun r("lab.substitute_foreign_ca", Profile::kSecProf3, false, /*defence_off=*/true);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kSucceeded) << r.m->reason << "\n" << r.Evidence();
}

TEST(LabSubstituteForeignCa, NotApplicableWithoutCertificateJoins) {
  for (Profile p : {Profile::kSecProf1, Profile::kSecProf2}) {
    LabRun r("lab.substitute_foreign_ca", p);
    ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
    EXPECT_EQ(r.m->outcome, Outcome::kNotApplicable);
    EXPECT_FALSE(r.m->reason.empty());
  }
}

// ---- lab.privilege_* (T11) ------------------------------------------------------------------

TEST(LabPrivilegeOwnerOps, SecProf2ThingCannotActForAnotherThingOrTheKdc) {
  LabRun r("lab.privilege_owner_ops", Profile::kSecProf2);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_EQ(r.m->control, "kdc.registry");
  EXPECT_NE(r.m->reason.find("spoofed-reading"), std::string::npos) << r.m->reason;
}

TEST(LabPrivilegeOwnerOps, SecProf3ThingCannotEnrollAnotherSerialWithItsLdevid) {
  LabRun r("lab.privilege_owner_ops", Profile::kSecProf3, true);
  if (r.no_tokens()) GTEST_SKIP() << r.pool->problem();
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_NE(r.m->reason.find("already-enrolled"), std::string::npos) << r.m->reason;
}

TEST(LabPrivilegeOwnerOps, SecProf1MemberCannotReImprintAnotherMember) {
  LabRun r("lab.privilege_owner_ops", Profile::kSecProf1);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_EQ(r.m->control, "thing.imprint_once");
}

TEST(LabPrivilegeOtherKeys, SecProf2NoOtherGroupsKeyAndNoPeerWithoutItsTicket) {
  LabRun r("lab.privilege_other_keys", Profile::kSecProf2);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << r.Evidence();
  EXPECT_NE(r.m->reason.find("not-member"), std::string::npos) << r.m->reason;
}

TEST(LabPrivilegeOtherKeys, SecProf1MemberSpeaksInTheMothersName) {
  LabRun r("lab.privilege_other_keys", Profile::kSecProf1);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kSucceeded) << r.m->reason << "\n" << r.Evidence();
}

TEST(LabPrivilegeEvicted, SecProf2KdcRefusesTheEvictedThingAndThePeerDropsItsTicket) {
  LabRun r("lab.privilege_evicted", Profile::kSecProf2);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  const std::string ev = r.Evidence();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << ev;
  EXPECT_EQ(r.m->control, "kdc.evict");
  EXPECT_NE(r.m->reason.find("retired"), std::string::npos) << r.m->reason;  // the KDC's reason
  // The open session, the credential and (after its poll) the peer all refused it.
  EXPECT_NE(ev.find("open session: POST k/pair for "), std::string::npos) << ev;
  EXPECT_NE(ev.find("new session"), std::string::npos) << ev;
  EXPECT_NE(ev.find("after B's revocation poll: refused"), std::string::npos) << ev;
}

TEST(LabPrivilegeEvicted, NotApplicableInSecProf1) {
  LabRun r("lab.privilege_evicted", Profile::kSecProf1);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kNotApplicable);
}

// ---- lab.voucher_* (T2) ---------------------------------------------------------------------

TEST(LabVoucherExpired, SecProf3ExpiredVoucherRefusedAtImportAndAtTheJoin) {
  LabRun r("lab.voucher_expired", Profile::kSecProf3);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  const std::string ev = r.Evidence();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << ev;
  EXPECT_EQ(r.m->control, "kdc.voucher_check");
  EXPECT_EQ(r.m->reason, "voucher-expired");  // the KDC's refusal of the join
  EXPECT_NE(ev.find("import of a voucher expired an hour ago: "), std::string::npos) << ev;
  EXPECT_EQ(ev.find("expired an hour ago: imported"), std::string::npos) << ev;
  EXPECT_NE(ev.find("valid voucher joins: commissioned"), std::string::npos) << ev;
}

TEST(LabVoucherOtherDomain, SecProf3VoucherPinningAnotherDomainIsRefused) {
  LabRun r("lab.voucher_other_domain", Profile::kSecProf3);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  const std::string ev = r.Evidence();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << ev;
  EXPECT_EQ(r.m->control, "kdc.voucher_check");
  EXPECT_NE(ev.find("valid voucher joins: commissioned"), std::string::npos) << ev;
}

TEST(LabVoucherReplayed, SecProf3UsedVoucherDoesNotBringBackAResetThing) {
  LabRun r("lab.voucher_replayed", Profile::kSecProf3);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  const std::string ev = r.Evidence();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << ev;
  // The registry refuses the re-import and the KDC the retired serial.
  EXPECT_EQ(r.m->control, "kdc.revoke");
  EXPECT_EQ(r.m->reason, "retired");
  EXPECT_NE(ev.find("commissioned, decommissioned and factory reset"), std::string::npos) << ev;
  EXPECT_EQ(ev.find("joins with it: commissioned"), std::string::npos) << ev;
}

TEST(LabVoucher, NotApplicableWithoutVouchers) {
  for (const char* id : {"lab.voucher_expired", "lab.voucher_other_domain", "lab.voucher_replayed"})
    for (Profile p : {Profile::kSecProf1, Profile::kSecProf2}) {
      LabRun r(id, p);
      ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
      EXPECT_EQ(r.m->outcome, Outcome::kNotApplicable) << id;
    }
}

// ---- lab.revoked (T1/T6) --------------------------------------------------------------------

TEST(LabRevoked, SecProf2CopiedCredentialRefusedAtTheKdcAndTheTicketDroppedByThePeer) {
  LabRun r("lab.revoked", Profile::kSecProf2);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  const std::string ev = r.Evidence();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << ev;
  EXPECT_EQ(r.m->control, "kdc.revoke");
  // The KDC refuses the copied PSK in the handshake (the key lookup finds no active thing), and
  // the peer drops the old ticket at its revocation poll.
  EXPECT_NE(ev.find("session with the copied credential: DTLS handshake"), std::string::npos) << ev;
  EXPECT_NE(ev.find("after B's revocation poll: refused"), std::string::npos) << ev;
}

TEST(LabRevoked, SecProf1ResetMembersDomainKeyStillWorks) {
  LabRun r("lab.revoked", Profile::kSecProf1);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kSucceeded) << r.m->reason << "\n" << r.Evidence();
}

// ---- lab.extract_kdc (T6) -------------------------------------------------------------------

TEST(LabExtractKdc, SecProf2CopyOfRegistryAndKeyDirectoryOpensNothing) {
  LabRun r("lab.extract_kdc", Profile::kSecProf2);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  const std::string ev = r.Evidence();
  EXPECT_EQ(r.m->outcome, Outcome::kBlocked) << r.m->reason << "\n" << ev;
  EXPECT_EQ(r.m->control, "kdc.pairwise_keys");
  EXPECT_NE(ev.find("registry + key directory: the key directory does not open"), std::string::npos)
      << ev;
  // With the host's KEK file beside the key directory (its default place), everything opens:
  // recorded, not judged (the attacker here holds a copy of --db and --keys only).
  EXPECT_NE(ev.find("(<keys>.kek) too: recovered: the pairwise key of"), std::string::npos) << ev;
}

TEST(LabExtractKdc, NotApplicableInSecProf1) {
  LabRun r("lab.extract_kdc", Profile::kSecProf1);
  ASSERT_TRUE(r.m.has_value()) << r.m.error().message();
  EXPECT_EQ(r.m->outcome, Outcome::kNotApplicable);
}

}  // namespace
}  // namespace secprof::lab
