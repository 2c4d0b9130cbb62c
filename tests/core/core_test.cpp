#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "secprof/core/clock.h"
#include "secprof/core/fs.h"
#include "secprof/core/result.h"

namespace secprof {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0)
    return Fail(ErrorCode::kInvalidInput, "odd", SourceLocation{"f.yaml", 3, 7, "a.b"});
  return x / 2;
}

Result<int> Quarter(int x) {
  SECPROF_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

TEST(ResultTest, PropagatesErrorsWithLocation) {
  auto ok = Quarter(8);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  auto bad = Quarter(6);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(bad.error().ToString(), "f.yaml:3:7: field 'a.b': odd");
  EXPECT_EQ(bad.error().WithContext("loading").message(), "loading: odd");
}

TEST(FakeClockTest, MovesOnlyWhenAdvanced) {
  FakeClock c;
  auto t0 = c.Monotonic();
  EXPECT_EQ(c.Monotonic(), t0);
  c.Advance(std::chrono::seconds(5));
  EXPECT_EQ(c.Monotonic() - t0, std::chrono::seconds(5));
}

TEST(FsTest, AtomicWriteReplacesAndSetsMode) {
  auto dir = std::filesystem::temp_directory_path() / ("secprof-fs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "key.bin").string();
  ASSERT_TRUE(WriteFileAtomic(path, "first", 0600));
  ASSERT_TRUE(WriteFileAtomic(path, "second", 0600));
  auto back = ReadFile(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, "second");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No temporary files are left behind.
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  EXPECT_EQ(n, 1);
  std::filesystem::remove_all(dir);
}

TEST(FsTest, MissingFileIsNotFound) {
  auto r = ReadFile("/nonexistent/secprof/file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace secprof
