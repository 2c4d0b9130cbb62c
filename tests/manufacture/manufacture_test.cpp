// The manufacture library's pieces: serials, setup codes, the manifest, locking. `secprof
// manufacture` end to end is tests/cli/manufacture_cli_test.cpp.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "secprof/core/fs.h"
#include "secprof/manufacture/manufacture.h"
#include "testutil.h"

namespace secprof::manufacture {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST(Manufacture, SerialsAreSlugsWithACounter) {
  EXPECT_EQ(SerialFor("LightBulb 9", 1), "lightbulb-9-000001");
  EXPECT_EQ(SerialFor("  Smart//Meter  ", 42), "smart-meter-000042");
  EXPECT_EQ(SerialFor("***", 7), "thing-000007");
  EXPECT_EQ(SerialFor("x", 1234567), "x-1234567");
  EXPECT_EQ(SerialFor(std::string(40, 'a'), 1), std::string(24, 'a') + "-000001");
}

TEST(Manufacture, SetupCodesAreGroupedBase32From80RandomBits) {
  crypto::Bytes stream(10, 0x00);
  stream.insert(stream.end(), 10, 0xff);
  for (int i = 0; i < 2; ++i)  // 00001 00010 00011 ... 01000, twice
    stream.insert(stream.end(), {0x08, 0x86, 0x42, 0x98, 0xe8});
  auto rng = crypto::FakeRandom::FromStream(stream);
  EXPECT_EQ(*NewSetupCode(rng), "AAAA-AAAA-AAAA-AAAA");
  EXPECT_EQ(*NewSetupCode(rng), "7777-7777-7777-7777");
  auto c = NewSetupCode(rng);
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "BCDE-FGHI-BCDE-FGHI");
  EXPECT_EQ(c->size(), kSetupCodeLength);
  EXPECT_FALSE(NewSetupCode(rng));  // stream exhausted: the error passes through
}

TEST(Manufacture, ConcurrentRunIsRefused) {
  TempDir tmp;
  const fs::path out = tmp.path() / "f";
  fs::create_directories(out);
  int fd = ::open((out / ".lock").c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  Options o;
  o.vendor = "V";
  o.model = "M";
  o.out_dir = out.string();
  auto r = Manufacture(o);
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("another secprof manufacture"), std::string::npos);
  EXPECT_TRUE(Manufacture(o));  // lock released
}

TEST(Manufacture, ManifestRoundTripsAndNamesBadFields) {
  Manifest m;
  m.vendor = "V";
  m.model = "M";
  m.ca_certificate = "ca/ca.pem";
  m.ca_fingerprint = "ab";
  m.ca_key_location = "ca/keystore";
  m.ca_key_label = kCaKeyLabel;
  ThingRecord t;
  t.serial = "m-000001";
  t.index = 1;
  t.setup_code = "ABCDEFGH";
  m.things.push_back(t);
  const std::string json = ManifestToJson(m);
  auto back = ManifestFromJson(json, "m.json");
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(ManifestToJson(*back), json);

  auto bad = ManifestFromJson(R"({"format":"secprof-manufacture-manifest","version":1,
      "vendor":"V","model":7})",
                              "m.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
  ASSERT_TRUE(bad.error().where());
  EXPECT_EQ(bad.error().where()->field, "model");
  EXPECT_EQ(bad.error().where()->file, "m.json");
  std::string broken = json;
  broken.replace(broken.find("\"index\": 1"), 10, "\"index\": \"1\"");
  bad = ManifestFromJson(broken, "m.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().where()->field, "things[0].index");
  EXPECT_FALSE(ManifestFromJson("{", "m.json"));
  EXPECT_EQ(ManifestFromJson(R"({"format":"secprof-manufacture-manifest","version":2})", "m")
                .error()
                .code(),
            ErrorCode::kUnsupported);
}

TEST(Manufacture, CorruptManifestStopsTheRun) {
  TempDir tmp;
  const fs::path out = tmp.path() / "f";
  fs::create_directories(out);
  std::ofstream(out / "manifest.json") << "{not json";
  Options o;
  o.vendor = "V";
  o.model = "M";
  o.out_dir = out.string();
  auto r = Manufacture(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_FALSE(fs::exists(out / "ca" / "ca.pem"));  // nothing made on a directory we cannot read
}

}  // namespace
}  // namespace secprof::manufacture
