// A small inflater for raw deflate streams, with the Deflate64 variant
// ("enhanced deflate", zip method 9: a 64 KiB window, length code 285 with
// 16 extra bits, distance codes 30 and 31) that zlib and libarchive lack.
// Output goes to a MemberBuffer, so a bomb stops at the member limit.
#pragma once

#include <string_view>

#include "unpack/unpack.h"

namespace vigil::unpack {

enum class InflateResult : uint8_t {
  kDone,       // the final block ended
  kTruncated,  // the input ended first (what was decoded is in `out`)
  kCorrupt,    // invalid codes (what was decoded before is in `out`)
  kOverLimit,  // the output passed the member limit (`*hit` says which)
};

InflateResult Inflate(std::string_view in, bool deflate64, MemberBuffer* out, LimitHit* hit);

}  // namespace vigil::unpack
