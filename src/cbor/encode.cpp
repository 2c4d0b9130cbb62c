// Encoding with preferred serialization and, by default, deterministic map order
// (RFC 8949 §4.1, §4.2.1). Heads are written with libcbor's encoders, which always choose the
// shortest argument form; half-precision floats are written here (bit-exact, see float.cpp).
#include <cbor.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "internal.h"
#include "secprof/cbor/cbor.h"

namespace secprof::cbor {
namespace {

class Encoder {
 public:
  explicit Encoder(MapOrder order) : order_(order) {}

  void Put(const Value& v, Bytes& out) {
    std::array<unsigned char, 9> head{};
    size_t n = 0;
    switch (v.type()) {
      case Type::kUnsigned:
        n = cbor_encode_uint(v.uint_value(), head.data(), head.size());
        break;
      case Type::kNegative:
        n = cbor_encode_negint(v.uint_value(), head.data(), head.size());
        break;
      case Type::kBytes:
        n = cbor_encode_bytestring_start(v.bytes().size(), head.data(), head.size());
        Append(out, head, n);
        out.insert(out.end(), v.bytes().begin(), v.bytes().end());
        return;
      case Type::kText:
        n = cbor_encode_string_start(v.text().size(), head.data(), head.size());
        Append(out, head, n);
        out.insert(out.end(), v.text().begin(), v.text().end());
        return;
      case Type::kArray:
        n = cbor_encode_array_start(v.array().size(), head.data(), head.size());
        Append(out, head, n);
        for (const auto& item : v.array()) Put(item, out);
        return;
      case Type::kMap:
        PutMap(v, out);
        return;
      case Type::kTag:
        n = cbor_encode_tag(v.tag_number(), head.data(), head.size());
        Append(out, head, n);
        Put(v.tag_content(), out);
        return;
      case Type::kSimple:
        n = cbor_encode_ctrl(v.simple_value(), head.data(), head.size());
        break;
      case Type::kFloat:
        PutFloat(v.float_value(), out);
        return;
    }
    Append(out, head, n);
  }

 private:
  static void Append(Bytes& out, const std::array<unsigned char, 9>& head, size_t n) {
    out.insert(out.end(), head.begin(), head.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // §4.1: the shortest of binary16/32/64 that represents the value exactly.
  static void PutFloat(double d, Bytes& out) {
    if (auto h = internal::DoubleToHalfExact(d)) {
      out.push_back(0xf9);
      PutBig16(out, *h);
      return;
    }
    std::array<unsigned char, 9> buf{};
    size_t n;
    if (auto s = internal::DoubleToSingleExact(d)) {
      float f;
      static_assert(sizeof f == sizeof *s);
      std::memcpy(&f, &*s, sizeof f);
      n = cbor_encode_single(f, buf.data(), buf.size());
    } else {
      n = cbor_encode_double(d, buf.data(), buf.size());
    }
    Append(out, buf, n);
  }

  void PutMap(const Value& v, Bytes& out) {
    std::array<unsigned char, 9> head{};
    const size_t n = cbor_encode_map_start(v.map().size(), head.data(), head.size());
    Append(out, head, n);
    if (order_ == MapOrder::kPreserveOrder) {
      for (const auto& [k, val] : v.map()) {
        Put(k, out);
        Put(val, out);
      }
      return;
    }
    // §4.2.1: keys sorted in the bytewise lexicographic order of their deterministic encodings.
    std::vector<std::pair<Bytes, const Value*>> entries;
    entries.reserve(v.map().size());
    for (const auto& [k, val] : v.map()) {
      Bytes kb;
      Put(k, kb);
      entries.emplace_back(std::move(kb), &val);
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [kb, val] : entries) {
      out.insert(out.end(), kb.begin(), kb.end());
      Put(*val, out);
    }
  }

  MapOrder order_;
};

}  // namespace

Bytes Encode(const Value& v, MapOrder order) {
  Bytes out;
  Encoder(order).Put(v, out);
  return out;
}

}  // namespace secprof::cbor
