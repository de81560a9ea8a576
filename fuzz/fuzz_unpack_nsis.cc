// libFuzzer target: NSIS installers (lib/unpack/nsis.cc). The input is
// appended to a minimal PE file whose overlay starts at 0x400, a 512-byte
// boundary: it is the first header and the data.
// Any input yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::unpack::fuzz::RunOnOverlay(data, size, vigil::unpack::ReadNsis);
}
