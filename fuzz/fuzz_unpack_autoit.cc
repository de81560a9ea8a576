// libFuzzer target: compiled AutoIt programs (lib/unpack/autoit.cc). The
// input is appended to a minimal PE file, so that it is the overlay: the
// subtype GUID, "AU3!EA05" or "AU3!EA06", and the encrypted entries.
// Any input yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::unpack::fuzz::RunOnOverlay(data, size, vigil::unpack::ReadAutoIt);
}
