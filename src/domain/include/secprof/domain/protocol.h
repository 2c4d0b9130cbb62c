// secprof/domain/protocol.h — the messages the KDC and the thing agent exchange, and the CoAP
// resources that carry them. Every body is a CBOR map with small unsigned labels (RFC 8949),
// Content-Format 60 (application/cbor, RFC 7049 §7.4 / RFC 8949 §9.5). The decoders are strict:
// a body that is not exactly one map, carries a label not listed for its message, lacks a required
// label or has a value of the wrong type or size is refused with kInvalidInput naming the label;
// the KDC answers such a request 4.00 and changes no state.
//
// These labels are secprof's own (docs/DOMAIN.md lists them); the flows follow the brief §4:
//   SecProf_2 (setup code, plain CoAP — the draft's "first key in the clear"):
//     POST j/nonce  JoinNonceRequest  -> 2.01 JoinNonce
//     POST j/psk    PskJoinRequest    -> 2.04 PskJoinResponse   (the PSK sealed under the code)
//   SecProf_3/4 (DTLS with the IDevID; provisional: the thing does not yet trust the KDC):
//     GET  j/voucher                  -> 2.05 VoucherResponse   (voucher + domain CA)
//     POST j/enroll EnrollRequest     -> 2.04 EnrollResponse    (LDevID + pairwise key)
//   Operational (DTLS-PSK or DTLS with the LDevID):
//     POST lc/state StateReport       -> 2.04 (operational / maintenance)
//     POST lc/decommission            -> 2.04 (the KDC revokes; the thing then wipes its keys)
//     POST k/pair   PairKeyRequest    -> 2.04 PairKeyResponse   (thing-to-thing key + ticket)
//     POST k/group  GroupKeyRequest   -> 2.04 GroupKeyResponse  (current epoch's key)
//     POST op/report Reading          -> 2.04 (telemetry)
//   Thing resources:
//     GET sensor/temp -> Reading; PUT actuator/led ActuatorCommand; POST t Ticket (plain CoAP, the
//     ticket protects itself); POST g group message (plain CoAP, self-protected); POST pair
//     (duckling imprint, plain CoAP, SecProf_1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "secprof/cbor/value.h"
#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"

namespace secprof::domain {

using crypto::Bytes;
using crypto::ByteView;

namespace path {
inline constexpr const char* kJoinNonce = "j/nonce";
inline constexpr const char* kJoinPsk = "j/psk";
inline constexpr const char* kVoucher = "j/voucher";
inline constexpr const char* kEnroll = "j/enroll";
inline constexpr const char* kState = "lc/state";
inline constexpr const char* kDecommission = "lc/decommission";
inline constexpr const char* kPairKey = "k/pair";
inline constexpr const char* kGroupKey = "k/group";
inline constexpr const char* kReport = "op/report";
inline constexpr const char* kSensor = "sensor/temp";
inline constexpr const char* kActuator = "actuator/led";
inline constexpr const char* kTicket = "t";
inline constexpr const char* kGroup = "g";
inline constexpr const char* kPair = "pair";
inline constexpr const char* kLink = "l2";
// Maintenance (issue 5): firmware offers, block-wise fetches and install reports.
inline constexpr const char* kFirmwareOffer = "fw/offer";
inline constexpr const char* kFirmwareManifest = "fw/manifest";  // GET ?id=N
inline constexpr const char* kFirmwareImage = "fw/image";        // GET ?id=N (RFC 7959 Block2)
inline constexpr const char* kFirmwareStatus = "fw/status";
}  // namespace path

inline constexpr size_t kMaxSerial = 64;
// An owner's name as the KDC's domain CA carries it in its O (RFC 5280 Appendix A.1,
// ub-organization-name = 64).
inline constexpr size_t kMaxOwner = 64;
inline constexpr size_t kNonceSize = 16;

struct JoinNonceRequest {
  std::string serial;
};
struct JoinNonce {
  Bytes nonce;
  int64_t expires = 0;
};
struct PskJoinRequest {
  std::string serial;
  Bytes nonce;
  Bytes proof;  // JoinProof(setup code, serial, nonce)
};
struct PskJoinResponse {
  std::string identity;  // PSK identity for DTLS (RFC 4279 §2)
  // The pairwise thing<->KDC key sealed under the setup code and the nonce
  // (domain/setup_code.h SealJoinPsk / OpenJoinPsk): 12 + 16..64 + 16 bytes.
  Bytes sealed_psk;
  uint16_t dtls_port = 0;
  // The domain's owner (the KDC's --owner, 1..kMaxOwner characters): authenticated, because the
  // seal binds it (SealJoinPsk's associated data), so a thing that opens the PSK knows its owner.
  std::string owner;
};
struct VoucherResponse {
  Bytes voucher;    // COSE_Sign1 from the manufacturer (secprof::voucher)
  Bytes domain_ca;  // DER of the owner's domain CA certificate
  Bytes kdc_chain;  // DER of the KDC's certificate (for the thing to check against domain_ca)
};
struct EnrollRequest {
  Bytes csr;  // PKCS#10 DER (RFC 2986)
};
struct EnrollResponse {
  Bytes ldevid;              // DER
  Bytes domain_ca;           // DER
  crypto::SecureBuffer key;  // pairwise thing<->KDC key (32 bytes)
};
struct StateReport {
  std::string state;  // "operational" or "maintenance"
};
struct PairKeyRequest {
  std::string peer;
};
struct PairKeyResponse {
  Bytes kid;                 // key id the peer will see as the DTLS PSK identity (hex text on wire)
  crypto::SecureBuffer key;  // K_AB
  Bytes ticket;              // COSE_Encrypt0 for the peer (see keys.h)
  int64_t expires = 0;
};
struct GroupKeyRequest {
  std::string group;
};
struct GroupMember {
  std::string serial;
  Bytes certificate;  // LDevID DER (profiles with origin authentication), else empty
};
struct GroupKeyResponse {
  std::string group;
  int64_t epoch = 0;
  crypto::SecureBuffer key;
  std::vector<GroupMember> members;
};
struct Reading {
  std::string serial;
  int64_t centi_celsius = 0;  // temperature in 1/100 °C
  int64_t counter = 0;
};
// A temperature in °C as a Reading's centi_celsius (rounded to the nearest 1/100 °C).
// kInvalidInput unless it is finite and within [-273.15, 10000] (absolute zero to a sanity bound).
Result<int64_t> CentiCelsius(double celsius);
struct ActuatorCommand {
  bool on = false;
};
// Firmware (operational session). POST fw/offer FirmwareOfferRequest -> 2.05 FirmwareOffer, or 2.04
// with an empty body when nothing is offered; GET fw/manifest?id=N -> the SUIT envelope;
// GET fw/image?id=N -> the image; POST fw/status FirmwareStatus -> 2.04.
struct FirmwareOfferRequest {
  uint64_t running_sequence = 0;  // the sequence number of the image the thing runs
};
struct FirmwareOffer {
  int64_t campaign = 0;
  int64_t firmware = 0;
  uint64_t sequence = 0;
  uint64_t envelope_size = 0;
  uint64_t image_size = 0;
};
struct FirmwareStatus {
  int64_t campaign = 0;
  bool ok = false;
  std::string detail;  // the installer's message or refusal reason
  uint64_t running_sequence = 0;
};

struct PairImprint {  // duckling: the mother hands over the domain key, in the clear
  std::string mother;
  crypto::SecureBuffer domain_key;
};

Bytes Encode(const JoinNonceRequest&);
Bytes Encode(const JoinNonce&);
Bytes Encode(const PskJoinRequest&);
Bytes Encode(const PskJoinResponse&);
Bytes Encode(const VoucherResponse&);
Bytes Encode(const EnrollRequest&);
Bytes Encode(const EnrollResponse&);
Bytes Encode(const StateReport&);
Bytes Encode(const PairKeyRequest&);
Bytes Encode(const PairKeyResponse&);
Bytes Encode(const GroupKeyRequest&);
Bytes Encode(const GroupKeyResponse&);
Bytes Encode(const Reading&);
Bytes Encode(const ActuatorCommand&);
Bytes Encode(const PairImprint&);
Bytes Encode(const FirmwareOfferRequest&);
Bytes Encode(const FirmwareOffer&);
Bytes Encode(const FirmwareStatus&);

Result<JoinNonceRequest> DecodeJoinNonceRequest(ByteView);
Result<JoinNonce> DecodeJoinNonce(ByteView);
Result<PskJoinRequest> DecodePskJoinRequest(ByteView);
Result<PskJoinResponse> DecodePskJoinResponse(ByteView);
Result<VoucherResponse> DecodeVoucherResponse(ByteView);
Result<EnrollRequest> DecodeEnrollRequest(ByteView);
Result<EnrollResponse> DecodeEnrollResponse(ByteView);
Result<StateReport> DecodeStateReport(ByteView);
Result<PairKeyRequest> DecodePairKeyRequest(ByteView);
Result<PairKeyResponse> DecodePairKeyResponse(ByteView);
Result<GroupKeyRequest> DecodeGroupKeyRequest(ByteView);
Result<GroupKeyResponse> DecodeGroupKeyResponse(ByteView);
Result<Reading> DecodeReading(ByteView);
Result<ActuatorCommand> DecodeActuatorCommand(ByteView);
Result<PairImprint> DecodePairImprint(ByteView);
Result<FirmwareOfferRequest> DecodeFirmwareOfferRequest(ByteView);
Result<FirmwareOffer> DecodeFirmwareOffer(ByteView);
Result<FirmwareStatus> DecodeFirmwareStatus(ByteView);

// The SUIT vendor-id and class-id (16 bytes each, RFC 9562 version-8 UUIDs) of a vendor and a
// model: SHA-256("secprof vendor-id" 0x00 vendor) and SHA-256("secprof class-id" 0x00 vendor
// 0x00 model), truncated to 16 bytes with the version and variant bits set (RFC 9562 §5.8).
Bytes FirmwareVendorId(std::string_view vendor);
Bytes FirmwareClassId(std::string_view vendor, std::string_view model);

// A serial as the KDC accepts it: 1..kMaxSerial printable ASCII, no spaces, none of "/?&;".
Status ValidateSerial(std::string_view serial);
// A group name: 1..64 of [A-Za-z0-9._-].
Status ValidateGroupName(std::string_view name);

// ---- Missing readings (issue 11: selective blocking; docs/DOMAIN.md "Missing readings") ----
// draft-ietf-core-attacks-on-coap §2.2: an on-path attacker can recognise readings by size and
// drop them while the rest flows; nothing prevents that, so the KDC detects it. Before a state
// report the thing POSTs op/sent ReadingsSent -> 2.04: the counter of the last reading it sent in
// this run and how many of its readings went unanswered since its last such report. The KDC
// compares the counter with the highest one it accepted (the clone guard's record) and audits a
// gap as `alert:readings-missing`. Implemented in readings_sent.cpp.
namespace path {
inline constexpr const char* kReadingsSent = "op/sent";
}
struct ReadingsSent {
  int64_t last_counter = 0;    // label 1: >= 1
  int64_t unacknowledged = 0;  // label 2: >= 0
};
Bytes Encode(const ReadingsSent&);
// kInvalidInput for anything but a map {1: uint >= 1, 2: uint}.
Result<ReadingsSent> DecodeReadingsSent(ByteView);

}  // namespace secprof::domain
