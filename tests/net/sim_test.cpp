// Simulations of the emulated network (no wall-clock time involved: all of it is virtual time).
// DODAG formation and routes on a small grid, determinism, and the sinkhole by an insider (it
// attracts traffic) and an outsider (its frames are dropped at the link layer).
#include <gtest/gtest.h>

#include "secprof/crypto/random.h"
#include "secprof/net/simulate.h"
#include "secprof/net/trickle.h"

namespace secprof::net {
namespace {

SimulationOptions Small(uint64_t seed = 1) {
  SimulationOptions o;
  o.nodes = 16;
  o.seed = seed;
  o.duration_s = 420;
  o.data_start_s = 60;
  o.data_interval_s = 30;
  return o;
}

SimulationReport RunSim(const SimulationOptions& o) {
  crypto::FakeRandom rng = crypto::FakeRandom::FromSeed(o.seed);
  auto r = Simulate(o, rng);
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
  return r.value_or(SimulationReport{});
}

TEST(NetTrickle, FollowsRfc6206Rules) {
  Trickle t;
  uint64_t next = 0;
  const Trickle::Draw draw = [&next](uint64_t n) { return (next++ * 7919) % n; };
  t.Configure(1000, 3, 2);
  t.Start(0, draw);
  EXPECT_EQ(t.interval(), 1000u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_GE(t.FireAt(), t.EndAt() - t.interval() + t.interval() / 2);  // t in [I/2, I)
    EXPECT_LT(t.FireAt(), t.EndAt());
    t.IntervalEnd(t.EndAt(), draw);
  }
  EXPECT_EQ(t.interval(), 8000u);  // doubled up to Imax = Imin * 2^3, then held
  t.Consistent();
  EXPECT_TRUE(t.ShouldTransmit());
  t.Consistent();
  EXPECT_FALSE(t.ShouldTransmit());  // c >= k: suppressed
  const uint64_t gen = t.generation();
  EXPECT_TRUE(t.Reset(50000, draw));  // inconsistency: back to Imin, a new interval
  EXPECT_EQ(t.interval(), 1000u);
  EXPECT_NE(t.generation(), gen);
  EXPECT_TRUE(t.ShouldTransmit());
  EXPECT_FALSE(t.Reset(50100, draw));  // already at Imin: nothing to do
}

TEST(NetSim, FormsTheDodagOnASmallGridAndRoutesUpAndDown) {
  for (const char* profile : {"none", "SecProf_1", "SecProf_3"}) {
    SimulationOptions o = Small();
    o.profile = profile;
    const SimulationReport r = RunSim(o);
    EXPECT_EQ(r.honest_nodes, 15u);
    EXPECT_EQ(r.joined, 15u) << profile;
    ASSERT_TRUE(r.formation_time_s.has_value()) << profile;
    EXPECT_GT(*r.formation_time_s, 0.0);
    EXPECT_LT(*r.formation_time_s, o.data_start_s);
    EXPECT_EQ(r.downward_routes_at_root, 15u) << profile;  // a DAO route to every node
    EXPECT_GT(r.data_sent, 0u);
    EXPECT_GE(r.pdr, 0.95) << profile;
    EXPECT_GT(r.mean_delay_ms, 0.0);
    EXPECT_GT(r.control_bytes, 0u);
    EXPECT_EQ(r.dropped_forged + r.dropped_replay + r.dropped_unsecured + r.dropped_malformed, 0u);
    EXPECT_FALSE(r.attacker.has_value());
  }
}

TEST(NetSim, RandomTopologyForms) {
  SimulationOptions o = Small(5);
  o.topology = Topology::kRandom;
  o.nodes = 30;
  const SimulationReport r = RunSim(o);
  EXPECT_EQ(r.joined, r.honest_nodes);
  EXPECT_GE(r.pdr, 0.9);
}

bool SameReport(const SimulationReport& a, const SimulationReport& b) {
  return a.joined == b.joined && a.formation_time_s == b.formation_time_s &&
         a.data_sent == b.data_sent && a.data_delivered == b.data_delivered &&
         a.mean_delay_ms == b.mean_delay_ms && a.max_delay_ms == b.max_delay_ms &&
         a.control_frames == b.control_frames && a.control_bytes == b.control_bytes &&
         a.data_bytes == b.data_bytes && a.collisions == b.collisions &&
         a.mac_drops == b.mac_drops && a.attracted == b.attracted && a.events == b.events;
}

TEST(NetSim, SameSeedSameRunOtherSeedOtherRun) {
  SimulationOptions o = Small(11);
  o.radio.loss_ratio = 0.1;
  o.attack = Attack::kSinkhole;
  const SimulationReport a = RunSim(o);
  // A different network key does not change the run either.
  crypto::FakeRandom other_key = crypto::FakeRandom::FromSeed(999);
  auto b = Simulate(o, other_key);
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(SameReport(a, *b));
  o.seed = 12;
  EXPECT_FALSE(SameReport(a, RunSim(o)));
}

TEST(NetSim, InsiderSinkholeAttractsTraffic) {
  SimulationOptions o = Small();
  o.nodes = 36;
  const SimulationReport base = RunSim(o);
  o.attack = Attack::kSinkhole;
  const SimulationReport r = RunSim(o);
  ASSERT_TRUE(r.attacker.has_value());
  EXPECT_EQ(r.honest_nodes, 34u);
  EXPECT_GT(r.attracted, 0u);
  EXPECT_GT(r.attracted_share, 0.2);  // a forged ROOT_RANK pulls in whole branches
  EXPECT_LT(r.pdr, base.pdr - 0.2);
  EXPECT_EQ(r.dropped_forged, 0u);  // an insider's frames verify: the link layer cannot help
}

TEST(NetSim, OutsiderSinkholeIsStoppedAtTheLinkLayer) {
  SimulationOptions o = Small();
  o.nodes = 36;
  o.attack = Attack::kSinkhole;
  o.attacker = AttackerKind::kOutsider;
  for (const char* profile : {"SecProf_1", "SecProf_4"}) {
    o.profile = profile;
    const SimulationReport r = RunSim(o);
    EXPECT_EQ(r.attracted, 0u) << profile;
    EXPECT_GT(r.dropped_forged, 0u) << profile;  // its DIOs fail the MIC
    EXPECT_EQ(r.joined, r.honest_nodes) << profile;
    EXPECT_GE(r.pdr, 0.95) << profile;
  }
  // Without link security the same outsider succeeds: the key is what stops it.
  o.profile = "none";
  const SimulationReport open = RunSim(o);
  EXPECT_GT(open.attracted_share, 0.2);
  EXPECT_EQ(open.dropped_forged, 0u);
}

TEST(NetSim, ReplayedFramesAreDroppedWhereTheOriginalWasHeard) {
  SimulationOptions o = Small();
  o.nodes = 36;
  o.attack = Attack::kReplay;
  o.attacker = AttackerKind::kOutsider;
  const SimulationReport r = RunSim(o);
  EXPECT_GT(r.dropped_replay, 0u);  // receivers that heard the original refuse the copy
  EXPECT_EQ(r.dropped_forged, 0u);  // the copies are genuine frames: their MIC verifies
  EXPECT_EQ(r.attracted, 0u);
  o.profile = "none";
  EXPECT_EQ(RunSim(o).dropped_replay, 0u);  // without a key nothing tells a copy apart
}

TEST(NetSim, RefusesBadOptions) {
  crypto::FakeRandom rng = crypto::FakeRandom::FromSeed(1);
  SimulationOptions o = Small();
  o.nodes = 1;
  EXPECT_EQ(Simulate(o, rng).error().code(), ErrorCode::kInvalidInput);
  o = Small();
  o.profile = "SecProf_9";
  EXPECT_EQ(Simulate(o, rng).error().code(), ErrorCode::kInvalidInput);
  o = Small();
  o.data_payload = 200;
  EXPECT_EQ(Simulate(o, rng).error().code(), ErrorCode::kInvalidInput);
  o = Small();
  o.radio.loss_ratio = 1.5;
  EXPECT_EQ(Simulate(o, rng).error().code(), ErrorCode::kInvalidInput);
  crypto::FakeRandom failing = crypto::FakeRandom::Failing();
  EXPECT_FALSE(Simulate(Small(), failing).has_value());
}

}  // namespace
}  // namespace secprof::net
