// Internals of secprof::coap::Server: assembly of block-wise request bodies (Block1, RFC 7959
// §2.5) under the request-size limit, block by block (docs/COAP.md "Availability"). Not a public
// header.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "secprof/coap/coap.h"

namespace secprof::coap::internal {

// libcoap 4.3.1 in COAP_BLOCK_SINGLE_BODY mode reserves the Size1 a first block announces before
// the server sees anything, over plain CoAP and DTLS alike. The server therefore runs libcoap
// without it: the handler is called for every Block1 block (libcoap answers 2.31 Continue with
// Block1 for the intermediate ones) and this class assembles the body, checking the limit at
// every block before keeping anything.
class BodyAssembler {
 public:
  enum class Outcome {
    kContinue,    // block kept; more to come (2.31)
    kComplete,    // the last block: `body` holds the whole request body
    kTooLarge,    // Size1, or offset + length, beyond the limit: refused, nothing kept (4.13)
    kBusy,        // a new transfer from an address that already has `per_address` (5.03)
    kIncomplete,  // a block out of order or without its first block (4.08, RFC 7959 §2.9.2)
  };
  BodyAssembler(size_t limit, unsigned per_address, std::chrono::seconds lifetime)
      : limit_(limit), per_address_(per_address), lifetime_(lifetime) {}

  // One Block1 block of the request identified by `key` (peer, method, path) from `address`.
  // `size1` is the announced total (0 when absent).
  Outcome Add(const std::string& key, const std::string& address, size_t offset, ByteView data,
              bool more, uint64_t size1, std::chrono::steady_clock::time_point now, Bytes* body);
  // Drops the partial bodies of a peer whose session went away (keys starting with `prefix`).
  void ForgetPeer(const std::string& prefix);
  size_t partial_bodies() const { return partial_.size(); }

 private:
  struct Partial {
    std::string address;
    Bytes body;
    std::chrono::steady_clock::time_point last;
  };
  size_t limit_;
  unsigned per_address_;
  std::chrono::seconds lifetime_;
  std::map<std::string, Partial> partial_;
};

}  // namespace secprof::coap::internal
