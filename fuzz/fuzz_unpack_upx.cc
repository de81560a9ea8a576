// libFuzzer target: UPX-packed PE files (lib/unpack/upx.cc). The input is
// a method byte (odd: NRV2E, even: NRV2B) and the packed stream, appended to
// the headers of a packed file (UPX0 with no raw data, UPX1 from 0x400, a
// "UPX!" header whose lengths cover any input), so that mutations go to the
// decoders and the rebuild of the original file from the unpacked stream.
// Any input yields members within the member limit, or none; never a crash.
#include <string>

#include "unpack_fuzz.h"

namespace {

std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

std::string PackedHeaders() {
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x0102, 2) + std::string(0xE0, '\0');
  pe += std::string("UPX0\0\0\0\0", 8) + Le(0x2000, 4) + Le(0x1000, 4) + Le(0, 4) + Le(0, 4) + std::string(16, '\0');
  pe += std::string("UPX1\0\0\0\0", 8) + Le(0x1000, 4) + Le(0x3000, 4) + Le(0x100000, 4) + Le(0x400, 4) +
        std::string(16, '\0');
  f.replace(0x80, pe.size(), pe);
  std::string hdr = std::string("UPX!") + '\x0d' + '\x09' + '\x02' + '\x08' + Le(0, 4) + Le(0, 4) +
                    Le(1 << 20, 4) + Le(1 << 20, 4) + Le(1 << 20, 4);
  f.replace(0x3E0, hdr.size(), hdr);
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string headers = PackedHeaders();
  if (size == 0) return 0;
  std::string input = headers + std::string(reinterpret_cast<const char*>(data) + 1, size - 1);
  input[0x3E6] = (data[0] & 1) ? '\x08' : '\x02';
  return vigil::unpack::fuzz::Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(),
                                  [](std::string_view d, vigil::unpack::Context& ctx) {
                                    bool stop = false;
                                    return vigil::unpack::ReadUpx(d, ctx, &stop);
                                  });
}
