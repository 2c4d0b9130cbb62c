// SUIT as text: command names, UUIDs, and the human-readable summary of an envelope.
#include <sstream>

#include "secprof/core/hex.h"
#include "secprof/cose/cose.h"
#include "secprof/update/suit.h"
#include "suit_internal.h"

namespace secprof::update {

Result<Bytes> ParseUuid(std::string_view text) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex += c;
  const bool dashed =
      text.size() == 36 && text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-';
  if (hex.size() != 32 || (text.size() != 32 && !dashed))
    return Fail(ErrorCode::kInvalidInput,
                "UUID must be 8-4-4-4-12 hex digits or 32 hex digits: '" + std::string(text) + "'");
  auto b = cbor::FromHex(hex);
  if (!b) return Fail(ErrorCode::kInvalidInput, "UUID: " + b.error().message());
  return std::move(*b);
}

std::string FormatUuid(ByteView b) {
  std::string h = ToHex(b);
  if (b.size() != kUuidSize) return h;
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::vector<BlockInfo> DescribeBlocks(const Envelope& env) {
  std::vector<BlockInfo> out;
  for (const auto& b : env.auth.blocks) {
    // §8.3: COSE_Sign1 (tag 18) or COSE_Mac0 (tag 17) blocks; anything else is named as such.
    if (auto s = cose::DecodeSign1(b, cose::TagPolicy::kRequireTagged)) {
      auto alg = cose::MessageAlgorithm(s->protected_header, s->unprotected,
                                        cose::AlgorithmKind::kSignature);
      out.push_back({"COSE_Sign1", alg ? alg->name : "?"});
    } else if (auto m = cose::DecodeMac0(b, cose::TagPolicy::kRequireTagged)) {
      auto alg =
          cose::MessageAlgorithm(m->protected_header, m->unprotected, cose::AlgorithmKind::kMac);
      out.push_back({"COSE_Mac0", alg ? alg->name : "?"});
    } else {
      out.push_back({"other", "?"});
    }
  }
  return out;
}

std::string Summary(const Envelope& env) {
  std::ostringstream o;
  const Manifest& m = env.manifest;
  o << "SUIT envelope (draft-ietf-suit-manifest), "
    << (env.value.is_tag() ? "tagged (107)" : "untagged") << "\n";
  o << "  manifest-version:         " << m.version << "\n";
  o << "  manifest-sequence-number: " << m.sequence_number << "\n";
  if (m.reference_uri) o << "  reference-uri:            " << *m.reference_uri << "\n";
  o << "  manifest digest:          sha-256 " << ToHex(env.auth.digest.bytes) << "\n";
  o << "  authentication blocks:    " << env.auth.blocks.size() << "\n";
  const std::vector<BlockInfo> blocks = DescribeBlocks(env);
  for (size_t i = 0; i < blocks.size(); ++i)
    o << "    [" << i + 1 << "] " << blocks[i].structure << " " << blocks[i].algorithm << "\n";
  o << "  components:               " << m.common.components.size() << "\n";
  for (size_t i = 0; i < m.common.components.size(); ++i) {
    o << "    [" << i << "] [";
    for (size_t j = 0; j < m.common.components[i].size(); ++j)
      o << (j ? ", " : "") << "h'" << ToHex(m.common.components[i][j]) << "'";
    o << "]\n";
    auto p = ImageParametersFor(m, i);
    if (!p) continue;
    if (p->vendor_id) o << "        vendor-id:    " << FormatUuid(*p->vendor_id) << "\n";
    if (p->class_id) o << "        class-id:     " << FormatUuid(*p->class_id) << "\n";
    if (p->image_digest)
      o << "        image-digest: " << (p->image_digest->alg == kAlgSha256 ? "sha-256 " : "alg ")
        << ToHex(p->image_digest->bytes) << "\n";
    if (p->image_size) o << "        image-size:   " << *p->image_size << "\n";
    if (p->uri) o << "        uri:          " << *p->uri << "\n";
  }
  auto seq = [&](const char* name, const CommandSequence& c) {
    o << "  " << name << ":";
    for (const auto& x : c) o << " " << CommandName(x.label);
    o << "\n";
  };
  if (m.common.shared_sequence) seq("shared-sequence", m.common.shared_sequence->commands);
  if (m.validate) seq("validate", m.validate->commands);
  if (m.load) seq("load", m.load->commands);
  if (m.invoke) seq("invoke", m.invoke->commands);
  auto sev = [&](const char* name, const std::optional<SeverableMember>& s) {
    if (!s) return;
    if (s->sequence)
      seq(name, s->sequence->commands);
    else if (s->digest)
      o << "  " << name << ": severed, digest " << ToHex(s->digest->bytes) << "\n";
    else
      o << "  " << name << ": " << s->text_encoded->size() << " bytes (opaque)\n";
  };
  sev("payload-fetch", m.payload_fetch);
  sev("install", m.install);
  sev("text", m.text);
  for (const auto& [l, b] : env.severed)
    o << "  envelope carries severed member " << l << " (" << b.size() << " bytes)\n";
  for (const auto& [name, b] : env.integrated_payloads)
    o << "  integrated payload \"" << name << "\" (" << b.size() << " bytes)\n";
  if (m.uninstall) seq("uninstall", m.uninstall->commands);
  sev("dependency-resolution", m.dependency_resolution);
  sev("candidate-verification", m.candidate_verification);
  sev("coswid", m.coswid);
  for (const auto& [idx, prefix] : m.common.dependencies)
    o << "  dependency: component " << idx << " (draft-ietf-suit-trust-domains-06 §5.2.2)\n";
  if (env.delegation) o << "  delegation chains: present (not used)\n";
  if (!m.extensions.empty()) o << "  unknown manifest members: " << m.extensions.size() << "\n";
  return o.str();
}
}  // namespace secprof::update
