// Internal to secprof::lab: what the lab's report writers share.
#pragma once

#include <string>
#include <vector>

#include "secprof/lab/claims.h"

namespace secprof::lab::internal {

// "a, b, c".
std::string Join(const std::vector<std::string>& v, const std::string& sep = ", ");
// A cell in a few characters with its symbol: "OK blocked", "!! FINDING", "~ accepted" ...
std::string ShortCell(const JudgedCell& c);
inline constexpr const char* kShortKey =
    "OK blocked as claimed; !! FINDING (claimed, yet succeeded); ~ accepted, as the draft says; "
    "open = succeeded, not claimed; blocked* = blocked, not claimed; n/a; untestable; "
    "ERR lab error; +neg negative control confirmed; !neg negative control defect";
// What a negative control's status means, one phrase.
std::string NegativeText(NegativeStatus s);

}  // namespace secprof::lab::internal
