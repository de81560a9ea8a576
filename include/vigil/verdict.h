// The outcome of scanning one file, kept apart from errors (a file can be
// clean, infected, or not scanned because of an error).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil {

enum class Verdict : uint8_t {
  kClean,     // nothing found
  kInfected,  // at least one signature matched
  kSkipped,   // deliberately not scanned (e.g. above max-filesize); not an error
  kError,     // could not be scanned; see ScanResult::error
};

struct ScanResult {
  Verdict verdict = Verdict::kClean;
  std::vector<std::string> names;  // matched signature names, in report order
  uint64_t size = 0;               // bytes of the file
  uint64_t bytes_scanned = 0;      // bytes actually matched against signatures
  Status error;                    // set when verdict == kError
  std::string error_text;          // clamscan-style short reason for the report line
  bool empty = false;              // zero-length file (clamscan reports "Empty file")
  // Where inside the file each name was found, parallel to `names`: "" for
  // the file itself, else the path through the containers, members joined
  // by "//" ("dir/inner.doc//Macros/VBA/Module1").
  std::vector<std::string> locations;
  std::vector<std::string> warnings;  // truncated or corrupt containers, skipped members
  uint64_t members = 0;               // members scanned inside containers
};

}  // namespace vigil
