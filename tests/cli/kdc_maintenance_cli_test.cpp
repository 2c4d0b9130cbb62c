// `secprof kdc fw|campaign|incident` end to end on a KDC's files (no KDC process needed after the
// first start that creates them).
#include <gtest/gtest.h>

#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/domain/protocol.h"
#include "secprof/keystore/file_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/update/suit.h"
#include "support/child_process.h"
#include "testutil.h"

namespace secprof {
namespace {

using testing::Binary;
using testing::Run;
using testing::RunResult;

RunResult Kdc(const std::string& args) { return Run(Binary() + " kdc " + args + " 2>&1"); }

std::string MakeEnvelope(const std::string& factory, const std::string& dir, uint64_t seq,
                         bool forged, std::string* image_path) {
  cose::Key key;
  if (forged) {
    key = *cose::KeyFromPrivate(*crypto::PrivateKey::Generate(crypto::KeyType::kP256));
  } else {
    keystore::FileKeyStoreOptions so;
    so.dir = factory + "/ca/keystore";
    auto store = keystore::FileKeyStore::Open(std::move(so));
    auto der = (*store)->ExportPrivate(manufacture::kCaKeyLabel);
    key = *cose::KeyFromPrivate(
        *crypto::PrivateKey::FromDer(crypto::ByteView(der->data(), der->size())));
  }
  std::string image(3000, 'x');
  *image_path = dir + "/img-" + std::to_string(seq) + ".bin";
  EXPECT_TRUE(WriteFileAtomic(*image_path, image));
  update::CreateParams p;
  p.vendor_id = domain::FirmwareVendorId("Acme");
  p.class_id = domain::FirmwareClassId("Acme", "Valve");
  p.sequence_number = seq;
  auto env = update::CreateEnvelope(
      crypto::ByteView(reinterpret_cast<const uint8_t*>(image.data()), image.size()), p, key);
  EXPECT_TRUE(env);
  std::string path = dir + "/env-" + std::to_string(seq) + (forged ? "-forged" : "") + ".suit";
  EXPECT_TRUE(WriteFileAtomic(path, std::string(env->begin(), env->end())));
  return path;
}

TEST(KdcMaintenanceCli, FirmwareCampaignIncident) {
  testing::TempDir tmp;
  std::string dir = tmp.path().string();
  std::string factory = dir + "/factory";
  ASSERT_EQ(testing::Run(Binary() + " manufacture --vendor Acme --model Valve --count 2 --out " +
                         factory + " >/dev/null 2>&1")
                .exit_code,
            0);
  std::string db = dir + "/kdc.db";
  // One short run creates the registry and the key directory.
  auto started = Kdc("--profile SecProf_2 --db " + db + " --listen 127.0.0.1:0 --duration 1");
  ASSERT_EQ(started.exit_code, 0) << started.out;
  ASSERT_EQ(Kdc("allow --db " + db + " --factory " + factory + " --all").exit_code, 0);

  std::string image;
  std::string env = MakeEnvelope(factory, dir, 2, false, &image);
  auto add = Kdc("fw add --db " + db + " --envelope " + env + " --image " + image +
                 " --model Valve --vendor-ca " + factory + "/ca/ca.pem");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  EXPECT_NE(add.out.find("firmware 1 added"), std::string::npos) << add.out;
  // Forged: refused (exit 1), nothing stored.
  std::string forged_image;
  std::string forged = MakeEnvelope(factory, dir, 3, true, &forged_image);
  auto bad = Kdc("fw add --db " + db + " --envelope " + forged + " --image " + forged_image +
                 " --model Valve");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_NE(bad.out.find("firmware refused"), std::string::npos) << bad.out;
  // Wrong model (class-id): refused.
  EXPECT_EQ(Kdc("fw add --db " + db + " --envelope " + env + " --image " + image + " --model Pump")
                .exit_code,
            1);
  auto list = Kdc("fw list --db " + db);
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("Valve"), std::string::npos);
  EXPECT_EQ(list.out.find("\n3 "), std::string::npos);

  auto start = Kdc("campaign start --db " + db +
                   " --firmware 1 --serial valve-000001 --serial valve-000002 --stage 1");
  ASSERT_EQ(start.exit_code, 0) << start.out;
  EXPECT_NE(start.out.find("offered=1"), std::string::npos) << start.out;
  EXPECT_NE(start.out.find("waiting=1"), std::string::npos) << start.out;
  auto halt = Kdc("campaign halt --db " + db + " --id 1 --reason test");
  EXPECT_EQ(halt.exit_code, 0) << halt.out;
  auto status = Kdc("campaign status --db " + db + " --id 1");
  EXPECT_NE(status.out.find("halted"), std::string::npos) << status.out;

  auto inc = Kdc("incident report --db " + db +
                 " --vendor Acme --model Valve --min-seq 1 --max-seq 1 --severity high"
                 " --description 'demo flaw'");
  EXPECT_EQ(inc.exit_code, 0) << inc.out;
  EXPECT_NE(inc.out.find("incident 1"), std::string::npos) << inc.out;
  auto bad_sev = Kdc("incident report --db " + db +
                     " --vendor Acme --model Valve --min-seq 1 --max-seq 1 --severity dire"
                     " --description x");
  EXPECT_EQ(bad_sev.exit_code, 2) << bad_sev.out;
  EXPECT_EQ(Kdc("incident list --db " + db).exit_code, 0);
  // Bad arguments.
  EXPECT_EQ(Kdc("campaign start --db " + db).exit_code, 2);
  EXPECT_EQ(Kdc("fw list --db " + dir + "/missing.db").exit_code, 2);
  auto audit = Kdc("audit --db " + db + " --verify");
  EXPECT_EQ(audit.exit_code, 0) << audit.out;
}

// `secprof thing update` against a running `secprof kdc`: nothing offered, then a campaign's
// update installed, then nothing again.
TEST(KdcMaintenanceCli, ThingUpdateThroughProcesses) {
  namespace tt = secprof::testing;
  testing::TempDir tmp;
  std::string dir = tmp.path().string();
  std::string factory = dir + "/factory";
  ASSERT_EQ(testing::Run(Binary() + " manufacture --vendor Acme --model Valve --count 1 --out " +
                         factory + " >/dev/null 2>&1")
                .exit_code,
            0);
  std::string db = dir + "/kdc.db";
  tt::Child kdc({"kdc", "--profile", "SecProf_2", "--db", db, "--listen", "127.0.0.1:0",
                 "--ready-file", dir + "/ready"},
                dir + "/kdc.log");
  auto ports = tt::WaitReady(kdc, dir + "/ready", dir + "/kdc.log");
  ASSERT_TRUE(ports);
  ASSERT_EQ(Kdc("allow --db " + db + " --factory " + factory + " --all").exit_code, 0);
  std::string thing = Binary() + " thing --state " + dir + "/t ";
  ASSERT_EQ(testing::Run(thing + "init --factory " + factory +
                         " --serial valve-000001 --profile SecProf_2")
                .exit_code,
            0);
  ASSERT_EQ(testing::Run(thing + "install --kdc 127.0.0.1:" + std::to_string(ports->udp)).exit_code,
            0);
  ASSERT_EQ(testing::Run(thing + "join").exit_code, 0);
  ASSERT_EQ(testing::Run(thing + "operational").exit_code, 0);
  auto none = testing::Run(thing + "update 2>&1");
  EXPECT_EQ(none.exit_code, 0) << none.out;
  EXPECT_NE(none.out.find("no update offered; running firmware 1"), std::string::npos) << none.out;

  std::string image;
  std::string env = MakeEnvelope(factory, dir, 4, false, &image);
  ASSERT_EQ(Kdc("fw add --db " + db + " --envelope " + env + " --image " + image +
                " --model Valve --vendor-ca " + factory + "/ca/ca.pem")
                .exit_code,
            0);
  ASSERT_EQ(Kdc("campaign start --db " + db + " --firmware 1").exit_code, 0);
  auto up = testing::Run(thing + "update 2>&1");
  EXPECT_EQ(up.exit_code, 0) << up.out;
  EXPECT_NE(up.out.find("installed sequence 4"), std::string::npos) << up.out;
  EXPECT_NE(up.out.find("floor 4"), std::string::npos) << up.out;
  auto status = Kdc("campaign status --db " + db + " --id 1");
  EXPECT_NE(status.out.find("completed"), std::string::npos) << status.out;
  auto again = testing::Run(thing + "update 2>&1");
  EXPECT_NE(again.out.find("running firmware 4"), std::string::npos) << again.out;
  EXPECT_EQ(kdc.Stop(), 0);
}

}  // namespace
}  // namespace secprof
