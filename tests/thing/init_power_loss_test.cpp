// Power-loss tests for Agent::Init and Agent::MigrateKek (issue 10 item 7; docs/DOMAIN.md "Thing
// agent", "State directory"), in the style of tests/update/install_power_loss_test.cpp: the
// agent's every write goes through tests/support/fault_fs.h (AgentTestPeer::Init and ::MigrateKek,
// thing/testing.h); the process dies after step n, for every n, and the machine loses what was not
// synced; then the thing is reopened. It must be in its old state or its new one, whole: never a
// state.json that does not parse, never a committed thing without its firmware, never a key it
// cannot open, and once the call returned Ok, the new state. What a crash left is completed by
// running the call again (Init) or by a second run or Open (MigrateKek).
//
// What FaultFs cannot drop: directory creation (it models no directories; Init's parent fsyncs
// are checked with SyncDirRecorder instead, InitDurability) and names made with link(2) outside
// the seam (the KEK file WriteNewKekFile publishes: no test here fails without its directory
// fsync; tests/keystore/durability_test.cpp covers that one).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "../../src/thing/state_io.h"
#include "secprof/cbor/cbor.h"
#include "secprof/crypto/random.h"
#include "secprof/domain/keys.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/kek.h"
#include "secprof/thing/testing.h"
#include "support/domain_fixture.h"
#include "support/fault_fs.h"
#include "support/key_store_checks.h"
#include "support/sync_dir_recorder.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;
using crypto::ByteView;
using crypto::SecureBuffer;
using secprof::testing::ExpectKeysOpen;
using secprof::testing::FaultFs;
using secprof::testing::RestoreKekModes;

constexpr long kMaxSteps = 300;
constexpr const char* kStorePurpose = "thing keystore";  // key_protection.cpp's DeriveKek purpose

ByteView View(const SecureBuffer& b) { return ByteView(b.data(), b.size()); }

// A scratch directory on tmpfs (/dev/shm) where there is one, else in the temporary directory.
// FaultFs passes every fsync through to the real file system, which proves nothing here (FaultFs
// itself models what is durable) and costs seconds per test on a busy disk; on tmpfs it is free.
class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0
                              ? fs::path("/dev/shm")
                              : fs::temp_directory_path();
    std::string tmpl = (base / "secprof-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

SecureBuffer StoreKekFrom(const SecureBuffer& master) {
  auto d = keystore::DeriveKek(View(master), kStorePurpose);
  EXPECT_TRUE(d) << d.error().ToString();
  return d ? std::move(*d) : SecureBuffer();
}

class InitPowerLoss : public ::testing::TestWithParam<FaultFs::Keep> {};

// Init at every step: no thing (state.json absent; Init then runs again over what is left) or a
// whole one: its KEK, every key of its store, its factory image as sequence 1.
TEST_P(InitPowerLoss, NoThingOrAWholeOneAndInitRunsAgain) {
  ScratchDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto f = testing::MakeFactory(tmp.path(), "Acme", 1);
  ASSERT_EQ(f.manifest.things.size(), 1u);
  const std::string serial = f.manifest.things[0].serial;
  bool completed = false;
  long absent = 0, whole = 0;
  for (long n = 0; !completed && n < kMaxSteps; ++n) {
    SCOPED_TRACE("power lost after step " + std::to_string(n));
    const fs::path root = tmp.path() / ("run-" + std::to_string(n));  // the state dir's parent
    fs::create_directories(root);
    InitOptions io{(root / "thing").string(), f.dir, serial, domain::Profile::kSecProf2};
    FaultFs ffs;
    ffs.Watch(root.string());
    ffs.CrashAfter(n);
    completed = AgentTestPeer::Init(io, ffs).has_value();
    ffs.PowerLoss(GetParam());

    AgentOptions ao;
    ao.state_dir = io.state_dir;
    auto a = Agent::Open(ao);
    if (!a) {
      ASSERT_FALSE(completed) << "an acknowledged Init was lost: " << a.error().ToString();
      ASSERT_FALSE(fs::exists(root / "thing" / "state.json"))
          << "a thing that does not open: " << a.error().ToString();
      ++absent;
      auto again = Agent::Init(io);
      ASSERT_TRUE(again) << "Init did not run again over what a crash left: "
                         << again.error().ToString();
      a = Agent::Open(ao);
      ASSERT_TRUE(a) << a.error().ToString();
    } else {
      ++whole;
    }
    EXPECT_EQ((*a)->state().state, State::kManufactured);
    EXPECT_EQ((*a)->state().serial, serial);
    EXPECT_EQ((*a)->RunningFirmware(), 1u) << "a thing without its factory image";
    auto master = keystore::ReadKekFile((root / "thing").string() + ".kek");
    ASSERT_TRUE(master) << master.error().ToString();
    auto id = keystore::KekId(View(*master));
    ASSERT_TRUE(id);
    EXPECT_EQ((*a)->state().kek_id, *id);
    ExpectKeysOpen(root / "thing", StoreKekFrom(*master));
    a->reset();
    fs::remove_all(root);
  }
  EXPECT_TRUE(completed);
  EXPECT_GT(absent, 0);  // the loop did reach the steps before the commit
}

// What FaultFs cannot see: a directory Init creates survives a power loss only once its parent is
// synced (core/fs.h). With the KEK given in hex nothing else syncs these parents.
TEST(InitDurability, EveryDirectoryItCreatesIsSyncedInItsParent) {
  ScratchDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto f = testing::MakeFactory(tmp.path(), "Acme", 1);
  ASSERT_EQ(f.manifest.things.size(), 1u);
  const std::string hex(64, 'a');
  const fs::path root = tmp.path() / "a";
  InitOptions io{(root / "b" / "thing").string(), f.dir, f.manifest.things[0].serial,
                 domain::Profile::kSecProf2};
  io.kek_hex = SecureBuffer(ByteView(reinterpret_cast<const uint8_t*>(hex.data()), hex.size()));
  secprof::testing::SyncDirRecorder rec;
  ASSERT_TRUE(AgentTestPeer::Init(io, rec));
  EXPECT_EQ(rec.SyncsOf(tmp.path()), 1u);  // "a" is new in it
  EXPECT_EQ(rec.SyncsOf(root), 1u);        // "b"
  EXPECT_EQ(rec.SyncsOf(root / "b"), 1u);  // "thing"

  // A failed sync is an error, and no thing is there.
  secprof::testing::SyncDirRecorder failing;
  failing.fail_sync_dir = true;
  io.state_dir = (tmp.path() / "c" / "thing").string();
  EXPECT_FALSE(AgentTestPeer::Init(io, failing));
  EXPECT_FALSE(fs::exists(io.state_dir + "/state.json"));
}

class MigrateKekPowerLoss : public ::testing::TestWithParam<FaultFs::Keep> {
 protected:
  // A SecProf_2 file-key thing in the layout before issue 9 (as tests/cli/
  // thing_key_protection_cli_test.cpp's MakeOldLayout): <state>/kek (the master KEK),
  // <state>/keystore/kek (a store KEK of its own, the keys under it), state.json without "kek",
  // and a pairwise key sealed under the master KEK.
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    f_ = testing::MakeFactory(tmp_.path(), "Acme", 1);
    ASSERT_EQ(f_.manifest.things.size(), 1u);
    serial_ = f_.manifest.things[0].serial;
    const fs::path state = Template();
    InitOptions io{state.string(), f_.dir, serial_, domain::Profile::kSecProf2};
    ASSERT_TRUE(Agent::Init(io));
    auto& rng = crypto::SystemRandomSource();
    auto master = keystore::ReadKekFile(state.string() + ".kek");
    ASSERT_TRUE(master);
    master_ = std::move(*master);
    auto store_kek = rng.DrawSecret(32);
    ASSERT_TRUE(store_kek);
    ASSERT_TRUE(keystore::RewrapFileStore((state / "keystore").string(),
                                          View(StoreKekFrom(master_)), View(*store_kek), rng));
    ASSERT_TRUE(
        WriteFileAtomic((state / "keystore" / "kek").string(), store_kek->AsStringView(), 0600));
    ASSERT_TRUE(WriteFileAtomic((state / "kek").string(), master_.AsStringView(), 0600));
    fs::remove(state.string() + ".kek");
    auto pairwise = rng.DrawSecret(16);
    ASSERT_TRUE(pairwise);
    pairwise_ = std::move(*pairwise);
    cbor::MapEntries e;
    e.emplace_back(cbor::Value::Text("pairwise"), cbor::Value::ByteString(View(pairwise_)));
    const crypto::Bytes plain = cbor::Encode(cbor::Value::Map(std::move(e)));
    auto sealed = domain::WrapKey(View(master_), "thing-secrets:" + serial_, plain, rng);
    ASSERT_TRUE(sealed);
    auto t = LoadState((state / "state.json").string());
    ASSERT_TRUE(t);
    t->kek.clear();
    t->kek_id.clear();
    t->kek_label.clear();
    t->key_overrides.clear();
    t->wrapped_secrets = cbor::ToHex(*sealed);
    ASSERT_TRUE(SaveState((state / "state.json").string(), *t));
  }

  fs::path Template() const { return tmp_.path() / "template" / "thing"; }

  // The agent opened and holds its pairwise key.
  void ExpectSecret(const Agent& a) {
    auto k = AgentTestPeer::PairwiseKey(a);
    ASSERT_TRUE(k) << k.error().ToString();
    EXPECT_EQ(k->AsStringView(), pairwise_.AsStringView());
  }

  ScratchDir tmp_;
  testing::Factory f_;
  std::string serial_;
  SecureBuffer master_, pairwise_;
};

// MigrateKek at every step: the old layout untouched (opens with --allow-colocated-kek, keys under
// the co-located store KEK) or the new one (opens, the key store re-encrypted by then); after Ok,
// the new layout without any co-located KEK file. A second run always completes it.
TEST_P(MigrateKekPowerLoss, OldLayoutOrNewAndEveryKeyOpens) {
  bool completed = false;
  long old_layout = 0, new_layout = 0;
  for (long n = 0; !completed && n < kMaxSteps; ++n) {
    SCOPED_TRACE("power lost after step " + std::to_string(n));
    const fs::path root = tmp_.path() / ("run-" + std::to_string(n));
    const fs::path state = root / "thing";
    fs::create_directories(root);
    fs::copy(Template(), state, fs::copy_options::recursive);
    RestoreKekModes({state / "kek", state / "keystore" / "kek"});
    FaultFs ffs;
    for (const fs::path& d : {root, state, state / "keystore"}) ffs.Watch(d.string());
    AgentOptions ao;
    ao.state_dir = state.string();
    ffs.CrashAfter(n);
    completed = AgentTestPeer::MigrateKek(ao, ffs).has_value();
    ffs.PowerLoss(GetParam());
    RestoreKekModes({state / "kek", state / "keystore" / "kek"});

    auto t = LoadState((state / "state.json").string());
    ASSERT_TRUE(t) << "state.json after the power loss: " << t.error().ToString();
    const bool leftovers = fs::exists(state / "kek") || fs::exists(state / "keystore" / "kek");
    AgentOptions plain;
    plain.state_dir = state.string();
    if (completed) {
      EXPECT_EQ(t->kek, "file") << "an acknowledged migration was lost";
      EXPECT_FALSE(leftovers) << "a KEK file left inside the state directory after Ok";
      auto a = Agent::Open(plain);
      ASSERT_TRUE(a) << a.error().ToString();
      ExpectSecret(**a);
    }
    if (t->kek.empty()) {
      ASSERT_FALSE(completed);
      ++old_layout;
      auto store_kek = keystore::ReadKekFile((state / "keystore" / "kek").string());
      ASSERT_TRUE(store_kek) << store_kek.error().ToString();
      ExpectKeysOpen(state, *store_kek);
      AgentOptions allow = plain;
      allow.allow_colocated_kek = true;
      auto a = Agent::Open(allow);
      ASSERT_TRUE(a) << a.error().ToString();
      ExpectSecret(**a);
    } else {
      ++new_layout;
      EXPECT_EQ(t->kek, "file");
      auto id = keystore::KekId(View(master_));
      ASSERT_TRUE(id);
      EXPECT_EQ(t->kek_id, *id);
      AgentOptions open = plain;  // leftovers: an interrupted run, accepted only with the override
      open.allow_colocated_kek = leftovers;
      auto a = Agent::Open(open);
      ASSERT_TRUE(a) << a.error().ToString();
      ExpectSecret(**a);
      ExpectKeysOpen(state, StoreKekFrom(master_));
    }
    // A second run completes whatever the first left.
    auto again = Agent::MigrateKek(plain);
    ASSERT_TRUE(again) << again.error().ToString();
    EXPECT_FALSE(fs::exists(state / "kek"));
    EXPECT_FALSE(fs::exists(state / "keystore" / "kek"));
    auto a = Agent::Open(plain);
    ASSERT_TRUE(a) << a.error().ToString();
    ExpectSecret(**a);
    ExpectKeysOpen(state, StoreKekFrom(master_));
    a->reset();
    fs::remove_all(root);
  }
  EXPECT_TRUE(completed);
  EXPECT_GT(old_layout, 0);
  EXPECT_GT(new_layout, 0);
}

std::string KeepName(const ::testing::TestParamInfo<FaultFs::Keep>& i) {
  return i.param == FaultFs::Keep::kNothing ? "DropAll" : "KeepNewest";
}
INSTANTIATE_TEST_SUITE_P(Keep, InitPowerLoss,
                         ::testing::Values(FaultFs::Keep::kNothing, FaultFs::Keep::kLastChange),
                         KeepName);
INSTANTIATE_TEST_SUITE_P(Keep, MigrateKekPowerLoss,
                         ::testing::Values(FaultFs::Keep::kNothing, FaultFs::Keep::kLastChange),
                         KeepName);

}  // namespace
}  // namespace secprof::thing
