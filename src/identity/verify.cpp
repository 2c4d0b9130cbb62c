// Chain validation: RFC 5280 §6 path validation as OpenSSL's X509_verify_cert implements it, at
// the time the Clock gives, with CRL checking (§6.3) when asked.
#include <ctime>

#include "internal.h"

namespace secprof::identity {

using namespace internal;

namespace {

unsigned long RevocationFlags(const VerifyOptions& options) {
  const RevocationCheck check = options.revocation.value_or(
      options.crls.empty() ? RevocationCheck::kNone : RevocationCheck::kLeaf);
  switch (check) {
    case RevocationCheck::kNone:
      return 0;
    case RevocationCheck::kLeaf:
      return X509_V_FLAG_CRL_CHECK;
    case RevocationCheck::kAll:
      return X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  }
  return 0;
}

}  // namespace

Result<std::vector<Certificate>> VerifyCertificate(const Certificate& leaf,
                                                   const VerifyOptions& options,
                                                   const Clock& clock) {
  if (options.trust_anchors.empty()) {
    return Fail(ErrorCode::kInvalidInput, "certificate verification needs a trust anchor");
  }
  // X509_STORE_add_cert / _add_crl and the untrusted stack take references (X509_up_ref) on the
  // immutable objects behind our handles; nothing of them is modified, hence the const_casts.
  X509StorePtr store(X509_STORE_new());
  if (!store) return Fail(OpenSslError("X509_STORE_new"));
  for (const Certificate& anchor : options.trust_anchors) {
    if (X509_STORE_add_cert(store.get(), const_cast<X509*>(Access::Get(anchor))) != 1) {
      return Fail(OpenSslError("adding a trust anchor"));
    }
  }
  for (const RevocationList& crl : options.crls) {
    if (X509_STORE_add_crl(store.get(), const_cast<X509_CRL*>(Access::Get(crl))) != 1) {
      return Fail(OpenSslError("adding a CRL"));
    }
  }
  X509StackPtr untrusted(sk_X509_new_null());
  if (!untrusted) return Fail(OpenSslError("sk_X509_new_null"));
  for (const Certificate& c : options.intermediates) {
    X509* x = const_cast<X509*>(Access::Get(c));
    if (X509_up_ref(x) != 1) return Fail(OpenSslError("X509_up_ref"));
    if (sk_X509_push(untrusted.get(), x) <= 0) {
      X509_free(x);
      return Fail(OpenSslError("sk_X509_push"));
    }
  }

  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx) return Fail(OpenSslError("X509_STORE_CTX_new"));
  if (X509_STORE_CTX_init(ctx.get(), store.get(), const_cast<X509*>(Access::Get(leaf)),
                          untrusted.get()) != 1) {
    return Fail(OpenSslError("X509_STORE_CTX_init"));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  const auto now = std::chrono::floor<std::chrono::seconds>(clock.Now());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now.time_since_epoch().count()));
  // X509_STRICT: the RFC 5280 profile checks OpenSSL knows (critical basicConstraints in CA
  // certificates, AKI/SKI presence, named curves, ...), which every certificate we issue meets.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | RevocationFlags(options));

  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    std::string msg =
        std::string("certificate verify failed: ") + X509_verify_cert_error_string(err);
    msg += " (depth " + std::to_string(X509_STORE_CTX_get_error_depth(ctx.get()));
    if (const X509* at = X509_STORE_CTX_get_current_cert(ctx.get())) {
      msg += ", subject \"" + ReadName(X509_get_subject_name(at)).text + "\"";
    }
    msg += ")";
    ClearOpenSslErrors();
    return Fail(ErrorCode::kVerifyFailed, msg);
  }

  X509StackPtr chain(X509_STORE_CTX_get1_chain(ctx.get()));
  if (!chain) return Fail(OpenSslError("X509_STORE_CTX_get1_chain"));
  std::vector<Certificate> out;
  for (int i = 0; i < sk_X509_num(chain.get()); ++i) {
    SECPROF_ASSIGN_OR_RETURN(
        Bytes der, EncodeDer(sk_X509_value(chain.get(), i), i2d_X509, "chain certificate"));
    SECPROF_ASSIGN_OR_RETURN(Certificate c, Certificate::FromDer(der));
    out.push_back(std::move(c));
  }
  ClearOpenSslErrors();
  return out;
}

}  // namespace secprof::identity
