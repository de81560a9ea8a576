// libFuzzer target: Upack-packed PE files (lib/unpack/upack.cc). The first
// byte chooses what the rest is. Odd: a whole file, so that mutations reach
// the headers and the loader's jump chain (seed: clamav-testfiles'
// clam-upack.exe). Even: a shift byte (8 - lc), a call count byte and the
// LZMA data, behind the headers and loader of a fixed Upack 0.39 file (its
// layout as in lib/unpack/upack_test.cc; output 0x3000 bytes), so that
// mutations go to the decoder and the call fix-up. Any input yields members
// within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

void Put(std::string* f, size_t at, const std::string& bytes) { f->replace(at, bytes.size(), bytes); }

std::string Headers(size_t data_size, uint8_t shift, uint8_t calls) {
  const uint32_t va = 0x401000;
  std::string f(0x400, '\0');
  Put(&f, 0, "MZ");
  Put(&f, 0x3C, Le(0x40, 4));
  Put(&f, 0x40, std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(3, 2));
  Put(&f, 0x40 + 20, Le(0x148, 2));
  Put(&f, 0x40 + 24, Le(0x10B, 2));
  Put(&f, 0x40 + 24 + 16, Le(0x1220, 4));
  Put(&f, 0x40 + 24 + 28, Le(0x400000, 4));
  const size_t table = 0x40 + 24 + 0x148;
  Put(&f, table, std::string(8, 'a') + Le(0x4000, 4) + Le(0x1000, 4) + Le(0x400, 4) + Le(0, 4) + std::string(16, '\0'));
  Put(&f, table + 40,
      std::string(8, 'b') + Le(0x4000, 4) + Le(0x5000, 4) + Le(data_size, 4) + Le(0x400, 4) + std::string(16, '\0'));
  Put(&f, table + 80,
      std::string(8, 'c') + Le(0x1000, 4) + Le(0x9000, 4) + Le(0x400, 4) + Le(0, 4) + std::string(16, '\0'));
  Put(&f, 0x220, '\xBE' + Le(va + 0x300, 4) + "\xAD\x50");
  Put(&f, 0x22A, std::string("\xEB\x10", 2));
  const size_t loader = 0x23C;
  Put(&f, loader + 7, '\xBE' + Le(va + 0x320, 4));
  Put(&f, loader + 0x1A, std::string("\xEB\x00", 2));
  Put(&f, loader + 0x26, "\xB5\x1C");
  Put(&f, loader + 0x2F, '\xE9' + Le(0x280 - loader - 0x34, 4));
  Put(&f, 0x280 + 24, std::string("\xC1\xED", 2) + static_cast<char>(shift));
  Put(&f, 0x280 + 42, std::string("\xE3\x00", 2));
  Put(&f, 0x2AC + 8, '\xE9' + Le(0x2E0 - 0x2AC - 40, 4));
  f[0x2E0] = '\x77';
  Put(&f, 0x300, Le(va + 0x10, 4) + Le(0, 4) + Le(va, 4));
  Put(&f, 0x320 + 0x98, Le(va + 0x4000, 4));
  Put(&f, 0x320 + 0x9C + 4, Le(calls, 4));
  Put(&f, 0x320 + 0x9C + 0xC, Le(va, 4));
  Put(&f, 0x320 + 0x9C + 0x34, Le(va + 0x3000, 4));
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string input;
  if (data[0] & 1) {
    input.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  } else {
    if (size < 3) return 0;
    input = Headers(size - 3, data[1], data[2]) + std::string(reinterpret_cast<const char*>(data) + 3, size - 3);
  }
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadUpack(d, ctx, &stop);
                                  });
}
