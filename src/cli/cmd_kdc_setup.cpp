// `secprof kdc retire-code SERIAL`: the owner retires a SecProf_2 setup code (issue 9, item 4).
// Added under the `kdc` command that cmd_kdc.cpp installs (this file registers after it).
//
//   secprof kdc retire-code --db F [--keys D] SERIAL [--reason TEXT]
//
// Exit 0 retired; 1 already retired (a refused change); 2 bad input, unknown serial or a thing
// without a setup code.
#include <iostream>

#include "command.h"
#include "output.h"
#include "secprof/kdc/kdc.h"

namespace secprof::cli {
namespace {

struct RetireCodeArgs {
  std::string db, keys, serial;
  std::string reason = "retired by the owner";
  std::string format = "text";
};

Status RetireCode(const RetireCodeArgs& a) {
  SECPROF_ASSIGN_OR_RETURN(auto tools, kdc::OwnerTools::Open(a.db, a.keys));
  SECPROF_TRY(tools->RetireSetupCode(a.serial, a.reason));
  if (a.format == "json") {
    auto j = JsonDocument("kdc.retire-code");
    j["serial"] = a.serial;
    j["retired"] = true;
    j["reason"] = a.reason;
    PrintJson(j);
    return Ok();
  }
  std::cout << "retired the setup code of " << a.serial
            << ": joins with it are refused; `secprof kdc allow` a new code to admit it again\n";
  return Ok();
}

void Install(CLI::App& app, Context& ctx) {
  CLI::App* k = InstalledSubcommand(app, "kdc");
  if (!k) return;  // no kdc command in this build
  auto a = std::make_shared<RetireCodeArgs>();
  auto* c = k->add_subcommand(
      "retire-code",
      "SecProf_2: retire a thing's setup code now (it also retires itself when the grace after "
      "the first join ends); later joins with it are refused");
  c->add_option("--db", a->db, "The KDC's registry (SQLite file, or postgresql:// URI)")
      ->required();
  c->add_option("--keys", a->keys, "The KDC's key directory (default: <db>.keys)");
  c->add_option("serial", a->serial, "The thing's serial")->required();
  c->add_option("--reason", a->reason, "Why (recorded in the audit log)")->capture_default_str();
  AddFormatOption(c, a->format);
  // A code already retired is a refused change (kConflict, exit 1).
  c->callback([a, &ctx] { ctx.exit_code = ExitFor(RetireCode(*a), kOwnerExit); });
}

Registrar reg("kdc-setup-code", 62, Install);

}  // namespace
}  // namespace secprof::cli
