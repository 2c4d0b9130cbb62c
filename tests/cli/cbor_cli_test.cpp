// `secprof cbor diag` end to end (suite CborCli): binary, hex and standard input, and exit 2
// naming the file for malformed input. The library is tested in tests/cbor/cbor_test.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "secprof/cbor/cbor.h"
#include "testutil.h"

namespace secprof::cbor {
namespace {

Bytes H(std::string_view hex) {
  auto b = FromHex(hex);
  EXPECT_TRUE(b) << hex;
  return b ? *b : Bytes{};
}

// ---- The command -------------------------------------------------------------------------------

std::string CliBinary() { return secprof::testing::Binary(); }

class CborCli : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const Bytes& b) {
    auto p = dir_.path() / name;
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p.string();
  }
  std::string Write(const std::string& name, const std::string& s) {
    return Write(name, Bytes(s.begin(), s.end()));
  }
  secprof::testing::TempDir dir_;
};

TEST_F(CborCli, DiagPrintsBinaryAndHexInput) {
  const std::string bin = CliBinary();
  auto f = Write("a.cbor", H("a26161016162820203"));
  auto r = secprof::testing::Run(bin + " cbor diag " + f + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "{\"a\": 1, \"b\": [2, 3]}\n");

  auto h = Write("a.hex", std::string("D2 84 43 A1 01 26\nA0 F6 40\n"));
  r = secprof::testing::Run(bin + " cbor diag --hex " + h + " 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "18([h'a10126', {}, null, h''])\n");

  r = secprof::testing::Run("printf '\\203\\001\\002\\003' | " + bin + " cbor diag - 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "[1, 2, 3]\n");
}

TEST_F(CborCli, DiagRejectsMalformedInputWithExit2) {
  const std::string bin = CliBinary();
  auto f = Write("bad.cbor", H("8301"));
  auto r = secprof::testing::Run(bin + " cbor diag " + f + " 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("truncated input"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad.cbor"), std::string::npos) << r.out;

  auto h = Write("bad.hex", std::string("0x01"));
  r = secprof::testing::Run(bin + " cbor diag --hex " + h + " 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find("invalid hex digit"), std::string::npos) << r.out;

  r = secprof::testing::Run(bin + " cbor diag " + (dir_.path() / "missing").string() + " 2>&1");
  EXPECT_EQ(r.exit_code, 2) << r.out;

  r = secprof::testing::Run(bin + " cbor diag --help 2>&1");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("--hex"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace secprof::cbor
