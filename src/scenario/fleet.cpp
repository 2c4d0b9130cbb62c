// Fleets, tokens and servers on threads (secprof/scenario/scenario.h).
#include <cstdlib>

#include "secprof/core/fs.h"
#include "secprof/scenario/scenario.h"

namespace secprof::scenario {

namespace fs = std::filesystem;

const keystore::Pkcs11KeyStoreOptions* Tokens::For(domain::Profile p) const {
  auto it = by_profile.find(p);
  return it == by_profile.end() ? nullptr : &it->second;
}

std::string ConfigureSoftHsm(const fs::path& base) {
  if (!fs::exists(keystore::kDefaultPkcs11Module))
    return std::string("SoftHSM2 module ") + keystore::kDefaultPkcs11Module + " missing";
  fs::path dir = base / "softhsm";
  std::error_code ec;
  fs::create_directories(dir / "tokens", ec);
  std::string conf = (dir / "softhsm2.conf").string();
  if (!WriteFileAtomic(conf,
                       "directories.tokendir = " + (dir / "tokens").string() +
                           "\nobjectstore.backend = file\nlog.level = ERROR\n",
                       0600))
    return "cannot write " + conf;
  ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  return "";
}

Tokens MakeSoftHsmTokens(const fs::path& base, std::span<const domain::Profile> profiles) {
  Tokens out;
  out.problem = ConfigureSoftHsm(base);
  if (!out.problem.empty()) return out;
  for (auto p : profiles) {
    std::string label = std::string("demo-") + domain::ProfileName(p);
    std::string cmd = "softhsm2-util --init-token --free --label " + label +
                      " --pin 1234 --so-pin 5678 >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      out.problem = "softhsm2-util could not make a token";
      out.by_profile.clear();
      return out;
    }
    keystore::Pkcs11KeyStoreOptions o;
    o.token_label = label;
    o.pin = keystore::Pin("1234");
    out.by_profile[p] = o;
  }
  return out;
}

Result<Fleet> MakeFleet(const FleetOptions& fo) {
  const keystore::Pkcs11KeyStoreOptions* token = fo.tokens ? fo.tokens->For(fo.profile) : nullptr;
  manufacture::Options mo;
  if (token) {
    mo.keystore = keystore::StoreKind::kPkcs11;
    mo.pkcs11 = *token;
  }
  mo.vendor = fo.vendor;
  mo.model = fo.profile == domain::Profile::kSecProf1 ? "Bulb" : "Sensor";
  mo.count = fo.count;
  mo.out_dir = (fo.dir / "factory").string();
  SECPROF_ASSIGN_OR_RETURN(manufacture::Outcome made, manufacture::Manufacture(mo));
  Fleet fleet;
  fleet.manifest = made.manifest;
  fleet.factory_dir = mo.out_dir;
  fleet.token_keys = token != nullptr;
  for (const auto& t : fleet.manifest.things) {
    thing::InitOptions io{(fo.dir / "things" / t.serial).string(), mo.out_dir, t.serial,
                          fo.profile};
    // Without a token the things keep file stores, recorded as an override (and reported as a
    // failure of SecProf_3/4 by RunProfile).
    io.allow_file_keys = token == nullptr;
    SECPROF_TRY(thing::Agent::Init(io));
    thing::AgentOptions ao;
    ao.state_dir = io.state_dir;
    ao.timeout = fo.timeout;
    if (token) ao.pkcs11 = *token;
    SECPROF_ASSIGN_OR_RETURN(auto a, thing::Agent::Open(ao));
    fleet.things.push_back(std::move(a));
  }
  return fleet;
}

Result<std::unique_ptr<RunningKdc>> RunningKdc::Start(kdc::KdcOptions o) {
  auto d = std::make_unique<RunningKdc>();
  SECPROF_ASSIGN_OR_RETURN(d->kdc, kdc::Kdc::Create(std::move(o)));
  d->io = std::jthread([k = d->kdc.get()](std::stop_token st) { (void)k->Serve(st); });
  return d;
}

RunningKdc::~RunningKdc() {
  if (io.joinable()) {
    io.request_stop();
    io.join();
  }
}

Result<std::unique_ptr<RunningThingServer>> RunningThingServer::Start(thing::Agent& a,
                                                                      thing::ThingServerOptions o) {
  auto d = std::make_unique<RunningThingServer>();
  SECPROF_ASSIGN_OR_RETURN(d->server, thing::ThingServer::Start(a, std::move(o)));
  d->io = std::jthread([s = d->server.get()](std::stop_token st) { (void)s->Serve(st); });
  return d;
}

RunningThingServer::~RunningThingServer() {
  if (io.joinable()) {
    io.request_stop();
    io.join();
  }
}

std::vector<ProfileRun> RunAllProfiles(const fs::path& base, int things, const Progress& progress) {
  const domain::Profile token_profiles[] = {domain::Profile::kSecProf3, domain::Profile::kSecProf4};
  Tokens tokens = MakeSoftHsmTokens(base, token_profiles);
  std::vector<ProfileRun> runs;
  for (auto p : {domain::Profile::kSecProf1, domain::Profile::kSecProf2, domain::Profile::kSecProf3,
                 domain::Profile::kSecProf4}) {
    RunOptions o{base / domain::ProfileName(p), things, &tokens, progress};
    runs.push_back(RunProfile(p, o));
  }
  return runs;
}

}  // namespace secprof::scenario
