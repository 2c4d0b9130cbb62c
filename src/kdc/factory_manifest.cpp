// kdc::AllowFromFactory (secprof/kdc/factory_manifest.h).
#include "secprof/kdc/factory_manifest.h"

#include <filesystem>
#include <map>
#include <set>

#include "secprof/core/fs.h"
#include "secprof/domain/profile.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/setup_code.h"
#include "secprof/manufacture/manufacture.h"
#include "secprof/registry/registry.h"

namespace secprof::kdc {

Result<size_t> AllowFromFactory(OwnerTools& tools, const AllowFromFactoryRequest& a,
                                const OnAllowed& on_allowed) {
  using registry::State;
  if (a.all == !a.serials.empty())
    return Fail(ErrorCode::kInvalidInput, "give --serial S (one or more times) or --all");
  registry::Registry& reg = tools.registry();
  SECPROF_ASSIGN_OR_RETURN(registry::DomainInfo dom, reg.Domain());
  if (dom.profile != domain::ProfileName(domain::Profile::kSecProf2))
    return Fail(ErrorCode::kInvalidInput,
                a.db_label + " is a " + dom.profile +
                    " domain: things are admitted by voucher there (secprof kdc import-voucher)");
  const std::string manifest_path =
      (std::filesystem::path(a.factory_dir) / "manifest.json").string();
  SECPROF_ASSIGN_OR_RETURN(std::string json, ReadFile(manifest_path));
  SECPROF_ASSIGN_OR_RETURN(manufacture::Manifest m,
                           manufacture::ManifestFromJson(json, manifest_path));
  std::map<std::string, const manufacture::ThingRecord*> by_serial;
  for (const auto& t : m.things) by_serial[t.serial] = &t;
  std::vector<const manufacture::ThingRecord*> chosen;
  std::set<std::string> seen;
  if (a.all) {
    for (const auto& t : m.things) chosen.push_back(&t);
    if (chosen.empty()) return Fail(ErrorCode::kInvalidInput, manifest_path + " lists no things");
  } else {
    for (const auto& s : a.serials) {
      if (!seen.insert(s).second)
        return Fail(ErrorCode::kInvalidInput, "--serial " + s + " given twice");
      auto it = by_serial.find(s);
      if (it == by_serial.end())
        return Fail(ErrorCode::kNotFound, "serial " + s + " is not in " + manifest_path);
      chosen.push_back(it->second);
    }
  }
  // Everything is checked before anything is written: one refusal allows nothing.
  for (const auto* t : chosen) {
    if (auto v = domain::ValidateSerial(t->serial); !v)
      return Fail(v.error().WithContext(manifest_path + ": serial " + t->serial));
    if (auto c = domain::CheckSetupCodeStrength(t->setup_code); !c)
      return Fail(c.error().WithContext(manifest_path + ": setup code of " + t->serial));
    auto existing = reg.Get(t->serial);
    if (existing && existing->state != State::kAllowed)
      return Fail(ErrorCode::kConflict, "thing " + t->serial + " is already " +
                                            registry::StateName(existing->state) +
                                            "; it cannot be allowed again");
    if (existing && (existing->vendor != m.vendor || existing->model != m.model))
      return Fail(ErrorCode::kConflict, "thing " + t->serial + " is allowed as " +
                                            existing->vendor + "/" + existing->model + ", not " +
                                            m.vendor + "/" + m.model);
  }
  for (const auto* t : chosen) {
    auto st = tools.AllowSetupCode(t->serial, m.vendor, m.model, t->setup_code, a.actor);
    if (!st) return Fail(st.error().WithContext("serial " + t->serial));
    if (on_allowed) on_allowed(t->serial, m.vendor, m.model);
  }
  return chosen.size();
}

}  // namespace secprof::kdc
