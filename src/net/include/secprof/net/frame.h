// secprof/net/frame.h — IEEE 802.15.4 data frames (IEEE Std 802.15.4-2006 §7.2) and their
// security (§7.5.8, §7.6: CCM* under a network key with a frame counter).
//
// The subset built: data frames (frame type 1), 16-bit short addresses for source and
// destination, PAN ID compression, frame version 1 (2006), optional auxiliary security header
// with key identifier mode 1 (one key-index byte), FCS = the ITU-T CRC-16 of §7.2.1.9. A frame is
// at most 127 bytes (aMaxPHYPacketSize, §6.4.1).
//
// CCM* (Annex B): 13-byte nonce = source extended address (8) || frame counter (4, big-endian) ||
// security level (1) (§7.6.3.2). MIC-only levels authenticate header and payload (a = header ||
// payload, m = empty); ENC-MIC levels authenticate the header and encrypt the payload (§7.6.3.4).
// With a nonzero MIC length CCM* is CCM, so secprof::crypto's AES-CCM (16-byte key, 13-byte
// nonce, 8-byte tag) does the work; no primitive is written here.
//
// Freshness (§7.5.8.2.3): each receiver keeps, per sender, the lowest frame counter it will still
// accept; a frame whose counter is below it is a replay and is dropped without changing state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "secprof/core/bytes.h"
#include "secprof/core/result.h"
#include "secprof/crypto/aead.h"

namespace secprof::net {

inline constexpr size_t kMaxFrameSize = 127;           // aMaxPHYPacketSize, §6.4.1
inline constexpr uint16_t kBroadcastAddress = 0xFFFF;  // §7.2.1.4
inline constexpr uint16_t kDefaultPanId = 0xABCD;
inline constexpr size_t kLinkMicSize = 8;  // MIC-64
inline constexpr size_t kNetworkKeySize = 16;

// Refusal reasons of the link layer (counted by the simulator, docs/NETWORK.md).
inline constexpr Reason kLinkForged{"link-forged"};        // the MIC did not verify
inline constexpr Reason kLinkReplay{"link-replay"};        // frame counter already seen
inline constexpr Reason kLinkUnsecured{"link-unsecured"};  // security level below the policy

// Security levels (§7.6.2.2.1 Table 95) secprof uses.
enum class SecurityLevel : uint8_t { kNone = 0, kMic64 = 2, kEncMic64 = 6 };

// The fixed mapping from a short address to the extended (EUI-64) address the nonce needs. A real
// device reads it from its device table (§7.6.1); the emulation derives it.
std::array<uint8_t, 8> ExtendedAddressOf(uint16_t short_address);

// The ITU-T CRC-16 of §7.2.1.9 (polynomial x^16 + x^12 + x^5 + 1, initial 0, bits LSB first).
uint16_t Crc16Itu(ByteView data);

// A parsed frame. `payload` is as carried on the air (ciphertext for ENC levels), `mic` empty for
// an unsecured frame.
struct FrameView {
  uint8_t sequence = 0;
  uint16_t pan_id = 0;
  uint16_t destination = 0;
  uint16_t source = 0;
  bool ack_request = false;
  bool secured = false;
  uint8_t level = 0;
  uint8_t key_index = 0;
  uint32_t frame_counter = 0;
  ByteView header;   // MHR including the auxiliary security header
  ByteView payload;  // between the header and the MIC
  ByteView mic;
};

// Parses `wire`, strictly: longer than 127 bytes, shorter than its header plus FCS, a wrong FCS,
// a frame type other than data, addressing modes other than short/short with PAN ID compression,
// reserved bits set, a key identifier mode other than 1, a security level other than 0, 2 or 6,
// or a secured frame with no room for its MIC -> kInvalidInput. The views point into `wire`.
Result<FrameView> ParseFrame(ByteView wire);

// A network key shared by the nodes that hold it (one AES key schedule for all of them). The
// simulator is single-threaded; a LinkKey must not be used from two threads at once.
class LinkKey {
 public:
  // kInvalidInput unless key.size() == kNetworkKeySize.
  static Result<std::shared_ptr<LinkKey>> Create(ByteView key, uint8_t key_index = 1);
  crypto::AeadKey& aead() { return aead_; }
  uint8_t key_index() const { return key_index_; }

 private:
  LinkKey(crypto::AeadKey k, uint8_t index) : aead_(std::move(k)), key_index_(index) {}
  crypto::AeadKey aead_;
  uint8_t key_index_;
};

// One node's link layer: its outgoing frame counter and its per-sender replay table. With level
// kNone it sends and accepts only unsecured frames (no key needed).
class LinkLayer {
 public:
  LinkLayer(uint16_t own_address, SecurityLevel level, std::shared_ptr<LinkKey> key,
            uint16_t pan_id = kDefaultPanId);

  // Builds a frame from this node to `destination` carrying `payload`, secured at the node's
  // level with the next frame counter. kLimit when it would exceed 127 bytes (nothing consumed);
  // kLimit when the frame counter is exhausted (§7.5.8.2.1 b: counter 0xFFFFFFFF).
  Result<Bytes> Seal(uint16_t destination, uint8_t sequence, ByteView payload);

  // Checks a received frame and returns its plaintext payload. Refusals, none of which changes
  // any state: malformed -> kInvalidInput (ParseFrame); another PAN -> kInvalidInput; a frame
  // below this node's security level -> kVerifyFailed/kLinkUnsecured; a secured frame when this
  // node has no key, an unknown key index, or a MIC that does not verify -> kVerifyFailed/
  // kLinkForged; a frame counter below the one expected from that sender (or 0xFFFFFFFF) ->
  // kVerifyFailed/kLinkReplay. Only after all checks pass is the sender's counter advanced.
  Result<Bytes> Open(ByteView wire, FrameView* parsed = nullptr);

  SecurityLevel level() const { return level_; }
  uint32_t next_frame_counter() const { return frame_counter_; }
  // Bytes a frame adds around its payload at this node's level (header, MIC, FCS).
  size_t overhead() const;

 private:
  uint16_t own_;
  SecurityLevel level_;
  std::shared_ptr<LinkKey> key_;
  uint16_t pan_;
  uint32_t frame_counter_ = 0;
  std::unordered_map<uint16_t, uint32_t> next_expected_;  // §7.6.1 DeviceDescriptor.FrameCounter
};

}  // namespace secprof::net
