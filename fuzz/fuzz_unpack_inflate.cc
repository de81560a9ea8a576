// libFuzzer target: our inflater (lib/unpack/inflate.cc), both variants —
// plain deflate and Deflate64 — on any bytes. The output never passes the
// member limit; never a crash or an out-of-window copy.
#include <cstdlib>

#include "unpack/inflate.h"
#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::unpack;
  Limits l;
  l.max_filesize = fuzz::kMaxMember;
  Budget b(l);
  for (bool d64 : {false, true}) {
    MemberBuffer out(b);
    LimitHit hit = LimitHit::kNone;
    Inflate(std::string_view(reinterpret_cast<const char*>(data), size), d64, &out, &hit);
    if (out.size() > fuzz::kMaxMember + 1) std::abort();
  }
  return 0;
}
