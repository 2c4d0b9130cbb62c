// lab.extract: a reader of a thing's storage recovers its keys and shows that they work (T6,
// extraction of private information; docs/DOMAIN.md "State directory", docs/KEYSTORE.md).
//
// Attacker: holds a thing and reads everything its storage gives up. First the state directory
// alone (a backup, a copied SD card); then, as someone holding a device without tamper
// resistance, every file beside it too (the KEK). For a token thing it also gets the token's own
// PKCS#11 interface with the PIN (it holds the device) and asks the token for the key values.
// Success: a key is recovered and works: SecProf_1 a link frame under the domain key accepted by
// a member; SecProf_2 a DTLS-PSK session with the KDC as the thing (GET k/revoked answered 2.05);
// SecProf_3/4 a DTLS session with the thing's LDevID and its key (the same request).
// SecProf_1/2 keep keys in files (the draft: no tamper resistance), so the attack succeeds there.
// SecProf_3/4 keep them non-extractable in a token: blocked by keystore.pkcs11_nonextractable,
// the token's own refusal (CKR_ATTRIBUTE_SENSITIVE ...) is the reason. Negative control: the
// same SecProf_3/4 domain with file keys (the recorded `file-keys` override of the factory).
#include "adversary.h"
#include "groups.h"
#include "secprof/cbor/cbor.h"
#include "secprof/crypto/hash.h"
#include "secprof/domain/keys.h"
#include "secprof/domain/protocol.h"
#include "secprof/domain/revocation.h"

namespace secprof::lab::internal {
namespace {

std::string Fingerprint(const crypto::SecureBuffer& k) {
  auto h = crypto::Sha256(k.view());
  std::string hex = h ? cbor::ToHex(crypto::ByteView(h->data(), 8)) : "?";
  return std::to_string(k.size()) + " bytes, SHA-256 " + hex + "...";
}

class Extract final : public Scenario {
 public:
  const ScenarioInfo& info() const override {
    static const ScenarioInfo i{
        "lab.extract",
        "T6",
        "operation",
        "thing",
        "reads a thing's storage (its state directory, the files beside it, and for a token "
        "thing the token's PKCS#11 interface with the PIN) to recover its keys",
        "a key is recovered and works: a link frame, or a DTLS session with the KDC as the thing",
        {"M.model.tamper_resistant_keys", "M.model.data_algorithm_protection"},
        {"keystore.pkcs11_nonextractable", "thing.encrypted_storage"},
        true};
    return i;
  }

  Result<Measurement> Run(const RunContext& ctx) const override {
    Measurement m;
    const bool tamper = domain::PolicyFor(ctx.profile).tamper_resistant;
    if (tamper && !ctx.defence_off && !(ctx.tokens && ctx.tokens->ok())) {
      m.outcome = Outcome::kNotTestable;
      m.reason = "no SoftHSM2 token (the profile's non-extractable keys): " +
                 (ctx.tokens ? ctx.tokens->problem() : std::string("no token pool"));
      return m;
    }
    DomainOptions o;
    o.profile = ctx.profile;
    o.dir = ctx.dir / "domain";
    o.things = ctx.profile == domain::Profile::kSecProf1 ? 2 : 1;
    o.tokens = ctx.defence_off ? nullptr : ctx.tokens;  // negative control: the file-keys override
    o.timeout = ctx.timeout;
    SECPROF_ASSIGN_OR_RETURN(auto d, LiveDomain::Start(o));
    const int victim = 0;

    // 1. The state directory alone.
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy dir_only, CopyDevice(*d, victim, ctx.dir / "dir", false));
    SECPROF_ASSIGN_OR_RETURN(FileLoot plain, ReadDeviceFiles(dir_only));
    m.evidence.push_back(
        {"log",
         "state directory alone: " + (plain.locked.empty() ? "secrets opened" : plain.locked), ""});
    // 2. Everything the device's storage holds.
    SECPROF_ASSIGN_OR_RETURN(DeviceCopy all, CopyDevice(*d, victim, ctx.dir / "all", true));
    SECPROF_ASSIGN_OR_RETURN(FileLoot loot, ReadDeviceFiles(all));
    if (!loot.locked.empty()) return FromToken(*d, loot, std::move(m));

    std::string found;
    for (const auto& [name, key] : loot.secrets) found += name + ": " + Fingerprint(key) + "\n";
    if (!loot.ldevid_key_pem.empty())
      found += "LDevID private key (" + loot.ldevid_key_label + ")\n";
    m.evidence.push_back({"recovered", "keys read from the files with the KEK beside them", found});
    auto proof = Use(*d, loot, ctx);
    if (proof) {
      m.outcome = Outcome::kSucceeded;
      m.reason = "keys kept in files (" +
                 std::string(d->token_keys() ? "token"
                                             : "no tamper "
                                               "resistance") +
                 "): " + *proof;
      m.evidence.push_back({"recovered", *proof, ""});
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "thing.encrypted_storage";
    m.reason = std::string(proof.error().reason().empty() ? "recovered-key-refused"
                                                          : proof.error().reason());
    m.evidence.push_back({"log", "the recovered keys did not work", proof.error().message()});
    return m;
  }

 private:
  // Shows a recovered key working; returns what it obtained.
  static Result<std::string> Use(LiveDomain& d, const FileLoot& loot, const RunContext& ctx) {
    if (d.profile() == domain::Profile::kSecProf1) {
      auto it = loot.secrets.find("domain");
      if (it == loot.secrets.end()) return Fail(ErrorCode::kNotFound, "no domain key recovered");
      SECPROF_ASSIGN_OR_RETURN(auto* peer, d.ServeThing(1));
      domain::LinkFrame f{loot.serial, uint64_t{1} << 40, coap::Text("forged")};
      SECPROF_ASSIGN_OR_RETURN(crypto::Bytes frame, domain::SealLinkFrame(it->second.view(), f));
      SECPROF_ASSIGN_OR_RETURN(auto cl,
                               coap::Client::Connect("127.0.0.1", peer->server->udp_port(), {}));
      SECPROF_ASSIGN_OR_RETURN(auto r, cl->Post(domain::path::kLink, frame));
      if (r.code != coap::kChanged)
        return Fail(ErrorCode::kVerifyFailed, "link frame answered " + BodyText(r));
      return std::string(
          "a link frame forged under the domain key was accepted by a member "
          "(2.04)");
    }
    SECPROF_ASSIGN_OR_RETURN(auto s, OwnSession(d, loot, nullptr, ctx.timeout));
    SECPROF_ASSIGN_OR_RETURN(auto r, s->Get(domain::path::kRevoked));
    if (r.code != coap::kContent)
      return Fail(ErrorCode::kVerifyFailed, "k/revoked answered " + BodyText(r));
    return std::string("a DTLS session with the KDC as ") + loot.serial + " (" +
           (loot.psk_identity.empty() ? "LDevID and its key" : "PSK") +
           "), GET k/revoked answered 2.05";
  }

  // A token thing: the files gave nothing; ask the token itself.
  static Result<Measurement> FromToken(LiveDomain& d, const FileLoot& loot, Measurement m) {
    m.evidence.push_back({"log", "every file of the device: " + loot.locked, ""});
    std::vector<std::string> labels{loot.kek_label, loot.ldevid_key_label, loot.idevid_key_label};
    if (!d.token()) {
      m.outcome = Outcome::kBlocked;
      m.control = "thing.encrypted_storage";
      m.reason = "secrets-sealed";
      return m;
    }
    TokenProbe p = ProbeToken(*d.token(), labels);
    std::string lines;
    for (const auto& l : p.lines) lines += l + "\n";
    if (!p.problem.empty())
      return Fail(ErrorCode::kInternal, "lab: the token probe could not run: " + p.problem);
    m.evidence.push_back({"log", "the token's PKCS#11 interface, logged in with the PIN", lines});
    if (p.extracted > 0) {
      m.outcome = Outcome::kSucceeded;
      m.reason = std::to_string(p.extracted) + " key values left the token";
      return m;
    }
    m.outcome = Outcome::kBlocked;
    m.control = "keystore.pkcs11_nonextractable";
    m.reason = lines.find("CKR_ATTRIBUTE_SENSITIVE") != std::string::npos
                   ? "CKR_ATTRIBUTE_SENSITIVE"
                   : "token refused";
    return m;
  }
};

}  // namespace

std::unique_ptr<Scenario> MakeExtract() { return std::make_unique<Extract>(); }

}  // namespace secprof::lab::internal
