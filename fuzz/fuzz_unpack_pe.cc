// libFuzzer target: executables and ZIP archives found inside executables
// (lib/unpack/pe.cc). Any input yields members within the member limit, or
// none; never a crash.
#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::unpack::fuzz::Run(data, size, [](std::string_view d, vigil::unpack::Context& ctx) {
    vigil::Status st = vigil::unpack::ReadSfxZip(d, ctx);
    if (!st.ok()) return st;
    return vigil::unpack::ReadEmbeddedPe(d, ctx);
  });
}
