// Tests for `secprof thing` (suite ThingCli): the whole SecProf_2 lifecycle through processes only
// (`secprof manufacture`, `secprof kdc` as a child on ephemeral loopback ports, `secprof kdc
// allow`, one `secprof thing` step per invocation on a state directory), the exit statuses (1 for
// a refusal by the KDC or a peer, 2 for bad arguments and steps the state does not allow, each
// leaving the state untouched), `serve` and its lock, and SecProf_1 pairing (mother + pair).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "secprof/core/time_format.h"
#include "secprof/registry/registry.h"
#include "support/child_process.h"
#include "testutil.h"

namespace secprof::thing {
namespace {

namespace fs = std::filesystem;

using secprof::testing::TempDir;
using testing::Child;
using testing::Quote;
using testing::Secprof;
using testing::SerialsOf;
using testing::Slurp;
using testing::WaitReady;

nlohmann::json StatusJson(const fs::path& state) {
  auto r = Secprof("thing --state " + Quote(state.string()) + " status --format json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

// A UDP port on 127.0.0.1 that nothing listens on (bound, read, closed).
uint16_t ClosedUdpPort() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  (void)::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  (void)::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class ThingCli : public ::testing::Test {
 protected:
  std::string T(const fs::path& state, const std::string& args) {
    return "thing --state " + Quote(state.string()) + " " + args;
  }
  fs::path P(const std::string& name) const { return dir_.path() / name; }

  TempDir dir_;
};

TEST_F(ThingCli, SecProf2LifecycleThroughProcesses) {
  const fs::path factory = P("factory"), other = P("factory-other");
  auto made = Secprof("manufacture --vendor Acme --model Sensor --count 2 --out " +
                      Quote(factory.string()));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  made =
      Secprof("manufacture --vendor Other --model Probe --count 1 --out " + Quote(other.string()));
  ASSERT_EQ(made.exit_code, 0) << made.out;
  const auto serials = SerialsOf(factory);
  const auto stranger = SerialsOf(other);
  ASSERT_EQ(serials.size(), 2u);
  ASSERT_EQ(stranger.size(), 1u);

  const std::string db = P("kdc.db").string();
  const fs::path ready = P("kdc.ready"), log = P("kdc.log");
  Child kdc({"kdc", "--profile", "SecProf_2", "--db", db, "--listen", "127.0.0.1:0",
             "--join-window", "0", "--owner", "Home of Ada", "--ready-file", ready.string()},
            log);
  ASSERT_TRUE(kdc.started());
  auto ports = WaitReady(kdc, ready, log);
  ASSERT_TRUE(ports);
  auto allow =
      Secprof("kdc allow --db " + Quote(db) + " --factory " + Quote(factory.string()) + " --all");
  ASSERT_EQ(allow.exit_code, 0) << allow.out;
  const std::string kdc_addr = "127.0.0.1:" + std::to_string(ports->udp);

  // init -> manufactured
  const fs::path t1 = P("t1");
  auto r = Secprof(T(t1, "init --factory " + Quote(factory.string()) + " --serial " + serials[0] +
                             " --profile SecProf_2"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto st = StatusJson(t1);
  EXPECT_EQ(st["state"], "manufactured");
  EXPECT_EQ(st["serial"], serials[0]);
  EXPECT_EQ(st["profile"], "SecProf_2");
  EXPECT_EQ(st["vendor"], "Acme");
  EXPECT_TRUE(st["kdc"].is_null());
  ASSERT_EQ(st["history"].size(), 1u);
  // When it was made (ISO 8601 UTC), not 1970.
  auto made_at = ParseIso8601(st["history"][0]["time"].get<std::string>());
  ASSERT_TRUE(made_at) << st.dump();
  EXPECT_GT(*made_at, 0);
  // A second init on the same directory: bad input, nothing changes.
  const std::string before_init = Slurp(t1 / "state.json");
  r = Secprof(T(t1, "init --factory " + Quote(factory.string()) + " --serial " + serials[1] +
                        " --profile SecProf_2"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("already holds a thing"), std::string::npos) << r.out;
  EXPECT_EQ(Slurp(t1 / "state.json"), before_init);

  // install, join, operational, report
  r = Secprof(T(t1, "install --kdc " + kdc_addr));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("manufactured -> installed"), std::string::npos) << r.out;
  r = Secprof(T(t1, "join --format json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["schema"], "secprof.thing.join.v1");
    EXPECT_EQ(j["state"], "commissioned");
    EXPECT_EQ(j["transition"]["from"], "installed");
    EXPECT_EQ(j["transition"]["to"], "commissioned");
  }
  r = Secprof(T(t1, "operational"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = Secprof(T(t1, "report --celsius 21.5"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("accepted"), std::string::npos) << r.out;

  st = StatusJson(t1);
  EXPECT_EQ(st["state"], "operational");
  EXPECT_EQ(st["kdc"]["host"], "127.0.0.1");
  EXPECT_EQ(st["kdc"]["udp_port"], ports->udp);
  EXPECT_EQ(st["kdc"]["dtls_port"], ports->dtls);  // learnt in the join
  EXPECT_EQ(st["credential"]["kind"], "psk");
  std::vector<std::string> path;
  for (const auto& h : st["history"]) path.push_back(h["to"].get<std::string>());
  EXPECT_EQ(path,
            (std::vector<std::string>{"manufactured", "installed", "commissioned", "operational"}));
  {
    auto reg = registry::Registry::Open(db);
    ASSERT_TRUE(reg) << reg.error().ToString();
    auto t = (*reg)->Get(serials[0]);
    ASSERT_TRUE(t) << t.error().ToString();
    EXPECT_EQ(t->state, registry::State::kOperational);
  }

  // Groups: a group the owner made; one that does not exist is refused by the KDC (exit 1).
  ASSERT_EQ(Secprof("kdc group create --db " + Quote(db) + " lights").exit_code, 0);
  ASSERT_EQ(Secprof("kdc group add --db " + Quote(db) + " lights " + serials[0]).exit_code, 0);
  r = Secprof(T(t1, "group-key --group lights --format json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto g = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(g.is_discarded()) << r.out;
  EXPECT_EQ(g["epoch"], 1);
  EXPECT_EQ(g["members"], nlohmann::json::array({serials[0]}));
  EXPECT_EQ(StatusJson(t1)["groups"]["lights"], 1);
  // The owner's view of the same thing: its groups and when the KDC last heard from it (the
  // reading above), as ISO 8601 UTC; the other thing never was in contact (issue 13 item 3).
  r = Secprof("kdc list --db " + Quote(db) + " --format json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  {
    auto list = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(list.is_discarded()) << r.out;
    ASSERT_EQ(list["things"].size(), 2u);
    const auto& me = list["things"][0];
    EXPECT_EQ(me["serial"], serials[0]);
    EXPECT_EQ(me["groups"], nlohmann::json::array({"lights"}));
    ASSERT_TRUE(me["last_seen"].is_string()) << me.dump();
    auto seen = ParseIso8601(me["last_seen"].get<std::string>());
    ASSERT_TRUE(seen) << me.dump();
    EXPECT_GE(*seen, *ParseIso8601(me["commissioned_at"].get<std::string>()));
    EXPECT_TRUE(list["things"][1]["last_seen"].is_null());
  }
  // The SecProf_2 join answer names the KDC's owner (bound into the sealed PSK, issue 13 item 3).
  r = Secprof(T(t1, "status"));
  EXPECT_NE(r.out.find("owner:    Home of Ada\n"), std::string::npos) << r.out;
  EXPECT_EQ(StatusJson(t1)["owner"], "Home of Ada");
  r = Secprof(T(t1, "group-key --group nosuch"));
  EXPECT_EQ(r.exit_code, 1) << r.out;

  // A second thing, for a pair key (the KDC issues a key and a ticket for an active peer).
  const fs::path t2 = P("t2");
  ASSERT_EQ(Secprof(T(t2, "init --factory " + Quote(factory.string()) + " --serial " + serials[1] +
                              " --profile SecProf_2"))
                .exit_code,
            0);
  ASSERT_EQ(Secprof(T(t2, "install --kdc " + kdc_addr)).exit_code, 0);
  ASSERT_EQ(Secprof(T(t2, "join")).exit_code, 0);
  r = Secprof(T(t1, "pair-key --peer " + serials[1] + " --format json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto pk = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(pk.is_discarded()) << r.out;
  EXPECT_EQ(pk["peer"], serials[1]);
  EXPECT_EQ(pk["kid"].get<std::string>().size(), 32u);
  r = Secprof(T(t1, "pair-key --peer " + stranger[0]));  // not a member: 4.03
  EXPECT_EQ(r.exit_code, 1) << r.out;

  // A thing the owner never allowed: the KDC refuses (exit 1, with the reason); state unchanged.
  const fs::path t3 = P("t3");
  ASSERT_EQ(Secprof(T(t3, "init --factory " + Quote(other.string()) + " --serial " + stranger[0] +
                              " --profile SecProf_2"))
                .exit_code,
            0);
  ASSERT_EQ(Secprof(T(t3, "install --kdc " + kdc_addr)).exit_code, 0);
  const std::string before = Slurp(t3 / "state.json");
  r = Secprof(T(t3, "join"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("4.03"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not allowed"), std::string::npos) << r.out;
  EXPECT_EQ(Slurp(t3 / "state.json"), before);
  EXPECT_EQ(StatusJson(t3)["state"], "installed");

  // Bad arguments and steps the state does not allow: exit 2, state unchanged.
  const std::string t1_before = Slurp(t1 / "state.json");
  for (const std::string& bad : std::vector<std::string>{
           T(t1, "report"),                     // missing --celsius
           T(t1, "report --celsius warm"),      // not a number
           T(t1, "report --celsius -300"),      // below absolute zero
           T(t1, "join"),                       // operational: not installed
           T(t1, "install --kdc 127.0.0.1:1"),  // operational: not manufactured
           T(t1, "factory-reset"),              // not decommissioned (no --force)
           T(t1, "mother"),                     // not SecProf_1
           T(t1, "pair-key --peer 'a b'"),      // not a serial
           T(t1, "status --format yaml"),       // unknown format
           T(t1, "frobnicate"),                 // unknown step
           T(t1, ""),                           // no step
           std::string("thing status"),         // no --state
           T(P("nowhere"), "status"),           // no such state directory
           T(P("t4"), "init --factory " + Quote(factory.string()) + " --serial " + serials[0] +
                          " --profile SecProf_9"),  // unknown profile
           T(P("t5"), "init --factory " + Quote(factory.string()) +
                          " --serial nosuch-1 --profile SecProf_2"),  // serial not in the manifest
       }) {
    r = Secprof(bad);
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.out;
    EXPECT_FALSE(r.out.empty()) << bad;
  }
  EXPECT_EQ(Slurp(t1 / "state.json"), t1_before);
  EXPECT_FALSE(fs::exists(P("t4") / "state.json"));
  // install argument checks on a fresh thing
  const fs::path t6 = P("t6");
  ASSERT_EQ(Secprof(T(t6, "init --factory " + Quote(factory.string()) + " --serial " + serials[1] +
                              " --profile SecProf_3 --allow-file-keys"))
                .exit_code,
            0);
  for (const char* kdc_arg :
       {"localhost:5683", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:x", "[::1:5683",
        "127.0.0.1:1:2:3", "127.0.0.1:5683" /* SecProf_3 needs the DTLS port */}) {
    r = Secprof(T(t6, "install --kdc " + Quote(kdc_arg)));
    EXPECT_EQ(r.exit_code, 2) << kdc_arg << "\n" << r.out;
  }
  EXPECT_EQ(StatusJson(t6)["state"], "manufactured");
  // A malformed state file: exit 2 naming the file.
  fs::create_directories(P("tbad"));
  fs::copy_file(P("t1.kek"), P("tbad.kek"));  // the KEK lives beside the state directory
  {
    // Valid JSON of the right format, with a state that does not exist.
    std::string text = Slurp(t1 / "state.json");
    auto at = text.find("\"operational\"");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 13, "\"flying\"");
    std::ofstream(P("tbad") / "state.json") << text;
  }
  r = Secprof(T(P("tbad"), "status"));
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("state.json: state: unknown thing state 'flying'"), std::string::npos)
      << r.out;

  // Decommission: the KDC revokes, the thing wipes; a later report is a step the state refuses.
  r = Secprof(T(t1, "decommission"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  st = StatusJson(t1);
  EXPECT_EQ(st["state"], "decommissioned");
  EXPECT_TRUE(st["credential"].is_null());
  EXPECT_EQ(Secprof(T(t1, "report --celsius 20")).exit_code, 2);
  {
    auto reg = registry::Registry::Open(db);
    ASSERT_TRUE(reg);
    auto t = (*reg)->Get(serials[0]);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->state, registry::State::kDecommissioned);
  }
  r = Secprof(T(t1, "factory-reset"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  st = StatusJson(t1);
  EXPECT_EQ(st["state"], "re-owned");
  EXPECT_TRUE(st["kdc"].is_null());
  // Re-joining the domain that decommissioned it: refused by the KDC.
  ASSERT_EQ(Secprof(T(t1, "install --kdc " + kdc_addr)).exit_code, 0);
  r = Secprof(T(t1, "join"));
  EXPECT_EQ(r.exit_code, 1) << r.out;

  r = Secprof("kdc audit --db " + Quote(db) + " --verify");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(kdc.Stop(SIGTERM), 0) << Slurp(log);
  EXPECT_FALSE(testing::HasSanitizerReport(Slurp(log))) << Slurp(log);

  // The KDC is gone: a step that needs it fails with exit 1 (did not answer), state unchanged.
  const std::string t2_before = Slurp(t2 / "state.json");
  r = Secprof("thing --state " + Quote(t2.string()) + " --timeout 500 operational");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(Slurp(t2 / "state.json"), t2_before);
  // Offline decommission wipes locally.
  r = Secprof(T(t2, "decommission --offline"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(StatusJson(t2)["state"], "decommissioned");
}

TEST_F(ThingCli, JoinWithoutAnyKdcIsExitOne) {
  const fs::path factory = P("factory");
  ASSERT_EQ(
      Secprof("manufacture --vendor Acme --model Sensor --count 1 --out " + Quote(factory.string()))
          .exit_code,
      0);
  const fs::path t = P("t");
  ASSERT_EQ(Secprof(T(t, "init --factory " + Quote(factory.string()) + " --serial " +
                             SerialsOf(factory)[0] + " --profile SecProf_2"))
                .exit_code,
            0);
  ASSERT_EQ(Secprof(T(t, "install --kdc 127.0.0.1:" + std::to_string(ClosedUdpPort()))).exit_code,
            0);
  auto r = Secprof("thing --timeout 300 --state " + Quote(t.string()) + " join");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(StatusJson(t)["state"], "installed");
}

TEST_F(ThingCli, ServeHoldsTheStateAndStopsOnSignal) {
  const fs::path factory = P("factory");
  ASSERT_EQ(
      Secprof("manufacture --vendor Acme --model Sensor --count 1 --out " + Quote(factory.string()))
          .exit_code,
      0);
  const fs::path t = P("t");
  ASSERT_EQ(Secprof(T(t, "init --factory " + Quote(factory.string()) + " --serial " +
                             SerialsOf(factory)[0] + " --profile SecProf_2"))
                .exit_code,
            0);
  const fs::path ready = P("serve.ready"), log = P("serve.log");
  Child serve({"thing", "--state", t.string(), "serve", "--listen", "127.0.0.1:0", "--ready-file",
               ready.string()},
              log);
  auto ports = WaitReady(serve, ready, log);
  ASSERT_TRUE(ports);
  EXPECT_NE(ports->udp, 0);
  EXPECT_NE(ports->dtls, 0);
  // Another process cannot work on the same state meanwhile.
  const std::string before = Slurp(t / "state.json");
  for (const char* step : {"install --kdc 127.0.0.1:5683", "status"}) {
    auto r = Secprof(T(t, step));
    EXPECT_EQ(r.exit_code, 2) << r.out;
    EXPECT_NE(r.out.find("in use"), std::string::npos) << r.out;
  }
  EXPECT_EQ(Slurp(t / "state.json"), before);
  EXPECT_EQ(serve.Stop(SIGTERM), 0) << Slurp(log);
  EXPECT_FALSE(testing::HasSanitizerReport(Slurp(log))) << Slurp(log);
  EXPECT_FALSE(fs::exists(ready));
  EXPECT_NE(Slurp(log).find("SIGTERM, stopping"), std::string::npos) << Slurp(log);
  auto r = Secprof(T(t, "install --kdc 127.0.0.1:5683"));
  EXPECT_EQ(r.exit_code, 0) << r.out;  // the lock went with the process
}

TEST_F(ThingCli, SecProf1MotherImprintsADucklingOnce) {
  const fs::path factory = P("factory");
  ASSERT_EQ(
      Secprof("manufacture --vendor Home --model Plug --count 3 --out " + Quote(factory.string()))
          .exit_code,
      0);
  auto serials = SerialsOf(factory);
  ASSERT_EQ(serials.size(), 3u);
  const fs::path mother = P("mother"), chick = P("chick"), other = P("other");
  for (size_t i = 0; i < 3; ++i) {
    const fs::path& d = i == 0 ? mother : i == 1 ? chick : other;
    ASSERT_EQ(Secprof(T(d, "init --factory " + Quote(factory.string()) + " --serial " + serials[i] +
                               " --profile SecProf_1"))
                  .exit_code,
              0);
  }
  auto r = Secprof(T(mother, "mother"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(StatusJson(mother)["owner"], serials[0]);
  EXPECT_EQ(StatusJson(mother)["state"], "commissioned");
  ASSERT_EQ(Secprof(T(other, "mother")).exit_code, 0);
  EXPECT_EQ(Secprof(T(mother, "install --kdc 127.0.0.1:5683")).exit_code, 2);  // no KDC
  EXPECT_EQ(Secprof(T(chick, "pair --to 127.0.0.1:1")).exit_code, 2);  // holds no domain key

  const fs::path ready = P("chick.ready"), log = P("chick.log");
  Child serve({"thing", "--state", chick.string(), "serve", "--ready-file", ready.string()}, log);
  auto ports = WaitReady(serve, ready, log);
  ASSERT_TRUE(ports);
  const std::string to = "127.0.0.1:" + std::to_string(ports->udp);
  r = Secprof(T(mother, "pair --to " + to));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // A second mother is refused by the duckling: exit 1 with the reason.
  r = Secprof(T(other, "pair --to " + to));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("already imprinted"), std::string::npos) << r.out;
  EXPECT_EQ(serve.Stop(SIGINT), 0) << Slurp(log);
  EXPECT_FALSE(testing::HasSanitizerReport(Slurp(log))) << Slurp(log);
  auto st = StatusJson(chick);
  EXPECT_EQ(st["state"], "commissioned");
  EXPECT_EQ(st["owner"], serials[0]);
}

}  // namespace
}  // namespace secprof::thing
