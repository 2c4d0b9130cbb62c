// secprof/core/fs.h — small file helpers with Result errors.
#pragma once

#include <string>

#include "secprof/core/result.h"

namespace secprof {

// Reads a whole file. Errors: kNotFound when it does not exist, kIo otherwise.
Result<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` atomically: a temporary file in the same directory is written, flushed
// with fsync, renamed over `path`, and the directory is fsynced. A crash at any point leaves either
// the old file or the new one, never a mix. `mode` applies to the new file (e.g. 0600 for keys).
Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);

}  // namespace secprof
