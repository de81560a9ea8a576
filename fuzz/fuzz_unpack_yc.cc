// libFuzzer target: PE files encrypted by yoda's Crypter (lib/unpack/yc.cc).
// The input is the raw size of an encrypted ".text" section (2 bytes,
// little-endian, at most 0x2000), its raw data, then the raw data of the
// crypter's "yC" section (whose loader is at +0x60, the entry point),
// placed behind fixed PE32 headers, so that mutations go to the variant
// recognition, the two decryptors and the rebuilt headers. Any input
// yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

std::string Headers(uint32_t text_size, uint32_t yc_size) {
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(0x10060, 4));  // the yC section's address + 0x60
  opt.replace(0x38, 4, Le(0x11000, 4));
  opt.replace(0x68, 8, Le(0x10A00, 4) + Le(0x50, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x0102, 2) + opt;
  auto sec = [](const char* name, uint32_t vsize, uint32_t va, uint32_t rsize, uint32_t raw) {
    std::string s(name, 8);
    return s + Le(vsize, 4) + Le(va, 4) + Le(rsize, 4) + Le(raw, 4) + std::string(16, '\0');
  };
  pe += sec(".text\0\0\0", 0x2000, 0x1000, text_size, 0x400);
  pe += sec("yC\0\0\0\0\0\0", 0x1000, 0x10000, yc_size, 0x400 + text_size);
  f.replace(0x80, pe.size(), pe);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint32_t text_size = (data[0] | data[1] << 8) & 0x1FFF;
  if (size - 2 < text_size) return 0;
  const uint32_t yc_size = static_cast<uint32_t>(size - 2 - text_size);
  std::string input = Headers(text_size, yc_size) + std::string(reinterpret_cast<const char*>(data) + 2, size - 2);
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadYc(d, ctx, &stop);
                                  });
}
