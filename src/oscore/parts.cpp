// The building blocks of internal.h: AAD (§5.4), nonce (§5.2), option split and merge (§4.1,
// §8.2), plaintext (§5.3), Proxy-Uri (§4.1.3.3).
#include <algorithm>
#include <string>

#include "internal.h"
#include "secprof/oscore/option.h"

namespace secprof::oscore::internal {

namespace {

// RFC 8949 §3: the head of a data item of major type `major` with argument `v`.
size_t HeadSize(uint64_t v) { return v < 24 ? 1 : v <= 0xFF ? 2 : v <= 0xFFFF ? 3 : 5; }
void PutHead(Bytes& out, uint8_t major, uint64_t v) {
  uint8_t m = static_cast<uint8_t>(major << 5);
  if (v < 24) {
    out.push_back(static_cast<uint8_t>(m | v));
  } else if (v <= 0xFF) {
    out.push_back(m | 24);
    out.push_back(static_cast<uint8_t>(v));
  } else if (v <= 0xFFFF) {
    out.push_back(m | 25);
    PutBig16(out, static_cast<uint16_t>(v));
  } else {  // lengths here are far below 2^32
    out.push_back(m | 26);
    PutBig32(out, static_cast<uint32_t>(v));
  }
}
uint64_t IntArgument(int64_t v) {
  return v >= 0 ? static_cast<uint64_t>(v) : static_cast<uint64_t>(-1 - v);
}
uint8_t IntMajor(int64_t v) { return v >= 0 ? 0 : 1; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1 percent-decoding of one path segment or query part.
Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) {
      return Fail(ErrorCode::kInvalidInput, "Proxy-Uri: truncated percent escape");
    }
    int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return Fail(ErrorCode::kInvalidInput, "Proxy-Uri: bad percent escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

void BuildAad(int64_t alg, ByteView request_kid, ByteView request_piv, Bytes& out) {
  static constexpr char kContext[] = "Encrypt0";  // RFC 9052 §5.3
  size_t array_size = 1 + 1 + 1 + HeadSize(IntArgument(alg)) + HeadSize(request_kid.size()) +
                      request_kid.size() + HeadSize(request_piv.size()) + request_piv.size() + 1;
  out.clear();
  out.reserve(1 + 9 + 1 + HeadSize(array_size) + array_size);
  out.push_back(0x83);  // array(3)
  PutHead(out, 3, sizeof(kContext) - 1);
  out.insert(out.end(), kContext, kContext + sizeof(kContext) - 1);
  out.push_back(0x40);          // protected: h'' (§5.1: OSCORE sends no protected header)
  PutHead(out, 2, array_size);  // external_aad = bstr .cbor aad_array
  out.push_back(0x85);          // aad_array: array(5)
  out.push_back(0x01);          // oscore_version = 1
  out.push_back(0x81);          // algorithms: [alg_aead]
  PutHead(out, IntMajor(alg), IntArgument(alg));
  PutHead(out, 2, request_kid.size());
  out.insert(out.end(), request_kid.begin(), request_kid.end());
  PutHead(out, 2, request_piv.size());
  out.insert(out.end(), request_piv.begin(), request_piv.end());
  out.push_back(0x40);  // options: no Class I option is defined (§4.1.2)
}

Bytes BuildNonce(ByteView common_iv, ByteView id_piv, ByteView piv) {
  size_t n = common_iv.size();
  Bytes nonce(n, 0);
  nonce[0] = static_cast<uint8_t>(id_piv.size());
  size_t id_end = n - 5;  // the padded ID_PIV ends where the 5-byte padded PIV starts
  std::copy(id_piv.begin(), id_piv.end(),
            nonce.begin() + static_cast<std::ptrdiff_t>(id_end - id_piv.size()));
  std::copy(piv.begin(), piv.end(), nonce.begin() + static_cast<std::ptrdiff_t>(n - piv.size()));
  for (size_t i = 0; i < n; ++i) nonce[i] ^= common_iv[i];
  return nonce;
}

Status SplitOptions(const Message& m, std::span<const Option> extra, Message& inner,
                    Message& outer) {
  inner.options.reserve(m.options.size());
  outer.options.reserve(m.options.size() + extra.size() + 1);  // + the OSCORE option
  for (const auto& o : m.options) {
    switch (ClassOf(o.number)) {
      case OptionClass::kOscore:
        return Fail(ErrorCode::kInvalidInput, "the message already carries an OSCORE option");
      case OptionClass::kU:
        if (o.number == opt::kProxyUri) {
          std::string_view uri(reinterpret_cast<const char*>(o.value.data()), o.value.size());
          SECPROF_ASSIGN_OR_RETURN(std::string outer_uri, SplitProxyUri(uri, inner));
          outer.Add(opt::kProxyUri, outer_uri);
        } else {
          outer.Add(o.number, o.value);
        }
        break;
      case OptionClass::kEandU:
        inner.Add(o.number, o.value);
        if (o.number == opt::kObserve) outer.Add(o.number, o.value);  // §4.1.3.5
        break;
      case OptionClass::kE:
        inner.Add(o.number, o.value);
        break;
    }
  }
  for (const auto& o : extra) {
    OptionClass c = ClassOf(o.number);
    if (c != OptionClass::kU && c != OptionClass::kEandU) {
      return Fail(ErrorCode::kInvalidInput,
                  "Outer option " + std::to_string(o.number) +
                      " is neither Class U nor Class E+U (RFC 8613 §4.1)");
    }
    outer.Add(o.number, o.value);
  }
  return Ok();
}

void EncodePlaintext(const Message& inner, ByteView payload, Bytes& out) {
  out.clear();
  out.push_back(inner.code);
  EncodeOptionsAndPayload(inner, out);
  if (!payload.empty()) {
    out.push_back(0xFF);
    out.insert(out.end(), payload.begin(), payload.end());
  }
}

Result<Message> DecodePlaintext(ByteView plaintext) {
  if (plaintext.empty()) return Fail(ErrorCode::kInvalidInput, "empty OSCORE plaintext (no code)");
  Message m;
  m.code = plaintext[0];
  SECPROF_TRY(DecodeOptionsAndPayload(plaintext.subspan(1), m));
  return m;
}

Message MergeReceived(Message inner, const Message& outer) {
  for (const auto& o : outer.options) {
    OptionClass c = ClassOf(o.number);
    if (c == OptionClass::kU || (c == OptionClass::kEandU && inner.Find(o.number) == nullptr)) {
      inner.Add(o.number, o.value);
    }
  }
  return inner;
}

Result<std::string> SplitProxyUri(std::string_view uri, Message& inner) {
  size_t sep = uri.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return Fail(ErrorCode::kInvalidInput, "Proxy-Uri is not an absolute URI (RFC 7252 §6.4)");
  }
  if (uri.find('#') != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidInput, "Proxy-Uri has a fragment (RFC 7252 §6.4 step 3)");
  }
  size_t auth_end = uri.find_first_of("/?", sep + 3);
  if (auth_end == std::string_view::npos) auth_end = uri.size();
  std::string outer(uri.substr(0, auth_end));
  std::string_view rest = uri.substr(auth_end);
  std::string_view path = rest.substr(0, rest.find('?'));
  std::string_view query = rest.find('?') == std::string_view::npos
                               ? std::string_view()
                               : rest.substr(rest.find('?') + 1);
  if (path.size() > 1) {  // "/" alone is the root: no Uri-Path (RFC 7252 §6.4 step 8)
    path.remove_prefix(1);
    while (true) {
      size_t slash = path.find('/');
      SECPROF_ASSIGN_OR_RETURN(std::string seg, PercentDecode(path.substr(0, slash)));
      inner.Add(opt::kUriPath, seg);
      if (slash == std::string_view::npos) break;
      path.remove_prefix(slash + 1);
    }
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    SECPROF_ASSIGN_OR_RETURN(std::string arg, PercentDecode(query.substr(0, amp)));
    inner.Add(opt::kUriQuery, arg);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return outer;
}

}  // namespace secprof::oscore::internal
