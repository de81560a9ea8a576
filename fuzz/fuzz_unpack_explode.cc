// libFuzzer target: the implode decoder (lib/unpack/explode.cc). The first
// byte picks the layout (zip flag bits 1 and 2), the rest is the stream.
// Any input stops within the requested size and the member limit; never a crash.
#include <cstdlib>

#include "unpack/explode.h"
#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  vigil::unpack::Limits l;
  l.max_filesize = 1 << 20;
  vigil::unpack::Budget budget(l);
  vigil::unpack::MemberBuffer out(budget);
  vigil::unpack::LimitHit hit = vigil::unpack::LimitHit::kNone;
  const uint16_t flags = data[0] & 6;
  const uint64_t want = 1 << 16;
  (void)vigil::unpack::Explode(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), flags, want, &out,
                               &hit);
  if (out.size() > want + 1) std::abort();
  return 0;
}
