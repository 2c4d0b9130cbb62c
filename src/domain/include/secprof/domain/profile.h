// secprof/domain/profile.h — what each security profile means at run time (brief §3, read from the
// earlier revision's Figures 7 to 11 of draft-garcia-security-mitigations-and-profiles), as one
// table that the KDC and the thing agent both consult. Nothing here does I/O.
//
//   SECPROF_ASSIGN_OR_RETURN(Profile p, ParseProfile("SecProf_3"));
//   const Policy& pol = PolicyFor(p);
//   if (pol.bootstrap == Bootstrap::kVoucher) ...
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "secprof/core/result.h"

namespace secprof::domain {

enum class Profile { kSecProf1 = 1, kSecProf2 = 2, kSecProf3 = 3, kSecProf4 = 4 };

// "SecProf_1".."SecProf_4" (the catalog's ids); ParseProfile also accepts "1".."4".
const char* ProfileName(Profile p);
Result<Profile> ParseProfile(std::string_view s);

// How a thing joins (brief §3 "bootstrapping").
enum class Bootstrap {
  // "Resurrecting duckling": the thing imprints on the first peer that hands it the domain key, in
  // the clear, inside a bounded pairing window. No KDC. (SecProf_1; SecProf_2 without a KDC.)
  kDuckling,
  // The KDC manages network access with the thing's setup code; the draft lets the first key (the
  // pairwise PSK) travel in the clear, secprof seals it under the setup code (docs/DOMAIN.md
  // "SecProf_2: setup code"). (SecProf_2.)
  kSetupCode,
  // DTLS with the IDevID certificate; the KDC admits only serials covered by an imported,
  // manufacturer-signed voucher, and the thing accepts the domain only after verifying that voucher
  // against its manufacturer trust anchor. The KDC then issues an LDevID. (SecProf_3, SecProf_4.)
  kVoucher,
};

// Protection of application traffic (brief §3 "application security").
enum class AppSecurity {
  kNone,     // SecProf_1: frames carry a MAC under the shared domain (network) key only
  kDtlsPsk,  // SecProf_2: DTLS-PSK with KDC-distributed keys
  kDtlsPki,  // SecProf_3/4: DTLS with the LDevID certificate to the KDC; KDC-issued pairwise keys
};

struct Policy {
  Profile profile;
  bool kdc;                 // a KDC manages the domain
  Bootstrap bootstrap;      // the default way to join
  AppSecurity app;          // thing <-> KDC and thing <-> thing
  bool tamper_resistant;    // keys in a PKCS#11 token (non-extractable)
  bool key_separation;      // per-layer/per-purpose keys derived separately (HKDF labels)
  bool group_origin_auth;   // group messages signed by the sender (origin authentication)
  bool first_key_in_clear;  // the draft accepts the first key travelling in the clear
  // Default pairing window (duckling) or join window (setup code) after it opens.
  std::chrono::seconds pairing_window;
  // Session-key policy: a DTLS session is replaced by a fresh handshake after this many requests or
  // this age, whichever comes first (DTLS 1.2 has no in-session rekey, RFC 6347).
  uint64_t session_max_messages;
  std::chrono::seconds session_max_age;
  // One line for output: how this profile bootstraps and what it accepts.
  const char* summary;
  // Backward secrecy of group keys (issue 9 item 8): a member joining a group re-keys it (new
  // epoch) in the same registry transaction, so the newcomer never holds a key that protected
  // earlier traffic. Removal always re-keys (forward secrecy), in every profile.
  bool rekey_on_join = false;
};

const Policy& PolicyFor(Profile p);

}  // namespace secprof::domain
