// FileKeyStore specifics: encryption at rest, file modes, atomic publication, refusals.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "secprof/core/fs.h"
#include "secprof/crypto/random.h"
#include "secprof/keystore/file_store.h"
#include "testutil.h"

namespace secprof::keystore {
namespace {

namespace fs = std::filesystem;
using crypto::Bytes;
using crypto::KeyType;
using crypto::SecureBuffer;
using testing::TempDir;

unsigned Mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

std::string Slurp(const fs::path& p) { return *ReadFile(p.string()); }
void Spit(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
}

SecureBuffer Kek(uint8_t fill) {
  SecureBuffer k(kKekSize);
  std::fill(k.begin(), k.end(), fill);
  return k;
}

class FileStoreTest : public ::testing::Test {
 protected:
  fs::path Dir() const { return tmp_.path() / "keys"; }
  std::unique_ptr<FileKeyStore> Open(SecureBuffer kek = {}) {
    FileKeyStoreOptions o;
    o.dir = Dir().string();
    o.kek = std::move(kek);
    auto s = FileKeyStore::Open(std::move(o));
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? std::move(*s) : nullptr;
  }
  TempDir tmp_;
};

TEST_F(FileStoreTest, DirectoryKeyFilesAndKekArePrivate) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->GenerateKey("dev", KeyType::kP256));
  EXPECT_EQ(Mode(Dir()), 0700u);
  EXPECT_EQ(Mode(Dir() / "dev.key"), 0600u);
  EXPECT_EQ(Mode(Dir() / "kek"), 0600u);
  EXPECT_EQ(fs::file_size(Dir() / "kek"), kKekSize);
}

TEST_F(FileStoreTest, AtomicWriteLeavesNoTemporaryFile) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->GenerateKey("a", KeyType::kP256));
  ASSERT_TRUE(store->GenerateKey("b", KeyType::kEd25519));
  EXPECT_EQ(Names(Dir()), (std::set<std::string>{"kek", "a.key", "b.key"}));
}

TEST_F(FileStoreTest, FileHoldsNeitherPemNorTheRawKeyNorTheDer) {
  auto store = Open();
  ASSERT_TRUE(store->GenerateKey("secret", KeyType::kP256));
  auto der = store->ExportPrivate("secret");
  ASSERT_TRUE(der);
  auto key = crypto::PrivateKey::FromDer(*der);
  ASSERT_TRUE(key);
  auto raw = key->ToRaw();
  ASSERT_TRUE(raw);
  const std::string file = Slurp(Dir() / "secret.key");
  EXPECT_EQ(file.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(file.find(std::string(raw->AsStringView())), std::string::npos);
  EXPECT_EQ(file.find(std::string(der->AsStringView())), std::string::npos);
  EXPECT_EQ(file.substr(0, 4), "SPKS");
  EXPECT_EQ(file.size(), 20 + der->size() + 16);  // header + nonce + ciphertext + tag
}

TEST_F(FileStoreTest, ExportRoundTripsEveryKeyType) {
  auto store = Open();
  for (auto t : {KeyType::kP256, KeyType::kEd25519, KeyType::kX25519}) {
    const std::string label = std::string("k-") + crypto::KeyTypeName(t);
    auto pub = store->GenerateKey(label, t);
    ASSERT_TRUE(pub) << pub.error().ToString();
    auto der = store->ExportPrivate(label);
    ASSERT_TRUE(der);
    auto key = crypto::PrivateKey::FromDer(*der);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->public_key(), *pub);
  }
  EXPECT_TRUE(store->GetSigner("k-Ed25519"));
  EXPECT_FALSE(store->GetSigner("k-X25519"));         // cannot sign
  EXPECT_FALSE(store->GetKeyAgreement("k-Ed25519"));  // cannot agree
  EXPECT_TRUE(store->GetKeyAgreement("k-X25519"));
}

TEST_F(FileStoreTest, ImportNeverOverwrites) {
  auto store = Open();
  auto k1 = crypto::PrivateKey::Generate(KeyType::kP256);
  auto k2 = crypto::PrivateKey::Generate(KeyType::kP256);
  ASSERT_TRUE(store->Import("ca", *k1));
  auto again = store->Import("ca", *k2);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(*store->PublicKey("ca"), k1->public_key());
}

TEST_F(FileStoreTest, TamperedCiphertextIsRefused) {
  auto store = Open();
  ASSERT_TRUE(store->GenerateKey("t", KeyType::kP256));
  const fs::path p = Dir() / "t.key";
  const std::string good = Slurp(p);
  for (size_t pos : {size_t{25}, good.size() / 2, good.size() - 1}) {  // ciphertext, tag
    std::string bad = good;
    bad[pos] ^= 0x01;
    Spit(p, bad);
    auto r = store->Load("t");
    ASSERT_FALSE(r) << pos;
    EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
    EXPECT_NE(r.error().message().find("failed to authenticate"), std::string::npos);
  }
  Spit(p, good);
  EXPECT_TRUE(store->Load("t"));
}

TEST_F(FileStoreTest, EditedHeaderIsRefused) {
  auto store = Open();
  ASSERT_TRUE(store->GenerateKey("h", KeyType::kP256));
  const fs::path p = Dir() / "h.key";
  const std::string good = Slurp(p);
  std::string bad = good;
  bad[6] = 2;  // claims Ed25519: authenticated as AAD, so the tag fails
  Spit(p, bad);
  EXPECT_EQ(store->Load("h").error().code(), ErrorCode::kVerifyFailed);
  bad = good;
  bad[4] = 9;  // unknown version
  Spit(p, bad);
  EXPECT_EQ(store->Load("h").error().code(), ErrorCode::kUnsupported);
  Spit(p, "SPKS");  // truncated
  EXPECT_EQ(store->Load("h").error().code(), ErrorCode::kInvalidInput);
  Spit(p, "-----BEGIN PRIVATE KEY-----\n");  // a plaintext key dropped in
  EXPECT_EQ(store->Load("h").error().code(), ErrorCode::kInvalidInput);
}

TEST_F(FileStoreTest, FileRenamedToAnotherLabelIsRefused) {
  auto store = Open();
  ASSERT_TRUE(store->GenerateKey("victim", KeyType::kP256));
  fs::copy_file(Dir() / "victim.key", Dir() / "attacker.key");
  auto r = store->Load("attacker");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_NE(r.error().message().find("another label"), std::string::npos);
  EXPECT_TRUE(store->Load("victim"));
}

TEST_F(FileStoreTest, WrongKekIsRefused) {
  {
    auto store = Open(Kek(0x11));
    ASSERT_TRUE(store->GenerateKey("k", KeyType::kP256));
  }
  auto wrong = Open(Kek(0x22));
  auto r = wrong->Load("k");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kVerifyFailed);
  auto right = Open(Kek(0x11));
  EXPECT_TRUE(right->Load("k"));
  EXPECT_FALSE(fs::exists(Dir() / "kek"));  // a given KEK is never written down
}

TEST_F(FileStoreTest, ReplacedKekFileIsRefused) {
  {
    auto store = Open();
    ASSERT_TRUE(store->GenerateKey("k", KeyType::kP256));
  }
  std::string kek = Slurp(Dir() / "kek");
  kek[0] ^= 1;
  Spit(Dir() / "kek", kek);
  auto store = Open();
  EXPECT_EQ(store->Load("k").error().code(), ErrorCode::kVerifyFailed);
}

TEST_F(FileStoreTest, BadKeksAndLooseModesAreRefused) {
  FileKeyStoreOptions o;
  o.dir = Dir().string();
  o.kek = SecureBuffer(16);
  auto r = FileKeyStore::Open(std::move(o));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);

  ASSERT_TRUE(Open());  // creates dir and kek
  fs::permissions(Dir() / "kek", fs::perms(0644));
  FileKeyStoreOptions o2;
  o2.dir = Dir().string();
  r = FileKeyStore::Open(std::move(o2));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("0644"), std::string::npos) << r.error().message();

  fs::permissions(Dir() / "kek", fs::perms(0600));
  Spit(Dir() / "kek", "short");
  FileKeyStoreOptions o3;
  o3.dir = Dir().string();
  r = FileKeyStore::Open(std::move(o3));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("expected 32"), std::string::npos) << r.error().message();

  fs::permissions(Dir(), fs::perms(0755));
  FileKeyStoreOptions o4;
  o4.dir = Dir().string();
  o4.kek = Kek(1);
  r = FileKeyStore::Open(std::move(o4));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("0700"), std::string::npos) << r.error().message();
}

TEST_F(FileStoreTest, KeyFileReadableByOthersIsStillDecryptedOnlyWithTheKek) {
  // Modes are defence in depth; the encryption is what protects a copied file. A copy of the key
  // file alone, moved to another store with its own KEK, does not decrypt.
  auto store = Open();
  ASSERT_TRUE(store->GenerateKey("leak", KeyType::kP256));
  TempDir other;
  FileKeyStoreOptions o;
  o.dir = (other.path() / "keys").string();
  auto thief = FileKeyStore::Open(std::move(o));
  ASSERT_TRUE(thief);
  fs::copy_file(Dir() / "leak.key", other.path() / "keys" / "leak.key");
  EXPECT_EQ((*thief)->Load("leak").error().code(), ErrorCode::kVerifyFailed);
}

TEST_F(FileStoreTest, StaleTemporariesOfACrashedWriteDoNotCorrupt) {
  auto store = Open();
  auto pub = store->GenerateKey("old", KeyType::kP256);
  ASSERT_TRUE(pub);
  // What a crash leaves behind: WriteFileAtomic's temporary (half written) and a staged file
  // that was never linked — for a new label and for the existing one.
  Spit(Dir() / ".new.key.tmp-AbC123", "SPKS\x01\x01\x01");
  Spit(Dir() / ".new.key.new-0011223344556677", std::string(80, 'x'));
  Spit(Dir() / ".old.key.tmp-ZyX987", "garbage");
  EXPECT_EQ(*store->List(), std::vector<std::string>{"old"});
  // The existing key is intact and the interrupted label can be created.
  EXPECT_EQ(*store->PublicKey("old"), *pub);
  auto fresh = store->GenerateKey("new", KeyType::kP256);
  ASSERT_TRUE(fresh) << fresh.error().ToString();
  EXPECT_TRUE(store->GetSigner("new"));
  EXPECT_EQ(*store->List(), (std::vector<std::string>{"new", "old"}));
  // Reopening after the crash works too.
  store.reset();
  store = Open();
  EXPECT_EQ(*store->PublicKey("old"), *pub);
}

TEST_F(FileStoreTest, DeterministicWithAFakeRandom) {
  // Nonces and keys come from the Random source: same seed, same files (so tests can pin them),
  // and two files never share a nonce within one stream.
  auto make = [&](const fs::path& dir) {
    static crypto::FakeRandom rng = crypto::FakeRandom::FromSeed(7);
    rng = crypto::FakeRandom::FromSeed(7);
    FileKeyStoreOptions o;
    o.dir = dir.string();
    o.kek = Kek(3);
    o.random = &rng;
    auto s = FileKeyStore::Open(std::move(o));
    EXPECT_TRUE(s);
    EXPECT_TRUE((*s)->GenerateKey("a", KeyType::kP256));
    EXPECT_TRUE((*s)->GenerateKey("b", KeyType::kP256));
  };
  make(tmp_.path() / "one");
  make(tmp_.path() / "two");
  EXPECT_EQ(Slurp(tmp_.path() / "one" / "a.key"), Slurp(tmp_.path() / "two" / "a.key"));
  EXPECT_NE(Slurp(tmp_.path() / "one" / "a.key").substr(8, 12),
            Slurp(tmp_.path() / "one" / "b.key").substr(8, 12));
}

TEST_F(FileStoreTest, FailingRandomLeavesNoFile) {
  auto rng = crypto::FakeRandom::Failing();
  FileKeyStoreOptions o;
  o.dir = Dir().string();
  o.kek = Kek(5);
  o.random = &rng;
  auto s = FileKeyStore::Open(std::move(o));
  ASSERT_TRUE(s);
  EXPECT_FALSE((*s)->GenerateKey("x", KeyType::kP256));
  EXPECT_TRUE(Names(Dir()).empty());
}

}  // namespace
}  // namespace secprof::keystore
