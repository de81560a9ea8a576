// libFuzzer target: PESpin-protected PE files (lib/unpack/pespin.cc). The
// first byte picks the layout: odd, the rest is a whole file (seeded with
// clamav-testfiles' clam-pespin.exe, so mutations reach its headers,
// sections and loader); even, the rest is the raw size of a ".text"
// section (2 bytes, little-endian, at most 0x1FFF), its raw data, then the
// raw data of the loader's section (entry point at its start), behind fixed
// PE32 headers, so that mutations go to the loader's ciphers, the
// polymorphic decryptors and the aPLib decoder. Any input yields members
// within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

std::string Headers(uint32_t text_size, uint32_t loader_size) {
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(0x10000, 4));  // the loader's section
  opt.replace(28, 4, Le(0x400000, 4));
  opt.replace(0x38, 4, Le(0x14000, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x0102, 2) + opt;
  auto sec = [](const char* name, uint32_t vsize, uint32_t va, uint32_t rsize, uint32_t raw) {
    std::string s(name, 8);
    return s + Le(vsize, 4) + Le(va, 4) + Le(rsize, 4) + Le(raw, 4) + std::string(16, '\0');
  };
  pe += sec(".text\0\0\0", 0x1000, 0x1000, text_size, 0x400);
  pe += sec("spin\0\0\0\0", 0x4000, 0x10000, loader_size, 0x400 + text_size);
  f.replace(0x80, pe.size(), pe);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!(data[0] & 1)) {
    if (input.size() < 2) return 0;
    const uint32_t text_size = (static_cast<uint8_t>(input[0]) | static_cast<uint8_t>(input[1]) << 8) & 0x1FFF;
    if (input.size() - 2 < text_size) return 0;
    const auto loader_size = static_cast<uint32_t>(input.size() - 2 - text_size);
    input = Headers(text_size, loader_size) + input.substr(2);
  }
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadPespin(d, ctx, &stop);
                                  });
}
