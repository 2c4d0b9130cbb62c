// lab.fw_rollback: an older, genuinely signed firmware offered to a thing that already runs a
// newer one (T5 firmware replacement, T10 vulnerable software; RFC 9124 THREAT.IMG.EXPIRED and
// REQ.SEC.SEQUENCE; Uptane's "rollback" attack; draft-ietf-suit-manifest §8.4.2, the sequence
// number). docs/DOMAIN.md "Maintenance".
//
// Attacker: controls the KDC's firmware store and campaigns (a compromised repository or owner
// account), and holds every release the vendor ever signed, among them old vulnerable ones. It
// cannot sign.
// The legitimate path first: the vendor's releases 2 and 3 go through the owner's AddFirmware,
// and a campaign updates the thing to 3. Then the attacker starts a campaign offering release 2
// (genuine signature, lower sequence number).
// Success: the thing installs release 2 and boots it (its active slot hashes to release 2's
// image). Blocked: the thing's installer refuses it for its sequence floor (reason "rollback",
// from the thing's own report).
// No negative control: the floor is in the thing's installer, and a lower configuration without
// it does not exist (every profile keeps it); a thing whose floor has not risen is not the same
// attack.
#include "firmware_attack.h"
#include "groups.h"

namespace secprof::lab::internal {
namespace {

class FwRollback final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.fw_rollback",
        "T5",
        "maintenance",
        "application",
        "controls the KDC's firmware store and campaigns and offers a thing an older, genuinely "
        "signed (vulnerable) release than the one it runs",
        "the thing installs the older release and boots it",
        {"M.app.fw_rollback_protection"},
        {"thing.fw_sequence_floor"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return fw::NoDeliveryInSecProf1();
    SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1));
    Measurement m;
    // The vendor's releases 2 (old, vulnerable) and 3 (current), both through the owner's path.
    const uint64_t old_seq = fw::kFactorySequence + 1, new_seq = fw::kFactorySequence + 2;
    crypto::Bytes old_image = fw::MakeImage(16 * 1024, 0x02);
    crypto::Bytes new_image = fw::MakeImage(16 * 1024, 0x03);
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes old_env, fw::SignFor(old_image, lab.vendor, lab.model,
                                                                old_seq, lab.vendor_key));
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes new_env, fw::SignFor(new_image, lab.vendor, lab.model,
                                                                new_seq, lab.vendor_key));
    SECPROF_ASSIGN_OR_RETURN(int64_t old_id, fw::AddGenuine(lab, old_env, old_image, lab.model));
    SECPROF_ASSIGN_OR_RETURN(int64_t new_id, fw::AddGenuine(lab, new_env, new_image, lab.model));
    SECPROF_TRY(fw::Offer(lab, new_id, 0));
    SECPROF_ASSIGN_OR_RETURN(fw::Attempt legit, fw::TryUpdate(lab, 0, new_image));
    m.evidence.push_back(fw::AttemptEvidence(
        "the legitimate path: release " + std::to_string(new_seq) + " by a campaign", legit));
    if (!legit.runs_attacker || legit.running_after != new_seq)
      return Fail(ErrorCode::kInternal,
                  "lab.fw_rollback: the genuine update did not install: " + legit.detail);
    // The attack: a campaign offering the older genuine release.
    SECPROF_TRY(fw::Offer(lab, old_id, 0));
    SECPROF_ASSIGN_OR_RETURN(fw::Attempt a, fw::TryUpdate(lab, 0, old_image));
    m.evidence.push_back(fw::AttemptEvidence(
        "the attack: genuine release " + std::to_string(old_seq) + " offered again", a));
    if (!a.offered)
      return Fail(ErrorCode::kInternal, "lab.fw_rollback: the campaign offered nothing");
    if (a.runs_attacker) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "the thing went back from release " + std::to_string(new_seq) + " to " +
                 std::to_string(a.running_after);
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "thing.fw_sequence_floor";
    m.reason = a.reason.empty() ? "refused" : a.reason;
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeFwRollback() { return std::make_unique<FwRollback>(); }

}  // namespace secprof::lab::internal
