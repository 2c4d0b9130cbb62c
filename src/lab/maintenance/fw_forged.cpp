// lab.fw_forged: forged firmware offered to a thing through a compromised repository (T5,
// firmware replacement; draft §4 threat 5; RFC 9124's threat model, images from an unknown source
// and tampered images; Uptane's "arbitrary software" attack). docs/DOMAIN.md "Maintenance".
//
// Attacker: controls the KDC's firmware store (a compromised repository), not the vendor's key.
// Two attempts on the same thing, each a campaign offering a firmware row the attacker wrote:
//   1. its own image in an envelope signed by its own key (right vendor-id, class-id, a higher
//      sequence number: everything but the signature is acceptable);
//   2. a genuine vendor-signed envelope whose image the repository replaced by a modified one
//      of the same size.
// Success: the thing installs either and boots it (its active slot hashes to the attacker's
// image). Blocked: the thing's installer refuses both; its reasons (forged-signature,
// image-digest) are taken from its own report to the KDC.
// Negative control (defence_off): the attacker signs with the key the thing trusts (the vendor's
// signing key in its hands), so the signature no longer separates it from the vendor: the same
// planted firmware must then be installed, which shows that the adversary's path (store,
// campaign, fetch, install) works and that the refusal comes from the signature check.
#include <optional>

#include "firmware_attack.h"
#include "groups.h"

namespace secprof::lab::internal {
namespace {

class FwForged final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.fw_forged",
        "T5",
        "maintenance",
        "application",
        "controls the KDC's firmware store (a compromised repository) and offers the thing its own "
        "image signed with its own key, or a genuine envelope with a modified image",
        "the thing installs the attacker's image and boots it",
        {"M.app.signed_fw_update"},
        {"thing.fw_verify_signature", "vendor.fw_sign"},
        true};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return fw::NoDeliveryInSecProf1();
    SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1));
    Measurement m;
    // 1. The attacker's own image under its own key (or, as the negative control, the vendor's).
    std::optional<cose::Key> own;
    if (!ctx.defence_off) {
      SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey sk,
                               crypto::PrivateKey::Generate(crypto::KeyType::kP256));
      SECPROF_ASSIGN_OR_RETURN(cose::Key k, cose::KeyFromPrivate(std::move(sk)));
      own.emplace(std::move(k));
    }
    const cose::Key& forger = own ? *own : lab.vendor_key;
    crypto::Bytes mine = fw::MakeImage(16 * 1024, 0x5a);
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes env1, fw::SignFor(mine, lab.vendor, lab.model,
                                                             fw::kFactorySequence + 1, forger));
    SECPROF_ASSIGN_OR_RETURN(int64_t id1, fw::Plant(lab, env1, mine, fw::kFactorySequence + 1));
    SECPROF_TRY(fw::Offer(lab, id1, 0));
    SECPROF_ASSIGN_OR_RETURN(fw::Attempt a1, fw::TryUpdate(lab, 0, mine));
    m.evidence.push_back(fw::AttemptEvidence(
        ctx.defence_off ? "its own image signed with the vendor's key (negative control)"
                        : "its own image signed with its own P-256 key",
        a1));
    // 2. A genuine envelope (the vendor's, for a new sequence) with the image modified in place.
    crypto::Bytes genuine = fw::MakeImage(16 * 1024, 0x21);
    crypto::Bytes modified = genuine;
    modified[modified.size() / 2] ^= 0x01;
    const uint64_t seq2 = fw::kFactorySequence + 2;  // above the first attempt's
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes env2, fw::SignFor(ctx.defence_off ? modified : genuine, lab.vendor, lab.model,
                                        seq2, lab.vendor_key));
    SECPROF_ASSIGN_OR_RETURN(int64_t id2, fw::Plant(lab, env2, modified, seq2));
    SECPROF_TRY(fw::Offer(lab, id2, 0));
    SECPROF_ASSIGN_OR_RETURN(fw::Attempt a2, fw::TryUpdate(lab, 0, modified));
    m.evidence.push_back(fw::AttemptEvidence(
        ctx.defence_off ? "a modified image re-signed with the vendor's key (negative control)"
                        : "a genuine vendor envelope with one bit of its image flipped",
        a2));

    if (!a1.offered || !a2.offered)
      return Fail(ErrorCode::kInternal, "lab.fw_forged: a campaign offered the thing nothing");
    if (a1.runs_attacker || a2.runs_attacker) {
      m.outcome = Outcome::kSucceeded;
      m.reason = std::string("the thing installed and boots ") +
                 (a1.runs_attacker ? "the attacker's own image" : "") +
                 (a1.runs_attacker && a2.runs_attacker ? " and " : "") +
                 (a2.runs_attacker ? "the modified image" : "") + " (sequence " +
                 std::to_string(lab.d->thing(0).RunningFirmware()) + ")";
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "thing.fw_verify_signature";
    m.reason = (a1.reason.empty() ? "refused" : a1.reason) + ", " +
               (a2.reason.empty() ? "refused" : a2.reason);
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeFwForged() { return std::make_unique<FwForged>(); }

}  // namespace secprof::lab::internal
