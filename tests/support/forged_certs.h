// tests/support/forged_certs.h — certificates an attacker crafts with OpenSSL directly (issue 9
// items 2 and 3): a vendor CA that copies the domain CA's subject and key identifier, and an LDevID
// of a member "issued by the domain CA" but signed by that vendor CA. secprof's own issuance would
// never copy a key identifier, so these are built by hand. Header-only; link OpenSSL::Crypto.
// Used by tests/thing/authz_forge_test.cpp (in-process) and tests/cli/authz_forge_cli_test.cpp
// (the `secprof` binary).
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "secprof/crypto/secure_buffer.h"
#include "secprof/identity/identity.h"

namespace secprof::testing::forge {

using crypto::Bytes;

template <auto F>
struct Free {
  template <class T>
  void operator()(T* p) const {
    F(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO_free>>;
using OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING_free>>;
using AkidPtr = std::unique_ptr<AUTHORITY_KEYID, Free<AUTHORITY_KEYID_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Free<BN_free>>;

inline X509Ptr Parse(const identity::Certificate& c) {
  const unsigned char* p = c.ToDer().data();
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(c.ToDer().size())));
}

inline void AddConf(X509* x, int nid, const char* value) {
  ExtPtr e(X509V3_EXT_conf_nid(nullptr, nullptr, nid, value));
  ASSERT_TRUE(e) << value;
  ASSERT_EQ(X509_add_ext(x, e.get(), -1), 1);
}

inline void AddKeyIds(X509* x, const Bytes& ski, const Bytes& aki) {
  if (!ski.empty()) {
    OctetPtr os(ASN1_OCTET_STRING_new());
    ASSERT_EQ(ASN1_OCTET_STRING_set(os.get(), ski.data(), static_cast<int>(ski.size())), 1);
    ASSERT_EQ(X509_add1_ext_i2d(x, NID_subject_key_identifier, os.get(), 0, X509V3_ADD_DEFAULT), 1);
  }
  AkidPtr ak(AUTHORITY_KEYID_new());
  ak->keyid = ASN1_OCTET_STRING_new();
  ASSERT_EQ(ASN1_OCTET_STRING_set(ak->keyid, aki.data(), static_cast<int>(aki.size())), 1);
  ASSERT_EQ(X509_add1_ext_i2d(x, NID_authority_key_identifier, ak.get(), 0, X509V3_ADD_DEFAULT), 1);
}

inline identity::Certificate ToCert(X509* x) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  EXPECT_GT(n, 0);
  Bytes b(der, der + n);
  OPENSSL_free(der);
  auto c = identity::Certificate::FromDer(b);
  EXPECT_TRUE(c) << c.error().message();
  return *c;
}

// The evil vendor CA: the domain CA's subject (or, with `other_subject`, that one) and subject key
// identifier, its own Ed25519 key.
inline identity::Certificate EvilCa(const identity::Certificate& domain_ca, EVP_PKEY* key,
                                    const identity::Certificate* other_subject = nullptr) {
  X509Ptr dom = Parse(other_subject ? *other_subject : domain_ca);
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 4242);
  X509_set_subject_name(x.get(), X509_get_subject_name(dom.get()));
  X509_set_issuer_name(x.get(), X509_get_subject_name(dom.get()));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400L * 365);
  X509_set_pubkey(x.get(), key);
  AddConf(x.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  AddConf(x.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddKeyIds(x.get(), domain_ca.subject_key_id(), domain_ca.subject_key_id());
  EXPECT_GT(X509_sign(x.get(), key, nullptr), 0);
  return ToCert(x.get());
}

// A certificate naming `victim`'s LDevID serial and subject, issued "by the domain CA" (its name
// and key identifier), for the attacker's key, signed by the evil CA.
inline identity::Certificate ForgedLdevid(const identity::Certificate& victim,
                                          const identity::Certificate& domain_ca,
                                          EVP_PKEY* evil_key, EVP_PKEY* attacker_key) {
  X509Ptr vic = Parse(victim);
  X509Ptr dom = Parse(domain_ca);
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER_free>> serial(
      ASN1_INTEGER_dup(X509_get0_serialNumber(vic.get())));
  X509_set_serialNumber(x.get(), serial.get());
  X509_set_subject_name(x.get(), X509_get_subject_name(vic.get()));
  X509_set_issuer_name(x.get(), X509_get_subject_name(dom.get()));
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400L * 30);
  X509_set_pubkey(x.get(), attacker_key);
  AddConf(x.get(), NID_key_usage, "critical,digitalSignature");
  AddConf(x.get(), NID_ext_key_usage, "clientAuth");
  AddKeyIds(x.get(), {}, domain_ca.subject_key_id());
  EXPECT_GT(X509_sign(x.get(), evil_key, nullptr), 0);
  return ToCert(x.get());
}

inline crypto::SecureBuffer PemOf(EVP_PKEY* k) {
  BioPtr b(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  return crypto::SecureBuffer(crypto::ByteView(reinterpret_cast<const uint8_t*>(data), n));
}

}  // namespace secprof::testing::forge
