// secprof/kdc/voucher_import.h — SecProf_3/4: the owner imports a batch of manufacturer vouchers
// (`secprof kdc import-voucher`; docs/VOUCHER.md, docs/DOMAIN.md "SecProf_3/4: vouchers").
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/kdc/kdc.h"

namespace secprof::kdc {

struct VoucherImportRequest {
  std::string vendor_ca_file;        // the manufacturer's CA certificate (PEM)
  std::vector<std::string> files;    // the vouchers
  std::string db_label;              // how messages name the registry (the path the owner gave)
  std::string keys_dir;              // the KDC's key directory (kdc::Layout::For(db, keys).keys)
  std::string actor = "owner";       // recorded in the audit log
};

struct VoucherImportObserver {
  // A voucher refused in the checking pass; `e` reads "<file>: voucher refused: <why>", kVerifyFailed
  // for a voucher that does not verify or bind, kInvalidInput for a malformed one.
  std::function<void(const Error& e)> refused;
  // A voucher imported (serial "?" if it cannot be decoded again).
  std::function<void(const std::string& file, const std::string& serial)> imported;
};

struct VoucherImportOutcome {
  size_t imported = 0;
  std::string vendor_organization;  // the vendor CA's O
  bool new_anchor = false;          // the vendor CA was not yet in <keys>/vendors/ before
};

// Checks every voucher first against the vendor CA and this KDC's domain CA (signature, expiry,
// binding, one voucher per serial); one refusal imports none: the error is "N of M vouchers
// refused; nothing imported" with the code of the worst refusal (kInvalidInput over
// kVerifyFailed). Then imports them in order; the vendor CA becomes a trust anchor in
// <keys>/vendors/ for the KDC's next start.
// Errors also: kInvalidInput (a SecProf_2 domain; an unreadable vendor CA), a voucher file's read
// error, and ImportVoucher's refusals prefixed with the file.
Result<VoucherImportOutcome> ImportVoucherFiles(OwnerTools& tools, const VoucherImportRequest& req,
                                                const VoucherImportObserver& observe = {},
                                                const Clock& clock = SystemClock());

}  // namespace secprof::kdc
