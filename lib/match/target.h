// Which ClamAV target type a buffer belongs to, besides type 0 (any file):
// decided from its leading bytes the way clamscan 1.4.6 does, as observed
// (docs/CLAMAV-COMPAT.md section 15). Signatures of that type apply to the
// buffer's raw bytes; those of other types do not.
#pragma once

#include <cstdint>
#include <string_view>

namespace vigil::match {

// One of sig::kTargetPe, kTargetOle2 (the whole compound file, by its
// 8-byte magic), kTargetGraphics, kTargetElf, kTargetMachO, kTargetPdf,
// kTargetFlash, kTargetJava, kTargetMail (a mail that clamscan types from
// its first bytes, before any signature pass); or kTargetAny (0) when none
// applies.
uint8_t TypedTarget(std::string_view data);

// Mail as clamscan recognises it from the first bytes, in two kinds
// (docs/CLAMAV-COMPAT.md section 15). Early: "Subject: ", "To: ", "Date: "...
// typed before scanning: mail signatures (type 4) report first, and the
// file is not a text file (no target-7 pass). Late: "From ", "From: ",
// "Received: ": scanned first as an untyped text file, then again as mail,
// so its mail signatures report only after everything else.
enum class MailKind : uint8_t { kNone, kEarly, kLate };
MailKind MailStart(std::string_view data);

}  // namespace vigil::match
