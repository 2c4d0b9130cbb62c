// Walks the `secprof` binary's command tree through its own --help (issue 13 item 3): the tree is
// discovered from the binary (each help's "Subcommands:" section, recursively), never from a list
// kept here. Every leaf command prints a result and must offer `--format` with "json"; the only
// exceptions are the servers below, and the test fails when an exception names a command the
// binary does not have or one that has JSON after all (the list and the binary disagree).
// Also: errors in JSON mode are one JSON object on stderr (docs/CLI.md "Errors").
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "testutil.h"

namespace secprof {
namespace {

using testing::Quote;

// Leaves that print no result: servers that run until a signal and log what they do. (The `kdc`
// command itself runs the KDC the same way; it has subcommands, so it is not a leaf.)
const std::map<std::string, std::string> kNoResult = {
    {"thing serve", "a server: runs until SIGINT/SIGTERM or --duration and logs"},
    {"vendor serve", "a server: runs until SIGINT/SIGTERM or --duration and logs"},
};

std::string Help(const std::string& path) {
  auto r = testing::Run(Quote(testing::Binary()) + (path.empty() ? "" : " " + path) + " --help");
  EXPECT_EQ(r.exit_code, 0) << path << " --help\n" << r.out;
  return r.out;
}

// The names listed in the help's "Subcommands:" section: lines "  NAME  description" (CLI11
// indents a name by two spaces and continuation lines by the whole name column).
std::vector<std::string> Subcommands(const std::string& help) {
  std::vector<std::string> out;
  std::istringstream in(help);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line == "Subcommands:" || line == "SUBCOMMANDS:") {
      in_section = true;
      continue;
    }
    if (!in_section) continue;
    if (line.empty()) continue;
    if (line[0] != ' ') {  // the next section
      in_section = false;
      continue;
    }
    if (line.size() > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ')
      out.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return out;
}

// The help text of the `--format` option (its line and continuation lines), "" when absent.
std::string FormatOption(const std::string& help) {
  std::istringstream in(help);
  std::string line, text;
  bool in_option = false;
  while (std::getline(in, line)) {
    const bool option_line = line.rfind("  -", 0) == 0;
    if (option_line) in_option = line.find("--format") != std::string::npos;
    if (in_option && !line.empty()) text += line + "\n";
    if (line.empty()) in_option = false;
  }
  return text;
}

// Every command path below `path` ("" = the binary), leaves and groups, with its help.
void Walk(const std::string& path, std::map<std::string, std::string>& tree) {
  const std::string help = Help(path);
  tree[path] = help;
  for (const auto& sub : Subcommands(help)) Walk(path.empty() ? sub : path + " " + sub, tree);
}

TEST(HelpWalk, EveryCommandThatPrintsAResultOffersJson) {
  std::map<std::string, std::string> tree;
  Walk("", tree);
  std::set<std::string> leaves;
  for (const auto& [path, help] : tree)
    if (!path.empty() && Subcommands(help).empty()) leaves.insert(path);
  // The walk found the tree (not a parser that finds nothing): the commands of issue 13 item 3.
  for (const char* known :
       {"kdc list", "kdc campaign status", "kdc fw list", "kdc incident list", "thing status",
        "thing join", "fw inspect", "voucher inspect", "catalog threats", "assess", "lab run",
        "cbor diag", "cose verify", "manufacture", "demo", "thing serve"})
    EXPECT_TRUE(leaves.count(known)) << "the walk did not find `secprof " << known << "`";
  EXPECT_GT(leaves.size(), 50u);

  std::vector<std::string> missing;
  for (const auto& path : leaves) {
    const std::string format = FormatOption(tree[path]);
    const bool json = format.find("json") != std::string::npos;
    if (kNoResult.count(path)) {
      EXPECT_FALSE(json) << "`secprof " << path
                         << "` has --format json now: remove it from kNoResult";
      continue;
    }
    if (!json) missing.push_back(path);
  }
  std::string list;
  for (const auto& m : missing) list += "  secprof " + m + "\n";
  EXPECT_TRUE(missing.empty()) << "commands that print a result without --format json:\n" << list;
  // Every exception is a command the binary has.
  for (const auto& [path, why] : kNoResult)
    EXPECT_TRUE(leaves.count(path)) << "kNoResult names `secprof " << path
                                    << "`, which the binary does not have (" << why << ")";
}

// Runs `secprof args`, stdout and stderr apart.
struct Split {
  int exit_code;
  std::string out, err;
};
Split RunSplit(const std::string& args, const std::filesystem::path& err_file) {
  auto r = testing::Run(Quote(testing::Binary()) + " " + args + " 2>" + Quote(err_file.string()));
  return {r.exit_code, r.out, testing::Slurp(err_file)};
}

TEST(HelpWalk, ErrorsInJsonModeAreOneJsonObjectOnStderr) {
  testing::TempDir dir;
  const auto err = dir.path() / "err";
  // A failure of the command (no such registry): exit 2, nothing on stdout.
  Split r =
      RunSplit("kdc list --db " + Quote((dir.path() / "none.db").string()) + " --format json", err);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  auto j = nlohmann::json::parse(r.err, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.err;
  EXPECT_EQ(j["schema"], "secprof.error.v1");
  EXPECT_EQ(j["exit"], 2);
  EXPECT_EQ(j["error"]["code"], "not found");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("none.db"), std::string::npos) << r.err;
  // A usage error (a required option missing) in JSON mode.
  r = RunSplit("kdc list --format json", err);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  j = nlohmann::json::parse(r.err, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.err;
  EXPECT_EQ(j["error"]["code"], "usage");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("--db"), std::string::npos) << r.err;
  // The same failure in text mode stays the familiar line.
  r = RunSplit("kdc list --db " + Quote((dir.path() / "none.db").string()), err);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("secprof: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace secprof
