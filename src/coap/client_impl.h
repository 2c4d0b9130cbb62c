// Internals of secprof::coap::Client shared by client.cpp (the session, libcoap's callbacks) and
// client_exchange.cpp (one request: block-wise transfer, RFC 7959, and the Echo repeat,
// RFC 9175 §2.4). Not a public header.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "internal.h"

namespace secprof::coap {

namespace internal {

// A Block1 or Block2 option (RFC 7959 §2.2): block NUM, More, block size 2^(SZX+4).
struct BlockOption {
  uint32_t num = 0;
  bool more = false;
  unsigned szx = 6;
};

// The answer to the message in flight, as OnResponse read it.
struct Received {
  Code code = 0;
  std::optional<uint16_t> content_format;
  bool has_etag = false;
  Bytes etag;
  std::optional<uint64_t> size2;
  bool has_echo = false;
  Bytes echo;  // RFC 9175 §2.2.1: as received, any length (checked by the repeat)
  std::optional<BlockOption> block1, block2;
  Bytes payload;
};

}  // namespace internal

struct Client::Impl {
  ClientConfig config;
  std::unique_ptr<internal::PkiHolder> pki;
  PeerIdentity server_identity;
  std::string peer;  // "host:port" for messages

  enum class Handshake { kPending, kConnected, kFailed };
  Handshake handshake = Handshake::kPending;

  // The message in flight (one at a time): its token and its answer.
  bool waiting = false;
  Bytes token;
  std::optional<internal::Received> received;
  std::string failure;  // set when the message or the session failed
  ErrorCode failure_code = ErrorCode::kIo;
  // Deadline of the message in flight (ClientConfig::timeout from when it was sent).
  std::chrono::steady_clock::time_point deadline{};
  uint64_t request_tags = 0;  // the last Request-Tag used (RFC 9175 §3.2)
  // The response body limit of the request in progress, when lower than the configured one
  // (Client::Get with a limit); unset: config.max_response_body.
  std::optional<size_t> request_max_body;

  // Members are destroyed in reverse order: the session is released before the context is freed.
  internal::ContextPtr ctx;
  internal::SessionPtr session;

  // Runs the I/O loop until `done()` or `deadline`.
  template <class Done>
  Status Pump(Done done) {
    while (!done()) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return Fail(ErrorCode::kIo, "timed out talking to " + peer);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      auto slice = std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(50));
      if (coap_io_process(ctx.get(), static_cast<uint32_t>(std::max<int64_t>(slice.count(), 1))) <
          0)
        return Fail(ErrorCode::kIo, "coap_io_process failed");
    }
    return Ok();
  }
};

}  // namespace secprof::coap
