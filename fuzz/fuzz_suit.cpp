// libFuzzer target for the SUIT envelope and manifest parser (draft-ietf-suit-manifest) and
// verification with a fixed P-256 key.
//
// Each input is parsed as a SUIT_Envelope (tag required, then tag optional) and as a bare
// SUIT_Manifest. Parsed envelopes are also checked with a symmetric key (COSE_Mac0) and run
// through the installer's feature classification (InstallerFeatures / CheckInstallerSupport).
// Properties: nothing crashes; a parsed envelope re-encodes to the input (the parser requires
// preferred serialization); the summary and the per-component parameters can be computed for
// every parsed envelope; an envelope that verifies has a wrapper digest equal to SHA-256 over
// its manifest bstr. The seed corpus (fuzz/corpus/fuzz_suit) holds envelopes made with
// `secprof fw sign` and the fixed key below, so the verification path is reached.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "secprof/crypto/hash.h"
#include "secprof/crypto/keys.h"
#include "secprof/update/suit.h"

namespace {
using namespace secprof;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_suit: property violated: %s\n", what);
    std::abort();
  }
}

const cose::Key& FixedKey() {
  static const cose::Key key = [] {
    cbor::Bytes d(32);
    for (size_t i = 0; i < 32; ++i) d[i] = static_cast<uint8_t>(i + 1);  // d = 0x0102..20
    auto sk = crypto::PrivateKey::FromRaw(crypto::KeyType::kP256, d);
    Check(sk.has_value(), "fixed key");
    auto k = cose::KeyFromPrivate(std::move(*sk));
    Check(k.has_value(), "fixed COSE key");
    auto pub = cose::KeyFromPublic(*k->public_key);
    Check(pub.has_value(), "fixed public key");
    return *pub;
  }();
  return key;
}

const cose::Key& MacKey() {
  static const cose::Key key = cose::SymmetricKey(cbor::Bytes(32, 0x42));
  return key;
}

void Exercise(const update::Envelope& env, cbor::ByteView data, bool tagged) {
  if (tagged)
    Check(cbor::Encode(env.value, cbor::MapOrder::kPreserveOrder) ==
              cbor::Bytes(data.begin(), data.end()),
          "re-encoding differs from the input");
  (void)update::Summary(env);
  // What the installer would execute: every use is named, a refusal names one of them.
  const auto uses = update::InstallerFeatures(env);
  bool any_not_executed = false;
  for (const auto& u : uses) any_not_executed |= u.handling == update::Handling::kNotExecuted;
  Check(static_cast<bool>(update::CheckInstallerSupport(env)) == !any_not_executed,
        "CheckInstallerSupport disagrees with InstallerFeatures");
  for (size_t i = 0; i < env.manifest.common.components.size(); ++i) {
    auto p = update::ImageParametersFor(env.manifest, i);
    Check(p.has_value(), "parameters of an existing component");
    if (p->image_digest) (void)update::CheckImage(*p, data);
  }
  // A symmetric key looks for COSE_Mac0 blocks: it must never verify a block made with another.
  (void)update::VerifyEnvelope(env, MacKey());
  auto v = update::VerifyEnvelope(env, FixedKey());
  if (v) {
    auto d = crypto::Sha256(env.manifest_bstr);
    Check(d.has_value() && cbor::Bytes(d->begin(), d->end()) == env.auth.digest.bytes,
          "verified envelope with a wrong manifest digest");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const cbor::ByteView in(data, size);
  if (auto env = update::ParseEnvelope(in, {}, /*allow_untagged=*/false)) Exercise(*env, in, true);
  if (auto env = update::ParseEnvelope(in)) Exercise(*env, in, false);
  (void)update::ParseManifest(in);
  return 0;
}
