// The wire/ scenarios that the lab cannot mount yet, each with the reason (scenario.h: an attack
// that could not be mounted is kNotTestable with the missing piece in `reason`):
//   lab.curious_proxy       T8/T3 at a translation point: the HTTP-CoAP proxy (issue 14) does not
//                           exist, so there is no translation point to be curious at.
#include "groups.h"
#include "on_path.h"

namespace secprof::lab::internal {
namespace {

class NotYet final : public Scenario {
 public:
  NotYet(ScenarioInfo i, std::string reason) : info_(std::move(i)), reason_(std::move(reason)) {}
  const ScenarioInfo& info() const override { return info_; }
  Result<Measurement> Run(const RunContext&) const override { return wire::NotTestable(reason_); }

 private:
  ScenarioInfo info_;
  std::string reason_;
};

}  // namespace

std::unique_ptr<Scenario> MakeCuriousProxy() {
  return std::make_unique<NotYet>(
      ScenarioInfo{"lab.curious_proxy",
                   "T8",
                   "operation",
                   "application",
                   "runs (or has compromised) the HTTP-CoAP translation point and reads what it "
                   "translates",
                   "reads readings, commands or identifiers that end-to-end protection (OSCORE) "
                   "should hide from the proxy",
                   {"M.app.translation_privacy", "M.app.oscore", "M.net.proxy_verification"},
                   {"proxy.minimize", "coap.oscore", "proxy.verify_forwarded"},
                   false},
      "not testable: the HTTP-CoAP proxy and OSCORE (issue 14) do not exist yet");
}

}  // namespace secprof::lab::internal
