// libFuzzer target: WWPack32-packed PE files (lib/unpack/wwpack.cc). The
// first byte picks the layout: odd, the rest is a whole file (seeded with
// clamav-testfiles' clam-wwpack.exe); even, the rest is one packed block at
// the start of ".text" (0x1000, 64 KiB), behind fixed headers and a loader
// section (entry code, final jump, one record covering the input), so that
// mutations go to the decompressor. Any input yields members within the
// member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

constexpr uint32_t kLoader = 0x11000;

std::string File(const std::string& block) {
  std::string text = block;
  text.resize((text.size() + 0x1FF) / 0x200 * 0x200, '\0');
  std::string loader(0x400, '\0');
  loader.replace(0, 7, "\x53\x55\x8B\xE8\x33\xDB\xEB");
  loader.replace(0x68, 19,
                 std::string("\xE8\x00\x00\x00\x00\x58\x2D\x6D\x00\x00\x00\x50\x60\x33\xC9\x50\x58\x50\x50", 19));
  loader[0x294] = '\xE9';
  const uint32_t dwords = static_cast<uint32_t>(block.size() / 4);
  loader.replace(0x2A1, 17, Le(kLoader - 0x1000, 4) + Le(0, 4) + Le(dwords, 4) + Le(dwords * 4 - 4, 4) + '\0');
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x010F, 2);
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(kLoader, 4));
  opt.replace(32, 4, Le(0x1000, 4));
  opt.replace(56, 4, Le(kLoader + 0x1000, 4));
  pe += opt;
  pe += std::string(".text\0\0\0", 8) + Le(kLoader - 0x1000, 4) + Le(0x1000, 4) + Le(text.size(), 4) + Le(0x400, 4) +
        std::string(16, '\0');
  pe += std::string(".WWP32\0\0", 8) + Le(0x1000, 4) + Le(kLoader, 4) + Le(loader.size(), 4) +
        Le(0x400 + text.size(), 4) + std::string(16, '\0');
  f.replace(0x80, pe.size(), pe);
  return f + text + loader;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!(data[0] & 1)) {
    if (input.size() > 0xF000) return 0;  // stays inside .text
    input = File(input);
  }
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadWwpack(d, ctx, &stop);
                                  });
}
