// secprof/core/time_format.h: ISO 8601 UTC formatting and parsing over <chrono>'s civil calendar.
#include "secprof/core/time_format.h"

#include <chrono>
#include <cstdio>

namespace secprof {
namespace {

using namespace std::chrono;

struct Civil {
  int year;
  unsigned month, day;
  int hours, minutes, seconds;
};

Civil ToCivil(int64_t unix_seconds) {
  const sys_seconds tp{seconds{unix_seconds}};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{tp - day};
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          static_cast<int>(hms.hours().count()),
          static_cast<int>(hms.minutes().count()),
          static_cast<int>(hms.seconds().count())};
}

Error Bad(std::string_view text, size_t pos, const std::string& why) {
  return Error(ErrorCode::kInvalidInput, kBadTime,
               "\"" + std::string(text.substr(0, 64)) + "\" is not an ISO 8601 UTC time (" + why +
                   " at character " + std::to_string(pos + 1) +
                   "); give YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD, e.g. 2026-12-07T20:45:00Z");
}

// Reads exactly `n` decimal digits at `pos`.
std::optional<int> Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string FormatIso8601(int64_t unix_seconds) {
  const Civil c = ToCivil(unix_seconds);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hours,
                c.minutes, c.seconds);
  return buf;
}

std::string FormatIso8601(const std::optional<int64_t>& t, std::string_view none) {
  return t ? FormatIso8601(*t) : std::string(none);
}

std::string FormatIsoDate(int64_t unix_seconds) {
  const Civil c = ToCivil(unix_seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

Result<int64_t> ParseIso8601(std::string_view s) {
  // The date: YYYY-MM-DD.
  const auto y = Digits(s, 0, 4);
  if (!y) return Fail(Bad(s, 0, "expected a four-digit year"));
  if (s.size() < 5 || s[4] != '-') return Fail(Bad(s, 4, "expected '-'"));
  const auto mo = Digits(s, 5, 2);
  if (!mo) return Fail(Bad(s, 5, "expected a two-digit month"));
  if (s.size() < 8 || s[7] != '-') return Fail(Bad(s, 7, "expected '-'"));
  const auto d = Digits(s, 8, 2);
  if (!d) return Fail(Bad(s, 8, "expected a two-digit day"));
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)},
                           day{static_cast<unsigned>(*d)}};
  if (*mo < 1 || *mo > 12) return Fail(Bad(s, 5, "month " + std::to_string(*mo) + " out of range"));
  if (!ymd.ok()) return Fail(Bad(s, 8, "day " + std::to_string(*d) + " is not in that month"));
  const int64_t midnight = sys_seconds(sys_days(ymd)).time_since_epoch().count();
  if (s.size() == 10) return midnight;
  // The time: THH:MM:SS then Z or +00:00.
  if (s[10] != 'T' && s[10] != 't') return Fail(Bad(s, 10, "expected 'T' or the end"));
  const auto h = Digits(s, 11, 2);
  if (!h || *h > 23) return Fail(Bad(s, 11, "expected hours 00..23"));
  if (s.size() < 14 || s[13] != ':') return Fail(Bad(s, 13, "expected ':'"));
  const auto mi = Digits(s, 14, 2);
  if (!mi || *mi > 59) return Fail(Bad(s, 14, "expected minutes 00..59"));
  if (s.size() < 17 || s[16] != ':') return Fail(Bad(s, 16, "expected ':'"));
  const auto se = Digits(s, 17, 2);
  if (!se || *se > 59) return Fail(Bad(s, 17, "expected seconds 00..59"));
  const std::string_view zone = s.substr(std::min<size_t>(19, s.size()));
  if (zone != "Z" && zone != "z" && zone != "+00:00")
    return Fail(Bad(s, 19, "expected 'Z' (UTC; fractions and other offsets are not accepted)"));
  return midnight + *h * 3600 + *mi * 60 + *se;
}

}  // namespace secprof
