// libFuzzer target: jurisdiction policy files (lib/policy/policy.h). Any
// input loads or is a "FILE:LINE: reason" error, never a crash; what loads
// answers Decide() for a few requests consistently with its own rules.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/instant.h"
#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::policy;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = Policy::Parse(in, "fuzz.toml");
  if (!p.ok()) {
    if (p.status().message().rfind("fuzz.toml:", 0) != 0) std::abort();
    return 0;
  }
  if (p->source_sha256().size() != 64) std::abort();
  static const int64_t kTimes[] = {kMinInstant, 0, 1721447999, 1721448000, 1727582400, kMaxInstant};
  static const char* kCountries[] = {"US", "PR", "DE", "", "ru"};
  for (const Rule& r : p->rules()) {
    if (r.end && *r.end <= r.effective) std::abort();
    if (r.countries.empty() || r.actions.empty() || r.message.empty()) std::abort();
    (void)FormatDate(r.effective, r.effective_offset_minutes);
    // Every rule decides somewhere: at its own start, for its own country.
    const Decision d = p->Decide(r.actions[0], {*r.countries.begin()}, r.effective);
    if (!d.rule || (r.deny && d.allowed)) std::abort();
  }
  for (int64_t t : kTimes)
    for (const char* c : kCountries)
      for (Action a : {Action::kSell, Action::kActivate, Action::kUpdate, Action::kDownload}) {
        const Decision d = p->Decide(a, {c, "DE"}, t);
        if (!d.allowed && (!d.rule || !d.rule->deny)) std::abort();
        if (d.rule && !d.rule->AppliesAt(t)) std::abort();
      }
  return 0;
}
