// libFuzzer target: release manifests (lib/update/manifest.h) and the signed
// note around them. Any input parses or is an error, never a crash; what
// parses formats back to exactly the input (the format is canonical).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "update/manifest.h"
#include "update/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::update;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto m = ParseManifest(in);
  if (m.ok() && FormatManifest(m.value()) != in) std::abort();
  // The same bytes as a signed note: a fixed key never verifies random input.
  static const NoteVerifier key = [] {
    std::array<uint8_t, 32> seed{};
    return SignerFromSeed("fuzz/release", seed).value().Verifier();
  }();
  (void)OpenNote(in, key);
  (void)ParseVerifierKey(in);
  (void)ParseSignerKey(in);
  return 0;
}
