// The OSCORE option value (RFC 8613 §6.1) and the option classes (§4.1). See option.h.
#include "secprof/oscore/option.h"

#include "secprof/oscore/message.h"

namespace secprof::oscore {

namespace {

constexpr uint8_t kReservedBits = 0xE0;  // bits 0-2 (§6.1)
constexpr uint8_t kFlagH = 0x10;         // kid context present
constexpr uint8_t kFlagK = 0x08;         // kid present
constexpr uint8_t kMaskN = 0x07;         // Partial IV length

Bytes Slice(ByteView v, size_t from, size_t n) {
  return Bytes(v.begin() + static_cast<std::ptrdiff_t>(from),
               v.begin() + static_cast<std::ptrdiff_t>(from + n));
}

tl::unexpected<Error> Malformed(const char* what) {
  return Fail(ErrorCode::kInvalidInput, std::string("OSCORE option (RFC 8613 §6.1): ") + what);
}

}  // namespace

Result<Bytes> EncodeOscoreOption(const OscoreOption& o) {
  uint8_t flags = 0;
  if (o.partial_iv) {
    if (o.partial_iv->empty() || o.partial_iv->size() > kMaxPartialIvSize) {
      return Fail(ErrorCode::kInvalidInput, "OSCORE Partial IV must be 1..5 bytes");
    }
    flags |= static_cast<uint8_t>(o.partial_iv->size());
  }
  if (o.kid_context) {
    if (o.kid_context->size() > 255) {
      return Fail(ErrorCode::kInvalidInput, "OSCORE kid context longer than 255 bytes");
    }
    flags |= kFlagH;
  }
  if (o.kid) flags |= kFlagK;
  Bytes out;
  if (flags == 0) return out;  // §6.1: all flags zero -> empty value
  out.push_back(flags);
  if (o.partial_iv) out.insert(out.end(), o.partial_iv->begin(), o.partial_iv->end());
  if (o.kid_context) {
    out.push_back(static_cast<uint8_t>(o.kid_context->size()));
    out.insert(out.end(), o.kid_context->begin(), o.kid_context->end());
  }
  if (o.kid) out.insert(out.end(), o.kid->begin(), o.kid->end());
  return out;
}

Result<OscoreOption> DecodeOscoreOption(ByteView v) {
  OscoreOption o;
  if (v.empty()) return o;
  uint8_t flags = v[0];
  if (flags == 0) return Malformed("a non-empty value with all flags zero");
  if (flags & kReservedBits) return Malformed("a reserved flag bit is set");
  size_t n = flags & kMaskN;
  if (n > kMaxPartialIvSize) return Malformed("Partial IV length 6 or 7 is reserved");
  size_t pos = 1;
  if (n > 0) {
    if (n > v.size() - pos) return Malformed("Partial IV runs past the end");
    if (n > 1 && v[pos] == 0) return Malformed("Partial IV not in its shortest form");
    o.partial_iv = Slice(v, pos, n);
    pos += n;
  }
  if (flags & kFlagH) {
    if (pos >= v.size()) return Malformed("kid context length missing");
    size_t s = v[pos++];
    if (s > v.size() - pos) return Malformed("kid context runs past the end");
    o.kid_context = Slice(v, pos, s);
    pos += s;
  }
  if (flags & kFlagK) {
    o.kid = Slice(v, pos, v.size() - pos);
  } else if (pos != v.size()) {
    return Malformed("bytes left over after the last field");
  }
  return o;
}

Bytes PartialIvFromSequence(uint64_t seq) {
  Bytes piv = EncodeUintOption(seq);
  if (piv.empty()) piv.push_back(0);  // §6.1: sequence number 0 is the one byte 0x00
  return piv;
}

OptionClass ClassOf(uint16_t number) {
  switch (number) {
    case opt::kUriHost:
    case opt::kUriPort:
    case opt::kProxyUri:
    case opt::kProxyScheme:
      return OptionClass::kU;
    case opt::kObserve:
    case opt::kMaxAge:
    case opt::kBlock2:
    case opt::kBlock1:
    case opt::kSize2:
    case opt::kSize1:
    case opt::kNoResponse:
      return OptionClass::kEandU;
    case opt::kOscore:
      return OptionClass::kOscore;
    default:
      return OptionClass::kE;  // Figure 5's E options, and every unknown option (§4.1)
  }
}

}  // namespace secprof::oscore
