// `secprof kdc <owner operation>`: the owner's (and the installer's) operations on a KDC's files,
// also while the KDC runs; each is one library call (kdc::OwnerTools, kdc::AllowFromFactory,
// kdc::ImportVoucherFiles, registry::Registry) and its printing. Added under the `kdc` command that
// cmd_kdc.cpp installs (this file registers right after it, so --help lists them as before).
//
//   secprof kdc allow|import-voucher|list|revoke|evict|decommission|replace|group|audit|domain-ca
//   secprof kdc migrate-kek
//
// Exit status (kOwnerExit): 0 ok; 1 a refusal: a voucher that does not verify or bind, a
// lifecycle change the registry refuses ("cannot move S from X to Y"), an audit chain that does
// not verify; 2 bad input: arguments, unreadable or malformed files, an unknown serial or group, a
// registry of another profile or owner.
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "output.h"
#include "secprof/core/time_format.h"
#include "secprof/domain/profile.h"
#include "secprof/kdc/factory_manifest.h"
#include "secprof/kdc/kdc.h"
#include "secprof/kdc/layout.h"
#include "secprof/kdc/voucher_import.h"
#include "secprof/registry/location.h"
#include "secprof/registry/overview.h"
#include "secprof/registry/registry.h"
#include "secprof/voucher/voucher.h"

namespace secprof::cli {
namespace {

namespace fs = std::filesystem;
using registry::State;

// ------------------------------------------------------------------------------------ helpers

// A kConflict from the registry is a refused change (exit 1: "cannot move S from X to Y",
// "thing S is already a member ..."), not bad input (kOwnerExit).
void SetExit(Context& ctx, const Status& st) { ctx.exit_code = ExitFor(st, kOwnerExit); }

// Opening someone's files: a conflict there (a registry schema newer than this binary) is bad
// input, not a refused change.
Error OpenError(const Error& e, const std::string& db) {
  const std::string shown = registry::RedactDb(db);
  return Error(
      e.code() == ErrorCode::kConflict ? ErrorCode::kInvalidInput : e.code(),
      e.message().find(shown) != std::string::npos ? e.message() : shown + ": " + e.message());
}

// The registry of an existing KDC, for read-only commands (no key material needed).
Result<std::unique_ptr<registry::Registry>> OpenRegistry(const std::string& db) {
  if (!registry::IsPostgresUri(db) && !fs::exists(db))
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

std::string FormatTime(int64_t t) { return FormatIso8601(t); }

bool Json(const std::string& format) { return format == "json"; }

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
  SECPROF_ASSIGN_OR_RETURN(std::string did,
                           kdc::MigrateDomainKek(kdc::Layout::For(a.db, a.keys).keys, Kek(a)));
  if (Json(a.format)) {
    auto j = JsonDocument("kdc.migrate-kek");
    j["keys"] = kdc::Layout::For(a.db, a.keys).keys;
    j["done"] = did;
    PrintJson(j);
    return Ok();
  }
  std::cout << "kdc: " << did << "\n";
  return Ok();
}

Status Allow(const OwnerArgs& a) {
  if (a.all == !a.serials.empty())
    return Fail(ErrorCode::kInvalidInput, "give --serial S (one or more times) or --all");
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  kdc::AllowFromFactoryRequest req{a.factory, a.serials, a.all, a.db};
  auto allowed = nlohmann::json::array();
  const bool json = Json(a.format);
  SECPROF_ASSIGN_OR_RETURN(
      size_t n,
      kdc::AllowFromFactory(
          *tools, req, [&](const auto& serial, const auto& vendor, const auto& model) {
            if (json)
              allowed.push_back({{"serial", serial}, {"vendor", vendor}, {"model", model}});
            else
              std::cout << "allowed " << serial << " (" << vendor << " " << model
                        << ") with its setup code\n";
          }));
  if (json) {
    auto j = JsonDocument("kdc.allow");
    j["db"] = registry::RedactDb(a.db);
    j["allowed"] = std::move(allowed);
    j["count"] = n;
    PrintJson(j);
    return Ok();
  }
  std::cout << "allowed " << n << " thing" << (n == 1 ? "" : "s") << " in "
            << registry::RedactDb(a.db) << "\n";
  return Ok();
}

Status ImportVouchers(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  const kdc::Layout layout = kdc::Layout::For(a.db, a.keys);
  kdc::VoucherImportRequest req{a.vendor_ca, a.vouchers, a.db, layout.keys};
  kdc::VoucherImportObserver observe;
  const bool json = Json(a.format);
  auto imported = nlohmann::json::array();
  observe.refused = [](const Error& e) {
    if (JsonErrors())
      PrintErrorJson(e, kExitFinding);  // one object per refused voucher, then the final error
    else
      std::cerr << "secprof: " << e.message() << "\n";
  };
  observe.imported = [&](const std::string& path, const std::string& serial) {
    if (json)
      imported.push_back({{"file", path}, {"serial", serial}});
    else
      std::cout << "imported " << path << ": serial " << serial << "\n";
  };
  SECPROF_ASSIGN_OR_RETURN(kdc::VoucherImportOutcome out,
                           kdc::ImportVoucherFiles(*tools, req, observe));
  if (json) {
    auto j = JsonDocument("kdc.import-voucher");
    j["db"] = registry::RedactDb(a.db);
    j["vendor_organization"] = out.vendor_organization;
    j["imported"] = std::move(imported);
    j["new_trust_anchor"] = out.new_anchor;
    if (out.new_anchor) j["trust_anchor_dir"] = layout.keys + "/vendors/";
    PrintJson(j);
    return Ok();
  }
  std::cout << "imported " << out.imported << " voucher" << (out.imported == 1 ? "" : "s")
            << " by '" << out.vendor_organization << "' into " << a.db << "\n";
  if (out.new_anchor)
    std::cout << "note: " << a.vendor_ca << " is a new manufacturer trust anchor, kept in "
              << layout.keys
              << "/vendors/; a KDC that is running accepts this vendor's IDevIDs only if it was "
                 "started with --vendor-ca for it (else restart it)\n";
  return Ok();
}

// One thing of `kdc list --format json` (docs/CLI.md "secprof.kdc.list.v2").
nlohmann::json ThingJson(const registry::ThingOverview& o) {
  const registry::Thing& t = o.thing;
  nlohmann::json j = {
      {"serial", t.serial},
      {"vendor", t.vendor},
      {"model", t.model},
      {"state", registry::StateName(t.state)},
      {"setup_code", o.setup_code},
      {"voucher", !t.voucher.empty()},
      {"credential_kind", t.credential_kind},
      {"credential_id", t.credential_id},
      {"credential_fingerprint", t.credential_fingerprint},
      {"key_epoch", t.key_epoch},
      {"joins", t.joins},
      {"created", JsonTime(t.created)},
      {"updated", JsonTime(t.updated)},
      {"voucher_expiry", JsonTime(t.voucher_expiry)},
      {"commissioned_at", JsonTime(t.commissioned_at)},
      {"replaced_by", t.replaced_by},
      {"replaces", t.replaces},
      {"firmware_sequence",
       o.firmware_sequence ? nlohmann::json(*o.firmware_sequence) : nlohmann::json()},
      {"last_seen", JsonTime(o.last_seen)},
      {"groups", o.groups}};
  return j;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "-" : out;
}

Status List(const OwnerArgs& a) {
  std::optional<State> filter;
  if (!a.state.empty()) {
    SECPROF_ASSIGN_OR_RETURN(filter, registry::ParseState(a.state));
  }
  SECPROF_ASSIGN_OR_RETURN(auto reg, OpenRegistry(a.db));
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo dom, reg->Domain());
  SECPROF_ASSIGN_OR_RETURN(std::vector<registry::ThingOverview> things,
                           registry::ListOverview(*reg, filter));
  if (Json(a.format)) {
    nlohmann::json j = JsonDocument("kdc.list", 2);
    j["profile"] = dom.profile;
    j["owner"] = dom.owner;
    j["things"] = nlohmann::json::array();
    for (const auto& o : things) j["things"].push_back(ThingJson(o));
    PrintJson(j);
    return Ok();
  }
  size_t w = 6;
  for (const auto& o : things) w = std::max(w, o.thing.serial.size());
  std::cout << std::left << std::setw(static_cast<int>(w)) << "SERIAL"
            << "  " << std::setw(14) << "STATE"
            << "  " << std::setw(6) << "JOINS"
            << "  " << std::setw(8) << "FIRMWARE"
            << "  " << std::setw(20) << "LAST SEEN"
            << "  " << std::setw(12) << "GROUPS"
            << "  "
            << "CREDENTIAL / VENDOR MODEL\n";
  std::map<std::string, int> counts;
  for (const auto& o : things) {
    const registry::Thing& t = o.thing;
    std::string cred =
        t.credential_kind.empty() ? std::string("-") : t.credential_kind + ":" + t.credential_id;
    std::string extra;
    if (!t.replaced_by.empty()) extra += " replaced-by " + t.replaced_by;
    if (!t.replaces.empty()) extra += " replaces " + t.replaces;
    const std::string fw = o.firmware_sequence ? std::to_string(*o.firmware_sequence) : "-";
    std::cout << std::left << std::setw(static_cast<int>(w)) << t.serial << "  " << std::setw(14)
              << registry::StateName(t.state) << "  " << std::setw(6) << t.joins << "  "
              << std::setw(8) << fw << "  " << std::setw(20) << FormatIso8601(o.last_seen, "never")
              << "  " << std::setw(12) << Joined(o.groups) << "  " << cred << " / " << t.vendor
              << " " << t.model << extra << "\n";
    ++counts[registry::StateName(t.state)];
  }
  std::cout << things.size() << " thing" << (things.size() == 1 ? "" : "s") << " in " << a.db
            << " (" << dom.profile << ", owner " << dom.owner << ")";
  if (!counts.empty()) {
    std::cout << ":";
    bool first = true;
    for (const auto& [st, n] : counts) {
      std::cout << (first ? " " : ", ") << n << " " << st;
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
  if (Json(a.format)) {
    auto j = JsonDocument(std::string("kdc.") + registry::StateName(to));
    j["serial"] = a.serial;
    j["from"] = registry::StateName(t->state);
    j["to"] = registry::StateName(to);
    j["reason"] = reason;
    j["credential_revoked"] = t->credential_kind.empty()
                                  ? nlohmann::json()
                                  : nlohmann::json(t->credential_kind + ":" + t->credential_id);
    j["groups_rekeyed"] = groups;
    PrintJson(j);
    return Ok();
  }
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
  if (Json(a.format)) {
    auto j = JsonDocument("kdc.replace");
    j["old"] = a.old_serial;
    j["new"] = a.new_serial;
    j["groups_rekeyed"] = before;
    PrintJson(j);
    return Ok();
  }
  std::cout << a.old_serial << " replaced by " << a.new_serial;
  if (!before.empty()) {
    std::cout << "; groups re-keyed:";
    for (const auto& g : before) std::cout << " " << g;
  }
  std::cout << "\n";
  return Ok();
}

// The JSON of a group change: {group, epoch, serial (when one was named)}.
void PrintGroupJson(const char* schema, const OwnerArgs& a, int64_t epoch) {
  auto j = JsonDocument(schema);
  j["group"] = a.group;
  j["epoch"] = epoch;
  if (!a.serial.empty()) j["serial"] = a.serial;
  PrintJson(j);
}

Status GroupCreate(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  SECPROF_TRY(tools->CreateGroup(a.group, "owner"));
  if (Json(a.format)) {
    PrintGroupJson("kdc.group.create", a, 1);
    return Ok();
  }
  std::cout << "group " << a.group << " created at epoch 1\n";
  return Ok();
}

Status GroupAdd(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  SECPROF_TRY(tools->registry().Get(a.serial));
  SECPROF_TRY(tools->AddMember(a.group, a.serial, "owner"));
  SECPROF_ASSIGN_OR_RETURN(registry::Group g, tools->registry().GetGroup(a.group));
  if (Json(a.format)) {
    PrintGroupJson("kdc.group.add", a, g.epoch);
    return Ok();
  }
  std::cout << a.serial << " added to group " << a.group << " (epoch " << g.epoch << ")\n";
  return Ok();
}

Status GroupRemove(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, OpenTools(a.db, a.keys, Kek(a)));
  SECPROF_TRY(tools->registry().Get(a.serial));
  SECPROF_TRY(tools->RemoveMember(a.group, a.serial, "owner"));
  SECPROF_ASSIGN_OR_RETURN(registry::Group g, tools->registry().GetGroup(a.group));
  if (Json(a.format)) {
    PrintGroupJson("kdc.group.remove", a, g.epoch);
    return Ok();
  }
  std::cout << a.serial << " removed from group " << a.group << "; re-keyed to epoch " << g.epoch
            << "\n";
  return Ok();
}

Status GroupList(const OwnerArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto reg, OpenRegistry(a.db));
  SECPROF_ASSIGN_OR_RETURN(std::vector<registry::Group> groups, reg->ListGroups());
  if (a.format == "json") {
    nlohmann::json j = JsonDocument("kdc.group.list", 2);
    j["groups"] = nlohmann::json::array();
    for (const auto& g : groups)
      j["groups"].push_back({{"name", g.name},
                             {"epoch", g.epoch},
                             {"members", g.members},
                             {"needs_rekey", g.needs_rekey}});
    PrintJson(j);
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
    nlohmann::json j = JsonDocument("kdc.audit", 2);
    j["entries"] = nlohmann::json::array();
    for (const auto& e : entries)
      j["entries"].push_back({{"seq", e.seq},
                              {"time", JsonTime(e.time)},
                              {"actor", e.actor},
                              {"action", e.action},
                              {"serial", e.serial},
                              {"detail", e.detail},
                              {"hash", e.hash}});
    if (a.verify) {
      j["chain_verified"] = static_cast<bool>(verified);
      if (!verified) j["chain_error"] = verified.error().message();
    }
    PrintJson(j);
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
  if (Json(a.format)) {
    auto j = JsonDocument("kdc.domain-ca");
    j["subject"] = tools->domain_ca().subject().text;
    j["pem"] = tools->domain_ca().ToPem();
    PrintJson(j);
    return Ok();
  }
  std::cout << tools->domain_ca().ToPem();
  return Ok();
}

// ------------------------------------------------------------------------------ CLI wiring

CLI::App* Owner(CLI::App* parent, const char* name, const char* help, OwnerArgs& a) {
  auto* c = parent->add_subcommand(name, help);
  c->add_option("--db", a.db, "The KDC's registry (SQLite file, or postgresql:// URI)")->required();
  c->add_option("--keys", a.keys, "The KDC's key directory (default: <db>.keys)");
  c->add_option("--kek-file", a.kek_file,
                "The key directory's KEK (default: $SECPROF_KDC_KEK, else <keys>.kek)");
  c->add_flag("--allow-colocated-kek", a.allow_colocated_kek,
              "Accept a KEK inside the key directory (audited; see docs/KEYSTORE.md)");
  AddFormatOption(c, a.format);
  return c;
}

void Install(CLI::App& app, Context& ctx) {
  CLI::App* k = InstalledSubcommand(app, "kdc");
  if (!k) return;  // no kdc command in this build
  auto own = std::make_shared<OwnerArgs>();
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
  gl->callback(on(GroupList));

  auto* aud = Owner(k, "audit", "Show the hash-chained audit log", a);
  aud->add_option("--serial", a.serial, "Only entries of this serial");
  aud->add_option("--limit", a.limit, "Only the newest N entries (0 = all)");
  aud->add_flag("--verify", a.verify, "Verify the hash chain (exit 1 when broken)");
  aud->callback(on(Audit));

  auto* dca =
      Owner(k, "domain-ca",
            "Print the domain CA certificate (PEM; `secprof voucher issue --domain-ca`)", a);
  dca->callback(on(DomainCa));
}

// Same order as "kdc", and sorted after it by name: installed right after it.
Registrar reg("kdc-owner", 60, Install);

}  // namespace
}  // namespace secprof::cli
