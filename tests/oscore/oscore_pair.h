// tests/oscore: a client and a server security context derived from the same parameters
// (RFC 8613 §3.1: the client's Sender ID is the server's Recipient ID and vice versa).
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "secprof/core/hex.h"
#include "secprof/oscore/oscore.h"

namespace secprof::oscore::testing {

inline Bytes Hex(std::string_view h) { return *FromHex(h); }
inline const Bytes& Secret() {
  static const Bytes s = Hex("0102030405060708090a0b0c0d0e0f10");
  return s;
}

inline ContextParams ClientParams(std::optional<Bytes> id_context = std::nullopt) {
  return {.master_secret = Secret(),
          .master_salt = Hex("9e7ca92223786340"),
          .sender_id = Hex("c1"),
          .recipient_id = Hex("5e"),
          .id_context = std::move(id_context)};
}
inline ContextParams ServerParams(std::optional<Bytes> id_context = std::nullopt) {
  ContextParams p = ClientParams(std::move(id_context));
  std::swap(p.sender_id, p.recipient_id);
  return p;
}

inline SecurityContext MakeContext(const ContextParams& p, SequenceStore& store,
                                   Start start = Start::kNew, uint64_t persist_interval = 32) {
  auto c = SecurityContext::Create(
      p, {.sequence_store = &store, .persist_interval = persist_interval, .start = start});
  EXPECT_TRUE(c) << (c ? "" : c.error().message());
  return std::move(*c);
}

// GET coap://thing.example/sensors/temp?unit=C
inline Message SampleRequest() {
  Message m{.code = code::kGet};
  m.Add(opt::kUriHost, "thing.example");
  m.Add(opt::kUriPath, "sensors");
  m.Add(opt::kUriPath, "temp");
  m.Add(opt::kUriQuery, "unit=C");
  return m;
}

inline Message SampleResponse() {
  Message m{.code = code::kContent};
  m.AddUint(opt::kContentFormat, 0);
  std::string_view body = "21.5";
  m.payload.assign(body.begin(), body.end());
  return m;
}

}  // namespace secprof::oscore::testing
