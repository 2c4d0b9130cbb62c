// Internal to secprof::thing.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "secprof/thing/agent.h"

namespace secprof::thing {

std::string StateToJson(const ThingState& t);
Result<ThingState> StateFromJson(std::string_view text, const std::string& file);

}  // namespace secprof::thing
