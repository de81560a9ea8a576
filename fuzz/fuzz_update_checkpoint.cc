// libFuzzer target: log checkpoints (C2SP tlog-checkpoint text) and signed
// notes. Any input parses or is an error, never a crash; a parsed
// checkpoint without extensions formats back to its input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "update/merkle.h"
#include "update/note.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::update;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto c = ParseCheckpoint(in);
  if (c.ok() && FormatCheckpoint(c.value()) != in) std::abort();
  std::string_view text, sigs;
  if (SplitNote(in, &text, &sigs)) (void)ParseCheckpoint(text);
  static const NoteVerifier key = [] {
    std::array<uint8_t, 32> seed{1};
    return SignerFromSeed("fuzz/log", seed).value().Verifier();
  }();
  if (OpenNote(in, key).ok()) std::abort();  // nothing here is signed by that key
  return 0;
}
