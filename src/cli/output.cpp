// src/cli/output.h: --format, JSON documents and JSON errors for every command.
#include "output.h"

#include <iostream>
#include <utility>

#include "secprof/core/time_format.h"

namespace secprof::cli {
namespace {
bool g_json_errors = false;
}  // namespace

CLI::Option* AddFormatOption(CLI::App* cmd, std::string& format, std::vector<std::string> choices) {
  std::string help = "Output format:";
  for (size_t i = 0; i < choices.size(); ++i) help += (i ? " | " : " ") + choices[i];
  help += " (json: one document, see docs/CLI.md)";
  return cmd->add_option("--format", format, help)
      ->check(CLI::IsMember(std::move(choices)))
      ->capture_default_str();
}

nlohmann::json JsonDocument(std::string_view name, int version) {
  nlohmann::json j = nlohmann::json::object();
  j["schema"] = "secprof." + std::string(name) + ".v" + std::to_string(version);
  return j;
}

void PrintJson(const nlohmann::json& doc) {
  // Text that is not UTF-8 (a file name, say) is replaced, never an exception.
  std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

nlohmann::json JsonTime(int64_t unix_seconds) { return FormatIso8601(unix_seconds); }

nlohmann::json JsonTime(const std::optional<int64_t>& unix_seconds) {
  return unix_seconds ? JsonTime(*unix_seconds) : nlohmann::json();
}

bool JsonErrors() { return g_json_errors; }
void SetJsonErrors(bool on) { g_json_errors = on; }

bool ArgsAskForJson(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--format=json") return true;
    if (a == "--format" && i + 1 < argc && std::string_view(argv[i + 1]) == "json") return true;
  }
  return false;
}

namespace {
void PrintError(std::string_view code, std::string_view reason, const std::string& message,
                int exit) {
  nlohmann::json j = JsonDocument("error");
  j["error"] = {{"code", std::string(code)}, {"reason", std::string(reason)}, {"message", message}};
  j["exit"] = exit;
  // One line: a script reads one JSON object per failure.
  std::cerr << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}
}  // namespace

void PrintErrorJson(const Error& e, int exit) {
  PrintError(ErrorCodeName(e.code()), e.reason(), e.ToString(), exit);
}

void PrintUsageErrorJson(const std::string& message, int exit) {
  PrintError("usage", "", message, exit);
}

}  // namespace secprof::cli
