// libFuzzer target: the system-model loader (untrusted YAML) and, when a model loads, the whole
// assessment on the built-in catalog. Any crash, sanitizer report or uncaught exception is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "secprof/assess/assess.h"
#include "secprof/catalog/catalog.h"
#include "secprof/model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto cat = secprof::catalog::LoadBuiltin();
  if (!cat) __builtin_trap();  // the built-in catalog must always load
  std::string text(reinterpret_cast<const char*>(data), size);
  auto m = secprof::model::Parse("fuzz.yaml", text);
  if (!m) {
    if (m.error().ToString().empty()) __builtin_trap();  // every error must say something
    return 0;
  }
  auto facts = secprof::model::ComputeFacts(*m);
  (void)facts;
  auto a = secprof::assess::Assess(**cat, *m);
  (void)a;
  return 0;
}
