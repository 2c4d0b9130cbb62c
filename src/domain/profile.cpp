#include "secprof/domain/profile.h"

#include <array>

namespace secprof::domain {

using namespace std::chrono_literals;

namespace {

// Brief §3; the earlier revision's Figures 7 (SecProf_1) to 10 (SecProf_4).
const std::array<Policy, 4> kPolicies{{
    {Profile::kSecProf1, false, Bootstrap::kDuckling, AppSecurity::kNone, false, false, false, true,
     60s, 0, 0s,
     "SecProf_1 (home): resurrecting-duckling pairing, the domain key handed over IN THE CLEAR in "
     "a short window; one shared key, link-layer MAC only, no application security (as the draft "
     "says)"},
    {Profile::kSecProf2, true, Bootstrap::kSetupCode, AppSecurity::kDtlsPsk, false, false, false,
     true, 300s, 1000, 3600s,
     "SecProf_2 (managed home): the KDC admits things by setup code; the first key (the DTLS "
     "PSK) travels IN THE CLEAR (as the draft says); DTLS-PSK afterwards"},
    {Profile::kSecProf3, true, Bootstrap::kVoucher, AppSecurity::kDtlsPki, true, true, true, false,
     300s, 1000, 3600s,
     "SecProf_3 (industrial): DTLS with the IDevID, owner voucher checked by both sides, LDevID "
     "and pairwise keys from the KDC, keys in a token, signed group messages",
     /*rekey_on_join=*/true},
    {Profile::kSecProf4, true, Bootstrap::kVoucher, AppSecurity::kDtlsPki, true, true, true, false,
     300s, 1000, 3600s,
     "SecProf_4 (advanced industrial): as SecProf_3 (backend, OSCORE and roaming are not built "
     "yet)",
     /*rekey_on_join=*/true},
}};

}  // namespace

const char* ProfileName(Profile p) {
  switch (p) {
    case Profile::kSecProf1:
      return "SecProf_1";
    case Profile::kSecProf2:
      return "SecProf_2";
    case Profile::kSecProf3:
      return "SecProf_3";
    case Profile::kSecProf4:
      return "SecProf_4";
  }
  return "?";
}

Result<Profile> ParseProfile(std::string_view s) {
  for (int i = 1; i <= 4; ++i) {
    auto p = static_cast<Profile>(i);
    if (s == ProfileName(p) || (s.size() == 1 && s[0] == static_cast<char>('0' + i))) return p;
  }
  return Fail(ErrorCode::kInvalidInput,
              "unknown profile '" + std::string(s) + "' (expected SecProf_1..SecProf_4)");
}

const Policy& PolicyFor(Profile p) { return kPolicies[static_cast<size_t>(p) - 1]; }

}  // namespace secprof::domain
