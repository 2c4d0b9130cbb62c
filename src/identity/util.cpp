// OpenSSL helpers for the identity module: errors, DER TLVs, times, names, integers, keys,
// signatures through crypto::Signer, PEM framing, key identifiers, HardwareModuleName.
#include <openssl/asn1t.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <ctime>

#include "internal.h"

// HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }
// (RFC 4108 §5), described to OpenSSL's template-driven ASN.1 codec.
extern "C" {
typedef struct SecprofHwModuleName_st {
  ASN1_OBJECT* hw_type;
  ASN1_OCTET_STRING* hw_serial_num;
} SecprofHwModuleName;
DECLARE_ASN1_FUNCTIONS(SecprofHwModuleName)
}

ASN1_SEQUENCE(SecprofHwModuleName) =
    {
        ASN1_SIMPLE(SecprofHwModuleName, hw_type, ASN1_OBJECT),
        ASN1_SIMPLE(SecprofHwModuleName, hw_serial_num, ASN1_OCTET_STRING),
} ASN1_SEQUENCE_END(SecprofHwModuleName)

        IMPLEMENT_ASN1_FUNCTIONS(SecprofHwModuleName)

            namespace secprof::identity::internal {

  void AppendTlv(Bytes & out, uint8_t tag, ByteView content) {
    out.push_back(tag);
    const size_t n = content.size();
    if (n < 0x80) {
      out.push_back(static_cast<uint8_t>(n));
    } else {
      // X.690 §8.1.3.5: long form, fewest length octets.
      uint8_t len[sizeof(size_t)];
      size_t k = 0;
      for (size_t v = n; v != 0; v >>= 8) len[k++] = static_cast<uint8_t>(v & 0xff);
      out.push_back(static_cast<uint8_t>(0x80 | k));
      while (k > 0) out.push_back(len[--k]);
    }
    out.insert(out.end(), content.begin(), content.end());
  }

  Bytes Tlv(uint8_t tag, ByteView content) {
    Bytes out;
    out.reserve(content.size() + 6);
    AppendTlv(out, tag, content);
    return out;
  }

  Result<Asn1TimePtr> MakeTime(TimePoint t) {
    const time_t tt = static_cast<time_t>(t.time_since_epoch().count());
    Asn1TimePtr out(ASN1_TIME_set(nullptr, tt));
    if (!out) return Fail(OpenSslError("encoding a time", ErrorCode::kInvalidInput));
    return out;
  }

  Result<TimePoint> FromAsn1Time(const ASN1_TIME* t) {
    struct tm tm {};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
      return Fail(OpenSslError("decoding a time", ErrorCode::kInvalidInput));
    }
    using namespace std::chrono;
    const year_month_day ymd{year{tm.tm_year + 1900}, month{static_cast<unsigned>(tm.tm_mon + 1)},
                             day{static_cast<unsigned>(tm.tm_mday)}};
    if (!ymd.ok()) return Fail(ErrorCode::kInvalidInput, "invalid date in a certificate time");
    return TimePoint{sys_days{ymd}} + hours{tm.tm_hour} + minutes{tm.tm_min} + seconds{tm.tm_sec};
  }

  TimePoint Now(const Clock& clock) {
    return std::chrono::floor<std::chrono::seconds>(clock.Now());
  }

  Result<X509NamePtr> MakeName(const Name& name) {
    X509NamePtr out(X509_NAME_new());
    if (!out) return Fail(OpenSslError("X509_NAME_new"));
    // RDN order: O, OU, CN, serialNumber (most general first, as conventionally written). The
    // string types come from OpenSSL's table: UTF8String for O/OU/CN, PrintableString for
    // serialNumber (X.520); a value that does not fit the type or its upper bound (ub-* of
    // RFC 5280 Appendix A, 64 characters) is refused.
    const struct {
      int nid;
      const std::string* value;
      const char* label;
    } attrs[] = {{NID_organizationName, &name.organization, "O"},
                 {NID_organizationalUnitName, &name.organizational_unit, "OU"},
                 {NID_commonName, &name.common_name, "CN"},
                 {NID_serialNumber, &name.serial_number, "serialNumber"}};
    for (const auto& a : attrs) {
      if (a.value->empty()) continue;
      if (X509_NAME_add_entry_by_NID(out.get(), a.nid, MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(a.value->data()),
                                     static_cast<int>(a.value->size()), -1, 0) != 1) {
        return Fail(OpenSslError(std::string("name attribute ") + a.label + " \"" + *a.value + "\"",
                                 ErrorCode::kInvalidInput));
      }
    }
    return out;
  }

  namespace {
  std::string FirstEntry(const X509_NAME* name, int nid) {
    const int idx = X509_NAME_get_index_by_NID(name, nid, -1);
    if (idx < 0) return {};
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, idx);
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(e);
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(&utf8, s);
    if (n < 0) {
      ClearOpenSslErrors();
      return {};
    }
    OpenSslBytesPtr owned(utf8);
    return std::string(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  }
  }  // namespace

  Name ReadName(const X509_NAME* name) {
    Name out;
    if (name == nullptr) return out;
    out.common_name = FirstEntry(name, NID_commonName);
    out.serial_number = FirstEntry(name, NID_serialNumber);
    out.organization = FirstEntry(name, NID_organizationName);
    out.organizational_unit = FirstEntry(name, NID_organizationalUnitName);
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (bio && X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio.get(), &data);
      if (n > 0) out.text.assign(data, static_cast<size_t>(n));
    }
    ClearOpenSslErrors();
    return out;
  }

  Result<Asn1IntegerPtr> MakeInteger(ByteView magnitude) {
    BnPtr bn(BN_bin2bn(magnitude.data(), static_cast<int>(magnitude.size()), nullptr));
    if (!bn) return Fail(OpenSslError("BN_bin2bn"));
    Asn1IntegerPtr out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!out) return Fail(OpenSslError("BN_to_ASN1_INTEGER"));
    return out;
  }

  Result<Bytes> FromAsn1Integer(const ASN1_INTEGER* i, const char* what) {
    if (i == nullptr) return Fail(ErrorCode::kInvalidInput, std::string(what) + " is missing");
    BnPtr bn(ASN1_INTEGER_to_BN(i, nullptr));
    if (!bn) return Fail(OpenSslError(std::string("decoding ") + what, ErrorCode::kInvalidInput));
    if (BN_is_negative(bn.get())) {
      return Fail(ErrorCode::kInvalidInput, std::string(what) + " is negative (RFC 5280 §4.1.2.2)");
    }
    Bytes out(static_cast<size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), out.data());
    return out;
  }

  Result<EvpPkeyPtr> ToEvp(const crypto::PublicKey& key) {
    SECPROF_ASSIGN_OR_RETURN(Bytes der, key.ToDer());
    const unsigned char* p = der.data();
    EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!pkey) return Fail(OpenSslError("importing a public key"));
    return pkey;
  }

  Result<X509AlgorPtr> SignatureAlgorithmFor(const crypto::Signer& signer) {
    int nid = NID_undef;
    switch (signer.algorithm()) {
      case crypto::SignatureAlgorithm::kEcdsaP256Sha256:
      case crypto::SignatureAlgorithm::kEcdsaP256Sha256Der:
        nid = NID_ecdsa_with_SHA256;
        break;
      case crypto::SignatureAlgorithm::kEd25519:
        nid = NID_ED25519;
        break;
      case crypto::SignatureAlgorithm::kEd448:
        nid = NID_ED448;
        break;
    }
    if (nid == NID_undef) return Fail(ErrorCode::kUnsupported, "unsupported signature algorithm");
    X509AlgorPtr alg(X509_ALGOR_new());
    if (!alg) return Fail(OpenSslError("X509_ALGOR_new"));
    // Parameters absent: RFC 5758 §3.2 (ECDSA) and RFC 8410 §3 (id-Ed25519, id-Ed448).
    if (X509_ALGOR_set0(alg.get(), OBJ_nid2obj(nid), V_ASN1_UNDEF, nullptr) != 1) {
      return Fail(OpenSslError("X509_ALGOR_set0"));
    }
    return alg;
  }

  Result<Bytes> SignForX509(crypto::Signer & signer, ByteView tbs) {
    SECPROF_ASSIGN_OR_RETURN(Bytes sig, signer.Sign(tbs));
    // A signature is checked before it leaves: a faulty token or a fault attack on the signer must
    // not produce a certificate that fails later, far from its cause.
    if (auto ok = signer.public_key().Verify(signer.algorithm(), tbs, sig); !ok) {
      return Fail(ok.error().WithContext("the signer produced a signature that does not verify"));
    }
    if (signer.algorithm() == crypto::SignatureAlgorithm::kEcdsaP256Sha256) {
      return crypto::EcdsaP256RawToDer(sig);
    }
    return sig;
  }

  Result<Bytes> AssembleSigned(ByteView tbs, const X509_ALGOR* alg, ByteView signature) {
    SECPROF_ASSIGN_OR_RETURN(Bytes alg_der, EncodeDer(alg, i2d_X509_ALGOR, "AlgorithmIdentifier"));
    Bytes bits;
    bits.reserve(signature.size() + 1);
    bits.push_back(0);  // no unused bits (X.690 §8.6.2.2)
    bits.insert(bits.end(), signature.begin(), signature.end());
    Bytes body;
    body.reserve(tbs.size() + alg_der.size() + bits.size() + 8);
    body.insert(body.end(), tbs.begin(), tbs.end());
    body.insert(body.end(), alg_der.begin(), alg_der.end());
    AppendTlv(body, kTagBitString, bits);
    return Tlv(kTagSequence, body);
  }

  namespace {
  bool AllSpace(std::string_view s) {
    for (char c : s) {
      if (!std::isspace(static_cast<unsigned char>(c))) return false;
    }
    return true;
  }
  }  // namespace

  Result<Bytes> SinglePemBlock(std::string_view pem,
                               std::initializer_list<std::string_view> labels) {
    const size_t begin = pem.find("-----BEGIN ");
    if (begin == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidInput, "no PEM block (\"-----BEGIN\") found");
    }
    if (!AllSpace(pem.substr(0, begin))) {
      return Fail(ErrorCode::kInvalidInput, "text before the PEM block");
    }
    BioPtr bio(BIO_new_mem_buf(pem.data() + begin, static_cast<int>(pem.size() - begin)));
    if (!bio) return Fail(OpenSslError("BIO_new_mem_buf"));
    char* name_raw = nullptr;
    char* header_raw = nullptr;
    unsigned char* data_raw = nullptr;
    long len = 0;
    const int ok = PEM_read_bio(bio.get(), &name_raw, &header_raw, &data_raw, &len);
    OpenSslBytesPtr name(reinterpret_cast<unsigned char*>(name_raw));
    OpenSslBytesPtr header(reinterpret_cast<unsigned char*>(header_raw));
    OpenSslBytesPtr data(data_raw);
    if (ok != 1) return Fail(OpenSslError("reading the PEM block", ErrorCode::kInvalidInput));
    const std::string_view label(name_raw);
    bool wanted = false;
    for (auto l : labels) wanted = wanted || l == label;
    if (!wanted) {
      return Fail(ErrorCode::kInvalidInput, "PEM block is \"" + std::string(label) +
                                                "\", expected \"" + std::string(*labels.begin()) +
                                                "\"");
    }
    if (header_raw != nullptr && header_raw[0] != '\0') {
      return Fail(ErrorCode::kInvalidInput, "PEM headers are not allowed (encrypted PEM?)");
    }
    char* rest = nullptr;
    const long rest_len = BIO_get_mem_data(bio.get(), &rest);
    if (rest_len > 0 && !AllSpace(std::string_view(rest, static_cast<size_t>(rest_len)))) {
      return Fail(ErrorCode::kInvalidInput, "trailing data after the PEM block");
    }
    return Bytes(data_raw, data_raw + len);
  }

  std::string ToPemText(ByteView der, const char* label) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio(bio.get(), label, "", der.data(), static_cast<long>(der.size())) <= 0) {
      ClearOpenSslErrors();
      return {};
    }
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
  }

  Result<Bytes> KeyIdentifier(const X509_PUBKEY* spki) {
    const unsigned char* pk = nullptr;
    int pk_len = 0;
    if (spki == nullptr || X509_PUBKEY_get0_param(nullptr, &pk, &pk_len, nullptr, spki) != 1) {
      return Fail(OpenSslError("reading subjectPublicKey"));
    }
    SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest d,
                             crypto::Sha256(ByteView(pk, static_cast<size_t>(pk_len))));
    return Bytes(d.begin(), d.begin() + 20);
  }

  const ASN1_OBJECT* HardwareModuleNameOid() {
    static const Asn1ObjectPtr oid(
        OBJ_txt2obj(std::string(kOidHardwareModuleName).c_str(), /*no_name=*/1));
    return oid.get();
  }

  Result<Asn1TypePtr> EncodeHardwareModuleName(const HardwareModuleName& hwmn) {
    std::unique_ptr<SecprofHwModuleName, Free<SecprofHwModuleName_free>> v(
        SecprofHwModuleName_new());
    if (!v) return Fail(OpenSslError("HardwareModuleName_new"));
    // no_name = 1: only the dotted form is accepted, never a short or long name.
    Asn1ObjectPtr oid(OBJ_txt2obj(hwmn.hw_type.c_str(), 1));
    if (!oid) {
      return Fail(OpenSslError("hwType OID \"" + hwmn.hw_type + "\"", ErrorCode::kInvalidInput));
    }
    ASN1_OBJECT_free(v->hw_type);
    v->hw_type = oid.release();
    if (ASN1_OCTET_STRING_set(v->hw_serial_num, hwmn.hw_serial_num.data(),
                              static_cast<int>(hwmn.hw_serial_num.size())) != 1) {
      return Fail(OpenSslError("hwSerialNum"));
    }
    Asn1TypePtr out(ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(SecprofHwModuleName), v.get(), nullptr));
    if (!out) return Fail(OpenSslError("encoding HardwareModuleName"));
    return out;
  }

  std::optional<HardwareModuleName> DecodeHardwareModuleName(const ASN1_TYPE* value) {
    if (value == nullptr || value->type != V_ASN1_SEQUENCE) return std::nullopt;
    std::unique_ptr<SecprofHwModuleName, Free<SecprofHwModuleName_free>> v(
        static_cast<SecprofHwModuleName*>(
            ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SecprofHwModuleName), value)));
    if (!v) {
      ClearOpenSslErrors();
      return std::nullopt;
    }
    char oid[128];
    const int n = OBJ_obj2txt(oid, sizeof(oid), v->hw_type, 1);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof(oid)) {
      ClearOpenSslErrors();
      return std::nullopt;
    }
    HardwareModuleName out;
    out.hw_type.assign(oid, static_cast<size_t>(n));
    const unsigned char* s = ASN1_STRING_get0_data(v->hw_serial_num);
    out.hw_serial_num.assign(s, s + ASN1_STRING_length(v->hw_serial_num));
    return out;
  }

}  // namespace secprof::identity::internal
