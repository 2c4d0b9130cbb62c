// libFuzzer target for X.509 parsing in secprof::identity: certificates (RFC 5280 §4),
// PKCS#10 requests (RFC 2986) and CRLs (RFC 5280 §5), each as DER and as PEM.
//
// Properties: nothing crashes or leaks; whatever parses re-encodes to exactly the input bytes
// (the parsers are strict DER) and parses again to an equal object; every accessor works on a
// parsed object; a certificate is validated against itself as the only trust anchor (exercising
// OpenSSL's path validation on fuzzed input) and a request's self-signature is checked.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "secprof/core/clock.h"
#include "secprof/identity/identity.h"

namespace {
using namespace secprof;
using namespace secprof::identity;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_x509: property violated: %s\n", what);
    std::abort();
  }
}

// 2025-01-01: fixed, so a run does not depend on the day.
const FakeClock& FixedClock() {
  static const FakeClock clock(std::chrono::sys_days{std::chrono::year{2025} / 1 / 1});
  return clock;
}

void Exercise(const Certificate& c) {
  (void)c.subject().text.size();
  (void)c.issuer().common_name.size();
  Check(c.serial_hex().size() == 2 * c.serial().size(), "serial_hex length");
  (void)c.not_before();
  (void)c.never_expires();
  (void)c.is_ca();
  (void)c.path_len();
  (void)c.key_usage();
  (void)c.subject_key_id();
  (void)c.authority_key_id();
  (void)c.hardware_module_name();
  (void)c.self_issued();
  if (auto key = c.public_key()) {
    Check(c.MatchesPublicKey(*key).has_value(), "certificate does not match its own key");
  }
  auto again = Certificate::FromDer(c.ToDer());
  Check(again.has_value() && *again == c, "certificate DER round trip");
  Check(again->fingerprint() == c.fingerprint(), "fingerprint changed");
  auto pem = Certificate::FromPem(c.ToPem());
  Check(pem.has_value() && *pem == c, "certificate PEM round trip");
  (void)VerifyCertificate(c, {.trust_anchors = {c}}, FixedClock());
}

void Exercise(const CertificateRequest& r) {
  (void)r.subject().serial_number.size();
  (void)r.public_key();
  (void)r.VerifySignature();
  auto again = CertificateRequest::FromDer(r.ToDer());
  Check(again.has_value() && again->ToDer() == r.ToDer(), "request DER round trip");
  auto pem = CertificateRequest::FromPem(r.ToPem());
  Check(pem.has_value() && pem->ToDer() == r.ToDer(), "request PEM round trip");
}

void Exercise(const RevocationList& l) {
  (void)l.issuer().text.size();
  (void)l.this_update();
  (void)l.next_update();
  (void)l.crl_number();
  for (const auto& e : l.revoked()) (void)e.serial.size();
  auto again = RevocationList::FromDer(l.ToDer());
  Check(again.has_value() && again->ToDer() == l.ToDer(), "CRL DER round trip");
  Check(again->revoked().size() == l.revoked().size(), "CRL entries changed");
  auto pem = RevocationList::FromPem(l.ToPem());
  Check(pem.has_value() && pem->ToDer() == l.ToDer(), "CRL PEM round trip");
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView der(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto c = Certificate::FromDer(der)) {
    Check(c->ToDer().size() == size, "strict DER accepted extra bytes");
    Exercise(*c);
  }
  if (auto r = CertificateRequest::FromDer(der)) Exercise(*r);
  if (auto l = RevocationList::FromDer(der)) Exercise(*l);

  if (auto c = Certificate::FromPem(text)) Exercise(*c);
  if (auto list = Certificate::ListFromPem(text)) {
    for (const auto& c : *list) (void)c.subject();
  }
  if (auto r = CertificateRequest::FromPem(text)) Exercise(*r);
  if (auto l = RevocationList::FromPem(text)) Exercise(*l);
  return 0;
}
