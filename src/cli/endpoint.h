// src/cli/endpoint.h — the one parser for the endpoints given on the command line
// (`secprof kdc --listen`, `secprof thing install --kdc`, `serve --listen`, `pair --to`) and the
// one way they are printed back.
//
// Grammar: ADDR[:PORT[:PORT...]] or [V6ADDR][:PORT[:PORT...]], ADDR a numeric IPv4 or IPv6
// address (no names: nothing is resolved). Errors are kInvalidInput and read
// "<flag> <text>: <why>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "secprof/core/result.h"

namespace secprof::cli {

struct Endpoint {
  std::string host;             // without brackets
  std::vector<uint16_t> ports;  // as given, in order
};

struct EndpointSyntax {
  size_t min_ports = 0;
  size_t max_ports = 1;
  bool zero_port_ok = true;  // port 0 (ephemeral, or "none")
  // An unbracketed address with several colons is an IPv6 address without a port
  // (`secprof kdc --listen ::1`); otherwise the first colon starts the ports.
  bool bare_ipv6 = false;
  // The wording of the errors, as each command printed them before the parsers were merged
  // (kept so that no output changes): kListen is `secprof kdc --listen`'s.
  enum class Wording { kListen, kHostPorts } wording = Wording::kHostPorts;
};

Result<Endpoint> ParseEndpoint(const std::string& flag, const std::string& text,
                               const EndpointSyntax& syntax);

// "host:port" for output; an IPv6 address in brackets (RFC 3986 §3.2.2).
std::string FormatHostPort(const std::string& host, uint16_t port);

}  // namespace secprof::cli
