// PKWARE "implode" (zip method 6), decoded from the description in PKWARE's
// APPNOTE (section 5.3): a sliding dictionary of 4 or 8 KiB and two or three
// Shannon-Fano trees (literals when present, lengths, distances), read
// least significant bit first. Output goes to a MemberBuffer, so a bomb
// stops at the member limit.
#pragma once

#include <cstdint>
#include <string_view>

#include "unpack/inflate.h"
#include "unpack/unpack.h"

namespace vigil::unpack {

// `flags` is the zip general purpose bit flag: bit 1 an 8 KiB dictionary,
// bit 2 a literal tree. Decodes until `size` bytes are out.
InflateResult Explode(std::string_view in, uint16_t flags, uint64_t size, MemberBuffer* out, LimitHit* hit);

}  // namespace vigil::unpack
