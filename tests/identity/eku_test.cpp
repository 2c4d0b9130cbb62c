// extendedKeyUsage in LDevIDs (RFC 5280 §4.2.1.12; the KDC and thing roles of docs/DOMAIN.md
// "Roles and anchors") and SameSubject's name comparison.
#include <gtest/gtest.h>

#include "secprof/identity/identity.h"

namespace secprof::identity {
namespace {

crypto::SoftwareSigner Key() {
  auto k = crypto::PrivateKey::Generate(crypto::KeyType::kP256);
  EXPECT_TRUE(k);
  auto s =
      crypto::SoftwareSigner::Create(std::move(*k), crypto::SignatureAlgorithm::kEcdsaP256Sha256);
  EXPECT_TRUE(s);
  return std::move(*s);
}

TEST(IdentityEku, WrittenAndReadBackOnlyWhenAsked) {
  auto ca_key = Key();
  auto dev_key = Key();
  auto ca = CreateDomainCa(ca_key, {.organization = "Owner"});
  ASSERT_TRUE(ca);
  auto csr = CreateRequest(dev_key, {.common_name = "d", .serial_number = "SN-1"});
  ASSERT_TRUE(csr);
  LdevidPolicy plain;
  auto no_eku = IssueLdevid(ca_key, *ca, *csr, plain);
  ASSERT_TRUE(no_eku);
  EXPECT_FALSE(no_eku->extended_key_usage());
  EXPECT_FALSE(no_eku->HasExtendedKeyUsage(eku::kClientAuth));  // absent is not "any"
  LdevidPolicy thing;
  thing.extended_key_usage = {std::string(eku::kClientAuth)};
  auto client = IssueLdevid(ca_key, *ca, *csr, thing);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->extended_key_usage());
  EXPECT_EQ(*client->extended_key_usage(), std::vector<std::string>{"1.3.6.1.5.5.7.3.2"});
  EXPECT_TRUE(client->HasExtendedKeyUsage(eku::kClientAuth));
  EXPECT_FALSE(client->HasExtendedKeyUsage(eku::kServerAuth));
  // It still validates (X509_V_FLAG_X509_STRICT) against its CA.
  EXPECT_TRUE(VerifyCertificate(*client, {.trust_anchors = {*ca}}));
  LdevidPolicy bad;
  bad.extended_key_usage = {"not an oid"};
  auto refused = IssueLdevid(ca_key, *ca, *csr, bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidInput);
}

TEST(IdentityEku, SameSubjectComparesAsChainBuildingDoes) {
  auto k1 = Key();
  auto k2 = Key();
  auto k3 = Key();
  auto a = CreateVendorCa(k1, {.organization = "Owner", .common_name = "Owner Domain CA"});
  auto b = CreateVendorCa(k2, {.organization = "OWNER", .common_name = "owner  domain ca"});
  auto c = CreateVendorCa(k3, {.organization = "Other", .common_name = "Owner Domain CA"});
  ASSERT_TRUE(a && b && c);
  EXPECT_FALSE(a->subject() == b->subject());  // the text differs ...
  EXPECT_TRUE(SameSubject(*a, *b));            // ... the name, as OpenSSL matches issuers, does not
  EXPECT_FALSE(SameSubject(*a, *c));
}

}  // namespace
}  // namespace secprof::identity
