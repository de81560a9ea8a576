// libFuzzer target: hash databases and allow/ignore lists
// (signatures/clamav/hash_db.cc). The first byte picks the format; the rest
// is the file's text. Any text loads or is an error naming its line, never a
// crash; nothing is half-loaded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signatures/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  if (size == 0) return 0;
  static const char* const kNames[] = {"fuzz.hdb", "fuzz.hsb", "fuzz.fp", "fuzz.sfp", "fuzz.ign2", "fuzz.ign"};
  const std::string name = kNames[data[0] % 6];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  sig::SignatureSet set;
  Status st = sig::LoadDatabaseText(name, in, /*official=*/(data[0] & 0x80) != 0, &set);
  if (!st.ok()) {
    if (st.message().rfind(name + ":", 0) != 0) std::abort();
    if (set.known != 0 || !set.names.empty() || !set.ignored.empty()) std::abort();
    return 0;
  }
  if (set.known != set.hashes.size() + set.allow.size()) std::abort();
  for (const auto* v : {&set.hashes, &set.allow})
    for (const auto& h : *v)
      if (h.name >= set.names.size() || static_cast<unsigned>(h.kind) > 2) std::abort();
  sig::ApplyIgnores(&set);
  return 0;
}
