// libFuzzer target: InstallShield setups (lib/unpack/installshield.cc). The
// input is appended to a minimal PE file, so that it is the overlay: file
// entries and the cabinet headers and volumes among them.
// Any input yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::unpack::fuzz::RunOnOverlay(data, size, vigil::unpack::ReadInstallShieldOverlay);
}
