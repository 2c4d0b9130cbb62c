// src/cli/command.h — how a subcommand plugs into the `secprof` binary.
//
// Each cmd_*.cpp file in this folder registers itself with a static Registrar:
//
//   namespace { secprof::cli::Registrar reg("catalog", 10, InstallCatalog); }
//
// InstallCatalog(app, ctx) adds a CLI11 subcommand to `app` and a callback that sets ctx.exit_code.
// Exit status convention (brief section 6): 0 success, 1 a finding a gate asked to fail on (or a
// verification that failed), 2 bad input, with a message naming the file/line/column or field.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>

#include "secprof/core/result.h"

namespace secprof::cli {

enum ExitCode : int { kExitOk = 0, kExitFinding = 1, kExitBadInput = 2 };

struct Context {
  int exit_code = kExitOk;
};

using Installer = std::function<void(CLI::App& app, Context& ctx)>;

class Registrar {
 public:
  // `order` sorts subcommands in --help.
  Registrar(std::string name, int order, Installer install);
};

// Installs every registered subcommand on `app`, in order.
void InstallAll(CLI::App& app, Context& ctx);

// The subcommand `name` an earlier Registrar installed on `app` (a file adding commands under
// another's, e.g. under `kdc`), or nullptr when this build has none.
CLI::App* InstalledSubcommand(CLI::App& app, const std::string& name);

// The one mapping from an error to an exit status; each command picks its policy, so every
// command keeps the statuses it has always had. Always: kVerifyFailed is 1 (a verification that
// failed), everything else 2 (bad input, missing files, local failures), unless the policy says:
struct ExitPolicy {
  const char* prefix = "secprof: ";  // what stderr's line starts with
  // kConflict is a refused change, 1 (the KDC owner's operations: "cannot move S from X to Y").
  bool conflict_is_refusal = false;
  // kIo and kLimit are "the KDC or the peer did not answer", 1 (a thing's step that talks to it).
  bool unreachable_is_refusal = false;
};
inline constexpr ExitPolicy kPlainExit{};
// `secprof kdc` owner operations (cmd_kdc.cpp, cmd_kdc_setup.cpp).
inline constexpr ExitPolicy kOwnerExit{"secprof: ", true, false};
// `secprof thing` steps that stay local, and those that talk to the KDC or a peer.
inline constexpr ExitPolicy kThingLocalExit{"secprof: thing: ", false, false};
inline constexpr ExitPolicy kThingRemoteExit{"secprof: thing: ", false, true};

// Prints "<prefix><error>" to stderr (with --format json: the JSON error object of output.h) and
// returns the exit status for it under `policy`.
int ExitFor(const Error& e, const ExitPolicy& policy);
// kExitOk for an ok status; otherwise ExitFor(error, policy).
int ExitFor(const Status& st, const ExitPolicy& policy);

// ExitFor(e, kPlainExit): 1 for verification failures, 2 otherwise.
int ReportError(const Error& e);

}  // namespace secprof::cli
