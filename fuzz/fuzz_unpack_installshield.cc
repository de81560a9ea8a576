// libFuzzer target: InstallShield setups (lib/unpack/installshield.cc). The
// input is appended to a minimal PE file, so that it is the overlay: file
// entries and the cabinet headers and volumes among them.
// Any input yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string pe = vigil::unpack::fuzz::MinimalPe();
  std::string input = pe + std::string(reinterpret_cast<const char*>(data), size);
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadInstallShieldOverlay(d, ctx, &stop);
                                  });
}
