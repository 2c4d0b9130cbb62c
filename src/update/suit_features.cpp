// The SUIT commands and parameters secprof knows, with the section that defines each, and what
// the installer (install.h) does with every command, parameter and member a manifest uses
// (suit.h, "What a processor must do").
//
// Sources: draft-ietf-suit-manifest (late revisions, -2x: §8.4.8 parameters, §8.4.9 conditions,
// §8.4.10 directives), draft-ietf-suit-trust-domains-06 (§5.6 commands, IANA §9.4),
// draft-ietf-suit-update-management-09 (§4 parameters, §5 commands, IANA §6.1, §6.2).
// draft-ietf-suit-report-10 adds no command or parameter (see cmd:: in suit.h).
#include <string>
#include <vector>

#include "secprof/update/suit.h"

namespace secprof::update {
namespace {

constexpr const char* kManifestDoc = "draft-ietf-suit-manifest";
constexpr const char* kTrustDomains = "draft-ietf-suit-trust-domains-06";
constexpr const char* kUpdateMgmt = "draft-ietf-suit-update-management-09";

struct CommandRow {
  int64_t label;
  const char* name;
  const char* doc;
  const char* section;
  bool executed;     // by the installer
  const char* note;  // what the installer does, or why it cannot
};

// clang-format off
constexpr CommandRow kCommands[] = {
    {cmd::kVendorIdentifier, "condition-vendor-identifier", kManifestDoc, "§8.4.9", true,
     "compared with the thing's vendor id"},
    {cmd::kClassIdentifier, "condition-class-identifier", kManifestDoc, "§8.4.9", true,
     "compared with the thing's class id"},
    {cmd::kImageMatch, "condition-image-match", kManifestDoc, "§8.4.9", true,
     "the image is hashed and compared with image-digest and image-size"},
    {cmd::kUseBefore, "condition-use-before", kUpdateMgmt, "§5.1", false,
     "the installer does not compare the manifest's expiry with a clock"},
    {cmd::kComponentSlot, "condition-component-slot", kManifestDoc, "§8.4.9", false,
     "the installer chooses the slot itself (the inactive one)"},
    {cmd::kCheckContent, "condition-check-content", kManifestDoc, "§8.4.9", false,
     "the installer does not compare component content"},
    {cmd::kDependencyIntegrity, "condition-dependency-integrity", kTrustDomains, "§5.6.4", false,
     "dependency manifests are not supported"},
    {cmd::kIsDependency, "condition-is-dependency", kTrustDomains, "§5.6.3", false,
     "dependency manifests are not supported"},
    {cmd::kProcessDependency, "directive-process-dependency", kTrustDomains, "§5.6.2", false,
     "dependency manifests are not supported"},
    {cmd::kSetComponentIndex, "directive-set-component-index", kManifestDoc, "§8.4.10", true,
     "selects the component whose parameters are read"},
    {cmd::kAbort, "condition-abort", kManifestDoc, "§8.4.9", false,
     "the installer does not run try-each alternatives in which an abort could be skipped"},
    {cmd::kTryEach, "directive-try-each", kManifestDoc, "§8.4.10", false,
     "the installer does not run alternative sequences"},
    {cmd::kWrite, "directive-write", kManifestDoc, "§8.4.10", false,
     "the installer writes only the supplied image"},
    {cmd::kSetParameters, "directive-set-parameters", kTrustDomains, "§5.6.1", true,
     "parameters not yet set are set (read as override-parameters are)"},
    {cmd::kOverrideParameters, "directive-override-parameters", kManifestDoc, "§8.4.10", true,
     "vendor-id, class-id, image-digest, image-size and uri are read"},
    {cmd::kFetch, "directive-fetch", kManifestDoc, "§8.4.10", true,
     "the caller fetches the image; the installer checks what was fetched"},
    {cmd::kCopy, "directive-copy", kManifestDoc, "§8.4.10", false,
     "the installer does not copy between components"},
    {cmd::kInvoke, "directive-invoke", kManifestDoc, "§8.4.10", true,
     "the test boot of the new slot"},
    {cmd::kDeviceIdentifier, "condition-device-identifier", kManifestDoc, "§8.4.9", false,
     "the installer has no device identifier"},
    {cmd::kImageNotMatch, "condition-image-not-match", kUpdateMgmt, "§5.2", false,
     "the installer does not compare with the installed image"},
    {cmd::kMinimumBattery, "condition-minimum-battery", kUpdateMgmt, "§5.3", false,
     "the thing reports no battery level"},
    {cmd::kUpdateAuthorized, "condition-update-authorized", kUpdateMgmt, "§5.4", false,
     "the installer asks no application for authorization"},
    {cmd::kVersion, "condition-version", kUpdateMgmt, "§5.5", false,
     "components carry no version the installer could compare"},
    {cmd::kWait, "directive-wait", kUpdateMgmt, "§5.6", false,
     "the installer does not wait for events"},
    {cmd::kSwap, "directive-swap", kManifestDoc, "§8.4.10", false,
     "the A/B switch is the installer's own (Confirm), not a swap of components"},
    {cmd::kRunSequence, "directive-run-sequence", kManifestDoc, "§8.4.10", false,
     "the installer does not run nested sequences"},
    {cmd::kUnlink, "directive-unlink", kTrustDomains, "§5.6.5", false,
     "the installer never removes a component"},
    {cmd::kOverrideMultiple, "directive-override-multiple", kUpdateMgmt, "§5.7", true,
     "read as override-parameters for each component index it names"},
    {cmd::kCopyParams, "directive-copy-params", kUpdateMgmt, "§5.8", false,
     "the installer does not copy parameters between components"},
};

struct ParameterRow {
  int64_t label;
  const char* name;
  const char* doc;
  const char* section;
  bool read;  // by the installer
};

constexpr ParameterRow kParameters[] = {
    {param::kVendorId, "vendor-id", kManifestDoc, "§8.4.8", true},
    {param::kClassId, "class-id", kManifestDoc, "§8.4.8", true},
    {param::kImageDigest, "image-digest", kManifestDoc, "§8.4.8", true},
    {param::kUseBefore, "use-before", kUpdateMgmt, "§4.1", false},
    {param::kComponentSlot, "component-slot", kManifestDoc, "§8.4.8", false},
    {param::kStrictOrder, "strict-order", kManifestDoc, "§8.4.8", false},
    {param::kSoftFailure, "soft-failure", kManifestDoc, "§8.4.8", false},
    {param::kImageSize, "image-size", kManifestDoc, "§8.4.8", true},
    {param::kContent, "content", kManifestDoc, "§8.4.8", false},
    {param::kUri, "uri", kManifestDoc, "§8.4.8", true},
    {param::kSourceComponent, "source-component", kManifestDoc, "§8.4.8", false},
    {param::kInvokeArgs, "invoke-args", kManifestDoc, "§8.4.8", false},
    {param::kDeviceId, "device-identifier", kManifestDoc, "§8.4.8", false},
    {param::kFetchArguments, "fetch-arguments", kManifestDoc, "§8.4.8", false},
    {param::kMinimumBattery, "minimum-battery", kUpdateMgmt, "§4.2", false},
    {param::kUpdatePriority, "update-priority", kUpdateMgmt, "§4.3", false},
    {param::kVersion, "version", kUpdateMgmt, "§4.4", false},
    {param::kWaitInfo, "wait-info", kUpdateMgmt, "§4.5", false},
    {param::kComponentMetadata, "component-metadata", kUpdateMgmt, "§4.6", false},
};
// clang-format on

const CommandRow* FindCommand(int64_t l) {
  for (const auto& r : kCommands)
    if (r.label == l) return &r;
  return nullptr;
}
const ParameterRow* FindParameter(int64_t l) {
  for (const auto& r : kParameters)
    if (r.label == l) return &r;
  return nullptr;
}

std::string Cite(const char* doc, const char* section) { return std::string(doc) + " " + section; }

struct Collector {
  std::vector<FeatureUse> uses;
  void Add(std::string where, std::string feature, Handling h, std::string note) {
    uses.push_back(FeatureUse{std::move(where), std::move(feature), h, std::move(note)});
  }
  void Parameters(const cbor::Value& map, const std::string& where) {
    if (!map.is_map()) return;
    for (const auto& [k, v] : map.map()) {
      auto l = k.AsInt64();
      if (!l) continue;
      const ParameterRow* p = FindParameter(*l);
      const std::string name =
          p ? "suit-parameter-" + std::string(p->name) + " (" + Cite(p->doc, p->section) + ")"
            : "parameter " + std::to_string(*l) + " (no specification secprof knows)";
      if (p && p->read)
        Add(where, name, Handling::kExecuted, "read by the installer");
      else
        Add(where, name, Handling::kIgnored, "set; no command the installer executes reads it");
    }
  }
  void Sequence(const CommandSequence& seq, const std::string& where) {
    for (size_t i = 0; i < seq.size(); ++i) {
      const Command& c = seq[i];
      const std::string w = where + "[" + std::to_string(2 * i) + "]";
      const CommandRow* r = FindCommand(c.label);
      if (!r) {
        Add(w, CommandName(c.label) + " (no specification secprof knows)", Handling::kNotExecuted,
            "unknown command");
        continue;
      }
      Add(w, "suit-" + std::string(r->name) + " (" + Cite(r->doc, r->section) + ")",
          r->executed ? Handling::kExecuted : Handling::kNotExecuted, r->note);
      if (c.label == cmd::kOverrideParameters || c.label == cmd::kSetParameters)
        Parameters(c.arg, w);
      if (c.label == cmd::kOverrideMultiple && c.arg.is_map())
        for (const auto& [idx, params] : c.arg.map()) Parameters(params, w);
    }
  }
  void Severable(const std::optional<SeverableMember>& m, const std::string& where) {
    if (!m) return;
    if (m->sequence)
      Sequence(m->sequence->commands, where);
    else if (m->digest)
      Add(where, "severed member", Handling::kIgnored,
          "the envelope does not carry it, so there is nothing to run");
  }
};

}  // namespace

const char* HandlingName(Handling h) {
  switch (h) {
    case Handling::kExecuted:
      return "executed";
    case Handling::kNotExecuted:
      return "not executed";
    case Handling::kIgnored:
      return "ignored";
  }
  return "?";
}

std::string CommandName(int64_t l) {
  if (const CommandRow* r = FindCommand(l)) return r->name;
  return l < 0 ? "command-custom(" + std::to_string(l) + ")" : "command(" + std::to_string(l) + ")";
}

std::string CommandSpec(int64_t l) {
  const CommandRow* r = FindCommand(l);
  return r ? Cite(r->doc, r->section) : std::string();
}

std::string ParameterName(int64_t l) {
  if (const ParameterRow* p = FindParameter(l)) return p->name;
  return "parameter(" + std::to_string(l) + ")";
}

std::vector<FeatureUse> InstallerFeatures(const Envelope& env) {
  Collector c;
  const Manifest& m = env.manifest;
  // The sequences an update runs (§6; trust-domains-06 §3 adds dependency resolution and
  // candidate verification), in the order a processor runs them.
  if (m.common.shared_sequence)
    c.Sequence(m.common.shared_sequence->commands, "manifest.common.shared-sequence");
  c.Severable(m.dependency_resolution, "manifest.dependency-resolution");
  c.Severable(m.payload_fetch, "manifest.payload-fetch");
  c.Severable(m.candidate_verification, "manifest.candidate-verification");
  c.Severable(m.install, "manifest.install");
  if (m.validate) c.Sequence(m.validate->commands, "manifest.validate");
  if (m.load) c.Sequence(m.load->commands, "manifest.load");
  if (m.invoke) c.Sequence(m.invoke->commands, "manifest.invoke");
  if (!m.common.dependencies.empty())
    c.Add("manifest.common.dependencies",
          "suit-dependencies (" + Cite(kTrustDomains, "§5.2.2") + ")", Handling::kNotExecuted,
          "dependency manifests are not supported");
  if (m.uninstall)
    c.Add("manifest.uninstall", "suit-uninstall (" + Cite(kTrustDomains, "§6") + ")",
          Handling::kIgnored,
          "run only when a manifest is unlinked, which the installer never does");
  if (m.manifest_component_id)
    c.Add("manifest.manifest-component-id",
          "suit-manifest-component-id (" + Cite(kTrustDomains, "§5.2.1") + ")", Handling::kIgnored,
          "the installer stores no manifests");
  if (m.set_version)
    c.Add("manifest.set-version", "suit-set-version (" + Cite(kUpdateMgmt, "§3.1") + ")",
          Handling::kIgnored, "informational; anti-rollback uses the sequence number");
  if (m.coswid)
    c.Add("manifest.coswid", "suit-coswid (" + Cite(kUpdateMgmt, "§3.2") + ")", Handling::kIgnored,
          "metadata (§3.2: recipients must not fail on it)");
  if (m.text)
    c.Add("manifest.text", std::string("suit-text (") + kManifestDoc + ")", Handling::kIgnored,
          "for people");
  if (env.delegation)
    c.Add("envelope.delegation", "suit-delegation (" + Cite(kTrustDomains, "Appendix A") + ")",
          Handling::kIgnored, "only the configured keys are trusted; delegated keys are not");
  for (const auto& [k, v] : m.extensions)
    c.Add("manifest." + cbor::Diagnostic(k), "manifest member (no specification secprof knows)",
          Handling::kIgnored, "unknown member, kept opaque");
  return c.uses;
}

Status CheckInstallerSupport(const Envelope& env) {
  for (const auto& u : InstallerFeatures(env))
    if (u.handling == Handling::kNotExecuted)
      return Fail(ErrorCode::kUnsupported, u.feature + " in " + u.where + ": " + u.note);
  return Ok();
}

}  // namespace secprof::update
