// libFuzzer target: the PE layout for EP and section offsets (match/exe.h),
// and the ranges it gives (match/verify.h PinnedRange). Any input is a
// layout or a refusal, and every range lies inside the data; never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "match/exe.h"
#include "match/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  match::ExeLayout layout;
  if (!match::ParsePeLayout(in, &layout)) return 0;
  match::Data d{data, size};
  d.exe = &layout;
  using K = sig::Offset::Kind;
  for (K kind : {K::kEntryPoint, K::kSection, K::kSectionAll, K::kLastSection}) {
    for (int64_t value : {int64_t{-64}, int64_t{0}, int64_t{4096}}) {
      for (uint32_t section : {0u, 1u, 95u}) {
        sig::Offset o;
        o.kind = kind;
        o.value = kind == K::kEntryPoint ? value : (value < 0 ? 0 : value);
        o.section = section;
        o.max_shift = 16;
        size_t lo, hi;
        if (match::PinnedRange(o, d, &lo, &hi) && (lo > hi || hi >= size)) std::abort();
      }
    }
  }
  return 0;
}
