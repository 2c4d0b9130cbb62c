// Registry locations: SQLite paths and PostgreSQL URIs (include/secprof/registry/location.h).
// The URI grammar is libpq's (PostgreSQL 15 docs, 34.1.1.2 "Connection URIs"):
// postgresql://[userspec@][hostspec][/dbname][?paramspec], userspec = user[:password].
#include "secprof/registry/location.h"

#include <cctype>
#include <vector>

namespace secprof::registry {
namespace {

constexpr std::string_view kSchemes[] = {"postgresql://", "postgres://"};

struct Span {
  size_t begin, end;  // [begin, end) in the URI
};

// The password spans of a PostgreSQL URI: the one in userspec, and every ?password= value.
std::vector<Span> PasswordSpans(std::string_view uri) {
  std::vector<Span> out;
  size_t start = std::string_view::npos;
  for (std::string_view s : kSchemes)
    if (uri.substr(0, s.size()) == s) start = s.size();
  if (start == std::string_view::npos) return out;
  // libpq takes userspec up to an '@' met before any '/'.
  const size_t at = uri.find_first_of("@/", start);
  if (at != std::string_view::npos && uri[at] == '@') {
    const size_t colon = uri.find(':', start);
    if (colon < at) out.push_back({colon + 1, at});
  }
  const size_t query = uri.find('?', at == std::string_view::npos ? start : at);
  if (query == std::string_view::npos) return out;
  size_t p = query + 1;
  while (p <= uri.size()) {
    size_t amp = uri.find('&', p);
    if (amp == std::string_view::npos) amp = uri.size();
    const std::string_view pair = uri.substr(p, amp - p);
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      std::string key(pair.substr(0, eq));
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (key == "password") out.push_back({p + eq + 1, amp});
    }
    p = amp + 1;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void ReplaceAll(std::string& s, const std::string& what, std::string_view with) {
  if (what.empty()) return;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + with.size()))
    s.replace(p, what.size(), with);
}

}  // namespace

bool IsPostgresUri(std::string_view db) {
  for (std::string_view s : kSchemes)
    if (db.substr(0, s.size()) == s) return true;
  return false;
}

std::string RedactDb(std::string_view db) {
  std::string out(db);
  const std::vector<Span> spans = PasswordSpans(db);
  for (auto it = spans.rbegin(); it != spans.rend(); ++it)  // from the end: offsets stay valid
    out.replace(it->begin, it->end - it->begin, "***");
  return out;
}

std::string ScrubPasswords(std::string message, std::string_view db) {
  for (const Span& s : PasswordSpans(db)) {
    const std::string raw(db.substr(s.begin, s.end - s.begin));
    ReplaceAll(message, raw, "***");
    ReplaceAll(message, PercentDecode(raw), "***");
  }
  return message;
}

}  // namespace secprof::registry
