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

namespace secprof {
namespace {

// Callers branch on a stable reason, never on message text (issue 10, "one error dialect").
TEST(ErrorReasonTest, ReasonSurvivesContextAndIsComparedByName) {
  constexpr Reason kRollback{"rollback"};
  constexpr Reason kReplay{"replay"};
  Error e(ErrorCode::kVerifyFailed, kRollback, "sequence 3 is below 7");
  EXPECT_EQ(e.reason(), "rollback");
  EXPECT_TRUE(e.Is(kRollback));
  EXPECT_FALSE(e.Is(kReplay));
  Error wrapped = e.WithContext("installing slot b");
  EXPECT_TRUE(wrapped.Is(kRollback));
  EXPECT_EQ(wrapped.message(), "installing slot b: sequence 3 is below 7");
  EXPECT_EQ(wrapped.code(), ErrorCode::kVerifyFailed);
  EXPECT_TRUE(wrapped.WithReason(kReplay).Is(kReplay));
  EXPECT_TRUE(Error(ErrorCode::kIo, "disk").reason().empty());
  EXPECT_TRUE(Error(ErrorCode::kIo, "x").WithReasonName("replay").Is(kReplay));
  auto f = [&]() -> Status { return Fail(ErrorCode::kConflict, kReplay, "nonce seen"); };
  Status st = f();
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().Is(kReplay));
  EXPECT_EQ(st.error().code(), ErrorCode::kConflict);
}

}  // namespace
}  // namespace secprof
