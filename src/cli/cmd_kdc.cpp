// `secprof kdc` — the domain's key distribution center (secprof::kdc, docs/DOMAIN.md "KDC").
//
//   secprof kdc --profile SecProf_N --db FILE --listen ADDR[:PORT] ...   runs the KDC until SIGINT
//                                                                        or SIGTERM (or --duration)
//   secprof kdc allow|import-voucher|list|revoke|evict|decommission|replace|group|audit|domain-ca
//                                                                        the owner's (and the
//                                                                        installer's) operations on
//                                                                        the same files, also while
//                                                                        the KDC runs
//                                                                        (cmd_kdc_owner.cpp)
//
// Exit status: 0 ok; 1 a refusal: a voucher that does not verify or bind, a lifecycle change the
// registry refuses ("cannot move S from X to Y"), an audit chain that does not verify; 2 bad
// input: arguments, unreadable or malformed files, an unknown serial or group, a registry of
// another profile or owner.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "endpoint.h"
#include "secprof/domain/profile.h"
#include "secprof/kdc/kdc.h"
#include "serve.h"

namespace secprof::cli {
namespace {

// ------------------------------------------------------------------------------- run the KDC

struct RunArgs {
  std::string profile;
  std::string db;
  std::string listen;
  int dtls_port = 0;
  std::string keys;
  std::string owner = "secprof-owner";
  std::vector<std::string> vendor_cas;
  int64_t join_window = -1;  // -1: the profile's default
  int64_t join_repeat_grace = 120;
  std::vector<std::string> allowed_ciphers;
  int64_t audit_interval = 60;
  int64_t duration = 0;  // 0: until a signal
  std::string ready_file;
  std::string on_clone = "quarantine";
  int64_t clone_window = 10;
  // key protection (issue 9 items 5 and 12)
  std::string kek_file;
  bool allow_colocated_kek = false;
  std::string require_token_keys = "profile";
  std::string ca_token, ca_module, ca_pin;
  bool allow_file_ca_key = false;
};

void PrintStats(const kdc::KdcStats& s, std::chrono::seconds ran) {
  std::cout << "kdc: stopped after " << ran.count() << " s: joins " << s.joins << ", repeats "
            << s.join_repeats << ", requests " << s.requests;
  uint64_t refused = 0;
  for (const auto& [reason, n] : s.refused) refused += n;
  std::cout << ", refusals " << refused << ", clone alerts " << s.clone_alerts << "\n";
  if (s.rate_limited || s.refusals_aggregated)
    std::cout << "kdc: unauthenticated: rate-limited " << s.rate_limited
              << ", refusals aggregated in the audit " << s.refusals_aggregated << "\n";
  if (s.audit_failures)  // the audit log is incomplete: say so where the operator looks
    std::cerr << "kdc: WARNING: " << s.audit_failures
              << " audit writes failed (see the lines above); the audit log is incomplete\n";
  if (!s.refused.empty()) {
    std::cout << "kdc: refused:";
    bool first = true;
    for (const auto& [reason, n] : s.refused) {
      std::cout << (first ? " " : ", ") << reason << " " << n;
      first = false;
    }
    std::cout << "\n";
  }
}

Status RunKdc(const RunArgs& a) {
  if (a.profile.empty()) return Fail(ErrorCode::kInvalidInput, "--profile is required");
  if (a.db.empty()) return Fail(ErrorCode::kInvalidInput, "--db is required");
  if (a.listen.empty()) return Fail(ErrorCode::kInvalidInput, "--listen is required");
  kdc::KdcOptions o;
  SECPROF_ASSIGN_OR_RETURN(o.profile, domain::ParseProfile(a.profile));
  o.db_path = a.db;
  o.keys_dir = a.keys;
  o.owner = a.owner;
  SECPROF_ASSIGN_OR_RETURN(Endpoint listen,
                           ParseEndpoint("--listen", a.listen,
                                         {.min_ports = 0,
                                          .max_ports = 1,
                                          .zero_port_ok = true,
                                          .bare_ipv6 = true,
                                          .wording = EndpointSyntax::Wording::kListen}));
  o.address = listen.host;
  o.udp_port = listen.ports.empty() ? 0 : listen.ports[0];
  o.dtls_port = static_cast<uint16_t>(a.dtls_port);
  o.vendor_ca_files = a.vendor_cas;
  if (a.join_window >= 0) o.join_window = std::chrono::seconds(a.join_window);
  o.join_repeat_grace = std::chrono::seconds(a.join_repeat_grace);
  o.allowed_ciphers = a.allowed_ciphers;
  o.on_clone = a.on_clone == "audit" ? kdc::OnClone::kAudit : kdc::OnClone::kQuarantine;
  o.clone_window = std::chrono::seconds(a.clone_window);
  o.kek.kek_file = a.kek_file;
  if (const char* v = std::getenv(kdc::kKdcKekEnvVar)) o.kek.kek_env = v;
  o.kek.allow_colocated_kek = a.allow_colocated_kek;
  o.kek.ca_token = a.ca_token;
  o.kek.ca_pkcs11_module = a.ca_module;
  // The PIN: --pin, else $SECPROF_PKCS11_PIN (the kdc library reads no environment variable).
  o.kek.ca_pin = kdc::Pin(a.ca_pin);
  if (const char* env = std::getenv("SECPROF_PKCS11_PIN"); a.ca_pin.empty() && env)
    o.kek.ca_pin = kdc::Pin(env);
  o.kek.allow_file_ca_key = a.allow_file_ca_key;
  if (a.require_token_keys != "profile") o.require_token_keys = a.require_token_keys == "yes";
  o.unauthenticated.audit_interval = std::chrono::seconds(a.audit_interval);

  SignalBlock signals;
  if (!signals.ok()) return Fail(ErrorCode::kIo, "cannot block SIGINT/SIGTERM");
  SECPROF_ASSIGN_OR_RETURN(std::unique_ptr<kdc::Kdc> k, kdc::Kdc::Create(std::move(o)));
  const kdc::KdcOptions& opt = k->options();
  // SecProf_3/4 have no plain-CoAP step: no coap:// endpoint (ready file: udp=0).
  std::cout << "kdc: " << domain::ProfileName(opt.profile) << " listening"
            << (k->udp_port() ? " coap://" + FormatHostPort(opt.address, k->udp_port()) : "")
            << " coaps://" << FormatHostPort(opt.address, k->dtls_port()) << std::endl;
  SECPROF_ASSIGN_OR_RETURN(ReadyFile ready,
                           ReadyFile::Write(a.ready_file, k->udp_port(), k->dtls_port()));
  Served served = ServeUntilSignal(signals, "kdc", a.duration,
                                   [&](std::stop_token st) { return k->Serve(st); });
  PrintStats(k->stats(), std::chrono::duration_cast<std::chrono::seconds>(served.ran));
  std::cout << std::flush;
  if (!served.status) return Fail(served.status.error().WithContext("kdc stopped"));
  return Ok();
}

// ------------------------------------------------------------------------------ CLI wiring

void Install(CLI::App& app, Context& ctx) {
  auto run = std::make_shared<RunArgs>();
  auto* k = app.add_subcommand(
      "kdc",
      "Run the domain's KDC (CoAP/DTLS) over a registry, or operate on its files as the owner");
  k->add_option("--profile", run->profile, "SecProf_2, SecProf_3 or SecProf_4");
  k->add_option(
      "--db", run->db,
      "The registry (SQLite file, or postgresql:// URI with --keys; created on first use)");
  k->add_option("--listen", run->listen, "ADDR[:UDPPORT] (plain CoAP; port 0 = ephemeral)");
  k->add_option("--dtls-port", run->dtls_port, "coaps port (0 = ephemeral)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  k->add_option("--keys", run->keys, "Key directory (default: <db>.keys)");
  k->add_option("--owner", run->owner, "The owner's name (the domain CA's O)")
      ->capture_default_str();
  k->add_option("--vendor-ca", run->vendor_cas, "Manufacturer trust anchor PEM (repeatable)")
      ->allow_extra_args(false);
  k->add_option("--join-window", run->join_window,
                "SecProf_2: seconds after start during which joins are admitted (0 = always)")
      ->check(CLI::Range(int64_t{0}, int64_t{365} * 86400));
  k->add_option("--join-repeat-grace", run->join_repeat_grace,
                "SecProf_2: seconds after a thing's first join during which a repeated join (lost "
                "answer) gets the same PSK; later repeats are refused and alerted, and the setup "
                "code is retired")
      ->check(CLI::Range(int64_t{0}, int64_t{3600}))
      ->capture_default_str();
  k->add_option("--allowed-cipher", run->allowed_ciphers,
                "OpenSSL cipher suite name allowed for operational requests (repeatable)")
      ->allow_extra_args(false);
  k->add_option("--audit-interval", run->audit_interval,
                "Seconds between aggregated audit rows of unauthenticated refusals")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}))
      ->capture_default_str();
  k->add_option("--duration", run->duration, "Stop after this many seconds (default: on signal)")
      ->check(CLI::Range(int64_t{1}, int64_t{365} * 86400));
  k->add_option("--ready-file", run->ready_file,
                "Written with \"udp=P\\ndtls=Q\\n\" once listening (udp=0: no plain CoAP)");
  k->add_option("--on-clone", run->on_clone,
                "A suspected clone (one credential used from two endpoints at once, or a reading "
                "counter that does not increase) is always audited; quarantine also refuses the "
                "thing until `kdc release`")
      ->check(CLI::IsMember({"audit", "quarantine"}))
      ->capture_default_str();
  k->add_option("--clone-window", run->clone_window,
                "Seconds within which requests from two endpoints on one credential count as "
                "concurrent use")
      ->check(CLI::Range(int64_t{1}, int64_t{3600}))
      ->capture_default_str();
  k->add_option("--kek-file", run->kek_file,
                "KEK of the key directory, kept outside it (default: $SECPROF_KDC_KEK, else "
                "<keys>.kek; created with a new domain)");
  k->add_flag("--allow-colocated-kek", run->allow_colocated_kek,
              "Accept a KEK inside the key directory (the old wrap.kek; audited). Prefer "
              "`secprof kdc migrate-kek`");
  k->add_option("--require-token-keys", run->require_token_keys,
                "Refuse joining things whose IDevID lacks the manufacturer's key-in-token policy "
                "(profile: yes for SecProf_3/4)")
      ->check(CLI::IsMember({"profile", "yes", "no"}))
      ->capture_default_str();
  k->add_option("--pkcs11-token", run->ca_token,
                "Generate the domain CA key in this PKCS#11 token when the domain is created "
                "(required for SecProf_3/4 unless --allow-file-ca-key); recorded in the key "
                "directory");
  k->add_option("--pkcs11-module", run->ca_module,
                "PKCS#11 module of --pkcs11-token (default: SoftHSM2)");
  k->add_option(
      "--pin", run->ca_pin,
      "PKCS#11 user PIN (default: $SECPROF_PKCS11_PIN; prefer it: a flag is visible to ps)");
  k->add_flag("--allow-file-ca-key", run->allow_file_ca_key,
              "SecProf_3/4: keep the domain CA key in the file store (audited)");
  k->callback([k, run, &ctx] {
    if (!k->get_subcommands().empty()) return;  // an owner subcommand ran
    // A registry of another profile or owner (kConflict) is bad input here, not a refusal.
    ctx.exit_code = ExitFor(RunKdc(*run), kPlainExit);
  });
}

Registrar reg("kdc", 60, Install);

}  // namespace
}  // namespace secprof::cli
