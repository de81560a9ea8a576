// libFuzzer target: the engine cache payload (compile/cache.h). Any bytes
// deserialise to a db or are rejected, never a crash or an unbounded
// allocation; an accepted db serialises again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "compile/cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto db = compile::DeserializeDb(in);
  if (!db.ok()) return 0;
  auto again = compile::SerializeDb(**db);
  if (!again.ok()) std::abort();
  return 0;
}
