// src/lab/wire/observer.h — the lab's passive adversary (brief §5; issue 11 "a passive observer
// that tries to recover keys and plaintext ... and to identify and track devices from the
// identifiers that cross the wire in clear"; draft §4 threats 3 and 8, RFC 6973 §5.2.1).
//
// It reads a relay's capture (relay.h) and nothing else: no key, no state of the defender. Per
// datagram it tries
//   - CoAP (RFC 7252 §3): requests and responses in the clear, matched by token per client, and
//     secprof's messages in them (docs/DOMAIN.md "Message labels"): the SecProf_1 imprint (the
//     domain key, in the clear), the SecProf_2 join (serial, nonce, the sealed PSK; opened only
//     when the observer is told the setup code, the lab's negative-control seam: the code printed
//     on the box), link frames (COSE_Mac0: integrity, no confidentiality), readings and commands;
//   - DTLS 1.2 records (RFC 6347 §4.1): the record headers, and the handshake messages of epoch 0
//     (§4.2.2, reassembled from fragments): ClientHello, ServerHello (the suite), Certificate
//     (RFC 5246 §7.4.2: subject, serialNumber, certificate serial through secprof::identity),
//     ServerKeyExchange / ClientKeyExchange of PSK suites (RFC 4279 §2, RFC 5489 §2: the PSK
//     identity hint and the PSK identity, in the clear); encrypted records are only counted.
// Output is deterministic for a given capture (identifiers sorted and unique).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "relay.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::lab::wire {

struct ObserverOptions {
  // serial -> setup code: with it, a captured SecProf_2 join's sealed PSK is opened (the
  // negative control: the attacker also read the code on the box).
  std::map<std::string, std::string> setup_codes;
};

struct RecoveredKey {
  std::string what;   // "domain-key" (SecProf_1 imprint), "psk" (SecProf_2 join)
  std::string owner;  // whose: the mother's serial, the thing's PSK identity
  crypto::SecureBuffer key;
  size_t datagram = 0;  // where it was seen
};

struct Observation {
  size_t datagrams = 0;
  size_t coap_messages = 0;
  size_t dtls_records = 0;
  size_t dtls_encrypted = 0;            // records of epoch >= 1 (application data, Finished)
  size_t dtls_handshakes = 0;           // ClientHellos seen
  std::set<std::string> cipher_suites;  // from ServerHello, "0xC0AE ECDHE-ECDSA-AES128-CCM8"
  // Identifiers in clear, "kind:value" (psk-identity, psk-identity-hint, cert-serialNumber,
  // cert-subject, cert-serial, coap-serial (a serial inside a plain CoAP body), link-sender).
  std::set<std::string> identifiers;
  // Which identifiers were seen on which client session (session -> identifiers): tracking.
  std::map<size_t, std::set<std::string>> by_session;
  std::vector<RecoveredKey> keys;
  // Application plaintext read off the wire, one line each ("reading SN 2150 #3", ...).
  std::vector<std::string> plaintext;
  // Sealed keys seen but not opened (the SecProf_2 j/psk answer without the code).
  std::vector<std::string> sealed;
  // Plain CoAP messages, as parsed, with the datagram index (for scenarios that look at codes).
  struct Coap {
    size_t datagram;
    size_t session;
    Direction dir;
    std::string path;        // for a response: its request's path (matched by token)
    std::string code;        // "0.02", "2.04", ...
    std::string diagnostic;  // text/plain payload of an error response
  };
  std::vector<Coap> coap;
};

Observation Observe(const std::vector<Datagram>& capture, const ObserverOptions& o = {});

// One line per datagram ("#12 s0 -> 47 B dtls handshake(ClientHello)"), bounded to `max` lines:
// evidence for a Measurement.
std::string Summarize(const std::vector<Datagram>& capture, size_t max = 24);

// True when the datagram starts like a DTLS 1.2/1.0 record (content type 20..23, version
// 0xFEFD/0xFEFF).
bool LooksLikeDtls(ByteView d);

}  // namespace secprof::lab::wire
