// Scanning what a file contains: the glue between the engine's per-buffer
// matching (engine.cc) and the container readers (lib/unpack/).
#pragma once

#include <string_view>

#include "vigil/engine.h"

namespace vigil::engine {

// What the container walk needs from a Scanner: one buffer's own passes
// (body signatures, hashes, text), and the allow-list.
class LayerScanner {
 public:
  virtual ~LayerScanner() = default;
  // Scans one buffer as a file of its own, without looking inside it.
  virtual ScanResult ScanLayer(std::string_view data, const ScanOptions& options) = 0;
  // The pass clamscan makes over a mail it recognises late (from its
  // first header, after the raw and text passes and after its parts):
  // type-4 signatures only. Clean for anything else.
  virtual ScanResult ScanLateMail(std::string_view data, const ScanOptions& options) = 0;
  // Whether the buffer's hash is on the allow-list (.fp/.sfp).
  virtual bool AllowListed(std::string_view data) = 0;
};

// After the top-level file's own passes (`res` holds them): unless that was
// a final detection, looks inside `data`, scans each member as a file of its
// own at depth + 1, and adds member detections (with their locations),
// heuristic findings, warnings and scanned bytes to `res`.
void ScanContainers(LayerScanner& scanner, std::string_view data, const ScanOptions& options,
                    ScanResult* res);

// Whether clamscan looks inside `data` before scanning its own bytes: OLE2
// compound files (docs/CLAMAV-COMPAT.md section 15).
bool InsideFirst(std::string_view data);

// A top-level file of `size` bytes that is over --max-filesize or
// --max-scansize is not scanned at all: fills `res` (skipped, or with
// --alert-exceeds-max the Heuristics.Limits.Exceeded name) and returns true.
bool SkipTooLarge(uint64_t size, const ScanOptions& options, ScanResult* res);

}  // namespace vigil::engine
