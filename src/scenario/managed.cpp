// SecProf_2..4: a KDC for the domain (docs/DOMAIN.md): admission by setup code or voucher, joins,
// a substitution refused, operation, thing-to-thing keys, groups with re-keying, a firmware
// campaign (firmware.cpp), decommissioning, replacement, and (voucher profiles) re-ownership.
#include <optional>

#include "internal.h"
#include "secprof/coap/coap.h"
#include "secprof/core/clock.h"
#include "secprof/domain/protocol.h"
#include "secprof/registry/registry.h"
#include "secprof/voucher/voucher.h"

namespace secprof::scenario::internal {

namespace fs = std::filesystem;

// SecProf_2..4: a KDC for the domain.
ProfileRun RunManaged(domain::Profile p, const RunOptions& o) {
  const fs::path& dir = o.dir;
  const int count = o.things;
  ProfileRun run;
  run.profile = domain::ProfileName(p);
  const bool voucher_mode = domain::PolicyFor(p).bootstrap == domain::Bootstrap::kVoucher;
  auto fleet = MakeFleet({dir, p, "Acme", count + 1, o.tokens});  // one spare for the replacement
  if (!fleet) {
    run.failures.push_back("manufacture: " + fleet.error().message());
    return run;
  }
  auto& f = fleet->things;
  const manufacture::Manifest& m = fleet->manifest;
  run.things = count + 1;
  Say(o, run.profile, "manufactured " + std::to_string(count + 1) + " things (1 spare)");
  kdc::KdcOptions ko;
  ko.profile = p;
  ko.db_path = (dir / "kdc.db").string();
  ko.owner = "Demo-Owner";
  ko.vendor_ca_files = {(dir / "factory" / m.ca_certificate).string()};
  if (const auto* tok = o.tokens ? o.tokens->For(p) : nullptr) {
    ko.kek.ca_token = tok->token_label;  // the domain CA key in the token too
    ko.kek.ca_pin = tok->pin;
  } else {
    ko.require_token_keys = false;  // the file-store fallback (see MakeFleet)
    ko.kek.allow_file_ca_key = true;
  }
  auto k = RunningKdc::Start(ko);
  if (!k) {
    run.failures.push_back("KDC: " + k.error().message());
    return run;
  }
  auto owner = kdc::OwnerTools::Open(ko.db_path);
  if (!owner) {
    run.failures.push_back("owner tools: " + owner.error().message());
    return run;
  }
  const uint16_t udp = (*k)->kdc->udp_port();  // 0: no plain-CoAP step (SecProf_3/4)
  Say(o, run.profile,
      "KDC up:" + (udp ? " coap://127.0.0.1:" + std::to_string(udp) : "") +
          " coaps://127.0.0.1:" + std::to_string((*k)->kdc->dtls_port()));
  std::optional<voucher::Factory> vendor;
  if (voucher_mode) {
    auto fo = voucher::Factory::Open((dir / "factory").string());
    if (!fo) {
      run.failures.push_back(fo.error().message());
      return run;
    }
    vendor.emplace(std::move(*fo));
  }
  auto admit = [&](const manufacture::ThingRecord& t) -> Status {
    if (!voucher_mode) return (*owner)->AllowSetupCode(t.serial, m.vendor, m.model, t.setup_code);
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes v,
                             vendor->Issue(t.serial, (*k)->kdc->domain_ca(), "Demo-Owner",
                                           std::chrono::hours(24), SystemClock()));
    return (*owner)->ImportVoucher(v, vendor->vendor_ca());
  };
  for (int i = 0; i < count; ++i) Step(run, "admit " + m.things[i].serial, admit(m.things[i]));
  Say(o, run.profile,
      std::string(voucher_mode ? "imported vouchers" : "allowed setup codes") + " for " +
          std::to_string(count) + " things");
  // Installed -> commissioned.
  auto t0 = Clk::now();
  for (int i = 0; i < count; ++i) {
    Step(run, "install", f[i]->Install("127.0.0.1", (*k)->kdc->udp_port(), (*k)->kdc->dtls_port()));
    auto j = f[i]->Join();
    Step(run, "join " + f[i]->state().serial, j);
    run.joined += j.has_value();
  }
  run.join_seconds = Seconds(t0);
  Say(o, run.profile,
      "joined " + std::to_string(run.joined) + "/" + std::to_string(count) + " in " +
          std::to_string(run.join_seconds).substr(0, 5) + " s");
  // The spare was never admitted: a substitution attempt.
  Step(run, "install spare",
       f[count]->Install("127.0.0.1", (*k)->kdc->udp_port(), (*k)->kdc->dtls_port()));
  MustRefuse(run, "join of a device the owner did not admit", f[count]->Join());
  // Operational.
  for (int i = 0; i < count; ++i) {
    Step(run, "operational", f[i]->GoOperational());
    Step(run, "reading", f[i]->SendReading(2000 + i));
  }
  Say(o, run.profile,
      "operational: readings over " + std::string(voucher_mode ? "DTLS with LDevIDs" : "DTLS-PSK"));
  // Thing-to-thing: a KDC ticket, then DTLS-PSK between the two things.
  if (count >= 2) {
    auto srv = RunningThingServer::Start(*f[1], {});
    auto pk = f[0]->RequestPairKey(f[1]->state().serial);
    if (srv && pk) {
      auto peer =
          thing::ConnectToPeer("127.0.0.1", (*srv)->server->udp_port(), (*srv)->server->dtls_port(),
                               *pk, std::chrono::milliseconds(3000));
      auto r = peer ? (*peer)->Put(domain::path::kActuator,
                                   domain::Encode(domain::ActuatorCommand{true}),
                                   coap::content_format::kCbor)
                    : Result<coap::Response>(Fail(peer.error()));
      if (!r || r->code != coap::kChanged)
        run.failures.push_back("thing-to-thing command");
      else
        Say(o, run.profile,
            "thing-to-thing: " + f[0]->state().serial + " switched " + f[1]->state().serial +
                "'s LED over a KDC-keyed DTLS session");
    } else {
      run.failures.push_back("pair key: " + (pk ? srv.error().message() : pk.error().message()));
    }
  }
  // Groups: everyone in "all"; the last member leaves -> new epoch it cannot read.
  Step(run, "group", (*owner)->CreateGroup("all"));
  for (int i = 0; i < count; ++i)
    Step(run, "member", (*owner)->AddMember("all", f[i]->state().serial));
  for (int i = 0; i < count; ++i) (void)f[i]->FetchGroupKey("all");
  if (count >= 2) {
    auto msg = f[0]->SealGroupMessage("all", coap::Text("lights off"));
    auto g1 = f[1]->FetchGroupKey("all");
    if (msg && g1) {
      auto opened = f[1]->OpenGroupMessage("all", *msg, g1->members);
      Step(run, "group message", opened.has_value() ? Ok() : Status(Fail(opened.error())));
      if (opened)
        Say(o, run.profile,
            std::string("group message ") +
                (opened->origin_authenticated ? "signed by its sender and " : "") +
                "encrypted under epoch " + std::to_string(g1->epoch));
    }
    Step(run, "remove member", (*owner)->RemoveMember("all", f[count - 1]->state().serial));
    auto g2 = f[1]->FetchGroupKey("all");
    auto stale = f[count - 1]->SealGroupMessage("all", coap::Text("still here"));
    if (g2 && stale)
      MustRefuse(run, "group message from a removed member",
                 f[1]->OpenGroupMessage("all", *stale, g2->members).has_value()
                     ? Ok()
                     : Status(Fail(Error(ErrorCode::kVerifyFailed, "stale epoch"))));
  }
  Step(run, "firmware", RunFirmwareCampaign(run, o, **owner, *fleet, count));
  // Decommission the last thing; its old credential is refused afterwards.
  thing::Agent& gone = *f[count - 1];
  Step(run, "decommission", gone.Decommission());
  // Replacement: the spare takes over the decommissioned thing's role.
  auto spare_admit = admit(m.things[count]);
  Step(run, "admit spare", spare_admit);
  Step(run, "spare reset", f[count]->FactoryReset(true));
  Step(run, "spare install",
       f[count]->Install("127.0.0.1", (*k)->kdc->udp_port(), (*k)->kdc->dtls_port()));
  Step(run, "spare join", f[count]->Join());
  Step(run, "replace", (*owner)->Replace(gone.state().serial, f[count]->state().serial));
  Step(run, "spare operational", f[count]->GoOperational());
  Say(o, run.profile,
      "decommissioned " + gone.state().serial + "; " + f[count]->state().serial + " replaced it");
  // Re-ownership (voucher profiles): thing 0 is sold to a second owner.
  if (voucher_mode && count >= 3) {
    kdc::KdcOptions ko2 = ko;
    ko2.db_path = (dir / "kdc-new-owner.db").string();
    ko2.owner = "New-Owner";
    auto k2 = RunningKdc::Start(ko2);
    auto owner2 = k2 ? kdc::OwnerTools::Open(ko2.db_path)
                     : Result<std::unique_ptr<kdc::OwnerTools>>(Fail(k2.error()));
    if (!owner2) {
      run.failures.push_back("second owner: " + owner2.error().message());
    } else {
      thing::Agent& sold = *f[0];
      Step(run, "sale: decommission", sold.Decommission());
      Step(run, "sale: factory reset", sold.FactoryReset());
      auto v = vendor->Issue(sold.state().serial, (*k2)->kdc->domain_ca(), "New-Owner",
                             std::chrono::hours(24), SystemClock());
      Step(run, "new voucher",
           v ? (*owner2)->ImportVoucher(*v, vendor->vendor_ca()) : Status(Fail(v.error())));
      Step(run, "install at new owner",
           sold.Install("127.0.0.1", (*k2)->kdc->udp_port(), (*k2)->kdc->dtls_port()));
      Step(run, "join new owner", sold.Join());
      Step(run, "operational at new owner", sold.GoOperational());
      // The old domain refuses it now.
      auto back = kdc::OwnerTools::Open(ko.db_path);
      if (back) {
        auto t = (*back)->registry().Get(sold.state().serial);
        if (!t || registry::IsActive(t->state))
          run.failures.push_back("old domain still lists the sold thing as active");
      }
      Say(o, run.profile,
          "re-owned " + sold.state().serial +
              ": now in New-Owner's domain, "
              "refused by the old one");
    }
  }
  if (domain::PolicyFor(p).tamper_resistant) {
    if (o.tokens && o.tokens->For(p))
      run.notes.push_back(
          "IDevID and LDevID keys generated in a PKCS#11 token (SoftHSM2), "
          "non-extractable; DTLS handshakes and group signatures are made in it; the things' "
          "secrets are sealed under a token AES key; the domain CA and KDC DTLS keys are in a "
          "token too");
    else
      run.failures.push_back("no PKCS#11 token for this profile: " +
                             (o.tokens ? o.tokens->problem : std::string("no tokens given")));
  }
  run.refused = (*k)->kdc->stats().refused;
  Count(run, f);
  return run;
}

}  // namespace secprof::scenario::internal
