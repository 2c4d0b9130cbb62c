// Internal to secprof::thing: the one fetch-verify-install path of an update, shared by the KDC's
// campaigns (firmware.cpp, SecProf_2-4) and the vendor's update service (firmware_vendor.cpp,
// SecProf_1); docs/DOMAIN.md "Maintenance".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "agent_impl.h"

namespace secprof::thing::internal {

// GET of one firmware resource (`path`, with the source's own query), its body at most `limit`
// bytes when given. The source decides the transport (the KDC's DTLS session, plain CoAP to the
// vendor's service).
using FirmwareGet =
    std::function<Result<coap::Response>(const char* path, std::optional<size_t> limit)>;

struct FirmwareSource {
  const char* manifest_path;
  const char* image_path;
  const char* peer;  // in errors: "<what>: <peer> answered <code>"
  // When set, the envelope must carry exactly this sequence number (the release a verified
  // latest-release statement named), else kVerifyFailed before any image byte.
  std::optional<uint64_t> sequence;
};

// GET the SUIT envelope; verify it alone (update::SlotStore::VerifyManifest: signature with the
// vendor trust anchor, vendor and class, sequence above the floor); GET the image bounded by the
// manifest's image-size (a source that sends more is refused, kImageTooLong, nothing written);
// install it through the crash-safe A/B path (InstallFile; with `test_boot`, that hook). Adds the
// payload bytes fetched to `*bytes`. An Error leaves the running image and the floor as they were.
Status FetchAndInstall(Agent::Impl& impl, const FirmwareGet& get, const FirmwareSource& source,
                       const update::TestBootHook& test_boot, uint64_t* bytes);

}  // namespace secprof::thing::internal
