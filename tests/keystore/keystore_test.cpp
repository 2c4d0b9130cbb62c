// Behaviour both key stores share, run against each (parameterised), and label validation.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "secprof/crypto/keys.h"
#include "secprof/keystore/file_store.h"
#include "secprof/keystore/keystore.h"
#include "secprof/keystore/pkcs11_store.h"
#include "support/softhsm_fixture.h"
#include "testutil.h"

namespace secprof::keystore {
namespace {

using crypto::Bytes;
using crypto::KeyType;
using crypto::SignatureAlgorithm;
using testing::SoftHsmToken;
using testing::TempDir;

const Bytes kMessage = {'m', 'a', 'n', 'u', 'f', 'a', 'c', 't', 'u', 'r', 'e', 'd'};

TEST(Label, AcceptsPortableNames) {
  for (const char* ok : {"a", "idevid-0001", "vendor.ca", "A_b-9.x", "x.key"})
    EXPECT_TRUE(ValidateLabel(ok)) << ok;
  EXPECT_TRUE(ValidateLabel(std::string(kMaxLabelLength, 'k')));
}

TEST(Label, RefusesPathsHiddenAndOdd) {
  for (const char* bad : {"", "../x", "a/b", "/abs", ".hidden", "..", "-rf", "a b", "a\\b",
                          "caf\xc3\xa9", "a\nb", "a:b", "a*"}) {
    auto st = ValidateLabel(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidInput);
    EXPECT_NE(st.error().message().find("invalid key label"), std::string::npos);
  }
  EXPECT_FALSE(ValidateLabel(std::string(kMaxLabelLength + 1, 'k')));
  EXPECT_FALSE(ValidateLabel(std::string("a\0b", 3)));
}

TEST(StoreKind, ParsesItsNames) {
  EXPECT_EQ(*ParseStoreKind("file"), StoreKind::kFile);
  EXPECT_EQ(*ParseStoreKind("pkcs11"), StoreKind::kPkcs11);
  EXPECT_STREQ(StoreKindName(StoreKind::kPkcs11), "pkcs11");
  EXPECT_FALSE(ParseStoreKind("tpm"));
}

// Makes a store of either kind on a private directory or throw-away token, and re-opens it.
class StoreTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (GetParam() == StoreKind::kPkcs11) {
      SECPROF_REQUIRE_SOFTHSM();
      token_.emplace();
      ASSERT_TRUE(token_->ok()) << token_->init_output();
    }
    Reopen();
  }
  void TearDown() override { store_.reset(); }

  void Reopen() {
    store_.reset();
    if (GetParam() == StoreKind::kFile) {
      FileKeyStoreOptions o;
      o.dir = (dir_.path() / "keys").string();
      auto s = FileKeyStore::Open(std::move(o));
      ASSERT_TRUE(s) << s.error().ToString();
      store_ = std::move(*s);
    } else {
      auto s = Pkcs11KeyStore::Open(token_->Options());
      ASSERT_TRUE(s) << s.error().ToString();
      store_ = std::move(*s);
    }
  }

  TempDir dir_;
  std::optional<SoftHsmToken> token_;
  std::unique_ptr<KeyStore> store_;
};

TEST_P(StoreTest, KindMatches) {
  EXPECT_EQ(store_->Kind(), GetParam());
  EXPECT_EQ(store_->Describe().rfind(StoreKindName(GetParam()), 0), 0u) << store_->Describe();
}

TEST_P(StoreTest, GeneratedP256KeySignsAndThePublicKeyVerifies) {
  auto pub = store_->GenerateKey("dev-1", KeyType::kP256);
  ASSERT_TRUE(pub) << pub.error().ToString();
  EXPECT_EQ(pub->type(), KeyType::kP256);
  for (auto alg : {SignatureAlgorithm::kEcdsaP256Sha256, SignatureAlgorithm::kEcdsaP256Sha256Der}) {
    auto signer = store_->GetSigner("dev-1", alg);
    ASSERT_TRUE(signer) << signer.error().ToString();
    EXPECT_EQ((*signer)->algorithm(), alg);
    EXPECT_EQ((*signer)->public_key(), *pub);
    auto sig = (*signer)->Sign(kMessage);
    ASSERT_TRUE(sig) << sig.error().ToString();
    if (alg == SignatureAlgorithm::kEcdsaP256Sha256) {
      EXPECT_EQ(sig->size(), 64u);
    }
    EXPECT_TRUE(pub->Verify(alg, kMessage, *sig));
    Bytes other = kMessage;
    other[0] ^= 1;
    EXPECT_FALSE(pub->Verify(alg, other, *sig));  // the signature is over this message
  }
  auto def = store_->GetSigner("dev-1");  // the natural algorithm: raw r||s
  ASSERT_TRUE(def);
  EXPECT_EQ((*def)->algorithm(), SignatureAlgorithm::kEcdsaP256Sha256);
  EXPECT_FALSE(store_->GetSigner("dev-1", SignatureAlgorithm::kEd25519));
}

TEST_P(StoreTest, EcdhAgreesWithTheSoftwareSide) {
  auto pub = store_->GenerateKey("kdc-peer", KeyType::kP256);
  ASSERT_TRUE(pub) << pub.error().ToString();
  auto agreement = store_->GetKeyAgreement("kdc-peer");
  ASSERT_TRUE(agreement) << agreement.error().ToString();
  EXPECT_EQ((*agreement)->type(), KeyType::kP256);
  auto peer = crypto::PrivateKey::Generate(KeyType::kP256);
  ASSERT_TRUE(peer);
  auto ours = (*agreement)->Agree(peer->public_key());
  ASSERT_TRUE(ours) << ours.error().ToString();
  auto theirs = crypto::DeriveSharedSecret(*peer, *pub);
  ASSERT_TRUE(theirs);
  EXPECT_EQ(ours->size(), 32u);
  EXPECT_TRUE(crypto::ConstantTimeEqual(*ours, *theirs));
  // A different peer gives a different secret.
  auto peer2 = crypto::PrivateKey::Generate(KeyType::kP256);
  auto other = (*agreement)->Agree(peer2->public_key());
  ASSERT_TRUE(other);
  EXPECT_FALSE(crypto::ConstantTimeEqual(*ours, *other));
  // Wrong peer type.
  auto x = crypto::PrivateKey::Generate(KeyType::kX25519);
  EXPECT_FALSE((*agreement)->Agree(x->public_key()));
}

TEST_P(StoreTest, DuplicateLabelIsRefusedAndTheKeyKept) {
  auto first = store_->GenerateKey("dup", KeyType::kP256);
  ASSERT_TRUE(first);
  auto again = store_->GenerateKey("dup", KeyType::kP256);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kConflict);
  EXPECT_NE(again.error().message().find("already exists"), std::string::npos);
  auto still = store_->PublicKey("dup");
  ASSERT_TRUE(still);
  EXPECT_EQ(*still, *first);
  auto list = store_->List();
  ASSERT_TRUE(list);
  EXPECT_EQ(*list, std::vector<std::string>{"dup"});
}

TEST_P(StoreTest, KeysSurviveReopening) {
  auto pub = store_->GenerateKey("persist", KeyType::kP256);
  ASSERT_TRUE(pub);
  Reopen();
  auto again = store_->PublicKey("persist");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(*again, *pub);
  auto signer = store_->GetSigner("persist");
  ASSERT_TRUE(signer);
  auto sig = (*signer)->Sign(kMessage);
  ASSERT_TRUE(sig);
  EXPECT_TRUE(pub->Verify(SignatureAlgorithm::kEcdsaP256Sha256, kMessage, *sig));
}

TEST_P(StoreTest, MissingKeysAreNotFound) {
  EXPECT_EQ(store_->PublicKey("nope").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetSigner("nope").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetKeyAgreement("nope").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->ExportPrivate("nope").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->Delete("nope").error().code(), ErrorCode::kNotFound);
}

TEST_P(StoreTest, InvalidLabelsNeverReachTheStore) {
  for (const char* bad : {"../escape", "a/b", ".kek", ""}) {
    auto r = store_->GenerateKey(bad, KeyType::kP256);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidInput);
    EXPECT_EQ(store_->GetSigner(bad).error().code(), ErrorCode::kInvalidInput);
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "escape.key"));
  EXPECT_TRUE(store_->List()->empty());
}

TEST_P(StoreTest, DeleteAndList) {
  ASSERT_TRUE(store_->GenerateKey("b-key", KeyType::kP256));
  ASSERT_TRUE(store_->GenerateKey("a-key", KeyType::kP256));
  EXPECT_EQ(*store_->List(), (std::vector<std::string>{"a-key", "b-key"}));
  ASSERT_TRUE(store_->Delete("a-key"));
  EXPECT_EQ(*store_->List(), (std::vector<std::string>{"b-key"}));
  EXPECT_EQ(store_->PublicKey("a-key").error().code(), ErrorCode::kNotFound);
  // The label is free again.
  EXPECT_TRUE(store_->GenerateKey("a-key", KeyType::kP256));
}

TEST_P(StoreTest, SignerOutlivesTheStore) {
  auto pub = store_->GenerateKey("long-lived", KeyType::kP256);
  ASSERT_TRUE(pub);
  auto signer = store_->GetSigner("long-lived");
  ASSERT_TRUE(signer);
  store_.reset();
  auto sig = (*signer)->Sign(kMessage);
  ASSERT_TRUE(sig) << sig.error().ToString();
  EXPECT_TRUE(pub->Verify(SignatureAlgorithm::kEcdsaP256Sha256, kMessage, *sig));
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::Values(StoreKind::kFile, StoreKind::kPkcs11),
                         [](const ::testing::TestParamInfo<StoreKind>& i) {
                           return std::string(StoreKindName(i.param));
                         });

}  // namespace
}  // namespace secprof::keystore
