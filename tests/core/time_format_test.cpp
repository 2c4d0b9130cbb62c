// Tests for secprof/core/time_format.h: the one time format (ISO 8601 / RFC 3339 UTC, whole
// seconds). Known instants are checked against values computed independently (the POSIX epoch
// arithmetic of `date -u -d @N`), round trips over a wide range, and every malformed input refused
// with a message naming the position.
#include <gtest/gtest.h>

#include <string>

#include "secprof/core/time_format.h"

namespace secprof {
namespace {

TEST(TimeFormat, FormatsKnownInstants) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601(1'700'000'000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatIso8601(951'782'400), "2000-02-29T00:00:00Z");  // a leap day of a /400 year
  EXPECT_EQ(FormatIso8601(4'102'444'799), "2099-12-31T23:59:59Z");
  EXPECT_EQ(FormatIso8601(-1), "1969-12-31T23:59:59Z");  // before the epoch: floored, not truncated
  EXPECT_EQ(FormatIsoDate(1'700'000'000), "2023-11-14");
  EXPECT_EQ(FormatIso8601(std::optional<int64_t>(), "never"), "never");
  EXPECT_EQ(FormatIso8601(std::optional<int64_t>(0), "never"), "1970-01-01T00:00:00Z");
}

TEST(TimeFormat, ParsesWhatItFormatsAndTheDateForm) {
  for (int64_t t = -86'400 * 3650; t < int64_t{86'400} * 365 * 200; t += 86'400 * 17 + 3'607) {
    auto back = ParseIso8601(FormatIso8601(t));
    ASSERT_TRUE(back) << FormatIso8601(t) << ": " << back.error().ToString();
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(*ParseIso8601("2023-11-14"), 1'699'920'000);
  EXPECT_EQ(*ParseIso8601("2023-11-14t22:13:20z"), 1'700'000'000);
  EXPECT_EQ(*ParseIso8601("2023-11-14T22:13:20+00:00"), 1'700'000'000);
  EXPECT_EQ(*ParseIso8601("2024-02-29T00:00:00Z"), 1'709'164'800);
}

TEST(TimeFormat, RefusesWhatIsNotAnIso8601UtcTime) {
  struct Case {
    const char* text;
    const char* where;  // the character position the message names
  };
  for (const Case& c : {
           Case{"", "character 1"},
           Case{"1700000000", "character 5"},  // Unix seconds are not accepted
           Case{"23-11-14", "character 1"},    // two-digit year
           Case{"2023/11/14", "character 5"},
           Case{"2023-13-01", "character 6"},  // month 13
           Case{"2023-00-01", "character 6"},
           Case{"2023-02-29", "character 9"},  // not a leap year
           Case{"2023-04-31", "character 9"},
           Case{"2023-11-14 22:13:20Z", "character 11"},  // a space instead of T
           Case{"2023-11-14T24:00:00Z", "character 12"},
           Case{"2023-11-14T22:60:00Z", "character 15"},
           Case{"2023-11-14T22:13:60Z", "character 18"},  // leap second: Unix time has none
           Case{"2023-11-14T22:13:20", "character 20"},   // no zone: not guessed
           Case{"2023-11-14T22:13:20+01:00", "character 20"},
           Case{"2023-11-14T22:13:20.5Z", "character 20"},
           Case{"2023-11-14T22:13:20ZZ", "character 20"},
       }) {
    auto r = ParseIso8601(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput) << c.text;
    EXPECT_TRUE(r.error().Is(kBadTime)) << c.text;
    EXPECT_NE(r.error().message().find(c.where), std::string::npos)
        << c.text << ": " << r.error().message();
    EXPECT_NE(r.error().message().find("YYYY-MM-DDTHH:MM:SSZ"), std::string::npos);
  }
}

}  // namespace
}  // namespace secprof
