// libFuzzer target: denied-party lists (lib/policy/csv.h, screening.h). Any
// bytes parse as CSV and as a list or give a "FILE:LINE" error, never a
// crash; names normalise and screen without tripping a sanitizer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/csv.h"
#include "policy/screening.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::policy;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto csv = ParseCsv(in, "fuzz.csv");
  if (!csv.ok() && csv.status().message().rfind("fuzz.csv:", 0) != 0) std::abort();
  auto parties = ParseDeniedParties(in, "fuzz.csv");
  if (!csv.ok() && parties.ok()) std::abort();  // a CSV error is a list error
  // The input as a name: normalising is idempotent.
  const std::string n = NormaliseName(in);
  if (NormaliseName(n) != n) std::abort();
  const double self = JaroWinkler(n, n);
  if (!n.empty() && self != 1.0) std::abort();
  if (!parties.ok()) return 0;
  Screener s;
  s.Add(*parties);
  for (const Party& p : *parties) {
    if (p.name.empty()) std::abort();
    // A party always finds itself by its own name, unless it is all noise.
    auto m = s.Screen(p.name, 0.92);
    if (!NormaliseName(p.name).empty() && (!m || m->score < 0.92)) std::abort();
  }
  auto m = s.Screen(in.substr(0, 256), 0.5);
  if (m && (m->score < 0.5 || m->score > 1.0 || !m->party)) std::abort();
  return 0;
}
