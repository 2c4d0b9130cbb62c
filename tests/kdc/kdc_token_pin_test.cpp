// Issue 10 item 6 at the KDC: the library takes the domain CA token's PIN only from its options
// (KeyDirOptions::ca_pin, a kdc::Pin held in a SecureBuffer); $SECPROF_PKCS11_PIN is the CLI's to
// read. A separate binary: SOFTHSM2_CONF is per process.
#include <gtest/gtest.h>

#include <cstdlib>

#include "secprof/kdc/kdc.h"
#include "support/kdc_client.h"
#include "support/softhsm_fixture.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

TEST(KdcTokenPin, TheLibraryReadsNoPinFromTheEnvironment) {
  SECPROF_REQUIRE_SOFTHSM();
  ::secprof::testing::SoftHsmToken token;
  ASSERT_TRUE(token.ok()) << token.init_output();
  ::secprof::testing::TempDir tmp;
  const auto factory = tmp.path() / "factory";
  ASSERT_EQ(testing::MakeFactory(factory, "Acme", "Robot", 1).things.size(), 1u);

  KdcOptions o;
  o.profile = domain::Profile::kSecProf3;
  o.db_path = (tmp.path() / "kdc.db").string();
  o.vendor_ca_files = {(factory / "ca" / "ca.pem").string()};
  o.kek.ca_token = token.Options().token_label;
  // The right PIN in the environment only: the token cannot be opened.
  ::setenv("SECPROF_PKCS11_PIN", ::secprof::testing::kTestPin, 1);
  auto without = Kdc::Create(o);
  ::unsetenv("SECPROF_PKCS11_PIN");
  EXPECT_FALSE(without) << "the KDC took the PIN from the environment";

  // The same PIN in the options: the domain is created with its CA key in the token. A copy of
  // the options carries a copy of the PIN.
  o.kek.ca_pin = token.Options().pin;
  const KdcOptions copy = o;
  EXPECT_EQ(copy.kek.ca_pin.text(), ::secprof::testing::kTestPin);
  EXPECT_NE(copy.kek.ca_pin.value().data(), o.kek.ca_pin.value().data());
  auto with = Kdc::Create(copy);
  ASSERT_TRUE(with) << with.error().ToString();
  EXPECT_EQ((*with)->options().kek.ca_pin.text(), ::secprof::testing::kTestPin);
}

}  // namespace
}  // namespace secprof::kdc
