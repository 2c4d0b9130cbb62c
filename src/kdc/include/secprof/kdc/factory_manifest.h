// secprof/kdc/factory_manifest.h — SecProf_2: the installer allows things from a factory's
// manifest (`secprof kdc allow`; docs/DOMAIN.md "SecProf_2: setup codes"). The manifest
// (<factory>/manifest.json, secprof::manufacture) lists each thing's serial and setup code.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/kdc/kdc.h"

namespace secprof::kdc {

struct AllowFromFactoryRequest {
  std::string factory_dir;           // holds manifest.json
  std::vector<std::string> serials;  // the things to allow, in order
  bool all = false;                  // every thing of the manifest instead (serials empty)
  std::string db_label;              // how errors name the registry (the path the owner gave)
  std::string actor = "installer";   // recorded in the audit log
};

// Called for each thing once it is allowed.
using OnAllowed = std::function<void(const std::string& serial, const std::string& vendor,
                                     const std::string& model)>;

// Allows the chosen things of the manifest with their setup codes, all or none: every thing is
// checked first (serial syntax, setup code strength, not already past `allowed`, not allowed as
// another vendor/model), and one refusal allows nothing. Returns how many were allowed.
// Errors: kInvalidInput (not a SecProf_2 domain, neither or both of serials/all, a serial given
// twice, a manifest without things, a bad serial or weak code), kNotFound (a serial not in the
// manifest), kConflict (a thing already past allowed, or allowed as another model), and the
// manifest's own read/parse errors.
Result<size_t> AllowFromFactory(OwnerTools& tools, const AllowFromFactoryRequest& req,
                                const OnAllowed& on_allowed = {});

}  // namespace secprof::kdc
