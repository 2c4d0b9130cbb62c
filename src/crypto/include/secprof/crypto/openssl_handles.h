// secprof/crypto/openssl_handles.h — INTERNAL: the owning handle types for OpenSSL objects, shared
// by the modules that call OpenSSL themselves (crypto, identity, coap). It includes OpenSSL's
// headers, so it is not part of any module's public API: include it only from a module's .cpp
// files or internal headers, in a module that links OpenSSL privately. Public headers stay free of
// OpenSSL types (crypto.h and the other secprof/crypto headers never include this one).
//
// Every OpenSSL object is owned by one of these aliases from the moment OpenSSL returns it and is
// released by OpenSSL's own free function for its type (the model: store/sqlite.h over SQLite).
//
//   openssl::X509Ptr cert(d2i_X509(nullptr, &p, len));
//   if (!cert) return Fail(crypto::OpenSslError("d2i_X509"));
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/ui.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>

namespace secprof::openssl {

// A deleter that calls `FreeFn` (OpenSSL's free function for the type).
template <auto FreeFn>
struct Free {
  template <class T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

// Free functions that OpenSSL provides only as macros or that need an element free function.
inline void OpenSslFree(void* p) { OPENSSL_free(p); }
inline void FreeGeneralNames(GENERAL_NAMES* p) { GENERAL_NAMES_free(p); }
inline void FreeX509Stack(STACK_OF(X509) * p) { sk_X509_pop_free(p, X509_free); }
inline void FreeExtensionStack(STACK_OF(X509_EXTENSION) * p) {
  sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
}

// Keys, digests, ciphers, MACs, KDFs (EVP).
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX_free>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, Free<EVP_MD_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX_free>>;
using EvpCipherPtr = std::unique_ptr<EVP_CIPHER, Free<EVP_CIPHER_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Free<EVP_CIPHER_CTX_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, Free<EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, Free<EVP_MAC_CTX_free>>;
using EvpKdfPtr = std::unique_ptr<EVP_KDF, Free<EVP_KDF_free>>;
using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, Free<EVP_KDF_CTX_free>>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Free<OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, Free<OSSL_PARAM_free>>;

// Big numbers and elliptic curves. SecretBnPtr clears the number before freeing it.
using BnPtr = std::unique_ptr<BIGNUM, Free<BN_free>>;
using SecretBnPtr = std::unique_ptr<BIGNUM, Free<BN_clear_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, Free<BN_CTX_free>>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, Free<EC_GROUP_free>>;
using EcPointPtr = std::unique_ptr<EC_POINT, Free<EC_POINT_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG_free>>;

// I/O, memory OpenSSL allocated for us, the UI used to refuse PIN prompts.
using BioPtr = std::unique_ptr<BIO, Free<BIO_free>>;
using OpenSslBytesPtr = std::unique_ptr<unsigned char, Free<OpenSslFree>>;
using UiMethodPtr = std::unique_ptr<UI_METHOD, Free<UI_destroy_method>>;

// X.509 (RFC 5280) and ASN.1.
using X509Ptr = std::unique_ptr<X509, Free<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, Free<X509_REQ_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Free<X509_NAME_free>>;
using X509AlgorPtr = std::unique_ptr<X509_ALGOR, Free<X509_ALGOR_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Free<X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Free<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), Free<FreeX509Stack>>;
using ExtensionStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Free<FreeExtensionStack>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Free<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Free<ASN1_TIME_free>>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Free<ASN1_OCTET_STRING_free>>;
using Asn1BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, Free<ASN1_BIT_STRING_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Free<ASN1_OBJECT_free>>;
using Asn1TypePtr = std::unique_ptr<ASN1_TYPE, Free<ASN1_TYPE_free>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, Free<BASIC_CONSTRAINTS_free>>;
using AuthorityKeyIdPtr = std::unique_ptr<AUTHORITY_KEYID, Free<AUTHORITY_KEYID_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Free<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Free<FreeGeneralNames>>;
using ExtendedKeyUsagePtr = std::unique_ptr<EXTENDED_KEY_USAGE, Free<EXTENDED_KEY_USAGE_free>>;
using OtherNamePtr = std::unique_ptr<OTHERNAME, Free<OTHERNAME_free>>;
using CertificatePoliciesPtr = std::unique_ptr<CERTIFICATEPOLICIES, Free<CERTIFICATEPOLICIES_free>>;

}  // namespace secprof::openssl
