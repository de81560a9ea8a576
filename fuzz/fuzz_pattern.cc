// libFuzzer target: the .ndb body-signature syntax (signatures/pattern.h).
// Any input is a pattern or an error, never a crash; an accepted pattern's
// canonical form (FormatPattern) parses back to an equal pattern and is a
// fixed point.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signatures/pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::sig;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = ParsePattern(in);
  if (!p.ok()) {
    if (p.status().message().empty()) std::abort();  // every error has a reason
    return 0;
  }
  (void)p->MinLength();
  (void)p->MaxLength();
  (void)PatternParts(*p);
  (void)CheckLoadLimits(*p, LoadLimits{});
  std::string canon = FormatPattern(*p);
  auto again = ParsePattern(canon);
  if (!again.ok()) {
    std::fprintf(stderr, "canonical form does not parse: '%s': %s\n", canon.c_str(),
                 again.status().message().c_str());
    std::abort();
  }
  if (!(again->elems == p->elems)) {
    std::fprintf(stderr, "canonical form '%s' parses to a different pattern ('%s')\n",
                 canon.c_str(), FormatPattern(*again).c_str());
    std::abort();
  }
  if (FormatPattern(*again) != canon) std::abort();
  return 0;
}
