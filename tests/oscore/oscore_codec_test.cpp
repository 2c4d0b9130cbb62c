// The oscore module's building blocks: the CoAP codecs (RFC 7252 §3), the OSCORE option
// (RFC 8613 §6.1), the AAD (§5.4) against the cbor module's encoder, the option classes (§4.1),
// Proxy-Uri (§4.1.3.3), the replay window (§7.4), the file sequence store and ErrorResponse.
#include <gtest/gtest.h>

#include "internal.h"
#include "secprof/cbor/cbor.h"
#include "secprof/core/hex.h"
#include "secprof/crypto/aead.h"
#include "secprof/oscore/oscore.h"
#include "testutil.h"

namespace secprof::oscore {
namespace {

Bytes H(std::string_view hex) { return *FromHex(hex); }
std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }

TEST(OscoreCodec, OptionsRoundTripWithExtendedDeltasAndLengths) {
  Message m{.code = code::kPost};
  m.Add(opt::kUriPath, "a");
  m.Add(opt::kUriHost, "localhost");
  m.Add(opt::kUriPath, "b");               // repeated: keeps its order after "a"
  m.Add(opt::kEcho, Bytes(20, 0xAB));      // delta 252 - 11 = 241: one extension byte
  m.Add(opt::kNoResponse, Bytes(300, 1));  // length 300: two extension bytes
  m.Add(2000, Bytes{});                    // delta 1742: two extension bytes
  m.payload = {1, 2, 3};
  ASSERT_EQ(m.options[1].number, opt::kUriPath);
  EXPECT_EQ(Text(m.options[1].value), "a");
  EXPECT_EQ(Text(m.options[2].value), "b");
  auto wire = EncodeDatagram({.type = 1, .message_id = 0x1234, .token = {9, 8}, .message = m});
  ASSERT_TRUE(wire);
  auto back = DecodeDatagram(*wire);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->message, m);
  EXPECT_EQ(back->type, 1);
  EXPECT_EQ(back->message_id, 0x1234);
  EXPECT_EQ(back->token, (Bytes{9, 8}));
}

TEST(OscoreCodec, MalformedDatagramsAreRefused) {
  for (const char* hex : {
           "440100",                 // shorter than 4 bytes
           "84010000",               // version 2
           "49010000",               // token length 9
           "4401000000",             // token truncated
           "40010000ff",             // payload marker with no payload
           "40010000f0",             // delta nibble 15 that is not the marker
           "400100000f",             // length nibble 15
           "40010000d1",             // delta extension missing
           "40010000e0ffff e0ffff",  // option number above 65535
       }) {
    auto b = FromHexIgnoringSpace(hex);
    ASSERT_TRUE(b) << hex;
    EXPECT_FALSE(DecodeDatagram(*b)) << hex;
  }
  EXPECT_TRUE(DecodeDatagram(H("4001000033616263")));   // a 3-byte value, 3 bytes left
  EXPECT_FALSE(DecodeDatagram(H("4001000034616263")));  // a 4-byte value, 3 bytes left
}

TEST(OscoreCodec, OscoreOptionFlagsAndFields) {
  // Appendix C.4: flags 0x09 (k, n = 1), Partial IV 0x14, empty kid.
  auto c4 = DecodeOscoreOption(H("0914"));
  ASSERT_TRUE(c4);
  EXPECT_EQ(c4->partial_iv, H("14"));
  EXPECT_EQ(c4->kid, Bytes{});
  EXPECT_FALSE(c4->kid_context);
  // Appendix C.6: h and k, kid context of 8 bytes.
  auto c6 = DecodeOscoreOption(H("19140837cbf3210017a2d3"));
  ASSERT_TRUE(c6);
  EXPECT_EQ(c6->kid_context, H("37cbf3210017a2d3"));
  EXPECT_EQ(*EncodeOscoreOption(*c6), H("19140837cbf3210017a2d3"));
  // The empty value: no flags at all (C.7).
  auto empty = DecodeOscoreOption({});
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, OscoreOption{});
  EXPECT_EQ(*EncodeOscoreOption({}), Bytes{});

  for (const char* bad : {"00", "8914", "4914", "2914", "0e0102030405060708", "0f01", "0301",
                          "1101", "110514", "010001", "020014", "0114ff"}) {
    auto o = DecodeOscoreOption(H(bad));
    EXPECT_FALSE(o) << bad;
    if (!o) {
      EXPECT_EQ(o.error().code(), ErrorCode::kInvalidInput) << bad;
    }
  }
  EXPECT_FALSE(EncodeOscoreOption({.partial_iv = Bytes(6, 1)}));
  EXPECT_EQ(PartialIvFromSequence(0), H("00"));
  EXPECT_EQ(PartialIvFromSequence(20), H("14"));
  EXPECT_EQ(PartialIvFromSequence(kMaxSequenceNumber), H("ffffffffff"));
}

TEST(OscoreCodec, AadMatchesTheCborModulesEncoding) {
  for (int64_t alg : {int64_t{10}, int64_t{-7}, int64_t{30}, int64_t{-300}}) {
    for (const Bytes& kid : {Bytes{}, H("01"), Bytes(7, 0xEE), Bytes(40, 0x11)}) {
      Bytes piv = H("14");
      cbor::Value aad_array = cbor::Value::MakeArray(
          {cbor::Value::Unsigned(1), cbor::Value::MakeArray({cbor::Value::Int(alg)}),
           cbor::Value::ByteString(kid), cbor::Value::ByteString(piv),
           cbor::Value::ByteString(Bytes{})});
      cbor::Value enc =
          cbor::Value::MakeArray({cbor::Value::Text("Encrypt0"), cbor::Value::ByteString(Bytes{}),
                                  cbor::Value::ByteString(cbor::Encode(aad_array))});
      Bytes ours;
      internal::BuildAad(alg, kid, piv, ours);
      EXPECT_EQ(ToHex(ours), ToHex(cbor::Encode(enc))) << alg << " " << ToHex(kid);
    }
  }
}

TEST(OscoreCodec, OptionClassesOfFigure5) {
  EXPECT_EQ(ClassOf(opt::kUriHost), OptionClass::kU);
  EXPECT_EQ(ClassOf(opt::kUriPort), OptionClass::kU);
  EXPECT_EQ(ClassOf(opt::kProxyScheme), OptionClass::kU);
  EXPECT_EQ(ClassOf(opt::kProxyUri), OptionClass::kU);
  EXPECT_EQ(ClassOf(opt::kUriPath), OptionClass::kE);
  EXPECT_EQ(ClassOf(opt::kUriQuery), OptionClass::kE);
  EXPECT_EQ(ClassOf(opt::kContentFormat), OptionClass::kE);
  EXPECT_EQ(ClassOf(opt::kEcho), OptionClass::kE);
  EXPECT_EQ(ClassOf(4711), OptionClass::kE);  // unknown: Class E (§4.1)
  EXPECT_EQ(ClassOf(opt::kObserve), OptionClass::kEandU);
  EXPECT_EQ(ClassOf(opt::kBlock2), OptionClass::kEandU);
  EXPECT_EQ(ClassOf(opt::kMaxAge), OptionClass::kEandU);
  EXPECT_EQ(ClassOf(opt::kOscore), OptionClass::kOscore);
}

TEST(OscoreCodec, ProxyUriIsSplitIntoOuterAuthorityAndInnerPathAndQuery) {
  Message inner;
  auto outer = internal::SplitProxyUri("coap://[::1]:5683/a/b%2Fc?x=1&y", inner);
  ASSERT_TRUE(outer) << outer.error().message();
  EXPECT_EQ(*outer, "coap://[::1]:5683");
  ASSERT_EQ(inner.options.size(), 4u);
  EXPECT_EQ(Text(inner.options[0].value), "a");
  EXPECT_EQ(Text(inner.options[1].value), "b/c");
  EXPECT_EQ(inner.options[2].number, opt::kUriQuery);
  EXPECT_EQ(Text(inner.options[3].value), "y");
  Message none;
  EXPECT_FALSE(internal::SplitProxyUri("no-scheme/a", none));
  EXPECT_FALSE(internal::SplitProxyUri("coap://h/a#frag", none));
  EXPECT_FALSE(internal::SplitProxyUri("coap://h/a%4", none));
  EXPECT_FALSE(internal::SplitProxyUri("coap://h/a%zz", none));
}

TEST(OscoreReplayWindow, SlidingWindowOf32) {
  ReplayWindow w;
  EXPECT_TRUE(w.Accepts(0));
  w.Mark(0);
  EXPECT_FALSE(w.Accepts(0));
  w.Mark(5);
  EXPECT_TRUE(w.Accepts(3));  // out of order inside the window: new
  w.Mark(3);
  EXPECT_FALSE(w.Accepts(3));
  w.Mark(100);
  EXPECT_FALSE(w.Accepts(5));    // seen and now also below the window
  EXPECT_FALSE(w.Accepts(68));   // 100 - 68 = 32: just below the window
  EXPECT_TRUE(w.Accepts(69));    // the oldest position the window still covers
  EXPECT_FALSE(w.Accepts(100));  // the highest seen
  EXPECT_TRUE(w.Accepts(kMaxSequenceNumber));
  ReplayWindow wide(64);
  wide.Mark(100);
  EXPECT_TRUE(wide.Accepts(37));
  EXPECT_FALSE(wide.Accepts(36));
}

TEST(OscoreReplayWindow, UninitialisedAcceptsNothingUntilInitialised) {
  ReplayWindow w = ReplayWindow::Uninitialised();
  EXPECT_FALSE(w.initialised());
  EXPECT_FALSE(w.Accepts(0));
  EXPECT_FALSE(w.Accepts(1000));
  w.InitialiseAt(500);
  EXPECT_TRUE(w.initialised());
  EXPECT_FALSE(w.Accepts(500));
  EXPECT_FALSE(w.Accepts(499));  // anything before the fresh request may be a replay
  EXPECT_TRUE(w.Accepts(501));
}

TEST(OscoreSequenceStore, FileStoreRoundTripsAndRefusesCorruption) {
  testing::TempDir dir;
  std::string path = (dir.path() / "ssn").string();
  FileSequenceStore store(path);
  auto none = store.Load();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(store.Save(64));
  auto got = store.Load();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::optional<uint64_t>(64));
  for (const char* corrupt :
       {"", "secprof-oscore-ssn 1 \n", "secprof-oscore-ssn 1 64", "secprof-oscore-ssn 1 064\n",
        "secprof-oscore-ssn 1 6x\n", "secprof-oscore-ssn 2 64\n",
        "secprof-oscore-ssn 1 99999999999999999999\n"}) {
    ASSERT_TRUE(WriteFileAtomic(path, corrupt, 0600));
    auto r = store.Load();
    EXPECT_FALSE(r) << corrupt;
    if (!r) {
      EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
    }
  }
}

TEST(OscoreErrors, ErrorResponsesCarryTheRfcCodesAndDiagnostics) {
  struct Case {
    Reason reason;
    uint8_t code;
    const char* diagnostic;
  };
  for (const Case& c : {Case{kBadOption, code::kBadOption, "Failed to decode COSE"},
                        Case{kContextNotFound, code::kUnauthorized, "Security context not found"},
                        Case{kReplayDetected, code::kUnauthorized, "Replay detected"},
                        Case{kDecryptionFailed, code::kBadRequest, "Decryption failed"}}) {
    Message m = ErrorResponse(Error(ErrorCode::kVerifyFailed, c.reason, "x"));
    EXPECT_EQ(m.code, c.code) << c.diagnostic;
    EXPECT_EQ(Text(m.payload), c.diagnostic);
    ASSERT_NE(m.Find(opt::kMaxAge), nullptr);
    EXPECT_TRUE(m.Find(opt::kMaxAge)->value.empty());  // Max-Age 0
    EXPECT_EQ(m.Find(opt::kOscore), nullptr);          // not protected
  }
  EXPECT_EQ(ErrorResponse(Error(ErrorCode::kIo, "disk")).code, code::kInternalServerError);
}

TEST(OscoreContext, ParametersOutsideTheRfcAreRefused) {
  Bytes secret = H("0102030405060708090a0b0c0d0e0f10");
  EXPECT_FALSE(DeriveContext({.master_secret = {}, .sender_id = H("01")}));
  EXPECT_FALSE(DeriveContext({.master_secret = secret, .sender_id = Bytes(8, 1)}));  // > 7 (§3.3)
  EXPECT_FALSE(
      DeriveContext({.master_secret = secret, .sender_id = H("01"), .recipient_id = H("01")}));
  EXPECT_FALSE(
      DeriveContext({.master_secret = secret, .sender_id = H("01"), .id_context = Bytes(256, 0)}));
  auto unsupported = DeriveContext({.master_secret = secret, .sender_id = H("01"), .aead_alg = 99});
  ASSERT_FALSE(unsupported);
  EXPECT_EQ(unsupported.error().code(), ErrorCode::kUnsupported);
  MemorySequenceStore store;
  EXPECT_FALSE(SecurityContext::Create({.master_secret = secret, .sender_id = H("01")}, {}));
  EXPECT_FALSE(SecurityContext::Create({.master_secret = secret, .sender_id = H("01")},
                                       {.sequence_store = &store, .persist_interval = 0}));
}

}  // namespace
}  // namespace secprof::oscore
