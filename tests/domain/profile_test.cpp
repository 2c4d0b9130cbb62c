// Tests for secprof/domain/profile.h (suite DomainProfile): the run-time policy table read against
// the brief §3 (/work/shared/design/BRIEF.md "What each profile means at run time", from the
// earlier draft revision's Figures 7 to 10), row by row, and the profile names.
#include <gtest/gtest.h>

#include <string>

#include "secprof/domain/profile.h"

namespace secprof::domain {
namespace {

constexpr Profile kAll[] = {Profile::kSecProf1, Profile::kSecProf2, Profile::kSecProf3,
                            Profile::kSecProf4};

TEST(DomainProfile, TableRowsAreTheirProfiles) {
  for (Profile p : kAll) {
    EXPECT_EQ(PolicyFor(p).profile, p) << ProfileName(p);
    ASSERT_NE(PolicyFor(p).summary, nullptr);
    EXPECT_NE(std::string(PolicyFor(p).summary).find(ProfileName(p)), std::string::npos)
        << "the summary names its profile: " << PolicyFor(p).summary;
  }
}

// Brief §3 "architecture": SecProf_1 is distributed with no central device; SecProf_2 can move
// to a local KDC (secprof runs it with one); SecProf_3/4 are centralized.
TEST(DomainProfile, Architecture) {
  EXPECT_FALSE(PolicyFor(Profile::kSecProf1).kdc);
  EXPECT_TRUE(PolicyFor(Profile::kSecProf2).kdc);
  EXPECT_TRUE(PolicyFor(Profile::kSecProf3).kdc);
  EXPECT_TRUE(PolicyFor(Profile::kSecProf4).kdc);
}

// Brief §3 "bootstrapping": the resurrecting duckling for SecProf_1, the KDC managing network
// access with the first key in the clear for SecProf_2, an authenticated exchange with the
// manufacturer identity and the owner's authorization (the voucher) for SecProf_3/4, which
// "cannot be eavesdropped".
TEST(DomainProfile, Bootstrapping) {
  const Policy& p1 = PolicyFor(Profile::kSecProf1);
  EXPECT_EQ(p1.bootstrap, Bootstrap::kDuckling);
  EXPECT_TRUE(p1.first_key_in_clear);
  EXPECT_GT(p1.pairing_window.count(), 0) << "a short pairing window";

  const Policy& p2 = PolicyFor(Profile::kSecProf2);
  EXPECT_EQ(p2.bootstrap, Bootstrap::kSetupCode);
  EXPECT_TRUE(p2.first_key_in_clear);
  EXPECT_GT(p2.pairing_window.count(), 0);

  for (Profile p : {Profile::kSecProf3, Profile::kSecProf4}) {
    EXPECT_EQ(PolicyFor(p).bootstrap, Bootstrap::kVoucher) << ProfileName(p);
    EXPECT_FALSE(PolicyFor(p).first_key_in_clear) << ProfileName(p);
  }
  EXPECT_LE(p1.pairing_window, p2.pairing_window) << "the duckling's window is the short one";
}

// Brief §3 "security model": no tamper resistance and one key across layers for SecProf_1/2;
// non-extractable keys and key separation per layer and process for SecProf_3/4.
TEST(DomainProfile, SecurityModel) {
  for (Profile p : {Profile::kSecProf1, Profile::kSecProf2}) {
    EXPECT_FALSE(PolicyFor(p).tamper_resistant) << ProfileName(p);
    EXPECT_FALSE(PolicyFor(p).key_separation) << ProfileName(p);
  }
  for (Profile p : {Profile::kSecProf3, Profile::kSecProf4}) {
    EXPECT_TRUE(PolicyFor(p).tamper_resistant) << ProfileName(p);
    EXPECT_TRUE(PolicyFor(p).key_separation) << ProfileName(p);
  }
}

// Brief §3 "application security": none for SecProf_1; DTLS with KDC-distributed keys and a
// session-key policy for SecProf_2; as SecProf_2 plus pairwise keys from the KDC (DTLS with the
// LDevID) for SecProf_3/4. "network security": multicast without origin authentication for
// SecProf_1/2, with it for SecProf_3/4.
TEST(DomainProfile, ApplicationAndGroupSecurity) {
  EXPECT_EQ(PolicyFor(Profile::kSecProf1).app, AppSecurity::kNone);
  EXPECT_EQ(PolicyFor(Profile::kSecProf2).app, AppSecurity::kDtlsPsk);
  EXPECT_EQ(PolicyFor(Profile::kSecProf3).app, AppSecurity::kDtlsPki);
  EXPECT_EQ(PolicyFor(Profile::kSecProf4).app, AppSecurity::kDtlsPki);

  for (Profile p : {Profile::kSecProf2, Profile::kSecProf3, Profile::kSecProf4}) {
    EXPECT_GT(PolicyFor(p).session_max_messages, 0u) << ProfileName(p) << ": session-key policy";
    EXPECT_GT(PolicyFor(p).session_max_age.count(), 0) << ProfileName(p);
  }
  for (Profile p : {Profile::kSecProf1, Profile::kSecProf2})
    EXPECT_FALSE(PolicyFor(p).group_origin_auth) << ProfileName(p);
  for (Profile p : {Profile::kSecProf3, Profile::kSecProf4}) {
    EXPECT_TRUE(PolicyFor(p).group_origin_auth) << ProfileName(p);
    EXPECT_TRUE(PolicyFor(p).rekey_on_join) << ProfileName(p) << ": backward secrecy (issue 9)";
  }
}

// SecProf_4 is "as SecProf_3" in every row secprof builds (its additions — sandboxing, roaming,
// the backend and OSCORE — are not built, and its summary says so).
TEST(DomainProfile, SecProf4IsSecProf3InEveryBuiltRow) {
  const Policy& p3 = PolicyFor(Profile::kSecProf3);
  const Policy& p4 = PolicyFor(Profile::kSecProf4);
  EXPECT_EQ(p4.kdc, p3.kdc);
  EXPECT_EQ(p4.bootstrap, p3.bootstrap);
  EXPECT_EQ(p4.app, p3.app);
  EXPECT_EQ(p4.tamper_resistant, p3.tamper_resistant);
  EXPECT_EQ(p4.key_separation, p3.key_separation);
  EXPECT_EQ(p4.group_origin_auth, p3.group_origin_auth);
  EXPECT_EQ(p4.first_key_in_clear, p3.first_key_in_clear);
  EXPECT_EQ(p4.session_max_messages, p3.session_max_messages);
  EXPECT_EQ(p4.session_max_age, p3.session_max_age);
  EXPECT_EQ(p4.rekey_on_join, p3.rekey_on_join);
  EXPECT_NE(std::string(p4.summary).find("not built"), std::string::npos) << p4.summary;
}

TEST(DomainProfile, NamesParseBack) {
  for (Profile p : kAll) {
    auto byname = ParseProfile(ProfileName(p));
    ASSERT_TRUE(byname) << ProfileName(p);
    EXPECT_EQ(*byname, p);
    auto bydigit = ParseProfile(std::string(1, static_cast<char>('0' + static_cast<int>(p))));
    ASSERT_TRUE(bydigit) << ProfileName(p);
    EXPECT_EQ(*bydigit, p);
  }
  EXPECT_STREQ(ProfileName(Profile::kSecProf1), "SecProf_1");
  EXPECT_STREQ(ProfileName(Profile::kSecProf4), "SecProf_4");
  for (const char* bad :
       {"", "0", "5", "SecProf_5", "SecProf_0", "secprof_1", "SecProf1", "SecProf_1 ", "12"}) {
    auto r = ParseProfile(bad);
    ASSERT_FALSE(r) << "'" << bad << "' accepted";
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  }
}

}  // namespace
}  // namespace secprof::domain
