// Walking paths into files to scan, like clamscan: directories recurse,
// symlinks named on the command line are followed, symlinks met inside a
// directory are reported and not followed; excludes are regular expressions
// (--exclude on the absolute file path, --exclude-dir on the path as walked).
#pragma once

#include <functional>
#include <regex>
#include <string>
#include <vector>

namespace vigil::walk {

enum class WalkState { kContinue, kQuit };

struct WalkOptions {
  bool recursive = true;
  std::vector<std::regex> exclude;       // files whose absolute path matches are skipped
  std::vector<std::regex> exclude_dir;   // directories whose walked path matches are skipped
};

struct Entry {
  enum class Kind {
    kFile,     // a regular file to scan
    kNote,     // "PATH: message" on stdout, not an error (Symbolic link, Excluded)
    kError,    // "PATH: message" on stdout, counted as an error (Can't open directory.)
    kWarning,  // "WARNING: PATH: message" on stderr; exit code 2 (Not supported file type)
    kMissing,  // a command-line path that does not exist
  };
  std::string path;
  Kind kind = Kind::kFile;
  std::string message;
};

struct WalkStats {
  uint64_t directories = 0;
};

// Calls visit for every file to scan and every path worth a line of output.
WalkState Walk(const std::vector<std::string>& roots, const WalkOptions& options,
               const std::function<WalkState(Entry)>& visit, WalkStats* stats);

}  // namespace vigil::walk
