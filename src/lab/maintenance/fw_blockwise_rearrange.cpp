// lab.blockwise_rearrange: an on-path attacker rearranges the Block2 fragments of a firmware
// download (T4 at maintenance; draft-ietf-core-attacks-on-coap, "The Request Fragment
// Rearrangement Attack", applied to the fragments of a response: RFC 7959 §2.4 Block2, where the
// client assembles the representation from blocks it asks for one by one, and nothing in the
// Block2 option ties a block's payload to the representation it came from but the ETag, which an
// attacker who rewrites payloads keeps).
//
// The run records one genuine release's transfer (release A, sequence 2, 4 KiB: four 1 KiB
// blocks), which the thing installs, then rearranges the transfer of a second release (B,
// sequence 3):
//   - SecProf_1 (plain CoAP to the vendor's update service, docs/DOMAIN.md "SecProf_1: the
//     vendor's update service"; the relay in front of the service): attempt 1 splices block 2 of
//     A's transfer into B's (the payload of B's block 2 replaced); attempt 2 swaps the payloads of
//     B's blocks 1 and 2 (recorded during attempt 1). Blocked by thing.fw_verify_signature: the
//     thing's installer refuses the assembled image (its own reason, update/install.h) and keeps
//     its old firmware. Then the legitimate path: nothing rearranged, the thing installs B.
//   - SecProf_2..4 (DTLS to the KDC through the relay; SecProf_2's join answer rewritten on the
//     path so that its DTLS session crosses the relay too, wire/on_path.h): the attacker sees
//     only records. It holds the record of B's block 1 and delivers in its place the record of
//     A's block 1 (a splice from the earlier transfer), then releases the genuine one; it holds
//     B's block 2 and delivers B's block 0 again (a block already delivered), then releases.
//     Blocked by coap.dtls when the thing installs B byte for byte or nothing: a record replayed
//     on its session is dropped by the replay window (RFC 6347 §4.1.2.6), one of another session
//     fails its MAC (§4.1.2.1), so neither can take the held block's place.
// Success (both): the thing's active slot afterwards is not a genuine release byte for byte (its
// sequence and SHA-256 against the factory image, A and B).
// No negative control: no switch turns off the thing's digest check or the DTLS layer (a
// rearranged image re-signed by the vendor's key would be a forgery: lab.fw_forged's control).
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "firmware_attack.h"
#include "groups.h"
#include "secprof/core/hex.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/protocol.h"
#include "secprof/update/suit.h"
#include "secprof/vendor/update_service.h"
#include "secprof/voucher/voucher.h"
#include "wire/coap_message.h"
#include "wire/observer.h"
#include "wire/on_path.h"
#include "wire/relay.h"

namespace secprof::lab::internal {
namespace {

using namespace std::chrono_literals;
using wire::Datagram;
using wire::Direction;

constexpr size_t kImageSize = 4096;  // four Block2 blocks of 1024 bytes (RFC 7959 §2.2, SZX 6)
constexpr size_t kBlocks = 4;
// A DTLS record carrying an image block (1024 bytes of payload, its CoAP header and the record's
// overhead); every other answer of the update (offer, manifest, status) is far smaller.
constexpr size_t kBlockRecord = 1024;
// How long the attacker watches for the thing's reaction to an injected record before it
// releases the held one (an observation for the evidence, not the verdict).
constexpr auto kWatch = 200ms;

std::string Sha(ByteView b) {
  auto d = crypto::Sha256(b);
  return d ? ToHex(ByteView(d->data(), d->size())) : std::string("?");
}

// A genuine image and what the thing's slot holds, by sequence and SHA-256.
struct Image {
  std::string label;
  uint64_t sequence = 0;
  std::string sha;
};

Image Active(const thing::Agent& t) {
  const auto& a = t.FirmwareState().active_image;
  return {"", a.sequence_number, ToHex(ByteView(a.digest.data(), a.digest.size()))};
}

std::string SlotText(const Image& s) {
  return "sequence " + std::to_string(s.sequence) + ", SHA-256 " + s.sha.substr(0, 16) + "...";
}

// The genuine release the slot holds byte for byte, or nullptr.
const Image* Genuine(const Image& slot, const std::vector<Image>& genuine) {
  for (const auto& g : genuine)
    if (g.sequence == slot.sequence && g.sha == slot.sha) return &g;
  return nullptr;
}

struct Try {
  thing::Agent::UpdateOutcome u;
  std::string reason;  // the installer's stable refusal reason (docs/ERRORS.md "update"), or ""
  Image after;
};

Result<Try> Update(thing::Agent& t) {
  Try r;
  SECPROF_ASSIGN_OR_RETURN(r.u, t.CheckForUpdate());
  r.reason = fw::InstallerReason(r.u.detail);
  r.after = Active(t);
  return r;
}

std::string TryText(const Try& r, const std::vector<Image>& genuine) {
  const Image* g = Genuine(r.after, genuine);
  std::string s =
      r.u.installed ? "the thing installed what it assembled"
                    : "the thing refused (" +
                          (r.reason.empty() ? std::string("no installer reason") : r.reason) + ")";
  return s + "; its active slot: " + SlotText(r.after) + " = " +
         (g ? g->label : std::string("NOT a genuine release"));
}

// ---- SecProf_1: plain CoAP, the attacker rewrites payloads ------------------------------------

// The image's Block2 payloads in a plain-CoAP capture from `from` on, by block number: responses
// whose token is that of a GET vu/image (RFC 7252 §5.3.2 token matching; RFC 7959 §2.2 NUM).
std::map<uint32_t, Bytes> ImageBlocks(const std::vector<Datagram>& cap, size_t from) {
  std::set<Bytes> tokens;
  std::map<uint32_t, Bytes> out;
  for (size_t i = from; i < cap.size(); ++i) {
    auto m = wire::ParseCoap(cap[i].bytes);
    if (!m) continue;
    if (cap[i].dir == Direction::kToServer && m->path() == vendor::path::kImage)
      tokens.insert(m->token);
    auto b2 = m->uint_option(wire::option::kBlock2);
    if (cap[i].dir == Direction::kToClient && b2 && tokens.count(m->token))
      out[static_cast<uint32_t>(*b2 >> 4)] = m->payload;
  }
  return out;
}

// The attacker's policy: the payload of image block NUM replaced by `with[NUM]` (the option and
// the ETag kept as the service sent them).
wire::Policy Rearrange(std::map<uint32_t, Bytes> with) {
  auto tokens = std::make_shared<std::set<Bytes>>();  // only touched on the relay's I/O thread
  return [with = std::move(with), tokens](const Datagram& d, Bytes& out) {
    auto m = wire::ParseCoap(d.bytes);
    if (!m) return wire::Decision{};
    if (d.dir == Direction::kToServer) {
      if (m->path() == vendor::path::kImage) tokens->insert(m->token);
      return wire::Decision{};
    }
    auto b2 = m->uint_option(wire::option::kBlock2);
    if (!b2 || !tokens->count(m->token)) return wire::Decision{};
    auto it = with.find(static_cast<uint32_t>(*b2 >> 4));
    if (it == with.end()) return wire::Decision{};
    m->payload = it->second;
    out = wire::SerializeCoap(*m);
    return wire::Decision{};
  };
}

size_t Rewritten(const std::vector<Datagram>& cap, size_t from) {
  size_t n = 0;
  for (size_t i = from; i < cap.size(); ++i) n += cap[i].rewritten;
  return n;
}

Result<Measurement> RunHome(const RunContext& ctx) {
  DomainOptions o;
  o.profile = ctx.profile;
  o.dir = ctx.dir;
  o.things = 2;  // the mother and one paired thing, as lab.vulnerable_fw
  o.timeout = ctx.timeout;
  SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
  SECPROF_ASSIGN_OR_RETURN(voucher::Factory maker, voucher::Factory::Open(d->factory_dir()));
  const std::string releases = (ctx.dir / "vendor-releases").string();
  std::error_code ec;
  std::filesystem::create_directories(releases, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + releases + ": " + ec.message());
  vendor::ServiceOptions vo;
  vo.publish_dir = releases;
  vo.vendor = maker.vendor();
  vo.models = {maker.model()};
  vo.signer = &maker.signer();
  SECPROF_ASSIGN_OR_RETURN(auto service, vendor::UpdateService::Start(std::move(vo)));
  std::jthread vendor_io([&service](std::stop_token st) { (void)service->Serve(st); });
  // The attacker between the thing and the service: the factory's address leads through it.
  SECPROF_ASSIGN_OR_RETURN(auto relay, wire::Relay::Start({service->port()}));
  thing::Agent& t = d->thing(1);
  SECPROF_TRY(t.SetUpdateServer("127.0.0.1", relay->port(0)));
  std::vector<Image> genuine{Active(t)};
  genuine[0].label = "the factory image";
  // The vendor publishes a release (signed with its CA key, as `secprof fw sign --factory`).
  auto publish = [&](uint64_t seq, uint8_t salt, const std::string& label) -> Status {
    crypto::Bytes image = fw::MakeImage(kImageSize, salt);
    SECPROF_ASSIGN_OR_RETURN(crypto::Sha256Digest digest, crypto::Sha256(image));
    update::CreateParams cp;
    cp.vendor_id = domain::FirmwareVendorId(maker.vendor());
    cp.class_id = domain::FirmwareClassId(maker.vendor(), maker.model());
    cp.sequence_number = seq;
    SECPROF_ASSIGN_OR_RETURN(
        crypto::Bytes env,
        update::CreateEnvelopeWithSigner(
            update::Digest{update::kAlgSha256, crypto::Bytes(digest.begin(), digest.end())},
            image.size(), cp, maker.signer()));
    SECPROF_TRY(vendor::Publish(releases, "release-" + std::to_string(seq), env, image));
    genuine.push_back({label, seq, Sha(image)});
    return Ok();
  };
  Measurement m;
  // 1. Release A, installed through the relay, which records its transfer.
  SECPROF_TRY(publish(2, 0xa1, "release A (sequence 2)"));
  size_t from = relay->size();
  SECPROF_ASSIGN_OR_RETURN(Try a, Update(t));
  const auto blocks_a = ImageBlocks(relay->Capture(), from);
  if (!a.u.installed || !Genuine(a.after, genuine) || a.after.sequence != 2 ||
      blocks_a.size() != kBlocks)
    return Fail(ErrorCode::kInternal,
                "lab.blockwise_rearrange: release A was not installed through the relay in " +
                    std::to_string(kBlocks) + " blocks (" + std::to_string(blocks_a.size()) +
                    " seen): " + a.u.detail);
  m.evidence.push_back({"log",
                        "recorded: " + genuine[1].label + " in " + std::to_string(blocks_a.size()) +
                            " Block2 blocks through the relay; " + TryText(a, genuine),
                        ""});
  // 2. Release B; attempt 1 splices A's block 2 into B's transfer.
  SECPROF_TRY(publish(3, 0xb2, "release B (sequence 3)"));
  std::vector<std::pair<std::string, Try>> attempts;
  from = relay->size();
  relay->SetPolicy(Rearrange({{2, blocks_a.at(2)}}));
  auto spliced = Update(t);
  relay->SetPolicy({});
  if (!spliced) return Fail(spliced.error());
  const auto cap1 = relay->Capture();
  const auto blocks_b = ImageBlocks(cap1, from);  // as the service sent them (the capture's)
  if (Rewritten(cap1, from) != 1 || blocks_b.size() != kBlocks)
    return Fail(ErrorCode::kInternal, "lab.blockwise_rearrange: the splice did not happen");
  attempts.emplace_back("block 2 of release B's transfer replaced by block 2 of release A's",
                        std::move(*spliced));
  // Attempt 2 swaps B's blocks 1 and 2 (their payloads, recorded during attempt 1).
  from = relay->size();
  relay->SetPolicy(Rearrange({{1, blocks_b.at(2)}, {2, blocks_b.at(1)}}));
  auto swapped = Update(t);
  relay->SetPolicy({});
  if (!swapped) return Fail(swapped.error());
  if (Rewritten(relay->Capture(), from) != 2)
    return Fail(ErrorCode::kInternal, "lab.blockwise_rearrange: the swap did not happen");
  attempts.emplace_back("the payloads of blocks 1 and 2 of release B's transfer swapped",
                        std::move(*swapped));
  const Image after = Active(t);
  // 3. The legitimate path: the same relay, nothing rearranged.
  SECPROF_ASSIGN_OR_RETURN(Try legit, Update(t));
  vendor_io.request_stop();
  vendor_io.join();
  const vendor::ServiceStats vs = service->stats();
  std::vector<std::string> reasons;
  bool broken = false;
  for (const auto& [what, r] : attempts) {
    m.evidence.push_back({"log", what + ": " + TryText(r, genuine), r.u.detail.substr(0, 1024)});
    reasons.push_back(r.reason.empty() ? r.u.detail.substr(0, 200) : r.reason);
    broken = broken || !Genuine(r.after, genuine);
  }
  m.evidence.push_back(
      {"log",
       "afterwards the thing runs " + SlotText(after) + "; the service recorded " +
           std::to_string(vs.alerts.size()) + " alert(s) from it" +
           (vs.alerts.empty() ? std::string() : " (last: " + vs.alerts.back().substr(0, 200) + ")"),
       ""});
  m.evidence.push_back(
      {"log", "legitimate path, nothing rearranged: " + TryText(legit, genuine), ""});
  m.evidence.push_back(wire::CaptureEvidence(*relay));
  if (broken) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the thing activated an image assembled from rearranged blocks: " + SlotText(after);
    return m;
  }
  if (!legit.u.installed || legit.after.sequence != 3)
    return Fail(ErrorCode::kInternal,
                "lab.blockwise_rearrange: the legitimate update failed too: " + legit.u.detail);
  m.outcome = Outcome::kBlocked;
  m.control = "thing.fw_verify_signature";
  m.reason = reasons[0] + ", " + reasons[1];
  return m;
}

// ---- SecProf_2..4: DTLS, the attacker moves whole records --------------------------------------

// Capture indices of the DTLS records the KDC sent the thing that carry image blocks, from `from`
// on (the attacker's own injections and releases are recorded again: not counted).
std::vector<size_t> BlockRecords(const std::vector<Datagram>& cap, size_t from) {
  std::vector<size_t> out;
  for (size_t i : wire::AppDataIndices(cap, Direction::kToClient, from))
    if (cap[i].bytes.size() >= kBlockRecord && cap[i].fate != wire::Fate::kInjected &&
        cap[i].fate != wire::Fate::kReleased)
      out.push_back(i);
  return out;
}

// When the attack ends (early or not): the relay forwards everything again and releases what it
// still holds, so the thing's transfer can finish and its thread be joined.
struct ReleaseHeld {
  wire::Relay& r;
  ~ReleaseHeld() {
    r.SetPolicy({});
    for (size_t i : r.held()) (void)r.Release(i);
  }
};

Result<Measurement> RunDtls(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(fw::FirmwareLab lab, fw::StartFirmwareLab(ctx, 1, /*join=*/false));
  LiveDomain& d = *lab.d;
  const bool plain = d.kdc_udp_port() != 0;  // SecProf_2: the join over plain CoAP first
  std::vector<uint16_t> ups;
  if (plain) ups.push_back(d.kdc_udp_port());
  ups.push_back(d.kdc_dtls_port());
  SECPROF_ASSIGN_OR_RETURN(auto relay, wire::Relay::Start(ups));
  const size_t dtls = plain ? 1 : 0;
  if (plain) relay->SetPolicy(wire::RedirectJoinAnswer(relay->port(dtls)));
  SECPROF_TRY(d.InstallAndJoin(0, plain ? relay->port(0) : d.kdc_udp_port(), relay->port(dtls)));
  thing::Agent& t = d.thing(0);
  SECPROF_TRY(t.GoOperational());
  relay->SetPolicy({});
  if (t.state().kdc_dtls != relay->port(dtls))
    return Fail(ErrorCode::kInternal, "lab.blockwise_rearrange: the thing bypasses the relay");
  std::vector<Image> genuine{Active(t)};
  genuine[0].label = "the factory image";
  auto release = [&](uint64_t seq, uint8_t salt, const std::string& label) -> Status {
    crypto::Bytes image = fw::MakeImage(kImageSize, salt);
    SECPROF_ASSIGN_OR_RETURN(crypto::Bytes env,
                             fw::SignFor(image, lab.vendor, lab.model, seq, lab.vendor_key));
    SECPROF_ASSIGN_OR_RETURN(int64_t id, fw::AddGenuine(lab, env, image, lab.model));
    SECPROF_TRY(fw::Offer(lab, id, 0));
    genuine.push_back({label, seq, Sha(image)});
    return Ok();
  };
  Measurement m;
  // 1. Release A, installed through the relay, which records its transfer.
  SECPROF_TRY(release(2, 0xa1, "release A (sequence 2)"));
  size_t from = relay->size();
  SECPROF_ASSIGN_OR_RETURN(Try a, Update(t));
  const std::vector<size_t> recs_a = BlockRecords(relay->Capture(), from);
  if (!a.u.installed || a.after.sequence != 2 || recs_a.size() != kBlocks)
    return Fail(ErrorCode::kInternal,
                "lab.blockwise_rearrange: release A was not installed through the relay in " +
                    std::to_string(kBlocks) + " block records (" + std::to_string(recs_a.size()) +
                    " seen): " + a.u.detail);
  m.evidence.push_back({"log",
                        "recorded: " + genuine[1].label + ", " + std::to_string(recs_a.size()) +
                            " block records (datagrams #" + std::to_string(recs_a.front()) + "..#" +
                            std::to_string(recs_a.back()) + "); " + TryText(a, genuine),
                        ""});
  // 2. Release B: the records of its blocks 1 and 2 held, one at a time.
  SECPROF_TRY(release(3, 0xb2, "release B (sequence 3)"));
  from = relay->size();
  auto seen = std::make_shared<size_t>(0);  // block records so far (the relay's I/O thread)
  relay->SetPolicy([seen, dtls](const Datagram& g, Bytes&) {
    if (g.link != dtls || g.dir != Direction::kToClient || g.bytes.size() < kBlockRecord ||
        !wire::LooksLikeDtls(g.bytes) || g.bytes[0] != 23)
      return wire::Decision{};
    const size_t n = (*seen)++;
    return wire::Decision{n == 1 || n == 2 ? wire::Decision::Action::kHold
                                           : wire::Decision::Action::kForward};
  });
  std::optional<Result<Try>> b;
  std::vector<std::string> moves;
  {
    std::jthread worker([&] { b.emplace(Update(t)); });
    ReleaseHeld guard{*relay};
    for (size_t block : {size_t{1}, size_t{2}}) {
      const bool got = relay->WaitFor(
          [&](const std::vector<Datagram>& c) {
            const auto recs = BlockRecords(c, from);
            return recs.size() > block && c[recs[block]].fate == wire::Fate::kHeld;
          },
          ctx.timeout * 2);
      const auto cap = relay->Capture();
      const std::vector<size_t> recs_b = BlockRecords(cap, from);
      if (!got || recs_b.size() <= block) {
        moves.push_back("block " + std::to_string(block) + " of release B never came");
        break;
      }
      const size_t held = recs_b[block];
      // Block 1: the same block of the earlier transfer (a splice); block 2: block 0 of this
      // transfer, already delivered (a replay on the session).
      const size_t sub = block == 1 ? recs_a[1] : recs_b[0];
      const size_t injected_at = relay->size();
      SECPROF_TRY(relay->Send(cap[held].session, Direction::kToClient, cap[sub].bytes));
      const bool reacted = relay->WaitFor(
          [&](const std::vector<Datagram>& c) {
            for (size_t i = injected_at; i < c.size(); ++i)
              if (c[i].dir == Direction::kToServer) return true;
            return false;
          },
          kWatch);
      SECPROF_TRY(relay->Release(held));
      moves.push_back(
          "held #" + std::to_string(held) + " (block " + std::to_string(block) +
          " of release B, session " + std::to_string(cap[held].session) + ") and delivered #" +
          std::to_string(sub) + " in its place (" +
          (block == 1
               ? "block 1 of release A's transfer, session " + std::to_string(cap[sub].session)
               : std::string("block 0 of this transfer, already delivered")) +
          "): the thing " +
          (reacted ? "sent a datagram to the KDC within " + std::to_string(kWatch.count()) + " ms"
                   : "sent nothing within " + std::to_string(kWatch.count()) + " ms") +
          "; then #" + std::to_string(held) + " released");
    }
  }
  if (!b) return Fail(ErrorCode::kInternal, "lab.blockwise_rearrange: no update ran");
  Try r;
  if (*b) {
    r = std::move(**b);
  } else {  // the thing's update failed as a whole: judged by what it runs, its error the reason
    r.u.detail = (*b).error().message();
    r.reason = std::string((*b).error().reason());
    r.after = Active(t);
  }
  std::string all;
  for (const auto& s : moves) all += s + "\n";
  m.evidence.push_back({"datagrams", "records moved during release B's transfer", all});
  m.evidence.push_back({"log",
                        "release B's transfer with the records moved: " + TryText(r, genuine),
                        r.u.detail.substr(0, 1024)});
  m.evidence.push_back(wire::CaptureEvidence(*relay));
  const Image* g = Genuine(r.after, genuine);
  if (!g) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the thing activated an image that is no genuine release: " + SlotText(r.after);
    return m;
  }
  if (moves.size() != 2 || moves.back().find("never came") != std::string::npos)
    return Fail(ErrorCode::kInternal,
                "lab.blockwise_rearrange: the records were not moved: " + all);
  // Did the thing start a new DTLS session between the transfers (a ClientHello, RFC 6347
  // §4.2.1)? Then A's record belongs to another session; else both substitutes are old records of
  // the one session.
  const auto cap = relay->Capture();
  bool rehandshake = false;
  for (size_t i = recs_a.front(); i < cap.size(); ++i)
    rehandshake = rehandshake || (cap[i].link == dtls && cap[i].dir == Direction::kToServer &&
                                  wire::LooksLikeDtls(cap[i].bytes) && cap[i].bytes[0] == 22);
  m.outcome = Outcome::kBlocked;
  m.control = "coap.dtls";
  m.reason =
      (r.u.installed && r.after.sequence == 3
           ? std::string("the thing installed release B byte for byte")
           : "the thing installed nothing (" + (r.reason.empty() ? r.u.detail : r.reason) +
                 ") and runs " + g->label) +
      (rehandshake
           ? ": neither the record replayed on its DTLS session (RFC 6347 §4.1.2.6 replay "
             "window) nor the one of the earlier session (§4.1.2.1 record MAC) took the held "
             "block's place"
           : ": both transfers used one DTLS session, so both substitutes were records it had "
             "received before, and neither took the held block's place (RFC 6347 §4.1.2.6 "
             "replay window)");
  return m;
}

class FwBlockwiseRearrange final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.blockwise_rearrange",
        "T4",
        "maintenance",
        "application",
        "sits on the path of a firmware download and reorders or replaces its Block2 fragments",
        "the thing installs an image assembled from rearranged fragments",
        {"M.app.signed_fw_update", "M.app.dtls"},
        {"thing.fw_verify_signature", "coap.dtls"},
        false};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1) return RunHome(ctx);
    return RunDtls(ctx);
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeBlockwiseRearrange() {
  return std::make_unique<FwBlockwiseRearrange>();
}

}  // namespace secprof::lab::internal
