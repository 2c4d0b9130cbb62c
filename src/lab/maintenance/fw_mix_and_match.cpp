// lab.fw_mix_and_match: genuine firmware for the wrong device offered to a thing (T5 firmware
// replacement; RFC 9124 THREAT.IMG.INCOMPATIBLE, REQ.SEC.COMPATIBLE; Uptane's "mix-and-match"
// attack). docs/DOMAIN.md "Maintenance".
//
// Attacker: controls the KDC's firmware store (a compromised repository) and holds genuine
// releases it did not make: the same vendor's firmware for another model, and another vendor's
// firmware. It cannot sign with the thing's vendor key. Three attempts on one thing, each a
// campaign offering a row the attacker wrote:
//   1. the vendor's genuinely signed release for another model ("Lamp": another class-id), first
//      tried through the owner's path (the KDC's AddFirmware), then planted as the thing's model;
//   2. a genuine envelope for the thing's own model whose image the repository swapped for
//      another model's image of the same size;
//   3. another vendor's genuinely signed release (its own key, vendor-id and class-id).
// Success: the thing installs any of them and boots it. Blocked: its installer refuses each; the
// reasons (wrong-class, image-digest, forged-signature: the thing does not trust the other
// vendor's key) come from the thing's own reports.
// No negative control: the vendor/class checks are in the thing's installer in every profile.
#include "firmware_attack.h"
#include "groups.h"

namespace secprof::lab::internal {
namespace {

class FwMixAndMatch final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.fw_mix_and_match",
        "T5",
        "maintenance",
        "application",
        "controls the KDC's firmware store and offers the thing genuine firmware made for "
        "another model or by another vendor, or a genuine manifest with another model's image",
        "the thing installs firmware that was not made for it and boots it",
        {"M.app.signed_fw_update"},
        {"thing.fw_verify_signature"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return fw::NoDeliveryInSecProf1();
    SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1));
    Measurement m;
    std::vector<fw::Attempt> attempts;
    auto attempt = [&](const std::string& label, const crypto::Bytes& env,
                       const crypto::Bytes& image, uint64_t seq) -> Status {
      SECPROF_ASSIGN_OR_RETURN(int64_t id, fw::Plant(lab, env, image, seq));
      SECPROF_TRY(fw::Offer(lab, id, 0));
      SECPROF_ASSIGN_OR_RETURN(fw::Attempt a, fw::TryUpdate(lab, 0, image));
      if (!a.offered)
        return Fail(ErrorCode::kInternal, "lab.fw_mix_and_match: the campaign offered nothing");
      m.evidence.push_back(fw::AttemptEvidence(label, a));
      attempts.push_back(std::move(a));
      return Ok();
    };
    const std::string other_model = "Lamp";
    const uint64_t seq = fw::kFactorySequence + 1;
    // 1. The same vendor's genuine release for another model.
    crypto::Bytes lamp = fw::MakeImage(16 * 1024, 0x4c);
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes lamp_env,
                             fw::SignFor(lamp, lab.vendor, other_model, seq, lab.vendor_key));
    auto owner_path = fw::AddGenuine(lab, lamp_env, lamp, lab.model);
    m.evidence.push_back({"refusal",
                          owner_path ? "the owner's AddFirmware ACCEPTED the " + other_model +
                                           " release as " + lab.model + " firmware"
                                     : "the owner's AddFirmware refused the " + other_model +
                                           " release as " + lab.model + " firmware",
                          owner_path ? "" : owner_path.error().message()});
    SECPROF_TRY(attempt("the vendor's genuine " + other_model + " release", lamp_env, lamp,
                        owner_path ? seq + 10 : seq));
    // 2. A genuine envelope for the thing's model, with another model's image of the same size.
    crypto::Bytes own = fw::MakeImage(16 * 1024, 0x53);
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes own_env,
                             fw::SignFor(own, lab.vendor, lab.model, seq + 1, lab.vendor_key));
    SECPROF_TRY(attempt("a genuine " + lab.model + " envelope with the " + other_model + " image",
                        own_env, lamp, seq + 1));
    // 3. Another vendor's genuine release, signed with that vendor's own key.
    SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk,
                             crypto::PrivateKey::Generate(crypto::KeyType::kP256));
    SECPROF_ASSIGN_OR_RETURN(cose::Key other_key, cose::KeyFromPrivate(std::move(sk)));
    crypto::Bytes globex = fw::MakeImage(16 * 1024, 0x47);
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes globex_env,
                             fw::SignFor(globex, "Globex", lab.model, seq + 2, other_key));
    SECPROF_TRY(attempt("another vendor's (Globex) genuine release", globex_env, globex, seq + 2));

    std::string reasons;
    for (const auto& a : attempts) {
      if (a.runs_attacker) {
        m.outcome = Outcome::kSucceeded;
        m.reason = "the thing installed and boots firmware not made for it (sequence " +
                   std::to_string(a.running_after) + "): " + a.detail.substr(0, 200);
        return m;
      }
      reasons += (reasons.empty() ? "" : ", ") + (a.reason.empty() ? "refused" : a.reason);
    }
    m.outcome = Outcome::kBlocked;
    m.control = "thing.fw_verify_signature";
    m.reason = reasons;
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeFwMixAndMatch() { return std::make_unique<FwMixAndMatch>(); }

}  // namespace secprof::lab::internal
