// src/cli/thing_print.h — how `secprof thing` prints a thing's state and the transition a step
// made, as text or as one JSON document (output.h; docs/CLI.md "secprof thing"). Split out of
// cmd_thing.cpp, which parses the steps and calls the agent.
#pragma once

#include <string_view>

#include "secprof/thing/agent.h"

namespace secprof::cli {

// `thing status`: serial, profile, state, keys, KDC, owner, credential, groups, history (times
// ISO 8601 UTC). JSON: "secprof.thing.status.v2".
void PrintThingStatus(const thing::Agent& agent, bool json);

// The transition the last step made: text "S: from -> to (why)"; JSON "secprof.thing.<step>.v1"
// {serial, state, transition: {time, from, to, why}} (transition null when the history is empty).
void PrintThingTransition(const thing::Agent& agent, std::string_view step, bool json);

}  // namespace secprof::cli
