// The KDC's side of secprof/kdc/refusals.h: the ledger writes to the registry's audit log and
// reports failed writes on stderr unless KdcOptions::log says otherwise.
#include <iostream>

#include "internal.h"

namespace secprof::kdc {

std::unique_ptr<RefusalLedger> MakeLedger(const KdcOptions& options, const Clock& clock,
                                          registry::Registry& reg) {
  RefusalLedger::Log log = options.log;
  if (!log) log = [](std::string_view line) { std::cerr << line << std::endl; };
  return std::make_unique<RefusalLedger>(
      options.unauthenticated, clock,
      [&reg](std::string_view action, std::string_view serial, std::string_view detail) {
        return reg.Append("kdc", action, serial, detail);
      },
      std::move(log));
}

void AddLedgerStats(const RefusalLedger& ledger, KdcStats& stats) {
  RefusalLedger::Counters c = ledger.counters();
  stats.rate_limited = c.rate_limited;
  stats.refusals_aggregated = c.aggregated;
  stats.audit_failures = c.audit_failures;
}

}  // namespace secprof::kdc
