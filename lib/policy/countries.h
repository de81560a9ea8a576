// ISO 3166-1 alpha-2 country codes: the officially assigned ones only (249).
// Reserved codes (EU, UK, XK, ...) are not countries here: a policy that
// names them is a typo until someone decides otherwise.
#pragma once

#include <string_view>
#include <vector>

namespace vigil::policy {

// Upper case only: "us" is not a code (the policy loader suggests "US").
bool IsCountryCode(std::string_view code);

// All assigned codes, sorted.
const std::vector<std::string_view>& AllCountryCodes();

}  // namespace vigil::policy
