// The latest-release statement and the firmware alert (secprof/domain/latest_release.h; suite
// DomainLatestRelease): signed by one key and verified by it, a forged or altered statement
// refused, the strict decoders refusing malformed bodies.
#include <gtest/gtest.h>

#include <algorithm>

#include "secprof/crypto/signer.h"
#include "secprof/domain/latest_release.h"

namespace secprof::domain {
namespace {

crypto::SoftwareSigner MakeSigner() {
  auto sk = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  EXPECT_TRUE(sk);
  auto s = crypto::SoftwareSigner::Create(std::move(*sk),
                                          crypto::SignatureAlgorithm::kEcdsaP256Sha256Der);
  EXPECT_TRUE(s);
  return std::move(*s);
}

LatestRelease Statement() {
  return LatestRelease{"Acme", "Valve", 7, 1700000000, 1700000000 + kLatestReleaseLifetime};
}

TEST(DomainLatestRelease, SignedStatementVerifiesWithTheSignersKeyOnly) {
  crypto::SoftwareSigner ca = MakeSigner();
  auto signed_statement = SignLatestRelease(ca, Statement());
  ASSERT_TRUE(signed_statement) << signed_statement.error().message();
  auto open = OpenLatestRelease(*signed_statement, &ca.public_key());
  ASSERT_TRUE(open) << open.error().message();
  EXPECT_EQ(open->vendor, "Acme");
  EXPECT_EQ(open->model, "Valve");
  EXPECT_EQ(open->sequence, 7u);
  EXPECT_EQ(open->expires - open->issued_at, kLatestReleaseLifetime);
  // The attacker's own key: refused.
  crypto::SoftwareSigner other = MakeSigner();
  auto forged = SignLatestRelease(other, Statement());
  ASSERT_TRUE(forged);
  auto refused = OpenLatestRelease(*forged, &ca.public_key());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kVerifyFailed);
  // One byte of the genuine statement changed (the sequence 7 -> 6): refused.
  crypto::Bytes altered = *signed_statement;
  const crypto::Bytes body = Encode(Statement());
  auto it = std::search(altered.begin(), altered.end(), body.begin(), body.end());
  ASSERT_NE(it, altered.end());
  LatestRelease lower = Statement();
  lower.sequence = 6;
  const crypto::Bytes lower_body = Encode(lower);
  ASSERT_EQ(lower_body.size(), body.size());
  std::copy(lower_body.begin(), lower_body.end(), it);
  auto tampered = OpenLatestRelease(altered, &ca.public_key());
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code(), ErrorCode::kVerifyFailed);
  // Without a key (SecProf_2) only the content is read.
  auto unchecked = OpenLatestRelease(*forged, nullptr);
  ASSERT_TRUE(unchecked);
  EXPECT_EQ(unchecked->sequence, 7u);
}

TEST(DomainLatestRelease, MalformedBodiesAreRefused) {
  crypto::SoftwareSigner ca = MakeSigner();
  EXPECT_FALSE(OpenLatestRelease(crypto::Bytes{}, &ca.public_key()));
  EXPECT_FALSE(OpenLatestRelease(crypto::Bytes{0xa0}, &ca.public_key()));
  EXPECT_FALSE(DecodeLatestRelease(crypto::Bytes{0xa0}));
  LatestRelease backwards = Statement();
  backwards.expires = backwards.issued_at;
  auto b = DecodeLatestRelease(Encode(backwards));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), ErrorCode::kInvalidInput);
  LatestRelease no_vendor = Statement();
  no_vendor.vendor.clear();
  EXPECT_FALSE(DecodeLatestRelease(Encode(no_vendor)));
  auto round = DecodeLatestRelease(Encode(Statement()));
  ASSERT_TRUE(round);
  EXPECT_EQ(round->issued_at, 1700000000);
}

TEST(DomainLatestRelease, AlertsRoundTripAndBadKindsAreRefused) {
  auto a = DecodeFirmwareAlert(Encode(FirmwareAlert{kAlertUpdateWithheld, "seq 2 > 1"}));
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->kind, "update-withheld");
  EXPECT_EQ(a->detail, "seq 2 > 1");
  EXPECT_FALSE(DecodeFirmwareAlert(Encode(FirmwareAlert{"", "x"})));
  EXPECT_FALSE(DecodeFirmwareAlert(Encode(FirmwareAlert{"Bad Kind", "x"})));
  EXPECT_FALSE(DecodeFirmwareAlert(Encode(FirmwareAlert{"ok", std::string(1001, 'x')})));
}

}  // namespace
}  // namespace secprof::domain
