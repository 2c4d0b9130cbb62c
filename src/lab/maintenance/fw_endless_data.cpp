// lab.fw_endless_data: the image source sends far more data than the manifest says the image
// has (T5; RFC 9124 THREAT.NET.DOS; Uptane's "endless data" attack). docs/DOMAIN.md
// "Maintenance".
//
// Attacker: controls the KDC's firmware store (a compromised repository): it offers a genuine
// vendor envelope (16 KiB image) and serves, as its image, that image followed by kServed bytes
// more (a bounded stand-in for "endless": the run must end).
// Success: the thing downloads more than the manifest's image size (an endless source then
// exhausts its bandwidth, storage and battery; it may also install something). Blocked: the
// thing stops fetching at the manifest's size and refuses the image.
// Evidence: bytes the thing fetched against the manifest's size, the installer's refusal.
// No negative control: the adversary's effect is measured directly in bytes.
#include "firmware_attack.h"
#include "groups.h"

namespace secprof::lab::internal {
namespace {

constexpr size_t kManifestSize = 16 * 1024;
constexpr size_t kServed = 512 * 1024;  // 32 times the manifest's size

class FwEndlessData final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.fw_endless_data",
        "T5",
        "maintenance",
        "application",
        "controls the KDC's firmware store and serves, for a genuine envelope, an image far larger "
        "than the manifest's size",
        "the thing downloads more than the manifest's image size (or installs the image)",
        {"M.app.signed_fw_update"},
        {"thing.fw_verify_signature"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return fw::NoDeliveryInSecProf1();
    SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1));
    Measurement m;
    crypto::Bytes genuine = fw::MakeImage(kManifestSize, 0x3e);
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes env,
        fw::SignFor(genuine, lab.vendor, lab.model, fw::kFactorySequence + 1, lab.vendor_key));
    crypto::Bytes served = genuine;
    crypto::Bytes tail = fw::MakeImage(kServed - kManifestSize, 0x7f);
    served.insert(served.end(), tail.begin(), tail.end());
    SECPROF_ASSIGN_OR_RETURN(int64_t id, fw::Plant(lab, env, served, fw::kFactorySequence + 1));
    SECPROF_TRY(fw::Offer(lab, id, 0));
    thing::Agent& t = lab.d->thing(0);
    SECPROF_ASSIGN_OR_RETURN(thing::Agent::UpdateOutcome u, t.CheckForUpdate());
    if (!u.offered)
      return Fail(ErrorCode::kInternal, "lab.fw_endless_data: the campaign offered nothing");
    const uint64_t image_bytes = u.bytes_fetched > env.size() ? u.bytes_fetched - env.size() : 0;
    m.evidence.push_back({"log",
                          "the thing fetched " + std::to_string(image_bytes) +
                              " image bytes for a manifest that says " +
                              std::to_string(kManifestSize) + "; the source served " +
                              std::to_string(kServed),
                          u.detail.substr(0, 1024)});
    const std::string refusal = fw::InstallerReason(u.detail);
    if (u.installed || image_bytes > kManifestSize) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "the thing downloaded " + std::to_string(image_bytes) + " bytes (" +
                 std::to_string(image_bytes / kManifestSize) +
                 " times the manifest's size): its image fetch is bounded by the CoAP client's "
                 "max_response_body (128 MiB), not by the manifest; " +
                 (u.installed ? "it installed the image"
                              : "its installer then refused the image (" +
                                    (refusal.empty() ? std::string("refused") : refusal) + ")");
      return m;
    }
    // The thing verified the envelope first and bounded its image fetch by the manifest's
    // image-size (coap::Client::Get with a limit): the transfer was cut off there.
    m.outcome = Outcome::kBlocked;
    m.control = "thing.fw_verify_signature";
    m.reason = refusal.empty() ? "refused" : refusal;
    m.evidence.push_back({"log",
                          "the thing stopped the image fetch at the manifest's image-size (" +
                              std::to_string(kManifestSize) + " bytes) and refused (" + m.reason +
                              "); it still runs sequence " + std::to_string(t.RunningFirmware()),
                          ""});
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeFwEndlessData() { return std::make_unique<FwEndlessData>(); }

}  // namespace secprof::lab::internal
