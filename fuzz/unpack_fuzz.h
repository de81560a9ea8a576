// Shared by the lib/unpack/ fuzz targets: a Sink that checks what readers
// hand it (members within the member limit, names not absurdly long) and
// small limits so that each input runs fast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "unpack/unpack.h"

namespace vigil::unpack::fuzz {

constexpr uint64_t kMaxMember = 1 << 20;

// A minimal PE file whose overlay starts at 0x400 (a 512-byte boundary):
// targets of readers that look after a setup program's sections append the
// fuzz input to it.
inline std::string MinimalPe() {
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

class CheckingSink : public Sink {
 public:
  bool Member(std::string_view name, std::string_view data, MemberKind) override {
    if (data.size() > kMaxMember) std::abort();  // the budget must have stopped it
    if (name.size() > (1u << 20)) std::abort();
    volatile unsigned char sum = 0;
    for (char c : data) sum = static_cast<unsigned char>(sum + static_cast<unsigned char>(c));  // touch every byte
    (void)sum;
    return ++members_ < 200;
  }
  void LimitExceeded(LimitHit) override {}
  void Encrypted(std::string_view) override {}
  void Warn(std::string) override {}

 private:
  int members_ = 0;
};

template <typename Reader>
int Run(const uint8_t* data, size_t size, Reader reader) {
  Limits l;
  l.max_filesize = kMaxMember;
  l.max_scansize = 4 * kMaxMember;
  l.max_files = 200;
  l.max_scantime_ms = 5000;
  Budget budget(l);
  CheckingSink sink;
  Context ctx{budget, sink, 1};
  (void)reader(std::string_view(reinterpret_cast<const char*>(data), size), ctx);
  return 0;
}

}  // namespace vigil::unpack::fuzz
