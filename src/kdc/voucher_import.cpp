// kdc::ImportVoucherFiles (secprof/kdc/voucher_import.h).
#include "secprof/kdc/voucher_import.h"

#include <filesystem>
#include <optional>
#include <set>

#include "secprof/core/fs.h"
#include "secprof/domain/profile.h"
#include "secprof/kdc/layout.h"
#include "secprof/voucher/voucher.h"

namespace secprof::kdc {

Result<VoucherImportOutcome> ImportVoucherFiles(OwnerTools& tools, const VoucherImportRequest& a,
                                                const VoucherImportObserver& observe,
                                                const Clock& clock) {
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo dom, tools.registry().Domain());
  if (dom.profile == domain::ProfileName(domain::Profile::kSecProf2))
    return Fail(ErrorCode::kInvalidInput,
                a.db_label +
                    " is a SecProf_2 domain: things join with setup codes there (secprof kdc "
                    "allow)");
  SECPROF_ASSIGN_OR_RETURN(std::string ca_pem, ReadFile(a.vendor_ca_file));
  auto ca = identity::Certificate::FromPem(ca_pem);
  if (!ca)
    return Fail(ErrorCode::kInvalidInput,
                "--vendor-ca " + a.vendor_ca_file + ": " + ca.error().message());
  // Every voucher is checked first; one refusal imports none (the owner fixes the batch).
  std::vector<std::pair<std::string, crypto::Bytes>> ok;
  std::optional<Error> first;
  int refused = 0;
  std::set<std::string> serials;
  for (const auto& path : a.files) {
    auto raw = ReadFile(path);
    if (!raw) return Fail(raw.error());
    crypto::Bytes bytes(raw->begin(), raw->end());
    auto v = voucher::Verify(bytes, *ca, clock);
    Status bound = v ? voucher::CheckBinding(*v, v->serial, tools.domain_ca()) : Status(Ok());
    if (v && !bound)
      bound = Fail(ErrorCode::kVerifyFailed,
                   "it pins another domain, not this KDC's domain CA (issue it with "
                   "--domain-ca from `secprof kdc domain-ca`)");
    if (v && bound && !serials.insert(v->serial).second)
      bound = Fail(ErrorCode::kInvalidInput, "a second voucher for serial " + v->serial);
    const Error* e = !v ? &v.error() : (!bound ? &bound.error() : nullptr);
    if (e) {
      // Malformed vouchers are bad input, vouchers that do not hold are refusals.
      Error err(e->code() == ErrorCode::kVerifyFailed ? ErrorCode::kVerifyFailed
                                                      : ErrorCode::kInvalidInput,
                path + ": voucher refused: " + e->message());
      if (observe.refused) observe.refused(err);
      ++refused;
      if (!first ||
          (first->code() == ErrorCode::kVerifyFailed && err.code() == ErrorCode::kInvalidInput))
        first = err;
      continue;
    }
    ok.emplace_back(path, std::move(bytes));
  }
  if (first)
    return Fail(first->code(), std::to_string(refused) + " of " + std::to_string(a.files.size()) +
                                   " vouchers refused; nothing imported");
  // A running KDC trusts the manufacturer anchors it started with (--vendor-ca and
  // <keys>/vendors/); ImportVoucher adds this CA to <keys>/vendors/ for its next start.
  const auto& fp = ca->fingerprint();
  VoucherImportOutcome out;
  out.vendor_organization = ca->subject().organization;
  out.new_anchor = !std::filesystem::exists(Layout{a.db_label, a.keys_dir}.VendorAnchor(
      crypto::ByteView(fp.data(), fp.size())));
  for (const auto& [path, bytes] : ok) {
    auto st = tools.ImportVoucher(bytes, *ca, a.actor);
    if (!st) return Fail(Error(st.error().code(), path + ": " + st.error().message()));
    auto v = voucher::Decode(bytes);
    if (observe.imported) observe.imported(path, v ? v->serial : "?");
    ++out.imported;
  }
  return out;
}

}  // namespace secprof::kdc
