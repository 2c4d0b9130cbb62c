#include "command.h"

#include <algorithm>
#include <iostream>
#include <vector>

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

int ReportError(const Error& e) {
  std::cerr << "secprof: " << e.ToString() << "\n";
  return e.code() == ErrorCode::kVerifyFailed ? kExitFinding : kExitBadInput;
}

}  // namespace secprof::cli
