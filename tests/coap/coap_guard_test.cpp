// The parsers and encoders behind the availability guards (src/coap/guard.h), on hand-made
// datagrams (RFC 7252 §3, RFC 7959 §2.2, §4): what the plain-CoAP Block1 gate reads from untrusted
// input, and the 4.13 / 5.03 answers it sends. The end-to-end attacks are in coap_dos_test.cpp.
#include <gtest/gtest.h>

#include <random>

#include "assembly.h"
#include "coap/raw_attacker.h"
#include "guard.h"

namespace secprof::coap::internal {
namespace {

using namespace std::chrono_literals;

ByteView View(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }

TEST(CoapGuard, ParsesBlock1AndSize1OfEveryWidth) {
  // NUM fits 4, 12 and 20 bits: Block1 values of 1, 2 and 3 bytes (RFC 7959 §2.2).
  for (uint32_t num : {0u, 5u, 300u, 70000u}) {
    auto d = attack::Block1Post(7, {1, 2}, "upload", num, true, 6, uint64_t{0x12345678}, 3);
    auto h = ParseCoapHead(View(d));
    ASSERT_TRUE(h) << num;
    EXPECT_EQ(h->type, 0);
    EXPECT_EQ(h->code, 2);
    EXPECT_EQ(h->message_id, 7);
    EXPECT_EQ(h->token, (Bytes{1, 2}));
    EXPECT_TRUE(h->has_block1);
    EXPECT_EQ(h->block_num, num);
    EXPECT_TRUE(h->block_more);
    EXPECT_EQ(h->block_szx, 6u);
    EXPECT_EQ(h->size1, uint64_t{0x12345678});
    EXPECT_EQ(h->payload_length, 3u);
  }
}

TEST(CoapGuard, RefusesMalformedMessages) {
  EXPECT_FALSE(ParseCoapHead(View({0x40, 0x01, 0x00})));              // short header
  EXPECT_FALSE(ParseCoapHead(View({0x80, 0x01, 0x00, 0x01})));        // version 2
  EXPECT_FALSE(ParseCoapHead(View({0x49, 0x01, 0x00, 0x01})));        // TKL 9 (reserved)
  EXPECT_FALSE(ParseCoapHead(View({0x40, 0x01, 0x00, 0x01, 0xff})));  // marker, no payload
  EXPECT_FALSE(ParseCoapHead(View({0x40, 0x01, 0x00, 0x01, 0xf0})));  // delta nibble 15
  EXPECT_FALSE(ParseCoapHead(View({0x40, 0x01, 0x00, 0x01, 0xd0})));  // delta 13, byte missing
  EXPECT_FALSE(ParseCoapHead(View({0x40, 0x01, 0x00, 0x01, 0xe0, 0x00})));  // delta 14, 1 byte
  EXPECT_FALSE(ParseCoapHead(View({0x40, 0x01, 0x00, 0x01, 0x13, 0x61})));  // value cut short
  // Block1 of 4 bytes (option 27: delta 13 + 14).
  EXPECT_FALSE(ParseCoapHead(View({0x40, 0x02, 0x00, 0x01, 0xd4, 14, 0, 0, 0, 0x0e})));
  // Random bytes never crash the parser.
  std::mt19937 rng(9);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> d(rng() % 40);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    if (!d.empty()) d[0] = static_cast<uint8_t>(0x40 | (d[0] & 0x3f));
    (void)ParseCoapHead(View(d));
  }
}

TEST(CoapGuard, AnswersAreWellFormedCoap) {
  auto req = ParseCoapHead(
      View(attack::Block1Post(0xbeef, {9, 8, 7}, "u", 0, true, 6, uint64_t{1} << 30, 16)));
  ASSERT_TRUE(req);
  Bytes a = Encode413(*req, 1 << 20, 0x0101);
  auto r = attack::ParseResponse(a.data(), a.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, 2);  // ACK: piggybacked on the CON request
  EXPECT_EQ(r->code, kRequestEntityTooLarge);
  EXPECT_EQ(r->message_id, 0xbeef);
  EXPECT_EQ(r->token, (std::vector<uint8_t>{9, 8, 7}));
  EXPECT_EQ(r->size1, uint64_t{1} << 20);
  req->type = 1;  // NON request: a NON answer with our own Message ID
  Bytes b = Encode503(*req, 10, 0x0102);
  auto s = attack::ParseResponse(b.data(), b.size());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->type, 1);
  EXPECT_EQ(s->code, kServiceUnavailable);
  EXPECT_EQ(s->message_id, 0x0102);
}

TEST(CoapGuard, Block1GuardChecksSize1OffsetAndTransfersPerAddress) {
  Block1Guard g(4096, 1, 247s);
  auto now = std::chrono::steady_clock::now();
  auto head = [](uint32_t num, bool more, std::optional<uint64_t> size1, size_t len) {
    return *ParseCoapHead(View(attack::Block1Post(1, {}, "u", num, more, 6, size1, len)));
  };
  using V = Block1Guard::Verdict;
  EXPECT_EQ(g.Inspect(head(0, true, 4097, 1024), "a", 1, now), V::kTooLarge);  // Size1
  EXPECT_EQ(g.Inspect(head(4, true, {}, 1), "a", 1, now), V::kTooLarge);       // 4096 + 1 > 4096
  EXPECT_EQ(g.Inspect(head(3, false, {}, 1024), "a", 1, now), V::kPass);       // ends at 4096
  EXPECT_EQ(g.Inspect(head(0, true, 4096, 1024), "a", 1, now), V::kPass);
  EXPECT_EQ(g.Inspect(head(0, true, 4096, 1024), "a", 2, now), V::kBusy);   // 2nd from "a"
  EXPECT_EQ(g.Inspect(head(0, true, 4096, 1024), "b", 2, now), V::kPass);   // other address
  EXPECT_EQ(g.Inspect(head(1, false, 4096, 1024), "a", 1, now), V::kPass);  // "a" done
  EXPECT_EQ(g.Inspect(head(0, true, 4096, 1024), "a", 2, now), V::kPass);
  EXPECT_EQ(g.Inspect(head(0, true, 4096, 1024), "a", 3, now + 248s), V::kPass);  // lapsed
}

TEST(CoapGuard, BodyAssemblerKeepsOnlyInOrderBlocksUnderTheLimit) {
  BodyAssembler a(3000, 1, 247s);
  auto now = std::chrono::steady_clock::now();
  using O = BodyAssembler::Outcome;
  Bytes k(1024, 'k'), body;
  ByteView blk(k.data(), k.size());
  EXPECT_EQ(a.Add("p1", "a", 0, blk, true, uint64_t{1} << 30, now, &body), O::kTooLarge);
  EXPECT_EQ(a.partial_bodies(), 0u) << "nothing kept of a refused transfer";
  EXPECT_EQ(a.Add("p1", "a", 0, blk, true, 0, now, &body), O::kContinue);
  EXPECT_EQ(a.Add("p2", "a", 0, blk, true, 0, now, &body), O::kBusy) << "one per address";
  EXPECT_EQ(a.Add("p3", "b", 0, blk, true, 0, now, &body), O::kContinue);
  EXPECT_EQ(a.Add("p1", "a", 1024, blk, true, 0, now, &body), O::kContinue);
  EXPECT_EQ(a.Add("p1", "a", 1024, blk, true, 0, now, &body), O::kContinue) << "a repeat";
  EXPECT_EQ(a.Add("p1", "a", 2048, blk, false, 0, now, &body), O::kTooLarge)
      << "3072 > 3000: refused at this block";
  EXPECT_EQ(a.Add("p1", "a", 2048, ByteView(k.data(), 100), false, 0, now, &body), O::kIncomplete)
      << "the transfer was dropped";
  EXPECT_EQ(a.Add("p4", "a", 0, blk, true, 0, now, &body), O::kContinue);
  EXPECT_EQ(a.Add("p4", "a", 2048, ByteView(k.data(), 100), true, 0, now, &body), O::kIncomplete)
      << "a gap";
  EXPECT_EQ(a.Add("p5", "a", 0, blk, true, 0, now, &body), O::kContinue);
  EXPECT_EQ(a.Add("p5", "a", 1024, ByteView(k.data(), 100), false, 0, now, &body), O::kComplete);
  EXPECT_EQ(body.size(), 1124u);
  a.ForgetPeer("p3");
  EXPECT_EQ(a.partial_bodies(), 0u);
  EXPECT_EQ(a.Add("p6", "c", 0, blk, true, 0, now, &body), O::kContinue);
  EXPECT_EQ(a.Add("p7", "c", 0, blk, true, 0, now + 248s, &body), O::kContinue)
      << "the first lapsed";
}

}  // namespace
}  // namespace secprof::coap::internal
