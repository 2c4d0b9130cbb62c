// `secprof demo`: the main job that `make demo` runs.
//
// It assesses the four worked example models, one per profile, and writes an HTML report for each;
// then it runs the domain: per profile it manufactures a small fleet, starts a KDC (SecProf_2..4)
// on loopback, carries every thing through the lifecycle over CoAP/DTLS (join, operation, thing-to-
// thing keys, groups with re-keying, maintenance, decommissioning, replacement, re-ownership) and
// prints a summary per profile. Exit 0 when every step went as the profile says, 1 otherwise.
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "command.h"
#include "secprof/assess/assess.h"
#include "secprof/catalog/catalog.h"
#include "secprof/coap/coap.h"
#include "secprof/core/fs.h"
#include "secprof/cose/key.h"
#include "secprof/domain/profile.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"
#include "secprof/kdc/kdc.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/model/model.h"
#include "secprof/registry/registry.h"
#include "secprof/report/report.h"
#include "secprof/thing/agent.h"
#include "secprof/update/suit.h"
#include "secprof/voucher/voucher.h"

namespace secprof::cli {
namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  std::string examples = "examples";
  std::string out = "build/demo";
  int things = 5;
  bool domain = true;
};
// ---- the run-time domain -----------------------------------------------------------------------

struct ProfileRun {
  std::string profile;
  std::map<std::string, int> states;  // thing-side lifecycle state -> count
  int things = 0;
  int joined = 0;
  double join_seconds = 0;
  std::vector<std::string> failures;        // unexpected failures (the demo exits 1 if any)
  std::map<std::string, uint64_t> refused;  // KDC refusals by reason (expected ones included)
  std::vector<std::string> notes;
};

using Clk = std::chrono::steady_clock;

double Seconds(Clk::time_point since) {
  return std::chrono::duration<double>(Clk::now() - since).count();
}

// A KDC on its own thread for the life of the object.
struct DemoKdc {
  std::unique_ptr<kdc::Kdc> kdc;
  std::jthread io;
  static Result<std::unique_ptr<DemoKdc>> Start(kdc::KdcOptions o) {
    auto d = std::make_unique<DemoKdc>();
    SECPROF_ASSIGN_OR_RETURN(d->kdc, kdc::Kdc::Create(std::move(o)));
    d->io = std::jthread([k = d->kdc.get()](std::stop_token st) { (void)k->Serve(st); });
    return d;
  }
  ~DemoKdc() {
    if (io.joinable()) {
      io.request_stop();
      io.join();
    }
  }
};

// A thing server on its own thread.
struct DemoServer {
  std::unique_ptr<thing::ThingServer> server;
  std::jthread io;
  static Result<std::unique_ptr<DemoServer>> Start(thing::Agent& a, thing::ThingServerOptions o) {
    auto d = std::make_unique<DemoServer>();
    SECPROF_ASSIGN_OR_RETURN(d->server, thing::ThingServer::Start(a, std::move(o)));
    d->io = std::jthread([s = d->server.get()](std::stop_token st) { (void)s->Serve(st); });
    return d;
  }
  ~DemoServer() {
    if (io.joinable()) {
      io.request_stop();
      io.join();
    }
  }
};

void Step(ProfileRun& run, const std::string& what, const Status& s) {
  if (!s) run.failures.push_back(what + ": " + s.error().message());
}

// Something that must be refused; a success is a failure of the demo.
void MustRefuse(ProfileRun& run, const std::string& what, const Status& s) {
  if (s)
    run.failures.push_back(what + " was NOT refused");
  else
    run.notes.push_back("refused as it should be: " + what + " (" + s.error().message() + ")");
}

// SecProf_3/4 things keep their keys in a PKCS#11 token: a SoftHSM2 token per profile under the
// demo's directory (SOFTHSM2_CONF points there for this process). Empty when SoftHSM2 is missing;
// the demo then says it falls back to file stores.
std::map<domain::Profile, keystore::Pkcs11KeyStoreOptions> g_tokens;
std::string g_token_problem;

void MakeDemoTokens(const fs::path& base) {
  if (!fs::exists(keystore::kDefaultPkcs11Module)) {
    g_token_problem = std::string("SoftHSM2 module ") + keystore::kDefaultPkcs11Module + " missing";
    return;
  }
  fs::path dir = base / "softhsm";
  std::error_code ec;
  fs::create_directories(dir / "tokens", ec);
  std::string conf = (dir / "softhsm2.conf").string();
  if (!WriteFileAtomic(conf,
                       "directories.tokendir = " + (dir / "tokens").string() +
                           "\nobjectstore.backend = file\nlog.level = ERROR\n",
                       0600)) {
    g_token_problem = "cannot write " + conf;
    return;
  }
  ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  for (auto p : {domain::Profile::kSecProf3, domain::Profile::kSecProf4}) {
    std::string label = std::string("demo-") + domain::ProfileName(p);
    std::string cmd = "softhsm2-util --init-token --free --label " + label +
                      " --pin 1234 --so-pin 5678 >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      g_token_problem = "softhsm2-util could not make a token";
      g_tokens.clear();
      return;
    }
    keystore::Pkcs11KeyStoreOptions o;
    o.token_label = label;
    o.pin = "1234";
    g_tokens[p] = o;
  }
}

Result<std::vector<std::unique_ptr<thing::Agent>>> Fleet(const fs::path& dir, domain::Profile p,
                                                         const std::string& vendor, int count,
                                                         manufacture::Manifest& manifest) {
  manufacture::Options mo;
  auto token = g_tokens.find(p);
  if (token != g_tokens.end()) {
    mo.keystore = keystore::StoreKind::kPkcs11;
    mo.pkcs11 = token->second;
  }
  mo.vendor = vendor;
  mo.model = std::string(domain::ProfileName(p)) == "SecProf_1" ? "Bulb" : "Sensor";
  mo.count = count;
  mo.out_dir = (dir / "factory").string();
  SECPROF_ASSIGN_OR_RETURN(manufacture::Outcome made, manufacture::Manufacture(mo));
  manifest = made.manifest;
  std::vector<std::unique_ptr<thing::Agent>> out;
  for (const auto& t : manifest.things) {
    thing::InitOptions io{(dir / "things" / t.serial).string(), mo.out_dir, t.serial, p};
    // Without SoftHSM2 the demo falls back to file stores, recorded as an override (and reported
    // as a failure of SecProf_3/4 below).
    io.allow_file_keys = token == g_tokens.end();
    SECPROF_TRY(thing::Agent::Init(io));
    thing::AgentOptions ao;
    ao.state_dir = io.state_dir;
    ao.timeout = std::chrono::milliseconds(3000);
    if (token != g_tokens.end()) ao.pkcs11 = token->second;
    SECPROF_ASSIGN_OR_RETURN(auto a, thing::Agent::Open(ao));
    out.push_back(std::move(a));
  }
  return out;
}

void Count(ProfileRun& run, const std::vector<std::unique_ptr<thing::Agent>>& fleet) {
  for (const auto& a : fleet) ++run.states[thing::StateName(a->state().state)];
}

void Progress(const std::string& profile, const std::string& msg) {
  std::cout << "  " << std::left << std::setw(10) << profile << msg << "\n" << std::flush;
}

// SecProf_1: resurrecting duckling, no KDC.
ProfileRun RunHome(const fs::path& dir, int count) {
  ProfileRun run;
  run.profile = "SecProf_1";
  manufacture::Manifest m;
  auto fleet = Fleet(dir, domain::Profile::kSecProf1, "HomeCo", count, m);
  if (!fleet) {
    run.failures.push_back("manufacture: " + fleet.error().message());
    return run;
  }
  run.things = count;
  Progress(run.profile, "manufactured " + std::to_string(count) + " things");
  auto& f = *fleet;
  Step(run, "mother", f[0]->BecomeMother());
  auto t0 = Clk::now();
  for (size_t i = 1; i < f.size(); ++i) {
    auto srv = DemoServer::Start(*f[i], {});
    if (!srv) {
      run.failures.push_back(srv.error().message());
      continue;
    }
    auto cl = coap::Client::Connect("127.0.0.1", (*srv)->server->udp_port(), {});
    auto imprint = f[0]->MakeImprint();
    if (!cl || !imprint) {
      run.failures.push_back("pairing: cannot reach " + f[i]->state().serial);
      continue;
    }
    auto r =
        (*cl)->Post(domain::path::kPair, domain::Encode(*imprint), coap::content_format::kCbor);
    if (!r || r->code != coap::kChanged) run.failures.push_back("pairing " + f[i]->state().serial);
    // Operational traffic: a link frame from the mother (MAC + counter, no encryption).
    auto frame =
        f[0]->SealLinkFrame(domain::Encode(domain::Reading{f[0]->state().serial, 2150, 1}));
    if (frame) {
      auto l = (*cl)->Post(domain::path::kLink, *frame);
      if (!l || l->code != coap::kChanged)
        run.failures.push_back("link frame " + f[i]->state().serial);
      auto replay = (*cl)->Post(domain::path::kLink, *frame);
      if (replay && replay->code == coap::kChanged) run.failures.push_back("link replay accepted");
    }
  }
  run.join_seconds = Seconds(t0);
  for (const auto& a : f) run.joined += a->state().state == thing::State::kCommissioned;
  Progress(run.profile, "paired " + std::to_string(run.joined - 1) + " things with the mother " +
                            "(domain key handed over IN THE CLEAR)");
  for (auto& a : f) Step(run, "operational " + a->state().serial, a->GoOperational());
  // Decommissioning a duckling is its death: a factory reset.
  Step(run, "decommission", f.back()->Decommission(false));
  run.notes.push_back(
      "the draft's home profile: anyone on the link during pairing learns the "
      "domain key; link frames have integrity and freshness, no confidentiality");
  Count(run, f);
  return run;
}

// SecProf_2..4: a KDC for the domain.
ProfileRun RunManaged(const fs::path& dir, domain::Profile p, int count) {
  ProfileRun run;
  run.profile = domain::ProfileName(p);
  const bool voucher_mode = domain::PolicyFor(p).bootstrap == domain::Bootstrap::kVoucher;
  manufacture::Manifest m;
  auto fleet = Fleet(dir, p, "Acme", count + 1, m);  // one spare for the replacement
  if (!fleet) {
    run.failures.push_back("manufacture: " + fleet.error().message());
    return run;
  }
  auto& f = *fleet;
  run.things = count + 1;
  Progress(run.profile, "manufactured " + std::to_string(count + 1) + " things (1 spare)");
  kdc::KdcOptions ko;
  ko.profile = p;
  ko.db_path = (dir / "kdc.db").string();
  ko.owner = "Demo-Owner";
  ko.vendor_ca_files = {(dir / "factory" / m.ca_certificate).string()};
  if (const char* v = std::getenv(kdc::kKdcKekEnvVar)) ko.kek.kek_env = v;
  if (auto tok = g_tokens.find(p); tok != g_tokens.end()) {
    ko.kek.ca_token = tok->second.token_label;  // the domain CA key in the token too
    ko.kek.ca_pin = kdc::Pin(tok->second.pin);
  } else {
    ko.require_token_keys = false;  // the file-store fallback (see Fleet)
    ko.kek.allow_file_ca_key = true;
  }
  auto k = DemoKdc::Start(ko);
  if (!k) {
    run.failures.push_back("KDC: " + k.error().message());
    return run;
  }
  auto owner = kdc::OwnerTools::Open(ko.db_path);
  if (!owner) {
    run.failures.push_back("owner tools: " + owner.error().message());
    return run;
  }
  const uint16_t udp = (*k)->kdc->udp_port();  // 0: no plain-CoAP step (SecProf_3/4)
  Progress(run.profile, "KDC up:" + (udp ? " coap://127.0.0.1:" + std::to_string(udp) : "") +
                            " coaps://127.0.0.1:" + std::to_string((*k)->kdc->dtls_port()));
  std::optional<voucher::Factory> vendor;
  if (voucher_mode) {
    auto fo = voucher::Factory::Open((dir / "factory").string());
    if (!fo) {
      run.failures.push_back(fo.error().message());
      return run;
    }
    vendor.emplace(std::move(*fo));
  }
  auto admit = [&](const manufacture::ThingRecord& t) -> Status {
    if (!voucher_mode) return (*owner)->AllowSetupCode(t.serial, m.vendor, m.model, t.setup_code);
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes v,
                             vendor->Issue(t.serial, (*k)->kdc->domain_ca(), "Demo-Owner",
                                           std::chrono::hours(24), SystemClock()));
    return (*owner)->ImportVoucher(v, vendor->vendor_ca());
  };
  for (int i = 0; i < count; ++i) Step(run, "admit " + m.things[i].serial, admit(m.things[i]));
  Progress(run.profile, std::string(voucher_mode ? "imported vouchers" : "allowed setup codes") +
                            " for " + std::to_string(count) + " things");
  // Installed -> commissioned.
  auto t0 = Clk::now();
  for (int i = 0; i < count; ++i) {
    Step(run, "install", f[i]->Install("127.0.0.1", (*k)->kdc->udp_port(), (*k)->kdc->dtls_port()));
    auto j = f[i]->Join();
    Step(run, "join " + f[i]->state().serial, j);
    run.joined += j.has_value();
  }
  run.join_seconds = Seconds(t0);
  Progress(run.profile, "joined " + std::to_string(run.joined) + "/" + std::to_string(count) +
                            " in " + std::to_string(run.join_seconds).substr(0, 5) + " s");
  // The spare was never admitted: a substitution attempt.
  Step(run, "install spare",
       f[count]->Install("127.0.0.1", (*k)->kdc->udp_port(), (*k)->kdc->dtls_port()));
  MustRefuse(run, "join of a device the owner did not admit", f[count]->Join());
  // Operational.
  for (int i = 0; i < count; ++i) {
    Step(run, "operational", f[i]->GoOperational());
    Step(run, "reading", f[i]->SendReading(2000 + i));
  }
  Progress(run.profile, "operational: readings over " +
                            std::string(voucher_mode ? "DTLS with LDevIDs" : "DTLS-PSK"));
  // Thing-to-thing: a KDC ticket, then DTLS-PSK between the two things.
  if (count >= 2) {
    auto srv = DemoServer::Start(*f[1], {});
    auto pk = f[0]->RequestPairKey(f[1]->state().serial);
    if (srv && pk) {
      auto peer =
          thing::ConnectToPeer("127.0.0.1", (*srv)->server->udp_port(), (*srv)->server->dtls_port(),
                               *pk, std::chrono::milliseconds(3000));
      auto r = peer ? (*peer)->Put(domain::path::kActuator,
                                   domain::Encode(domain::ActuatorCommand{true}),
                                   coap::content_format::kCbor)
                    : Result<coap::Response>(Fail(peer.error()));
      if (!r || r->code != coap::kChanged)
        run.failures.push_back("thing-to-thing command");
      else
        Progress(run.profile, "thing-to-thing: " + f[0]->state().serial + " switched " +
                                  f[1]->state().serial + "'s LED over a KDC-keyed DTLS session");
    } else {
      run.failures.push_back("pair key: " + (pk ? srv.error().message() : pk.error().message()));
    }
  }
  // Groups: everyone in "all"; the last member leaves -> new epoch it cannot read.
  Step(run, "group", (*owner)->CreateGroup("all"));
  for (int i = 0; i < count; ++i)
    Step(run, "member", (*owner)->AddMember("all", f[i]->state().serial));
  for (int i = 0; i < count; ++i) (void)f[i]->FetchGroupKey("all");
  if (count >= 2) {
    auto msg = f[0]->SealGroupMessage("all", coap::Text("lights off"));
    auto g1 = f[1]->FetchGroupKey("all");
    if (msg && g1) {
      auto opened = f[1]->OpenGroupMessage("all", *msg, g1->members);
      Step(run, "group message", opened.has_value() ? Ok() : Status(Fail(opened.error())));
      if (opened)
        Progress(run.profile,
                 std::string("group message ") +
                     (opened->origin_authenticated ? "signed by its sender and " : "") +
                     "encrypted under epoch " + std::to_string(g1->epoch));
    }
    Step(run, "remove member", (*owner)->RemoveMember("all", f[count - 1]->state().serial));
    auto g2 = f[1]->FetchGroupKey("all");
    auto stale = f[count - 1]->SealGroupMessage("all", coap::Text("still here"));
    if (g2 && stale)
      MustRefuse(run, "group message from a removed member",
                 f[1]->OpenGroupMessage("all", *stale, g2->members).has_value()
                     ? Ok()
                     : Status(Fail(Error(ErrorCode::kVerifyFailed, "stale epoch"))));
  }
  // Maintenance: an incident against the factory firmware (sequence 1); the vendor's fix
  // (sequence 2) is in the store, so the KDC starts a staged campaign; every thing fetches it
  // block-wise, verifies and installs it into its inactive slot, and reports.
  Step(run, "firmware", [&]() -> Status {
    SECPROF_ASSIGN_OR_RETURN(std::string ca_pem,
                             ReadFile((dir / "factory" / m.ca_certificate).string()));
    SECPROF_ASSIGN_OR_RETURN(identity::Certificate ca, identity::Certificate::FromPem(ca_pem));
    SECPROF_TRY((*owner)->TrustVendor(ca));
    keystore::FileKeyStoreOptions so;
    so.dir = (dir / "factory" / m.ca_key_location).string();
    SECPROF_ASSIGN_OR_RETURN(auto vstore, keystore::FileKeyStore::Open(std::move(so)));
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer der, vstore->ExportPrivate(m.ca_key_label));
    SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk,
                             crypto::PrivateKey::FromDer(crypto::ByteView(der.data(), der.size())));
    SECPROF_ASSIGN_OR_RETURN(cose::Key vendor_key, cose::KeyFromPrivate(std::move(sk)));
    std::string image(64 * 1024, '\0');
    for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<char>(i * 7 + 2);
    std::string image_path = (dir / "firmware-2.bin").string();
    SECPROF_TRY(WriteFileAtomic(image_path, image));
    update::CreateParams cp;
    cp.vendor_id = domain::FirmwareVendorId(m.vendor);
    cp.class_id = domain::FirmwareClassId(m.vendor, m.model);
    cp.sequence_number = 2;
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes env,
        update::CreateEnvelope(
            crypto::ByteView(reinterpret_cast<const uint8_t*>(image.data()), image.size()), cp,
            vendor_key));
    SECPROF_TRY((*owner)->AddFirmware(env, image_path, m.model));
    registry::Incident in;
    in.vendor = m.vendor;
    in.model = m.model;
    in.min_sequence = in.max_sequence = 1;
    in.severity = "high";
    in.description = "demo: a flaw in the factory firmware";
    SECPROF_ASSIGN_OR_RETURN(auto inc, (*owner)->ReportIncident(in, 2, 0.34));
    if (inc.campaign_id == 0) return Fail(ErrorCode::kInternal, "no campaign for the incident");
    int installed = 0;
    uint64_t bytes = 0;
    for (int round = 0; round < count; ++round)
      for (int i = 0; i < count; ++i) {
        SECPROF_ASSIGN_OR_RETURN(auto u, f[i]->CheckForUpdate());
        installed += u.installed;
        bytes += u.bytes_fetched;
        if (u.offered && !u.installed) return Fail(ErrorCode::kVerifyFailed, u.detail);
      }
    SECPROF_ASSIGN_OR_RETURN(auto camp, (*owner)->registry().GetCampaign(inc.campaign_id));
    Progress(run.profile, "incident -> campaign " + std::to_string(inc.campaign_id) + ": " +
                              std::to_string(installed) + "/" + std::to_string(count) +
                              " things on firmware 2 (" + std::to_string(bytes / 1024) +
                              " KiB fetched block-wise), campaign " +
                              registry::CampaignStateName(camp.state));
    if (installed != count) return Fail(ErrorCode::kInternal, "not every thing was updated");
    return {};
  }());
  // Decommission the last thing; its old credential is refused afterwards.
  thing::Agent& gone = *f[count - 1];
  Step(run, "decommission", gone.Decommission());
  // Replacement: the spare takes over the decommissioned thing's role.
  auto spare_admit = admit(m.things[count]);
  Step(run, "admit spare", spare_admit);
  Step(run, "spare reset", f[count]->FactoryReset(true));
  Step(run, "spare install",
       f[count]->Install("127.0.0.1", (*k)->kdc->udp_port(), (*k)->kdc->dtls_port()));
  Step(run, "spare join", f[count]->Join());
  Step(run, "replace", (*owner)->Replace(gone.state().serial, f[count]->state().serial));
  Step(run, "spare operational", f[count]->GoOperational());
  Progress(run.profile, "decommissioned " + gone.state().serial + "; " + f[count]->state().serial +
                            " replaced it");
  // Re-ownership (voucher profiles): thing 0 is sold to a second owner.
  if (voucher_mode && count >= 3) {
    kdc::KdcOptions ko2 = ko;
    ko2.db_path = (dir / "kdc-new-owner.db").string();
    ko2.owner = "New-Owner";
    auto k2 = DemoKdc::Start(ko2);
    auto owner2 = k2 ? kdc::OwnerTools::Open(ko2.db_path)
                     : Result<std::unique_ptr<kdc::OwnerTools>>(Fail(k2.error()));
    if (!owner2) {
      run.failures.push_back("second owner: " + owner2.error().message());
    } else {
      thing::Agent& sold = *f[0];
      Step(run, "sale: decommission", sold.Decommission());
      Step(run, "sale: factory reset", sold.FactoryReset());
      auto v = vendor->Issue(sold.state().serial, (*k2)->kdc->domain_ca(), "New-Owner",
                             std::chrono::hours(24), SystemClock());
      Step(run, "new voucher",
           v ? (*owner2)->ImportVoucher(*v, vendor->vendor_ca()) : Status(Fail(v.error())));
      Step(run, "install at new owner",
           sold.Install("127.0.0.1", (*k2)->kdc->udp_port(), (*k2)->kdc->dtls_port()));
      Step(run, "join new owner", sold.Join());
      Step(run, "operational at new owner", sold.GoOperational());
      // The old domain refuses it now.
      auto back = kdc::OwnerTools::Open(ko.db_path);
      if (back) {
        auto t = (*back)->registry().Get(sold.state().serial);
        if (!t || registry::IsActive(t->state))
          run.failures.push_back("old domain still lists the sold thing as active");
      }
      Progress(run.profile, "re-owned " + sold.state().serial +
                                ": now in New-Owner's domain, "
                                "refused by the old one");
    }
  }
  if (domain::PolicyFor(p).tamper_resistant) {
    if (g_tokens.count(p))
      run.notes.push_back(
          "IDevID and LDevID keys generated in a PKCS#11 token (SoftHSM2), "
          "non-extractable; DTLS handshakes and group signatures are made in it; the things' "
          "secrets are sealed under a token AES key; the domain CA and KDC DTLS keys are in a "
          "token too");
    else
      run.failures.push_back("no PKCS#11 token for this profile: " + g_token_problem);
  }
  run.refused = (*k)->kdc->stats().refused;
  Count(run, f);
  return run;
}

int RunDomain(const std::string& out, int count, std::vector<ProfileRun>& runs) {
  fs::path base = fs::path(out) / "domain";
  std::error_code ec;
  fs::remove_all(base, ec);
  fs::create_directories(base, ec);
  if (ec) return ReportError(Error(ErrorCode::kIo, "cannot create " + base.string()));
  std::cout << "\nsecprof demo: the run-time domain, " << count
            << " things per profile, on loopback CoAP/DTLS\n";
  MakeDemoTokens(base);
  runs.push_back(RunHome(base / "SecProf_1", count));
  for (auto p :
       {domain::Profile::kSecProf2, domain::Profile::kSecProf3, domain::Profile::kSecProf4})
    runs.push_back(RunManaged(base / domain::ProfileName(p), p, count));
  std::cout << "\n"
            << std::left << std::setw(11) << "profile" << std::setw(8) << "things" << std::setw(9)
            << "joined" << std::setw(10) << "joins/s"
            << "things per state (thing side)\n";
  int failures = 0;
  for (const auto& r : runs) {
    std::string states;
    for (const auto& [s, n] : r.states) states += s + "=" + std::to_string(n) + " ";
    double rate = r.join_seconds > 0 ? r.joined / r.join_seconds : 0;
    std::ostringstream rs;
    rs << std::fixed << std::setprecision(1) << rate;
    std::cout << std::left << std::setw(11) << r.profile << std::setw(8) << r.things << std::setw(9)
              << r.joined << std::setw(10) << rs.str() << states << "\n";
  }
  for (const auto& r : runs) {
    std::cout << "\n"
              << r.profile << ": " << domain::PolicyFor(*domain::ParseProfile(r.profile)).summary
              << "\n";
    for (const auto& [reason, n] : r.refused)
      std::cout << "  KDC refused " << n << " request(s): " << reason << "\n";
    for (const auto& n : r.notes) std::cout << "  " << n << "\n";
    for (const auto& e : r.failures) std::cout << "  FAILED: " << e << "\n";
    failures += static_cast<int>(r.failures.size());
  }
  return failures;
}

int RunDemo(const DemoOptions& o) {
  auto cat = catalog::LoadBuiltin();
  if (!cat) return ReportError(cat.error().WithContext("catalog"));
  std::vector<fs::path> models;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(o.examples, ec)) {
    if (e.path().extension() == ".yaml") models.push_back(e.path());
  }
  if (ec || models.empty()) {
    return ReportError(
        Error(ErrorCode::kNotFound, "no example models (*.yaml) in '" + o.examples +
                                        "'; run from the source checkout or pass --examples DIR"));
  }
  std::sort(models.begin(), models.end());
  fs::create_directories(o.out, ec);
  if (ec) {
    return ReportError(Error(ErrorCode::kIo, "cannot create " + o.out + ": " + ec.message()));
  }
  std::cout << "secprof demo: assessing " << models.size() << " example systems (catalog "
            << (*cat)->version << ")\n\n";
  std::cout << std::left << std::setw(44) << "system" << std::setw(11) << "profile" << std::setw(9)
            << "threats" << std::setw(10) << "must-fix" << std::setw(10) << "residual"
            << std::setw(6) << "gaps"
            << "report\n";
  int failures = 0;
  for (const auto& path : models) {
    auto m = model::LoadFile(path.string());
    if (!m) {
      ReportError(m.error());
      ++failures;
      continue;
    }
    auto a = assess::Assess(**cat, *m);
    if (!a) {
      ReportError(a.error());
      ++failures;
      continue;
    }
    const fs::path html = fs::path(o.out) / (path.stem().string() + ".html");
    const fs::path json = fs::path(o.out) / (path.stem().string() + ".json");
    auto st = WriteFileAtomic(html.string(), report::RenderHtml(*a, **cat));
    if (st) st = WriteFileAtomic(json.string(), report::RenderJson(*a));
    if (!st) {
      ReportError(st.error());
      ++failures;
      continue;
    }
    std::string name =
        a->model_name.size() > 42 ? a->model_name.substr(0, 41) + "~" : a->model_name;
    std::cout << std::left << std::setw(44) << name << std::setw(11) << a->profile.id
              << std::setw(9) << a->findings.size() << std::setw(10) << a->summary.must_mitigate
              << std::setw(10) << a->summary.residual_must_mitigate << std::setw(6)
              << a->gaps.size() << html.string() << "\n";
  }
  std::cout << "\nmust-fix: findings whose risk is moderate or high; residual: those still so after"
               " the mitigations each model declares. JSON beside each report.\n";
  if (failures) return kExitBadInput;
  if (!o.domain) return kExitOk;
  std::vector<ProfileRun> runs;
  int domain_failures = RunDomain(o.out, o.things, runs);
  std::cout << "\nNot in this demo yet: the lab (an adversary per threat); see the open issues.\n";
  return domain_failures ? kExitFinding : kExitOk;
}

void Install(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<DemoOptions>();
  CLI::App* sub = app.add_subcommand(
      "demo",
      "Assess the example systems (one per profile), then run a domain per profile on loopback: "
      "manufacture, join, operate, re-key, decommission, replace, re-own.");
  sub->add_option("--examples", opts->examples, "directory of example models")
      ->capture_default_str();
  sub->add_option("--out", opts->out, "directory for the reports and the domain's files")
      ->capture_default_str();
  sub->add_option("--things", opts->things, "things per profile (2..50)")
      ->check(CLI::Range(3, 50))
      ->capture_default_str();
  sub->add_flag("!--no-domain", opts->domain, "only the assessments");
  sub->callback([opts, &ctx] { ctx.exit_code = RunDemo(*opts); });
}

Registrar reg("demo", 90, Install);

}  // namespace
}  // namespace secprof::cli
