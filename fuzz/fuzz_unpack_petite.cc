// libFuzzer target: Petite-packed PE files (lib/unpack/petite.cc). The
// first byte picks the layout: odd, the rest is a whole file (seeded with
// clamav-testfiles' clam-petite.exe, so mutations reach its sections and
// the loader trailer); even, the rest is the loader section's bytes from
// its table on (+0x1B8), behind fixed headers of a Petite 2.2 file (a first
// section with no raw data to unpack into, the loader section at 0x11000
// whose entry point is "mov eax, 0x411000"), so that mutations go to the
// table walk, the block moves and the decompressor. Any input yields
// members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

constexpr uint32_t kBase = 0x400000, kLoader = 0x11000, kTable = 0x1B8;

// The headers and the loader section up to its table; the loader section's
// raw size is patched per input.
std::string Headers() {
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x010F, 2);
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(kLoader + 0x10, 4));
  opt.replace(28, 4, Le(kBase, 4));
  pe += opt;
  pe += std::string(8, '\0') + Le(kLoader - 0x1000, 4) + Le(0x1000, 4) + Le(0, 4) + Le(0, 4) + std::string(16, '\0');
  pe += std::string(".petite\0", 8) + Le(0x10000, 4) + Le(kLoader, 4) + Le(0, 4) + Le(0x400, 4) +
        std::string(16, '\0');
  f.replace(0x80, pe.size(), pe);
  std::string sec(kTable, '\0');
  sec[0x10] = '\xB8';
  sec.replace(0x11, 4, Le(kBase + kLoader, 4));
  return f + sec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string headers = Headers();
  if (size == 0) return 0;
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!(data[0] & 1)) {
    input = headers + input;
    const size_t raw_size_at = 0x80 + 24 + 0xE0 + 40 + 16;  // the loader section's raw size
    input.replace(raw_size_at, 4, Le(input.size() - 0x400, 4));
  }
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadPetite(d, ctx, &stop);
                                  });
}
