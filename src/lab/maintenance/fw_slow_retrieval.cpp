// lab.fw_slow_retrieval: the update is served extremely slowly, so that the thing stays busy
// (and on its old firmware) for as long as the attacker likes (T5/T9; Uptane's "slow retrieval"
// attack). docs/DOMAIN.md "Maintenance", docs/COAP.md (ClientConfig::timeout: each block of a
// block-wise response restarts the request's timeout).
//
// Attacker: on the path between the thing and the KDC (wire/relay.h), holds every datagram from
// the KDC for half the thing's request timeout, so that no single exchange ever times out.
// The thing then checks for an offered update (a genuine release of one 1 KiB block; every
// further block would add one more held datagram).
// Success: the update takes more than kFactor times the thing's request timeout and the thing
// never gives up (no overall deadline): its duration grows with the number of exchanges, without
// bound, at the attacker's pace. Blocked: the thing abandons the slow transfer (its error is the
// reason).
// SecProf_2: the join answer names the KDC's own DTLS port in its plain part, so the relay sits on
// the join too and rewrites that port to its own (wire/on_path.h RedirectJoinAnswer), as
// lab.blockwise_rearrange does; the thing's DTLS sessions then cross the relay as in SecProf_3/4.
// No negative control.
#include <chrono>
#include <vector>

#include "firmware_attack.h"
#include "groups.h"
#include "wire/on_path.h"
#include "wire/relay.h"

namespace secprof::lab::internal {
namespace {

using Steady = std::chrono::steady_clock;
constexpr int kFactor = 2;

class FwSlowRetrieval final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.fw_slow_retrieval",
        "T5",
        "maintenance",
        "transport",
        "sits on the path between a thing and the KDC and delays every datagram of the update "
        "just below the thing's request timeout",
        "the thing's update drags on far beyond its request timeout without the thing giving up "
        "(it can be held on its old firmware indefinitely)",
        {"M.app.update_delivery"},
        {"thing.update_check"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return fw::NoDeliveryInSecProf1();
    Measurement m;
    SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1, /*join=*/false));
    LiveDomain& d = *lab.d;
    // SecProf_2: the plain join crosses the relay too (link 0), which rewrites the DTLS port its
    // answer names to the relay's own (link 1).
    const bool plain_join = ctx.profile == domain::Profile::kSecProf2;
    std::vector<uint16_t> upstreams;
    if (plain_join) upstreams.push_back(d.kdc_udp_port());
    upstreams.push_back(d.kdc_dtls_port());
    SECPROF_ASSIGN_OR_RETURN(auto relay, wire::Relay::Start(upstreams));
    const size_t dtls = plain_join ? 1 : 0;
    if (plain_join) relay->SetPolicy(wire::RedirectJoinAnswer(relay->port(dtls)));
    SECPROF_TRY(
        d.InstallAndJoin(0, plain_join ? relay->port(0) : d.kdc_udp_port(), relay->port(dtls)));
    thing::Agent& t = d.thing(0);
    SECPROF_TRY(t.GoOperational());
    relay->SetPolicy({});
    if (t.state().kdc_dtls != relay->port(dtls))
      return Fail(ErrorCode::kInternal, "lab.fw_slow_retrieval: the thing bypasses the relay");
    crypto::Bytes image = fw::MakeImage(1024, 0x51);  // one block: the run stays short
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes env,
        fw::SignFor(image, lab.vendor, lab.model, fw::kFactorySequence + 1, lab.vendor_key));
    SECPROF_ASSIGN_OR_RETURN(int64_t id, fw::AddGenuine(lab, env, image, lab.model));
    SECPROF_TRY(fw::Offer(lab, id, 0));
    const auto delay = ctx.timeout / 2;
    // Every server-to-client datagram held `delay` before it goes on.
    relay->SetPolicy([delay](const wire::Datagram& g, crypto::Bytes&) {
      if (g.dir != wire::Direction::kToClient) return wire::Decision{};
      return wire::Decision{wire::Decision::Action::kDelay,
                            std::chrono::duration_cast<std::chrono::milliseconds>(delay)};
    });
    const auto t0 = Steady::now();
    auto u = t.CheckForUpdate();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - t0);
    relay->SetPolicy({});  // forward at once again
    const auto seen = relay->Capture();
    const auto delayed = std::count_if(seen.begin(), seen.end(), [](const wire::Datagram& g) {
      return g.fate == wire::Fate::kDelayed;
    });
    const std::string timing = std::to_string(took.count()) + " ms for the update (" +
                               std::to_string(delayed) + " datagrams each held " +
                               std::to_string(delay.count()) +
                               " ms) against a request "
                               "timeout of " +
                               std::to_string(ctx.timeout.count()) + " ms";
    m.evidence.push_back({"timing", timing,
                          u ? (u->installed ? "installed" : u->detail.substr(0, 512))
                            : u.error().message().substr(0, 512)});
    if (u && took > kFactor * ctx.timeout) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "the thing kept waiting: " + timing +
                 "; every exchange restarts its timeout and nothing bounds the whole update, so "
                 "the attacker sets its length (one held datagram per block)";
      return m;
    }
    if (u)
      return Fail(ErrorCode::kInternal, "lab.fw_slow_retrieval: the delay did not bite: " + timing);
    m.outcome = Outcome::kBlocked;
    m.control = "thing.update_check";
    m.reason = std::string(u.error().reason().empty() ? "gave up" : u.error().reason());
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeFwSlowRetrieval() { return std::make_unique<FwSlowRetrieval>(); }

}  // namespace secprof::lab::internal
