// state.json of the thing agent (agent.h).
#include <nlohmann/json.hpp>

#include "internal.h"
#include "state_io.h"

namespace secprof::thing {

namespace {
constexpr std::array<const char*, 7> kNames{"manufactured", "installed",   "commissioned",
                                            "operational",  "maintenance", "decommissioned",
                                            "re-owned"};
}

const char* StateName(State s) { return kNames[static_cast<size_t>(s)]; }

Result<State> ParseState(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (s == kNames[i]) return static_cast<State>(i);
  return Fail(ErrorCode::kInvalidInput, "unknown thing state '" + std::string(s) + "'");
}

std::string StateToJson(const ThingState& t) {
  nlohmann::ordered_json j;
  j["format"] = kStateFormat;
  j["version"] = kStateVersion;
  j["state"] = StateName(t.state);
  j["serial"] = t.serial;
  j["vendor"] = t.vendor;
  j["model"] = t.model;
  j["profile"] = domain::ProfileName(t.profile);
  j["idevid"] = t.idevid_pem;
  j["trust_anchor"] = t.trust_anchor_pem;
  j["setup_code"] = t.setup_code;
  j["key_store"] = t.key_store;
  j["token_label"] = t.token_label;
  j["idevid_key_label"] = t.idevid_key_label;
  j["kdc"] = {{"host", t.kdc_host}, {"udp", t.kdc_udp}, {"dtls", t.kdc_dtls}};
  j["psk_identity"] = t.psk_identity;
  j["ldevid"] = t.ldevid_pem;
  j["ldevid_key_label"] = t.ldevid_key_label;
  j["domain_ca"] = t.domain_ca_pem;
  j["kdc_spki_sha256"] = t.kdc_spki_sha256;
  j["owned_since"] = t.owned_since;
  j["voucher_created"] = t.voucher_created;
  j["owner"] = t.owner;
  j["groups"] = t.groups;
  j["link_counter"] = t.link_counter;
  j["session_renewals"] = t.session_renewals;
  auto h = nlohmann::ordered_json::array();
  for (const auto& x : t.history)
    h.push_back({{"time", x.time}, {"from", x.from}, {"to", x.to}, {"why", x.why}});
  j["history"] = h;
  j["secrets"] = t.wrapped_secrets;
  j["reading_reserved"] = t.reading_reserved;
  j["link_seen"] = t.link_seen;
  j["kek"] = t.kek;
  j["kek_id"] = t.kek_id;
  j["kek_label"] = t.kek_label;
  j["key_overrides"] = t.key_overrides;
  if (!t.update_host.empty())
    j["update_server"] = {{"host", t.update_host}, {"port", t.update_port}};
  return j.dump(2) + "\n";
}

Result<ThingState> StateFromJson(std::string_view text, const std::string& file) {
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object() || j.value("format", "") != kStateFormat)
      return Fail(ErrorCode::kInvalidInput, file + ": not a secprof thing state file");
    if (j.at("version").get<int>() != kStateVersion)
      return Fail(ErrorCode::kInvalidInput, file + ": unsupported state version");
    ThingState t;
    auto state = ParseState(j.at("state").get<std::string>());
    if (!state) return Fail(state.error().WithContext(file + ": state"));
    t.state = *state;
    t.serial = j.at("serial").get<std::string>();
    t.vendor = j.at("vendor").get<std::string>();
    t.model = j.at("model").get<std::string>();
    auto profile = domain::ParseProfile(j.at("profile").get<std::string>());
    if (!profile) return Fail(profile.error().WithContext(file + ": profile"));
    t.profile = *profile;
    t.idevid_pem = j.at("idevid").get<std::string>();
    t.trust_anchor_pem = j.at("trust_anchor").get<std::string>();
    t.setup_code = j.at("setup_code").get<std::string>();
    t.key_store = j.at("key_store").get<std::string>();
    t.token_label = j.at("token_label").get<std::string>();
    t.idevid_key_label = j.at("idevid_key_label").get<std::string>();
    const auto& k = j.at("kdc");
    t.kdc_host = k.at("host").get<std::string>();
    t.kdc_udp = k.at("udp").get<uint16_t>();
    t.kdc_dtls = k.at("dtls").get<uint16_t>();
    t.psk_identity = j.at("psk_identity").get<std::string>();
    t.ldevid_pem = j.at("ldevid").get<std::string>();
    t.ldevid_key_label = j.at("ldevid_key_label").get<std::string>();
    t.domain_ca_pem = j.at("domain_ca").get<std::string>();
    // Added by issue 9 (absent from older files: no pin, never reset).
    t.kdc_spki_sha256 = j.value("kdc_spki_sha256", std::string());
    t.owned_since = j.value("owned_since", int64_t{0});
    t.voucher_created = j.value("voucher_created", int64_t{0});
    t.owner = j.at("owner").get<std::string>();
    t.groups = j.at("groups").get<std::map<std::string, int64_t>>();
    t.link_counter = j.at("link_counter").get<uint64_t>();
    t.session_renewals = j.at("session_renewals").get<uint64_t>();
    for (const auto& x : j.at("history"))
      t.history.push_back({x.at("time").get<int64_t>(), x.at("from").get<std::string>(),
                           x.at("to").get<std::string>(), x.at("why").get<std::string>()});
    t.wrapped_secrets = j.at("secrets").get<std::string>();
    // Added by issue 9 (items 6, 11); absent in older files: nothing reserved, nothing seen.
    if (j.contains("reading_reserved"))
      t.reading_reserved = j.at("reading_reserved").get<uint64_t>();
    if (j.contains("link_seen"))
      t.link_seen = j.at("link_seen").get<std::map<std::string, uint64_t>>();
    if (t.link_seen.size() > kMaxLinkSenders)
      return Fail(ErrorCode::kInvalidInput, file + ": link_seen has too many senders");
    // Absent in state files written before issue 9: the old, co-located KEK layout.
    t.kek = j.value("kek", "");
    // SecProf_1's vendor update service (absent: none).
    if (j.contains("update_server")) {
      t.update_host = j.at("update_server").at("host").get<std::string>();
      t.update_port = j.at("update_server").at("port").get<uint16_t>();
    }
    t.kek_id = j.value("kek_id", "");
    t.kek_label = j.value("kek_label", "");
    t.key_overrides = j.value("key_overrides", std::vector<std::string>{});
    if (!t.kek.empty() && t.kek != "file" && t.kek != "token")
      return Fail(ErrorCode::kInvalidInput, file + ": kek must be file or token");
    if (t.key_store != "file" && t.key_store != "pkcs11")
      return Fail(ErrorCode::kInvalidInput, file + ": key_store must be file or pkcs11");
    return t;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidInput, file + ": malformed state: " + e.what());
  }
}

Status SaveState(const std::string& path, const ThingState& t, FileSystem& fs) {
  return WriteFileAtomic(path, StateToJson(t), 0600, fs);
}

Result<ThingState> LoadState(const std::string& path, FileSystem& fs) {
  SECPROF_ASSIGN_OR_RETURN(std::string text, fs.ReadFile(path));
  return StateFromJson(text, path);
}

}  // namespace secprof::thing
