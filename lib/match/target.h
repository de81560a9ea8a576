// Which ClamAV target type a buffer belongs to, besides type 0 (any file):
// decided from its leading bytes the way clamscan 1.4.6 does, as observed
// (docs/CLAMAV-COMPAT.md section 15). Signatures of that type apply to the
// buffer's raw bytes; those of other types do not.
#pragma once

#include <cstdint>
#include <string_view>

namespace vigil::match {

// One of sig::kTargetPe, kTargetGraphics, kTargetElf, kTargetMachO,
// kTargetPdf, kTargetFlash, kTargetJava; or kTargetAny (0) when none applies.
uint8_t TypedTarget(std::string_view data);

}  // namespace vigil::match
