#include "endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>

namespace secprof::cli {
namespace {

bool IsNumericAddress(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

bool AllDigits(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<Endpoint> ParseEndpoint(const std::string& flag, const std::string& s,
                               const EndpointSyntax& syntax) {
  const bool listen = syntax.wording == EndpointSyntax::Wording::kListen;
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidInput, flag + " " + s + ": " + why);
  };
  if (s.empty()) return bad("empty");
  Endpoint ep;
  std::string rest;  // ":P[:P...]" or empty
  if (s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    ep.host = s.substr(1, close - 1);
    rest = s.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad("expected ':' after ']'");
  } else if (syntax.bare_ipv6 && std::count(s.begin(), s.end(), ':') > 1) {
    ep.host = s;  // an IPv6 address without brackets, hence without a port
  } else {
    size_t colon = s.find(':');
    ep.host = s.substr(0, colon);
    if (colon != std::string::npos) rest = s.substr(colon);
  }
  if (listen && rest == ":") return bad("empty port");
  if (ep.host.empty()) return bad("empty address");
  if (!IsNumericAddress(ep.host))
    return bad("'" + ep.host + "' is not a numeric IPv4 or IPv6 address" +
               (listen ? "" : " (IPv6 in brackets)"));
  if (listen && !rest.empty()) {  // one port: everything after the colon
    std::string p = rest.substr(1);
    if (p.size() > 5 || !AllDigits(p) || std::stoul(p) > 65535)
      return bad("port must be a number 0..65535");
    ep.ports.push_back(static_cast<uint16_t>(std::stoul(p)));
    rest.clear();
  }
  while (!rest.empty()) {
    size_t next = rest.find(':', 1);
    std::string p = rest.substr(1, next == std::string::npos ? std::string::npos : next - 1);
    if (p.empty() || p.size() > 5 || !AllDigits(p)) return bad("port '" + p + "' is not a number");
    long v = std::strtol(p.c_str(), nullptr, 10);
    if (v > 65535 || (v == 0 && !syntax.zero_port_ok))
      return bad("port " + p + " is out of range (" + (syntax.zero_port_ok ? "0" : "1") +
                 "..65535)");
    ep.ports.push_back(static_cast<uint16_t>(v));
    rest = next == std::string::npos ? std::string() : rest.substr(next);
  }
  if (ep.ports.size() < syntax.min_ports || ep.ports.size() > syntax.max_ports)
    return bad(syntax.min_ports == syntax.max_ports
                   ? "expected " + std::to_string(syntax.min_ports) + " port(s)"
                   : "expected " + std::to_string(syntax.min_ports) + " to " +
                         std::to_string(syntax.max_ports) + " ports");
  return ep;
}

std::string FormatHostPort(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace secprof::cli
