// Internal to secprof::thing: state.json read and written through the file-system seam
// (core/fs.h), so that tests can drop unsynced data on a simulated power loss
// (tests/thing/state_power_loss_test.cpp). The format is StateToJson's (internal.h).
#pragma once

#include <string>

#include "secprof/core/fs.h"
#include "secprof/thing/agent.h"

namespace secprof::thing {

// Writes `t` (its wrapped secrets included) to `path` atomically and durably, mode 0600
// (WriteFileAtomic): after a crash or a power loss the file holds the previous state or this one,
// and once this returns Ok, this one.
Status SaveState(const std::string& path, const ThingState& t,
                 FileSystem& fs = DefaultFileSystem());

// Reads and strictly parses `path` (StateFromJson; errors name the file).
Result<ThingState> LoadState(const std::string& path, FileSystem& fs = DefaultFileSystem());

}  // namespace secprof::thing
