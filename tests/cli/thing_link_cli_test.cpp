// Issue 9 item 11 against processes: the SecProf_1 receiver is `secprof thing serve` (a child),
// imprinted by a mother (an in-process agent) that seals link frames. The frames are recorded,
// the receiver process is stopped and started again, and the recording is replayed: refused
// (4.01). A fresh frame is accepted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "secprof/coap/coap.h"
#include "secprof/domain/protocol.h"
#include "support/child_process.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;
using secprof::testing::TempDir;
using testing::Child;
using testing::Quote;
using testing::Secprof;
using testing::WaitReady;

coap::Code PostTo(uint16_t port, const char* path, const crypto::Bytes& body) {
  auto c = coap::Client::Connect("127.0.0.1", port, coap::ClientConfig{});
  EXPECT_TRUE(c);
  if (!c) return coap::Code{};
  auto r = (*c)->Post(path, body);
  EXPECT_TRUE(r);
  return r ? r->code : coap::Code{};
}

TEST(LinkCli, RecordedFramesReplayedToARestartedServeProcessAreRefused) {
  TempDir tmp;
  auto f = testing::MakeFactory(tmp.path(), "Home", 2);
  auto mother = testing::NewAgent(tmp.path(), f, 0, domain::Profile::kSecProf1);
  ASSERT_TRUE(mother);
  ASSERT_TRUE(mother->BecomeMother());
  const fs::path chick = tmp.path() / "chick";
  ASSERT_EQ(Secprof("thing --state " + Quote(chick.string()) + " init --factory " + Quote(f.dir) +
                    " --serial " + f.manifest.things[1].serial + " --profile SecProf_1")
                .exit_code,
            0);
  auto serve = [&](const std::string& name) {
    return std::make_unique<Child>(
        std::vector<std::string>{"thing", "--state", chick.string(), "serve", "--ready-file",
                                 (tmp.path() / (name + ".ready")).string()},
        tmp.path() / (name + ".log"));
  };
  std::vector<crypto::Bytes> recorded;
  {
    auto rx = serve("first");
    auto ports = WaitReady(*rx, tmp.path() / "first.ready", tmp.path() / "first.log");
    ASSERT_TRUE(ports);
    auto imprint = mother->MakeImprint();
    ASSERT_TRUE(imprint);
    ASSERT_EQ(PostTo(ports->udp, domain::path::kPair, domain::Encode(*imprint)), coap::kChanged);
    for (uint8_t i = 0; i < 3; ++i) {
      auto fr = mother->SealLinkFrame(crypto::Bytes{i});
      ASSERT_TRUE(fr);
      recorded.push_back(*fr);
      EXPECT_EQ(PostTo(ports->udp, domain::path::kLink, *fr), coap::kChanged);
    }
    EXPECT_EQ(rx->Stop(), 0);
  }
  const std::string before = testing::Slurp(chick / "state.json");
  auto rx = serve("second");
  auto ports = WaitReady(*rx, tmp.path() / "second.ready", tmp.path() / "second.log");
  ASSERT_TRUE(ports);
  for (const auto& fr : recorded)
    EXPECT_EQ(PostTo(ports->udp, domain::path::kLink, fr), coap::kUnauthorized);
  EXPECT_EQ(testing::Slurp(chick / "state.json"), before);  // refused frames change nothing
  auto fresh = mother->SealLinkFrame(crypto::Bytes{42});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(PostTo(ports->udp, domain::path::kLink, *fresh), coap::kChanged);
  EXPECT_EQ(rx->Stop(), 0);
}

}  // namespace
}  // namespace secprof::thing
