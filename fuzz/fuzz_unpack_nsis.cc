// libFuzzer target: NSIS installers (lib/unpack/nsis.cc). The input is
// appended to a minimal PE file whose overlay starts at 0x400, a 512-byte
// boundary: it is the first header and the data.
// Any input yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string pe = vigil::unpack::fuzz::MinimalPe();
  std::string input = pe + std::string(reinterpret_cast<const char*>(data), size);
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadNsis(d, ctx, &stop);
                                  });
}
