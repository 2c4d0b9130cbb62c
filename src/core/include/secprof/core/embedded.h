// secprof/core/embedded.h — a data file compiled into the binary (see cmake/Embed.cmake).
#pragma once

#include <string_view>

namespace secprof {

struct EmbeddedFile {
  std::string_view path;      // relative to the source checkout, e.g. "catalog/threats.yaml"
  std::string_view contents;  // the file's bytes
};

}  // namespace secprof
