// libFuzzer target: ASPack 2.x packed PE files (lib/unpack/aspack.cc). The
// input is the block's unpacked size (2 bytes, little-endian), the call
// filter's mark byte, then the packed stream, placed in the headers and
// loader of an ASPack 2.12 file (".text" holding the stream at 0x1000,
// ".aspack" the loader's data with a one-block table, ".adata"), so that
// mutations go to the table headers, the Huffman decoding, the matches and
// the call filter. Any input yields members within the member limit, or
// none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

constexpr uint32_t kTextRaw = 0x400, kTextSize = 0x10000, kLoaderVa = 0x11000, kLoaderSize = 0x800;

// The file without the stream: headers, then the loader at kTextRaw.
std::string Headers() {
  std::string f(kTextRaw, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(kLoaderVa + 1, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(3, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x0102, 2) + opt;
  auto sec = [](const char* name, uint32_t vsize, uint32_t va, uint32_t rsize, uint32_t raw) {
    std::string s(name);
    s.resize(8, '\0');
    return s + Le(vsize, 4) + Le(va, 4) + Le(rsize, 4) + Le(raw, 4) + std::string(16, '\0');
  };
  pe += sec(".text", kTextSize, 0x1000, kTextSize, kTextRaw + kLoaderSize);
  pe += sec(".aspack", 0x1000, kLoaderVa, kLoaderSize, kTextRaw);
  pe += sec(".adata", 0x1000, kLoaderVa + 0x1000, 0, 0);
  f.replace(0x80, pe.size(), pe);
  std::string loader(kLoaderSize, '\0');
  loader.replace(1, 8, std::string("\x60\xE8\x03\x00\x00\x00\xE9\xEB", 8));
  loader.replace(1 + 0x3B9, 6, std::string("\x68\x00\x00\x00\x00\xC3", 6));
  loader.replace(0x39B, 4, Le(0x1000, 4));
  return f + loader;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string headers = Headers();
  if (size < 3 || size - 3 > kTextSize) return 0;
  std::string input = headers + std::string(reinterpret_cast<const char*>(data) + 3, size - 3);
  const size_t loader = kTextRaw;
  input[loader + 0x148] = static_cast<char>(data[2]);
  input.replace(loader + 0x57C, 8, Le(0x1000, 4) + Le(data[0] | data[1] << 8, 4));
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadAspack(d, ctx, &stop);
                                  });
}
