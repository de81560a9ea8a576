// libFuzzer target: ARJ archives (lib/unpack/arj.cc), headers and the
// method 1-4 decoders.
// Any input yields members within the member limit, or none; never a crash.
#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::unpack::fuzz::Run(data, size, [](std::string_view d, vigil::unpack::Context& ctx) {
    return vigil::unpack::ReadArj(d, ctx);
  });
}
