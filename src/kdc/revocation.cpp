// The revocation list things poll (revocation.h).
#include "revocation.h"

#include <algorithm>

#include "internal.h"

namespace secprof::kdc {

Result<domain::RevocationList> RevocationListOf(registry::Registry& reg, const Clock& clock) {
  domain::RevocationList out;
  out.as_of = UnixSeconds(clock);
  SECPROF_ASSIGN_OR_RETURN(std::vector<registry::Thing> things, reg.List());
  for (const auto& t : things)
    if (t.commissioned_at && !registry::IsActive(t.state)) out.serials.push_back(t.serial);
  SECPROF_ASSIGN_OR_RETURN(std::vector<registry::QuarantineRecord> q, reg.ListQuarantined());
  for (const auto& r : q) out.serials.push_back(r.serial);
  std::sort(out.serials.begin(), out.serials.end());
  out.serials.erase(std::unique(out.serials.begin(), out.serials.end()), out.serials.end());
  if (out.serials.size() > domain::kMaxRevoked)
    return Fail(ErrorCode::kLimit, "more retired things than a revocation list holds");
  return out;
}

}  // namespace secprof::kdc
