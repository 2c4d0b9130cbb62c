// Issue 9 items 8 and 11.
//  8: backward secrecy of group keys in SecProf_3: a thing added to a group must not receive the
//     key that protected the group's earlier traffic (the owner's `group add` re-keys).
// 11: SecProf_1 link freshness survives a restart: frames recorded before the receiver restarts
//     are replayed to a new receiver process-equivalent (a new Agent and ThingServer on the same
//     state directory) and must be refused; fresh frames are accepted.
#include <gtest/gtest.h>

#include <thread>

#include "secprof/coap/coap.h"
#include "secprof/core/fs.h"
#include "secprof/domain/protocol.h"
#include "secprof/voucher/voucher.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

using namespace std::chrono_literals;
using domain::Profile;
using secprof::testing::TempDir;
using testing::MakeFactory;
using testing::NewAgent;
using testing::OpenAgent;
using testing::StateDir;

TEST(GroupBackwardSecrecy, SecProf3NewMemberCannotReadTheEarlierEpoch) {
  TempDir tmp;
  testing::SecProf3Domain d;
  ASSERT_NO_FATAL_FAILURE(d.Start(tmp.path(), 2));
  auto& owner = d.owner;
  std::vector<std::unique_ptr<Agent>> t;
  for (size_t i = 0; i < 2; ++i) {
    t.push_back(d.Joined(tmp.path(), i));
    ASSERT_TRUE(t.back());
  }
  Agent& a = *t[0];
  Agent& b = *t[1];
  ASSERT_TRUE(owner->CreateGroup("line-1"));
  ASSERT_TRUE(owner->AddMember("line-1", a.state().serial));
  auto ga = a.FetchGroupKey("line-1");
  ASSERT_TRUE(ga) << ga.error().message();
  auto before = a.SealGroupMessage("line-1", crypto::Bytes{'s', 'e', 'c', 'r', 'e', 't'});
  ASSERT_TRUE(before);

  // B joins: the group is re-keyed in the same transaction.
  ASSERT_TRUE(owner->AddMember("line-1", b.state().serial));
  auto g = owner->registry().GetGroup("line-1");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->epoch, ga->epoch + 1);
  auto gb = b.FetchGroupKey("line-1");
  ASSERT_TRUE(gb) << gb.error().message();
  EXPECT_EQ(gb->epoch, ga->epoch + 1);
  // The newcomer holds only the new key: not the one the earlier message was sealed under.
  ASSERT_EQ(gb->key.size(), ga->key.size());
  EXPECT_FALSE(std::equal(gb->key.data(), gb->key.data() + gb->key.size(), ga->key.data()));
  EXPECT_FALSE(b.OpenGroupMessage("line-1", *before, gb->members));
  auto audit = owner->registry().Audit(b.state().serial);
  ASSERT_TRUE(audit);
  bool rekeyed = false;
  for (const auto& e : *audit)
    rekeyed = rekeyed || (e.action == "group-member-added" &&
                          e.detail.find("re-keyed on join") != std::string::npos);
  EXPECT_TRUE(rekeyed);

  // The existing member fetches the new key and the two talk (the legitimate path).
  auto ga2 = a.FetchGroupKey("line-1");
  ASSERT_TRUE(ga2);
  EXPECT_EQ(ga2->epoch, gb->epoch);
  auto after = a.SealGroupMessage("line-1", crypto::Bytes{'h', 'i'});
  ASSERT_TRUE(after);
  auto opened = b.OpenGroupMessage("line-1", *after, gb->members);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_TRUE(opened->origin_authenticated);
}

// A receiver (ThingServer on a SecProf_1 agent) on its own thread, until destroyed.
struct Receiver {
  std::unique_ptr<Agent> agent;
  std::unique_ptr<ThingServer> server;
  std::jthread io;
  explicit Receiver(const std::string& dir) : agent(OpenAgent(dir)) {
    if (!agent) return;
    auto s = ThingServer::Start(*agent, {});
    EXPECT_TRUE(s) << s.error().message();
    if (!s) return;
    server = std::move(*s);
    io = std::jthread([this](std::stop_token st) { (void)server->Serve(st); });
  }
  ~Receiver() {
    if (io.joinable()) {
      io.request_stop();
      io.join();
    }
  }
  coap::Code Post(const crypto::Bytes& frame) {
    auto c = coap::Client::Connect("127.0.0.1", server->udp_port(), coap::ClientConfig{});
    EXPECT_TRUE(c);
    if (!c) return coap::Code{};
    auto r = (*c)->Post(domain::path::kLink, frame);
    EXPECT_TRUE(r);
    return r ? r->code : coap::Code{};
  }
};

TEST(LinkFreshness, SecProf1ReplayAfterAReceiverRestartIsRefused) {
  TempDir tmp;
  auto f = MakeFactory(tmp.path(), "Home", 2);
  auto mother = NewAgent(tmp.path(), f, 0, Profile::kSecProf1);
  auto chick = NewAgent(tmp.path(), f, 1, Profile::kSecProf1);
  ASSERT_TRUE(mother && chick);
  ASSERT_TRUE(mother->BecomeMother());
  auto imprint = mother->MakeImprint();
  ASSERT_TRUE(imprint);
  ASSERT_TRUE(chick->AcceptImprint(*imprint));
  const std::string dir = StateDir(tmp.path(), f, 1);
  chick.reset();

  std::vector<crypto::Bytes> recorded;
  for (uint8_t i = 0; i < 3; ++i) {
    auto fr = mother->SealLinkFrame(crypto::Bytes{i});
    ASSERT_TRUE(fr);
    recorded.push_back(*fr);
  }
  {
    Receiver rx(dir);
    ASSERT_TRUE(rx.server);
    for (const auto& fr : recorded) EXPECT_EQ(rx.Post(fr), coap::kChanged);
    EXPECT_EQ(rx.Post(recorded[0]), coap::kUnauthorized);  // replay while it runs
  }
  // The receiver restarts (a new agent and server on the same state directory).
  const std::string before = *ReadFile(dir + "/state.json");
  {
    Receiver rx(dir);
    ASSERT_TRUE(rx.server);
    for (const auto& fr : recorded) EXPECT_EQ(rx.Post(fr), coap::kUnauthorized);
    EXPECT_EQ(*ReadFile(dir + "/state.json"), before);  // refused frames change nothing
    auto fresh = mother->SealLinkFrame(crypto::Bytes{9});
    ASSERT_TRUE(fresh);
    EXPECT_EQ(rx.Post(*fresh), coap::kChanged);  // the legitimate path
  }
  // And once more: the fresh frame too is remembered.
  auto again = mother->SealLinkFrame(crypto::Bytes{10});
  ASSERT_TRUE(again);
  Receiver rx(dir);
  ASSERT_TRUE(rx.server);
  EXPECT_EQ(rx.Post(recorded.back()), coap::kUnauthorized);
  EXPECT_EQ(rx.Post(*again), coap::kChanged);
}

}  // namespace
}  // namespace secprof::thing
