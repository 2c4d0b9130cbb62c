// secprof/thing/agent.h — the device agent (brief §4): a thing's lifecycle state machine, persisted
// atomically in its state directory, and the protocol steps that move it:
//
//   manufactured --Install--> installed --Join--> commissioned --GoOperational--> operational
//   operational <--EnterMaintenance / GoOperational--> maintenance
//   {commissioned, operational, maintenance} --Decommission--> decommissioned (keys wiped)
//   decommissioned --FactoryReset--> re-owned --Install (new owner's KDC)--> installed --> ...
//   SecProf_1 (no KDC): manufactured --StartPairing + an imprint / BecomeMother--> commissioned
//
// The transition table is code in secprof/thing/lifecycle.h: every method below that the
// lifecycle constrains checks its row first and refuses with kConflict, reason kWrongState
// (secprof/thing/reasons.h), changing nothing.
//
// Every transition is written to <state>/state.json with WriteFileAtomic (temporary file, fsync,
// rename, directory fsync) before the call returns, so a process killed at any point restarts in
// the old or the new state, never in between. Symmetric secrets (PSK, pairwise key, group keys,
// the SecProf_1 domain key) live inside state.json sealed with AES-256-GCM under a KEK that is
// NOT in the state directory: a file beside it ("<state>.kek", or --kek-file, or
// $SECPROF_THING_KEK) for file-key things, an AES key in the token for token things (src/thing/
// key_protection.cpp; docs/KEYSTORE.md). Asymmetric keys stay in the thing's key store: a file
// store under <state>/keystore (SecProf_1/2; encrypted under a key derived from the KEK) or a
// PKCS#11 token (SecProf_3/4; non-extractable; DTLS signs in the token through
// coap::Pkcs11PrivateKey).
//
// An Agent is used by one thread at a time. ThingServer runs the thing's own CoAP resources.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "secprof/coap/coap.h"
#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/profile.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/revocation.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/thing/reasons.h"
#include "secprof/update/install.h"

namespace secprof::thing {

enum class State {
  kManufactured,
  kInstalled,
  kCommissioned,
  kOperational,
  kMaintenance,
  kDecommissioned,
  kReOwned,
};
const char* StateName(State s);
Result<State> ParseState(std::string_view s);

inline constexpr int kStateVersion = 1;
inline constexpr const char* kStateFormat = "secprof-thing-state";

struct Transition {
  int64_t time = 0;  // unix seconds
  std::string from, to, why;
};

// What state.json holds (secrets excepted: see Secrets).
struct ThingState {
  State state = State::kManufactured;
  std::string serial, vendor, model;
  domain::Profile profile = domain::Profile::kSecProf2;
  std::string idevid_pem;          // the manufacturer's IDevID
  std::string trust_anchor_pem;    // the manufacturer trust anchor (vendor CA)
  std::string setup_code;          // SecProf_2 (printed on the device in real life)
  std::string key_store = "file";  // "file" or "pkcs11"
  std::string token_label;         // pkcs11: the token holding the keys
  std::string idevid_key_label;
  std::string kdc_host;
  uint16_t kdc_udp = 0, kdc_dtls = 0;
  std::string psk_identity;      // SecProf_2
  std::string ldevid_pem;        // SecProf_3/4
  std::string ldevid_key_label;  // SecProf_3/4
  std::string domain_ca_pem;     // SecProf_3/4: the domain the voucher pinned
  // SecProf_3/4: hex SHA-256 of the KDC's SubjectPublicKeyInfo, learnt in the voucher-verified
  // join; every later session requires exactly this key (docs/DOMAIN.md "Roles and anchors").
  std::string kdc_spki_sha256;
  // Unix seconds of the last factory reset (0: never): vouchers created earlier are refused
  // (docs/VOUCHER.md "Vouchers do not outlive ownership"); and the `created` of the accepted one.
  int64_t owned_since = 0;
  int64_t voucher_created = 0;
  std::string owner;  // informational: the voucher's owner / the mother's serial
  std::map<std::string, int64_t> groups;  // group -> epoch held
  uint64_t link_counter = 0;              // SecProf_1 frames sent
  uint64_t session_renewals = 0;
  std::vector<Transition> history;  // the last 32 transitions
  std::string wrapped_secrets;      // hex; see Secrets
  // Readings to the KDC are numbered strictly increasingly (issue 9 item 6): counters up to
  // reading_reserved are reserved in state.json in blocks of kReadingBlock before use, and an agent
  // that opens the state starts above it, so no counter is reused after a restart or a crash.
  uint64_t reading_reserved = 0;
  // SecProf_1 receiver's replay window (issue 9 item 11): the last link-frame counter accepted per
  // sender, persisted before a frame is accepted (at most kMaxLinkSenders senders).
  std::map<std::string, uint64_t> link_seen;
  // Key protection (issue 9 items 5 and 12; docs/KEYSTORE.md). Where the KEK that seals the
  // secrets (and, derived, the file key store) lives: "file" (a file outside the state directory,
  // or $SECPROF_THING_KEK), "token" (an AES key in the token, label kek_label), or "" for the old
  // layout with <state>/kek inside the directory (refused unless --allow-colocated-kek).
  std::string kek;
  std::string kek_id;     // "file": keystore::KekId of the KEK, to name a wrong one
  std::string kek_label;  // "token": the sealing key's label
  // Explicit overrides of the profile's key protection, recorded once given: "file-keys" (a file
  // key store in a profile that requires a token), "colocated-kek" (a KEK inside the directory).
  std::vector<std::string> key_overrides;
  // SecProf_1: the vendor's update service (secprof/vendor/update_service.h), given at `thing
  // init --update-server` (the factory's configuration) or by SetUpdateServer; empty/0: none.
  std::string update_host;
  uint16_t update_port = 0;
};

inline constexpr uint64_t kReadingBlock = 64;
inline constexpr size_t kMaxLinkSenders = 1024;

// A secret carried in an options struct: a crypto::SecureBuffer (wiped when released) that is
// copied explicitly (Clone) when the options are, so option structs stay copyable aggregates.
struct SecretOption {
  crypto::SecureBuffer value;
  SecretOption() = default;
  SecretOption(crypto::SecureBuffer v) : value(std::move(v)) {}  // NOLINT: implicit on purpose
  SecretOption(const SecretOption& o) : value(o.value.Clone()) {}
  SecretOption& operator=(const SecretOption& o) {
    if (this != &o) value = o.value.Clone();
    return *this;
  }
  SecretOption(SecretOption&&) noexcept = default;
  SecretOption& operator=(SecretOption&&) noexcept = default;
  bool empty() const { return value.empty(); }
};

// This library reads no environment variable: the CLI reads $SECPROF_PKCS11_PIN and
// $SECPROF_THING_KEK and passes their values here.
struct AgentOptions {
  std::string state_dir;
  // For key_store "pkcs11": the module and the user PIN (a keystore::Pin: wiping memory, cloned
  // when the options are copied); pkcs11.token_label is ignored (it comes from state.json).
  keystore::Pkcs11KeyStoreOptions pkcs11{};
  const Clock* clock = nullptr;             // nullptr: SystemClock()
  crypto::Random* random = nullptr;         // nullptr: SystemRandomSource()
  std::chrono::milliseconds timeout{5000};  // per request / handshake
  // Session-key policy override (default: the profile's).
  std::optional<uint64_t> session_max_messages{};
  std::optional<std::chrono::seconds> session_max_age{};
  // Where the KEK is (file-key things): this file, else kek_hex (64 hex digits; the CLI passes
  // $SECPROF_THING_KEK), else "<state_dir>.kek". Token things keep theirs in the token.
  std::string kek_file{};
  SecretOption kek_hex{};
  // Accept a KEK inside the state directory (the old layout, or an explicit --kek-file there); the
  // override is recorded in state.json and the history. Default: refused (kInvalidInput).
  bool allow_colocated_kek = false;
  // Accept a SecProf_3/4 thing with file keys that has no recorded "file-keys" override (made
  // before issue 9); recorded at once. Default: refused (kInvalidInput).
  bool allow_file_keys = false;
};

struct InitOptions {
  std::string state_dir;
  std::string factory_dir;  // a `secprof manufacture` output directory
  std::string serial;
  domain::Profile profile = domain::Profile::kSecProf2;
  // As AgentOptions: where the new KEK is created (file-key things), or the KEK in hex.
  std::string kek_file{};
  SecretOption kek_hex{};
  bool allow_colocated_kek = false;
  // A profile with tamper-resistant keys (SecProf_3/4) refuses a thing whose factory key store is
  // "file" unless this is set; the override is recorded in state.json and the history.
  bool allow_file_keys = false;
  // SecProf_1: the vendor's update service (numeric address and UDP port; empty/0: none).
  std::string update_host{};
  uint16_t update_port = 0;
};

class Agent {
 public:
  // Creates a thing's state directory from its factory folder (IDevID, trust anchor, setup code,
  // key store), in state "manufactured". kConflict when state_dir already holds a thing.
  static Status Init(const InitOptions& options);
  // Loads state.json (kInvalidInput naming the field when it is malformed; kNotFound when absent).
  // Refuses (kInvalidInput) a KEK inside the state directory unless options.allow_colocated_kek,
  // and (kNotFound) a missing KEK: a copy of the state directory alone opens nothing.
  static Result<std::unique_ptr<Agent>> Open(AgentOptions options);
  // Moves the old layout's KEK out of the state directory (file things: <state>/kek to the KEK
  // location of `options`, the key store re-encrypted under a key derived from it; token things:
  // the secrets re-sealed under an AES key in the token), then deletes the co-located KEK files.
  // Resumable: an interrupted run is completed by running it again. Returns what it did.
  static Result<std::string> MigrateKek(const AgentOptions& options);
  ~Agent();

  const ThingState& state() const;
  const domain::Policy& policy() const;

  // manufactured | re-owned -> installed: where the domain's KDC is.
  // kInvalidInput kNoKdcDtlsPort (SecProf_3/4, kdc_dtls 0) or kNoKdcUdpPort (SecProf_2, kdc_udp 0)
  // before anything else is checked; nothing changes.
  Status Install(const std::string& kdc_host, uint16_t kdc_udp, uint16_t kdc_dtls);
  // installed -> commissioned, by the profile's bootstrapping (SecProf_2: setup code; SecProf_3/4:
  // voucher + IDevID). Refuses (kVerifyFailed, no state change) a KDC whose voucher does not verify
  // against the manufacturer trust anchor, names another serial, or pins another domain than the
  // one the KDC proves (a rogue KDC or a man in the middle).
  Status Join();
  // commissioned | maintenance -> operational, and operational -> maintenance; told to the KDC.
  Status GoOperational();
  Status EnterMaintenance();
  // Operational traffic: one sensor reading to the KDC over the protected session.
  Status SendReading(int64_t centi_celsius);
  // A key with `peer`, issued by the KDC, and the ticket to hand to the peer.
  Result<domain::PairKeyResponse> RequestPairKey(const std::string& peer);
  // The current epoch's key of `group` (stored sealed); returns the epoch and members.
  Result<domain::GroupKeyResponse> FetchGroupKey(const std::string& group);
  // Seals `data` for `group` with the key held (signed in profiles with origin authentication).
  Result<crypto::Bytes> SealGroupMessage(const std::string& group, crypto::ByteView data);
  // Opens a group message with the key held; `members` (from FetchGroupKey) give the senders'
  // certificates for origin authentication.
  Result<domain::GroupMessage> OpenGroupMessage(const std::string& group, crypto::ByteView message,
                                                const std::vector<domain::GroupMember>& members);
  // Asks the KDC to decommission this thing, then wipes its operational keys -> decommissioned.
  // With `kdc_reachable` false (the KDC is gone or already revoked it), wipes locally only.
  Status Decommission(bool kdc_reachable = true);
  // decommissioned -> re-owned: forgets the old domain entirely (the IDevID stays). With `force`,
  // from any state (wipes first).
  Status FactoryReset(bool force = false);

  // SecProf_1: this thing becomes the domain's first member (the "mother") with a fresh domain key.
  Status BecomeMother();
  // SecProf_1: the imprint a mother hands to a thing in pairing mode (its domain key, in clear).
  Result<domain::PairImprint> MakeImprint() const;
  // SecProf_1: accepts an imprint (called by ThingServer's pair resource, or directly).
  // manufactured|installed|re-owned -> commissioned; kConflict once imprinted (the duckling obeys
  // its first mother until death, i.e. a factory reset).
  Status AcceptImprint(const domain::PairImprint& imprint);
  // SecProf_1: a link frame (domain-key MAC, counter) and its check.
  Result<crypto::Bytes> SealLinkFrame(crypto::ByteView data);
  Result<domain::LinkFrame> OpenLinkFrame(crypto::ByteView frame);

  // Maintenance (issue 5). Asks the KDC whether a campaign offers this thing an update; if so:
  // maintenance, fetch the SUIT envelope and the image over the protected session (block-wise,
  // RFC 7959), install into the inactive slot (update::SlotStore: signature against the vendor
  // trust anchor, vendor and class, size, digest, sequence strictly above the floor; write, test
  // boot, confirm or revert), report the outcome to the KDC, back to operational. A refused or
  // failed update leaves the running image and the floor as they were and is reported as failed.
  struct UpdateOutcome {
    bool offered = false;
    bool installed = false;
    int64_t campaign = 0;
    uint64_t sequence = 0;
    std::string detail;
    uint64_t bytes_fetched = 0;  // envelope + image payload bytes
    // Nothing offered, and the KDC's latest-release statement (domain/latest_release.h) did not
    // hold or shows a newer release: the alert raised (POST fw/alert), "<kind>: <detail>".
    std::string alert;
  };
  //
  // SecProf_1 (no KDC) asks the vendor's update service instead (ThingState::update_host; docs/
  // DOMAIN.md "SecProf_1: the vendor's update service"): the vendor-signed latest-release
  // statement, then the release it names through the same fetch and install; alerts are the
  // outcome's and are posted to the service. kConflict kNoUpdateServer when none is configured.
  Result<UpdateOutcome> CheckForUpdate(const update::TestBootHook& test_boot = {});
  // SecProf_1: where the vendor's update service is (a numeric address and a UDP port), as the
  // factory would have configured it; persisted. kInvalidInput for an empty host or port 0.
  Status SetUpdateServer(const std::string& host, uint16_t port);
  // The sequence number of the running image and the store's floor.
  uint64_t RunningFirmware() const;
  const update::SlotState& FirmwareState() const;

  struct Impl;

 private:
  // The thing's own server, the revocation poll and tests (secprof/thing/testing.h) reach the
  // KDC session and the pairwise key through it (src/thing/agent_impl.h).
  friend class AgentAccess;
  explicit Agent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The thing's own CoAP resources: GET sensor/temp, PUT actuator/led, POST t (a KDC ticket; plain
// CoAP, the ticket protects itself), and DTLS-PSK sessions keyed by accepted tickets (the PSK
// identity is the ticket's kid in hex). SecProf_1: POST pair (imprint, within the pairing window)
// and POST l2 (link frames) over plain CoAP.
struct ThingServerOptions {
  std::string address = "127.0.0.1";
  uint16_t udp_port = 0;
  uint16_t dtls_port = 0;
  // SecProf_1: how long pairing mode lasts after Start (nullopt: the profile's window).
  std::optional<std::chrono::seconds> pairing_window{};
  // Ticket expiry is checked against this clock (nullptr: SystemClock()).
  const Clock* clock = nullptr;
  // At most this many accepted tickets are held; a new one evicts the soonest to expire.
  size_t max_tickets = 256;
  // SecProf_2-4: while Serve runs, the KDC's revocation list (k/revoked) is fetched this often over
  // the agent's KDC session, and tickets of listed things are dropped and refused. 0: never
  // (`secprof thing serve` defaults to 30 s). A revocation reaches this thing within this interval
  // plus the agent's request timeout.
  std::chrono::seconds revocation_poll{0};
  // Thing-initiated update polling (SecProf_2-4: the KDC; SecProf_1: the vendor's update service,
  // when one is configured, ThingState::update_host). While Serve runs and the thing is
  // operational, it asks the KDC for an update this often (the first time one interval after Serve
  // starts, so that starting to serve never waits on the KDC) and installs what a campaign offers,
  // unattended, through Agent::CheckForUpdate (fetch bounded by the verified manifest, crash-safe
  // A/B install, report to the KDC). The server answers no request while an update runs. 0: never
  // (`secprof thing serve --update-poll`, default 3600 s). docs/DOMAIN.md "Maintenance".
  std::chrono::milliseconds update_poll{0};
};

// What the update poll (ThingServerOptions::update_poll) has done since Serve started.
struct UpdatePollStats {
  uint64_t checks = 0;     // fw/offer requests made
  uint64_t failed = 0;     // checks that failed (KDC unreachable, refused request)
  uint64_t offered = 0;    // checks that found an offer
  uint64_t installed = 0;  // offers installed
  uint64_t running = 0;    // the running sequence after the last successful check
  std::string last;        // the last check's outcome ("nothing offered", the install's detail)
};

class ThingServer {
 public:
  // The agent must outlive the server, and is used from the server's thread while it serves.
  static Result<std::unique_ptr<ThingServer>> Start(Agent& agent, ThingServerOptions options);
  ~ThingServer();
  uint16_t udp_port() const;
  uint16_t dtls_port() const;
  Status RunOnce(std::chrono::milliseconds timeout);
  Status Serve(std::stop_token stop);
  // Serials of peers that presented a valid ticket, and the number of refused requests.
  std::vector<std::string> ticket_peers() const;
  uint64_t refused() const;
  bool led() const;
  // Requesters of the tickets held now (expired ones purged first), sorted.
  std::vector<std::string> ticket_holders() const;
  // Drops the tickets of the listed things and refuses their tickets from now on (until a later
  // list no longer names them). Returns how many tickets were dropped. Serve calls it per poll.
  size_t ApplyRevocations(const domain::RevocationList& list);
  // The update poll's counters (any thread).
  UpdatePollStats update_polls() const;

  struct Impl;

 private:
  explicit ThingServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// GET k/revoked over the agent's KDC session (SecProf_2-4, an active thing).
Result<domain::RevocationList> FetchRevocationList(Agent& agent);

// A peer thing's side of a thing-to-thing session: hands `pk.ticket` to the peer's server (plain
// CoAP POST t) and opens DTLS-PSK with (hex kid, K_AB). The result is a connected client.
Result<std::unique_ptr<coap::Client>> ConnectToPeer(const std::string& host, uint16_t udp_port,
                                                    uint16_t dtls_port,
                                                    const domain::PairKeyResponse& pk,
                                                    std::chrono::milliseconds timeout);

}  // namespace secprof::thing
