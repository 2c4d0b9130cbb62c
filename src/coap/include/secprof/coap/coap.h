// secprof/coap/coap.h — CoAP (RFC 7252) over UDP and DTLS 1.2 (RFC 6347, profiled by RFC 7925)
// on libcoap 4.3.1 with its OpenSSL backend. No libcoap or OpenSSL type appears in this header:
// Server and Client own their libcoap context (coap_context_t, freed by coap_free_context) and
// sessions (released by coap_session_release) behind a pimpl.
//
//   ServerConfig cfg;                                   // 127.0.0.1, UDP on an ephemeral port
//   cfg.psk = PskServerConfig{.key_for_identity = Lookup};
//   SECPROF_ASSIGN_OR_RETURN(auto server, Server::Create(std::move(cfg)));
//   server->AddResource("sensors/temp", Method::kGet, [](const Request& r) {
//     return Response{.code = kContent, .payload = Text("21.5")};
//   });
//   std::jthread loop([&](std::stop_token st) { server->Serve(st); });
//
//   ClientConfig cc{.security = Security::kPsk, .psk_identity = "thing-1", .psk_key = Key()};
//   SECPROF_ASSIGN_OR_RETURN(auto client, Client::Connect("127.0.0.1", server->dtls_port(), cc));
//   SECPROF_ASSIGN_OR_RETURN(Response r, client->Get("sensors/temp"));
//
// Block-wise transfer (RFC 7959): a handler's large response goes out in Block2 blocks (libcoap's),
// a large request body arrives whole (Block1, assembled under the limit by the Server from the
// blocks libcoap hands over), and the Client sends and receives large bodies the same way (its
// own block-wise code over libcoap's messages); both ends cap the body size (max_request_body,
// max_response_body).
//
// A DTLS-PKI private key may live in a PKCS#11 token (PkiConfig::private_key_pkcs11), used
// through OpenSSL's "pkcs11" engine; the key never leaves the token.
//
// Threading: libcoap 4.3.1 is not thread-safe. A Server is configured (Create, AddResource) and
// then driven by exactly one thread (Serve / RunOnce); handlers and callbacks run on that thread.
// A Client is used by one thread at a time. Distinct Servers and Clients are independent.
//
// Exceptions: handlers and callbacks may throw; nothing crosses libcoap's C callbacks (a throwing
// handler answers 5.00, a throwing key lookup or certificate check refuses the handshake).
//
// docs/COAP.md describes the DTLS configuration, the limits and what libcoap 4.3.1 allows.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::coap {

using crypto::Bytes;
using crypto::ByteView;

// libcoap's log level for this process: a syslog level number (LOG_CRIT = 2, the default, is
// quiet; LOG_WARNING = 4 shows refused handshakes; LOG_DEBUG = 7 shows every PDU). Applies to
// libcoap's own log and its DTLS log, now and when libcoap is started. The library reads no
// environment variable: the CLI passes $SECPROF_COAP_LOG here.
void SetLogLevel(int syslog_level);

// Request methods, RFC 7252 §12.1.1 (0.01 .. 0.04).
enum class Method : uint8_t { kGet = 1, kPost = 2, kPut = 3, kDelete = 4 };
const char* MethodName(Method m);

// A CoAP code as carried in the header, class << 5 | detail (RFC 7252 §3, §5.9).
using Code = uint8_t;
constexpr Code MakeCode(unsigned cls, unsigned detail) {
  return static_cast<Code>((cls << 5) | detail);
}
// Response codes, RFC 7252 §5.9 and §12.1.2.
inline constexpr Code kCreated = MakeCode(2, 1);
inline constexpr Code kDeleted = MakeCode(2, 2);
inline constexpr Code kValid = MakeCode(2, 3);
inline constexpr Code kChanged = MakeCode(2, 4);
inline constexpr Code kContent = MakeCode(2, 5);
inline constexpr Code kContinue = MakeCode(2, 31);  // RFC 7959 §2.9.1 (a Block1 block taken)
inline constexpr Code kBadRequest = MakeCode(4, 0);
inline constexpr Code kUnauthorized = MakeCode(4, 1);
inline constexpr Code kBadOption = MakeCode(4, 2);
inline constexpr Code kForbidden = MakeCode(4, 3);
inline constexpr Code kNotFound = MakeCode(4, 4);
inline constexpr Code kMethodNotAllowed = MakeCode(4, 5);
inline constexpr Code kRequestEntityIncomplete = MakeCode(4, 8);  // RFC 7959 §2.9.2
// RFC 7252 §5.9.2.9; for a Block1 body beyond the server's limit, RFC 7959 §2.9.3 (with Size1 =
// the largest acceptable body, RFC 7959 §4).
inline constexpr Code kRequestEntityTooLarge = MakeCode(4, 13);
inline constexpr Code kInternalServerError = MakeCode(5, 0);
inline constexpr Code kServiceUnavailable = MakeCode(5, 3);
// "c.dd", e.g. "4.04".
std::string CodeString(Code code);

// Content-Format numbers, RFC 7252 §12.3 and the IANA CoAP Content-Formats registry.
namespace content_format {
inline constexpr uint16_t kTextPlain = 0;
inline constexpr uint16_t kOctetStream = 42;
inline constexpr uint16_t kJson = 50;
inline constexpr uint16_t kCbor = 60;
inline constexpr uint16_t kCoseSign1 = 18;  // application/cose; cose-type="cose-sign1", RFC 9052
inline constexpr uint16_t kCwt = 61;        // application/cwt, RFC 8392
}  // namespace content_format

// Who the peer proved to be in the DTLS handshake. Over plain UDP: kind kNone.
struct PeerIdentity {
  enum class Kind { kNone, kPsk, kCertificate };
  Kind kind = Kind::kNone;
  // kPsk: the identity the client sent (RFC 4279 §2); on the client side, the identity it used.
  std::string psk_identity{};
  Bytes certificate_der{};      // kCertificate: the peer's end-entity certificate, DER
  std::string subject{};        // kCertificate: its subject, RFC 4514 text ("" if unparsable)
  std::string serial_number{};  // kCertificate: subject serialNumber attribute (802.1AR), if any
  std::string serial_hex{};     // kCertificate: the certificate serial, lower-case hex
  std::string cipher{};         // the negotiated DTLS cipher suite (OpenSSL name); "" over UDP
};

struct Request {
  Method method = Method::kGet;
  std::string path{};   // Uri-Path segments joined with '/', no leading '/'
  std::string query{};  // Uri-Query options joined with '&'
  Bytes payload{};
  std::optional<uint16_t> content_format{};
  PeerIdentity peer{};
  std::string peer_address{};  // "addr:port" as libcoap prints it
};

struct Response {
  Code code = kContent;
  std::optional<uint16_t> content_format{};
  Bytes payload{};
};

// Bytes of a string (a text payload).
Bytes Text(std::string_view s);
// A payload as text.
std::string AsText(ByteView b);

using Handler = std::function<Response(const Request&)>;

// Session limits of a server context (libcoap: coap_context_set_max_handshake_sessions,
// coap_context_set_max_idle_sessions, coap_context_set_session_timeout).
//
// Half-open DTLS handshakes (a ClientHello that returned the server's cookie, RFC 6347 §4.2.1,
// and no completed handshake yet) are bounded by secprof on top of libcoap (docs/COAP.md
// "Availability"): beyond a bound the *oldest* such handshake is closed, so a new one always gets
// a slot and a flood of abandoned handshakes costs the flooder its own earlier attempts.
struct Limits {
  // Half-open DTLS handshakes at once. Beyond it, the oldest handshake of the IP address holding
  // the most is closed (ServerStats::handshakes_evicted). libcoap's own limit
  // (coap_context_set_max_handshake_sessions, which refuses the newest) is set well above it.
  unsigned max_handshake_sessions = 64;
  // Established sessions without traffic kept at once; the oldest idle one is closed beyond it.
  unsigned max_idle_sessions = 256;
  // An idle server session is closed after this long.
  std::chrono::seconds session_timeout{300};
  // Half-open DTLS handshakes from one IP address at once; beyond it that address's oldest is
  // closed (ServerStats::handshakes_evicted). 0: no per-address bound. Several things behind one
  // NAT (or on one test host) share an address: keep it above the number that may join or
  // reconnect at the same time.
  unsigned max_handshakes_per_address = 32;
  // A DTLS handshake not completed this long after its first ClientHello is closed
  // (ServerStats::handshakes_timed_out). libcoap 4.3.1 alone keeps it for about 31 s (four
  // retransmissions of its flight, 1 + 2 + 4 + 8 + 16 s) and then up to 30 s more.
  std::chrono::milliseconds handshake_timeout{10000};
  // Plain-CoAP block-wise requests (Block1, RFC 7959 §2.5) under way from one IP address at once;
  // the first block of one more is answered 5.03 with Max-Age (ServerStats::
  // partial_requests_refused). 0: no bound. Applies over DTLS too (peer address of the session).
  unsigned max_partial_requests_per_address = 4;
  // Request freshness (secprof/coap/echo.h, RFC 9175 §2.3): an Echo value older than this is
  // stale, for the resources registered with Server::RequireEcho. It bounds how long an on-path
  // attacker may hold such a request and still have it executed, so keep it below the clients'
  // request timeout; it must also cover one round trip (the client's retry with the new value).
  std::chrono::milliseconds echo_freshness{2000};
};

// What a PKI callback sees of one certificate of the peer's chain.
struct PeerCertificate {
  std::string common_name{};  // the CN libcoap extracted (may be empty)
  Bytes der{};                // the certificate, DER
  unsigned depth = 0;         // 0: the peer's own (end-entity) certificate
  bool validated = false;     // OpenSSL's chain validation against the trust anchors passed
};

// A private key inside a PKCS#11 token (SecProf_3/4: tamper-resistant, non-extractable keys),
// used through OpenSSL's "pkcs11" engine (libp11; Debian libengine-pkcs11-openssl), which libcoap
// 4.3.1 drives for COAP_PKI_KEY_PKCS11. The handshake signature is made in the token.
//
// The engine is one per process: the first Server or Client that uses a token key loads it and
// it stays loaded until the process ends (libcoap holds it). Its PKCS#11 module is `module_path`
// when given, else the engine's default ($PKCS11_MODULE_PATH, else p11-kit-proxy, which loads the
// modules registered with p11-kit, SoftHSM2 among them). A later config naming another module is
// refused (kInvalidInput). docs/COAP.md describes the interplay with keystore::Pkcs11KeyStore.
struct Pkcs11PrivateKey {
  // RFC 7512 URI of the private key object, e.g.
  // "pkcs11:token=fab;object=idevid-x;type=private". `object` matches CKA_LABEL (the
  // keystore label). No pin-value attribute: the PIN goes in `pin`.
  std::string uri{};
  crypto::SecureBuffer pin{};  // the token user's PIN (C_Login, PKCS#11 v2.40 §5.6)
  std::string module_path{};   // e.g. keystore::kDefaultPkcs11Module; "" = the engine's default
};

// DTLS with X.509 certificates (RFC 7925 §4.4.2). PEM text throughout.
struct PkiConfig {
  std::string certificate_pem{};           // own end-entity certificate
  crypto::SecureBuffer private_key_pem{};  // its PKCS#8 (or SEC 1) private key
  // Instead of private_key_pem (which must then be empty): the private key in a token. Create /
  // Connect load it once through the engine to check the URI, the PIN and that it matches
  // certificate_pem (kNotFound, kInvalidInput), so that a mistake is reported there and not as a
  // failed handshake. libcoap reads the certificate and the trust anchor from files in this mode;
  // they are written as DER, 0600, to a private directory (0700) that lives as long as the Server
  // or Client. Neither is secret.
  std::optional<Pkcs11PrivateKey> private_key_pkcs11{};
  // The CA certificate(s), one or more PEM blocks; the peer's chain must reach one of them.
  std::string trust_anchors_pem{};
  // Ask for and validate the peer's certificate. A server then refuses clients without one.
  bool require_peer_certificate = true;
  // Called on the I/O thread for each certificate of the peer's chain after OpenSSL's checks;
  // returning false (or throwing) refuses the handshake. Optional.
  std::function<bool(const PeerCertificate&)> verify_peer{};
  // Offer/accept only TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (RFC 7925 §4.4.2; and
  // TLS_PSK_WITH_AES_128_CCM_8 on a server that also does PSK) and DTLS 1.2 only.
  bool rfc7925_cipher_suites = true;
};

// Server side of DTLS-PSK (RFC 4279; RFC 7925 §4.2).
struct PskServerConfig {
  std::string hint{};  // identity hint sent to clients; may be empty
  // Looks up the key for a client's identity, on the I/O thread, during the handshake. nullopt
  // (or an exception) refuses the handshake. Keys are at most 64 bytes, identities 64 bytes
  // (libcoap's COAP_DTLS_MAX_PSK / COAP_DTLS_MAX_PSK_IDENTITY).
  std::function<std::optional<crypto::SecureBuffer>(std::string_view identity)> key_for_identity{};
};

struct ServerConfig {
  std::string address = "127.0.0.1";  // numeric IPv4 or IPv6 address to listen on
  // Plain CoAP over UDP (RFC 7252): nullopt disables, 0 picks an ephemeral port.
  std::optional<uint16_t> udp_port = 0;
  // CoAP over DTLS (coaps): nullopt disables, 0 picks an ephemeral port. Needs psk and/or pki.
  std::optional<uint16_t> dtls_port{};
  std::optional<PskServerConfig> psk{};
  std::optional<PkiConfig> pki{};
  Limits limits{};
  // Largest request body handed to a handler (bytes). A larger body is answered 4.13 Request
  // Entity Too Large with Size1 = this limit (RFC 7959 §2.9.3, §4) without calling the handler,
  // at the first Block1 block (RFC 7959 §2.5) whose Size1, or whose offset plus length, exceeds
  // it: secprof assembles Block1 bodies block by block (libcoap's own assembly reserves the
  // announced Size1 first), over UDP and DTLS; on the plain-CoAP port such a block is refused
  // before libcoap even reads it (docs/COAP.md "Availability").
  size_t max_request_body = size_t{1} << 20;
  // Receives one summary line at most every 10 s while the guards above refuse or close
  // something (half-open handshakes closed, Block1 requests refused), on the I/O thread. Unset:
  // the line goes to libcoap's log at LOG_WARNING ($SECPROF_COAP_LOG >= 4 shows it).
  std::function<void(std::string_view line)> log{};
  // The monotonic clock Echo values are stamped with (secprof/coap/echo.h); nullptr:
  // SystemClock(). Tests pass a FakeClock.
  const Clock* clock = nullptr;
};

// What a Server has seen; read from any thread (relaxed atomics), written on the I/O thread.
struct ServerStats {
  // Server sessions libcoap holds now: one per UDP peer and per DTLS peer whose handshake has
  // completed (libcoap 4.3.1 does not announce DTLS sessions before that), until libcoap drops
  // them (idle timeout, max_idle_sessions, a closed DTLS session).
  size_t sessions = 0;
  size_t dtls_established = 0;    // of those, DTLS sessions whose handshake completed
  uint64_t sessions_created = 0;  // since Create
  uint64_t handshakes_completed = 0;
  uint64_t requests =
      0;  // handler calls, plus requests refused (4.13, 4.08, 5.03); not 2.31 blocks
  uint64_t requests_too_large = 0;  // answered 4.13 (max_request_body), by either check
  // Availability (docs/COAP.md "Availability"):
  size_t half_open_handshakes = 0;  // DTLS handshakes past the cookie, not yet completed, now
  uint64_t handshakes_evicted =
      0;  // closed for max_handshakes_per_address or max_handshake_sessions
  uint64_t handshakes_timed_out = 0;  // closed after Limits::handshake_timeout
  // Handshakes past the cookie that libcoap itself ended before they completed (a DTLS alert or
  // error, its own timeout) and the guards had not closed: with the two above, every half-open
  // handshake that did not complete is accounted for.
  uint64_t handshakes_failed = 0;
  uint64_t blocks_refused = 0;  // plain-CoAP Block1 blocks answered 4.13 before libcoap read them
  uint64_t partial_requests_refused = 0;  // first blocks answered 5.03 (per-address transfer cap)
  // libcoap "hello" sessions (one per ClientHello from a new peer, before the cookie) freed as soon
  // as libcoap has answered them, and those left to libcoap because its private session layout
  // was not the expected one (docs/COAP.md "Availability": then 0 released, all kept).
  uint64_t hello_sessions_released = 0;
  uint64_t hello_sessions_kept = 0;
  // Requests to RequireEcho resources answered 4.01 with a new Echo (secprof/coap/echo.h), by
  // reason: no Echo (the normal first step), a stale one, an unknown (forged) one.
  uint64_t echo_missing = 0;
  uint64_t echo_stale = 0;
  uint64_t echo_unknown = 0;
};

class Server {
 public:
  // Creates the context and the endpoints. kInvalidInput for a bad address or a DTLS port
  // without credentials; kIo when a port cannot be bound, and kIo "port ... is in use" when
  // another socket (another Server, another process) already holds it (libcoap's SO_REUSEADDR
  // would otherwise let both bind and split the traffic); kCrypto when libcoap refuses the
  // DTLS setup (e.g. a bad PEM).
  static Result<std::unique_ptr<Server>> Create(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound ports (ephemeral ones resolved); 0 when that transport is disabled.
  uint16_t udp_port() const;
  uint16_t dtls_port() const;

  // Sessions libcoap holds now (ServerStats::sessions). Any thread.
  size_t session_count() const;
  // A snapshot of the counters. Any thread.
  ServerStats stats() const;

  // Registers `handler` for `method` on `path` ("a/b", no leading '/'). Several methods may share
  // a path. Unknown paths answer 4.04, unregistered methods 4.05 (libcoap). REQUIRES: not while
  // Serve runs on another thread.
  //
  // A response payload of any size (up to libcoap's 1,073,740,800 bytes: 2^20 blocks of 1024,
  // RFC 7959 §2.2) is sent block-wise (Block2) when it does not fit one message; libcoap keeps it
  // for the peer's follow-up block requests and calls the handler again only for a new request
  // (a GET without Block2 or for block 0). A handler may thus be called with any Block2 request
  // and always returns the whole representation. Request payloads arrive whole.
  void AddResource(std::string_view path, Method method, Handler handler);

  // Requests with `method` on `path` are executed only with a fresh Echo value (RFC 9175 §2.3;
  // secprof/coap/echo.h): others are answered 4.01 with a new Echo. For unsafe methods whose
  // late execution matters (an actuator, a state change). `on_refused`, when set, is called on
  // the I/O thread for each such refusal (kEchoMissing, kEchoStale, kEchoUnknown) before the 4.01
  // goes out, the handler not having run; it must not throw. REQUIRES: not while Serve runs.
  void RequireEcho(std::string_view path, Method method,
                   std::function<void(const Request&, Reason)> on_refused = {});

  // Waits at most `timeout` for I/O and processes what arrived (libcoap coap_io_process),
  // inspecting each plain-CoAP datagram before libcoap reads it and enforcing the handshake
  // bounds after (docs/COAP.md "Availability").
  Status RunOnce(std::chrono::milliseconds timeout);
  // Runs the I/O loop until `stop` is requested (checked at least every 50 ms).
  Status Serve(std::stop_token stop);

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

enum class Security { kNone, kPsk, kPki };

struct ClientConfig {
  Security security = Security::kNone;
  std::string psk_identity{};      // kPsk
  crypto::SecureBuffer psk_key{};  // kPsk
  PkiConfig pki{};                 // kPki
  // Bound for the DTLS handshake in Connect and for the answer to each message of a request:
  // a block-wise request body (Block1) or response (Block2) gets it once per block, since the
  // Client sends each block itself and waits for its answer; a peer that stops answering fails
  // earlier, after libcoap's retransmissions (RFC 7252 §4.2).
  std::chrono::milliseconds timeout{10000};
  // Largest response body accepted (bytes). A Block2 response announcing more in Size2 (RFC 7959
  // §4), or growing beyond it, fails the request with kLimit and no further block is asked
  // for (the Client asks for each block itself); the session stays usable. Default 128 MiB:
  // firmware images arrive this way.
  size_t max_response_body = size_t{128} << 20;
};

class Client {
 public:
  // Opens a session to host:port (a numeric address) and, for DTLS, completes the handshake.
  // kVerifyFailed when the handshake is refused (wrong key, untrusted certificate), kIo on
  // timeout or a socket error, kInvalidInput for bad arguments.
  static Result<std::unique_ptr<Client>> Connect(const std::string& host, uint16_t port,
                                                 ClientConfig config);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // A confirmable request (RFC 7252 §4.2) and its response. kIo when no response arrives within
  // the timeout, or the exchange fails (reset, DTLS closed). A payload that does not fit one
  // message is sent block-wise (Block1, RFC 7959 §2.5) and a large response is received whole
  // (Block2, §2.4); kLimit for a response beyond max_response_body or a payload beyond libcoap's
  // 1,073,740,800 bytes. Request freshness (secprof/coap/echo.h, RFC 9175 §2.4 item 3): a 4.01
  // that carries an Echo option of 1..40 bytes is answered by sending the request again, once,
  // with that value copied byte for byte (new tokens); the answer to the repeat is the response,
  // also when it is another 4.01.
  Result<Response> Send(Method method, std::string_view path, ByteView payload = {},
                        std::optional<uint16_t> content_format = std::nullopt,
                        std::string_view query = {});
  Result<Response> Get(std::string_view path, std::string_view query = {});
  // A GET whose response body may be at most `max_response_body` bytes for this request only
  // (capped by ClientConfig::max_response_body): a caller that knows how large the answer must
  // be (a firmware image whose size a verified SUIT manifest states, draft-ietf-suit-manifest
  // §8.4.8 image-size; Uptane's "endless data" attack) stops the transfer there. Beyond it:
  // kLimit, exactly as for the configured limit (checked on Size2 and on each Block2 block as it
  // arrives).
  Result<Response> Get(std::string_view path, std::string_view query, size_t max_response_body);
  Result<Response> Post(std::string_view path, ByteView payload,
                        std::optional<uint16_t> content_format = std::nullopt);
  Result<Response> Put(std::string_view path, ByteView payload,
                       std::optional<uint16_t> content_format = std::nullopt);
  Result<Response> Delete(std::string_view path);

  // What the server proved in the handshake (its certificate for kPki) and the cipher suite.
  const PeerIdentity& server_identity() const;

  struct Impl;

 private:
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace secprof::coap
