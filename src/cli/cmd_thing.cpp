// `secprof thing --state DIR <step>` — the device agent (secprof::thing) driven one lifecycle step
// per invocation (brief §4). The thing's state lives in DIR (state.json, kek, keystore/) and
// persists between invocations; every step is one Agent call, so a refused step changes nothing.
//
//   secprof thing --state t1 init --factory fac --serial S --profile SecProf_2
//   secprof thing --state t1 install --kdc 127.0.0.1:5683[:5684]
//   secprof thing --state t1 join | operational | maintenance | report --celsius 21.5
//   secprof thing --state t1 pair-key --peer S2 | group-key --group lights
//   secprof thing --state t1 decommission [--offline] | factory-reset [--force]
//   secprof thing --state t1 status     (every step: [--format text|json], docs/CLI.md)
//   secprof thing --state t1 serve [--listen ADDR:PORT] [--dtls-port N] [--duration S]
//                                  [--revocation-poll S] [--update-poll S]
//   secprof thing --state m mother ; secprof thing --state m pair --to HOST:PORT   (SecProf_1)
//
// Exit status: 0 done; 1 the KDC or the peer refused (4.01/4.03, a voucher or ticket that does not
// verify) or did not answer, with the reason, and the state is unchanged; 2 bad arguments, a step
// the thing's state does not allow, a missing or malformed state directory, or a local failure.
//
// One process at a time works on a state directory (the agent is single-threaded, and its firmware
// slot store admits one installer): each step holds an exclusive lock on DIR/.lock (flock) for its
// duration, `serve` for as long as it serves; another step meanwhile exits 2 ("in use").
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "endpoint.h"
#include "output.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/core/time_format.h"
#include "secprof/domain/profile.h"
#include "secprof/domain/protocol.h"
#include "secprof/thing/agent.h"
#include "secprof/thing/pairing_client.h"
#include "secprof/thing/reasons.h"
#include "secprof/thing/state_lock.h"
#include "serve.h"
#include "thing_print.h"

namespace secprof::cli {
namespace {

using thing::Agent;

struct ThingArgs {
  std::string state_dir;
  int64_t timeout_ms = 5000;
  std::string pkcs11_module = keystore::kDefaultPkcs11Module;
  std::string pin;
  // init
  std::string factory, serial, profile, update_server;
  // install
  std::string kdc;
  // report
  double celsius = 0;
  // pair-key, group-key
  std::string peer, group;
  // decommission, factory-reset
  bool offline = false, force = false;
  // every step but serve
  std::string format = "text";
  // serve
  std::string listen = "127.0.0.1:0";
  int dtls_port = 0;
  int64_t duration = 0;
  int64_t pairing_window = -1;
  int64_t revocation_poll = 30;
  int64_t update_poll = 3600;
  std::string ready_file;
  // pair
  std::string to;
  // key protection (issue 9 items 5 and 12)
  std::string kek_file;
  bool allow_colocated_kek = false;
  bool allow_file_keys = false;
};

// ------------------------------------------------------------------------------ helpers

// A step that talks to the KDC or a peer: transport failures mean "it did not answer" (exit 1).
enum class Reach { kLocal, kRemote };

int ExitFor(const Error& e, Reach reach) {
  return cli::ExitFor(e, reach == Reach::kRemote ? kThingRemoteExit : kThingLocalExit);
}

// HOST[:P1[:P2...]] or [V6][:P1[:P2...]] with a numeric address.
Result<Endpoint> ParseHostPorts(const std::string& flag, const std::string& s, size_t min_ports,
                                size_t max_ports, bool zero_ok) {
  return ParseEndpoint(flag, s,
                       {.min_ports = min_ports, .max_ports = max_ports, .zero_port_ok = zero_ok});
}

// A secret the thing library takes as a value (it reads no environment variable): `flag` when
// given, else the environment variable `env_var` (empty when unset).
thing::SecretOption FlagOrEnv(const std::string& flag, const char* env_var) {
  const char* env = flag.empty() ? std::getenv(env_var) : nullptr;
  const std::string_view v =
      !flag.empty() ? std::string_view(flag) : std::string_view(env ? env : "");
  return crypto::SecureBuffer(
      crypto::ByteView(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
}

Result<std::unique_ptr<Agent>> OpenAgent(const ThingArgs& a) {
  thing::AgentOptions o;
  o.state_dir = a.state_dir;
  o.timeout = std::chrono::milliseconds(a.timeout_ms);
  o.pkcs11.module_path = a.pkcs11_module;
  o.pkcs11.pin = keystore::Pin(std::move(FlagOrEnv(a.pin, "SECPROF_PKCS11_PIN").value));
  o.kek_file = a.kek_file;
  o.kek_hex = FlagOrEnv("", "SECPROF_THING_KEK");
  o.allow_colocated_kek = a.allow_colocated_kek;
  o.allow_file_keys = a.allow_file_keys;
  return Agent::Open(std::move(o));
}

bool Json(const ThingArgs& a) { return a.format == "json"; }

// Runs `step` on the thing in a.state_dir under the state lock; maps errors to exit codes.
int WithAgent(const ThingArgs& a, Reach reach, const std::function<Status(Agent&)>& step) {
  if (a.state_dir.empty())
    return ExitFor(Error(ErrorCode::kInvalidInput, "--state DIR is required"), Reach::kLocal);
  auto lock = thing::StateLock::Take(a.state_dir);
  if (!lock) return ExitFor(lock.error(), Reach::kLocal);
  auto agent = OpenAgent(a);
  if (!agent) return ExitFor(agent.error(), Reach::kLocal);
  auto st = step(**agent);
  if (!st) return ExitFor(st.error(), reach);
  return kExitOk;
}

// ------------------------------------------------------------------------------ steps

int Init(const ThingArgs& a) {
  if (a.state_dir.empty())
    return ExitFor(Error(ErrorCode::kInvalidInput, "--state DIR is required"), Reach::kLocal);
  auto profile = domain::ParseProfile(a.profile);
  if (!profile) return ExitFor(profile.error().WithContext("--profile"), Reach::kLocal);
  thing::InitOptions o;
  o.state_dir = a.state_dir;
  o.factory_dir = a.factory;
  o.serial = a.serial;
  o.profile = *profile;
  o.kek_file = a.kek_file;
  o.kek_hex = FlagOrEnv("", "SECPROF_THING_KEK");
  o.allow_colocated_kek = a.allow_colocated_kek;
  o.allow_file_keys = a.allow_file_keys;
  if (!a.update_server.empty()) {
    auto us = ParseHostPorts("--update-server", a.update_server, 1, 1, false);
    if (!us) return ExitFor(us.error(), Reach::kLocal);
    o.update_host = us->host;
    o.update_port = us->ports[0];
  }
  if (auto st = Agent::Init(o); !st) return ExitFor(st.error(), Reach::kLocal);
  return WithAgent(a, Reach::kLocal, [&a](Agent& agent) {
    const auto& s = agent.state();
    if (Json(a)) {
      PrintThingTransition(agent, "init", true);
      return Ok();
    }
    std::cout << s.serial << ": manufactured (" << domain::ProfileName(s.profile) << ", "
              << s.vendor << " " << s.model << ", keys in " << s.key_store << ")\n";
    return Ok();
  });
}

int InstallStep(const ThingArgs& a) {
  // UDP port 0: none (a SecProf_3/4 KDC binds no plain-CoAP port; its `--ready-file` says udp=0).
  auto hp = ParseHostPorts("--kdc", a.kdc, 1, 2, true);
  if (!hp) return ExitFor(hp.error(), Reach::kLocal);
  return WithAgent(a, Reach::kLocal, [&](Agent& agent) -> Status {
    uint16_t dtls = hp->ports.size() > 1 ? hp->ports[1] : 0;
    auto st = agent.Install(hp->host, hp->ports[0], dtls);
    // The library's rule in the flag's words.
    if (!st && st.error().Is(thing::kNoKdcDtlsPort))
      return Fail(ErrorCode::kInvalidInput, std::string("--kdc: ") +
                                                domain::ProfileName(agent.state().profile) +
                                                " joins over DTLS: give HOST:UDPPORT:DTLSPORT");
    if (!st && st.error().Is(thing::kNoKdcUdpPort))
      return Fail(ErrorCode::kInvalidInput,
                  "--kdc " + a.kdc + ": UDP port 0 (SecProf_2 joins there)");
    SECPROF_TRY(st);
    PrintThingTransition(agent, "install", Json(a));
    return Ok();
  });
}

int Transition(const ThingArgs& a, const char* step, Status (*fn)(Agent&)) {
  return WithAgent(a, Reach::kRemote, [&a, step, fn](Agent& agent) -> Status {
    SECPROF_TRY(fn(agent));
    PrintThingTransition(agent, step, Json(a));
    return Ok();
  });
}

int Report(const ThingArgs& a) {
  auto centi = domain::CentiCelsius(a.celsius);
  if (!centi)  // the library's range in the flag's words
    return ExitFor(Error(ErrorCode::kInvalidInput,
                         "--celsius must be a temperature between -273.15 and 10000"),
                   Reach::kLocal);
  return WithAgent(a, Reach::kRemote, [&](Agent& agent) -> Status {
    SECPROF_TRY(agent.SendReading(*centi));
    if (Json(a)) {
      auto j = JsonDocument("thing.report");
      j["serial"] = agent.state().serial;
      j["celsius"] = a.celsius;
      j["accepted"] = true;
      PrintJson(j);
      return Ok();
    }
    std::cout << agent.state().serial << ": reading " << a.celsius << " C accepted by the KDC\n";
    return Ok();
  });
}

// Asks the KDC (SecProf_1: the vendor's update service) for a firmware offer and, if there is
// one, fetches and installs it. Exit 1 when an
// offered update was refused or failed its test boot (the running image stays; the KDC was told).
int Update(const ThingArgs& a) {
  return WithAgent(a, Reach::kRemote, [&](Agent& agent) -> Status {
    SECPROF_ASSIGN_OR_RETURN(Agent::UpdateOutcome u, agent.CheckForUpdate());
    const std::string& serial = agent.state().serial;
    if (Json(a) && (!u.offered || u.installed)) {
      auto j = JsonDocument("thing.update");
      j["serial"] = serial;
      j["offered"] = u.offered;
      j["installed"] = u.installed;
      j["campaign"] = u.offered ? nlohmann::json(u.campaign) : nlohmann::json();
      j["sequence"] = u.offered ? nlohmann::json(u.sequence) : nlohmann::json();
      j["detail"] = u.detail;
      j["bytes_fetched"] = u.bytes_fetched;
      j["running_firmware"] = agent.RunningFirmware();
      j["floor"] = agent.FirmwareState().floor;
      PrintJson(j);
      return Ok();
    }
    if (!u.offered) {
      std::cout << serial << ": no update offered; running firmware " << agent.RunningFirmware()
                << "\n";
      // The KDC's latest-release statement did not hold or names a newer release: reported to
      // the KDC (fw/alert) and here (docs/DOMAIN.md "Maintenance" item 7).
      if (!u.alert.empty()) std::cout << serial << ": ALERT " << u.alert << "\n";
      return Ok();
    }
    if (!u.installed)
      return Fail(ErrorCode::kVerifyFailed, "update to sequence " + std::to_string(u.sequence) +
                                                " (campaign " + std::to_string(u.campaign) +
                                                ") not installed: " + u.detail);
    // SecProf_1 has no campaigns: the release came from the vendor's update service.
    std::cout << serial << ": " << u.detail << " ("
              << (u.campaign ? "campaign " + std::to_string(u.campaign)
                             : std::string("the vendor's update service"))
              << ", " << u.bytes_fetched << " bytes fetched); floor " << agent.FirmwareState().floor
              << "\n";
    return Ok();
  });
}

int PairKey(const ThingArgs& a) {
  if (auto v = domain::ValidateSerial(a.peer); !v)
    return ExitFor(v.error().WithContext("--peer"), Reach::kLocal);
  return WithAgent(a, Reach::kRemote, [&](Agent& agent) -> Status {
    SECPROF_ASSIGN_OR_RETURN(domain::PairKeyResponse pk, agent.RequestPairKey(a.peer));
    if (Json(a)) {
      nlohmann::json j = JsonDocument("thing.pair-key", 2);
      j["peer"] = a.peer;
      j["kid"] = cbor::ToHex(pk.kid);
      j["expires"] = JsonTime(pk.expires);
      j["ticket"] = cbor::ToHex(pk.ticket);
      PrintJson(j);
    } else {
      std::cout << agent.state().serial << ": key with " << a.peer << " issued, kid "
                << cbor::ToHex(pk.kid) << ", expires " << FormatIso8601(pk.expires) << ", ticket "
                << pk.ticket.size() << " bytes for the peer\n";
    }
    return Ok();
  });
}

int GroupKey(const ThingArgs& a) {
  if (a.group.empty())
    return ExitFor(Error(ErrorCode::kInvalidInput, "--group must not be empty"), Reach::kLocal);
  return WithAgent(a, Reach::kRemote, [&](Agent& agent) -> Status {
    SECPROF_ASSIGN_OR_RETURN(domain::GroupKeyResponse g, agent.FetchGroupKey(a.group));
    std::vector<std::string> members;
    for (const auto& m : g.members) members.push_back(m.serial);
    if (Json(a)) {
      nlohmann::json j = JsonDocument("thing.group-key", 2);
      j["group"] = g.group;
      j["epoch"] = g.epoch;
      j["members"] = members;
      PrintJson(j);
    } else {
      std::cout << agent.state().serial << ": group " << g.group << " epoch " << g.epoch
                << ", members";
      for (const auto& m : members) std::cout << " " << m;
      std::cout << "\n";
    }
    return Ok();
  });
}

int StatusStep(const ThingArgs& a) {
  return WithAgent(a, Reach::kLocal, [&](Agent& agent) -> Status {
    PrintThingStatus(agent, Json(a));
    return Ok();
  });
}

int Serve(const ThingArgs& a) {
  auto hp = ParseHostPorts("--listen", a.listen, 0, 1, true);
  if (!hp) return ExitFor(hp.error(), Reach::kLocal);
  return WithAgent(a, Reach::kLocal, [&](Agent& agent) -> Status {
    thing::ThingServerOptions o;
    o.address = hp->host;
    o.udp_port = hp->ports.empty() ? 0 : hp->ports[0];
    o.dtls_port = static_cast<uint16_t>(a.dtls_port);
    if (a.pairing_window >= 0) o.pairing_window = std::chrono::seconds(a.pairing_window);
    o.revocation_poll = std::chrono::seconds(a.revocation_poll);
    o.update_poll = std::chrono::seconds(a.update_poll);
    // While it serves, the agent belongs to the server's thread (an imprint changes its state):
    // this thread prints only what it copied before.
    const std::string serial = agent.state().serial;
    SignalBlock signals;
    if (!signals.ok()) return Fail(ErrorCode::kIo, "cannot block SIGINT/SIGTERM");
    SECPROF_ASSIGN_OR_RETURN(auto server, thing::ThingServer::Start(agent, o));
    std::cout << serial << ": serving coap://" << FormatHostPort(o.address, server->udp_port());
    if (server->dtls_port())
      std::cout << " coaps://" << FormatHostPort(o.address, server->dtls_port());
    std::cout << " (" << thing::StateName(agent.state().state) << ")" << std::endl;
    SECPROF_ASSIGN_OR_RETURN(
        ReadyFile ready, ReadyFile::Write(a.ready_file, server->udp_port(), server->dtls_port()));
    Served served = ServeUntilSignal(signals, serial, a.duration,
                                     [&](std::stop_token st) { return server->Serve(st); });
    // The I/O thread is joined: the agent is ours again.
    std::cout << serial << ": stopped in state " << thing::StateName(agent.state().state) << "; "
              << server->ticket_peers().size() << " tickets accepted ("
              << server->ticket_holders().size() << " held), " << server->refused()
              << " requests refused" << std::endl;
    if (auto u = server->update_polls(); u.checks)
      std::cout << serial << ": " << u.checks << " update checks, " << u.installed << " installed, "
                << u.failed << " failed; running firmware sequence " << agent.RunningFirmware()
                << std::endl;
    if (!served.status) return Fail(served.status.error().WithContext("serve"));
    return Ok();
  });
}

int Pair(const ThingArgs& a) {
  auto hp = ParseHostPorts("--to", a.to, 1, 1, false);
  if (!hp) return ExitFor(hp.error(), Reach::kLocal);
  return WithAgent(a, Reach::kRemote, [&](Agent& agent) -> Status {
    SECPROF_TRY(thing::SendImprint(agent, {hp->host, hp->ports[0], a.to},
                                   std::chrono::milliseconds(a.timeout_ms)));
    if (Json(a)) {
      auto j = JsonDocument("thing.pair");
      j["serial"] = agent.state().serial;
      j["to"] = a.to;
      j["imprinted"] = true;
      PrintJson(j);
      return Ok();
    }
    std::cout << agent.state().serial << ": imprinted the thing at " << a.to
              << " with this domain's key (sent in the clear, as SecProf_1 does)\n";
    return Ok();
  });
}

// ------------------------------------------------------------------------------ CLI wiring

void Install(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ThingArgs>();
  auto* t = app.add_subcommand(
      "thing",
      "The device agent: one lifecycle step per call on a thing's state directory (--state DIR)");
  t->require_subcommand(1);
  t->add_option("--state", a->state_dir, "The thing's state directory")->required();
  t->add_option("--timeout", a->timeout_ms, "Per request / handshake, milliseconds")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}))
      ->capture_default_str();
  t->add_option("--pkcs11-module", a->pkcs11_module, "PKCS#11 module (things with token keys)")
      ->capture_default_str();
  t->add_option(
      "--pin", a->pin,
      "PKCS#11 user PIN (default: $SECPROF_PKCS11_PIN; prefer it: a flag is visible to ps)");

  // Every step but `serve` prints one result: --format text|json (output.h).
  auto sub = [&](const char* name, const char* help) {
    auto* c = t->add_subcommand(name, help);
    c->fallthrough();  // `secprof thing join --state DIR` works too
    if (std::string_view(name) != "serve") AddFormatOption(c, a->format);
    return c;
  };
  auto done = [&ctx](int (*fn)(const ThingArgs&), std::shared_ptr<ThingArgs> args) {
    return [&ctx, fn, args] { ctx.exit_code = fn(*args); };
  };

  t->add_option("--kek-file", a->kek_file,
                "The thing's KEK, kept outside the state directory (default: $SECPROF_THING_KEK, "
                "else <state>.kek; token things keep theirs in the token)");
  t->add_flag("--allow-colocated-kek", a->allow_colocated_kek,
              "Accept a KEK inside the state directory (recorded in state.json); prefer "
              "migrate-kek");

  t->add_flag("--allow-file-keys", a->allow_file_keys,
              "SecProf_3/4: accept a thing whose keys are in a file key store, not a token "
              "(init, or a thing made before this check; recorded in state.json; KDCs that "
              "require token keys still refuse it)");

  auto* init = sub("init", "Create the state directory from a factory folder (manufactured)");
  init->add_option("--factory", a->factory, "A `secprof manufacture` output directory")->required();
  init->add_option("--serial", a->serial, "The thing's serial in the manifest")->required();
  init->add_option("--profile", a->profile, "SecProf_1 .. SecProf_4")->required();
  init->add_option("--update-server", a->update_server,
                   "SecProf_1: the vendor's update service, HOST:PORT (numeric address; `secprof "
                   "vendor serve`), which `thing update` and `serve --update-poll` ask");
  init->callback(done(Init, a));

  auto* inst = sub("install", "Point the thing at its domain's KDC (manufactured|re-owned)");
  inst->add_option("--kdc", a->kdc,
                   "HOST:UDPPORT[:DTLSPORT] (numeric address; DTLS port required for voucher "
                   "profiles, whose KDC has no UDP port: give 0)")
      ->required();
  inst->callback(done(InstallStep, a));

  sub("join", "Join the domain as the profile says (installed -> commissioned)")
      ->callback(
          [&ctx, a] { ctx.exit_code = Transition(*a, "join", [](Agent& x) { return x.Join(); }); });
  sub("operational", "Tell the KDC the thing is in service (-> operational)")->callback([&ctx, a] {
    ctx.exit_code = Transition(*a, "operational", [](Agent& x) { return x.GoOperational(); });
  });
  sub("maintenance", "Tell the KDC the thing is in maintenance (operational -> maintenance)")
      ->callback([&ctx, a] {
        ctx.exit_code =
            Transition(*a, "maintenance", [](Agent& x) { return x.EnterMaintenance(); });
      });

  auto* rep = sub("report", "Send one temperature reading to the KDC over the protected session");
  rep->add_option("--celsius", a->celsius, "Degrees Celsius")->required();
  rep->callback(done(Report, a));

  sub("update",
      "Ask the KDC (SecProf_1: the vendor's update service of init --update-server) for a "
      "firmware offer; fetch, verify and install it into the inactive slot (operational)")
      ->callback(done(Update, a));

  auto* pk = sub("pair-key", "Ask the KDC for a key and a ticket for a peer thing");
  pk->add_option("--peer", a->peer, "The peer's serial")->required();
  pk->callback(done(PairKey, a));

  auto* gk = sub("group-key", "Fetch (and keep) the current key of a group");
  gk->add_option("--group", a->group, "The group's name")->required();
  gk->callback(done(GroupKey, a));

  auto* dec = sub("decommission", "Ask the KDC to revoke this thing, then wipe its keys");
  dec->add_flag("--offline", a->offline, "Wipe locally only (the KDC is gone or already revoked)");
  dec->callback([&ctx, a] {
    bool online = !a->offline;
    ctx.exit_code =
        WithAgent(*a, online ? Reach::kRemote : Reach::kLocal, [online, a](Agent& x) -> Status {
          SECPROF_TRY(x.Decommission(online));
          PrintThingTransition(x, "decommission", Json(*a));
          return Ok();
        });
  });

  auto* fr = sub("factory-reset", "Forget the domain (decommissioned -> re-owned)");
  fr->add_flag("--force", a->force, "From any state (wipes the keys first)");
  fr->callback([&ctx, a] {
    bool force = a->force;
    ctx.exit_code = WithAgent(*a, Reach::kLocal, [force, a](Agent& x) -> Status {
      SECPROF_TRY(x.FactoryReset(force));
      PrintThingTransition(x, "factory-reset", Json(*a));
      return Ok();
    });
  });

  sub("migrate-kek",
      "Move the KEK out of the state directory (old layout <state>/kek -> --kek-file or "
      "<state>.kek; token things: into the token); resumable")
      ->callback([&ctx, a] {
        if (a->state_dir.empty()) {
          ctx.exit_code =
              ExitFor(Error(ErrorCode::kInvalidInput, "--state DIR is required"), Reach::kLocal);
          return;
        }
        auto lock = thing::StateLock::Take(a->state_dir);
        if (!lock) {
          ctx.exit_code = ExitFor(lock.error(), Reach::kLocal);
          return;
        }
        thing::AgentOptions o;
        o.state_dir = a->state_dir;
        o.pkcs11.module_path = a->pkcs11_module;
        o.pkcs11.pin = keystore::Pin(std::move(FlagOrEnv(a->pin, "SECPROF_PKCS11_PIN").value));
        o.kek_file = a->kek_file;
        o.kek_hex = FlagOrEnv("", "SECPROF_THING_KEK");
        auto did = Agent::MigrateKek(o);
        if (!did) {
          ctx.exit_code = ExitFor(did.error(), Reach::kLocal);
          return;
        }
        if (Json(*a)) {
          auto j = JsonDocument("thing.migrate-kek");
          j["state"] = a->state_dir;
          j["done"] = *did;
          PrintJson(j);
        } else {
          std::cout << a->state_dir << ": " << *did << "\n";
        }
        ctx.exit_code = kExitOk;
      });

  auto* st = sub("status", "Show the thing's state, profile, KDC, owner, groups and history");
  st->callback(done(StatusStep, a));

  auto* sv = sub("serve",
                 "Run the thing's CoAP resources (sensor, actuator, tickets; SecProf_1: pair, "
                 "link) until SIGINT/SIGTERM");
  sv->add_option("--listen", a->listen, "ADDR[:UDPPORT] (port 0 = ephemeral)")
      ->capture_default_str();
  sv->add_option("--dtls-port", a->dtls_port, "coaps port (0 = ephemeral)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  sv->add_option("--duration", a->duration, "Stop after this many seconds (default: on signal)")
      ->check(CLI::Range(int64_t{1}, int64_t{365} * 86400));
  sv->add_option("--pairing-window", a->pairing_window,
                 "SecProf_1: seconds the pair resource accepts an imprint (default: the "
                 "profile's)")
      ->check(CLI::Range(int64_t{0}, int64_t{86400}));
  sv->add_option("--revocation-poll", a->revocation_poll,
                 "SecProf_2-4: seconds between fetches of the KDC's revocation list; tickets of "
                 "listed things are dropped and refused (0 = never)")
      ->check(CLI::Range(int64_t{0}, int64_t{86400}))
      ->capture_default_str();
  sv->add_option("--update-poll", a->update_poll,
                 "Seconds between unattended checks for an update (SecProf_2-4: the KDC; "
                 "SecProf_1: the vendor's update service of init --update-server; the first one "
                 "interval after start); an offered update is fetched, verified and installed "
                 "while serving (0 = never)")
      ->check(CLI::Range(int64_t{0}, int64_t{604800}))
      ->capture_default_str();
  sv->add_option("--ready-file", a->ready_file,
                 "Written with \"udp=P\\ndtls=Q\\n\" once listening, removed on exit");
  sv->callback(done(Serve, a));

  sub("mother", "SecProf_1: become the domain's first member with a fresh domain key")
      ->callback([&ctx, a] {
        ctx.exit_code = WithAgent(*a, Reach::kLocal, [a](Agent& x) -> Status {
          SECPROF_TRY(x.BecomeMother());
          PrintThingTransition(x, "mother", Json(*a));
          return Ok();
        });
      });

  auto* pr = sub("pair", "SecProf_1: hand this mother's imprint to a thing in pairing mode");
  pr->add_option("--to", a->to, "HOST:PORT of the thing's `serve` (plain CoAP)")->required();
  pr->callback(done(Pair, a));
}

Registrar reg("thing", 65, Install);

}  // namespace
}  // namespace secprof::cli
