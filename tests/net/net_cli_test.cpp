// `secprof net simulate`: the same seed prints the same output; bad arguments exit 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testutil.h"

namespace secprof::testing {
namespace {

const std::string kArgs = " net simulate --nodes 16 --seed 4 --duration 200 --data-start 60";

TEST(NetCli, SameSeedSameOutput) {
  const RunResult a = secprof::testing::Run(Binary() + kArgs + " --format json");
  const RunResult b = secprof::testing::Run(Binary() + kArgs + " --format json");
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  const auto j = nlohmann::json::parse(a.out);
  EXPECT_EQ(j["schema"], "secprof.net.simulate.v1");
  EXPECT_EQ(j["joined"], 15);
  EXPECT_GT(j["data_sent"].get<int>(), 0);
  const RunResult text = secprof::testing::Run(Binary() + kArgs);
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("PDR"), std::string::npos);
  const RunResult other = secprof::testing::Run(Binary() +
                                                " net simulate --nodes 16 --seed 5 --duration 200 "
                                                "--data-start 60 --format json");
  EXPECT_NE(a.out, other.out);
}

TEST(NetCli, BadArgumentsExitTwo) {
  EXPECT_EQ(secprof::testing::Run(Binary() + " net simulate --topology ring 2>&1").exit_code, 2);
  EXPECT_EQ(secprof::testing::Run(Binary() + " net simulate --attack wormhole 2>&1").exit_code, 2);
  EXPECT_EQ(secprof::testing::Run(Binary() + " net simulate --nodes 1 2>&1").exit_code, 2);
  EXPECT_EQ(secprof::testing::Run(Binary() + " net simulate --profile SecProf_7 2>&1").exit_code,
            2);
  const RunResult help = secprof::testing::Run(Binary() + " net simulate --help");
  EXPECT_NE(help.out.find("NOT built yet"), std::string::npos);
}

}  // namespace
}  // namespace secprof::testing
