// secprof/lab/live_domain.h — a live domain for one scenario run: manufactured things, a KDC
// serving on 127.0.0.1 (SecProf_2..4) or a duckling mother (SecProf_1), the owner's tools, and the
// first `things` admitted, joined and operational, exactly as docs/DOMAIN.md describes and
// `secprof demo` runs them (it reuses secprof::scenario). Scenarios attack it; they never change
// how it is set up except through DomainOptions.
//
// Everything lives under DomainOptions::dir; the destructor stops every server thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "secprof/core/result.h"
#include "secprof/domain/profile.h"
#include "secprof/kdc/kdc.h"
#include "secprof/scenario/scenario.h"
#include "secprof/thing/agent.h"
#include "secprof/voucher/voucher.h"

namespace secprof::lab {

// SoftHSM2 for the lab: one configuration and token directory per lab run, a fresh token per
// domain (manufacture derives serials from the model, so two fleets in one token would collide).
class TokenPool {
 public:
  // Points SOFTHSM2_CONF at <base>/softhsm (process-wide, like scenario::MakeSoftHsmTokens).
  // Without SoftHSM2 the pool is empty and `problem()` says why.
  static TokenPool Prepare(const std::filesystem::path& base);
  bool ok() const { return problem_.empty(); }
  const std::string& problem() const { return problem_; }
  // A new initialised token "lab-<n>" (user PIN 1234): a reserved one when there is one left,
  // else one made now. Thread-safe.
  Result<keystore::Pkcs11KeyStoreOptions> Fresh() const;
  // Makes `n` tokens now, with up to `threads` softhsm2-util processes at a time (two at once
  // can collide on SoftHSM2's free slot: the runner uses 1), for Fresh to hand out. SoftHSM2 lists
  // the tokens of its directory when a process first opens the module, so a token made while
  // another domain of this process holds the module open stays invisible to this process: a runner
  // that runs token domains in parallel reserves every token before the first domain starts
  // (runner.cpp).
  Status Reserve(int n, int threads) const;

 private:
  std::string problem_;
  struct Reserved;
  std::shared_ptr<Reserved> reserved_;
};

struct DomainOptions {
  domain::Profile profile = domain::Profile::kSecProf2;
  std::filesystem::path dir;
  int things = 2;    // manufactured, admitted, installed, joined and operational
  int spares = 0;    // manufactured only (never admitted, never installed)
  bool join = true;  // false: admitted only (install/join left to the scenario)
  // SecProf_3/4: a fresh token from the pool holds every key (brief §3); without a pool (or an
  // empty one) the things and the KDC use file stores, recorded as an override - a scenario
  // whose verdict depends on non-extractable keys must then report kNotTestable.
  const TokenPool* tokens = nullptr;
  std::string vendor = "Acme";
  std::string owner = "Lab-Owner";
  std::chrono::milliseconds timeout{2000};
  // Applied to the KDC's options before it starts (a scenario's limits, windows, lab seams).
  std::function<void(kdc::KdcOptions&)> configure_kdc;
};

class LiveDomain {
 public:
  static Result<std::unique_ptr<LiveDomain>> Start(const DomainOptions& o);
  ~LiveDomain();

  domain::Profile profile() const { return o_.profile; }
  const DomainOptions& options() const { return o_; }
  bool token_keys() const { return fleet_.token_keys; }
  const manufacture::Manifest& manifest() const { return fleet_.manifest; }
  const std::string& factory_dir() const { return fleet_.factory_dir; }
  int size() const { return static_cast<int>(fleet_.things.size()); }  // things + spares
  thing::Agent& thing(int i) { return *fleet_.things.at(static_cast<size_t>(i)); }
  std::filesystem::path thing_dir(int i) const;  // the thing's state directory

  // SecProf_2..4 (nullptr / 0 for SecProf_1).
  kdc::Kdc* kdc() { return kdc_ ? kdc_->kdc.get() : nullptr; }
  kdc::OwnerTools* owner() { return owner_.get(); }
  const kdc::KdcOptions& kdc_options() const { return kdc_options_; }
  uint16_t kdc_udp_port() const;
  uint16_t kdc_dtls_port() const;
  voucher::Factory* vendor() { return vendor_ ? &*vendor_ : nullptr; }  // voucher profiles

  // The owner admits thing `i` (setup code for SecProf_2, a vendor voucher for SecProf_3/4).
  Status Admit(int i);
  // Installs thing `i` pointing at the given KDC ports (an on-path relay's, say), then joins it.
  Status InstallAndJoin(int i, uint16_t udp, uint16_t dtls);
  // SecProf_1: thing 0 is the mother; thing `i` is paired with it over plain CoAP.
  Status Pair(int i);
  // Starts (once) thing `i`'s server on its own thread and returns it.
  Result<scenario::RunningThingServer*> ServeThing(int i, thing::ThingServerOptions so = {});
  // The KDC's refusals so far, by reason (KdcStats::refused); empty for SecProf_1.
  std::map<std::string, uint64_t> refusals() const;

 private:
  explicit LiveDomain(const DomainOptions& o) : o_(o) {}
  DomainOptions o_;
  scenario::Tokens tokens_;
  scenario::Fleet fleet_;
  kdc::KdcOptions kdc_options_;
  std::unique_ptr<scenario::RunningKdc> kdc_;
  std::unique_ptr<kdc::OwnerTools> owner_;
  std::optional<voucher::Factory> vendor_;
  std::map<int, std::unique_ptr<scenario::RunningThingServer>> servers_;

 public:
  // The token holding this domain's keys (SecProf_3/4 with a pool), or nullptr (file keys).
  const keystore::Pkcs11KeyStoreOptions* token() const;
};

}  // namespace secprof::lab
