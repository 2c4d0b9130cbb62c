#include "secprof/domain/profile.h"

#include <array>

#include "secprof/core/enum_names.h"

namespace secprof::domain {

using namespace std::chrono_literals;

namespace {

constexpr EnumName<Profile> kProfileNames[] = {{Profile::kSecProf1, "SecProf_1"},
                                               {Profile::kSecProf2, "SecProf_2"},
                                               {Profile::kSecProf3, "SecProf_3"},
                                               {Profile::kSecProf4, "SecProf_4"}};

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

const char* ProfileName(Profile p) { return NameOf(kProfileNames, p, "?"); }

Result<Profile> ParseProfile(std::string_view s) {
  if (auto p = ValueOf(kProfileNames, s)) return *p;
  // The bare number, "1".."4", names the profile too.
  if (s.size() == 1 && s[0] >= '1' && s[0] <= '4') return static_cast<Profile>(s[0] - '0');
  return Fail(ErrorCode::kInvalidInput,
              "unknown profile '" + std::string(s) + "' (expected SecProf_1..SecProf_4)");
}

const Policy& PolicyFor(Profile p) { return kPolicies[static_cast<size_t>(p) - 1]; }

}  // namespace secprof::domain
