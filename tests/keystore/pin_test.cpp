// keystore::Pin (issue 10 item 6): a PKCS#11 PIN lives in wiping memory, option structs that hold
// one stay copyable (each copy a Clone, wiped when released), and a flag's std::string is wiped
// when its content is taken.
#include "secprof/keystore/pin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "secprof/keystore/pkcs11_store.h"

namespace secprof::keystore {
namespace {

// Blocks released by SecureBuffers during a test, and whether each was all zeros when released.
std::vector<std::pair<size_t, bool>> g_wiped;
void Observe(const uint8_t* data, size_t size) {
  g_wiped.emplace_back(size, std::all_of(data, data + size, [](uint8_t b) { return b == 0; }));
}

class KeystorePin : public ::testing::Test {
 protected:
  void SetUp() override {
    g_wiped.clear();
    crypto::SetWipeObserverForTesting(&Observe);
  }
  void TearDown() override { crypto::SetWipeObserverForTesting(nullptr); }
};

static_assert(std::is_copy_constructible_v<Pkcs11KeyStoreOptions>, "options stay copyable");
static_assert(!std::is_convertible_v<std::string, Pin>, "no implicit PIN from a string");

TEST_F(KeystorePin, CopiesAreClonesAndEveryCopyIsWiped) {
  const std::string text = "pin-of-a-token-31415";
  {
    Pkcs11KeyStoreOptions o;
    o.token_label = "t";
    o.pin = Pin(text);
    const Pkcs11KeyStoreOptions copy = o;  // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_EQ(copy.pin.text(), text);
    EXPECT_NE(copy.pin.value().data(), o.pin.value().data()) << "the copy shares the bytes";
    Pin moved = std::move(o.pin);
    EXPECT_EQ(moved.text(), text);
    EXPECT_TRUE(o.pin.empty());  // NOLINT(bugprone-use-after-move): a move leaves no copy behind
  }
  // Two blocks of the PIN's size were released (the copy's and the moved one), both zeroed first.
  size_t released = 0;
  for (const auto& [size, zero] : g_wiped) {
    if (size != text.size()) continue;
    ++released;
    EXPECT_TRUE(zero) << "a PIN block was released unwiped";
  }
  EXPECT_EQ(released, 2u);
}

TEST_F(KeystorePin, TakeWipesTheFlagsString) {
  std::string flag(40, '7');  // long enough to live on the heap, not in the string itself
  const char* chars = flag.data();
  Pin pin = Pin::Take(flag);
  EXPECT_EQ(pin.text(), std::string(40, '7'));
  EXPECT_TRUE(flag.empty());
  // clear() keeps the allocation: the characters that were there are now zeros.
  EXPECT_TRUE(std::all_of(chars, chars + 40, [](char c) { return c == 0; }));
}

TEST_F(KeystorePin, EmptyAndBytes) {
  EXPECT_TRUE(Pin().empty());
  const Pin p("1234");
  EXPECT_EQ(p.size(), 4u);
  EXPECT_EQ(p.bytes().size(), 4u);
  EXPECT_EQ(p.bytes()[0], '1');
}

}  // namespace
}  // namespace secprof::keystore
