// Decoding untrusted CBOR: a well-formedness scan of our own, then libcbor's streaming decoder.
// See cbor.h for the contract. References are to RFC 8949 unless noted.
#include <cbor.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "internal.h"
#include "secprof/cbor/cbor.h"

namespace secprof::cbor {
namespace {

// The scan recurses once per nesting level; this bounds the C++ stack whatever Limits say.
constexpr size_t kHardMaxDepth = 1024;

std::string At(size_t off) { return " at offset " + std::to_string(off); }

const char* MajorName(int major) {
  static const char* const kNames[] = {
      "unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag",
      "simple/float"};
  return kNames[major & 7];
}

// ---- Pass 1: well-formedness (§3, Appendix C) and limits ------------------------------------

class Scanner {
 public:
  Scanner(ByteView in, const Limits& limits)
      : in_(in), limits_(limits), max_depth_(std::min(limits.max_depth, kHardMaxDepth)) {}

  Status Run() {
    SECPROF_TRY(Item(1));
    if (pos_ != in_.size())
      return Fail(ErrorCode::kInvalidInput, "trailing bytes after the data item" + At(pos_) + " (" +
                                                std::to_string(in_.size() - pos_) +
                                                " bytes left over)");
    return Ok();
  }

 private:
  struct Head {
    int major;
    int ai;
    uint64_t arg;
    bool indefinite;
    size_t offset;
  };

  size_t Left() const { return in_.size() - pos_; }

  Error Truncated(const std::string& what, size_t off) const {
    return Error(ErrorCode::kInvalidInput, "truncated input: " + what + At(off) +
                                               " runs past the end of the input (" +
                                               std::to_string(in_.size()) + " bytes)");
  }

  // Reads the initial byte and argument (§3). A break byte is returned as major 7, ai 31.
  Result<Head> ReadHead() {
    Head h{};
    h.offset = pos_;
    if (Left() < 1) return Fail(Truncated("a data item", pos_));
    const uint8_t ib = in_[pos_++];
    h.major = ib >> 5;
    h.ai = ib & 0x1f;
    if (h.ai < 24) {
      h.arg = static_cast<uint64_t>(h.ai);
    } else if (h.ai <= 27) {
      const size_t n = size_t{1} << (h.ai - 24);
      if (Left() < n)
        return Fail(Truncated("the argument of a " + std::string(MajorName(h.major)), h.offset));
      h.arg = GetBigN(in_.subspan(pos_), n);
      pos_ += n;
    } else if (h.ai <= 30) {
      // §3: additional information 28, 29 and 30 are reserved; the item is not well-formed.
      return Fail(ErrorCode::kInvalidInput, "reserved additional information " +
                                                std::to_string(h.ai) + " in initial byte 0x" +
                                                ToHex(in_.subspan(h.offset, 1)) + At(h.offset));
    } else {
      h.indefinite = true;
    }
    return h;
  }

  Status CountItem(size_t off) {
    if (++items_ > limits_.max_items)
      return Fail(ErrorCode::kLimit, "more than max_items (" + std::to_string(limits_.max_items) +
                                         ") data items" + At(off));
    return Ok();
  }

  Status CheckString(const Head& h) {
    if (h.arg > Left())
      return Fail(Truncated(std::string(MajorName(h.major)) + " of length " + std::to_string(h.arg),
                            h.offset));
    const auto body = in_.subspan(pos_, static_cast<size_t>(h.arg));
    if (h.major == 3 &&
        !IsValidUtf8(std::string_view(reinterpret_cast<const char*>(body.data()), body.size())))
      return Fail(ErrorCode::kInvalidInput,
                  "invalid UTF-8 in text string" + At(h.offset) + " (RFC 8949 §3.1 major type 3)");
    pos_ += body.size();
    return Ok();
  }

  Status Item(size_t depth) {
    if (depth > max_depth_)
      return Fail(ErrorCode::kLimit,
                  "nesting deeper than max_depth (" + std::to_string(max_depth_) + ")" + At(pos_));
    SECPROF_TRY(CountItem(pos_));
    SECPROF_ASSIGN_OR_RETURN(Head h, ReadHead());
    if (h.indefinite) {
      switch (h.major) {
        case 7:  // §3.2.1: a break where a data item is expected
          return Fail(ErrorCode::kInvalidInput,
                      "break (0xff) outside an indefinite-length item" + At(h.offset));
        case 0:
        case 1:
        case 6:  // §3: additional information 31 is not well-formed for major types 0, 1, 6
          return Fail(ErrorCode::kInvalidInput,
                      std::string("indefinite length is not allowed for ") + MajorName(h.major) +
                          At(h.offset));
        default:
          break;
      }
      if (!limits_.allow_indefinite)
        return Fail(ErrorCode::kInvalidInput, std::string("indefinite-length ") +
                                                  MajorName(h.major) + " not allowed here" +
                                                  At(h.offset) + " (definite lengths required)");
      return Indefinite(h, depth);
    }
    switch (h.major) {
      case 0:
      case 1:
        return Ok();
      case 2:
      case 3:
        return CheckString(h);
      case 4:
        // Every item takes at least one byte: reject impossible counts before looping.
        if (h.arg > Left())
          return Fail(Truncated("array of " + std::to_string(h.arg) + " items", h.offset));
        for (uint64_t i = 0; i < h.arg; ++i) SECPROF_TRY(Item(depth + 1));
        return Ok();
      case 5:
        if (h.arg > Left())
          return Fail(Truncated("map of " + std::to_string(h.arg) + " pairs", h.offset));
        for (uint64_t i = 0; i < h.arg; ++i) {
          SECPROF_TRY(Item(depth + 1));
          SECPROF_TRY(Item(depth + 1));
        }
        return Ok();
      case 6:
        return Item(depth + 1);
      default:  // major 7 (§3.3)
        if (h.ai == 24 && h.arg < 32)
          return Fail(ErrorCode::kInvalidInput,
                      "simple value " + std::to_string(h.arg) +
                          " in two-byte form (RFC 8949 §3.3 requires 32..255)" + At(h.offset));
        return Ok();
    }
  }

  bool AtBreak() const { return Left() >= 1 && in_[pos_] == 0xff; }

  Status Indefinite(const Head& h, size_t depth) {
    if (h.major == 2 || h.major == 3) {
      // §3.2.3: chunks are definite-length strings of the same major type, then a break.
      while (!AtBreak()) {
        if (Left() < 1) return Fail(Truncated("indefinite-length string", h.offset));
        SECPROF_TRY(CountItem(pos_));
        SECPROF_ASSIGN_OR_RETURN(Head c, ReadHead());
        if (c.major != h.major || c.indefinite)
          return Fail(ErrorCode::kInvalidInput,
                      std::string("chunk of an indefinite-length ") + MajorName(h.major) +
                          " is not a definite-length " + MajorName(h.major) + At(c.offset));
        SECPROF_TRY(CheckString(c));
      }
      ++pos_;
      return Ok();
    }
    // §3.2.2: items until a break; a map needs an even number of them.
    for (bool key = true;; key = !key) {
      if (Left() < 1)
        return Fail(Truncated(std::string("indefinite-length ") + MajorName(h.major), h.offset));
      if (AtBreak()) {
        if (h.major == 5 && !key)
          return Fail(ErrorCode::kInvalidInput,
                      "indefinite-length map ends after a key without a value" + At(pos_));
        ++pos_;
        return Ok();
      }
      SECPROF_TRY(Item(depth + 1));
    }
  }

  ByteView in_;
  const Limits& limits_;
  size_t max_depth_;
  size_t pos_ = 0;
  size_t items_ = 0;
};

// ---- Pass 2: libcbor streaming decode into Values -------------------------------------------

class Builder {
 public:
  explicit Builder(const Limits& limits) : limits_(limits) {}

  Result<Value> Run(ByteView in) {
    // libcbor is C: no exception may unwind through its frames. Every callback is noexcept and
    // runs its body through Guarded, which turns an exception (std::bad_alloc from a container
    // growing) into a recorded failure that Run reports once libcbor has returned.
    cbor_callbacks cb = cbor_empty_callbacks;
    cb.uint8 = [](void* c, uint8_t v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Unsigned(v)); });
    };
    cb.uint16 = [](void* c, uint16_t v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Unsigned(v)); });
    };
    cb.uint32 = [](void* c, uint32_t v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Unsigned(v)); });
    };
    cb.uint64 = [](void* c, uint64_t v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Unsigned(v)); });
    };
    cb.negint8 = [](void* c, uint8_t v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Negative(v)); });
    };
    cb.negint16 = [](void* c, uint16_t v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Negative(v)); });
    };
    cb.negint32 = [](void* c, uint32_t v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Negative(v)); });
    };
    cb.negint64 = [](void* c, uint64_t v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Negative(v)); });
    };
    cb.byte_string = [](void* c, cbor_data d, size_t n) noexcept {
      Guarded(c, [&](Builder* b) { b->String(false, d, n); });
    };
    cb.string = [](void* c, cbor_data d, size_t n) noexcept {
      Guarded(c, [&](Builder* b) { b->String(true, d, n); });
    };
    cb.byte_string_start = [](void* c) noexcept {
      Guarded(c, [&](Builder* b) { b->Open(Frame::kBytes, 0, true); });
    };
    cb.string_start = [](void* c) noexcept {
      Guarded(c, [&](Builder* b) { b->Open(Frame::kText, 0, true); });
    };
    cb.array_start = [](void* c, size_t n) noexcept {
      Guarded(c, [&](Builder* b) { b->Open(Frame::kArray, n, false); });
    };
    cb.indef_array_start = [](void* c) noexcept {
      Guarded(c, [&](Builder* b) { b->Open(Frame::kArray, 0, true); });
    };
    cb.map_start = [](void* c, size_t n) noexcept {
      Guarded(c, [&](Builder* b) { b->Open(Frame::kMap, 2 * n, false); });
    };
    cb.indef_map_start = [](void* c) noexcept {
      Guarded(c, [&](Builder* b) { b->Open(Frame::kMap, 0, true); });
    };
    cb.tag = [](void* c, uint64_t t) noexcept { Guarded(c, [&](Builder* b) { b->OpenTag(t); }); };
    cb.float4 = [](void* c, float f) noexcept {
      uint32_t u;
      std::memcpy(&u, &f, sizeof u);
      Guarded(c, [&](Builder* b) { b->Emit(Value::Float(internal::SingleBitsToDouble(u))); });
    };
    cb.float8 = [](void* c, double d) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Float(d)); });
    };
    cb.boolean = [](void* c, bool v) noexcept {
      Guarded(c, [&](Builder* b) { b->Emit(Value::Bool(v)); });
    };
    cb.null = [](void* c) noexcept { Guarded(c, [](Builder* b) { b->Emit(Value::Null()); }); };
    cb.undefined = [](void* c) noexcept {
      Guarded(c, [](Builder* b) { b->Emit(Value::Undefined()); });
    };
    cb.indef_break = [](void* c) noexcept { Guarded(c, [](Builder* b) { b->Break(); }); };

    size_t pos = 0;
    while (pos < in.size() && !result_ && !error_) {
      const uint8_t ib = in[pos];
      // libcbor 0.8 rejects unassigned simple values and maps half-precision NaNs to one NaN;
      // the scan has validated these heads, so read them here (§3.3).
      if (ib >= 0xe0 && ib <= 0xf3) {
        Emit(Value::Simple(ib & 0x1f));
        pos += 1;
        continue;
      }
      if (ib == 0xf8) {
        Emit(Value::Simple(in[pos + 1]));
        pos += 2;
        continue;
      }
      if (ib == 0xf9) {
        Emit(Value::Float(internal::HalfBitsToDouble(GetBig16(in.subspan(pos + 1)))));
        pos += 3;
        continue;
      }
      if ((ib >> 5) == 6) {
        // libcbor 0.8 rejects tag numbers 6..20 (unassigned when it was written, but COSE uses
        // 16, 17 and 18), so tag heads are read here too; the scan checked the argument length.
        const int ai = ib & 0x1f;
        size_t n = ai < 24 ? 0 : size_t{1} << (ai - 24);
        const uint64_t tag = ai < 24 ? static_cast<uint64_t>(ai) : GetBigN(in.subspan(pos + 1), n);
        OpenTag(tag);
        pos += 1 + n;
        continue;
      }
      const cbor_decoder_result r = cbor_stream_decode(in.data() + pos, in.size() - pos, &cb, this);
      if (failed_in_callback_ != Failure::kNone) break;
      if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
        return Fail(ErrorCode::kInternal,
                    "libcbor rejected an item that the well-formedness scan accepted" + At(pos));
      pos += r.read;
    }
    if (failed_in_callback_ == Failure::kOutOfMemory)
      return Fail(ErrorCode::kLimit, "out of memory while decoding CBOR" + At(pos));
    if (failed_in_callback_ == Failure::kException)
      return Fail(ErrorCode::kInternal, "unexpected exception while decoding CBOR" + At(pos));
    if (error_) return Fail(*error_);
    if (!result_ || pos != in.size())
      return Fail(ErrorCode::kInternal, "CBOR decoder ended in an inconsistent state" + At(pos));
    return std::move(*result_);
  }

 private:
  struct Frame {
    enum Kind { kArray, kMap, kTag, kBytes, kText } kind;
    uint64_t remaining;  // items still expected (definite lengths only)
    bool indefinite;
    Value value;
    std::optional<Value> key;  // a map key waiting for its value
    uint64_t tag = 0;
    std::string chunks;  // the concatenated chunks of an indefinite-length string
  };

  enum class Failure { kNone, kOutOfMemory, kException };

  // Runs `body` for the Builder behind libcbor's context pointer. Catches everything: recording
  // the failure allocates nothing, so the handler itself cannot throw.
  template <class Body>
  static void Guarded(void* c, Body&& body) noexcept {
    Builder* b = static_cast<Builder*>(c);
    try {
      body(b);
    } catch (const std::bad_alloc&) {
      b->failed_in_callback_ = Failure::kOutOfMemory;
    } catch (...) {
      b->failed_in_callback_ = Failure::kException;
    }
  }

  void Open(Frame::Kind kind, uint64_t n, bool indefinite) {
    if (!indefinite && n == 0) {
      Emit(kind == Frame::kArray ? Value::MakeArray() : Value::Map());
      return;
    }
    Frame f{kind, n, indefinite, {}, std::nullopt, 0, {}};
    switch (kind) {
      case Frame::kArray:
        f.value = Value::MakeArray();
        // The scan proved n items follow; still reserve no more than the input could hold.
        f.value.array().reserve(static_cast<size_t>(std::min<uint64_t>(n, 1024)));
        break;
      case Frame::kMap:
        f.value = Value::Map();
        break;
      case Frame::kBytes:
      case Frame::kText:
      case Frame::kTag:
        break;
    }
    stack_.push_back(std::move(f));
  }

  void OpenTag(uint64_t tag) {
    stack_.push_back(Frame{Frame::kTag, 1, false, {}, std::nullopt, tag, {}});
  }

  void String(bool text, cbor_data d, size_t n) {
    if (!stack_.empty() &&
        (stack_.back().kind == Frame::kBytes || stack_.back().kind == Frame::kText)) {
      // A chunk of an indefinite-length string (§3.2.3): append to the open string.
      stack_.back().chunks.append(reinterpret_cast<const char*>(d), n);
      return;
    }
    if (text)
      Emit(Value::Text(std::string(reinterpret_cast<const char*>(d), n)));
    else
      Emit(Value::ByteString(Bytes(d, d + n)));
  }

  void Break() {
    if (stack_.empty() || !stack_.back().indefinite) {
      error_ = Error(ErrorCode::kInternal, "unexpected break from libcbor");
      return;
    }
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    Close(std::move(f));
  }

  // A frame is complete: finish it and hand its value to the parent.
  void Close(Frame f) {
    if (f.kind == Frame::kMap && limits_.reject_duplicate_keys) {
      std::vector<Bytes> keys;
      keys.reserve(f.value.map().size());
      for (const auto& [k, v] : f.value.map()) keys.push_back(Encode(k));
      std::sort(keys.begin(), keys.end());
      auto dup = std::adjacent_find(keys.begin(), keys.end());
      if (dup != keys.end()) {
        auto k = Decode(*dup, Limits{});
        error_ =
            Error(ErrorCode::kInvalidInput,
                  "duplicate map key " + (k ? Diagnostic(*k) : ToHex(*dup)) + " (RFC 8949 §5.6)");
        return;
      }
    }
    if (f.kind == Frame::kTag) {
      Emit(Value::Tag(f.tag, std::move(f.value)));
      return;
    }
    if (f.kind == Frame::kText) {
      Emit(Value::Text(std::move(f.chunks)));
      return;
    }
    if (f.kind == Frame::kBytes) {
      Emit(Value::ByteString(Bytes(f.chunks.begin(), f.chunks.end())));
      return;
    }
    Emit(std::move(f.value));
  }

  void Emit(Value v) {
    if (error_) return;
    if (stack_.empty()) {
      result_ = std::move(v);
      return;
    }
    Frame& f = stack_.back();
    switch (f.kind) {
      case Frame::kArray:
        f.value.array().push_back(std::move(v));
        break;
      case Frame::kMap:
        if (!f.key) {
          f.key = std::move(v);
        } else {
          f.value.map().emplace_back(std::move(*f.key), std::move(v));
          f.key.reset();
        }
        break;
      case Frame::kTag:
        f.value = std::move(v);
        break;
      case Frame::kBytes:
      case Frame::kText:
        error_ = Error(ErrorCode::kInternal, "non-string item inside an indefinite string");
        return;
    }
    if (!f.indefinite && --f.remaining == 0) {
      Frame done = std::move(stack_.back());
      stack_.pop_back();
      Close(std::move(done));
    }
  }

  const Limits& limits_;
  std::vector<Frame> stack_;
  std::optional<Value> result_;
  std::optional<Error> error_;
  Failure failed_in_callback_ = Failure::kNone;
};

}  // namespace

Result<Value> Decode(ByteView data, const Limits& limits) {
  if (data.size() > limits.max_bytes)
    return Fail(ErrorCode::kLimit, "input of " + std::to_string(data.size()) +
                                       " bytes exceeds max_bytes (" +
                                       std::to_string(limits.max_bytes) + ")");
  if (data.empty())
    return Fail(ErrorCode::kInvalidInput, "truncated input: no data item (0 bytes)");
  Scanner scan(data, limits);
  SECPROF_TRY(scan.Run());
  Builder b(limits);
  return b.Run(data);
}

}  // namespace secprof::cbor
