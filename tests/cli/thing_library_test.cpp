// What `secprof thing` takes from the thing library besides the agent: the state-directory lock
// (thing::StateLock) and SecProf_1's pairing client (thing::SendImprint), in-process on loopback.
// The commands themselves are checked through the binary in tests/thing/*_cli_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "secprof/scenario/scenario.h"
#include "secprof/thing/pairing_client.h"
#include "secprof/thing/state_lock.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(ThingStateLock, OneHolderAtATime) {
  secprof::testing::TempDir dir;
  const std::string state = (dir.path() / "t1").string();
  auto none = StateLock::Take(state);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
  fs::create_directories(state);
  {
    auto first = StateLock::Take(state);
    ASSERT_TRUE(first) << first.error().ToString();
    auto second = StateLock::Take(state);  // another open file description: refused
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
    StateLock moved = std::move(*first);  // the lock goes with the object
    EXPECT_FALSE(StateLock::Take(state));
  }
  EXPECT_TRUE(StateLock::Take(state));  // released when the holder died
}

TEST(ThingPairingClient, AMotherImprintsAThingInPairingModeOnce) {
  secprof::testing::TempDir dir;
  auto fleet = scenario::MakeFleet({dir.path(), domain::Profile::kSecProf1, "HomeCo", 2, nullptr});
  ASSERT_TRUE(fleet) << fleet.error().ToString();
  Agent& mother = *fleet->things[0];
  Agent& duckling = *fleet->things[1];
  // Not a mother yet: nothing to hand over.
  EXPECT_FALSE(SendImprint(mother, {"127.0.0.1", 9, "nowhere"}, 500ms));
  ASSERT_TRUE(mother.BecomeMother());
  {
    auto srv = scenario::RunningThingServer::Start(duckling, {});
    ASSERT_TRUE(srv) << srv.error().ToString();
    const uint16_t port = (*srv)->server->udp_port();
    auto st = SendImprint(mother, {"127.0.0.1", port, "the duckling"}, 3000ms);
    ASSERT_TRUE(st) << st.error().ToString();
    // Imprinted: a second imprint is refused, and the refusal names the target as given.
    auto again = SendImprint(mother, {"127.0.0.1", port, "the duckling"}, 3000ms);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), ErrorCode::kVerifyFailed);
    EXPECT_EQ(again.error().message().rfind("the thing at the duckling refused the imprint: ", 0),
              0u)
        << again.error().message();
  }
  EXPECT_EQ(duckling.state().state, State::kCommissioned);
  EXPECT_EQ(duckling.state().owner, mother.state().owner);
}

}  // namespace
}  // namespace secprof::thing
