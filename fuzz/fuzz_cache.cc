// libFuzzer target: the engine cache payload (compile/cache.h). Any bytes
// deserialise to a db or are rejected, never a crash or an unbounded
// allocation. An accepted db is used as a scan would use it: every body
// signature decoded (or found malformed), names read, hash indexes looked up;
// it serialises again unless a pattern was malformed.
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
  const compile::CompiledDb& d = **db;
  for (size_t i = 0; i < d.bodies.size(); ++i) {
    const sig::BodySig* b = d.bodies.Get(i);
    if (b && b->pattern.elems.empty()) std::abort();
  }
  for (const compile::Group* g : {&d.raw, &d.text})
    for (const auto& a : g->anchors)
      if (const sig::BodySig* b = d.bodies.Get(a.sig)) (void)compile::AnchorFits(*b, a);
  for (size_t i = 0; i < d.names.size(); ++i) (void)d.names[i];
  uint8_t digest[32] = {};
  for (const compile::HashIndex* idx : {&d.hashes, &d.allow})
    for (int64_t s : {int64_t{0}, int64_t{68}, int64_t{1} << 20})
      for (auto k : {sig::HashKind::kMd5, sig::HashKind::kSha1, sig::HashKind::kSha256})
        if (idx->KindsForSize(s))
          idx->Lookup(s, k, digest, [&](uint32_t name) {
            if (name >= d.names.size()) std::abort();
          });
  auto again = compile::SerializeDb(d);
  if (!again.ok() && again.status().code() != StatusCode::kCorruption) std::abort();
  return 0;
}
