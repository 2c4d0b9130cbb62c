// secprof/manufacture/manufacture.h — the draft's "manufactured" lifecycle phase (brief §4): a
// vendor CA, and per thing a key pair in a key store, an IEEE 802.1AR IDevID certificate, the
// vendor trust anchor and a setup code, listed in a machine-readable manifest.
//
//   Options o{.vendor = "Acme", .model = "LightBulb-9", .count = 10, .out_dir = "factory"};
//   SECPROF_ASSIGN_OR_RETURN(Outcome made, Manufacture(o));
//   for (size_t i = made.first_new; i < made.manifest.things.size(); ++i) ...
//
// Output directory (paths in the manifest are relative to it):
//   manifest.json                  the list below (mode 0600: it holds the setup codes)
//   ca/ca.pem                      vendor CA certificate (self-signed root)
//   ca/keystore/                   FileKeyStore holding the CA key, label "vendor-ca"
//   things/<serial>/idevid.pem     the thing's IDevID, issued by the vendor CA
//   things/<serial>/ca.pem         the vendor trust anchor (a copy of ca/ca.pem)
//   things/<serial>/setup-code.txt the setup code (mode 0600)
//   things/<serial>/thing.json     serial, vendor, model and where the key is
//   things/<serial>/keystore/      with --keystore file: FileKeyStore with the thing's key
// With --keystore pkcs11 the thing's key is generated inside the token instead (label
// "idevid-<serial>") and never leaves it.
//
// Re-running on the same directory adds things with the next serials; it never overwrites an
// identity: a serial whose folder or key label already exists is skipped, the CA is reused, and a
// vendor or model other than the manifest's is refused (kConflict). One run at a time per
// directory (an flock on <dir>/.lock; a second concurrent run gets kConflict).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/random.h"
#include "secprof/keystore/keystore.h"
#include "secprof/keystore/pkcs11_store.h"

namespace secprof::manufacture {

inline constexpr int kManifestVersion = 1;
inline constexpr const char* kManifestFormat = "secprof-manufacture-manifest";
inline constexpr const char* kCaKeyLabel = "vendor-ca";
inline constexpr int kMaxCount = 100000;
inline constexpr size_t kMaxNameLength = 64;  // vendor and model
// Setup codes: 80 random bits as 16 characters of the RFC 4648 §6 base32 alphabet (A-Z, 2-7),
// grouped by four with '-' ("ABCD-EFGH-IJKL-MNOP", 19 characters). At least
// domain::kMinSetupCodeBits (64) are needed for a sniffed join not to give the code away to an
// offline guesser (docs/DOMAIN.md).
inline constexpr size_t kSetupCodeBits = 80;
inline constexpr size_t kSetupCodeLength = 19;

struct Options {
  std::string vendor;  // O of the CA and of every IDevID; printable, 1..64 characters
  std::string model;   // OU of every IDevID; printable, 1..64 characters
  int count = 1;       // things to add, 1..kMaxCount
  std::string out_dir;
  keystore::StoreKind keystore = keystore::StoreKind::kFile;
  keystore::Pkcs11KeyStoreOptions pkcs11;  // used with StoreKind::kPkcs11
};

struct ThingRecord {
  std::string serial;              // the IDevID subject serialNumber, e.g. "lightbulb-9-000001"
  int index = 0;                   // the number in the serial; serials continue across runs
  std::string dir;                 // "things/<serial>"
  std::string idevid;              // "things/<serial>/idevid.pem"
  std::string trust_anchor;        // "things/<serial>/ca.pem"
  std::string setup_code;          // see kSetupCodeLength
  std::string key_store;           // "file" or "pkcs11"
  std::string key_location;        // "things/<serial>/keystore" or "pkcs11:token=<label>"
  std::string key_label;           // "idevid-<serial>"
  std::string idevid_fingerprint;  // SHA-256 of the DER certificate, lower-case hex
  std::string idevid_cert_serial;  // the certificate's serial number, lower-case hex
  std::string created;             // RFC 3339 UTC, whole seconds
};

struct Manifest {
  std::string vendor;
  std::string model;
  std::string ca_certificate;   // "ca/ca.pem"
  std::string ca_fingerprint;   // SHA-256 of the DER CA certificate, lower-case hex
  std::string ca_key_location;  // "ca/keystore"
  std::string ca_key_label;     // kCaKeyLabel
  std::vector<ThingRecord> things;
};

// JSON (docs/KEYSTORE.md "Manifest"). Parse is strict about types and required fields and names
// the offending field (kInvalidInput).
std::string ManifestToJson(const Manifest& m);
Result<Manifest> ManifestFromJson(std::string_view json, const std::string& file_name);

struct Outcome {
  Manifest manifest;     // everything in the directory after this run
  size_t first_new = 0;  // manifest.things[first_new..] were made by this run
  bool ca_created = false;
};

// Makes (or reuses) the vendor CA and `count` new things in `out_dir`, then writes the manifest
// atomically. If a thing fails half-way, the things completed so far are still recorded in the
// manifest before the error is returned. Errors: kInvalidInput (options), kConflict (vendor/model
// differ from the manifest, another run holds the lock), key store and I/O errors with context.
Result<Outcome> Manufacture(const Options& options, const Clock& clock = SystemClock(),
                            crypto::Random& rng = crypto::SystemRandomSource());

// The serial of thing number `index` for `model`: a slug of the model (lower-case letters, digits
// and '-', at most 24 characters; "thing" when nothing is left) + "-" + index, zero-padded to 6.
std::string SerialFor(const std::string& model, int index);

// A fresh setup code from `rng`.
Result<std::string> NewSetupCode(crypto::Random& rng);

}  // namespace secprof::manufacture
