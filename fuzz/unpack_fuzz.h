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
#include "unpack/unpack_test_util.h"

namespace vigil::unpack::fuzz {

constexpr uint64_t kMaxMember = 1 << 20;

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

// Runs an overlay reader (one with a `stop` flag: NSIS, InstallShield,
// AutoIt, ...) on the input appended to a minimal PE file whose overlay
// starts at 0x400.
template <typename Reader>
int RunOnOverlay(const uint8_t* data, size_t size, Reader reader) {
  static const std::string pe = testing::OverlayPe();
  std::string input = pe + std::string(reinterpret_cast<const char*>(data), size);
  return Run(reinterpret_cast<const uint8_t*>(input.data()), input.size(), [&](std::string_view d, Context& ctx) {
    bool stop = false;
    return reader(d, ctx, &stop);
  });
}

}  // namespace vigil::unpack::fuzz
