#include "secprof/domain/protocol.h"

#include <cmath>
#include <initializer_list>
#include <set>

#include "secprof/cbor/cbor.h"
#include "secprof/cbor/strict_map.h"
#include "secprof/crypto/hash.h"

namespace secprof::domain {

namespace {

using cbor::Value;

// Size bounds of message fields (a request beyond them is refused before any work is done).
constexpr size_t kMaxDer = 8192;  // certificates and CSRs
constexpr size_t kMaxVoucher = 4096;
constexpr size_t kMaxTicket = 1024;
constexpr size_t kMaxData = 1024;
constexpr size_t kMaxMembers = 1024;

Error Bad(const char* what, std::string msg) {
  return Error(ErrorCode::kInvalidInput, std::string(what) + ": " + msg);
}

// The strict map reader (unsigned labels, unknown and duplicate labels refused) is cbor's.
using MapIn = cbor::StrictMap;

// A byte string field that is a key: copied into a SecureBuffer, the decoded copy wiped.
Result<crypto::SecureBuffer> Secret(const MapIn& m, int label, size_t min, size_t max) {
  SECPROF_ASSIGN_OR_RETURN(Bytes b, m.Blob(label, min, max));
  crypto::SecureBuffer s(b);
  crypto::Cleanse(b);
  return s;
}

Value U(int label) { return Value::Unsigned(static_cast<uint64_t>(label)); }
Value B(ByteView b) { return Value::ByteString(b); }
Bytes Out(cbor::MapEntries e) { return cbor::Encode(Value::Map(std::move(e))); }

}  // namespace

Status ValidateSerial(std::string_view s) {
  if (s.empty() || s.size() > kMaxSerial)
    return Fail(ErrorCode::kInvalidInput,
                "serial must be 1.." + std::to_string(kMaxSerial) + " characters");
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '&' || c == ';')
      return Fail(ErrorCode::kInvalidInput, "serial '" + std::string(s) +
                                                "' has a character outside printable ASCII "
                                                "or one of space / ? & ;");
  }
  return {};
}

Status ValidateGroupName(std::string_view s) {
  if (s.empty() || s.size() > 64)
    return Fail(ErrorCode::kInvalidInput, "group name must be 1..64 characters");
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      return Fail(ErrorCode::kInvalidInput,
                  "group name '" + std::string(s) + "' may hold only [A-Za-z0-9._-]");
  }
  return {};
}

// ---- encoders ---------------------------------------------------------------------------------

Bytes Encode(const JoinNonceRequest& m) { return Out({{U(1), Value::Text(m.serial)}}); }
Bytes Encode(const JoinNonce& m) {
  return Out({{U(1), B(m.nonce)}, {U(2), Value::Int(m.expires)}});
}
Bytes Encode(const PskJoinRequest& m) {
  return Out({{U(1), Value::Text(m.serial)}, {U(2), B(m.nonce)}, {U(3), B(m.proof)}});
}
Bytes Encode(const PskJoinResponse& m) {
  return Out({{U(1), Value::Text(m.identity)},
              {U(2), B(m.sealed_psk)},
              {U(3), Value::Unsigned(m.dtls_port)},
              {U(4), Value::Text(m.owner)}});
}
Bytes Encode(const VoucherResponse& m) {
  return Out({{U(1), B(m.voucher)}, {U(2), B(m.domain_ca)}, {U(3), B(m.kdc_chain)}});
}
Bytes Encode(const EnrollRequest& m) { return Out({{U(1), B(m.csr)}}); }
Bytes Encode(const EnrollResponse& m) {
  return Out({{U(1), B(m.ldevid)},
              {U(2), B(m.domain_ca)},
              {U(3), B(ByteView(m.key.data(), m.key.size()))}});
}
Bytes Encode(const StateReport& m) { return Out({{U(1), Value::Text(m.state)}}); }
Bytes Encode(const PairKeyRequest& m) { return Out({{U(1), Value::Text(m.peer)}}); }
Bytes Encode(const PairKeyResponse& m) {
  return Out({{U(1), B(m.kid)},
              {U(2), B(ByteView(m.key.data(), m.key.size()))},
              {U(3), B(m.ticket)},
              {U(4), Value::Int(m.expires)}});
}
Bytes Encode(const GroupKeyRequest& m) { return Out({{U(1), Value::Text(m.group)}}); }
Bytes Encode(const GroupKeyResponse& m) {
  cbor::Array members;
  for (const auto& mem : m.members)
    members.push_back(Value::MakeArray({Value::Text(mem.serial), B(mem.certificate)}));
  return Out({{U(1), Value::Text(m.group)},
              {U(2), Value::Int(m.epoch)},
              {U(3), B(ByteView(m.key.data(), m.key.size()))},
              {U(4), Value::MakeArray(std::move(members))}});
}
Bytes Encode(const Reading& m) {
  return Out({{U(1), Value::Text(m.serial)},
              {U(2), Value::Int(m.centi_celsius)},
              {U(3), Value::Int(m.counter)}});
}
Bytes Encode(const ActuatorCommand& m) { return Out({{U(1), Value::Bool(m.on)}}); }
Bytes Encode(const PairImprint& m) {
  return Out({{U(1), Value::Text(m.mother)},
              {U(2), B(ByteView(m.domain_key.data(), m.domain_key.size()))}});
}

Bytes Encode(const FirmwareOfferRequest& m) {
  return Out({{U(1), Value::Unsigned(m.running_sequence)}});
}
Bytes Encode(const FirmwareOffer& m) {
  return Out({{U(1), Value::Int(m.campaign)},
              {U(2), Value::Int(m.firmware)},
              {U(3), Value::Unsigned(m.sequence)},
              {U(4), Value::Unsigned(m.envelope_size)},
              {U(5), Value::Unsigned(m.image_size)}});
}
Bytes Encode(const FirmwareStatus& m) {
  return Out({{U(1), Value::Int(m.campaign)},
              {U(2), Value::Bool(m.ok)},
              {U(3), Value::Text(m.detail)},
              {U(4), Value::Unsigned(m.running_sequence)}});
}

namespace {
Bytes UuidFrom(std::string_view label, std::initializer_list<std::string_view> parts) {
  std::string msg(label);
  for (auto p : parts) {
    msg.push_back('\0');
    msg.append(p);
  }
  auto d = crypto::Sha256(ByteView(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
  Bytes out(16, 0);
  if (d) std::copy(d->begin(), d->begin() + 16, out.begin());
  out[6] = static_cast<uint8_t>((out[6] & 0x0f) | 0x80);  // version 8
  out[8] = static_cast<uint8_t>((out[8] & 0x3f) | 0x80);  // variant 10
  return out;
}
}  // namespace

Bytes FirmwareVendorId(std::string_view vendor) { return UuidFrom("secprof vendor-id", {vendor}); }
Bytes FirmwareClassId(std::string_view vendor, std::string_view model) {
  return UuidFrom("secprof class-id", {vendor, model});
}

// ---- decoders ---------------------------------------------------------------------------------

Result<JoinNonceRequest> DecodeJoinNonceRequest(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "join nonce request", {1}));
  JoinNonceRequest r;
  SECPROF_ASSIGN_OR_RETURN(r.serial, m.Text(1, kMaxSerial));
  SECPROF_TRY(ValidateSerial(r.serial));
  return r;
}
Result<JoinNonce> DecodeJoinNonce(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "join nonce", {1, 2}));
  JoinNonce r;
  SECPROF_ASSIGN_OR_RETURN(r.nonce, m.Blob(1, kNonceSize, kNonceSize));
  SECPROF_ASSIGN_OR_RETURN(r.expires, m.Int(2, 0, INT64_MAX));
  return r;
}
Result<PskJoinRequest> DecodePskJoinRequest(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "PSK join request", {1, 2, 3}));
  PskJoinRequest r;
  SECPROF_ASSIGN_OR_RETURN(r.serial, m.Text(1, kMaxSerial));
  SECPROF_TRY(ValidateSerial(r.serial));
  SECPROF_ASSIGN_OR_RETURN(r.nonce, m.Blob(2, kNonceSize, kNonceSize));
  SECPROF_ASSIGN_OR_RETURN(r.proof, m.Blob(3, 32, 32));
  return r;
}
Result<PskJoinResponse> DecodePskJoinResponse(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "PSK join response", {1, 2, 3, 4}));
  PskJoinResponse r;
  SECPROF_ASSIGN_OR_RETURN(r.identity, m.Text(1, 64));
  SECPROF_ASSIGN_OR_RETURN(r.sealed_psk, m.Blob(2, 12 + 16 + 16, 12 + 64 + 16));
  SECPROF_ASSIGN_OR_RETURN(int64_t port, m.Int(3, 1, 65535));
  r.dtls_port = static_cast<uint16_t>(port);
  SECPROF_ASSIGN_OR_RETURN(r.owner, m.Text(4, kMaxOwner));
  if (r.owner.empty()) return Fail(ErrorCode::kInvalidInput, "PSK join response: empty owner");
  return r;
}
Result<VoucherResponse> DecodeVoucherResponse(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "voucher response", {1, 2, 3}));
  VoucherResponse r;
  SECPROF_ASSIGN_OR_RETURN(r.voucher, m.Blob(1, 1, kMaxVoucher));
  SECPROF_ASSIGN_OR_RETURN(r.domain_ca, m.Blob(2, 1, kMaxDer));
  SECPROF_ASSIGN_OR_RETURN(r.kdc_chain, m.Blob(3, 1, kMaxDer));
  return r;
}
Result<EnrollRequest> DecodeEnrollRequest(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "enroll request", {1}));
  EnrollRequest r;
  SECPROF_ASSIGN_OR_RETURN(r.csr, m.Blob(1, 1, kMaxDer));
  return r;
}
Result<EnrollResponse> DecodeEnrollResponse(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "enroll response", {1, 2, 3}));
  EnrollResponse r;
  SECPROF_ASSIGN_OR_RETURN(r.ldevid, m.Blob(1, 1, kMaxDer));
  SECPROF_ASSIGN_OR_RETURN(r.domain_ca, m.Blob(2, 1, kMaxDer));
  SECPROF_ASSIGN_OR_RETURN(r.key, Secret(m, 3, 32, 32));
  return r;
}
Result<StateReport> DecodeStateReport(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "state report", {1}));
  StateReport r;
  SECPROF_ASSIGN_OR_RETURN(r.state, m.Text(1, 32));
  return r;
}
Result<PairKeyRequest> DecodePairKeyRequest(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "pair key request", {1}));
  PairKeyRequest r;
  SECPROF_ASSIGN_OR_RETURN(r.peer, m.Text(1, kMaxSerial));
  SECPROF_TRY(ValidateSerial(r.peer));
  return r;
}
Result<PairKeyResponse> DecodePairKeyResponse(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "pair key response", {1, 2, 3, 4}));
  PairKeyResponse r;
  SECPROF_ASSIGN_OR_RETURN(r.kid, m.Blob(1, 16, 16));
  SECPROF_ASSIGN_OR_RETURN(r.key, Secret(m, 2, 32, 32));
  SECPROF_ASSIGN_OR_RETURN(r.ticket, m.Blob(3, 1, kMaxTicket));
  SECPROF_ASSIGN_OR_RETURN(r.expires, m.Int(4, 0, INT64_MAX));
  return r;
}
Result<GroupKeyRequest> DecodeGroupKeyRequest(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "group key request", {1}));
  GroupKeyRequest r;
  SECPROF_ASSIGN_OR_RETURN(r.group, m.Text(1, 64));
  SECPROF_TRY(ValidateGroupName(r.group));
  return r;
}
Result<GroupKeyResponse> DecodeGroupKeyResponse(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "group key response", {1, 2, 3, 4}));
  GroupKeyResponse r;
  SECPROF_ASSIGN_OR_RETURN(r.group, m.Text(1, 64));
  SECPROF_ASSIGN_OR_RETURN(r.epoch, m.Int(2, 1, INT64_MAX));
  SECPROF_ASSIGN_OR_RETURN(r.key, Secret(m, 3, 32, 32));
  const Value* mem = m.Find(4);
  if (!mem || !mem->is_array() || mem->array().size() > kMaxMembers)
    return Fail(Bad("group key response", "label 4 must be an array of members"));
  for (const Value& e : mem->array()) {
    if (!e.is_array() || e.array().size() != 2 || !e.array()[0].is_text() ||
        !e.array()[1].is_bytes() || e.array()[1].bytes().size() > kMaxDer)
      return Fail(Bad("group key response", "a member must be [serial, certificate]"));
    r.members.push_back({e.array()[0].text(), e.array()[1].bytes()});
  }
  return r;
}
Result<int64_t> CentiCelsius(double celsius) {
  if (!std::isfinite(celsius) || celsius < -273.15 || celsius > 10000)
    return Fail(ErrorCode::kInvalidInput, "a temperature is between -273.15 and 10000 °C");
  return static_cast<int64_t>(std::llround(celsius * 100));
}

Result<Reading> DecodeReading(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "reading", {1, 2, 3}));
  Reading r;
  SECPROF_ASSIGN_OR_RETURN(r.serial, m.Text(1, kMaxSerial));
  SECPROF_ASSIGN_OR_RETURN(r.centi_celsius, m.Int(2, -27315, 1000000));
  SECPROF_ASSIGN_OR_RETURN(r.counter, m.Int(3, 0, INT64_MAX));
  return r;
}
Result<ActuatorCommand> DecodeActuatorCommand(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "actuator command", {1}));
  ActuatorCommand r;
  SECPROF_ASSIGN_OR_RETURN(r.on, m.Bool(1));
  return r;
}
Result<PairImprint> DecodePairImprint(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "pairing imprint", {1, 2}));
  PairImprint r;
  SECPROF_ASSIGN_OR_RETURN(r.mother, m.Text(1, kMaxSerial));
  SECPROF_ASSIGN_OR_RETURN(r.domain_key, Secret(m, 2, 32, 32));
  return r;
}

Result<FirmwareOfferRequest> DecodeFirmwareOfferRequest(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "firmware offer request", {1}));
  FirmwareOfferRequest r;
  SECPROF_ASSIGN_OR_RETURN(int64_t seq, m.Int(1, 0, INT64_MAX));
  r.running_sequence = static_cast<uint64_t>(seq);
  return r;
}
Result<FirmwareOffer> DecodeFirmwareOffer(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "firmware offer", {1, 2, 3, 4, 5}));
  FirmwareOffer r;
  SECPROF_ASSIGN_OR_RETURN(r.campaign, m.Int(1, 1, INT64_MAX));
  SECPROF_ASSIGN_OR_RETURN(r.firmware, m.Int(2, 1, INT64_MAX));
  SECPROF_ASSIGN_OR_RETURN(int64_t seq, m.Int(3, 0, INT64_MAX));
  SECPROF_ASSIGN_OR_RETURN(int64_t es, m.Int(4, 1, 1 << 20));
  SECPROF_ASSIGN_OR_RETURN(int64_t is, m.Int(5, 0, int64_t{1} << 30));
  r.sequence = static_cast<uint64_t>(seq);
  r.envelope_size = static_cast<uint64_t>(es);
  r.image_size = static_cast<uint64_t>(is);
  return r;
}
Result<FirmwareStatus> DecodeFirmwareStatus(ByteView b) {
  SECPROF_ASSIGN_OR_RETURN(MapIn m, MapIn::Parse(b, "firmware status", {1, 2, 3, 4}));
  FirmwareStatus r;
  SECPROF_ASSIGN_OR_RETURN(r.campaign, m.Int(1, 1, INT64_MAX));
  SECPROF_ASSIGN_OR_RETURN(r.ok, m.Bool(2));
  const Value* d = m.Find(3);
  if (!d || !d->is_text() || d->text().size() > kMaxData)
    return Fail(Bad("firmware status", "label 3 must be a text of at most 1024 bytes"));
  r.detail = d->text();
  SECPROF_ASSIGN_OR_RETURN(int64_t seq, m.Int(4, 0, INT64_MAX));
  r.running_sequence = static_cast<uint64_t>(seq);
  return r;
}

}  // namespace secprof::domain
