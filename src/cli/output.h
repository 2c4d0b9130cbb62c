// src/cli/output.h — the one way a `secprof` command offers and prints machine-readable output
// (issue 13 item 3; docs/CLI.md "JSON output").
//
// Every command that prints a result has `--format` with at least "text" and "json"
// (AddFormatOption; tests/cli/help_walk_cli_test.cpp walks the binary's --help tree and fails when
// one lacks it). In JSON mode a command prints exactly one JSON document on stdout: an object
// with a member "schema": "secprof.<command>.v<N>" (JsonDocument), times as ISO 8601 UTC
// strings (core/time_format.h; JsonTime). An error in JSON mode is one JSON object on stderr
// instead of the "secprof: ..." line (ExitFor in command.h calls PrintErrorJson), so a script
// reads stdout for the result and stderr for the failure, as in text mode:
//   {"schema":"secprof.error.v1","error":{"code":"not-found","reason":"...","message":"..."},
//    "exit":2}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "secprof/core/result.h"

namespace secprof::cli {

// Adds `--format` to `cmd` with the given choices (default: text and json), stored in `format`
// (whose value is the default). Every command that prints a result calls this.
CLI::Option* AddFormatOption(CLI::App* cmd, std::string& format,
                             std::vector<std::string> choices = {"text", "json"});

// An object {"schema": "secprof.<name>.v<version>"} to which a command adds its members.
nlohmann::json JsonDocument(std::string_view name, int version = 1);

// Prints `doc` (indented by 2) and a newline on stdout.
void PrintJson(const nlohmann::json& doc);

// A Unix time as the ISO 8601 UTC string (FormatIso8601); null when absent.
nlohmann::json JsonTime(int64_t unix_seconds);
nlohmann::json JsonTime(const std::optional<int64_t>& unix_seconds);

// Whether errors are printed as JSON: true when the command line asked for `--format json`
// (main() decides before parsing, so parse errors are covered too).
bool JsonErrors();
void SetJsonErrors(bool on);
// True when argv holds `--format json` or `--format=json`.
bool ArgsAskForJson(int argc, const char* const* argv);

// Prints the error object above for `e` with exit status `exit` on stderr.
void PrintErrorJson(const Error& e, int exit);
// The same for a command-line usage error (CLI11's message), code "usage".
void PrintUsageErrorJson(const std::string& message, int exit);

}  // namespace secprof::cli
