// secprof/vendor/update_service.h — the vendor's update service: how a SecProf_1 thing (a home
// product: no KDC, no backend of the owner's) receives firmware (docs/DOMAIN.md "SecProf_1: the
// vendor's update service"; draft-garcia-security-mitigations-and-profiles §7.4 "Software
// update": devices operate unattended and need a remote software update mechanism; ETSI EN 303
// 645 5.3, which the catalog requires of every profile: M.app.update_delivery).
//
// The vendor publishes releases in a directory: for each release, NAME.suit (a SUIT envelope
// signed with the vendor CA key, `secprof fw sign --factory`) and NAME.img (its image). The
// service serves them over plain CoAP (RFC 7252) with a latest-release statement per model
// (secprof/domain/latest_release.h, here signed with the VENDOR key, not a domain's):
//
//   GET  vu/latest?class=<class-id hex>           -> 2.05 COSE_Sign1 LatestRelease
//   (application/cose) GET  vu/manifest?class=<class-id hex>&seq=N   -> 2.05 the release's SUIT
//   envelope GET  vu/image?class=<class-id hex>&seq=N      -> 2.05 its image (block-wise, RFC 7959
//   Block2) POST vu/alert FirmwareAlert                    -> 2.04 (the vendor records what things
//   report) 4.04 for an unknown class or sequence, 4.00 for a malformed query or body.
//
// The channel carries no authenticity: the thing trusts nothing it did not verify with the vendor
// trust anchor its factory gave it (the envelope's signature, vendor-id, class-id, digest and
// size, its sequence above the thing's floor; the statement's signature, model, freshness and
// monotonic sequence). A fake service or an on-path attacker can withhold (the thing then alerts,
// docs/DOMAIN.md) but cannot make a thing install anything the vendor did not sign, or an older
// release (lab scenario lab.vulnerable_fw, SecProf_1).
//
// What it is not: one vendor, plain CoAP on the address given (loopback in every test), no client
// authentication (the releases are public), no rate limit beyond libcoap's; the statement's
// sequence is the highest in the directory, so the vendor withdraws a release by publishing a
// higher one, never by deleting files (a thing that saw the higher statement alerts on a lower).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "secprof/crypto/secure_buffer.h"
#include "secprof/crypto/signer.h"

namespace secprof::vendor {

namespace path {
inline constexpr const char* kLatest = "vu/latest";
inline constexpr const char* kManifest = "vu/manifest";
inline constexpr const char* kImage = "vu/image";
inline constexpr const char* kAlert = "vu/alert";
}  // namespace path

// Queries (class-id as 32 lower-case hex digits: no model name crosses the query).
std::string LatestQuery(crypto::ByteView class_id);
std::string ReleaseQuery(crypto::ByteView class_id, uint64_t sequence);

// One published release, as the service found it.
struct Release {
  std::string model;
  uint64_t sequence = 0;
  uint64_t image_size = 0;
  std::string envelope_path, image_path;
};

// Scans `dir` for NAME.suit with NAME.img beside it. Each envelope must verify with `vendor_key`
// (update::ParseAndVerify), name `vendor`'s vendor-id and the class-id of one of `models`
// (domain::FirmwareClassId), and state the image's size and SHA-256, which the image file must
// match. Returns the releases by (model, sequence), and in `problems` one line per file refused
// (a file refused is never served). kNotFound when `dir` does not exist; kConflict when two
// envelopes give one model the same sequence.
struct Scan {
  std::vector<Release> releases;
  std::vector<std::string> problems;
};
Result<Scan> ScanPublished(const std::string& dir, const std::string& vendor,
                           const std::vector<std::string>& models,
                           const crypto::PublicKey& vendor_key);

struct ServiceOptions {
  std::string publish_dir;
  std::string vendor;               // the vendor CA's O (voucher::Factory::vendor())
  std::vector<std::string> models;  // the models it serves (voucher::Factory::model())
  // The vendor CA key: signs the latest-release statements; its public half verifies what is
  // published. Must outlive the service.
  crypto::Signer* signer = nullptr;
  const Clock* clock = nullptr;  // nullptr: SystemClock()
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port
};

struct ServiceStats {
  uint64_t statements = 0;  // vu/latest answered 2.05
  uint64_t manifests = 0;   // vu/manifest answered 2.05
  uint64_t images = 0;      // vu/image answered 2.05
  uint64_t refused = 0;     // 4.xx answers
  // Alerts things reported (POST vu/alert): "<kind>: <detail>", the last 64.
  std::vector<std::string> alerts;
  // The last scan's refused files (see Scan::problems).
  std::vector<std::string> problems;
};

// The service. Start scans the directory (an Error when it cannot be read, kInvalidInput for bad
// options); each vu/latest request lists it and rescans it when a name, size or modification time
// changed, so a release published while the service runs (its NAME.img, then its NAME.suit, each
// written atomically) is served from the next request on.
// Threading: Serve/RunOnce on one thread (libcoap); stats() from any thread.
class UpdateService {
 public:
  static Result<std::unique_ptr<UpdateService>> Start(ServiceOptions options);
  ~UpdateService();
  uint16_t port() const;
  Status RunOnce(std::chrono::milliseconds timeout);
  Status Serve(std::stop_token stop);
  ServiceStats stats() const;
  // The releases of the last scan.
  std::vector<Release> releases() const;

  struct Impl;

 private:
  explicit UpdateService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Publishes a release into `dir` as the vendor does: NAME.img then NAME.suit, each written
// atomically (core/fs.h WriteFileAtomic), so a scan never sees an envelope without its image.
Status Publish(const std::string& dir, const std::string& name, crypto::ByteView envelope,
               crypto::ByteView image);

}  // namespace secprof::vendor
