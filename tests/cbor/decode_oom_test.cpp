// No exception may unwind through libcbor's C frames (issue 10, item 6). This binary replaces the
// global operator new so that the N-th allocation after arming throws std::bad_alloc, then decodes
// the same input for every N: an allocation that fails inside one of the callbacks libcbor calls
// must come back as an Error (kLimit, "out of memory"), never as an exception that crossed C code
// or std::terminate. Allocations outside the callbacks (the scan, the Run loop) may still throw
// std::bad_alloc to the caller as ordinary C++.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <string>

#include "secprof/cbor/cbor.h"

namespace {
// Counts down while armed; the allocation that brings it to zero throws.
thread_local long g_fail_in = -1;
}  // namespace

void* operator new(std::size_t n) {
  if (g_fail_in > 0 && --g_fail_in == 0) throw std::bad_alloc();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// Every other (unaligned) form is replaced too, so that no allocation made through a form left to
// the runtime is released by the malloc-based delete above (AddressSanitizer reports that as an
// alloc-dealloc mismatch; std::stable_sort's temporary buffer uses the nothrow form).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return ::operator new(n, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace secprof::cbor {
namespace {

TEST(CborDecodeOom, AllocationFailureInsideLibcborCallbacksIsAnError) {
  // A nested document: maps, arrays, text and byte strings, an indefinite-length string, a tag
  // and floats, so that every kind of callback allocates.
  const Value doc = Value::Map(
      {{Value::Unsigned(1), Value::Text("a text string long enough to need the heap")},
       {Value::Unsigned(2), Value::ByteString(Bytes(100, 0xab))},
       {Value::Unsigned(3),
        Value::MakeArray({Value::Int(-5), Value::Float(1.5), Value::Tag(18, Value::Text("t"))})},
       {Value::Text("k"), Value::MakeArray({Value::Bool(true), Value::Null()})}});
  Bytes in = Encode(doc);
  // Prefix an indefinite-length byte string in an array (chunks arrive through byte_string).
  Bytes indef = {0x82, 0x5f, 0x42, 0x01, 0x02, 0x41, 0x03, 0xff};
  indef.insert(indef.end(), in.begin(), in.end());
  Limits lim;
  lim.allow_indefinite = true;

  auto clean = Decode(indef, lim);
  ASSERT_TRUE(clean) << clean.error().message();

  int converted = 0, thrown_outside = 0, succeeded = 0;
  for (long n = 1; n < 2000; ++n) {
    bool threw = false;
    Result<Value> r = Fail(ErrorCode::kInternal, "unset");
    g_fail_in = n;  // armed just before the call: nothing else allocates in between
    try {
      r = Decode(indef, lim);
    } catch (const std::bad_alloc&) {
      threw = true;  // from C++ frames outside libcbor: allowed
    }
    const bool fired = g_fail_in == 0;
    g_fail_in = -1;
    if (!fired) {
      // Fewer than n allocations: the decode ran to completion; every later n does too.
      ASSERT_TRUE(r) << r.error().message();
      EXPECT_EQ(*r, *clean);
      ++succeeded;
      break;
    }
    if (threw) {
      ++thrown_outside;
    } else if (!r) {
      EXPECT_EQ(r.error().code(), ErrorCode::kLimit) << r.error().message();
      EXPECT_NE(r.error().message().find("out of memory"), std::string::npos)
          << r.error().message();
      ++converted;
    } else {
      ADD_FAILURE() << "allocation " << n << " failed but the decode succeeded";
    }
  }
  EXPECT_EQ(succeeded, 1) << "the loop never reached an N beyond the decode's allocations";
  EXPECT_GT(converted, 0) << "no allocation failure happened inside a libcbor callback";
}

}  // namespace
}  // namespace secprof::cbor
