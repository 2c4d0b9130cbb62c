// Reboots (RFC 8613 Appendix B.1): a sender killed at every point of its sequence-number
// persistence never reuses a sequence number after it comes back, with the in-memory fake store
// (kill points) and with the file store on a file system that loses what was not synced (power
// loss at every operation); a server that comes back needs Echo (RFC 9175) before it accepts
// requests, and refuses the replays it could no longer tell apart.
#include <gtest/gtest.h>

#include <set>

#include "oscore_pair.h"
#include "support/fault_fs.h"
#include "testutil.h"

namespace secprof::oscore {
namespace {

using testing::ClientParams;
using testing::Hex;
using testing::MakeContext;
using testing::SampleRequest;
using testing::ServerParams;

constexpr uint64_t kInterval = 4;  // K: persist every 4 numbers

// Sends requests until the store refuses (the process dies there) or `max` were sent; every
// request sent goes to `server` (which must accept it: no reuse means no replay) and its sequence
// number into `used`, which must not have held it.
void SendUntilDeath(SecurityContext& client, SecurityContext& server, std::set<uint64_t>& used,
                    int max) {
  for (int i = 0; i < max; ++i) {
    auto p = client.ProtectRequest(SampleRequest());
    if (!p) return;  // killed at a save: nothing was sent with an unsaved number
    uint64_t seq = GetBigN(p->pending.request_piv, p->pending.request_piv.size());
    EXPECT_TRUE(used.insert(seq).second) << "sequence number " << seq << " reused";
    auto in = server.UnprotectRequest(p->message);
    ASSERT_TRUE(in) << in.error().message();
  }
}

TEST(OscoreReboot, KilledAtEverySaveTheSenderNeverReusesASequenceNumber) {
  for (long kill_after = 0; kill_after < 6; ++kill_after) {
    MemorySequenceStore store;
    MemorySequenceStore server_store;
    SecurityContext server = MakeContext(ServerParams(), server_store);
    std::set<uint64_t> used;
    {
      SecurityContext client = MakeContext(ClientParams(), store, Start::kNew, kInterval);
      store.FailSavesAfter(kill_after);
      SendUntilDeath(client, server, used, 30);
    }  // the process dies: everything in memory is gone, the store stays
    for (int reboot = 0; reboot < 3; ++reboot) {
      store.FailSavesAfter(-1);
      if (reboot == 1) store.FailSavesAfter(1);  // and dies again soon after one reboot
      // Nothing durable means nothing was sent (checked): the context may start anew.
      EXPECT_TRUE(store.bound() || used.empty());
      Start start = store.bound() ? Start::kResumed : Start::kNew;
      SecurityContext client = MakeContext(ClientParams(), store, start, kInterval);
      EXPECT_GE(client.next_sequence_number(), used.empty() ? 0 : *used.rbegin() + 1);
      SendUntilDeath(client, server, used, 7);
    }
    EXPECT_FALSE(used.empty()) << kill_after;
  }
}

TEST(OscoreReboot, PowerLossAtEveryFileOperationNeverReusesASequenceNumber) {
  // Count the file operations of a run, then cut power after each one in turn.
  long total = 0;
  {
    ::secprof::testing::TempDir dir;
    ::secprof::testing::FaultFs fs;
    fs.Watch(dir.path().string());
    FileSequenceStore store((dir.path() / "ssn").string(), fs);
    SecurityContext client = MakeContext(ClientParams(), store, Start::kNew, kInterval);
    for (int i = 0; i < 9; ++i) ASSERT_TRUE(client.ProtectRequest(SampleRequest()));
    total = fs.ops();
  }
  ASSERT_GT(total, 6);
  for (long cut = 0; cut <= total; ++cut) {
    ::secprof::testing::TempDir dir;
    ::secprof::testing::FaultFs fs;
    fs.Watch(dir.path().string());
    FileSequenceStore store((dir.path() / "ssn").string(), fs);
    MemorySequenceStore server_store;
    SecurityContext server = MakeContext(ServerParams(), server_store);
    std::set<uint64_t> used;
    {
      SecurityContext client = MakeContext(ClientParams(), store, Start::kNew, kInterval);
      fs.CrashAfter(cut);
      SendUntilDeath(client, server, used, 9);
    }
    fs.PowerLoss();
    auto bound = store.Load();
    ASSERT_TRUE(bound) << "cut " << cut << ": " << bound.error().message();
    if (!*bound) {
      EXPECT_TRUE(used.empty()) << "cut " << cut << ": numbers used but no bound survived";
      continue;  // nothing durable and nothing sent: the context may start anew
    }
    SecurityContext client = MakeContext(ClientParams(), store, Start::kResumed, kInterval);
    SendUntilDeath(client, server, used, 5);
    EXPECT_EQ(client.next_sequence_number(), *used.rbegin() + 1) << "cut " << cut;
  }
}

TEST(OscoreReboot, ResumingNeedsAStoredBoundAndNewRefusesAUsedStore) {
  MemorySequenceStore empty;
  auto resumed =
      SecurityContext::Create(ClientParams(), {.sequence_store = &empty, .start = Start::kResumed});
  ASSERT_FALSE(resumed);
  EXPECT_EQ(resumed.error().code(), ErrorCode::kNotFound);
  MemorySequenceStore used(64);
  auto fresh = SecurityContext::Create(ClientParams(), {.sequence_store = &used});
  ASSERT_FALSE(fresh);
  EXPECT_EQ(fresh.error().code(), ErrorCode::kConflict);
}

// Appendix B.1.2 with RFC 9175 Echo: the server's replay window is gone after a reboot.
TEST(OscoreReboot, RebootedServerAnswersWithEchoAndRefusesOldReplays) {
  MemorySequenceStore client_store, server_store;
  SecurityContext client = MakeContext(ClientParams(), client_store);
  std::vector<Message> before;  // requests the attacker recorded before the reboot
  {
    SecurityContext server = MakeContext(ServerParams(), server_store);
    for (int i = 0; i < 3; ++i) {
      auto p = client.ProtectRequest(SampleRequest());
      ASSERT_TRUE(server.UnprotectRequest(p->message));
      before.push_back(p->message);
    }
    ASSERT_TRUE(
        server.ProtectResponse({}, testing::SampleResponse(), ResponseNonce::kOwnPartialIv));
  }
  SecurityContext server = MakeContext(ServerParams(), server_store, Start::kResumed);
  EXPECT_FALSE(server.replay_window_initialised());

  // A replay of a pre-reboot request decrypts, but is not accepted: Echo is required.
  auto replay = server.UnprotectRequest(before[0]);
  ASSERT_TRUE(replay) << replay.error().message();
  EXPECT_EQ(replay->state(), RequestState::kEchoRequired);
  EXPECT_EQ(replay->message(), Message{});  // nothing to act on
  EXPECT_TRUE(replay->binding().must_use_own_piv);
  EXPECT_FALSE(server.replay_window_initialised());

  // The 4.01 + Echo challenge is protected with the server's own Partial IV (never the
  // request's nonce, which the pre-reboot server may have used for its response).
  Bytes echo = Hex("0123456789abcdef");
  auto p = client.ProtectRequest(SampleRequest());
  auto first = server.UnprotectRequest(p->message);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->state(), RequestState::kEchoRequired);
  EXPECT_FALSE(first->echo());
  auto challenge = server.ProtectResponse(first->binding(), EchoChallenge(echo));
  ASSERT_TRUE(challenge) << challenge.error().message();
  EXPECT_NE(challenge->Find(opt::kOscore)->value, Bytes{});  // carries a Partial IV
  auto seen = client.UnprotectResponse(p->pending, *challenge);
  ASSERT_TRUE(seen) << seen.error().message();
  EXPECT_EQ(seen->code, code::kUnauthorized);
  EXPECT_EQ(seen->Find(opt::kEcho)->value, echo);

  // The client repeats the request with the Echo value; the caller checks it and confirms.
  Message again = SampleRequest();
  again.Add(opt::kEcho, echo);
  auto q = client.ProtectRequest(again);
  auto with_echo = server.UnprotectRequest(q->message);
  ASSERT_TRUE(with_echo);
  ASSERT_EQ(with_echo->state(), RequestState::kEchoRequired);
  ASSERT_TRUE(with_echo->echo());
  EXPECT_EQ(*with_echo->echo(), echo);
  auto accepted = server.ConfirmFreshness(*with_echo);
  ASSERT_TRUE(accepted) << accepted.error().message();
  EXPECT_EQ(*accepted, again);
  EXPECT_EQ(with_echo->state(), RequestState::kAccepted);
  EXPECT_TRUE(server.replay_window_initialised());
  EXPECT_FALSE(server.ConfirmFreshness(*with_echo));  // only once

  // Now every request from before the fresh one is refused, and new ones are accepted.
  for (const Message& old : before) {
    EXPECT_TRUE(server.UnprotectRequest(old).error().Is(kReplayDetected));
  }
  EXPECT_TRUE(server.UnprotectRequest(p->message).error().Is(kReplayDetected));
  EXPECT_TRUE(server.UnprotectRequest(q->message).error().Is(kReplayDetected));
  auto next = server.UnprotectRequest(client.ProtectRequest(SampleRequest())->message);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->state(), RequestState::kAccepted);
  EXPECT_EQ(next->message(), SampleRequest());
}

}  // namespace
}  // namespace secprof::oscore
