// Power-loss test for MigrateDomainKek (issue 10 item 7; docs/KEYSTORE.md "Where the KEKs live",
// Migration), in the style of tests/thing/init_power_loss_test.cpp: the migration's every write
// to the key directory goes through tests/support/fault_fs.h; the process dies after step n, for
// every n, and the machine loses what was not synced. Then the KDC's keys are opened as a start
// would (OpenDomainKeys). Each outcome must be one of:
//   - the old layout, whole: it opens with --allow-colocated-kek and every key of the store opens
//     under the co-located keystore/kek;
//   - an interrupted migration: every start refuses with kek-migration-interrupted (never a key
//     store that is part old KEK, part new, opened as if it were whole);
//   - the new layout: it opens without the override, every key under the KEK outside;
// and once the call returned Ok, the new layout. A second run always completes it.
//
// What FaultFs cannot drop: the KEK file WriteNewKekFile publishes with link(2) outside the seam
// (tests/keystore/durability_test.cpp covers its directory fsync).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "secprof/core/clock.h"
#include "secprof/crypto/random.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "support/fault_fs.h"
#include "support/key_store_checks.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;
using crypto::ByteView;
using crypto::SecureBuffer;
using secprof::testing::ExpectKeysOpen;
using secprof::testing::FaultFs;
using secprof::testing::RestoreKekModes;

constexpr long kMaxSteps = 200;
constexpr const char* kStorePurpose = "kdc keystore";  // key_protection.cpp's DeriveKek purpose

ByteView View(const SecureBuffer& b) { return ByteView(b.data(), b.size()); }

class KekMigrationPowerLoss : public ::testing::TestWithParam<FaultFs::Keep> {
 protected:
  // A KDC key directory in the layout before issue 9 (as tests/cli/kdc_key_protection_cli_test.cpp
  // makes it): wrap.kek (the master KEK) and keystore/kek (a store KEK of its own, the domain CA
  // and DTLS keys under it) inside the directory, no KEK beside it.
  void SetUp() override {
    const fs::path keys = Template();
    fs::create_directories(keys.parent_path());
    auto& rng = crypto::SystemRandomSource();
    auto made = OpenDomainKeys(keys.string(), "Home of Ada", clock_, rng);
    ASSERT_TRUE(made) << made.error().ToString();
    auto master = keystore::ReadKekFile(keys.string() + ".kek");
    ASSERT_TRUE(master) << master.error().ToString();
    master_ = std::move(*master);
    auto derived = keystore::DeriveKek(View(master_), kStorePurpose);
    ASSERT_TRUE(derived);
    auto store_kek = rng.DrawSecret(32);
    ASSERT_TRUE(store_kek);
    old_store_kek_ = std::move(*store_kek);
    ASSERT_TRUE(keystore::RewrapFileStore((keys / "keystore").string(), View(*derived),
                                          View(old_store_kek_), rng));
    ASSERT_TRUE(
        WriteFileAtomic((keys / "keystore" / "kek").string(), old_store_kek_.AsStringView(), 0600));
    ASSERT_TRUE(WriteFileAtomic((keys / "wrap.kek").string(), master_.AsStringView(), 0600));
    fs::remove(keys.string() + ".kek");
  }

  fs::path Template() const { return tmp_.path() / "template" / "kdc.keys"; }

  // The KDC's keys open as a start opens them, with the registry's wrapping KEK unchanged.
  void ExpectOpens(const fs::path& keys, bool allow_colocated) {
    KeyDirOptions o;
    o.allow_colocated_kek = allow_colocated;
    auto k = OpenDomainKeys(keys.string(), "Home of Ada", clock_, crypto::SystemRandomSource(), o);
    ASSERT_TRUE(k) << k.error().ToString();
    EXPECT_EQ(k->wrap_kek.AsStringView(), master_.AsStringView());
    EXPECT_EQ(!k->colocated_kek.empty(), allow_colocated);
  }

  secprof::testing::TempDir tmp_;
  FakeClock clock_{std::chrono::system_clock::now()};
  SecureBuffer master_, old_store_kek_;
};

TEST_P(KekMigrationPowerLoss, OldLayoutInterruptedOrNewNeverAHalfStore) {
  bool completed = false;
  long old_layout = 0, interrupted = 0, new_layout = 0;
  for (long n = 0; !completed && n < kMaxSteps; ++n) {
    SCOPED_TRACE("power lost after step " + std::to_string(n));
    const fs::path root = tmp_.path() / ("run-" + std::to_string(n));
    const fs::path keys = root / "kdc.keys";
    fs::create_directories(root);
    fs::copy(Template(), keys, fs::copy_options::recursive);
    RestoreKekModes({keys / "wrap.kek", keys / "keystore" / "kek"});
    FaultFs ffs;
    for (const fs::path& d : {root, keys, keys / "keystore"}) ffs.Watch(d.string());
    ffs.CrashAfter(n);
    completed = MigrateDomainKek(keys.string(), {}, ffs).has_value();
    ffs.PowerLoss(GetParam());
    RestoreKekModes({keys / "wrap.kek", keys / "keystore" / "kek"});

    const bool marker = fs::exists(keys / "kek-migration");
    const bool wrap = fs::exists(keys / "wrap.kek");
    const bool store = fs::exists(keys / "keystore" / "kek");
    if (completed) {
      EXPECT_FALSE(marker || wrap || store) << "a file left inside the key directory after Ok";
    }
    if (marker) {
      ++interrupted;
      for (bool allow : {false, true}) {
        KeyDirOptions o;
        o.allow_colocated_kek = allow;
        auto k =
            OpenDomainKeys(keys.string(), "Home of Ada", clock_, crypto::SystemRandomSource(), o);
        ASSERT_FALSE(k) << "a half-migrated key directory was opened";
        EXPECT_TRUE(k.error().Is(kKekMigrationInterrupted)) << k.error().ToString();
      }
    } else if (wrap) {
      ++old_layout;
      ASSERT_TRUE(store) << "wrap.kek without keystore/kek: not a layout anything makes";
      ExpectKeysOpen(keys, old_store_kek_);
      ExpectOpens(keys, /*allow_colocated=*/true);
    } else {
      ++new_layout;
      EXPECT_FALSE(store);
      ExpectOpens(keys, /*allow_colocated=*/false);
      auto derived = keystore::DeriveKek(View(master_), kStorePurpose);
      ASSERT_TRUE(derived);
      ExpectKeysOpen(keys, *derived);
    }
    // A second run completes whatever the first left.
    auto again = MigrateDomainKek(keys.string());
    ASSERT_TRUE(again) << again.error().ToString();
    EXPECT_FALSE(fs::exists(keys / "kek-migration"));
    EXPECT_FALSE(fs::exists(keys / "wrap.kek"));
    EXPECT_FALSE(fs::exists(keys / "keystore" / "kek"));
    ExpectOpens(keys, /*allow_colocated=*/false);
    fs::remove_all(root);
  }
  EXPECT_TRUE(completed);
  EXPECT_GT(old_layout, 0);
  EXPECT_GT(interrupted, 0);
  EXPECT_GT(new_layout, 0);
}

std::string KeepName(const ::testing::TestParamInfo<FaultFs::Keep>& i) {
  return i.param == FaultFs::Keep::kNothing ? "DropAll" : "KeepNewest";
}
INSTANTIATE_TEST_SUITE_P(Keep, KekMigrationPowerLoss,
                         ::testing::Values(FaultFs::Keep::kNothing, FaultFs::Keep::kLastChange),
                         KeepName);

}  // namespace
}  // namespace secprof::kdc
