// lab.eavesdrop: a passive listener on the path of operational traffic reads readings and
// commands (T3 in operation; draft §4 threat 3; catalog M.app.dtls counters it).
//
// Attacker: records every datagram between an operational thing and its peer (the relay forwards
//   unchanged) and runs the observer over the capture.
// Success: the value of a reading the thing sent is read off the wire.
// Per profile: SecProf_1 link frames carry a MAC and a counter but no encryption (the draft's home
//   profile has no application security); SecProf_2..4 readings go to the KDC over DTLS.
// The verdict does not rest on the observer's parser alone: the reading's CBOR encoding is also
//   searched for byte by byte in every captured datagram.
// Negative control: SecProf_2..4 with the defence off run the SecProf_1 path (no encryption).
#include <algorithm>

#include "groups.h"
#include "observer.h"
#include "on_path.h"
#include "secprof/domain/protocol.h"

namespace secprof::lab::internal {
namespace {

using namespace wire;

constexpr int64_t kValue = 2173;  // the reading sent: 21.73 C

bool Contains(const std::vector<Datagram>& cap, const Bytes& needle) {
  for (const auto& d : cap)
    if (std::search(d.bytes.begin(), d.bytes.end(), needle.begin(), needle.end()) != d.bytes.end())
      return true;
  return false;
}

Measurement Verdict(const Relay& r, const std::string& serial) {
  Measurement m;
  auto cap = r.Capture();
  Observation o = Observe(cap);
  m.evidence.push_back(
      {"datagrams", std::to_string(cap.size()) + " datagrams captured", Summarize(cap)});
  // The reading as CBOR text and value: the serial's text string followed by the value.
  Bytes value = domain::Encode(domain::Reading{serial, kValue, 0});
  bool found_value = false;
  for (const auto& line : o.plaintext)
    if (line.find(serial + " " + std::to_string(kValue)) != std::string::npos) found_value = true;
  // The first map entries (label 1: serial, label 2: value) are a prefix of every encoding of
  // this reading, whatever the counter.
  Bytes prefix(value.begin(), value.end() - 2);
  const bool in_bytes = Contains(cap, prefix);
  if (found_value || in_bytes) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "the reading " + serial + " = " + std::to_string(kValue) +
               " (1/100 C) was read off the wire";
    std::string lines;
    for (const auto& l : o.plaintext) lines += l + "\n";
    m.evidence.push_back(
        {"recovered", std::to_string(o.plaintext.size()) + " plaintext messages read", lines});
    return m;
  }
  const std::string suites = Suites(o.cipher_suites);
  m.outcome = Outcome::kBlocked;
  m.control = "coap.dtls";
  m.reason = "the reading crossed as DTLS application data (" + suites +
             "): " + std::to_string(o.dtls_encrypted) +
             " encrypted records, the value appears in no datagram";
  return m;
}

Result<Measurement> Home(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartHome(ctx));
  SECPROF_ASSIGN_OR_RETURN(coap::Response r, SendLinkReading(p, kValue));
  if (r.code != coap::kChanged)
    return Fail(ErrorCode::kInternal,
                "lab: the link frame was refused: " + coap::AsText(r.payload));
  Measurement m = Verdict(*p.relay, p.domain->thing(0).state().serial);
  if (m.outcome == Outcome::kSucceeded)
    m.reason += ": SecProf_1 link frames carry a MAC and a counter, no encryption";
  return m;
}

Result<Measurement> Managed(const RunContext& ctx) {
  SECPROF_ASSIGN_OR_RETURN(OnPath p, StartManaged(ctx));
  const size_t before = p.relay->size();
  SECPROF_TRY(p.domain->thing(0).SendReading(kValue));
  if (AppDataIndices(p.relay->Capture(), Direction::kToServer, before).empty())
    return Fail(ErrorCode::kInternal, "lab: the reading did not cross the relay");
  return Verdict(*p.relay, p.domain->thing(0).state().serial);
}

class Eavesdrop final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{"lab.eavesdrop",
                                "T3",
                                "operation",
                                "transport",
                                "listens on the path of an operational thing's traffic",
                                "reads the value of a reading the thing sent",
                                {"M.app.dtls"},
                                {"coap.dtls"},
                                true};
    return i;
  }
  Result<Measurement> Run(const RunContext& ctx) const override {
    if (ctx.profile == domain::Profile::kSecProf1 || ctx.defence_off) return Home(ctx);
    return Managed(ctx);
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeEavesdrop() { return std::make_unique<Eavesdrop>(); }

}  // namespace secprof::lab::internal
