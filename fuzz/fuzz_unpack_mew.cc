// libFuzzer target: MEW-packed PE files (lib/unpack/mew.cc). The input is a
// flag byte (bit 0: the loader calls an LZMA stage, whose code is at image
// offset 0) and the loader's record onwards (u32 helpers, u32 entry, u32
// first destination, the aPLib blocks, the LZMA stage), placed at +0x10 of
// the packed section of a fixed MEW file (empty section at 0x1000 of 0x5000
// bytes, packed section at 0x6000 starting with the entry point's jmp to the
// loader at 0x154, image base 0x400000), so that mutations go to the
// decoders and the placement of blocks and streams. Any input yields
// members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

// The headers (0x200 bytes, PE header at 0x0C as MEW writes it) and the
// first 0x10 bytes of the packed section, for a section of `body` bytes.
std::string Headers(size_t body, bool lzma) {
  std::string f(0x200, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x0C, 4, std::string("PE\0\0", 4));
  f.replace(0x10, 2, Le(0x14C, 2));
  f.replace(0x12, 2, Le(2, 2));
  f.replace(0x20, 2, Le(0xE0, 2));
  f.replace(0x24, 2, Le(0x10B, 2));
  f.replace(0x24 + 16, 4, Le(0x6000, 4));     // entry point: the jmp below
  f.replace(0x24 + 28, 4, Le(0x400000, 4));   // image base
  f.replace(0x3C, 4, Le(0x0C, 4));
  std::string secs = std::string("MEW\0\0\0\0\0", 8) + Le(0x5000, 4) + Le(0x1000, 4) + Le(0, 4) + Le(0, 4) +
                     std::string(16, '\0') + std::string(".b\0\0\0\0\0\0", 8) + Le(0x10000, 4) + Le(0x6000, 4) +
                     Le(body, 4) + Le(0x200, 4) + std::string(16, '\0');
  f.replace(0x104, secs.size(), secs);
  f.replace(0x154, 5, '\xBE' + Le(0x406010, 4));  // mov esi, the record
  if (lzma) f.replace(0x154 + 0x7B, 5, '\xE8' + Le(0x1000 - (0x154 + 0x80), 4));
  std::string jmp = '\xE9' + Le(0x154 - (0x6000 + 5), 4);
  return f + jmp + std::string(11, '\0');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string input =
      Headers(16 + size - 1, data[0] & 1) + std::string(reinterpret_cast<const char*>(data) + 1, size - 1);
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadMew(d, ctx, &stop);
                                  });
}
