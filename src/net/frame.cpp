// IEEE 802.15.4-2006 data frames and CCM* link security. See frame.h for the contracts.
#include "secprof/net/frame.h"

#include <array>
#include <string>

namespace secprof::net {
namespace {

// Frame Control field bits (§7.2.1.1, Figure 35), little-endian on the wire.
constexpr uint16_t kFrameTypeData = 0x0001;
constexpr uint16_t kFcfSecurity = 0x0008;
constexpr uint16_t kFcfAckRequest = 0x0020;
constexpr uint16_t kFcfPanCompression = 0x0040;
constexpr uint16_t kFcfDstShort = 0x0800;     // dst addressing mode 2 (bits 10-11)
constexpr uint16_t kFcfVersion2006 = 0x1000;  // frame version 1 (bits 12-13)
constexpr uint16_t kFcfSrcShort = 0x8000;     // src addressing mode 2 (bits 14-15)
constexpr size_t kPlainHeader = 9;            // FCF 2, seq 1, PAN 2, dst 2, src 2
constexpr size_t kAuxHeader = 6;              // security control 1, counter 4, key index 1
constexpr size_t kFcs = 2;
constexpr uint8_t kKeyIdMode1 = 0x08;  // §7.6.2.2.2: key id mode 1 in bits 3-4

Error Bad(const std::string& what) { return Error(ErrorCode::kInvalidInput, "frame: " + what); }

void PutLe16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
uint16_t GetLe16(ByteView in) { return static_cast<uint16_t>(in[0] | (unsigned{in[1]} << 8)); }
uint32_t GetLe32(ByteView in) {
  return in[0] | (uint32_t{in[1]} << 8) | (uint32_t{in[2]} << 16) | (uint32_t{in[3]} << 24);
}

std::array<uint8_t, 13> Nonce(uint16_t source, uint32_t counter, uint8_t level) {
  std::array<uint8_t, 13> n{};
  const auto ext = ExtendedAddressOf(source);
  std::copy(ext.begin(), ext.end(), n.begin());
  StoreBig32(std::span<uint8_t>(n).subspan(8), counter);
  n[12] = level;
  return n;
}

bool Encrypts(uint8_t level) { return level >= 4; }

}  // namespace

std::array<uint8_t, 8> ExtendedAddressOf(uint16_t s) {
  // A locally administered EUI-64 (U/L bit set) ending in the short address.
  return {
      0x02, 0x00, 0x5E, 0xC0, 0x00, 0x00, static_cast<uint8_t>(s >> 8), static_cast<uint8_t>(s)};
}

uint16_t Crc16Itu(ByteView data) {
  uint16_t crc = 0;
  for (uint8_t b : data) {
    crc ^= b;
    for (int i = 0; i < 8; ++i)
      crc = (crc & 1) ? static_cast<uint16_t>((crc >> 1) ^ 0x8408) : crc >> 1;
  }
  return crc;
}

Result<FrameView> ParseFrame(ByteView wire) {
  if (wire.size() > kMaxFrameSize) return Fail(Bad("longer than 127 bytes"));
  if (wire.size() < kPlainHeader + kFcs) return Fail(Bad("truncated header"));
  const size_t body_end = wire.size() - kFcs;
  if (Crc16Itu(wire.first(body_end)) != GetLe16(wire.subspan(body_end))) {
    return Fail(Bad("FCS mismatch"));
  }
  const uint16_t fcf = GetLe16(wire);
  if ((fcf & 0x0007) != kFrameTypeData) return Fail(Bad("not a data frame"));
  if ((fcf & 0x0380) != 0) return Fail(Bad("reserved Frame Control bits set"));
  if ((fcf & 0x0C00) != kFcfDstShort || (fcf & 0xC000) != kFcfSrcShort ||
      (fcf & kFcfPanCompression) == 0) {
    return Fail(Bad("only short addresses with PAN ID compression are accepted"));
  }
  if ((fcf & 0x3000) > kFcfVersion2006) return Fail(Bad("unknown frame version"));
  FrameView f;
  f.ack_request = (fcf & kFcfAckRequest) != 0;
  f.secured = (fcf & kFcfSecurity) != 0;
  f.sequence = wire[2];
  f.pan_id = GetLe16(wire.subspan(3));
  f.destination = GetLe16(wire.subspan(5));
  f.source = GetLe16(wire.subspan(7));
  size_t header_len = kPlainHeader;
  size_t mic_len = 0;
  if (f.secured) {
    if (body_end < kPlainHeader + kAuxHeader) return Fail(Bad("truncated security header"));
    const uint8_t sc = wire[kPlainHeader];
    if ((sc & 0xE0) != 0) return Fail(Bad("reserved Security Control bits set"));
    if ((sc & 0x18) != kKeyIdMode1) return Fail(Bad("key identifier mode is not 1"));
    f.level = sc & 0x07;
    if (f.level != 2 && f.level != 6) return Fail(Bad("security level other than 2 or 6"));
    f.frame_counter = GetLe32(wire.subspan(kPlainHeader + 1));
    f.key_index = wire[kPlainHeader + 5];
    header_len += kAuxHeader;
    mic_len = kLinkMicSize;
    if (body_end < header_len + mic_len) return Fail(Bad("no room for the MIC"));
  }
  f.header = wire.first(header_len);
  f.payload = wire.subspan(header_len, body_end - header_len - mic_len);
  f.mic = wire.subspan(body_end - mic_len, mic_len);
  return f;
}

Result<std::shared_ptr<LinkKey>> LinkKey::Create(ByteView key, uint8_t key_index) {
  if (key.size() != kNetworkKeySize) {
    return Fail(ErrorCode::kInvalidInput, "link key: the network key must be 16 bytes");
  }
  SECPROF_ASSIGN_OR_RETURN(crypto::Aead ccm, crypto::Aead::AesCcm(16, 13, kLinkMicSize));
  SECPROF_ASSIGN_OR_RETURN(crypto::AeadKey k, crypto::AeadKey::Create(ccm, key));
  return std::shared_ptr<LinkKey>(new LinkKey(std::move(k), key_index));
}

LinkLayer::LinkLayer(uint16_t own_address, SecurityLevel level, std::shared_ptr<LinkKey> key,
                     uint16_t pan_id)
    : own_(own_address), level_(level), key_(std::move(key)), pan_(pan_id) {}

size_t LinkLayer::overhead() const {
  return kPlainHeader + kFcs + (level_ == SecurityLevel::kNone ? 0 : kAuxHeader + kLinkMicSize);
}

Result<Bytes> LinkLayer::Seal(uint16_t destination, uint8_t sequence, ByteView payload) {
  if (payload.size() + overhead() > kMaxFrameSize) {
    return Fail(ErrorCode::kLimit, "frame: payload does not fit in 127 bytes");
  }
  const bool secure = level_ != SecurityLevel::kNone;
  if (secure && (!key_ || frame_counter_ == 0xFFFFFFFF)) {
    return Fail(ErrorCode::kLimit, "frame: no key or frame counter exhausted (§7.5.8.2.1)");
  }
  uint16_t fcf =
      kFrameTypeData | kFcfPanCompression | kFcfDstShort | kFcfVersion2006 | kFcfSrcShort;
  if (secure) fcf |= kFcfSecurity;
  if (destination != kBroadcastAddress) fcf |= kFcfAckRequest;
  Bytes out;
  out.reserve(payload.size() + overhead());
  PutLe16(out, fcf);
  out.push_back(sequence);
  PutLe16(out, pan_);
  PutLe16(out, destination);
  PutLe16(out, own_);
  if (!secure) {
    out.insert(out.end(), payload.begin(), payload.end());
  } else {
    const uint8_t level = static_cast<uint8_t>(level_);
    const uint32_t counter = frame_counter_;
    out.push_back(static_cast<uint8_t>(level | kKeyIdMode1));
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(counter >> (8 * i)));
    out.push_back(key_->key_index());
    const auto nonce = Nonce(own_, counter, level);
    const size_t header_len = out.size();
    Bytes sealed;
    if (Encrypts(level)) {
      SECPROF_ASSIGN_OR_RETURN(sealed, key_->aead().Seal(nonce, out, payload));
    } else {
      out.insert(out.end(), payload.begin(), payload.end());
      SECPROF_ASSIGN_OR_RETURN(sealed, key_->aead().Seal(nonce, out, {}));
    }
    out.resize(Encrypts(level) ? header_len : out.size());
    out.insert(out.end(), sealed.begin(), sealed.end());
    ++frame_counter_;
  }
  PutLe16(out, Crc16Itu(out));
  return out;
}

Result<Bytes> LinkLayer::Open(ByteView wire, FrameView* parsed) {
  SECPROF_ASSIGN_OR_RETURN(FrameView f, ParseFrame(wire));
  if (parsed) *parsed = f;
  if (f.pan_id != pan_) return Fail(Bad("frame for another PAN"));
  if (level_ == SecurityLevel::kNone) {
    if (f.secured) return Fail(ErrorCode::kVerifyFailed, kLinkForged, "frame: secured, no key");
    return Bytes(f.payload.begin(), f.payload.end());
  }
  if (!f.secured || f.level < static_cast<uint8_t>(level_)) {
    return Fail(ErrorCode::kVerifyFailed, kLinkUnsecured, "frame: below the security level");
  }
  if (!key_ || f.key_index != key_->key_index()) {
    return Fail(ErrorCode::kVerifyFailed, kLinkForged, "frame: unknown key index");
  }
  const auto nonce = Nonce(f.source, f.frame_counter, f.level);
  Bytes plain;
  if (Encrypts(f.level)) {
    Bytes ct(f.payload.begin(), f.payload.end());
    ct.insert(ct.end(), f.mic.begin(), f.mic.end());
    auto pt = key_->aead().Open(nonce, f.header, ct);
    if (!pt) return Fail(ErrorCode::kVerifyFailed, kLinkForged, "frame: MIC does not verify");
    plain = std::move(*pt);
  } else {
    const ByteView aad = wire.first(f.header.size() + f.payload.size());
    auto ok = key_->aead().Open(nonce, aad, f.mic);
    if (!ok) return Fail(ErrorCode::kVerifyFailed, kLinkForged, "frame: MIC does not verify");
    plain.assign(f.payload.begin(), f.payload.end());
  }
  // §7.5.8.2.3: freshness, checked after the MIC so a forged counter changes nothing.
  auto it = next_expected_.find(f.source);
  const uint32_t expected = it == next_expected_.end() ? 0 : it->second;
  if (f.frame_counter == 0xFFFFFFFF || f.frame_counter < expected) {
    return Fail(ErrorCode::kVerifyFailed, kLinkReplay, "frame: replayed frame counter");
  }
  next_expected_[f.source] = f.frame_counter + 1;
  return plain;
}

}  // namespace secprof::net
