// secprof: IoT security profiles (draft-garcia-security-mitigations-and-profiles) made executable.
#include <cstdlib>
#include <iostream>

#include "command.h"
#include "output.h"
#include "secprof/coap/coap.h"

int main(int argc, char** argv) {
  CLI::App app{
      "secprof: IoT security profiles after draft-garcia-security-mitigations-and-profiles.\n"
      "Catalog of threats, mitigations and profiles; assessment of system models."};
  // Libraries read no environment variables; the CLI passes them on.
  if (const char* level = std::getenv("SECPROF_COAP_LOG"))
    secprof::coap::SetLogLevel(std::atoi(level));
  app.require_subcommand(1);
  app.set_version_flag("--version", "secprof 0.1.0");
  secprof::cli::Context ctx;
  secprof::cli::InstallAll(app, ctx);
  // --format json anywhere: errors, parse errors included, are JSON objects too (output.h).
  secprof::cli::SetJsonErrors(secprof::cli::ArgsAskForJson(argc, argv));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && secprof::cli::JsonErrors()) {
      secprof::cli::PrintUsageErrorJson(e.what(), secprof::cli::kExitBadInput);
      return secprof::cli::kExitBadInput;
    }
    int rc = app.exit(e);
    // CLI11 returns 0 for --help/--version; usage errors are bad input.
    return rc == 0 ? 0 : secprof::cli::kExitBadInput;
  }
  return ctx.exit_code;
}
