// Seed generator for fuzz_cache (not a fuzz target): loads the database
// files named on the command line, compiles them and writes the serialised
// engine to OUT. Used by fuzz/make_seeds.sh.
//   make_cache_seed OUT DB...
#include <cstdio>
#include <fstream>

#include "compile/cache.h"
#include "signatures/loader.h"

int main(int argc, char** argv) {
  using namespace vigil;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT [DB...]\n", argv[0]);
    return 2;
  }
  sig::SignatureSet set;
  for (int i = 2; i < argc; ++i) {
    Status st = sig::LoadDatabase(argv[i], &set);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      return 1;
    }
  }
  sig::ApplyIgnores(&set);
  auto db = compile::Compile(std::move(set), compile::Strategy::kAnchor);
  if (!db.ok()) {
    std::fprintf(stderr, "%s\n", db.status().message().c_str());
    return 1;
  }
  auto bytes = compile::SerializeDb(**db);
  if (!bytes.ok()) {
    std::fprintf(stderr, "%s\n", bytes.status().message().c_str());
    return 1;
  }
  std::ofstream(argv[1], std::ios::binary) << *bytes;
  return 0;
}
