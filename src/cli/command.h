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

// Prints "secprof: <error>" to stderr and returns the exit code for it (2 for bad input or missing
// files, 1 for verification failures, 2 otherwise).
int ReportError(const Error& e);

}  // namespace secprof::cli
