// Walking paths into files to scan, like clamscan: directories recurse,
// symlinks named on the command line are followed, symlinks met inside a
// directory are not; excludes are regular expressions on the full path.
#pragma once

#include <functional>
#include <regex>
#include <string>
#include <vector>

namespace vigil::walk {

enum class WalkState { kContinue, kQuit };

struct WalkOptions {
  bool recursive = true;
  std::vector<std::regex> exclude;       // files whose path matches are skipped
  std::vector<std::regex> exclude_dir;   // directories whose path matches are skipped
};

struct Entry {
  std::string path;
  enum class Kind { kFile, kError } kind = Kind::kFile;
  std::string error;  // clamscan-style reason when kind == kError
};

struct WalkStats {
  uint64_t directories = 0;
};

// Calls visit for every file to scan and every path that cannot be walked.
WalkState Walk(const std::vector<std::string>& roots, const WalkOptions& options,
               const std::function<WalkState(Entry)>& visit, WalkStats* stats);

}  // namespace vigil::walk
