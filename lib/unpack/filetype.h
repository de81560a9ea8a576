// Content type of a buffer, decided from its bytes (magic numbers and
// structure), never from a file name. The type chooses the reader that
// looks inside (lib/unpack/unpack.h).
#pragma once

#include <cstdint>
#include <string_view>

namespace vigil::unpack {

enum class FileType : uint8_t {
  kUnknown,  // no container we know: scanned as bytes only
  // Archives and compressed streams (libarchive).
  kZip, k7z, kRar, kTar, kCpio, kIso9660, kCab, kAr, kXar, kLha,
  kGzip, kBzip2, kXz, kLzma, kZstd,
  // Executables.
  kPe,
  // Documents and mail.
  kOle2, kPdf, kRtf, kHtml, kMail, kBinhex, kTnef,
  // Microsoft compression (libmspack).
  kChm, kSzdd, kKwaj,
  // Installers.
  kSis,
  // Archives without a library.
  kArj,
};

// The type of `data` by its leading bytes (and, for tar and ISO 9660, by
// fixed offsets inside the first 36 KiB).
FileType DetectType(std::string_view data);

// A short stable name ("zip", "pe", ...), used in warnings and tests.
std::string_view TypeName(FileType t);

// Whether a type is read through libarchive (archives and compressed streams).
bool IsLibarchiveType(FileType t);

}  // namespace vigil::unpack
