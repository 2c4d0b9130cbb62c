// Diagnostic notation (RFC 8949 §8, with the number and string forms of Appendix A), hex and
// UTF-8 helpers.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "secprof/cbor/cbor.h"

namespace secprof::cbor {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length (0 when invalid) and sets `cp`.
size_t Utf8Next(std::string_view s, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  size_t len;
  uint32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  // RFC 3629 §3: no overlong forms, no surrogates, nothing above U+10FFFF.
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

void AppendU16(std::string& out, uint32_t u) {
  char buf[16];  // "\\u" + up to 8 hex digits for any uint32_t, + NUL
  std::snprintf(buf, sizeof buf, "\\u%04x", u);
  out += buf;
}

void QuoteText(const std::string& s, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t n = Utf8Next(s, i, cp);
    if (n == 0) {  // not reachable for decoded input; show the byte rather than fail
      AppendU16(out, static_cast<uint8_t>(s[i]));
      ++i;
      continue;
    }
    i += n;
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp >= 0x20 && cp < 0x7f) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      AppendU16(out, cp);
    } else {  // a UTF-16 surrogate pair, as Appendix A shows for U+10151
      const uint32_t v = cp - 0x10000;
      AppendU16(out, 0xd800 + (v >> 10));
      AppendU16(out, 0xdc00 + (v & 0x3ff));
    }
  }
  out += '"';
}

// Shortest round-trip digits, laid out as ECMAScript's Number::toString does, with ".0" added
// to integral mantissas: the forms Appendix A prints (100000.0, 1.0e+300, 5.960464477539063e-8,
// 0.00006103515625).
void FormatFloat(double d, std::string& out) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-Infinity" : "Infinity";
    return;
  }
  if (d == 0) {
    out += std::signbit(d) ? "-0.0" : "0.0";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  if (sci[0] == '-') {
    out += '-';
    sci.erase(0, 1);
  }
  const size_t epos = sci.find('e');
  std::string digits = sci.substr(0, epos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exp10 = std::stoi(sci.substr(epos + 1));
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // the decimal point sits after n digits
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<size_t>(n - k), '0') + ".0";
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1) + "." + (k == 1 ? std::string("0") : digits.substr(1));
    out += (n - 1 < 0 ? "e-" : "e+") + std::to_string(std::abs(n - 1));
  }
}

void Diag(const Value& v, std::string& out) {
  switch (v.type()) {
    case Type::kUnsigned:
      out += std::to_string(v.uint_value());
      return;
    case Type::kNegative:
      // -1 - n; for n = 2^64 - 1 the magnitude 2^64 does not fit in uint64_t.
      out += v.uint_value() == UINT64_MAX ? "-18446744073709551616"
                                          : "-" + std::to_string(v.uint_value() + 1);
      return;
    case Type::kBytes:
      out += "h'" + ToHex(v.bytes()) + "'";
      return;
    case Type::kText:
      QuoteText(v.text(), out);
      return;
    case Type::kArray: {
      out += '[';
      bool first = true;
      for (const auto& item : v.array()) {
        if (!first) out += ", ";
        first = false;
        Diag(item, out);
      }
      out += ']';
      return;
    }
    case Type::kMap: {
      out += '{';
      bool first = true;
      for (const auto& [k, val] : v.map()) {
        if (!first) out += ", ";
        first = false;
        Diag(k, out);
        out += ": ";
        Diag(val, out);
      }
      out += '}';
      return;
    }
    case Type::kTag:
      out += std::to_string(v.tag_number()) + "(";
      Diag(v.tag_content(), out);
      out += ')';
      return;
    case Type::kSimple:
      switch (v.simple_value()) {
        case kSimpleFalse:
          out += "false";
          return;
        case kSimpleTrue:
          out += "true";
          return;
        case kSimpleNull:
          out += "null";
          return;
        case kSimpleUndefined:
          out += "undefined";
          return;
        default:
          out += "simple(" + std::to_string(v.simple_value()) + ")";
          return;
      }
    case Type::kFloat:
      FormatFloat(v.float_value(), out);
      return;
  }
}

}  // namespace

std::string Diagnostic(const Value& v) {
  std::string out;
  Diag(v, out);
  return out;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const size_t n = Utf8Next(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace secprof::cbor
