// `secprof kdc` — the domain's key distribution center (secprof::kdc, docs/DOMAIN.md "KDC").
//
//   secprof kdc --profile SecProf_N --db FILE --listen ADDR[:PORT] ...   runs the KDC until SIGINT
//                                                                        or SIGTERM (or --duration)
//   secprof kdc allow|import-voucher|list|revoke|evict|decommission|replace|group|audit|domain-ca
//                                                                        the owner's (and the
//                                                                        installer's) operations on
//                                                                        the same files, also while
//                                                                        the KDC runs
//
// Exit status: 0 ok; 1 a refusal: a voucher that does not verify or bind, a lifecycle change the
// registry refuses ("cannot move S from X to Y"), an audit chain that does not verify; 2 bad
// input: arguments, unreadable or malformed files, an unknown serial or group, a registry of
// another profile or owner.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/domain/profile.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "secprof/kdc/kdc.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/registry/registry.h"
#include "secprof/voucher/voucher.h"
#include "signals.h"

namespace secprof::cli {
namespace {

namespace fs = std::filesystem;
using registry::State;

// ------------------------------------------------------------------------------------ helpers

// Prints the error and returns its exit status. A kConflict from the registry is a refused change
// (exit 1: "cannot move S from X to Y", "thing S is already a member ..."), not bad input.
int Report(const Error& e) {
  int rc = ReportError(e);
  return e.code() == ErrorCode::kConflict ? kExitFinding : rc;
}

void SetExit(Context& ctx, const Status& st) { ctx.exit_code = st ? kExitOk : Report(st.error()); }

// Opening someone's files: a conflict there (a registry schema newer than this binary) is bad
// input, not a refused change.
Error OpenError(const Error& e, const std::string& db) {
  return Error(e.code() == ErrorCode::kConflict ? ErrorCode::kInvalidInput : e.code(),
               e.message().find(db) != std::string::npos ? e.message() : db + ": " + e.message());
}

// The registry of an existing KDC, for read-only commands (no key material needed).
Result<std::unique_ptr<registry::Registry>> OpenRegistry(const std::string& db) {
  if (!fs::exists(db))
    return Fail(ErrorCode::kNotFound,
                db + " does not exist (start the KDC once with --db to create it)");
  auto reg = registry::Registry::Open(db);
  if (!reg) return Fail(OpenError(reg.error(), db));
  auto dom = (*reg)->Domain();
  if (!dom) return Fail(dom.error());
  return reg;
}

Result<std::unique_ptr<kdc::OwnerTools>> OpenTools(const std::string& db, const std::string& keys,
                                                   const kdc::KeyDirOptions& kek = {}) {
  auto t = kdc::OwnerTools::Open(db, keys, SystemClock(), crypto::SystemRandomSource(), kek);
  if (!t) return Fail(OpenError(t.error(), db));
  return t;
}

std::string FormatTime(int64_t t) { return voucher::FormatTime(t); }

// "host:port" for output (IPv6 in brackets, RFC 3986 §3.2.2).
std::string HostPort(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// ADDR, ADDR:PORT, [V6] or [V6]:PORT.
Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& s) {
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidInput, "--listen " + s + ": " + why);
  };
  if (s.empty()) return bad("empty");
  std::string host, port;
  if (s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    host = s.substr(1, close - 1);
    std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port = rest.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    size_t colon = s.find(':');
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (port.empty()) return bad("empty port");
  } else {
    host = s;  // an address without port (IPv6 without brackets has several colons)
  }
  if (host.empty()) return bad("empty address");
  in6_addr probe{};
  if (inet_pton(AF_INET, host.c_str(), &probe) != 1 &&
      inet_pton(AF_INET6, host.c_str(), &probe) != 1)
    return bad("'" + host + "' is not a numeric IPv4 or IPv6 address");
  uint16_t p = 0;
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad("port must be a number 0..65535");
    unsigned long v = std::stoul(port);
    if (v > 65535) return bad("port must be a number 0..65535");
    p = static_cast<uint16_t>(v);
  }
  return std::make_pair(host, p);
}

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
  SECPROF_ASSIGN_OR_RETURN(auto listen, ParseListen(a.listen));
  o.address = listen.first;
  o.udp_port = listen.second;
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
            << (k->udp_port() ? " coap://" + HostPort(opt.address, k->udp_port()) : "")
            << " coaps://" << HostPort(opt.address, k->dtls_port()) << std::endl;
  if (!a.ready_file.empty()) {
    std::string ready =
        "udp=" + std::to_string(k->udp_port()) + "\ndtls=" + std::to_string(k->dtls_port()) + "\n";
    SECPROF_TRY(WriteFileAtomic(a.ready_file, ready, 0644));
  }

  const auto start = std::chrono::steady_clock::now();
  std::atomic<bool> done{false};
  Status served = Ok();
  {
    std::jthread io([&](std::stop_token st) {
      served = k->Serve(st);
      done = true;
    });
    while (!done) {
      if (int sig = signals.Wait(std::chrono::milliseconds(200))) {
        std::cout << "kdc: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping" << std::endl;
        break;
      }
      if (a.duration > 0 &&
          std::chrono::steady_clock::now() - start >= std::chrono::seconds(a.duration)) {
        std::cout << "kdc: --duration " << a.duration << " s reached, stopping" << std::endl;
        break;
      }
    }
    io.request_stop();
  }  // joins the I/O thread
  PrintStats(k->stats(), std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now() - start));
  std::cout << std::flush;
  if (!a.ready_file.empty()) {  // a stale file would mislead whoever waits for the next start
    std::error_code ec;
    fs::remove(a.ready_file, ec);
  }
  if (!served) return Fail(served.error().WithContext("kdc stopped"));
  return Ok();
}

// ------------------------------------------------------------------------- owner operations

struct OwnerArgs {
  std::string db;
  std::string keys;
  // allow
  std::string factory;
  std::vector<std::string> serials;
  bool all = false;
  // import-voucher
  std::string vendor_ca;
  std::vector<std::string> vouchers;
  // list, audit
  std::string state;
  std::string format = "text";
  std::string serial;
  int64_t limit = 0;
  bool verify = false;
  // retire, replace
  std::string reason;
  std::string old_serial, new_serial;
  // group
  std::string group;
  // key protection (issue 9 item 12)
  std::string kek_file;
  bool allow_colocated_kek = false;
};

kdc::KeyDirOptions Kek(const OwnerArgs& a) {
  kdc::KeyDirOptions k;
  k.kek_file = a.kek_file;
  if (const char* v = std::getenv(kdc::kKdcKekEnvVar)) k.kek_env = v;
  k.allow_colocated_kek = a.allow_colocated_kek;
  return k;
}

// Moves the KEK out of the key directory (kdc.h MigrateDomainKek).
Status MigrateKek(const OwnerArgs& a) {
  const std::string keys = a.keys.empty() ? a.db + ".keys" : a.keys;
  SECPROF_ASSIGN_OR_RETURN(std::string did, kdc::MigrateDomainKek(keys, Kek(a)));
  std::cout << "kdc: " << did << "\n";
  return Ok();
}

Status Allow(const OwnerArgs& a) {
  if (a.all == !a.serials.empty())
    return Fail(ErrorCode::kInvalidInput, "give --serial S (one or more times) or --all");
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  registry::Registry& reg = tools->registry();
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo dom, reg.Domain());
  if (dom.profile != domain::ProfileName(domain::Profile::kSecProf2))
    return Fail(ErrorCode::kInvalidInput,
                a.db + " is a " + dom.profile +
                    " domain: things are admitted by voucher there (secprof kdc import-voucher)");
  const std::string manifest_path = (fs::path(a.factory) / "manifest.json").string();
  SECPROF_ASSIGN_OR_RETURN(std::string json, ReadFile(manifest_path));
  SECPROF_ASSIGN_OR_RETURN(manufacture::Manifest m,
                           manufacture::ManifestFromJson(json, manifest_path));
  std::map<std::string, const manufacture::ThingRecord*> by_serial;
  for (const auto& t : m.things) by_serial[t.serial] = &t;
  std::vector<const manufacture::ThingRecord*> chosen;
  std::set<std::string> seen;
  if (a.all) {
    for (const auto& t : m.things) chosen.push_back(&t);
    if (chosen.empty()) return Fail(ErrorCode::kInvalidInput, manifest_path + " lists no things");
  } else {
    for (const auto& s : a.serials) {
      if (!seen.insert(s).second)
        return Fail(ErrorCode::kInvalidInput, "--serial " + s + " given twice");
      auto it = by_serial.find(s);
      if (it == by_serial.end())
        return Fail(ErrorCode::kNotFound, "serial " + s + " is not in " + manifest_path);
      chosen.push_back(it->second);
    }
  }
  // Everything is checked before anything is written: one refusal allows nothing.
  for (const auto* t : chosen) {
    if (auto v = domain::ValidateSerial(t->serial); !v)
      return Fail(v.error().WithContext(manifest_path + ": serial " + t->serial));
    if (auto c = domain::CheckSetupCodeStrength(t->setup_code); !c)
      return Fail(c.error().WithContext(manifest_path + ": setup code of " + t->serial));
    auto existing = reg.Get(t->serial);
    if (existing && existing->state != State::kAllowed)
      return Fail(ErrorCode::kConflict, "thing " + t->serial + " is already " +
                                            registry::StateName(existing->state) +
                                            "; it cannot be allowed again");
    if (existing && (existing->vendor != m.vendor || existing->model != m.model))
      return Fail(ErrorCode::kConflict, "thing " + t->serial + " is allowed as " +
                                            existing->vendor + "/" + existing->model + ", not " +
                                            m.vendor + "/" + m.model);
  }
  for (const auto* t : chosen) {
    auto st = tools->AllowSetupCode(t->serial, m.vendor, m.model, t->setup_code, "installer");
    if (!st) return Fail(st.error().WithContext("serial " + t->serial));
    std::cout << "allowed " << t->serial << " (" << m.vendor << " " << m.model
              << ") with its setup code\n";
  }
  std::cout << "allowed " << chosen.size() << " thing" << (chosen.size() == 1 ? "" : "s") << " in "
            << a.db << "\n";
  return Ok();
}

Status ImportVouchers(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo dom, tools->registry().Domain());
  if (dom.profile == domain::ProfileName(domain::Profile::kSecProf2))
    return Fail(ErrorCode::kInvalidInput,
                a.db +
                    " is a SecProf_2 domain: things join with setup codes there (secprof kdc "
                    "allow)");
  SECPROF_ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(a.vendor_ca));
  auto ca = identity::Certificate::FromPem(ca_pem);
  if (!ca)
    return Fail(ErrorCode::kInvalidInput,
                "--vendor-ca " + a.vendor_ca + ": " + ca.error().message());
  // Every voucher is checked first; one refusal imports none (the owner fixes the batch).
  std::vector<std::pair<std::string, crypto::Bytes>> ok;
  std::optional<Error> first;
  int refused = 0;
  std::set<std::string> serials;
  for (const auto& path : a.vouchers) {
    auto raw = ReadFile(path);
    if (!raw) return Fail(raw.error());
    crypto::Bytes bytes(raw->begin(), raw->end());
    auto v = voucher::Verify(bytes, *ca, SystemClock());
    Status bound = v ? voucher::CheckBinding(*v, v->serial, tools->domain_ca()) : Status(Ok());
    if (v && !bound)
      bound = Fail(ErrorCode::kVerifyFailed,
                   "it pins another domain, not this KDC's domain CA (issue it with "
                   "--domain-ca from `secprof kdc domain-ca`)");
    if (v && bound && !serials.insert(v->serial).second)
      bound = Fail(ErrorCode::kInvalidInput, "a second voucher for serial " + v->serial);
    const Error* e = !v ? &v.error() : (!bound ? &bound.error() : nullptr);
    if (e) {
      // Malformed vouchers are bad input (2), vouchers that do not hold are refusals (1).
      Error err(e->code() == ErrorCode::kVerifyFailed ? ErrorCode::kVerifyFailed
                                                      : ErrorCode::kInvalidInput,
                path + ": voucher refused: " + e->message());
      std::cerr << "secprof: " << err.message() << "\n";
      ++refused;
      if (!first ||
          (first->code() == ErrorCode::kVerifyFailed && err.code() == ErrorCode::kInvalidInput))
        first = err;
      continue;
    }
    ok.emplace_back(path, std::move(bytes));
  }
  if (first)
    return Fail(first->code(), std::to_string(refused) + " of " +
                                   std::to_string(a.vouchers.size()) +
                                   " vouchers refused; nothing imported");
  // A running KDC trusts the manufacturer anchors it started with (--vendor-ca and
  // <keys>/vendors/); ImportVoucher adds this CA to <keys>/vendors/ for its next start.
  const auto& fp = ca->fingerprint();
  const std::string keys = a.keys.empty() ? a.db + ".keys" : a.keys;
  const bool new_anchor = !fs::exists(keys + "/vendors/" +
                                      cbor::ToHex(crypto::ByteView(fp.data(), fp.size())) + ".pem");
  for (const auto& [path, bytes] : ok) {
    auto st = tools->ImportVoucher(bytes, *ca, "owner");
    if (!st) return Fail(Error(st.error().code(), path + ": " + st.error().message()));
    auto v = voucher::Decode(bytes);
    std::cout << "imported " << path << ": serial " << (v ? v->serial : "?") << "\n";
  }
  std::cout << "imported " << ok.size() << " voucher" << (ok.size() == 1 ? "" : "s") << " by '"
            << ca->subject().organization << "' into " << a.db << "\n";
  if (new_anchor)
    std::cout << "note: " << a.vendor_ca << " is a new manufacturer trust anchor, kept in " << keys
              << "/vendors/; a KDC that is running accepts this vendor's IDevIDs only if it was "
                 "started with --vendor-ca for it (else restart it)\n";
  return Ok();
}

nlohmann::json ThingJson(const registry::Thing& t) {
  nlohmann::json j = {{"serial", t.serial},
                      {"vendor", t.vendor},
                      {"model", t.model},
                      {"state", registry::StateName(t.state)},
                      {"setup_code", t.setup_code.has_value()},
                      {"voucher", !t.voucher.empty()},
                      {"credential_kind", t.credential_kind},
                      {"credential_id", t.credential_id},
                      {"credential_fingerprint", t.credential_fingerprint},
                      {"key_epoch", t.key_epoch},
                      {"joins", t.joins},
                      {"created", t.created},
                      {"updated", t.updated}};
  j["voucher_expiry"] = t.voucher_expiry ? nlohmann::json(*t.voucher_expiry) : nlohmann::json();
  j["commissioned_at"] = t.commissioned_at ? nlohmann::json(*t.commissioned_at) : nlohmann::json();
  j["replaced_by"] = t.replaced_by;
  j["replaces"] = t.replaces;
  return j;
}

Status List(const OwnerArgs& a) {
  std::optional<State> filter;
  if (!a.state.empty()) {
    SECPROF_ASSIGN_OR_RETURN(filter, registry::ParseState(a.state));
  }
  SECPROF_ASSIGN_OR_RETURN(auto reg, OpenRegistry(a.db));
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo dom, reg->Domain());
  SECPROF_ASSIGN_OR_RETURN(std::vector<registry::Thing> things, reg->List(filter));
  if (a.format == "json") {
    nlohmann::json j = {{"profile", dom.profile}, {"owner", dom.owner}};
    j["things"] = nlohmann::json::array();
    for (const auto& t : things) {
      nlohmann::json tj = ThingJson(t);
      auto code = reg->GetSetupCode(t.serial);  // kept as a wrapped key (schema v3)
      tj["setup_code"] = t.setup_code.has_value() || (code && *code && !(*code)->retired_at);
      j["things"].push_back(std::move(tj));
    }
    std::cout << j.dump(2) << "\n";
    return Ok();
  }
  size_t w = 6;
  for (const auto& t : things) w = std::max(w, t.serial.size());
  std::cout << std::left << std::setw(static_cast<int>(w)) << "SERIAL"
            << "  " << std::setw(14) << "STATE"
            << "  " << std::setw(6) << "JOINS"
            << "  "
            << "CREDENTIAL / VENDOR MODEL\n";
  std::map<std::string, int> counts;
  for (const auto& t : things) {
    std::string cred =
        t.credential_kind.empty() ? std::string("-") : t.credential_kind + ":" + t.credential_id;
    std::string extra;
    if (!t.replaced_by.empty()) extra += " replaced-by " + t.replaced_by;
    if (!t.replaces.empty()) extra += " replaces " + t.replaces;
    std::cout << std::left << std::setw(static_cast<int>(w)) << t.serial << "  " << std::setw(14)
              << registry::StateName(t.state) << "  " << std::setw(6) << t.joins << "  " << cred
              << " / " << t.vendor << " " << t.model << extra << "\n";
    ++counts[registry::StateName(t.state)];
  }
  std::cout << things.size() << " thing" << (things.size() == 1 ? "" : "s") << " in " << a.db
            << " (" << dom.profile << ", owner " << dom.owner << ")";
  if (!counts.empty()) {
    std::cout << ":";
    bool first = true;
    for (const auto& [s, n] : counts) {
      std::cout << (first ? " " : ", ") << n << " " << s;
      first = false;
    }
  }
  std::cout << "\n";
  return Ok();
}

Status Retire(const OwnerArgs& a, State to) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  // An unknown serial is bad input (2) and named, before any change is tried.
  auto t = tools->registry().Get(a.serial);
  if (!t) return Fail(t.error());
  std::string reason = a.reason.empty() ? std::string("by the owner") : a.reason;
  SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> groups, tools->registry().GroupsOf(a.serial));
  SECPROF_TRY(tools->Retire(a.serial, to, reason, "owner"));
  std::cout << a.serial << ": " << registry::StateName(t->state) << " -> "
            << registry::StateName(to) << " (" << reason << ")";
  if (!t->credential_kind.empty())
    std::cout << "; credential " << t->credential_kind << ":" << t->credential_id << " revoked";
  if (!groups.empty()) {
    std::cout << "; groups re-keyed:";
    for (const auto& g : groups) std::cout << " " << g;
  }
  std::cout << "\n";
  return Ok();
}

Status ReplaceThing(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  SECPROF_TRY(tools->registry().Get(a.old_serial));
  SECPROF_TRY(tools->registry().Get(a.new_serial));
  SECPROF_ASSIGN_OR_RETURN(std::vector<std::string> before,
                           tools->registry().GroupsOf(a.old_serial));
  SECPROF_TRY(tools->Replace(a.old_serial, a.new_serial, "owner"));
  std::cout << a.old_serial << " replaced by " << a.new_serial;
  if (!before.empty()) {
    std::cout << "; groups re-keyed:";
    for (const auto& g : before) std::cout << " " << g;
  }
  std::cout << "\n";
  return Ok();
}

Status GroupCreate(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  SECPROF_TRY(tools->CreateGroup(a.group, "owner"));
  std::cout << "group " << a.group << " created at epoch 1\n";
  return Ok();
}

Status GroupAdd(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  SECPROF_TRY(tools->registry().Get(a.serial));
  SECPROF_TRY(tools->AddMember(a.group, a.serial, "owner"));
  SECPROF_ASSIGN_OR_RETURN(registry::Group g, tools->registry().GetGroup(a.group));
  std::cout << a.serial << " added to group " << a.group << " (epoch " << g.epoch << ")\n";
  return Ok();
}

Status GroupRemove(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  SECPROF_TRY(tools->registry().Get(a.serial));
  SECPROF_TRY(tools->RemoveMember(a.group, a.serial, "owner"));
  SECPROF_ASSIGN_OR_RETURN(registry::Group g, tools->registry().GetGroup(a.group));
  std::cout << a.serial << " removed from group " << a.group << "; re-keyed to epoch " << g.epoch
            << "\n";
  return Ok();
}

Status GroupList(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto reg, OpenRegistry(a.db));
  SECPROF_ASSIGN_OR_RETURN(std::vector<registry::Group> groups, reg->ListGroups());
  if (a.format == "json") {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& g : groups)
      j.push_back({{"name", g.name},
                   {"epoch", g.epoch},
                   {"members", g.members},
                   {"needs_rekey", g.needs_rekey}});
    std::cout << j.dump(2) << "\n";
    return Ok();
  }
  for (const auto& g : groups) {
    std::cout << g.name << ": epoch " << g.epoch << ", " << g.members.size() << " member"
              << (g.members.size() == 1 ? "" : "s");
    for (size_t i = 0; i < g.members.size(); ++i) std::cout << (i ? ", " : ": ") << g.members[i];
    if (g.needs_rekey) std::cout << " (needs rekey)";
    std::cout << "\n";
  }
  std::cout << groups.size() << " group" << (groups.size() == 1 ? "" : "s") << "\n";
  return Ok();
}

Status Audit(const OwnerArgs& a) {
  if (a.limit < 0) return Fail(ErrorCode::kInvalidInput, "--limit must be 0 or more");
  SECPROF_ASSIGN_OR_RETURN(auto reg, OpenRegistry(a.db));
  std::optional<std::string> serial;
  if (!a.serial.empty()) serial = a.serial;
  SECPROF_ASSIGN_OR_RETURN(std::vector<registry::AuditEntry> entries, reg->Audit(serial, a.limit));
  Status verified = Ok();
  if (a.verify) verified = reg->VerifyAuditChain();
  if (a.format == "json") {
    nlohmann::json j = {{"entries", nlohmann::json::array()}};
    for (const auto& e : entries)
      j["entries"].push_back({{"seq", e.seq},
                              {"time", e.time},
                              {"actor", e.actor},
                              {"action", e.action},
                              {"serial", e.serial},
                              {"detail", e.detail},
                              {"hash", e.hash}});
    if (a.verify) {
      j["chain_verified"] = static_cast<bool>(verified);
      if (!verified) j["chain_error"] = verified.error().message();
    }
    std::cout << j.dump(2) << "\n";
  } else {
    for (const auto& e : entries) {
      std::cout << e.seq << "  " << FormatTime(e.time) << "  " << e.actor << "  " << e.action;
      if (!e.serial.empty()) std::cout << "  " << e.serial;
      if (!e.detail.empty()) std::cout << "  " << e.detail;
      std::cout << "\n";
    }
    if (a.verify && verified) std::cout << "audit chain verified (" << a.db << ")\n";
  }
  if (!verified) return Fail(verified.error().WithContext(a.db + ": audit chain"));
  return Ok();
}

Status DomainCa(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  std::cout << tools->domain_ca().ToPem();
  return Ok();
}

// ------------------------------------------------------------------------------ CLI wiring

CLI::App* Owner(CLI::App* parent, const char* name, const char* help, OwnerArgs& a) {
  auto* c = parent->add_subcommand(name, help);
  c->add_option("--db", a.db, "The KDC's registry (SQLite file)")->required();
  c->add_option("--keys", a.keys, "The KDC's key directory (default: <db>.keys)");
  c->add_option("--kek-file", a.kek_file,
                "The key directory's KEK (default: $SECPROF_KDC_KEK, else <keys>.kek)");
  c->add_flag("--allow-colocated-kek", a.allow_colocated_kek,
              "Accept a KEK inside the key directory (audited; see docs/KEYSTORE.md)");
  return c;
}

void Install(CLI::App& app, Context& ctx) {
  auto run = std::make_shared<RunArgs>();
  auto own = std::make_shared<OwnerArgs>();
  auto* k = app.add_subcommand(
      "kdc",
      "Run the domain's KDC (CoAP/DTLS) over a registry, or operate on its files as the owner");
  k->add_option("--profile", run->profile, "SecProf_2, SecProf_3 or SecProf_4");
  k->add_option("--db", run->db, "The registry (SQLite file; created on first use)");
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
  k->add_option("--pin", run->ca_pin, "PKCS#11 user PIN (default: $SECPROF_PKCS11_PIN)");
  k->add_flag("--allow-file-ca-key", run->allow_file_ca_key,
              "SecProf_3/4: keep the domain CA key in the file store (audited)");
  k->callback([k, run, &ctx] {
    if (!k->get_subcommands().empty()) return;  // an owner subcommand ran
    // A registry of another profile or owner (kConflict) is bad input here, not a refusal.
    auto st = RunKdc(*run);
    ctx.exit_code = st ? kExitOk : ReportError(st.error());
  });

  OwnerArgs& a = *own;
  auto on = [own, &ctx](Status (*fn)(const OwnerArgs&)) {
    return [own, &ctx, fn] { SetExit(ctx, fn(*own)); };
  };

  Owner(k, "migrate-kek",
        "Move the KEK out of the key directory (wrap.kek -> --kek-file or <keys>.kek; the key "
        "store re-encrypted; resumable)",
        a)
      ->callback(on(MigrateKek));

  auto* allow = Owner(k, "allow",
                      "SecProf_2: allow things of a factory with their setup codes (installer)", a);
  allow->add_option("--factory", a.factory, "Factory directory (manifest.json)")->required();
  allow->add_option("--serial", a.serials, "Serial to allow (repeatable)")->allow_extra_args(false);
  allow->add_flag("--all", a.all, "Allow every thing of the manifest");
  allow->callback(on(Allow));

  auto* imp = Owner(k, "import-voucher",
                    "SecProf_3/4: verify manufacturer vouchers and admit their serials", a);
  imp->add_option("--vendor-ca", a.vendor_ca, "The manufacturer's CA certificate (PEM)")
      ->required();
  imp->add_option("vouchers", a.vouchers, "Voucher files")->required();
  imp->callback(on(ImportVouchers));

  auto* list = Owner(k, "list", "List the things in the registry", a);
  list->add_option("--state", a.state, "Only things in this state");
  list->add_option("--format", a.format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  list->callback(on(List));

  struct RetireCmd {
    const char* name;
    const char* help;
    State to;
  };
  for (const RetireCmd& r : {
           RetireCmd{"revoke", "Revoke a thing's credential (compromise suspected)",
                     State::kRevoked},
           RetireCmd{"evict", "Evict a misbehaving thing", State::kEvicted},
           RetireCmd{"decommission", "Decommission a thing (retired by the owner)",
                     State::kDecommissioned},
       }) {
    auto* c = Owner(k, r.name, r.help, a);
    c->add_option("serial", a.serial, "The thing's serial")->required();
    c->add_option("--reason", a.reason, "Why (recorded in the audit log)");
    State to = r.to;
    c->callback([own, &ctx, to] { SetExit(ctx, Retire(*own, to)); });
  }

  auto* rep = Owner(k, "replace", "A new thing takes over an old one's role and groups", a);
  rep->add_option("old", a.old_serial, "The serial being replaced")->required();
  rep->add_option("new", a.new_serial, "The replacement's serial")->required();
  rep->callback(on(ReplaceThing));

  auto* grp = k->add_subcommand("group", "Groups and their keys");
  grp->require_subcommand(1);
  auto* gc = Owner(grp, "create", "Create a group (epoch 1)", a);
  gc->add_option("name", a.group, "Group name")->required();
  gc->callback(on(GroupCreate));
  auto* ga = Owner(grp, "add", "Add an active thing to a group", a);
  ga->add_option("name", a.group, "Group name")->required();
  ga->add_option("serial", a.serial, "The thing's serial")->required();
  ga->callback(on(GroupAdd));
  auto* gr = Owner(grp, "remove", "Remove a member and re-key the group", a);
  gr->add_option("name", a.group, "Group name")->required();
  gr->add_option("serial", a.serial, "The thing's serial")->required();
  gr->callback(on(GroupRemove));
  auto* gl = Owner(grp, "list", "List groups, epochs and members", a);
  gl->add_option("--format", a.format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  gl->callback(on(GroupList));

  auto* aud = Owner(k, "audit", "Show the hash-chained audit log", a);
  aud->add_option("--serial", a.serial, "Only entries of this serial");
  aud->add_option("--limit", a.limit, "Only the newest N entries (0 = all)");
  aud->add_flag("--verify", a.verify, "Verify the hash chain (exit 1 when broken)");
  aud->add_option("--format", a.format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  aud->callback(on(Audit));

  auto* dca =
      Owner(k, "domain-ca",
            "Print the domain CA certificate (PEM; `secprof voucher issue --domain-ca`)", a);
  dca->callback(on(DomainCa));
}

Registrar reg("kdc", 60, Install);

}  // namespace
}  // namespace secprof::cli
