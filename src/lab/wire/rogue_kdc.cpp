// lab.rogue_kdc, lab.rogue_kdc_other_owner, lab.rogue_kdc_member: a thing being installed is
// pointed at a rogue KDC (T4 at installation; draft §4 threat 4; catalog M.boot.voucher). The
// three differ only in what the rogue holds (rogue.h describes each and the verdict); they share
// the adversary, so they share this file.
#include "groups.h"
#include "rogue.h"

namespace secprof::lab::internal {
namespace {

using wire::RogueKind;

class RogueKdc final : public Scenario {
 public:
  RogueKdc(ScenarioInfo info, RogueKind kind) : info_(std::move(info)), kind_(kind) {}
  const ScenarioInfo& info() const override { return info_; }
  Result<Measurement> Run(const RunContext& ctx) const override {
    return wire::RunRogueKdc(ctx, kind_);
  }

 private:
  ScenarioInfo info_;
  RogueKind kind_;
};

ScenarioInfo Info(std::string id, std::string attacker, bool negative) {
  return ScenarioInfo{std::move(id),
                      "T4",
                      "installation",
                      "transport",
                      std::move(attacker),
                      "the thing accepts the rogue's domain (sends it its CSR, or completes the "
                      "join with a key from it)",
                      {"M.boot.voucher"},
                      {"thing.voucher_check", "kdc.key_transport"},
                      negative};
}

}  // namespace

std::unique_ptr<Scenario> MakeRogueKdc() {
  return std::make_unique<RogueKdc>(
      Info("lab.rogue_kdc",
           "runs its own KDC (a self-made, self-signed domain) where a thing is being installed, "
           "with a voucher it signed itself (SecProf_2: without the setup code)",
           true),
      RogueKind::kSelfMade);
}

std::unique_ptr<Scenario> MakeRogueKdcOtherOwner() {
  return std::make_unique<RogueKdc>(
      Info("lab.rogue_kdc_other_owner",
           "is another owner with a genuine domain, and answers the thing's join with the "
           "thing's genuine voucher copied from its real owner (SecProf_2: a guessed setup code)",
           true),
      RogueKind::kOtherOwner);
}

std::unique_ptr<Scenario> MakeRogueKdcMember() {
  return std::make_unique<RogueKdc>(
      Info("lab.rogue_kdc_member",
           "controls an enrolled member and presents its LDevID as the KDC's certificate, with "
           "the newcomer's genuine voucher",
           false),
      RogueKind::kMember);
}

}  // namespace secprof::lab::internal
