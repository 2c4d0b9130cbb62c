#include "command.h"

#include <algorithm>
#include <iostream>
#include <vector>

#include "output.h"

namespace secprof::cli {
namespace {
struct Entry {
  std::string name;
  int order;
  Installer install;
};
std::vector<Entry>& Registry() {
  static std::vector<Entry> entries;
  return entries;
}
}  // namespace

Registrar::Registrar(std::string name, int order, Installer install) {
  Registry().push_back({std::move(name), order, std::move(install)});
}

void InstallAll(CLI::App& app, Context& ctx) {
  auto entries = Registry();
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.order != b.order ? a.order < b.order : a.name < b.name;
  });
  for (auto& e : entries) e.install(app, ctx);
}

CLI::App* InstalledSubcommand(CLI::App& app, const std::string& name) {
  try {
    return app.get_subcommand(name);
  } catch (const CLI::OptionNotFound&) {
    return nullptr;
  }
}

namespace {
int ExitStatus(const Error& e, const ExitPolicy& policy) {
  if (e.code() == ErrorCode::kVerifyFailed) return kExitFinding;
  if (policy.conflict_is_refusal && e.code() == ErrorCode::kConflict) return kExitFinding;
  if (policy.unreachable_is_refusal &&
      (e.code() == ErrorCode::kIo || e.code() == ErrorCode::kLimit))
    return kExitFinding;
  return kExitBadInput;
}
}  // namespace

int ExitFor(const Error& e, const ExitPolicy& policy) {
  const int status = ExitStatus(e, policy);
  if (JsonErrors())
    PrintErrorJson(e, status);  // --format json: the error as one JSON object (output.h)
  else
    std::cerr << policy.prefix << e.ToString() << "\n";
  return status;
}

int ExitFor(const Status& st, const ExitPolicy& policy) {
  return st ? kExitOk : ExitFor(st.error(), policy);
}

int ReportError(const Error& e) { return ExitFor(e, kPlainExit); }

}  // namespace secprof::cli
