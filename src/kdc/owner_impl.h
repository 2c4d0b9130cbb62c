// Internal to secprof::kdc: the state behind OwnerTools (owner.cpp, firmware.cpp).
#pragma once

#include <memory>
#include <string>

#include "secprof/kdc/kdc.h"

namespace secprof::kdc {

struct OwnerTools::Impl {
  std::string keys_dir;
  const Clock& clock;
  crypto::Random& rng;
  std::unique_ptr<registry::Registry> reg;
  DomainKeys keys;
};

}  // namespace secprof::kdc
