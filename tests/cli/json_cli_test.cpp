// The JSON documents of docs/CLI.md (suite JsonCli, issue 13 item 3): each command run as a child
// process with --format json, its stdout parsed, the schema name and the documented members
// checked, every time an ISO 8601 UTC string. The owner's commands run on a KDC's files (one short
// KDC run creates them); a failed and a pending install are recorded through the registry as the
// KDC would record a thing's reports, so `kdc campaign status` and `kdc list` have per-thing facts
// to show.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "secprof/core/fs.h"
#include "secprof/core/time_format.h"
#include "secprof/registry/registry.h"
#include "support/child_process.h"
#include "testutil.h"

namespace secprof {
namespace {

namespace fs = std::filesystem;
using testing::Quote;

bool IsIsoUtc(const nlohmann::json& v) {
  static const std::regex kIso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  return v.is_string() && std::regex_match(v.get<std::string>(), kIso) &&
         ParseIso8601(v.get<std::string>()).has_value();
}

// `secprof <args> --format json` (stderr apart, in `err`): exit 0 and one JSON document with
// `schema`; the document (null on failure, with the test failed).
nlohmann::json Doc(const std::string& args, const std::string& schema) {
  auto r = testing::Run(Quote(testing::Binary()) + " " + args + " --format json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << "secprof " << args << "\n" << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "secprof " << args << ": not one JSON document:\n" << r.out;
  if (j.is_discarded()) return nullptr;
  EXPECT_EQ(j.value("schema", ""), schema) << "secprof " << args;
  return j;
}

class JsonCli : public ::testing::Test {
 protected:
  std::string P(const std::string& name) const { return (dir_.path() / name).string(); }
  testing::TempDir dir_;
};

TEST_F(JsonCli, OwnerDocumentsOnAKdcsFiles) {
  const std::string factory = P("factory"), db = P("kdc.db"), dbq = " --db " + Quote(db);
  auto made = Doc("manufacture --vendor Acme --model Valve --count 2 --out " + Quote(factory),
                  "secprof.manufacture.v1");
  ASSERT_EQ(made["added"].size(), 2u) << made.dump();
  const std::string s1 = made["added"][0], s2 = made["added"][1];
  EXPECT_EQ(made["firmware_vendor_id"].get<std::string>().size(), 36u);
  auto started = testing::Secprof("kdc --profile SecProf_2 --db " + Quote(db) +
                                  " --listen 127.0.0.1:0 --duration 1");
  ASSERT_EQ(started.exit_code, 0) << started.out;

  auto allowed =
      Doc("kdc allow" + dbq + " --factory " + Quote(factory) + " --all", "secprof.kdc.allow.v1");
  EXPECT_EQ(allowed["count"], 2);
  EXPECT_EQ(allowed["allowed"][0]["serial"], s1);
  EXPECT_EQ(allowed["allowed"][0]["model"], "Valve");

  // Before any contact: no firmware, never seen, no groups; times are ISO 8601.
  auto list = Doc("kdc list" + dbq, "secprof.kdc.list.v2");
  EXPECT_EQ(list["profile"], "SecProf_2");
  ASSERT_EQ(list["things"].size(), 2u);
  const auto& t = list["things"][0];
  EXPECT_EQ(t["serial"], s1);
  EXPECT_EQ(t["state"], "allowed");
  EXPECT_TRUE(IsIsoUtc(t["created"])) << t.dump();
  EXPECT_TRUE(IsIsoUtc(t["updated"])) << t.dump();
  EXPECT_TRUE(t["commissioned_at"].is_null());
  EXPECT_TRUE(t["firmware_sequence"].is_null());
  EXPECT_TRUE(t["last_seen"].is_null());
  EXPECT_EQ(t["groups"], nlohmann::json::array());
  EXPECT_EQ(t["setup_code"], true);

  // Firmware signed with the CLI alone, stored, rolled out one thing per stage.
  ASSERT_TRUE(WriteFileAtomic(P("fw.bin"), std::string(2000, 'f')));
  ASSERT_EQ(testing::Secprof("fw sign --factory " + Quote(factory) + " --model Valve --image " +
                             Quote(P("fw.bin")) + " --seq 2 --out " + Quote(P("fw.suit")))
                .exit_code,
            0);
  auto added =
      Doc("kdc fw add" + dbq + " --envelope " + Quote(P("fw.suit")) + " --image " +
              Quote(P("fw.bin")) + " --model Valve --vendor-ca " + Quote(factory + "/ca/ca.pem"),
          "secprof.kdc.fw.add.v1");
  EXPECT_EQ(added["firmware"]["id"], 1);
  EXPECT_EQ(added["firmware"]["sequence"], 2);
  EXPECT_TRUE(IsIsoUtc(added["firmware"]["added"])) << added.dump();
  auto fws = Doc("kdc fw list" + dbq, "secprof.kdc.fw.list.v1");
  ASSERT_EQ(fws["firmware"].size(), 1u);
  EXPECT_EQ(fws["firmware"][0]["image_size"], 2000);
  auto start = Doc("kdc campaign start" + dbq + " --firmware 1 --serial " + s1 + " --serial " + s2 +
                       " --stage 1 --max-failure-rate 1",
                   "secprof.kdc.campaign.start.v1");
  EXPECT_EQ(start["campaign"]["state"], "running");
  EXPECT_EQ(start["campaign"]["counts"]["offered"], 1);
  EXPECT_EQ(start["campaign"]["counts"]["waiting"], 1);
  EXPECT_TRUE(start["campaign"]["targets"][0]["last_attempt"].is_null());

  // The first thing reports a failed install (it keeps running sequence 1), as the KDC records it.
  {
    auto reg = registry::Registry::Open(db);
    ASSERT_TRUE(reg) << reg.error().ToString();
    ASSERT_TRUE((*reg)->ReportInstall(1, s1, false, "test boot failed", s1, 1));
  }
  auto status = Doc("kdc campaign status" + dbq + " --id 1", "secprof.kdc.campaign.status.v1");
  ASSERT_EQ(status["campaigns"].size(), 1u);
  const auto& c = status["campaigns"][0];
  EXPECT_EQ(c["firmware_sequence"], 2);
  EXPECT_TRUE(IsIsoUtc(c["created"])) << c.dump();
  ASSERT_EQ(c["targets"].size(), 2u);
  const auto& failed = c["targets"][0];
  EXPECT_EQ(failed["serial"], s1);
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["thing_state"], "allowed");
  EXPECT_EQ(failed["running_sequence"], 1);
  EXPECT_TRUE(IsIsoUtc(failed["last_attempt"])) << failed.dump();
  EXPECT_EQ(failed["reason"], "test boot failed");
  const auto& offered = c["targets"][1];
  EXPECT_EQ(offered["serial"], s2);
  EXPECT_EQ(offered["status"], "offered");  // the next stage, released after the first reported
  EXPECT_TRUE(offered["last_attempt"].is_null());
  EXPECT_TRUE(offered["running_sequence"].is_null());
  EXPECT_EQ(c["counts"]["failed"], 1);
  // The same per target in text: status, state, sequences, last attempt, reason.
  auto text = testing::Secprof("kdc campaign status" + dbq);
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find(s1 + " "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("running 1 -> 2, last attempt " +
                          failed["last_attempt"].get<std::string>() + ": test boot failed"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("last attempt none"), std::string::npos) << text.out;

  // kdc list now has the running firmware and the last contact of the first thing.
  list = Doc("kdc list" + dbq, "secprof.kdc.list.v2");
  EXPECT_EQ(list["things"][0]["firmware_sequence"], 1);
  EXPECT_TRUE(IsIsoUtc(list["things"][0]["last_seen"])) << list.dump();
  EXPECT_EQ(list["things"][0]["last_seen"], failed["last_attempt"]);
  EXPECT_TRUE(list["things"][1]["last_seen"].is_null());
  text = testing::Secprof("kdc list" + dbq);
  EXPECT_NE(text.out.find("LAST SEEN"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(list["things"][0]["last_seen"].get<std::string>()), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("never"), std::string::npos) << text.out;

  auto halted =
      Doc("kdc campaign halt" + dbq + " --id 1 --reason 'by test'", "secprof.kdc.campaign.halt.v1");
  EXPECT_EQ(halted["campaign"]["state"], "halted");
  EXPECT_EQ(halted["campaign"]["reason"], "by test");
  auto inc = Doc("kdc incident report" + dbq +
                     " --vendor Acme --model Valve --min-seq 0 --max-seq 1 --severity high"
                     " --description flaw",
                 "secprof.kdc.incident.report.v1");
  EXPECT_EQ(inc["incident_id"], 1);
  EXPECT_TRUE(inc["affected"].is_array());
  auto incs = Doc("kdc incident list" + dbq, "secprof.kdc.incident.list.v1");
  ASSERT_EQ(incs["incidents"].size(), 1u);
  EXPECT_TRUE(IsIsoUtc(incs["incidents"][0]["created"])) << incs.dump();

  // Groups, quarantine, setup codes, the domain CA, retirement, the audit log.
  auto g = Doc("kdc group create" + dbq + " lights", "secprof.kdc.group.create.v1");
  EXPECT_EQ(g["epoch"], 1);
  auto groups = Doc("kdc group list" + dbq, "secprof.kdc.group.list.v2");
  EXPECT_EQ(groups["groups"][0]["name"], "lights");
  auto q = Doc("kdc quarantined" + dbq, "secprof.kdc.quarantined.v2");
  EXPECT_EQ(q["things"], nlohmann::json::array());
  auto ca = Doc("kdc domain-ca" + dbq, "secprof.kdc.domain-ca.v1");
  EXPECT_EQ(ca["pem"].get<std::string>().rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  auto code = Doc("kdc retire-code" + dbq + " " + s2, "secprof.kdc.retire-code.v1");
  EXPECT_EQ(code["retired"], true);
  auto rev =
      Doc("kdc decommission" + dbq + " " + s2 + " --reason gone", "secprof.kdc.decommissioned.v1");
  EXPECT_EQ(rev["from"], "allowed");
  EXPECT_EQ(rev["to"], "decommissioned");
  EXPECT_EQ(rev["reason"], "gone");
  auto audit = Doc("kdc audit" + dbq + " --verify", "secprof.kdc.audit.v2");
  EXPECT_EQ(audit["chain_verified"], true);
  ASSERT_FALSE(audit["entries"].empty());
  for (const auto& e : audit["entries"]) EXPECT_TRUE(IsIsoUtc(e["time"])) << e.dump();
  // No output of the owner's commands prints Unix seconds: no 10-digit number after "time".
  text = testing::Secprof("kdc audit" + dbq + " --limit 1");
  EXPECT_TRUE(
      std::regex_search(text.out, std::regex(R"(  \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z  )")))
      << text.out;
}

TEST_F(JsonCli, OfflineToolsAndTheThingDocuments) {
  const std::string factory = P("factory");
  auto made = Doc("manufacture --vendor Acme --model Valve --count 1 --out " + Quote(factory),
                  "secprof.manufacture.v1");
  ASSERT_EQ(made["added"].size(), 1u);
  const std::string serial = made["added"][0];

  // A voucher for a domain: the domain CA of a SecProf_3 KDC's files.
  const std::string db = P("kdc.db");
  ASSERT_EQ(testing::Secprof("kdc --profile SecProf_3 --db " + Quote(db) +
                             " --listen 127.0.0.1:0 --duration 1 --allow-file-ca-key --vendor-ca " +
                             Quote(factory + "/ca/ca.pem"))
                .exit_code,
            0);
  auto ca = Doc("kdc domain-ca --db " + Quote(db), "secprof.kdc.domain-ca.v1");
  ASSERT_TRUE(WriteFileAtomic(P("domain-ca.pem"), ca["pem"].get<std::string>()));
  auto issued =
      Doc("voucher issue --factory " + Quote(factory) + " --serial " + serial + " --domain-ca " +
              Quote(P("domain-ca.pem")) + " --days 10 --out " + Quote(P("v.voucher")),
          "secprof.voucher.issue.v1");
  ASSERT_EQ(issued["vouchers"].size(), 1u);
  EXPECT_EQ(issued["vouchers"][0]["serial"], serial);
  auto verified =
      Doc("voucher verify " + Quote(P("v.voucher")) + " --ca " + Quote(factory + "/ca/ca.pem") +
              " --domain-ca " + Quote(P("domain-ca.pem")),
          "secprof.voucher.verify.v1");
  EXPECT_EQ(verified["valid"], true);
  EXPECT_TRUE(IsIsoUtc(verified["created"])) << verified.dump();
  ASSERT_TRUE(IsIsoUtc(verified["expires"])) << verified.dump();
  EXPECT_EQ(*ParseIso8601(verified["expires"].get<std::string>()) -
                *ParseIso8601(verified["created"].get<std::string>()),
            10 * 86400);
  auto inspected = Doc("voucher inspect " + Quote(P("v.voucher")), "secprof.voucher.inspect.v2");
  EXPECT_EQ(inspected["expires"], verified["expires"]);
  // In text the same ISO 8601 times.
  auto text = testing::Secprof("voucher inspect " + Quote(P("v.voucher")));
  EXPECT_NE(text.out.find(verified["expires"].get<std::string>()), std::string::npos) << text.out;

  // CBOR and COSE.
  ASSERT_TRUE(WriteFileAtomic(P("x.cbor"), std::string("\x82\x01\x61\x61", 4)));
  auto diag = Doc("cbor diag " + Quote(P("x.cbor")), "secprof.cbor.diag.v1");
  EXPECT_EQ(diag["diagnostic"], "[1, \"a\"]");
  EXPECT_EQ(diag["size"], 4);
  ASSERT_EQ(testing::Run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
                         Quote(P("k.pem")) + " 2>/dev/null")
                .exit_code,
            0);
  ASSERT_TRUE(WriteFileAtomic(P("payload"), "hello"));
  auto signed_doc = Doc("cose sign --in " + Quote(P("payload")) + " --key " + Quote(P("k.pem")) +
                            " --out " + Quote(P("m.cose")),
                        "secprof.cose.sign.v1");
  EXPECT_EQ(signed_doc["out"], P("m.cose"));
  EXPECT_TRUE(signed_doc["hex"].is_null());
  EXPECT_TRUE(fs::exists(P("m.cose")));
  auto to_stdout = Doc("cose sign --in " + Quote(P("payload")) + " --key " + Quote(P("k.pem")),
                       "secprof.cose.sign.v1");
  EXPECT_TRUE(to_stdout["out"].is_null());
  EXPECT_EQ(to_stdout["hex"].get<std::string>().size(), 2 * to_stdout["size"].get<size_t>());
  auto cv = Doc("cose verify " + Quote(P("m.cose")) + " --key " + Quote(P("k.pem")),
                "secprof.cose.verify.v1");
  EXPECT_EQ(cv["structure"], "COSE_Sign1");
  EXPECT_EQ(cv["verified"], true);
  auto ids = Doc("fw ids --factory " + Quote(factory) + " --model Valve", "secprof.fw.ids.v1");
  EXPECT_EQ(ids["vendor_id"], made["firmware_vendor_id"]);
  auto threats = Doc("catalog threats", "secprof.catalog.threats.v1");
  EXPECT_TRUE(threats["threats"].is_array());
  EXPECT_TRUE(threats["catalog_version"].is_string());

  // The demo's summary (assessments only): the progress goes to stderr, one document to stdout.
  auto demo =
      Doc("demo --no-domain --examples " + Quote((testing::SourceDir() / "examples").string()) +
              " --out " + Quote(P("demo")),
          "secprof.demo.v1");
  ASSERT_FALSE(demo["assessments"].empty()) << demo.dump();
  EXPECT_TRUE(fs::exists(demo["assessments"][0]["report_html"].get<std::string>()));
  EXPECT_EQ(demo["domain"], nlohmann::json::array());
  EXPECT_TRUE(demo["lab"].is_null());
  EXPECT_EQ(demo["exit"], 0);

  // The thing, before it has a KDC: the transition of init, then its status.
  const std::string state = P("t1");
  auto init = Doc("thing --state " + Quote(state) + " init --factory " + Quote(factory) +
                      " --serial " + serial + " --profile SecProf_3 --allow-file-keys",
                  "secprof.thing.init.v1");
  EXPECT_EQ(init["state"], "manufactured");
  EXPECT_EQ(init["transition"]["to"], "manufactured");
  EXPECT_TRUE(IsIsoUtc(init["transition"]["time"])) << init.dump();
  auto inst = Doc("thing --state " + Quote(state) + " install --kdc 127.0.0.1:0:5684",
                  "secprof.thing.install.v1");
  EXPECT_EQ(inst["transition"]["from"], "manufactured");
  EXPECT_EQ(inst["transition"]["to"], "installed");
  auto st = Doc("thing --state " + Quote(state) + " status", "secprof.thing.status.v2");
  EXPECT_EQ(st["state"], "installed");
  EXPECT_TRUE(st["owner"].is_null());
  EXPECT_TRUE(st["running_firmware"].is_number_unsigned()) << st.dump();
  ASSERT_EQ(st["history"].size(), 2u);
  for (const auto& h : st["history"]) EXPECT_TRUE(IsIsoUtc(h["time"])) << h.dump();
  text = testing::Secprof("thing --state " + Quote(state) + " status");
  EXPECT_NE(text.out.find("owner:    (none yet)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(st["history"][0]["time"].get<std::string>()), std::string::npos)
      << text.out;
}

}  // namespace
}  // namespace secprof
