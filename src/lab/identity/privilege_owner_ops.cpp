// lab.privilege_owner_ops: a joined thing, over its own authenticated session, tries operations
// reserved to the owner, the KDC or other things (T11, elevation of privilege; docs/DOMAIN.md
// "Resources": who may call each resource).
//
// Attacker: a member thing whose software is compromised; it holds its own credentials.
// SecProf_2-4: over its operational DTLS session it reports readings in another thing's name,
// fetches and reports on firmware no campaign offered it, and (SecProf_3/4) re-enters the join
// resources with its LDevID to obtain a certificate for another serial. Owner operations are not
// served on the network at all (the owner's tools work on the KDC's files): the resource list the
// KDC advertises (RFC 6690 /.well-known/core) is recorded as evidence.
// SecProf_1: a member (not the mother) imprints another member with a domain key of its choosing,
// the mother's power in the duckling model.
// Success: any of these answered 2.xx.
#include "groups.h"
#include "privilege.h"
#include "secprof/crypto/random.h"
#include "secprof/crypto/signer.h"
#include "secprof/domain/protocol.h"
#include "secprof/identity/identity.h"

namespace secprof::lab::internal {
namespace {

class PrivilegeOwnerOps final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.privilege_owner_ops",
        "T11",
        "operation",
        "application",
        "a member thing with compromised software uses its own authenticated session to act for "
        "the owner, the KDC or another thing",
        "a request outside the thing's entitlement is answered 2.xx",
        {"M.app.access_control", "M.model.minimal_attack_surface", "M.boot.imprinting"},
        {"kdc.registry", "thing.imprint_once"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    DomainOptions o = Things(ctx, ctx.profile == domain::Profile::kSecProf1 ? 3 : 2);
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    if (ctx.profile == domain::Profile::kSecProf1) return Duckling(*d);
    const auto before = d->refusals();
    const std::string victim = d->thing(1).state().serial;
    SECPROF_ASSIGN_OR_RETURN(auto s, ThingOwnSession(*d, 0, ctx.dir / "own", ctx.timeout));
    std::vector<Attempt> at;
    at.push_back(Try(*s, "POST op/report naming " + victim, coap::Method::kPost,
                     domain::path::kReport,
                     domain::Encode(domain::Reading{victim, 9999, int64_t{1} << 40})));
    at.push_back(Try(*s, "GET fw/manifest of firmware 1 (not offered)", coap::Method::kGet,
                     domain::path::kFirmwareManifest, {}, "id=1"));
    at.push_back(Try(*s, "GET fw/image of firmware 1 (not offered)", coap::Method::kGet,
                     domain::path::kFirmwareImage, {}, "id=1"));
    at.push_back(Try(*s, "POST fw/status for campaign 1 (not offered)", coap::Method::kPost,
                     domain::path::kFirmwareStatus,
                     domain::Encode(domain::FirmwareStatus{1, true, "lab", 99})));
    if (d->token() || !d->thing(0).state().ldevid_pem.empty()) {
      at.push_back(
          Try(*s, "GET j/voucher with its LDevID", coap::Method::kGet, domain::path::kVoucher));
      SECPROF_ASSIGN_OR_RETURN(crypto::PrivateKey k,
                               crypto::PrivateKey::Generate(crypto::KeyType::kP256));
      SECPROF_ASSIGN_OR_RETURN(crypto::SoftwareSigner sg,
                               crypto::SoftwareSigner::Create(
                                   std::move(k), crypto::SignatureAlgorithm::kEcdsaP256Sha256));
      SECPROF_ASSIGN_OR_RETURN(
          identity::CertificateRequest csr,
          identity::CreateRequest(sg, identity::Name{.serial_number = victim}));
      at.push_back(Try(*s, "POST j/enroll for " + victim + " with its LDevID", coap::Method::kPost,
                       domain::path::kEnroll, domain::Encode(domain::EnrollRequest{csr.ToDer()})));
    }
    Measurement m = Verdict(at, "kdc.registry", RefusalDelta(before, d->refusals()));
    auto wk = s->Get(".well-known/core");
    m.evidence.push_back({"log", "resources the KDC advertises (no owner operation among them)",
                          wk ? BodyText(*wk) : wk.error().message()});
    return m;
  }

 private:
  // SecProf_1: member 1 imprints member 2 (the mother is thing 0).
  static Result<Measurement> Duckling(LiveDomain& d) {
    SECPROF_ASSIGN_OR_RETURN(auto* target, d.ServeThing(2));
    SECPROF_ASSIGN_OR_RETURN(auto c,
                             coap::Client::Connect("127.0.0.1", target->server->udp_port(), {}));
    SECPROF_ASSIGN_OR_RETURN(crypto::SecureBuffer key, crypto::SystemRandomSource().DrawSecret(32));
    domain::PairImprint imp{d.thing(1).state().serial, std::move(key)};
    std::vector<Attempt> at;
    at.push_back(Try(*c,
                     "POST pair: member " + imp.mother + " imprints " + d.thing(2).state().serial +
                         " with its own domain key",
                     coap::Method::kPost, domain::path::kPair, domain::Encode(imp)));
    return Verdict(at, "thing.imprint_once", at.back().obtained ? "" : "already-imprinted");
  }
};

}  // namespace

std::unique_ptr<Scenario> MakePrivilegeOwnerOps() { return std::make_unique<PrivilegeOwnerOps>(); }

}  // namespace secprof::lab::internal
