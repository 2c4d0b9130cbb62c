// Tests for secprof::registry: every transition pair, terminal transitions (revocation, groups,
// the re-key callback), replacement, pairwise keys and credentials, queries and groups.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "registry_fixture.h"
#include "secprof/crypto/hash.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::registry {
namespace {
using namespace registry_fixture;

// --- transitions ---------------------------------------------------------------------------------

// The lifecycle graph, written out independently of the implementation.
bool Expected(State from, State to) {
  const std::set<std::pair<State, State>> allowed = {
      {State::kCommissioned, State::kOperational},
      {State::kOperational, State::kMaintenance},
      {State::kMaintenance, State::kOperational},
      {State::kAllowed, State::kDecommissioned},
      {State::kAllowed, State::kRevoked},
      {State::kAllowed, State::kEvicted},
      {State::kCommissioned, State::kDecommissioned},
      {State::kCommissioned, State::kRevoked},
      {State::kCommissioned, State::kEvicted},
      {State::kOperational, State::kDecommissioned},
      {State::kOperational, State::kRevoked},
      {State::kOperational, State::kEvicted},
      {State::kMaintenance, State::kDecommissioned},
      {State::kMaintenance, State::kRevoked},
      {State::kMaintenance, State::kEvicted},
  };
  return allowed.count({from, to}) != 0;
}

TEST_F(RegistryTest, EveryTransitionPair) {
  int n = 0, refused = 0;
  for (State from : kAllStates) {
    for (State to : kAllStates) {
      const std::string serial = "p" + std::to_string(n++);
      MakeThing(serial, from);
      const int64_t audit = AuditSize();
      auto r = reg_->Transition(serial, to, "owner", "test");
      SCOPED_TRACE(std::string(StateName(from)) + " -> " + StateName(to));
      if (Expected(from, to)) {
        ASSERT_TRUE(r) << r.error().ToString();
        EXPECT_EQ(StateOf(serial), to);
        auto last = reg_->Audit(serial, 1);
        ASSERT_EQ(last->size(), 1u);
        EXPECT_EQ(last->front().action, StateName(to));
        EXPECT_EQ(last->front().actor, "owner");
        EXPECT_NE(last->front().detail.find("test"), std::string::npos);
      } else {
        ++refused;
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
        const std::string want =
            "cannot move " + serial + " from " + StateName(from) + " to " + StateName(to);
        EXPECT_NE(r.error().message().find(want), std::string::npos) << r.error().message();
        EXPECT_EQ(StateOf(serial), from);
        EXPECT_EQ(AuditSize(), audit);
      }
    }
  }
  EXPECT_EQ(refused, 64 - 15);
  auto unknown = reg_->Transition("nobody", State::kRevoked, "owner", "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_F(RegistryTest, TerminalTransitionRevokesAndLeavesGroups) {
  MakeThing("a", State::kOperational);
  MakeThing("b", State::kOperational);
  ASSERT_TRUE(reg_->CreateGroup("lights", Key(0x10), "owner"));
  ASSERT_TRUE(reg_->CreateGroup("all", Key(0x20), "owner"));
  ASSERT_TRUE(reg_->CreateGroup("other", Key(0x30), "owner"));
  ASSERT_TRUE(reg_->AddMember("lights", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("all", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("all", "b", "owner"));
  ASSERT_TRUE(reg_->AddMember("other", "b", "owner"));
  clock_.Advance(30s);
  auto groups = reg_->Transition("a", State::kRevoked, "owner", "key extracted");
  ASSERT_TRUE(groups);
  EXPECT_EQ(*groups, (std::vector<std::string>{"all", "lights"}));
  auto t = reg_->Get("a");
  EXPECT_EQ(t->state, State::kRevoked);
  EXPECT_TRUE(t->wrapped_key.empty());
  EXPECT_EQ(t->credential_id, "cert-a");  // kept for the record
  EXPECT_TRUE(*reg_->IsCredentialRevoked("ldevid", "cert-a"));
  EXPECT_FALSE(*reg_->IsCredentialRevoked("ldevid", "cert-b"));
  EXPECT_FALSE(*reg_->IsCredentialRevoked("psk", "cert-a"));
  auto crl = reg_->RevokedCredentials("ldevid");
  ASSERT_TRUE(crl);
  ASSERT_EQ(crl->size(), 1u);
  EXPECT_EQ((*crl)[0], (std::pair<std::string, int64_t>("cert-a", kStart + 30)));
  EXPECT_TRUE(reg_->RevokedCredentials("psk")->empty());
  EXPECT_TRUE(reg_->GroupsOf("a")->empty());
  auto all = reg_->GetGroup("all");
  EXPECT_EQ(all->members, std::vector<std::string>{"b"});
  EXPECT_TRUE(all->needs_rekey);
  EXPECT_EQ(all->epoch, 1);  // not rekeyed yet: the caller must
  EXPECT_TRUE(reg_->GetGroup("lights")->needs_rekey);
  EXPECT_FALSE(reg_->GetGroup("other")->needs_rekey);
  ASSERT_TRUE(reg_->Rekey("all", Key(0x21), "kdc"));
  all = reg_->GetGroup("all");
  EXPECT_FALSE(all->needs_rekey);
  EXPECT_EQ(all->epoch, 2);
  EXPECT_EQ(all->wrapped_key, Key(0x21));
  EXPECT_EQ(Count("group-member-removed", "a"), 2);
  // A revoked thing cannot be a group member again.
  auto add = reg_->AddMember("all", "a", "owner");
  ASSERT_FALSE(add);
  EXPECT_EQ(add.error().code(), ErrorCode::kConflict);
}

TEST_F(RegistryTest, TerminalTransitionWithRekeyCallbackIsAtomic) {
  MakeThing("a", State::kOperational);
  MakeThing("b", State::kCommissioned);
  ASSERT_TRUE(reg_->CreateGroup("g1", Key(0x10), "owner"));
  ASSERT_TRUE(reg_->CreateGroup("g2", Key(0x20), "owner"));
  ASSERT_TRUE(reg_->AddMember("g1", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("g2", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("g2", "b", "owner"));

  // A failing key source aborts everything: still operational, still a member, key unchanged.
  const int64_t n = AuditSize();
  int calls = 0;
  auto failing = [&](const std::string& group, int64_t) -> Result<Bytes> {
    ++calls;
    if (group == "g2") return Fail(ErrorCode::kCrypto, "no randomness");
    return Key(0x11);
  };
  auto r = reg_->Transition("a", State::kEvicted, "owner", "", failing);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCrypto);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(StateOf("a"), State::kOperational);
  EXPECT_EQ(*reg_->GroupsOf("a"), (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(reg_->GetGroup("g1")->epoch, 1);
  EXPECT_FALSE(*reg_->IsCredentialRevoked("ldevid", "cert-a"));
  EXPECT_FALSE(reg_->Get("a")->wrapped_key.empty());
  EXPECT_EQ(AuditSize(), n);

  std::vector<std::pair<std::string, int64_t>> seen;
  auto ok = [&](const std::string& group, int64_t epoch) -> Result<Bytes> {
    seen.emplace_back(group, epoch);
    return Key(static_cast<uint8_t>(0x40 + epoch));
  };
  auto groups = reg_->Transition("a", State::kEvicted, "owner", "", ok);
  ASSERT_TRUE(groups) << groups.error().ToString();
  EXPECT_EQ(*groups, (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, int64_t>>{{"g1", 2}, {"g2", 2}}));
  auto g2 = reg_->GetGroup("g2");
  EXPECT_EQ(g2->epoch, 2);
  EXPECT_EQ(g2->wrapped_key, Key(0x42));
  EXPECT_FALSE(g2->needs_rekey);
  EXPECT_EQ(g2->members, std::vector<std::string>{"b"});
  EXPECT_EQ(Count("group-rekeyed", ""), 2);
}

// --- replacement ---------------------------------------------------------------------------------

TEST_F(RegistryTest, ReplaceMovesTheRole) {
  MakeThing("old", State::kOperational);
  MakeThing("other", State::kOperational);
  ASSERT_TRUE(reg_->Allow("new", "acme", "bulb", std::nullopt, "owner"));
  ASSERT_TRUE(reg_->CreateGroup("g1", Key(1), "owner"));
  ASSERT_TRUE(reg_->CreateGroup("g2", Key(2), "owner"));
  ASSERT_TRUE(reg_->AddMember("g1", "old", "owner"));
  ASSERT_TRUE(reg_->AddMember("g1", "other", "owner"));
  ASSERT_TRUE(reg_->AddMember("g2", "other", "owner"));

  auto groups = reg_->Replace("old", "new", "installer");
  ASSERT_TRUE(groups) << groups.error().ToString();
  EXPECT_EQ(*groups, std::vector<std::string>{"g1"});
  auto o = reg_->Get("old");
  auto n = reg_->Get("new");
  EXPECT_EQ(o->state, State::kReplaced);
  EXPECT_EQ(o->replaced_by, "new");
  EXPECT_TRUE(o->wrapped_key.empty());
  EXPECT_EQ(n->state, State::kAllowed);
  EXPECT_EQ(n->replaces, "old");
  EXPECT_TRUE(*reg_->IsCredentialRevoked("ldevid", "cert-old"));
  EXPECT_EQ(reg_->GetGroup("g1")->members, (std::vector<std::string>{"new", "other"}));
  EXPECT_TRUE(reg_->GetGroup("g1")->needs_rekey);
  EXPECT_FALSE(reg_->GetGroup("g2")->needs_rekey);
  EXPECT_EQ(Count("replaced", "old"), 1);
  EXPECT_EQ(Count("replaces", "new"), 1);
  // The replacement can now join and keeps its memberships.
  ASSERT_TRUE(reg_->Commission("new", Ldevid("cert-new"), "kdc"));
  EXPECT_EQ(*reg_->GroupsOf("new"), std::vector<std::string>{"g1"});

  // Refusals, each changing nothing.
  const int64_t before = AuditSize();
  auto again = reg_->Replace("old", "other", "installer");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_NE(again.error().message().find("already replaced by new"), std::string::npos);
  MakeThing("x", State::kOperational);
  auto twice = reg_->Replace("x", "new", "installer");  // new already replaces old
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code(), ErrorCode::kConflict);
  const int64_t after_x = AuditSize();
  MakeThing("dead", State::kRevoked);
  const int64_t after_dead = AuditSize();
  auto into_dead = reg_->Replace("x", "dead", "installer");
  ASSERT_FALSE(into_dead);
  EXPECT_EQ(into_dead.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(reg_->Replace("x", "x", "installer").error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->Replace("x", "ghost", "installer").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->Replace("ghost", "x", "installer").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(StateOf("x"), State::kOperational);
  EXPECT_EQ(AuditSize(), after_dead);
  EXPECT_GT(after_x, before);
}

TEST_F(RegistryTest, ReplaceARevokedThingWithRekey) {
  MakeThing("old", State::kOperational);
  MakeThing("new", State::kOperational);
  ASSERT_TRUE(reg_->CreateGroup("g", Key(1), "owner"));
  ASSERT_TRUE(reg_->AddMember("g", "old", "owner"));
  ASSERT_TRUE(reg_->AddMember("g", "new", "owner"));
  ASSERT_TRUE(reg_->Transition("old", State::kRevoked, "owner", "broken"));
  // old already left g; it has no groups to hand over.
  auto groups = reg_->Replace("old", "new", "installer", [](const std::string&, int64_t e) {
    return Result<Bytes>(Key(static_cast<uint8_t>(e)));
  });
  ASSERT_TRUE(groups);
  EXPECT_TRUE(groups->empty());
  EXPECT_EQ(StateOf("old"), State::kReplaced);
  EXPECT_EQ(StateOf("new"), State::kOperational);
  EXPECT_EQ(Count("replaced", "old"), 1);
  auto r = reg_->Audit("old", 1);
  EXPECT_NE(r->front().detail.find("from revoked"), std::string::npos);
}

// --- pairwise keys and credentials ---------------------------------------------------------------

TEST_F(RegistryTest, SetPairwiseKeyAndRenewCredential) {
  MakeThing("t", State::kOperational);
  ASSERT_TRUE(reg_->SetPairwiseKey("t", Key(0x55), "kdc"));
  auto t = reg_->Get("t");
  EXPECT_EQ(t->wrapped_key, Key(0x55));
  EXPECT_EQ(t->key_epoch, 2);
  EXPECT_EQ(Count("pairwise-rekey", "t"), 1);
  EXPECT_EQ(reg_->SetPairwiseKey("t", {}, "kdc").error().code(), ErrorCode::kInvalidInput);
  MakeThing("allowed", State::kAllowed);
  EXPECT_EQ(reg_->SetPairwiseKey("allowed", Key(1), "kdc").error().code(), ErrorCode::kConflict);

  auto renewed = reg_->RenewCredential("t", Ldevid("cert-t-2", 0x66), "kdc");
  ASSERT_TRUE(renewed) << renewed.error().ToString();
  EXPECT_EQ(renewed->credential_id, "cert-t-2");
  EXPECT_EQ(renewed->wrapped_key, Key(0x66));
  EXPECT_EQ(renewed->key_epoch, 3);
  EXPECT_EQ(renewed->state, State::kOperational);
  EXPECT_TRUE(*reg_->IsCredentialRevoked("ldevid", "cert-t"));
  EXPECT_FALSE(*reg_->IsCredentialRevoked("ldevid", "cert-t-2"));
  EXPECT_FALSE(*reg_->FindByCredential("ldevid", "cert-t"));
  EXPECT_EQ((*reg_->FindByCredential("ldevid", "cert-t-2"))->serial, "t");
  // The revoked one cannot come back, and the thing keeps its new credential.
  auto back = reg_->RenewCredential("t", Ldevid("cert-t"), "kdc");
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().code(), ErrorCode::kVerifyFailed);
  EXPECT_EQ(reg_->Get("t")->credential_id, "cert-t-2");
  // Joining with the renewed credential is a repeat join.
  auto join = reg_->Commission("t", Ldevid("cert-t-2"), "kdc");
  ASSERT_TRUE(join);
  EXPECT_FALSE(join->first_time);
}

// --- queries -------------------------------------------------------------------------------------

TEST_F(RegistryTest, ListAndCount) {
  MakeThing("c", State::kOperational);
  MakeThing("a", State::kAllowed);
  MakeThing("b", State::kRevoked);
  MakeThing("d", State::kAllowed);
  auto all = reg_->List();
  ASSERT_TRUE(all);
  std::vector<std::string> serials;
  for (const auto& t : *all) serials.push_back(t.serial);
  EXPECT_EQ(serials, (std::vector<std::string>{"a", "b", "c", "d"}));
  auto allowed = reg_->List(State::kAllowed);
  ASSERT_EQ(allowed->size(), 2u);
  EXPECT_EQ((*allowed)[0].serial, "a");
  EXPECT_EQ((*allowed)[1].serial, "d");
  EXPECT_TRUE(reg_->List(State::kEvicted)->empty());
  auto counts = reg_->CountByState();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->size(), 8u);
  EXPECT_EQ(counts->at(State::kAllowed), 2);
  EXPECT_EQ(counts->at(State::kOperational), 1);
  EXPECT_EQ(counts->at(State::kRevoked), 1);
  EXPECT_EQ(counts->at(State::kEvicted), 0);
  auto missing = reg_->Get("zzz");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->Get("").error().code(), ErrorCode::kInvalidInput);
}

// --- groups --------------------------------------------------------------------------------------

TEST_F(RegistryTest, Groups) {
  MakeThing("a", State::kOperational);
  MakeThing("b", State::kCommissioned);
  MakeThing("c", State::kMaintenance);
  MakeThing("allowed", State::kAllowed);
  ASSERT_TRUE(reg_->CreateGroup("lights", Key(1), "owner"));
  auto g = reg_->GetGroup("lights");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->epoch, 1);
  EXPECT_EQ(g->wrapped_key, Key(1));
  EXPECT_TRUE(g->members.empty());
  EXPECT_EQ(reg_->CreateGroup("lights", Key(2), "owner").error().code(), ErrorCode::kConflict);
  EXPECT_EQ(reg_->CreateGroup("bad name", Key(2), "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->CreateGroup("x", {}, "owner").error().code(), ErrorCode::kInvalidInput);

  ASSERT_TRUE(reg_->AddMember("lights", "c", "owner"));
  ASSERT_TRUE(reg_->AddMember("lights", "a", "owner"));
  ASSERT_TRUE(reg_->AddMember("lights", "b", "owner"));
  EXPECT_EQ(reg_->GetGroup("lights")->members, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(reg_->GetGroup("lights")->epoch, 1);  // joining does not rekey
  EXPECT_EQ(reg_->AddMember("lights", "a", "owner").error().code(), ErrorCode::kConflict);
  auto not_active = reg_->AddMember("lights", "allowed", "owner");
  ASSERT_FALSE(not_active);
  EXPECT_EQ(not_active.error().code(), ErrorCode::kConflict);
  EXPECT_NE(not_active.error().message().find("allowed"), std::string::npos);
  EXPECT_EQ(reg_->AddMember("nope", "a", "owner").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->AddMember("lights", "ghost", "owner").error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(reg_->RemoveMember("lights", "b", Key(3), "owner"));
  g = reg_->GetGroup("lights");
  EXPECT_EQ(g->members, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(g->epoch, 2);
  EXPECT_EQ(g->wrapped_key, Key(3));
  EXPECT_EQ(reg_->RemoveMember("lights", "b", Key(4), "owner").error().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(reg_->RemoveMember("lights", "a", {}, "owner").error().code(),
            ErrorCode::kInvalidInput);
  EXPECT_EQ(reg_->GetGroup("lights")->epoch, 2);

  ASSERT_TRUE(reg_->Rekey("lights", Key(5), "kdc"));
  EXPECT_EQ(reg_->GetGroup("lights")->epoch, 3);
  EXPECT_EQ(reg_->Rekey("nope", Key(5), "kdc").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(reg_->GetGroup("nope").error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(reg_->CreateGroup("heating", Key(6), "owner"));
  ASSERT_TRUE(reg_->AddMember("heating", "a", "owner"));
  EXPECT_EQ(*reg_->GroupsOf("a"), (std::vector<std::string>{"heating", "lights"}));
  EXPECT_TRUE(reg_->GroupsOf("ghost")->empty());
  auto list = reg_->ListGroups();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "heating");
  EXPECT_EQ((*list)[0].members, std::vector<std::string>{"a"});
  EXPECT_EQ((*list)[1].name, "lights");
  EXPECT_EQ((*list)[1].epoch, 3);
  EXPECT_EQ(Count("group-member-added", "a"), 2);
  EXPECT_EQ(Count("group-member-removed", "b"), 1);
}

}  // namespace
}  // namespace secprof::registry
