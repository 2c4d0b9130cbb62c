// `secprof kdc release|quarantined`: the owner's side of the clone guard (issue 9 item 6;
// docs/DOMAIN.md "Clone detection"), on a KDC's files, also while the KDC runs. Added under the
// `kdc` command that cmd_kdc.cpp installs (this file registers after it).
//
//   secprof kdc quarantined --db F [--format text|json]   things the KDC quarantined, with why
//                                                         (JSON: docs/CLI.md)
//   secprof kdc release --db F SERIAL                     lifts a quarantine (audit "released")
//
// Exit status: 0 done; 1 the thing is not quarantined (nothing to release); 2 bad input (unknown
// serial, missing files, bad arguments).
#include <iostream>

#include <nlohmann/json.hpp>

#include "command.h"
#include "output.h"
#include "secprof/core/time_format.h"
#include "secprof/kdc/kdc.h"

namespace secprof::cli {
namespace {

struct GuardArgs {
  std::string db, keys, serial, format = "text";
};

Status Release(const GuardArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, kdc::OwnerTools::Open(a.db, a.keys));
  auto t = tools->registry().Get(a.serial);  // unknown serial: bad input (2), named
  if (!t) return Fail(t.error());
  auto r = tools->ReleaseQuarantine(a.serial);
  if (!r && r.error().code() == ErrorCode::kNotFound)
    return Fail(ErrorCode::kVerifyFailed, r.error().message());  // exit 1: nothing to release
  if (!r) return r;
  if (a.format == "json") {
    auto j = JsonDocument("kdc.release");
    j["serial"] = a.serial;
    j["released"] = true;
    PrintJson(j);
    return Ok();
  }
  std::cout << a.serial << ": released from quarantine; its credential is accepted again\n";
  return Ok();
}

Status ListQuarantined(const GuardArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, kdc::OwnerTools::Open(a.db, a.keys));
  SECPROF_ASSIGN_OR_RETURN(auto list, tools->registry().ListQuarantined());
  if (a.format == "json") {
    auto j = JsonDocument("kdc.quarantined", 2);
    j["things"] = nlohmann::json::array();
    for (const auto& q : list)
      j["things"].push_back(
          {{"serial", q.serial}, {"since", JsonTime(q.since)}, {"reason", q.reason}});
    PrintJson(j);
    return Ok();
  }
  for (const auto& q : list)
    std::cout << q.serial << "  " << FormatIso8601(q.since) << "  " << q.reason << "\n";
  if (list.empty()) std::cout << "no thing is quarantined\n";
  return Ok();
}

void Install(CLI::App& app, Context& ctx) {
  CLI::App* k = InstalledSubcommand(app, "kdc");
  if (!k) return;  // no kdc command in this build
  auto a = std::make_shared<GuardArgs>();
  auto leaf = [&, a](const char* name, const char* help, Status (*fn)(const GuardArgs&)) {
    auto* c = k->add_subcommand(name, help);
    c->add_option("--db", a->db, "The KDC's registry (SQLite file, or postgresql:// URI)")
        ->required();
    c->add_option("--keys", a->keys, "The KDC's key directory (default: <db>.keys)");
    AddFormatOption(c, a->format);
    c->callback([a, fn, &ctx] {
      auto st = fn(*a);
      ctx.exit_code = ExitFor(st, kPlainExit);
    });
    return c;
  };
  auto* rel = leaf("release",
                   "Lift the quarantine the clone guard put on a thing (its credential is "
                   "accepted again; audit \"released\")",
                   Release);
  rel->add_option("serial", a->serial, "The thing's serial")->required();
  leaf("quarantined", "List the things quarantined as suspected clones, with why", ListQuarantined);
}

Registrar reg("kdc-guard", 62, Install);

}  // namespace
}  // namespace secprof::cli
