// What the T11 scenarios share (privilege.h).
#include "privilege.h"

namespace secprof::lab::internal {

Result<std::unique_ptr<coap::Client>> ThingOwnSession(LiveDomain& d, int i,
                                                      const std::filesystem::path& scratch,
                                                      std::chrono::milliseconds timeout) {
  SECPROF_ASSIGN_OR_RETURN(DeviceCopy own, CopyDevice(d, i, scratch, true));
  SECPROF_ASSIGN_OR_RETURN(FileLoot loot, ReadDeviceFiles(own));
  return OwnSession(d, loot, d.token(), timeout);
}

Attempt Try(coap::Client& c, std::string what, coap::Method method, std::string_view path,
            const crypto::Bytes& body, std::string_view query) {
  Attempt a{std::move(what), "", false};
  std::optional<uint16_t> cf;
  if (!body.empty()) cf = coap::content_format::kCbor;
  auto r = c.Send(method, path, body, cf, query);
  if (!r) {
    a.answer = r.error().message();
    return a;
  }
  a.answer = BodyText(*r);
  a.obtained = (r->code >> 5) == 2;
  return a;
}

Measurement Verdict(const std::vector<Attempt>& attempts, const std::string& control,
                    const std::string& refused) {
  Measurement m;
  std::string trail, got;
  for (const auto& a : attempts) {
    trail += a.what + ": " + a.answer + "\n";
    if (a.obtained) got += (got.empty() ? "" : "; ") + a.what;
  }
  if (!got.empty()) {
    m.outcome = Outcome::kSucceeded;
    m.reason = "obtained: " + got;
    m.evidence.push_back({"log", "attempts, some answered 2.xx", trail});
    return m;
  }
  m.outcome = Outcome::kBlocked;
  m.control = control;
  m.reason = refused.empty() ? "refused" : refused;
  m.evidence.push_back(
      {"refusal", std::to_string(attempts.size()) + " attempts, all refused", trail});
  return m;
}

}  // namespace secprof::lab::internal
