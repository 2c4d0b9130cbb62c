// manifest.json: ManifestToJson / ManifestFromJson (format in docs/KEYSTORE.md).
#include <nlohmann/json.hpp>

#include "secprof/manufacture/manufacture.h"

namespace secprof::manufacture {

using nlohmann::json;
using nlohmann::ordered_json;

std::string ManifestToJson(const Manifest& m) {
  ordered_json things = ordered_json::array();
  for (const ThingRecord& t : m.things) {
    things.push_back({
        {"serial", t.serial},
        {"index", t.index},
        {"dir", t.dir},
        {"idevid", t.idevid},
        {"trust_anchor", t.trust_anchor},
        {"setup_code", t.setup_code},
        {"key_store", t.key_store},
        {"key_location", t.key_location},
        {"key_label", t.key_label},
        {"idevid_fingerprint_sha256", t.idevid_fingerprint},
        {"idevid_certificate_serial", t.idevid_cert_serial},
        {"created", t.created},
    });
  }
  ordered_json j = {
      {"format", kManifestFormat},
      {"version", kManifestVersion},
      {"vendor", m.vendor},
      {"model", m.model},
      {"vendor_ca",
       {{"certificate", m.ca_certificate},
        {"fingerprint_sha256", m.ca_fingerprint},
        {"key_store", "file"},
        {"key_location", m.ca_key_location},
        {"key_label", m.ca_key_label}}},
      {"things", std::move(things)},
  };
  return j.dump(2) + "\n";
}

namespace {

// Reads the string field `key` of `obj`; kInvalidInput naming `path.key` when absent or not a
// string.
Result<std::string> Str(const json& obj, const char* key, const std::string& file,
                        const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) {
    SourceLocation where{file, 0, 0, path + key};
    return Fail(ErrorCode::kInvalidInput, std::string("missing or non-string field '") + key + "'",
                where);
  }
  return it->get<std::string>();
}

}  // namespace

Result<Manifest> ManifestFromJson(std::string_view text, const std::string& file) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Fail(ErrorCode::kInvalidInput, "not a JSON object", SourceLocation{file, 0, 0, ""});
  SECPROF_ASSIGN_OR_RETURN(std::string format, Str(j, "format", file, ""));
  if (format != kManifestFormat)
    return Fail(ErrorCode::kInvalidInput, "not a secprof manufacture manifest",
                SourceLocation{file, 0, 0, "format"});
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer() || v->get<int>() != kManifestVersion)
    return Fail(ErrorCode::kUnsupported, "manifest version is not 1",
                SourceLocation{file, 0, 0, "version"});
  Manifest m;
  SECPROF_ASSIGN_OR_RETURN(m.vendor, Str(j, "vendor", file, ""));
  SECPROF_ASSIGN_OR_RETURN(m.model, Str(j, "model", file, ""));
  auto ca = j.find("vendor_ca");
  if (ca == j.end() || !ca->is_object())
    return Fail(ErrorCode::kInvalidInput, "missing object 'vendor_ca'",
                SourceLocation{file, 0, 0, "vendor_ca"});
  SECPROF_ASSIGN_OR_RETURN(m.ca_certificate, Str(*ca, "certificate", file, "vendor_ca."));
  SECPROF_ASSIGN_OR_RETURN(m.ca_fingerprint, Str(*ca, "fingerprint_sha256", file, "vendor_ca."));
  SECPROF_ASSIGN_OR_RETURN(m.ca_key_location, Str(*ca, "key_location", file, "vendor_ca."));
  SECPROF_ASSIGN_OR_RETURN(m.ca_key_label, Str(*ca, "key_label", file, "vendor_ca."));
  auto things = j.find("things");
  if (things == j.end() || !things->is_array())
    return Fail(ErrorCode::kInvalidInput, "missing array 'things'",
                SourceLocation{file, 0, 0, "things"});
  for (size_t i = 0; i < things->size(); ++i) {
    const json& t = (*things)[i];
    const std::string at = "things[" + std::to_string(i) + "].";
    if (!t.is_object())
      return Fail(ErrorCode::kInvalidInput, "not an object",
                  SourceLocation{file, 0, 0, at.substr(0, at.size() - 1)});
    ThingRecord r;
    SECPROF_ASSIGN_OR_RETURN(r.serial, Str(t, "serial", file, at));
    auto idx = t.find("index");
    if (idx == t.end() || !idx->is_number_integer() || idx->get<long long>() < 1 ||
        idx->get<long long>() > 1000000000)
      return Fail(ErrorCode::kInvalidInput, "missing or invalid 'index'",
                  SourceLocation{file, 0, 0, at + "index"});
    r.index = idx->get<int>();
    SECPROF_ASSIGN_OR_RETURN(r.dir, Str(t, "dir", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.idevid, Str(t, "idevid", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.trust_anchor, Str(t, "trust_anchor", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.setup_code, Str(t, "setup_code", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.key_store, Str(t, "key_store", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.key_location, Str(t, "key_location", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.key_label, Str(t, "key_label", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.idevid_fingerprint, Str(t, "idevid_fingerprint_sha256", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.idevid_cert_serial, Str(t, "idevid_certificate_serial", file, at));
    SECPROF_ASSIGN_OR_RETURN(r.created, Str(t, "created", file, at));
    m.things.push_back(std::move(r));
  }
  return m;
}

}  // namespace secprof::manufacture
