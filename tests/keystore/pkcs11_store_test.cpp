// Pkcs11KeyStore specifics, each on a throw-away SoftHSM2 token. The non-extractability checks go
// around our store: they open the token with the raw PKCS#11 API and ask it for the key.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <p11-kit/pkcs11.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "secprof/crypto/random.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/pkcs11_store.h"
#include "support/softhsm_fixture.h"

namespace secprof::keystore {
namespace {

using crypto::KeyType;
using testing::SoftHsmToken;

class Pkcs11Test : public ::testing::Test {
 protected:
  void SetUp() override {
    SECPROF_REQUIRE_SOFTHSM();
    token_ = std::make_unique<SoftHsmToken>();
    ASSERT_TRUE(token_->ok()) << token_->init_output();
  }
  std::unique_ptr<Pkcs11KeyStore> Open() {
    auto s = Pkcs11KeyStore::Open(token_->Options());
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? std::move(*s) : nullptr;
  }
  std::unique_ptr<SoftHsmToken> token_;
};

TEST_F(Pkcs11Test, ExportIsRefused) {
  auto store = Open();
  ASSERT_TRUE(store->GenerateKey("idevid", KeyType::kP256));
  auto r = store->ExportPrivate("idevid");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message().find("non-extractable"), std::string::npos);
}

TEST_F(Pkcs11Test, OnlyP256) {
  auto store = Open();
  for (auto t : {KeyType::kEd25519, KeyType::kX25519}) {
    auto r = store->GenerateKey("other", t);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  }
  EXPECT_TRUE(store->List()->empty());
}

TEST_F(Pkcs11Test, WrongPinUnknownTokenAndMissingModuleAreRefused) {
  auto o = token_->Options();
  o.pin = keystore::Pin("0000");
  auto r = Pkcs11KeyStore::Open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message().find("CKR_PIN_INCORRECT"), std::string::npos);

  o = token_->Options();
  o.pin = keystore::Pin();  // none given: refused by name, not as the module's CKR_ARGUMENTS_BAD
  r = Pkcs11KeyStore::Open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message().find("no user PIN"), std::string::npos) << r.error().message();

  o = token_->Options();
  o.token_label = "no-such-token";
  r = Pkcs11KeyStore::Open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("secprof-test"), std::string::npos);  // names what it saw

  o = token_->Options();
  o.module_path = (token_->dir() / "missing.so").string();
  r = Pkcs11KeyStore::Open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);

  o.module_path = token_->conf().string();  // exists, but is no shared object
  r = Pkcs11KeyStore::Open(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCrypto);
}

TEST_F(Pkcs11Test, SecondStoreSharesTheLoginButStillNeedsTheRightPin) {
  auto a = Open();
  ASSERT_TRUE(a);
  auto o = token_->Options();
  o.pin = keystore::Pin("9999");
  auto bad = Pkcs11KeyStore::Open(o);
  ASSERT_FALSE(bad);  // the live login must not let a wrong PIN in
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
  auto b = Open();
  ASSERT_TRUE(b);
  ASSERT_TRUE(a->GenerateKey("shared", KeyType::kP256));
  a.reset();  // b keeps the login alive
  auto signer = b->GetSigner("shared");
  ASSERT_TRUE(signer) << signer.error().ToString();
  EXPECT_TRUE((*signer)->Sign(crypto::Bytes{1, 2, 3}));
}

TEST_F(Pkcs11Test, KeysLiveInTheTokenDirectoryOnly) {
  auto store = Open();
  ASSERT_TRUE(store->GenerateKey("where", KeyType::kP256));
  store.reset();
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(token_->tokens()))
    files += e.is_regular_file();
  EXPECT_GT(files, 2u);  // token metadata plus two key objects
}

// ---- the token itself, without our store ---------------------------------------------------

// A minimal raw PKCS#11 client for the checks below. Everything is released in the destructor.
class RawToken {
 public:
  explicit RawToken(const std::string& label) {
    handle_ = ::dlopen(kDefaultPkcs11Module, RTLD_NOW | RTLD_LOCAL);
    if (!handle_) return;
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle_, "C_GetFunctionList"));
    if (!get || get(&f_) != CKR_OK) return;
    if (f_->C_Initialize(nullptr) != CKR_OK) return;
    initialized_ = true;
    CK_ULONG n = 0;
    f_->C_GetSlotList(CK_TRUE, nullptr, &n);
    std::vector<CK_SLOT_ID> slots(n);
    f_->C_GetSlotList(CK_TRUE, slots.data(), &n);
    for (CK_SLOT_ID s : slots) {
      CK_TOKEN_INFO info{};
      if (f_->C_GetTokenInfo(s, &info) != CKR_OK) continue;
      std::string l(reinterpret_cast<char*>(info.label), sizeof info.label);
      l.erase(l.find_last_not_of(' ') + 1);
      if (l != label) continue;
      if (f_->C_OpenSession(s, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session_) !=
          CKR_OK)
        return;
      open_ = true;
      std::string pin = testing::kTestPin;
      logged_in_ = f_->C_Login(session_, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin.data()),
                               pin.size()) == CKR_OK;
    }
  }
  ~RawToken() {
    if (logged_in_) f_->C_Logout(session_);
    if (open_) f_->C_CloseSession(session_);
    if (initialized_) f_->C_Finalize(nullptr);
    if (handle_) ::dlclose(handle_);
  }
  bool ready() const { return logged_in_; }
  CK_FUNCTION_LIST* f() const { return f_; }
  CK_SESSION_HANDLE session() const { return session_; }

  CK_OBJECT_HANDLE Find(CK_OBJECT_CLASS cls, const std::string& label) {
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    f_->C_FindObjectsInit(session_, t, 2);
    f_->C_FindObjects(session_, &h, 1, &n);
    f_->C_FindObjectsFinal(session_);
    return n == 1 ? h : CK_INVALID_HANDLE;
  }
  CK_BBOOL Bool(CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
    CK_BBOOL v = 0xff;
    CK_ATTRIBUTE a{type, &v, sizeof v};
    EXPECT_EQ(f_->C_GetAttributeValue(session_, h, &a, 1), CKR_OK) << type;
    return v;
  }

 private:
  void* handle_ = nullptr;
  CK_FUNCTION_LIST* f_ = nullptr;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
  bool initialized_ = false, open_ = false, logged_in_ = false;
};

TEST_F(Pkcs11Test, TheTokenRefusesToRevealThePrivateValue) {
  {
    auto store = Open();
    ASSERT_TRUE(store->GenerateKey("sealed", KeyType::kP256));
  }  // store closed: the module is finalised, so the raw client can initialise it itself
  RawToken raw(testing::kTestTokenLabel);
  ASSERT_TRUE(raw.ready());
  CK_OBJECT_HANDLE priv = raw.Find(CKO_PRIVATE_KEY, "sealed");
  ASSERT_NE(priv, CK_INVALID_HANDLE);

  // base §5.7 C_GetAttributeValue: a sensitive or unextractable attribute gives
  // CKR_ATTRIBUTE_SENSITIVE and ulValueLen = CK_UNAVAILABLE_INFORMATION.
  uint8_t buf[128];
  CK_ATTRIBUTE value{CKA_VALUE, buf, sizeof buf};
  EXPECT_EQ(raw.f()->C_GetAttributeValue(raw.session(), priv, &value, 1), CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(value.ulValueLen, CK_UNAVAILABLE_INFORMATION);

  EXPECT_EQ(raw.Bool(priv, CKA_SENSITIVE), CK_TRUE);
  EXPECT_EQ(raw.Bool(priv, CKA_EXTRACTABLE), CK_FALSE);
  EXPECT_EQ(raw.Bool(priv, CKA_ALWAYS_SENSITIVE), CK_TRUE);
  EXPECT_EQ(raw.Bool(priv, CKA_NEVER_EXTRACTABLE), CK_TRUE);
  EXPECT_EQ(raw.Bool(priv, CKA_TOKEN), CK_TRUE);
  EXPECT_EQ(raw.Bool(priv, CKA_PRIVATE), CK_TRUE);
  EXPECT_EQ(raw.Bool(priv, CKA_SIGN), CK_TRUE);
  EXPECT_EQ(raw.Bool(priv, CKA_DERIVE), CK_TRUE);
  EXPECT_EQ(raw.Bool(priv, CKA_DECRYPT), CK_FALSE);  // usage limited to what the key is for
  EXPECT_EQ(raw.Bool(priv, CKA_UNWRAP), CK_FALSE);

  // base §4.9: CKA_EXTRACTABLE can only go from true to false, CKA_SENSITIVE from false to true.
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ATTRIBUTE make_extractable{CKA_EXTRACTABLE, &yes, sizeof yes};
  EXPECT_NE(raw.f()->C_SetAttributeValue(raw.session(), priv, &make_extractable, 1), CKR_OK);
  CK_ATTRIBUTE make_plain{CKA_SENSITIVE, &no, sizeof no};
  EXPECT_NE(raw.f()->C_SetAttributeValue(raw.session(), priv, &make_plain, 1), CKR_OK);
  EXPECT_EQ(raw.Bool(priv, CKA_EXTRACTABLE), CK_FALSE);

  // Nor can it be wrapped out under a key we know (C_WrapKey, base §5.14): CKR_KEY_UNEXTRACTABLE.
  CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
  CK_KEY_TYPE aes = CKK_AES;
  CK_ULONG len = 32;
  CK_ATTRIBUTE wt[] = {{CKA_CLASS, &sk, sizeof sk},       {CKA_KEY_TYPE, &aes, sizeof aes},
                       {CKA_VALUE_LEN, &len, sizeof len}, {CKA_WRAP, &yes, sizeof yes},
                       {CKA_TOKEN, &no, sizeof no},       {CKA_EXTRACTABLE, &yes, sizeof yes}};
  CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_HANDLE wrapping = CK_INVALID_HANDLE;
  ASSERT_EQ(raw.f()->C_GenerateKey(raw.session(), &gen, wt, 6, &wrapping), CKR_OK);
  CK_MECHANISM wrap{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  uint8_t wrapped[512];
  CK_ULONG wrapped_len = sizeof wrapped;
  EXPECT_EQ(raw.f()->C_WrapKey(raw.session(), &wrap, wrapping, priv, wrapped, &wrapped_len),
            CKR_KEY_UNEXTRACTABLE);
}

TEST_F(Pkcs11Test, PublicHalfIsAPlainTokenObject) {
  std::optional<crypto::PublicKey> pub;
  {
    auto store = Open();
    auto g = store->GenerateKey("pubcheck", KeyType::kP256);
    ASSERT_TRUE(g);
    pub = *g;
  }
  RawToken raw(testing::kTestTokenLabel);
  ASSERT_TRUE(raw.ready());
  CK_OBJECT_HANDLE h = raw.Find(CKO_PUBLIC_KEY, "pubcheck");
  ASSERT_NE(h, CK_INVALID_HANDLE);
  uint8_t point[80];
  CK_ATTRIBUTE a{CKA_EC_POINT, point, sizeof point};
  ASSERT_EQ(raw.f()->C_GetAttributeValue(raw.session(), h, &a, 1), CKR_OK);
  auto expected = pub->ToRaw();
  ASSERT_TRUE(expected);
  // DER OCTET STRING around the uncompressed point (mech §2.3.3).
  ASSERT_EQ(a.ulValueLen, 67u);
  EXPECT_EQ(point[0], 0x04);
  EXPECT_EQ(point[1], 65);
  EXPECT_EQ(std::memcmp(point + 2, expected->data(), 65), 0);
  // CKA_ID = the label (how other PKCS#11 tools pair the halves).
  char id[64];
  CK_ATTRIBUTE ida{CKA_ID, id, sizeof id};
  ASSERT_EQ(raw.f()->C_GetAttributeValue(raw.session(), h, &ida, 1), CKR_OK);
  EXPECT_EQ(std::string(id, ida.ulValueLen), "pubcheck");
}

// Issue 9 item 12: the sealing key of a token thing seals and unseals in the token, refuses a
// wrong context or a modified blob, and its value cannot be read out.
TEST_F(Pkcs11Test, SealingKeyWorksInTheTokenAndCannotBeRead) {
  {
    auto store = Open();
    ASSERT_TRUE(store->GenerateSealingKey("kek-thing"));
    EXPECT_EQ(store->GenerateSealingKey("kek-thing").error().code(), ErrorCode::kConflict);
    auto has = store->HasSealingKey("kek-thing");
    ASSERT_TRUE(has);
    EXPECT_TRUE(*has);
    const crypto::Bytes secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
    const crypto::Bytes aad = {'c', 't', 'x'};
    auto sealed = store->Seal("kek-thing", aad, secret, crypto::SystemRandomSource());
    ASSERT_TRUE(sealed) << sealed.error().ToString();
    EXPECT_EQ(sealed->size(), 12 + secret.size() + 16);
    auto opened = store->Unseal("kek-thing", aad, *sealed);
    ASSERT_TRUE(opened) << opened.error().ToString();
    EXPECT_EQ(crypto::Bytes(opened->data(), opened->data() + opened->size()), secret);
    auto other = store->Seal("kek-thing", aad, secret, crypto::SystemRandomSource());
    ASSERT_TRUE(other);
    EXPECT_NE(*other, *sealed);  // a fresh nonce each time
    EXPECT_EQ(store->Unseal("kek-thing", crypto::Bytes{'x'}, *sealed).error().code(),
              ErrorCode::kVerifyFailed);
    crypto::Bytes tampered = *sealed;
    tampered[14] ^= 1;
    EXPECT_EQ(store->Unseal("kek-thing", aad, tampered).error().code(), ErrorCode::kVerifyFailed);
    EXPECT_EQ(store->Unseal("nope", aad, *sealed).error().code(), ErrorCode::kNotFound);
  }
  RawToken raw(testing::kTestTokenLabel);
  ASSERT_TRUE(raw.ready());
  CK_OBJECT_HANDLE key = raw.Find(CKO_SECRET_KEY, "kek-thing");
  ASSERT_NE(key, CK_INVALID_HANDLE);
  uint8_t buf[64];
  CK_ATTRIBUTE value{CKA_VALUE, buf, sizeof buf};
  EXPECT_EQ(raw.f()->C_GetAttributeValue(raw.session(), key, &value, 1), CKR_ATTRIBUTE_SENSITIVE);
  EXPECT_EQ(raw.Bool(key, CKA_EXTRACTABLE), CK_FALSE);
  EXPECT_EQ(raw.Bool(key, CKA_SENSITIVE), CK_TRUE);
  EXPECT_EQ(raw.Bool(key, CKA_WRAP), CK_FALSE);
}

}  // namespace
}  // namespace secprof::keystore
