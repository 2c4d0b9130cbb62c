// lab.fw_partial: an update cut short - the image transfer stops midway, or the power fails
// during the install (T5; Uptane's "partial bundle" attack; RFC 9019, the SUIT architecture: an
// update must not leave the device unable to run). docs/DOMAIN.md "Maintenance", docs/UPDATE.md.
//
// Attacker: controls the KDC's firmware store, and can cut the thing's power (a local attacker,
// or an accident it waits for). Three attempts on one thing:
//   1. the repository serves only the first half of a genuine release's image;
//   2. a genuine release installs and the power fails while its test boot runs: the thing's
//      firmware directory as the power cut leaves it (a copy taken inside the test-boot hook) is
//      booted again (update::SlotStore::Open + Recover, what the thing does at every start);
//   3. as 2, with the new slot half written (the copy's new slot file cut in half).
// Success: a boot lands on a half-written or unverified image, or cannot boot at all (bricked).
// Blocked: every boot runs a complete image whose SHA-256 (computed here, from the slot file)
// is the one recorded for it; the reasons are the installer's refusal and the recovery's action.
// No negative control.
#include <filesystem>

#include "firmware_attack.h"
#include "groups.h"
#include "secprof/core/fs.h"
#include "secprof/core/hex.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

namespace fs = std::filesystem;

const char* ActionName(update::RecoveryAction a) {
  switch (a) {
    case update::RecoveryAction::kNone:
      return "none";
    case update::RecoveryAction::kDiscardedWritten:
      return "discarded-written";
    case update::RecoveryAction::kRevertedTesting:
      return "reverted-testing";
  }
  return "none";
}

// SHA-256 of a file, hex ("" when unreadable).
std::string FileSha256(const std::string& path) {
  auto data = ReadFile(path);
  if (!data) return "";
  auto d = crypto::Sha256(
      crypto::ByteView(reinterpret_cast<const uint8_t*>(data->data()), data->size()));
  return d ? ToHex(crypto::ByteView(d->data(), d->size())) : "";
}

struct Boot {
  bool booted = false;  // Recover succeeded
  bool sound = false;   // the active slot hashes to its recorded digest
  std::string active_sha256, action, message;
  uint64_t sequence = 0;
};

// Boots a copy of a thing's firmware directory as the thing does at start-up.
Boot BootCopy(const fw::FirmwareLab& lab, const std::string& dir) {
  Boot b;
  if (!lab.vendor_key.public_key) {
    b.message = "the vendor key has no public part";
    return b;
  }
  auto key = cose::KeyFromPublic(*lab.vendor_key.public_key);
  if (!key) {
    b.message = key.error().message();
    return b;
  }
  update::InstallIdentity id{domain::FirmwareVendorId(lab.vendor),
                             domain::FirmwareClassId(lab.vendor, lab.model), std::move(*key),
                             std::nullopt};
  auto store = update::SlotStore::Open(dir, std::move(id));
  if (!store) {
    b.message = store.error().message();
    return b;
  }
  auto r = store->Recover();
  if (!r) {
    b.message = r.error().message();
    return b;
  }
  b.booted = true;
  b.action = ActionName(r->action);
  b.message = r->message;
  const update::SlotState& st = store->state();
  b.sequence = st.active_image.sequence_number;
  b.active_sha256 = FileSha256(store->SlotPath(st.active));
  b.sound = !b.active_sha256.empty() && b.active_sha256 == ToHex(st.active_image.digest);
  return b;
}

class FwPartial final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.fw_partial",
        "T5",
        "maintenance",
        "thing",
        "controls the KDC's firmware store and cuts the image transfer midway, or cuts the "
        "thing's power while an update installs",
        "the thing boots a half-written or unverified image, or cannot boot at all",
        {"M.app.signed_fw_update", "M.model.secure_boot"},
        {"thing.verified_boot"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return fw::NoDeliveryInSecProf1();
    SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1));
    Measurement m;
    thing::Agent& t = lab.d->thing(0);
    const std::string fw_dir = (lab.d->thing_dir(0) / "firmware").string();
    std::vector<std::string> reasons;
    bool hit = false;
    // 1. Half the image.
    crypto::Bytes full = fw::MakeImage(16 * 1024, 0x48);
    crypto::Bytes half(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2));
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes env,
        fw::SignFor(full, lab.vendor, lab.model, fw::kFactorySequence + 1, lab.vendor_key));
    SECPROF_ASSIGN_OR_RETURN(int64_t id1, fw::Plant(lab, env, half, fw::kFactorySequence + 1));
    SECPROF_TRY(fw::Offer(lab, id1, 0));
    SECPROF_ASSIGN_OR_RETURN(fw::Attempt a1, fw::TryUpdate(lab, 0, half));
    m.evidence.push_back(fw::AttemptEvidence("half of a genuine image", a1));
    const std::string running =
        FileSha256((fs::path(fw_dir) /
                    (std::string("slot-") + update::SlotName(t.FirmwareState().active) + ".img"))
                       .string());
    const bool intact = running == ToHex(t.FirmwareState().active_image.digest);
    if (a1.runs_attacker || !intact) hit = true;
    reasons.push_back(a1.reason.empty() ? "refused" : a1.reason);
    // 2 and 3. The power fails during the test boot of a genuine update.
    crypto::Bytes next = fw::MakeImage(16 * 1024, 0x49);
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes env2,
        fw::SignFor(next, lab.vendor, lab.model, fw::kFactorySequence + 2, lab.vendor_key));
    SECPROF_ASSIGN_OR_RETURN(int64_t id2, fw::AddGenuine(lab, env2, next, lab.model));
    SECPROF_TRY(fw::Offer(lab, id2, 0));
    const fs::path cut = ctx.dir / "power-cut", cut_half = ctx.dir / "power-cut-half-written";
    std::string pending_slot;
    auto power_cut = [&](const std::string& slot_path) -> Status {
      std::error_code ec;
      for (const auto& dst : {cut, cut_half}) {
        fs::copy(fw_dir, dst, fs::copy_options::recursive, ec);
        if (ec) return Fail(ErrorCode::kIo, "copying " + fw_dir + ": " + ec.message());
      }
      pending_slot = fs::path(slot_path).filename().string();
      const auto size = fs::file_size(slot_path, ec);
      if (!ec) fs::resize_file(cut_half / pending_slot, size / 2, ec);
      if (ec) return Fail(ErrorCode::kIo, "cutting " + pending_slot + ": " + ec.message());
      return Fail(ErrorCode::kIo, "lab: the power failed during the test boot");
    };
    SECPROF_ASSIGN_OR_RETURN(thing::Agent::UpdateOutcome u, t.CheckForUpdate(power_cut));
    if (!u.offered || pending_slot.empty())
      return Fail(ErrorCode::kInternal, "lab.fw_partial: no test boot to cut: " + u.detail);
    for (const auto& [dir, label] :
         {std::pair{cut, "power cut during the test boot"},
          std::pair{cut_half, "power cut with the new slot half written"}}) {
      Boot b = BootCopy(lab, dir.string());
      m.evidence.push_back(
          {"log",
           std::string(label) + ": " +
               (b.booted ? "boots sequence " + std::to_string(b.sequence) + " (" + b.action +
                               (b.sound ? ", slot hashes to its recorded digest)"
                                        : ", slot does NOT hash to its recorded digest)")
                         : "does not boot"),
           b.message.substr(0, 512)});
      if (!b.booted || !b.sound) hit = true;
      reasons.push_back(b.booted ? b.action : "bricked");
    }
    std::string joined;
    for (const auto& r : reasons) joined += (joined.empty() ? "" : ", ") + r;
    if (hit) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "a cut-short update left a thing that boots a bad image or none: " + joined;
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "thing.verified_boot";
    m.reason = joined;
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeFwPartial() { return std::make_unique<FwPartial>(); }

}  // namespace secprof::lab::internal
