// A live domain for one scenario run (secprof/lab/live_domain.h).
#include "secprof/lab/live_domain.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "secprof/coap/coap.h"
#include "secprof/core/clock.h"
#include "secprof/core/fs.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab {

namespace fs = std::filesystem;

TokenPool TokenPool::Prepare(const fs::path& base) {
  TokenPool pool;
  pool.problem_ = scenario::ConfigureSoftHsm(base);
  if (pool.problem_.empty()) pool.reserved_ = std::make_shared<Reserved>();
  return pool;
}

struct TokenPool::Reserved {
  std::mutex mu;
  std::vector<std::string> labels;  // made, not handed out yet
};

namespace {

// Makes one initialised token (softhsm2-util, under the pool's SOFTHSM2_CONF).
Result<std::string> MakeToken() {
  static std::atomic<int> next{0};
  std::string label = "lab-" + std::to_string(::getpid()) + "-" + std::to_string(next++);
  std::string cmd = "softhsm2-util --init-token --free --label " + label +
                    " --pin 1234 --so-pin 5678 >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0)
    return Fail(ErrorCode::kInternal, "softhsm2-util could not make token " + label);
  return label;
}

}  // namespace

Result<keystore::Pkcs11KeyStoreOptions> TokenPool::Fresh() const {
  if (!ok()) return Fail(ErrorCode::kNotFound, problem_);
  std::string label;
  if (reserved_) {
    std::lock_guard<std::mutex> lock(reserved_->mu);
    if (!reserved_->labels.empty()) {
      label = reserved_->labels.front();
      reserved_->labels.erase(reserved_->labels.begin());
    }
  }
  if (label.empty()) {
    SECPROF_ASSIGN_OR_RETURN(label, MakeToken());
  }
  keystore::Pkcs11KeyStoreOptions o;
  o.token_label = label;
  o.pin = keystore::Pin("1234");
  return o;
}

Status TokenPool::Reserve(int n, int threads) const {
  if (!ok()) return Fail(ErrorCode::kNotFound, problem_);
  if (!reserved_) return Fail(ErrorCode::kInternal, "token pool not prepared");
  std::atomic<int> left{n};
  std::mutex mu;
  std::optional<Error> failed;
  auto work = [&] {
    while (left-- > 0) {
      auto label = MakeToken();
      std::lock_guard<std::mutex> lock(mu);
      if (!label) {
        failed = label.error();
        return;
      }
      std::lock_guard<std::mutex> rl(reserved_->mu);
      reserved_->labels.push_back(*label);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed) return Fail(*failed);
  // Handed out in the order made (token names are not part of any outcome).
  std::lock_guard<std::mutex> rl(reserved_->mu);
  std::sort(reserved_->labels.begin(), reserved_->labels.end());
  return Ok();
}

Result<std::unique_ptr<LiveDomain>> LiveDomain::Start(const DomainOptions& o) {
  std::unique_ptr<LiveDomain> d(new LiveDomain(o));
  const bool tamper = domain::PolicyFor(o.profile).tamper_resistant;
  if (tamper && o.tokens && o.tokens->ok()) {
    SECPROF_ASSIGN_OR_RETURN(auto tok, o.tokens->Fresh());
    d->tokens_.by_profile[o.profile] = tok;
  }
  scenario::FleetOptions fo;
  fo.dir = o.dir;
  fo.profile = o.profile;
  fo.vendor = o.vendor;
  fo.count = o.things + o.spares;
  fo.tokens = &d->tokens_;
  fo.timeout = o.timeout;
  SECPROF_ASSIGN_OR_RETURN(d->fleet_, scenario::MakeFleet(fo));
  if (o.profile == domain::Profile::kSecProf1) {
    if (o.join && o.things > 0) {
      SECPROF_TRY(d->thing(0).BecomeMother());
      for (int i = 1; i < o.things; ++i) SECPROF_TRY(d->Pair(i));
      for (int i = 0; i < o.things; ++i) SECPROF_TRY(d->thing(i).GoOperational());
    }
    return d;
  }
  kdc::KdcOptions& ko = d->kdc_options_;
  ko.profile = o.profile;
  ko.db_path = (o.dir / "kdc.db").string();
  ko.owner = o.owner;
  ko.vendor_ca_files = {
      (fs::path(d->fleet_.factory_dir) / d->fleet_.manifest.ca_certificate).string()};
  if (const auto* tok = d->tokens_.For(o.profile)) {
    ko.kek.ca_token = tok->token_label;
    ko.kek.ca_pin = tok->pin;
  } else {
    ko.require_token_keys = false;
    ko.kek.allow_file_ca_key = true;
  }
  if (o.configure_kdc) o.configure_kdc(ko);
  SECPROF_ASSIGN_OR_RETURN(d->kdc_, scenario::RunningKdc::Start(ko));
  SECPROF_ASSIGN_OR_RETURN(d->owner_, kdc::OwnerTools::Open(ko.db_path));
  if (domain::PolicyFor(o.profile).bootstrap == domain::Bootstrap::kVoucher) {
    SECPROF_ASSIGN_OR_RETURN(auto f, voucher::Factory::Open(d->fleet_.factory_dir));
    d->vendor_.emplace(std::move(f));
  }
  for (int i = 0; i < o.things; ++i) {
    SECPROF_TRY(d->Admit(i));
    if (!o.join) continue;
    SECPROF_TRY(d->InstallAndJoin(i, d->kdc_udp_port(), d->kdc_dtls_port()));
    SECPROF_TRY(d->thing(i).GoOperational());
  }
  return d;
}

LiveDomain::~LiveDomain() = default;

fs::path LiveDomain::thing_dir(int i) const {
  return o_.dir / "things" / fleet_.manifest.things.at(static_cast<size_t>(i)).serial;
}

uint16_t LiveDomain::kdc_udp_port() const { return kdc_ ? kdc_->kdc->udp_port() : 0; }
uint16_t LiveDomain::kdc_dtls_port() const { return kdc_ ? kdc_->kdc->dtls_port() : 0; }

Status LiveDomain::Admit(int i) {
  if (!owner_) return Fail(ErrorCode::kInvalidInput, "SecProf_1 has no KDC to admit things");
  const auto& t = fleet_.manifest.things.at(static_cast<size_t>(i));
  const auto& m = fleet_.manifest;
  if (!vendor_) return owner_->AllowSetupCode(t.serial, m.vendor, m.model, t.setup_code);
  SECPROF_ASSIGN_OR_RETURN(crypto::Bytes v,
                           vendor_->Issue(t.serial, kdc_->kdc->domain_ca(), o_.owner,
                                          std::chrono::hours(24), SystemClock()));
  return owner_->ImportVoucher(v, vendor_->vendor_ca());
}

Status LiveDomain::InstallAndJoin(int i, uint16_t udp, uint16_t dtls) {
  SECPROF_TRY(thing(i).Install("127.0.0.1", udp, dtls));
  return thing(i).Join();
}

Status LiveDomain::Pair(int i) {
  SECPROF_ASSIGN_OR_RETURN(auto* srv, ServeThing(i));
  SECPROF_ASSIGN_OR_RETURN(auto cl,
                           coap::Client::Connect("127.0.0.1", srv->server->udp_port(), {}));
  SECPROF_ASSIGN_OR_RETURN(auto imprint, thing(0).MakeImprint());
  SECPROF_ASSIGN_OR_RETURN(
      auto r, cl->Post(domain::path::kPair, domain::Encode(imprint), coap::content_format::kCbor));
  if (r.code != coap::kChanged)
    return Fail(ErrorCode::kInternal,
                "pairing " + thing(i).state().serial + " was answered " + coap::CodeString(r.code));
  return Ok();
}

Result<scenario::RunningThingServer*> LiveDomain::ServeThing(int i, thing::ThingServerOptions so) {
  auto it = servers_.find(i);
  if (it != servers_.end()) return it->second.get();
  SECPROF_ASSIGN_OR_RETURN(auto s, scenario::RunningThingServer::Start(thing(i), std::move(so)));
  auto* raw = s.get();
  servers_[i] = std::move(s);
  return raw;
}

std::map<std::string, uint64_t> LiveDomain::refusals() const {
  return kdc_ ? kdc_->kdc->stats().refused : std::map<std::string, uint64_t>{};
}

const keystore::Pkcs11KeyStoreOptions* LiveDomain::token() const {
  return fleet_.token_keys ? tokens_.For(o_.profile) : nullptr;
}

}  // namespace secprof::lab
