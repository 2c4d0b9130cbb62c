// `secprof assess` against hostile model files, through the built binary (issue 12 item 9): an
// alias bomb, invalid UTF-8, control characters and deep nesting are refused with exit 2 and a
// located error in every output format, and text from outside the model (a file name that is not
// UTF-8) cannot abort a JSON writer or put invalid UTF-8 into HTML. The legitimate path (the same
// model with valid text) is checked beside each attack.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "testutil.h"

namespace secprof {
namespace {

using secprof::testing::Binary;
using secprof::testing::RunResult;
using secprof::testing::TempDir;

RunResult Cli(const std::string& args) { return secprof::testing::Run(Binary() + " " + args); }

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// RFC 3629 well-formedness.
bool ValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80                 ? 1
                     : c >= 0xC2 && c <= 0xDF ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

const char* const kFormats[] = {"text", "json", "md", "html", "sarif"};

std::string Model(const std::string& thing_name) {
  return "name: lights\nthings:\n  - id: lamp\n    name: " + thing_name +
         "\n    vendor: acme\nnodes:\n  - {id: kdc, kind: kdc}\nlinks:\n  - {from: kdc, to: lamp, "
         "protection: dtls}\n";
}

TEST(AssessInputCliTest, AliasBombIsRefusedInEveryFormat) {
  TempDir dir;
  // 9 levels of 9 aliases: 387 million strings once expanded. A model key holds it, so only the
  // loader's limit can stop it (the model's own checks would have to walk it first).
  std::string bomb = "name: x\ndescription: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  const char* names = "abcdefghi";
  std::string extra;
  for (int level = 1; level < 9; ++level) {
    const std::string prev(1, names[level - 1]), cur(1, names[level]);
    extra += "  - &" + cur + " [";
    for (int k = 0; k < 9; ++k) extra += (k ? ",*" : "*") + prev;
    extra += "]\n";
  }
  bomb += "things:\n" + extra;
  auto path = dir.path() / "bomb.yaml";
  std::ofstream(path) << bomb;
  for (const char* format : kFormats) {
    RunResult r = Cli("assess " + path.string() + " --format " + format + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << format << ": " << r.out;
    EXPECT_NE(r.out.find(path.string() + ":"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("aliases expanded"), std::string::npos) << r.out;
  }
  // A modest alias is a legitimate YAML feature and still works.
  auto ok = dir.path() / "alias.yaml";
  std::ofstream(ok) << Model("lamp") << "mitigations: &m [M.app.dtls]\n";
  RunResult r = Cli("assess " + ok.string() + " --format json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(AssessInputCliTest, InvalidUtf8IsRefusedWithLineAndColumnInEveryFormat) {
  TempDir dir;
  auto bad = dir.path() / "bad.yaml";
  std::ofstream(bad, std::ios::binary) << Model("Lamp \xff\xfe");
  for (const char* format : kFormats) {
    RunResult r = Cli("assess " + bad.string() + " --format " + format + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << format << ": " << r.out;  // not 134 (abort)
    EXPECT_NE(r.out.find(bad.string() + ":4:16:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("UTF-8"), std::string::npos) << r.out;
  }
  // A control character through an escape is refused too, located at the value.
  auto ctl = dir.path() / "ctl.yaml";
  std::ofstream(ctl) << Model("\"Lamp\\x1b[31m\"");
  RunResult c = Cli("assess " + ctl.string() + " --format html 2>&1");
  EXPECT_EQ(c.exit_code, 2) << c.out;
  EXPECT_NE(c.out.find(ctl.string() + ":4:11:"), std::string::npos) << c.out;
  // Valid UTF-8 beyond ASCII is a legitimate name and reaches every format intact.
  auto good = dir.path() / "good.yaml";
  std::ofstream(good) << Model(
      "L\xC3\xA4mpchen \xE2\x80\x94 K\xC3\xBC"
      "che");
  for (const char* format : kFormats) {
    RunResult r = Cli("assess " + good.string() + " --format " + format);
    EXPECT_EQ(r.exit_code, 0) << format << ": " << r.out;
    EXPECT_TRUE(ValidUtf8(r.out)) << format;
  }
}

TEST(AssessInputCliTest, DeepNestingIsRefused) {
  TempDir dir;
  auto deep = dir.path() / "deep.yaml";
  std::ofstream(deep) << "name: x\ndescription: " << std::string(5000, '[')
                      << std::string(5000, ']') << "\n";
  RunResult r = Cli("assess " + deep.string() + " --format json 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("nests too deeply"), std::string::npos) << r.out;
}

TEST(AssessInputCliTest, FileNameThatIsNotUtf8CannotBreakJsonOrHtml) {
  TempDir dir;
  // POSIX file names are byte strings; the report names the model's file.
  auto odd = dir.path() / "model-\xff.yaml";
  std::ofstream(odd) << Model("lamp");
  auto out = dir.path() / "report.json";
  RunResult j = Cli("assess '" + odd.string() + "' --format json --out " + out.string() + " 2>&1");
  ASSERT_EQ(j.exit_code, 0) << j.out;  // an abort would be 134
  const std::string json = Slurp(out);
  ASSERT_TRUE(ValidUtf8(json));
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_NE(parsed["model"]["file"].get<std::string>().find("model-\xEF\xBF\xBD.yaml"),
            std::string::npos);
  RunResult s = Cli("assess '" + odd.string() + "' --format sarif");
  ASSERT_EQ(s.exit_code, 0) << s.out;
  EXPECT_TRUE(ValidUtf8(s.out));
  RunResult h = Cli("assess '" + odd.string() + "' --format html");
  ASSERT_EQ(h.exit_code, 0);
  EXPECT_TRUE(ValidUtf8(h.out));
  EXPECT_NE(h.out.find("model-\xEF\xBF\xBD.yaml"), std::string::npos);
}

}  // namespace
}  // namespace secprof
