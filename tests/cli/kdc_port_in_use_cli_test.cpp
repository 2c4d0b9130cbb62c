// A second `secprof kdc` on the ports of a running one (issue 9 item 16, the port part): both
// used to bind them (libcoap sets SO_REUSEADDR) and print "listening", and the running domain's
// things then failed. Now the second exits 2 naming the port in use, and the first still answers.
// Both are real child processes on 127.0.0.1, stopped by RAII guards.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "secprof/coap/coap.h"
#include "support/child_process.h"
#include "testutil.h"

namespace secprof::kdc {
namespace {

namespace fs = std::filesystem;
using secprof::testing::TempDir;
using namespace secprof::testing;

TEST(KdcPortInUse, SecondKdcOnTheSamePortsExitsTwoAndTheFirstKeepsServing) {
  TempDir dir;
  const fs::path ready = dir.path() / "ready", log = dir.path() / "a.log";
  Child first({"kdc", "--profile", "SecProf_2", "--db", (dir.path() / "a.db").string(), "--listen",
               "127.0.0.1:0", "--ready-file", ready.string()},
              log);
  ASSERT_TRUE(first.started());
  auto ports = WaitReady(first, ready, log);
  ASSERT_TRUE(ports) << Slurp(log);

  const std::string b_db = Quote((dir.path() / "b.db").string());
  for (const std::string& where :
       {"--listen 127.0.0.1:" + std::to_string(ports->udp) + " --dtls-port 0",
        "--listen 127.0.0.1:0 --dtls-port " + std::to_string(ports->dtls)}) {
    auto r = Secprof("kdc --profile SecProf_2 --db " + b_db + " " + where + " --duration 5");
    EXPECT_EQ(r.exit_code, 2) << where << "\n" << r.out;
    EXPECT_NE(r.out.find("in use"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
  }

  // The first KDC still answers on its plain-CoAP port (any CoAP response will do: 4.04 here).
  auto client = coap::Client::Connect("127.0.0.1", ports->udp, coap::ClientConfig{});
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  auto resp = (*client)->Get("no/such/resource");
  ASSERT_TRUE(resp.has_value()) << resp.error().ToString();
  EXPECT_EQ(resp->code, coap::kNotFound);
}

}  // namespace
}  // namespace secprof::kdc
