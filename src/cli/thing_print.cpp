// src/cli/thing_print.h: a thing's state and transitions as text or JSON.
#include "thing_print.h"

#include <iostream>
#include <string>

#include "endpoint.h"
#include "output.h"
#include "secprof/core/time_format.h"
#include "secprof/domain/profile.h"

namespace secprof::cli {
namespace {

using thing::Agent;

nlohmann::json TransitionJson(const thing::Transition& t) {
  return {{"time", JsonTime(t.time)}, {"from", t.from}, {"to", t.to}, {"why", t.why}};
}

nlohmann::json StatusJson(const Agent& agent) {
  const auto& s = agent.state();
  nlohmann::json j = JsonDocument("thing.status", 2);
  j["serial"] = s.serial;
  j["vendor"] = s.vendor;
  j["model"] = s.model;
  j["profile"] = domain::ProfileName(s.profile);
  j["state"] = thing::StateName(s.state);
  j["key_store"] = s.key_store;
  j["kek"] = s.kek.empty() ? "colocated" : s.kek;
  j["key_overrides"] = s.key_overrides;
  if (s.kdc_host.empty()) {
    j["kdc"] = nullptr;
  } else {
    j["kdc"] = {{"host", s.kdc_host}, {"udp_port", s.kdc_udp}, {"dtls_port", s.kdc_dtls}};
  }
  j["owner"] = s.owner.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.owner);
  if (!s.psk_identity.empty())
    j["credential"] = {{"kind", "psk"}, {"identity", s.psk_identity}};
  else if (!s.ldevid_pem.empty())
    j["credential"] = {{"kind", "ldevid"}, {"key_label", s.ldevid_key_label}};
  else
    j["credential"] = nullptr;
  j["groups"] = nlohmann::json::object();
  for (const auto& [g, epoch] : s.groups) j["groups"][g] = epoch;
  j["running_firmware"] = agent.RunningFirmware();
  j["session_renewals"] = s.session_renewals;
  j["link_counter"] = s.link_counter;
  j["history"] = nlohmann::json::array();
  for (const auto& t : s.history) j["history"].push_back(TransitionJson(t));
  return j;
}

}  // namespace

void PrintThingStatus(const Agent& agent, bool json) {
  if (json) {
    PrintJson(StatusJson(agent));
    return;
  }
  const auto& s = agent.state();
  std::cout << "serial:   " << s.serial << " (" << s.vendor << " " << s.model << ")\n"
            << "profile:  " << domain::ProfileName(s.profile) << "\n"
            << "state:    " << thing::StateName(s.state) << "\n"
            << "keys:     " << s.key_store << "\n"
            << "kek:      " << (s.kek.empty() ? "inside the state directory (old layout)" : s.kek)
            << "\n";
  if (!s.key_overrides.empty()) {
    std::cout << "override:";
    for (const auto& o : s.key_overrides) std::cout << " " << o;
    std::cout << "  (key protection below the profile's; docs/KEYSTORE.md)\n";
  }
  if (!s.kdc_host.empty())
    std::cout << "kdc:      coap://" << FormatHostPort(s.kdc_host, s.kdc_udp)
              << (s.kdc_dtls ? " coaps://" + FormatHostPort(s.kdc_host, s.kdc_dtls) : std::string())
              << "\n";
  std::cout << "owner:    " << (s.owner.empty() ? "(none yet)" : s.owner) << "\n";
  if (!s.psk_identity.empty()) std::cout << "psk id:   " << s.psk_identity << "\n";
  if (!s.ldevid_pem.empty()) std::cout << "ldevid:   " << s.ldevid_key_label << "\n";
  if (!s.groups.empty()) {
    std::cout << "groups:  ";
    for (const auto& [g, e] : s.groups) std::cout << " " << g << "@" << e;
    std::cout << "\n";
  }
  std::cout << "firmware: sequence " << agent.RunningFirmware() << "\n";
  std::cout << "history:\n";
  for (const auto& t : s.history)
    std::cout << "  " << FormatIso8601(t.time) << "  " << (t.from.empty() ? "-" : t.from) << " -> "
              << t.to << "  " << t.why << "\n";
}

void PrintThingTransition(const Agent& agent, std::string_view step, bool json) {
  const auto& st = agent.state();
  if (json) {
    nlohmann::json j = JsonDocument("thing." + std::string(step));
    j["serial"] = st.serial;
    j["state"] = thing::StateName(st.state);
    j["transition"] = st.history.empty() ? nlohmann::json() : TransitionJson(st.history.back());
    PrintJson(j);
    return;
  }
  if (st.history.empty()) return;
  const auto& t = st.history.back();
  std::cout << st.serial << ": " << t.from << " -> " << t.to << " (" << t.why << ")\n";
}

}  // namespace secprof::cli
