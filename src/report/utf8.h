// Internal to report: output that is always valid UTF-8, whatever reached the assessment.
//
// Model and catalog text is checked by yamlio (valid UTF-8, printable), but a report also carries
// text from elsewhere, such as the model's file name as given on the command line, which on POSIX
// is any byte string. The writers pass such text through here so that HTML never holds invalid
// UTF-8 and a JSON writer never meets it (nlohmann-json throws on it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace secprof::report {

// `s` with every byte sequence that is not well-formed UTF-8 (RFC 3629 section 4) and every C0/C1
// control character other than tab, line feed and carriage return replaced by U+FFFD.
inline std::string SafeUtf8(std::string_view s) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      const bool ok = c >= 0x20 ? c != 0x7F : (c == '\t' || c == '\n' || c == '\r');
      if (ok) {
        out += static_cast<char>(c);
      } else {
        out += kReplacement;
      }
      ++i;
      continue;
    }
    const size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
    bool ok = n != 0 && i + n <= s.size();
    uint32_t cp = c & (0x7F >> n);
    for (size_t k = 1; ok && k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      ok = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    ok = ok && !(n == 3 && cp < 0x800) && !(n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
         !(cp >= 0xD800 && cp <= 0xDFFF) && !(cp >= 0x80 && cp < 0xA0);
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += kReplacement;
      ++i;  // resynchronise on the next byte
    }
  }
  return out;
}

}  // namespace secprof::report
