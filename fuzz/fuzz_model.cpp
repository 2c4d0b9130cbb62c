// libFuzzer target: the system-model loader (untrusted YAML) and, when a model loads, the whole
// assessment on the built-in catalog and its JSON and HTML renderings. Any crash, sanitizer
// report, uncaught exception (a JSON writer meeting invalid UTF-8 throws) or timeout is a bug, and
// so is HTML that is not valid UTF-8. fuzz/fuzz_model.dict gives the fuzzer YAML's anchors,
// aliases, tags, flow and block syntax, the model's keys and values, and malformed UTF-8, so it
// reaches the loader's limits (yamlio: alias expansion, depth, UTF-8) quickly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "secprof/assess/assess.h"
#include "secprof/catalog/catalog.h"
#include "secprof/model/model.h"
#include "secprof/report/report.h"

namespace {

// RFC 3629 well-formedness (no overlongs, surrogates or code points above U+10FFFF).
bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80                 ? 1
               : c >= 0xC2 && c <= 0xDF ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

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
  if (!a) return 0;
  const std::string json = secprof::report::RenderJson(*a);
  if (json.empty() || !ValidUtf8(json)) __builtin_trap();
  const std::string html = secprof::report::RenderHtml(*a, **cat);
  if (!ValidUtf8(html)) __builtin_trap();
  return 0;
}
