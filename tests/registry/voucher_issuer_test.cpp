// Schema v3 (issue 9 item 3): the vendor CA recorded with each imported voucher.
#include <gtest/gtest.h>

#include "secprof/registry/registry.h"
#include "testutil.h"

namespace secprof::registry {
namespace {

const std::string kCaA(64, 'a');
const std::string kCaB(64, 'b');

TEST(RegistryVoucherIssuer, RecordedWithTheVoucherAndReplacedByTheNext) {
  testing::TempDir tmp;
  auto reg = Registry::Open((tmp.path() / "r.db").string());
  ASSERT_TRUE(reg) << reg.error().message();
  auto& r = **reg;
  ASSERT_TRUE(r.ImportVoucherFrom("sn-1", "Acme", "M", Bytes{1, 2}, 4000000000, kCaA, "owner"));
  auto got = r.VoucherIssuer("sn-1");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, kCaA);
  // A new voucher from another CA replaces the record in the same transaction.
  ASSERT_TRUE(r.ImportVoucherFrom("sn-1", "Acme", "M", Bytes{3}, 4000000000, kCaB, "owner"));
  EXPECT_EQ(**r.VoucherIssuer("sn-1"), kCaB);
  // Imported without a CA: no stale record survives.
  ASSERT_TRUE(r.ImportVoucher("sn-1", "Acme", "M", Bytes{4}, 4000000000, "owner"));
  auto none = r.VoucherIssuer("sn-1");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  // Unknown serial: nothing recorded.
  EXPECT_FALSE(*r.VoucherIssuer("sn-2"));
}

TEST(RegistryVoucherIssuer, RefusedImportsRecordNothing) {
  testing::TempDir tmp;
  auto reg = Registry::Open((tmp.path() / "r.db").string());
  ASSERT_TRUE(reg);
  auto& r = **reg;
  EXPECT_FALSE(r.ImportVoucherFrom("sn-1", "Acme", "M", Bytes{1}, 4000000000, "xyz", "owner"));
  EXPECT_FALSE(r.ImportVoucherFrom("sn-1", "Acme", "M", Bytes{1}, 4000000000, std::string(64, 'A'),
                                   "owner"));
  EXPECT_FALSE(r.Get("sn-1"));
  // A thing beyond "allowed" cannot get a voucher, nor its record changed.
  ASSERT_TRUE(r.ImportVoucherFrom("sn-1", "Acme", "M", Bytes{1}, 4000000000, kCaA, "owner"));
  CommissionInput in;
  in.credential_kind = std::string(kCredentialPsk);
  in.credential_id = "sn-1";
  in.credential_fingerprint = std::string(64, '0');
  in.wrapped_key = Bytes(40, 7);
  ASSERT_TRUE(r.Commission("sn-1", in, "kdc"));
  EXPECT_FALSE(r.ImportVoucherFrom("sn-1", "Acme", "M", Bytes{2}, 4000000000, kCaB, "mallory"));
  EXPECT_EQ(**r.VoucherIssuer("sn-1"), kCaA);
}

}  // namespace
}  // namespace secprof::registry
