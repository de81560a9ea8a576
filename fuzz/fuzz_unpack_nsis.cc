// libFuzzer target: NSIS installers (lib/unpack/nsis.cc). The input is
// appended to a minimal PE file whose overlay starts at 0x400, a 512-byte
// boundary: it is the first header and the data.
// Any input yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string MinimalPe() {
  std::string s(0x400, '\0');
  s[0] = 'M';
  s[1] = 'Z';
  s[0x3C] = 0x40;
  s.replace(0x40, 4, std::string("PE\0\0", 4));
  s[0x46] = 1;          // one section
  s[0x58 + 17] = 0x02;  // raw size 0x200
  s[0x58 + 21] = 0x02;  // raw pointer 0x200
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string pe = MinimalPe();
  std::string input = pe + std::string(reinterpret_cast<const char*>(data), size);
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadNsis(d, ctx, &stop);
                                  });
}
