// Shared by install_test.cpp and install_recover_test.cpp: the InstallTest fixture (a slot store
// in a temporary directory; ExpectRefused checks the reason and that no file changed). A named
// namespace, so that both files see one fixture type.
#pragma once

#include <gtest/gtest.h>

#include <chrono>

#include "install_testutil.h"
#include "secprof/core/clock.h"
#include "testutil.h"

namespace secprof::update::install_fixture {

using namespace installtest;
using secprof::testing::TempDir;

class InstallTest : public ::testing::Test {
 protected:
  std::string Dir() const { return (tmp_.path() / "fw").string(); }

  SlotStore OpenStore(InstallOptions opt = {}, bool owner = false) {
    auto s = SlotStore::Open(Dir(), Identity(owner), std::move(opt));
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return std::move(*s);
  }
  SlotStore Fresh(uint64_t seq = 1, InstallOptions opt = {}, bool owner = false) {
    SlotStore s = OpenStore(std::move(opt), owner);
    auto st = s.Initialize(Image(seq), seq);
    EXPECT_TRUE(st) << st.error().ToString();
    return s;
  }
  // Installs seq with a vendor-signed envelope; asserts success.
  void Installed(SlotStore& s, uint64_t seq) {
    auto st = s.Install(MakeEnvelope(seq, Image(seq)), Image(seq));
    ASSERT_TRUE(st) << st.error().ToString();
  }
  // Asserts that `r` is the refusal `reason` and that no file of the directory changed.
  template <class R>
  void ExpectRefused(const R& r, Reason reason, const std::map<std::string, Bytes>& before,
                     const std::string& must_contain = "") {
    ASSERT_FALSE(r.has_value()) << "accepted, expected " << reason.name();
    EXPECT_TRUE(r.error().Is(reason)) << "reason '" << r.error().reason() << "', expected '"
                                      << reason.name() << "': " << r.error().ToString();
    if (!must_contain.empty()) {
      EXPECT_NE(r.error().message().find(must_contain), std::string::npos) << r.error().message();
    }
    EXPECT_EQ(Snapshot(Dir()), before) << "a refused update changed the directory";
  }

  TempDir tmp_;
};

}  // namespace secprof::update::install_fixture
