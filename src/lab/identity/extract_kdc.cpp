// lab.extract_kdc: a reader of the KDC's files recovers the domain's keys (T6, extraction of
// private information; docs/DOMAIN.md "Files": a copy of --db and --keys yields neither the CA key
// nor the wrapped keys, the KEK lives outside the key directory).
//
// Attacker: obtains a copy of the KDC's registry (kdc.db with its WAL) and key directory (a
// backup, a stolen disk image of the data volume) and runs the KDC's own software on it to open
// the key store and unwrap the registry's keys: things' pairwise keys (SecProf_2: their PSKs) and
// group keys. Success: a key recovered from that copy (AES-GCM unwrapping proves it genuine; a
// SecProf_2 PSK is also used for a DTLS session with the KDC as the thing).
// The evidence also records what a reader of the whole host gets when the KEK sits at its default
// place beside the key directory (<keys>.kek): that is outside this attacker, and reported.
// SecProf_1 has no KDC: not applicable.
#include "adversary.h"
#include "groups.h"
#include "privilege.h"
#include "secprof/crypto/random.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/revocation.h"
#include "secprof/registry/registry.h"

namespace secprof::lab::internal {
namespace {

namespace fs = std::filesystem;
constexpr const char* kGroup = "lab-line";

class ExtractKdc final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.extract_kdc",
        "T6",
        "operation",
        "application",
        "copies the KDC's registry and key directory (a backup, a disk image) and runs the KDC's "
        "own software on the copy to open its keys",
        "a thing's pairwise key (PSK), a group key or the domain CA key is recovered from the copy",
        {"M.app.pairwise_keys", "M.model.tamper_resistant_keys"},
        {"kdc.pairwise_keys", "keystore.pkcs11_nonextractable"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    Measurement m;
    if (ctx.profile == domain::Profile::kSecProf1) {
      m.outcome = Outcome::kNotApplicable;
      m.reason = "SecProf_1 has no KDC";
      return m;
    }
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(Things(ctx, 1)));
    const std::string serial = d->thing(0).state().serial;
    SECPROF_TRY(d->owner()->CreateGroup(kGroup));
    SECPROF_TRY(d->owner()->AddMember(kGroup, serial));
    const fs::path db = d->kdc_options().db_path;
    const fs::path keys = db.string() + ".keys";
    const fs::path to = ctx.dir / "stolen";
    std::error_code ec;
    fs::create_directories(to, ec);
    for (const char* ext : {"", "-wal", "-shm"})
      if (fs::exists(db.string() + ext))
        fs::copy_file(db.string() + ext, to / (db.filename().string() + ext), ec);
    fs::copy(keys, to / keys.filename(), fs::copy_options::recursive, ec);
    if (ec) return Fail(ErrorCode::kIo, "lab: cannot copy the KDC's files: " + ec.message());
    const std::string cdb = (to / db.filename()).string(), ckeys = (to / keys.filename()).string();

    // The copy as the brief's reader has it: registry and key directory, no KEK.
    auto loot = Open(cdb, ckeys, serial, d->kdc_options().owner);
    m.evidence.push_back({"log", "registry + key directory: " + loot, ""});
    const bool got = loot.rfind("recovered", 0) == 0;
    // The whole host, with the KEK at its default place beside the key directory.
    fs::copy_file(keys.string() + ".kek", ckeys + ".kek", ec);
    if (!ec)
      m.evidence.push_back({"recovered",
                            "with the host's default KEK file (<keys>.kek) too: " +
                                Open(cdb, ckeys, serial, d->kdc_options().owner),
                            "outside this scenario's attacker; the KEK's place is the owner's "
                            "choice (--kek-file, $SECPROF_KDC_KEK)"});
    if (got) {
      m.outcome = Outcome::kSucceeded;
      m.reason = loot;
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "kdc.pairwise_keys";
    m.reason = "kek-not-in-copy";
    return m;
  }

 private:
  // Opens the copied key directory with the KDC's software (never the token: the attacker has
  // none) and unwraps what the copied registry holds. One line saying what it obtained.
  static std::string Open(const std::string& db, const std::string& keys, const std::string& serial,
                          const std::string& owner) {
    kdc::KeyDirOptions ko;
    ko.open_ca_token = false;
    auto dk = kdc::OpenDomainKeys(keys, owner, SystemClock(), crypto::SystemRandomSource(), ko);
    if (!dk) return "the key directory does not open: " + dk.error().message();
    auto reg = registry::Registry::Open(db);
    if (!reg) return "the registry copy does not open: " + reg.error().message();
    std::string out = "recovered:";
    auto t = (*reg)->Get(serial);
    if (t && !t->wrapped_key.empty() &&
        domain::UnwrapKey(dk->wrap_kek.view(), "pairwise:" + serial, t->wrapped_key))
      out += " the pairwise key of " + serial + (t->credential_kind == "psk" ? " (its PSK)" : "");
    auto gs = (*reg)->ListGroups();
    if (gs)
      for (const auto& g : *gs)
        if (domain::UnwrapKey(dk->wrap_kek.view(),
                              "group:" + g.name + ":" + std::to_string(g.epoch), g.wrapped_key))
          out += ", the key of group " + g.name;
    out += dk->kdc_private_key_pem.empty() ? ", not the KDC's DTLS key (in the token)"
                                           : ", the KDC's DTLS private key";
    out += dk->ca_key_location == "file" ? ", the domain CA key (file store)"
                                         : ", not the domain CA key (in the token)";
    return out;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeExtractKdc() { return std::make_unique<ExtractKdc>(); }

}  // namespace secprof::lab::internal
