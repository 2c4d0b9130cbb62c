// Issue 10 item 6, the thing's part: the library reads no environment variable. The KEK comes in
// InitOptions/AgentOptions::kek_hex (the CLI passes $SECPROF_THING_KEK), and a value left in the
// environment is not consulted by the library.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "secprof/thing/reasons.h"
#include "testutil.h"
#include "support/domain_fixture.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;

SecretOption Text(std::string_view s) {
  return crypto::SecureBuffer(
      crypto::ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

const std::string kHexKek(64, 'a');

TEST(ThingOptions, KekComesFromTheOptionsNotTheEnvironment) {
  secprof::testing::TempDir tmp;
  auto f = testing::MakeFactory(tmp.path(), "Acme", 2);
  ASSERT_EQ(f.manifest.things.size(), 2u);

  // A KEK given as hex: no KEK file is made beside the state directory.
  InitOptions io;
  io.state_dir = testing::StateDir(tmp.path(), f, 0);
  io.factory_dir = f.dir;
  io.serial = f.manifest.things[0].serial;
  io.profile = domain::Profile::kSecProf2;
  io.kek_hex = Text(kHexKek);
  auto init = Agent::Init(io);
  ASSERT_TRUE(init) << init.error().message();
  EXPECT_FALSE(fs::exists(io.state_dir + ".kek"));

  AgentOptions ao;
  ao.state_dir = io.state_dir;
  {
    auto missing = Agent::Open(ao);  // no KEK given, none beside the directory
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  }
  {
    // The environment is not the library's to read: the same KEK there changes nothing.
    ::setenv("SECPROF_THING_KEK", kHexKek.c_str(), 1);
    auto ignored = Agent::Open(ao);
    ::unsetenv("SECPROF_THING_KEK");
    ASSERT_FALSE(ignored);
    EXPECT_EQ(ignored.error().code(), ErrorCode::kNotFound);
  }
  {
    AgentOptions bad = ao;
    bad.kek_hex = Text(std::string(64, 'z'));
    auto refused = Agent::Open(bad);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidInput);
    bad.kek_hex = Text("abcd");
    refused = Agent::Open(bad);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidInput);
  }
  {
    AgentOptions wrong = ao;
    wrong.kek_hex = Text(std::string(64, 'b'));
    auto refused = Agent::Open(wrong);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().Is(kWrongKek)) << refused.error().message();
  }
  AgentOptions good = ao;
  good.kek_hex = Text(kHexKek);
  AgentOptions copy = good;  // options copy their secrets (SecretOption clones)
  auto opened = Agent::Open(copy);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ((*opened)->state().kek, "file");

  // Without kek_hex, Init ignores the environment and makes the KEK file beside the directory.
  ::setenv("SECPROF_THING_KEK", kHexKek.c_str(), 1);
  InitOptions io2 = io;
  io2.state_dir = testing::StateDir(tmp.path(), f, 1);
  io2.serial = f.manifest.things[1].serial;
  io2.kek_hex = SecretOption{};
  auto init2 = Agent::Init(io2);
  ::unsetenv("SECPROF_THING_KEK");
  ASSERT_TRUE(init2) << init2.error().message();
  EXPECT_TRUE(fs::exists(io2.state_dir + ".kek"));
}

}  // namespace
}  // namespace secprof::thing
