// secprof::voucher: issue/verify round trips from a freshly manufactured factory, forgeries
// (another CA; a flipped byte anywhere), time (expired, future-dated, skew), binding (serial,
// domain), strict decoding (unknown labels, types, limits, encodings, truncation, other COSE
// messages), and the factory service's errors. A token-held vendor CA key (SoftHSM2) is covered
// when SoftHSM2 is installed.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <string>

#include "secprof/cbor/cbor.h"
#include "secprof/core/fs.h"
#include "secprof/cose/cose.h"
#include "secprof/crypto/hash.h"
#include "secprof/identity/identity.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/pkcs11_store.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/voucher/voucher.h"
#include "support/softhsm_fixture.h"
#include "testutil.h"

namespace secprof::voucher {
namespace {

namespace fs = std::filesystem;
using cbor::Value;
using testing::TempDir;

constexpr int64_t kT0 = 1717200000;  // 2024-06-01T00:00:00Z
const std::chrono::system_clock::time_point kStart{std::chrono::seconds{kT0}};

template <class T>
void ExpectError(const Result<T>& r, ErrorCode code, std::string_view text) {
  ASSERT_FALSE(r) << "expected failure containing: " << text;
  EXPECT_EQ(r.error().code(), code) << r.error().ToString();
  EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().ToString();
}

crypto::SoftwareSigner NewSigner(uint64_t seed, crypto::KeyType type = crypto::KeyType::kP256) {
  auto rng = crypto::FakeRandom::FromSeed(seed);
  auto sk = crypto::PrivateKey::Generate(type, rng);
  EXPECT_TRUE(sk);
  auto s = crypto::SoftwareSigner::Create(
      std::move(*sk), type == crypto::KeyType::kP256 ? crypto::SignatureAlgorithm::kEcdsaP256Sha256
                                                     : crypto::SignatureAlgorithm::kEd25519);
  EXPECT_TRUE(s);
  return std::move(*s);
}

identity::Certificate NewCa(crypto::Signer& key, const std::string& org) {
  FakeClock clock(kStart - std::chrono::hours(24));
  identity::CaOptions o;
  o.organization = org;
  auto c = identity::CreateDomainCa(key, o, clock);
  EXPECT_TRUE(c) << c.error().ToString();
  return *c;
}

identity::Certificate LoadCert(const fs::path& p) {
  auto pem = ReadFile(p.string());
  EXPECT_TRUE(pem) << p;
  auto c = identity::Certificate::FromPem(pem ? *pem : "");
  EXPECT_TRUE(c) << c.error().ToString();
  return *c;
}

// One factory (vendor "Acme", two things, file key store) and two owners' domain CAs for the
// whole suite.
class VoucherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    manufacture::Options o;
    o.vendor = "Acme";
    o.model = "LightBulb-9";
    o.count = 2;
    o.out_dir = (dir_->path() / "factory").string();
    FakeClock clock(kStart - std::chrono::hours(48));
    auto made = manufacture::Manufacture(o, clock);
    ASSERT_TRUE(made) << made.error().ToString();
    serials_ = new std::vector<std::string>;
    for (const auto& t : made->manifest.things) serials_->push_back(t.serial);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete serials_;
    dir_ = nullptr;
    serials_ = nullptr;
  }

  std::string factory() const { return (dir_->path() / "factory").string(); }
  identity::Certificate vendor_ca() const { return LoadCert(dir_->path() / "factory/ca/ca.pem"); }
  const std::string& serial(size_t i) const { return (*serials_)[i]; }

  // A signer over the factory's own vendor CA key (for hand-made vouchers).
  std::unique_ptr<crypto::Signer> VendorKey() const {
    keystore::FileKeyStoreOptions so;
    so.dir = factory() + "/ca/keystore";
    auto store = keystore::FileKeyStore::Open(std::move(so));
    EXPECT_TRUE(store);
    auto s = (*store)->GetSigner(manufacture::kCaKeyLabel);
    EXPECT_TRUE(s);
    return std::move(*s);
  }

  Bytes IssueAt(int64_t t, std::chrono::seconds validity = std::chrono::days(365),
                size_t thing = 0) {
    FakeClock clock(std::chrono::system_clock::time_point{std::chrono::seconds{t}});
    auto v = IssueFromFactory(factory(), serial(thing), domain_ca_, "Plant 7", validity, clock);
    EXPECT_TRUE(v) << v.error().ToString();
    return v ? *v : Bytes{};
  }

  Voucher Sample() const {
    Voucher v;
    v.serial = serial(0);
    v.vendor = "Acme";
    v.model = "LightBulb-9";
    v.owner = "Plant 7";
    v.domain_hash = DomainHash(domain_ca_);
    v.created = kT0;
    v.expires = kT0 + 86400;
    return v;
  }

  static TempDir* dir_;
  static std::vector<std::string>* serials_;
  crypto::SoftwareSigner domain_key_ = NewSigner(100);
  identity::Certificate domain_ca_ = NewCa(domain_key_, "Plant 7 Domain");
  crypto::SoftwareSigner other_domain_key_ = NewSigner(101);
  identity::Certificate other_domain_ca_ = NewCa(other_domain_key_, "Plant 7 Domain");
  FakeClock now_{kStart + std::chrono::hours(1)};
};
TempDir* VoucherTest::dir_ = nullptr;
std::vector<std::string>* VoucherTest::serials_ = nullptr;

// A COSE_Sign1 over an arbitrary payload with the voucher's protected header, signed by `key`
// (so only what the test changes is wrong).
Bytes SignRaw(crypto::Signer& key, ByteView payload, ByteView kid,
              std::string ctype = std::string(kContentType), bool tagged = true) {
  cose::Sign1Params p;
  p.alg = cose::kAlgEs256;
  p.protected_extra.Set(cose::label::kContentType, Value::Text(std::move(ctype)));
  p.protected_extra.Set(cose::label::kKid, Value::ByteString(kid));
  auto m = cose::CreateSign1WithSigner(key, payload, p);
  EXPECT_TRUE(m) << m.error().ToString();
  return cose::Encode(*m, tagged);
}

// The payload map of `v` with `edit` applied (entries in label order, as Issue writes them).
Bytes PayloadWith(const Voucher& v, const std::function<void(cbor::MapEntries&)>& edit) {
  cbor::MapEntries m = {
      {Value::Int(1), Value::Int(v.version)},
      {Value::Int(2), Value::Text(v.serial)},
      {Value::Int(3), Value::Text(v.vendor)},
      {Value::Int(4), Value::Text(v.model)},
      {Value::Int(5), Value::ByteString(v.domain_hash)},
      {Value::Int(6), Value::Int(v.created)},
      {Value::Int(7), Value::Int(v.expires)},
  };
  if (!v.owner.empty()) m.emplace_back(Value::Int(9), Value::Text(v.owner));
  edit(m);
  return cbor::Encode(Value::Map(std::move(m)), cbor::MapOrder::kPreserveOrder);
}

// ---- Round trips ---------------------------------------------------------------------------

TEST_F(VoucherTest, IssueFromFactoryVerifiesAndBinds) {
  const Bytes wire = IssueAt(kT0);
  ASSERT_FALSE(wire.empty());
  EXPECT_EQ(wire[0], 0xd2);  // tag 18, COSE_Sign1
  auto v = Verify(wire, vendor_ca(), now_);
  ASSERT_TRUE(v) << v.error().ToString();
  EXPECT_EQ(v->version, 1);
  EXPECT_EQ(v->serial, serial(0));
  EXPECT_EQ(v->vendor, "Acme");
  EXPECT_EQ(v->model, "LightBulb-9");
  EXPECT_EQ(v->owner, "Plant 7");
  EXPECT_EQ(v->domain_hash, DomainHash(domain_ca_));
  EXPECT_EQ(v->created, kT0);
  EXPECT_EQ(v->expires, kT0 + 365 * 86400);
  EXPECT_TRUE(v->nonce.empty());
  EXPECT_TRUE(CheckBinding(*v, serial(0), domain_ca_));

  auto sv = DecodeSigned(wire);
  ASSERT_TRUE(sv);
  EXPECT_EQ(sv->alg, cose::kAlgEs256);
  EXPECT_EQ(sv->kid, DomainHash(vendor_ca()));  // SHA-256 of the vendor CA's SPKI
  EXPECT_EQ(sv->signature.size(), 64u);
  EXPECT_EQ(sv->voucher, *v);

  // The domain hash is SHA-256 over the DER SPKI.
  auto d = crypto::Sha256(domain_ca_.public_key_der());
  ASSERT_TRUE(d);
  EXPECT_EQ(DomainHash(domain_ca_), Bytes(d->begin(), d->end()));
}

TEST_F(VoucherTest, IssueDecodeRoundTripWithNonceAndEd25519) {
  Voucher v = Sample();
  v.nonce = Bytes(16, 0x5a);
  v.owner.clear();
  auto key = VendorKey();
  auto wire = Issue(*key, v);
  ASSERT_TRUE(wire) << wire.error().ToString();
  auto back = Decode(*wire);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, v);

  // An Ed25519 vendor CA: EdDSA (RFC 9053 §2.2), deterministic.
  auto ed = NewSigner(7, crypto::KeyType::kEd25519);
  identity::Certificate ed_ca = NewCa(ed, "Acme");
  auto a = Issue(ed, v);
  auto b = Issue(ed, v);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  auto sv = DecodeSigned(*a);
  ASSERT_TRUE(sv);
  EXPECT_EQ(sv->alg, cose::kAlgEdDsa);
  auto ok = Verify(*a, ed_ca, now_);
  EXPECT_TRUE(ok) << ok.error().ToString();
}

TEST_F(VoucherTest, IssueRefusesInvalidVouchers) {
  auto key = VendorKey();
  auto bad = [&](const std::function<void(Voucher&)>& edit, std::string_view why) {
    Voucher v = Sample();
    edit(v);
    ExpectError(Issue(*key, v), ErrorCode::kInvalidInput, why);
  };
  bad([](Voucher& v) { v.version = 2; }, "version");
  bad([](Voucher& v) { v.serial.clear(); }, "serial");
  bad([](Voucher& v) { v.serial = std::string(65, 'x'); }, "serial");
  bad([](Voucher& v) { v.serial = "a\nb"; }, "control characters");
  bad([](Voucher& v) { v.vendor = "\xff\xfe"; }, "UTF-8");
  bad([](Voucher& v) { v.model.clear(); }, "model");
  bad([](Voucher& v) { v.owner = std::string(129, 'o'); }, "owner");
  bad([](Voucher& v) { v.domain_hash.pop_back(); }, "domain hash");
  bad([](Voucher& v) { v.expires = v.created; }, "must be after created");
  bad([](Voucher& v) { v.created = -1; }, "created");
  bad([](Voucher& v) { v.expires = kMaxTime + 1; }, "expires");
  bad([](Voucher& v) { v.nonce = Bytes(7, 1); }, "nonce");
  bad([](Voucher& v) { v.nonce = Bytes(65, 1); }, "nonce");
}

// ---- Forgeries -----------------------------------------------------------------------------

TEST_F(VoucherTest, SignedByAnotherCaIsRefused) {
  // Another manufacturer CA with the same name: its vouchers name another kid.
  auto rogue = NewSigner(55);
  identity::Certificate rogue_ca = NewCa(rogue, "Acme");
  auto forged = Issue(rogue, Sample());
  ASSERT_TRUE(forged);
  ExpectError(Verify(*forged, vendor_ca(), now_), ErrorCode::kVerifyFailed,
              "issued under another vendor CA");
  // ... also when the forger copies the genuine kid: then the signature does not verify.
  Voucher v = Sample();
  const Bytes payload = PayloadWith(v, [](cbor::MapEntries&) {});
  const Bytes copied_kid = DomainHash(vendor_ca());
  const Bytes forged2 = SignRaw(rogue, payload, copied_kid);
  ASSERT_TRUE(Decode(forged2)) << Decode(forged2).error().ToString();
  ExpectError(Verify(forged2, vendor_ca(), now_), ErrorCode::kVerifyFailed,
              "voucher signature does not verify");
  // And it verifies against its own (rogue) anchor, so the only difference is the key.
  EXPECT_TRUE(Verify(*forged, rogue_ca, now_));
}

TEST_F(VoucherTest, FlippedSignatureOrPayloadByteIsRefused) {
  const Bytes wire = IssueAt(kT0);
  ASSERT_GT(wire.size(), 64u);
  Bytes sig_flip = wire;
  sig_flip[wire.size() - 10] ^= 0x01;  // inside the 64-byte signature, the last item
  ExpectError(Verify(sig_flip, vendor_ca(), now_), ErrorCode::kVerifyFailed,
              "voucher signature does not verify");

  // A byte of the serial text inside the payload (still a valid voucher, only the signature
  // fails).
  const std::string s = serial(0);
  auto it = std::search(wire.begin(), wire.end(), s.begin(), s.end());
  ASSERT_NE(it, wire.end());
  Bytes payload_flip = wire;
  payload_flip[static_cast<size_t>(it - wire.begin()) + s.size() - 1] ^= 0x01;  // '1' -> '0'
  ASSERT_TRUE(Decode(payload_flip));
  ExpectError(Verify(payload_flip, vendor_ca(), now_), ErrorCode::kVerifyFailed,
              "voucher signature does not verify");

  // Every single-bit flip anywhere: never accepted, always a clear error of the two kinds.
  for (size_t i = 0; i < wire.size(); ++i) {
    for (uint8_t bit : {0x01, 0x80}) {
      Bytes b = wire;
      b[i] ^= bit;
      auto r = Verify(b, vendor_ca(), now_);
      ASSERT_FALSE(r) << "flip at " << i << " accepted";
      EXPECT_TRUE(r.error().code() == ErrorCode::kVerifyFailed ||
                  r.error().code() == ErrorCode::kInvalidInput)
          << i << ": " << r.error().ToString();
    }
  }
}

TEST_F(VoucherTest, VendorMustBeTheCaOrganization) {
  Voucher v = Sample();
  v.vendor = "Acme Clone";
  auto key = VendorKey();
  auto wire = Issue(*key, v);
  ASSERT_TRUE(wire);
  ExpectError(Verify(*wire, vendor_ca(), now_), ErrorCode::kVerifyFailed, "vendor 'Acme Clone'");
}

TEST_F(VoucherTest, AnchorMustBeACa) {
  const Bytes wire = IssueAt(kT0);
  identity::Certificate idevid =
      LoadCert(fs::path(factory()) / "things" / serial(0) / "idevid.pem");
  ExpectError(Verify(wire, idevid, now_), ErrorCode::kVerifyFailed, "not a CA certificate");
}

// ---- Time ----------------------------------------------------------------------------------

TEST_F(VoucherTest, ExpiredAndFutureDated) {
  const Bytes wire = IssueAt(kT0, std::chrono::seconds(3600));
  FakeClock clock(kStart);
  EXPECT_TRUE(Verify(wire, vendor_ca(), clock));
  clock.Advance(std::chrono::seconds(3599));
  EXPECT_TRUE(Verify(wire, vendor_ca(), clock));
  clock.Advance(std::chrono::seconds(1));  // now == expires
  ExpectError(Verify(wire, vendor_ca(), clock), ErrorCode::kVerifyFailed,
              "voucher expired at 2024-06-01T01:00:00Z");

  // Created in the future: 300 s of skew are allowed, 301 are not.
  FakeClock early(kStart - kAllowedSkew);
  EXPECT_TRUE(Verify(wire, vendor_ca(), early));
  early.Advance(-std::chrono::seconds(1));
  ExpectError(Verify(wire, vendor_ca(), early), ErrorCode::kVerifyFailed,
              "voucher created in the future, at 2024-06-01T00:00:00Z");
}

TEST(VoucherTime, FormatTimeIsRfc3339Utc) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(kT0), "2024-06-01T00:00:00Z");
  EXPECT_EQ(FormatTime(951782400 + 86399), "2000-02-29T23:59:59Z");
  EXPECT_EQ(FormatTime(kMaxTime), "9999-12-31T23:59:59Z");
}

// ---- Binding -------------------------------------------------------------------------------

TEST_F(VoucherTest, WrongSerialOrDomainIsRefused) {
  auto v = Verify(IssueAt(kT0), vendor_ca(), now_);
  ASSERT_TRUE(v);
  EXPECT_TRUE(CheckBinding(*v, serial(0), domain_ca_));
  ExpectError(CheckBinding(*v, serial(1), domain_ca_), ErrorCode::kVerifyFailed,
              "voucher is for serial '" + serial(0) + "', not '" + serial(1) + "'");
  // Same name, another key: the pin is on the key, not the name.
  ExpectError(CheckBinding(*v, serial(0), other_domain_ca_), ErrorCode::kVerifyFailed,
              "voucher pins another domain");
  // The vendor CA is no domain CA either.
  ExpectError(CheckBinding(*v, serial(0), vendor_ca()), ErrorCode::kVerifyFailed,
              "pins another domain");
}

// ---- Strict decoding -----------------------------------------------------------------------

TEST_F(VoucherTest, PayloadLabelsTypesAndEncodingAreStrict) {
  auto key = VendorKey();
  const Bytes kid = DomainHash(vendor_ca());
  const Voucher v = Sample();
  // The unedited payload decodes (the helper matches Issue).
  ASSERT_TRUE(Decode(SignRaw(*key, PayloadWith(v, [](cbor::MapEntries&) {}), kid)));

  struct Case {
    std::function<void(cbor::MapEntries&)> edit;
    std::string why;
  };
  const std::vector<Case> cases = {
      {[](auto& m) { m.emplace_back(Value::Int(10), Value::Int(1)); }, "unknown label 10"},
      {[](auto& m) { m.emplace_back(Value::Int(-1), Value::Int(1)); }, "unknown label -1"},
      {[](auto& m) { m.emplace_back(Value::Int(0), Value::Int(1)); }, "unknown label 0"},
      {[](auto& m) { m.emplace_back(Value::Text("serial"), Value::Int(1)); },
       "unknown label \"serial\""},
      {[](auto& m) { m.erase(m.begin() + 1); }, "required label 2 (serial) is missing"},
      {[](auto& m) { m.erase(m.begin() + 4); }, "required label 5 (domain) is missing"},
      {[](auto& m) { m.erase(m.begin() + 6); }, "required label 7 (expires) is missing"},
      {[](auto& m) { m[0].second = Value::Int(2); }, "unsupported version 2"},
      {[](auto& m) { m[0].second = Value::Text("1"); }, "label 1 must be an unsigned integer"},
      {[](auto& m) { m[1].second = Value::ByteString(Bytes{'a'}); },
       "label 2 must be a text string"},
      {[](auto& m) { m[4].second = Value::Text("hash"); }, "label 5 must be a byte string"},
      {[](auto& m) { m[4].second = Value::ByteString(Bytes(33, 1)); }, "domain hash"},
      {[](auto& m) { m[5].second = Value::Int(-5); }, "label 6 must be an unsigned integer"},
      {[](auto& m) { m[5].second = Value::Float(1.5); }, "label 6 must be an unsigned integer"},
      {[](auto& m) { m[6].second = Value::Unsigned(UINT64_MAX); }, "is beyond"},
      {[](auto& m) { m.emplace_back(Value::Int(8), Value::ByteString(Bytes{})); },
       "nonce is present but empty"},
      {[](auto& m) { m.back().second = Value::Text(""); }, "owner is present but empty"},
      {[](auto& m) { m[1].second = Value::Text("sn\x1b[31m"); }, "control characters"},
      {[](auto& m) { std::swap(m[0], m[1]); }, "not deterministically encoded"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    const Bytes wire = SignRaw(*key, PayloadWith(v, c.edit), kid);
    ExpectError(Decode(wire), ErrorCode::kInvalidInput, c.why);
    ExpectError(Verify(wire, vendor_ca(), now_), ErrorCode::kInvalidInput, c.why);
  }

  // A payload that is not a map, or not even CBOR, or a map nested in a value.
  ExpectError(Decode(SignRaw(*key, cbor::Encode(Value::MakeArray({})), kid)),
              ErrorCode::kInvalidInput, "payload must be a map");
  ExpectError(Decode(SignRaw(*key, Bytes{0x18}, kid)), ErrorCode::kInvalidInput, "payload");
  ExpectError(
      Decode(SignRaw(*key, PayloadWith(v, [](auto& m) { m[3].second = Value::Map(); }), kid)),
      ErrorCode::kInvalidInput, "label 4 must be a text string");
  // Non-preferred integer head (created as a 64-bit head): same value, other bytes.
  Bytes payload = PayloadWith(v, [](cbor::MapEntries&) {});
  Bytes created_head = cbor::Encode(Value::Int(v.created));  // 1a xx xx xx xx
  auto pos = std::search(payload.begin(), payload.end(), created_head.begin(), created_head.end());
  ASSERT_NE(pos, payload.end());
  Bytes longer(payload.begin(), pos);
  longer.insert(longer.end(), {0x1b, 0, 0, 0, 0});
  longer.insert(longer.end(), pos + 1, payload.end());
  ExpectError(Decode(SignRaw(*key, longer, kid)), ErrorCode::kInvalidInput,
              "not deterministically encoded");
}

TEST_F(VoucherTest, EnvelopeIsStrict) {
  auto key = VendorKey();
  const Bytes kid = DomainHash(vendor_ca());
  const Bytes payload = PayloadWith(Sample(), [](cbor::MapEntries&) {});

  ExpectError(Decode(SignRaw(*key, payload, kid, std::string(kContentType), /*tagged=*/false)),
              ErrorCode::kInvalidInput, "not a tagged COSE_Sign1");
  ExpectError(Decode(SignRaw(*key, payload, kid, "application/cbor")), ErrorCode::kInvalidInput,
              "content type");
  ExpectError(Decode(SignRaw(*key, payload, Bytes(16, 1))), ErrorCode::kInvalidInput,
              "kid must be a 32-byte SHA-256");

  auto with = [&](const std::function<void(cose::Sign1Params&)>& edit) {
    cose::Sign1Params p;
    p.protected_extra.Set(cose::label::kContentType, Value::Text(std::string(kContentType)));
    p.protected_extra.Set(cose::label::kKid, Value::ByteString(kid));
    edit(p);
    auto m = cose::CreateSign1WithSigner(*key, payload, p);
    EXPECT_TRUE(m) << m.error().ToString();
    return cose::Encode(*m);
  };
  ExpectError(Decode(with([](auto& p) { p.unprotected.Set(33, Value::Int(1)); })),
              ErrorCode::kInvalidInput, "unprotected header must be empty");
  ExpectError(Decode(with([](auto& p) {
                p.protected_extra.Set(cose::label::kIv, Value::ByteString(Bytes(12)));
              })),
              ErrorCode::kInvalidInput, "unexpected parameter 5");
  ExpectError(Decode(with([](auto& p) { p.detached = true; })), ErrorCode::kInvalidInput,
              "detached payload");
  ExpectError(Decode(with([](auto& p) { p.protected_extra = cose::HeaderMap(); })),
              ErrorCode::kInvalidInput, "must hold alg (1), content type (3) and kid (4)");
}

TEST_F(VoucherTest, TruncatedInputIsMalformed) {
  const Bytes wire = IssueAt(kT0);
  for (size_t n = 0; n < wire.size(); ++n) {
    auto r = Decode(ByteView(wire.data(), n));
    ASSERT_FALSE(r) << "prefix of " << n << " bytes decoded";
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput) << n << ": " << r.error().ToString();
  }
  Bytes trailing = wire;
  trailing.push_back(0x00);
  ExpectError(Decode(trailing), ErrorCode::kInvalidInput, "trailing");
  ExpectError(Decode(Bytes(kMaxVoucherSize + 1, 0)), ErrorCode::kInvalidInput, "limit");
}

TEST_F(VoucherTest, OtherMessagesAreNotVouchers) {
  ExpectError(Decode({}), ErrorCode::kInvalidInput, "empty input");
  const std::string json = "{\"ietf-voucher:voucher\": {}}";
  ExpectError(Decode(Bytes(json.begin(), json.end())), ErrorCode::kInvalidInput,
              "not a tagged COSE_Sign1");
  ExpectError(Decode(cbor::Encode(Value::Map())), ErrorCode::kInvalidInput,
              "not a tagged COSE_Sign1");
  // A COSE_Mac0 (tag 17) over a valid payload.
  cose::Mac0Params mp;
  auto mac = cose::CreateMac0(cose::SymmetricKey(Bytes(32, 7)),
                              PayloadWith(Sample(), [](cbor::MapEntries&) {}), mp);
  ASSERT_TRUE(mac);
  ExpectError(Decode(cose::Encode(*mac)), ErrorCode::kInvalidInput, "not a tagged COSE_Sign1");
  // A COSE_Sign1 tag around the wrong shape.
  ExpectError(Decode(cbor::Encode(Value::Tag(18, Value::MakeArray({Value::Int(1)})))),
              ErrorCode::kInvalidInput, "not a tagged COSE_Sign1");
}

// ---- The factory service -------------------------------------------------------------------

std::set<std::string> Listing(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out.insert(e.path().string() + ":" +
               (e.is_regular_file() ? std::to_string(fs::file_size(e.path())) : "d"));
  return out;
}

TEST_F(VoucherTest, FactoryErrorsChangeNothing) {
  const auto before = Listing(factory());
  ExpectError(
      IssueFromFactory(factory(), "no-such-serial", domain_ca_, "", std::chrono::days(1), now_),
      ErrorCode::kNotFound, "serial no-such-serial is not in " + factory() + "/manifest.json");
  ExpectError(IssueFromFactory(factory(), serial(0), domain_ca_, "", std::chrono::seconds(0), now_),
              ErrorCode::kInvalidInput, "validity");
  ExpectError(
      IssueFromFactory(factory(), serial(0), domain_ca_, "", std::chrono::days(40000), now_),
      ErrorCode::kInvalidInput, "validity");
  ExpectError(
      IssueFromFactory(factory(), serial(0), domain_ca_, "bad\towner", std::chrono::days(1), now_),
      ErrorCode::kInvalidInput, "owner");
  ASSERT_TRUE(IssueFromFactory(factory(), serial(1), domain_ca_, "", std::chrono::days(1), now_));
  EXPECT_EQ(Listing(factory()), before);

  // A directory that is not a factory: nothing is created in it.
  TempDir empty;
  ExpectError(Factory::Open(empty.path().string()), ErrorCode::kNotFound, "manifest.json");
  EXPECT_TRUE(fs::is_empty(empty.path()));
  // A factory whose CA key store is gone: kNotFound, and no new store or KEK is made.
  TempDir copy;
  fs::copy(factory(), copy.path() / "f", fs::copy_options::recursive);
  fs::remove_all(copy.path() / "f/ca/keystore");
  ExpectError(Factory::Open((copy.path() / "f").string()), ErrorCode::kNotFound,
              "no vendor CA key store");
  EXPECT_FALSE(fs::exists(copy.path() / "f/ca/keystore"));
}

TEST_F(VoucherTest, FactoryListsSerialsAndChecksTheCa) {
  auto f = Factory::Open(factory());
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(f->serials(), *serials_);
  EXPECT_EQ(f->vendor_ca(), vendor_ca());
  for (const auto& s : f->serials()) {
    auto w = f->Issue(s, domain_ca_, "Plant 7", std::chrono::days(30), now_);
    ASSERT_TRUE(w) << w.error().ToString();
    auto v = Verify(*w, f->vendor_ca(), now_);
    ASSERT_TRUE(v);
    EXPECT_TRUE(CheckBinding(*v, s, domain_ca_));
  }
  // A ca.pem replaced by another CA's certificate is refused.
  TempDir copy;
  fs::copy(factory(), copy.path() / "f", fs::copy_options::recursive);
  auto other = NewSigner(77);
  ASSERT_TRUE(
      WriteFileAtomic((copy.path() / "f/ca/ca.pem").string(), NewCa(other, "Acme").ToPem()));
  auto r = Factory::Open((copy.path() / "f").string());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict) << r.error().ToString();
}

// A vendor CA whose key never leaves a PKCS#11 token (SecProf_3/4): Issue goes through the token's
// Signer and cose::CreateSign1WithSigner.
TEST_F(VoucherTest, TokenHeldVendorKey) {
  SECPROF_REQUIRE_SOFTHSM();
  testing::SoftHsmToken token;
  ASSERT_TRUE(token.ok()) << token.init_output();
  auto store = keystore::Pkcs11KeyStore::Open(token.Options());
  ASSERT_TRUE(store) << store.error().ToString();
  ASSERT_TRUE((*store)->GenerateKey("vendor-ca", crypto::KeyType::kP256));
  for (auto alg : {crypto::SignatureAlgorithm::kEcdsaP256Sha256,
                   crypto::SignatureAlgorithm::kEcdsaP256Sha256Der}) {
    auto signer = (*store)->GetSigner("vendor-ca", alg);
    ASSERT_TRUE(signer) << signer.error().ToString();
    identity::Certificate ca = NewCa(**signer, "Acme");
    auto wire = Issue(**signer, Sample());
    ASSERT_TRUE(wire) << wire.error().ToString();
    auto v = Verify(*wire, ca, now_);
    ASSERT_TRUE(v) << v.error().ToString();
    EXPECT_EQ(DecodeSigned(*wire)->signature.size(), 64u);
    ExpectError(Verify(*wire, vendor_ca(), now_), ErrorCode::kVerifyFailed, "another vendor CA");
  }
}

}  // namespace
}  // namespace secprof::voucher
