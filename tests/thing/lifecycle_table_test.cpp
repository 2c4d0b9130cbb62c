// The thing's lifecycle transition table (secprof/thing/lifecycle.h; docs/DOMAIN.md "Lifecycle").
//  - the table itself, against the expectation written out below: every operation in every state,
//    allowed or refused (kConflict, reason kWrongState), and the state each allowed one leads to;
//  - agents walked through every state without a KDC (SecProf_2 for installed, SecProf_1 for the
//    rest): each operation the table refuses there is refused with kWrongState (SecProf_1's imprint
//    with kAlreadyImprinted) and leaves state.json byte for byte as it was; the allowed moves land
//    in the table's resulting state.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "secprof/core/fs.h"
#include "secprof/thing/lifecycle.h"
#include "secprof/thing/reasons.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

using S = State;
using Op = Operation;

constexpr S kAllStates[] = {S::kManufactured, S::kInstalled,      S::kCommissioned, S::kOperational,
                            S::kMaintenance,  S::kDecommissioned, S::kReOwned};

struct Expected {
  std::set<S> allowed;
  std::optional<S> to;  // nullopt: unchanged
};

// docs/DOMAIN.md "Lifecycle", written out independently of the table under test.
const std::map<Op, Expected>& Expectation() {
  static const std::map<Op, Expected> e{
      {Op::kInstall, {{S::kManufactured, S::kReOwned}, S::kInstalled}},
      {Op::kJoin, {{S::kInstalled}, S::kCommissioned}},
      {Op::kGoOperational, {{S::kCommissioned, S::kMaintenance}, S::kOperational}},
      {Op::kEnterMaintenance, {{S::kOperational}, S::kMaintenance}},
      {Op::kSendReading, {{S::kOperational, S::kCommissioned}, std::nullopt}},
      {Op::kRequestPairKey, {{S::kOperational, S::kCommissioned, S::kMaintenance}, std::nullopt}},
      {Op::kFetchGroupKey, {{S::kOperational, S::kCommissioned, S::kMaintenance}, std::nullopt}},
      {Op::kCheckForUpdate, {{S::kOperational}, std::nullopt}},
      {Op::kDecommission,
       {{S::kCommissioned, S::kOperational, S::kMaintenance}, S::kDecommissioned}},
      {Op::kFactoryReset, {{S::kDecommissioned}, S::kReOwned}},
      {Op::kBecomeMother, {{S::kManufactured, S::kReOwned}, S::kCommissioned}},
      {Op::kAcceptImprint, {{S::kManufactured, S::kInstalled, S::kReOwned}, S::kCommissioned}},
  };
  return e;
}

TEST(LifecycleTable, EveryOperationInEveryState) {
  ASSERT_EQ(LifecycleTable().size(), Expectation().size());
  for (const LifecycleRule& rule : LifecycleTable()) {
    const Expected& want = Expectation().at(rule.op);
    EXPECT_EQ(&RuleFor(rule.op), &rule);
    for (S from : kAllStates) {
      SCOPED_TRACE(std::string(rule.action) + " in " + StateName(from));
      auto st = CheckLifecycle(rule.op, from, "S-1");
      if (want.allowed.count(from)) {
        EXPECT_TRUE(st) << st.error().message();
        EXPECT_EQ(LifecycleResult(rule.op, from), want.to.value_or(from));
      } else {
        ASSERT_FALSE(st);
        EXPECT_EQ(st.error().code(), ErrorCode::kConflict);
        EXPECT_TRUE(st.error().Is(kWrongState));
        // The refusal names the operation, the serial and the state it found.
        EXPECT_NE(st.error().message().find(rule.action), std::string::npos);
        EXPECT_NE(st.error().message().find(std::string("S-1 is ") + StateName(from)),
                  std::string::npos)
            << st.error().message();
      }
      // Forcing only lifts the refusal of a forceable row (FactoryReset).
      auto forced = CheckLifecycle(rule.op, from, "S-1", /*force=*/true);
      EXPECT_EQ(forced.has_value(), want.allowed.count(from) > 0 || rule.op == Op::kFactoryReset);
    }
  }
}

TEST(LifecycleTable, RefusalMessageListsTheAllowedStatesInOrder) {
  auto st = CheckLifecycle(Op::kSendReading, S::kDecommissioned, "S-7");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "send a reading needs state operational, commissioned; S-7 is decommissioned");
}

// ---- agents ------------------------------------------------------------------------------

// Each operation as the agent method that performs it (arguments that do not matter here).
std::map<Op, std::function<Status(Agent&)>> Calls() {
  return {
      {Op::kInstall, [](Agent& a) { return a.Install("127.0.0.1", 1, 2); }},
      {Op::kJoin, [](Agent& a) { return a.Join(); }},
      {Op::kGoOperational, [](Agent& a) { return a.GoOperational(); }},
      {Op::kEnterMaintenance, [](Agent& a) { return a.EnterMaintenance(); }},
      {Op::kSendReading, [](Agent& a) { return a.SendReading(2150); }},
      {Op::kRequestPairKey,
       [](Agent& a) -> Status {
         SECPROF_TRY(a.RequestPairKey("PEER-1"));
         return Ok();
       }},
      {Op::kFetchGroupKey,
       [](Agent& a) -> Status {
         SECPROF_TRY(a.FetchGroupKey("g"));
         return Ok();
       }},
      {Op::kCheckForUpdate,
       [](Agent& a) -> Status {
         SECPROF_TRY(a.CheckForUpdate());
         return Ok();
       }},
      {Op::kDecommission, [](Agent& a) { return a.Decommission(/*kdc_reachable=*/false); }},
      {Op::kFactoryReset, [](Agent& a) { return a.FactoryReset(/*force=*/false); }},
      {Op::kBecomeMother, [](Agent& a) { return a.BecomeMother(); }},
      {Op::kAcceptImprint,
       [](Agent& a) {
         return a.AcceptImprint(domain::PairImprint{"MOTHER-1", crypto::SecureBuffer(32)});
       }},
  };
}

// Every operation the table refuses in the agent's current state: refused, nothing written.
void ExpectRefusalsChangeNothing(Agent& a, const std::string& state_dir) {
  const S now = a.state().state;
  auto before = ReadFile(state_dir + "/state.json");
  ASSERT_TRUE(before);
  for (auto& [op, call] : Calls()) {
    if (RuleFor(op).Allows(now)) continue;
    SCOPED_TRACE(std::string(RuleFor(op).action) + " in " + StateName(now));
    auto st = call(a);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ErrorCode::kConflict);
    const bool imprinted =
        op == Op::kAcceptImprint &&
        (now == S::kCommissioned || now == S::kOperational || now == S::kMaintenance);
    EXPECT_TRUE(st.error().Is(imprinted ? kAlreadyImprinted : kWrongState))
        << st.error().reason() << ": " << st.error().message();
    EXPECT_EQ(a.state().state, now);
    auto after = ReadFile(state_dir + "/state.json");
    ASSERT_TRUE(after);
    EXPECT_EQ(*after, *before);
  }
}

// Performs `op` (allowed in the agent's state) and checks it lands where the table says.
void Move(Agent& a, Op op) {
  const S from = a.state().state;
  SCOPED_TRACE(std::string(RuleFor(op).action) + " from " + StateName(from));
  auto st = Calls().at(op)(a);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(a.state().state, LifecycleResult(op, from));
  EXPECT_EQ(a.state().state, Expectation().at(op).to.value_or(from));
}

TEST(LifecycleTable, AgentsRefuseWhatTheTableRefusesAndChangeNothing) {
  secprof::testing::TempDir tmp;
  auto f = testing::MakeFactory(tmp.path(), "Acme", 3);
  ASSERT_EQ(f.manifest.things.size(), 3u);

  // SecProf_2 (installing needs no KDC): manufactured, installed, re-owned by force, installed.
  auto two = testing::NewAgent(tmp.path(), f, 0, domain::Profile::kSecProf2);
  ASSERT_TRUE(two);
  const std::string two_dir = testing::StateDir(tmp.path(), f, 0);
  ASSERT_NO_FATAL_FAILURE(ExpectRefusalsChangeNothing(*two, two_dir));
  ASSERT_NO_FATAL_FAILURE(Move(*two, Op::kInstall));
  ASSERT_NO_FATAL_FAILURE(ExpectRefusalsChangeNothing(*two, two_dir));
  ASSERT_TRUE(two->FactoryReset(/*force=*/true));
  EXPECT_EQ(two->state().state, S::kReOwned);
  ASSERT_NO_FATAL_FAILURE(Move(*two, Op::kInstall));

  // SecProf_1 (no KDC at all): the mother through every other state.
  auto one = testing::NewAgent(tmp.path(), f, 1, domain::Profile::kSecProf1);
  ASSERT_TRUE(one);
  const std::string one_dir = testing::StateDir(tmp.path(), f, 1);
  const Op walk[] = {Op::kBecomeMother,  Op::kGoOperational,    Op::kEnterMaintenance,
                     Op::kGoOperational, Op::kEnterMaintenance, Op::kDecommission,
                     Op::kFactoryReset,  Op::kAcceptImprint,    Op::kDecommission,
                     Op::kFactoryReset,  Op::kBecomeMother};
  for (Op op : walk) {
    ASSERT_NO_FATAL_FAILURE(Move(*one, op));
    ASSERT_NO_FATAL_FAILURE(ExpectRefusalsChangeNothing(*one, one_dir));
  }

  // A duckling imprinted straight from the factory.
  auto chick = testing::NewAgent(tmp.path(), f, 2, domain::Profile::kSecProf1);
  ASSERT_TRUE(chick);
  ASSERT_NO_FATAL_FAILURE(Move(*chick, Op::kAcceptImprint));
  ASSERT_NO_FATAL_FAILURE(ExpectRefusalsChangeNothing(*chick, testing::StateDir(tmp.path(), f, 2)));
}

// Install's port rule (moved out of `secprof thing install`): the profile's join port is needed;
// a refusal changes nothing, and the same call with the port installs.
TEST(LifecycleTable, InstallNeedsThePortTheProfileJoinsOn) {
  secprof::testing::TempDir tmp;
  auto f = testing::MakeFactory(tmp.path(), "Acme", 2);
  ASSERT_EQ(f.manifest.things.size(), 2u);
  struct Case {
    size_t thing;
    domain::Profile profile;
    uint16_t udp_refused, dtls_refused;
    Reason reason;
    uint16_t udp_ok, dtls_ok;
  };
  const Case cases[] = {
      {0, domain::Profile::kSecProf2, 0, 5684, kNoKdcUdpPort, 5683, 0},   // DTLS port optional
      {1, domain::Profile::kSecProf3, 5683, 0, kNoKdcDtlsPort, 0, 5684},  // UDP port optional
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(domain::ProfileName(c.profile));
    auto a = testing::NewAgent(tmp.path(), f, c.thing, c.profile);
    ASSERT_TRUE(a);
    const std::string state = testing::StateDir(tmp.path(), f, c.thing) + "/state.json";
    auto before = ReadFile(state);
    ASSERT_TRUE(before);
    auto st = a->Install("127.0.0.1", c.udp_refused, c.dtls_refused);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidInput);
    EXPECT_TRUE(st.error().Is(c.reason)) << st.error().reason();
    EXPECT_EQ(a->state().state, S::kManufactured);
    EXPECT_EQ(*ReadFile(state), *before);
    ASSERT_TRUE(a->Install("127.0.0.1", c.udp_ok, c.dtls_ok));
    EXPECT_EQ(a->state().state, S::kInstalled);
  }
}

}  // namespace
}  // namespace secprof::thing
