// Issue 9 item 7 against processes: `secprof kdc` and the peer's `secprof thing serve
// --revocation-poll 1` run as children; the requester (an in-process agent on its own state
// directory) reads the peer's sensor with its ticket; the owner evicts it with `secprof kdc evict`;
// within the poll bound its next request on the open session is refused, and its ticket is refused
// when posted again.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/domain_fixture.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using secprof::testing::TempDir;
using testing::Child;
using testing::Quote;
using testing::Secprof;
using testing::WaitReady;

TEST(TicketsCli, EvictionReachesARunningPeer) {
  TempDir tmp;
  const fs::path factory = tmp.path() / "factory";
  ASSERT_EQ(
      Secprof("manufacture --vendor Acme --model Sensor --count 2 --out " + Quote(factory.string()))
          .exit_code,
      0);
  auto manifest = nlohmann::json::parse(testing::Slurp(factory / "manifest.json"));
  const std::string sa = manifest["things"][0]["serial"], sb = manifest["things"][1]["serial"];
  const std::string db = (tmp.path() / "kdc.db").string();
  const fs::path kready = tmp.path() / "kdc.ready", klog = tmp.path() / "kdc.log";
  Child kdc({"kdc", "--profile", "SecProf_2", "--db", db, "--listen", "127.0.0.1:0",
             "--join-window", "0", "--ready-file", kready.string()},
            klog);
  auto kp = WaitReady(kdc, kready, klog);
  ASSERT_TRUE(kp);
  ASSERT_EQ(
      Secprof("kdc allow --db " + Quote(db) + " --factory " + Quote(factory.string()) + " --all")
          .exit_code,
      0);
  auto T = [](const fs::path& s, const std::string& args) {
    return "thing --state " + Quote(s.string()) + " " + args;
  };
  const fs::path ta = tmp.path() / "a", tb = tmp.path() / "b";
  for (const auto& [dir, serial] : {std::pair{ta, sa}, std::pair{tb, sb}}) {
    ASSERT_EQ(Secprof(T(dir, "init --factory " + Quote(factory.string()) + " --serial " + serial +
                                 " --profile SecProf_2"))
                  .exit_code,
              0);
    ASSERT_EQ(Secprof(T(dir, "install --kdc 127.0.0.1:" + std::to_string(kp->udp))).exit_code, 0);
    ASSERT_EQ(Secprof(T(dir, "join")).exit_code, 0);
    ASSERT_EQ(Secprof(T(dir, "operational")).exit_code, 0);
  }
  const fs::path bready = tmp.path() / "b.ready", blog = tmp.path() / "b.log";
  Child peer({"thing", "--state", tb.string(), "serve", "--listen", "127.0.0.1:0",
              "--revocation-poll", "1", "--ready-file", bready.string()},
             blog);
  auto bp = WaitReady(peer, bready, blog);
  ASSERT_TRUE(bp);

  auto a = testing::OpenAgent(ta.string());
  ASSERT_TRUE(a);
  auto pk = a->RequestPairKey(sb);
  ASSERT_TRUE(pk) << pk.error().message();
  auto s = ConnectToPeer("127.0.0.1", bp->udp, bp->dtls, *pk, 2s);
  ASSERT_TRUE(s) << s.error().message();
  auto r = (*s)->Get(domain::path::kSensor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, coap::kContent);  // the legitimate path

  auto ev = Secprof("kdc evict --db " + Quote(db) + " " + sa + " --reason tampering");
  ASSERT_EQ(ev.exit_code, 0) << ev.out;
  const auto t0 = std::chrono::steady_clock::now();
  bool refused = false;
  while (std::chrono::steady_clock::now() - t0 < 60s) {  // safety bound, not an assertion
    auto x = (*s)->Get(domain::path::kSensor);
    if (x && x->code == coap::kUnauthorized) {
      refused = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(refused) << testing::Slurp(blog);
  std::cout << "[tickets] eviction reached the `thing serve` process after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms (--revocation-poll 1)\n";
  EXPECT_FALSE(ConnectToPeer("127.0.0.1", bp->udp, bp->dtls, *pk, 2s));
  EXPECT_EQ(peer.Stop(), 0) << testing::Slurp(blog);
  // The peer's own account: it accepted the ticket, and holds none now.
  EXPECT_NE(testing::Slurp(blog).find("1 tickets accepted (0 held)"), std::string::npos)
      << testing::Slurp(blog);
  EXPECT_EQ(kdc.Stop(), 0);
}

}  // namespace
}  // namespace secprof::thing
