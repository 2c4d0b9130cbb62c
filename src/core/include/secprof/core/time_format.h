// secprof/core/time_format.h — the one time format secprof prints and reads: ISO 8601 / RFC 3339
// UTC with whole seconds, "2026-12-07T20:45:00Z" (RFC 3339 §5.6 date-time with time-offset "Z").
// Every command's text and JSON output and every message that names a time goes through
// FormatIso8601; every command-line input that takes a date or time goes through ParseIso8601.
// Times are Unix seconds (core/clock.h UnixSeconds) everywhere inside secprof.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "secprof/core/result.h"

namespace secprof {

// Why ParseIso8601 refused its input (with ErrorCode::kInvalidInput).
inline constexpr Reason kBadTime{"bad-time"};

// "YYYY-MM-DDTHH:MM:SSZ" (UTC, proleptic Gregorian calendar) for `unix_seconds`. Defined for
// every int64_t whose year lies in 0000..9999; outside that range the year is printed with as many
// digits as it needs (and a '-' for years before 0), which ParseIso8601 does not read back.
std::string FormatIso8601(int64_t unix_seconds);

// FormatIso8601(*t), or `none` when t is empty (a time that was never recorded).
std::string FormatIso8601(const std::optional<int64_t>& t, std::string_view none);

// "YYYY-MM-DD" (UTC) of `unix_seconds`: the date part of FormatIso8601.
std::string FormatIsoDate(int64_t unix_seconds);

// Reads a UTC time in one of the ISO 8601 forms secprof accepts:
//   YYYY-MM-DDTHH:MM:SSZ   (also with a lower-case 't'/'z', or '+00:00' instead of 'Z')
//   YYYY-MM-DD             (midnight UTC of that day)
// Year 0000..9999; month, day (checked against the month and leap years), hours 00..23, minutes
// 00..59, seconds 00..59 (a leap second 60 is refused: Unix time has none). No fractions, no other
// offsets (a time with another zone is refused rather than guessed). kInvalidInput with reason
// kBadTime naming the accepted forms and the offending character position otherwise.
Result<int64_t> ParseIso8601(std::string_view text);

}  // namespace secprof
