// tests/support/key_store_checks.h — what the power-loss tests of a key directory check after the
// machine restarted (tests/thing/init_power_loss_test.cpp,
// tests/kdc/kek_migration_power_loss_test.cpp).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <initializer_list>

#include "secprof/crypto/secure_buffer.h"
#include "secprof/keystore/file_store.h"

namespace secprof::testing {

// FaultFs re-creates a file whose removal was not synced with the default mode; a real power loss
// keeps the inode, mode 0600. KEK files are refused in any other mode (keystore/kek.h), so the
// tests put back the mode of each of `kek_files` that exists.
inline void RestoreKekModes(std::initializer_list<std::filesystem::path> kek_files) {
  for (const auto& p : kek_files)
    if (std::filesystem::exists(p)) ::chmod(p.c_str(), 0600);
}

// Every key of the file key store in `dir`/keystore opens under `kek`, and there is at least one.
inline void ExpectKeysOpen(const std::filesystem::path& dir, const crypto::SecureBuffer& kek) {
  keystore::FileKeyStoreOptions o;
  o.dir = (dir / "keystore").string();
  o.kek = kek.Clone();
  auto store = keystore::FileKeyStore::Open(std::move(o));
  ASSERT_TRUE(store) << store.error().ToString();
  auto labels = (*store)->List();
  ASSERT_TRUE(labels) << labels.error().ToString();
  EXPECT_FALSE(labels->empty());
  for (const auto& l : *labels) {
    auto k = (*store)->Load(l);
    EXPECT_TRUE(k) << l << ": " << k.error().ToString();
  }
}

}  // namespace secprof::testing
