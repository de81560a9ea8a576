// libFuzzer target: compiled AutoIt programs (lib/unpack/autoit.cc). The
// input is appended to a minimal PE file, so that it is the overlay: the
// subtype GUID, "AU3!EA05" or "AU3!EA06", and the encrypted entries.
// Any input yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string pe = vigil::unpack::fuzz::MinimalPe();
  std::string input = pe + std::string(reinterpret_cast<const char*>(data), size);
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadAutoIt(d, ctx, &stop);
                                  });
}
