// libFuzzer target: .ndb databases (signatures/clamav/ndb.cc), then the
// compiler (compile/compiled_db.h) on whatever loads. Any text loads or is
// an error naming its line, never a crash; a failed load leaves the set as
// it was.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "compile/compiled_db.h"
#include "signatures/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  sig::SignatureSet set;
  Status st = sig::LoadDatabaseText("fuzz.ndb", in, /*official=*/false, &set);
  if (!st.ok()) {
    if (st.message().rfind("fuzz.ndb:", 0) != 0) std::abort();
    if (set.known != 0 || !set.bodies.empty() || !set.names.empty()) std::abort();
    return 0;
  }
  if (set.known != set.bodies.size()) std::abort();
  for (const auto& b : set.bodies)
    if (b.name >= set.names.size() || b.pattern.elems.empty()) std::abort();
  // Compiling runs Hyperscan, which is slow: only small sets.
  if (set.bodies.size() <= 8) (void)compile::Compile(std::move(set), compile::Strategy::kAnchor);
  return 0;
}
