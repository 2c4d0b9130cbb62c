// secprof/keystore/kek.h: KEK locations kept out of the directories they protect (issue 9 item
// 12): order of sources, refusals (mode, size, bad hex), PathInside, resumable re-encryption.
#include "secprof/keystore/kek.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "secprof/core/fs.h"
#include "secprof/crypto/random.h"
#include "secprof/keystore/file_store.h"
#include "testutil.h"

namespace secprof::keystore {
namespace {

namespace fs = std::filesystem;
using crypto::ByteView;

ByteView View(const crypto::SecureBuffer& b) { return ByteView(b.data(), b.size()); }

TEST(Kek, CreatedOnceBesideNotReplacedAndRefusedWhenLoose) {
  secprof::testing::TempDir tmp;
  auto& rng = crypto::SystemRandomSource();
  const std::string dir = (tmp.path() / "state").string();
  KekLocation loc{"", "", SiblingKekPath(dir + "//")};
  EXPECT_EQ(loc.default_file, dir + ".kek");
  EXPECT_EQ(SiblingKekPath(dir + "/."), dir + ".kek");
  EXPECT_FALSE(PathInside(SiblingKekPath("."), "."));
  auto missing = LoadKek(loc, false, rng);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto a = LoadKek(loc, true, rng);
  ASSERT_TRUE(a) << a.error().ToString();
  auto b = LoadKek(loc, true, rng);  // the same key, never a new one
  ASSERT_TRUE(b);
  EXPECT_TRUE(crypto::ConstantTimeEqual(View(a->key), View(b->key)));
  struct stat st {};
  ASSERT_EQ(::stat(loc.default_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(WriteNewKekFile(loc.default_file, View(a->key), rng).error().code(),
            ErrorCode::kConflict);
  ::chmod(loc.default_file.c_str(), 0640);
  EXPECT_EQ(LoadKek(loc, false, rng).error().code(), ErrorCode::kInvalidInput);
  ::chmod(loc.default_file.c_str(), 0600);
  ASSERT_TRUE(WriteFileAtomic(loc.default_file, "short", 0600));
  EXPECT_EQ(LoadKek(loc, false, rng).error().code(), ErrorCode::kInvalidInput);
}

TEST(Kek, EnvironmentAndExplicitFile) {
  secprof::testing::TempDir tmp;
  auto& rng = crypto::SystemRandomSource();
  const std::string hex(64, 'a');
  // The value comes from the caller (the CLI reads the environment), not from the process
  // environment: a variable set there is ignored.
  ::setenv("SECPROF_TEST_KEK", std::string(64, 'b').c_str(), 1);
  KekLocation loc{"", "SECPROF_TEST_KEK", (tmp.path() / "d.kek").string(), hex};
  auto k = LoadKek(loc, true, rng);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->where, "env:SECPROF_TEST_KEK");
  EXPECT_TRUE(k->path.empty());
  EXPECT_EQ(k->key.data()[0], 0xaa);
  EXPECT_FALSE(fs::exists(loc.default_file));
  loc.env_value = "zz";
  EXPECT_EQ(LoadKek(loc, true, rng).error().code(), ErrorCode::kInvalidInput);
  loc.env_value = std::string(63, 'a') + "g";
  EXPECT_EQ(LoadKek(loc, true, rng).error().code(), ErrorCode::kInvalidInput);
  // No value given: the default file, even with the variable set in the environment.
  loc.env_value.clear();
  auto d = LoadKek(loc, true, rng);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->path, loc.default_file);
  loc.env_value = hex;
  // An explicit file wins over the environment.
  loc.file = (tmp.path() / "x.kek").string();
  auto f = LoadKek(loc, true, rng);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->path, loc.file);
  ::unsetenv("SECPROF_TEST_KEK");
}

TEST(Kek, PathInsideAndDerivation) {
  secprof::testing::TempDir tmp;
  const std::string dir = (tmp.path() / "d").string();
  fs::create_directories(dir);
  EXPECT_TRUE(PathInside(dir + "/kek", dir));
  EXPECT_TRUE(PathInside(dir + "/a/../kek", dir + "/"));
  EXPECT_FALSE(PathInside(dir + ".kek", dir));
  EXPECT_FALSE(PathInside(dir + "/../kek", dir));
  fs::create_directory_symlink(dir, tmp.path() / "link");
  EXPECT_TRUE(PathInside((tmp.path() / "link" / "kek").string(), dir));
  crypto::SecureBuffer master(32);
  auto a = DeriveKek(View(master), "one"), b = DeriveKek(View(master), "two");
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(crypto::ConstantTimeEqual(View(*a), View(*b)));
  auto id1 = KekId(View(master)), id2 = KekId(View(*a));
  ASSERT_TRUE(id1 && id2);
  EXPECT_EQ(id1->size(), 16u);
  EXPECT_NE(*id1, *id2);
}

TEST(Kek, RewrapIsResumable) {
  secprof::testing::TempDir tmp;
  auto& rng = crypto::SystemRandomSource();
  const std::string dir = (tmp.path() / "ks").string();
  auto old_kek = rng.DrawSecret(32), new_kek = rng.DrawSecret(32);
  ASSERT_TRUE(old_kek && new_kek);
  {
    FileKeyStoreOptions o;
    o.dir = dir;
    o.kek = old_kek->Clone();
    auto s = FileKeyStore::Open(std::move(o));
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->GenerateKey("a", crypto::KeyType::kP256));
    ASSERT_TRUE((*s)->GenerateKey("b", crypto::KeyType::kEd25519));
  }
  ASSERT_TRUE(RewrapFileStore(dir, View(*old_kek), View(*new_kek), rng));
  ASSERT_TRUE(RewrapFileStore(dir, View(*old_kek), View(*new_kek), rng));  // again: no-op
  FileKeyStoreOptions o;
  o.dir = dir;
  o.kek = new_kek->Clone();
  auto s = FileKeyStore::Open(std::move(o));
  ASSERT_TRUE(s);
  EXPECT_TRUE((*s)->Load("a"));
  EXPECT_TRUE((*s)->Load("b"));
  FileKeyStoreOptions oo;
  oo.dir = dir;
  oo.kek = old_kek->Clone();
  auto old = FileKeyStore::Open(std::move(oo));
  ASSERT_TRUE(old);
  EXPECT_EQ((*old)->Load("a").error().code(), ErrorCode::kVerifyFailed);
  EXPECT_FALSE(fs::exists(dir + "/kek"));  // explicit KEKs are never written down
}

}  // namespace
}  // namespace secprof::keystore
