// libFuzzer target: SIS packages (lib/unpack/sis.cc).
// Any input yields members within the member limit, or none; never a crash.
#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::unpack::fuzz::Run(data, size, [](std::string_view d, vigil::unpack::Context& ctx) {
    return vigil::unpack::ReadSis(d, ctx);
  });
}
