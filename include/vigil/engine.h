// Vigil's scanning engine: public API.
//
// An Engine is built once from signature databases, is immutable, and is
// shared by any number of threads. Each thread scans through its own
// Scanner, which owns the per-thread matching scratch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"
#include "vigil/verdict.h"

namespace vigil {

struct EngineOptions {
  // Directory for the compiled-engine cache; empty disables the cache.
  std::string cache_dir;
};

struct ScanOptions {
  bool all_match = false;                    // report every matching signature
  uint64_t max_filesize = 100ull << 20;      // larger files are skipped (clamscan's default)
  // Looking inside containers (lib/unpack/), with clamscan's limits and
  // defaults; 0 means no limit. Limits apply per top-level file.
  uint64_t max_scansize = 400ull << 20;      // bytes scanned in all members together
  uint64_t max_files = 10000;                // members extracted
  uint32_t max_recursion = 17;               // container nesting depth
  uint32_t max_scantime_ms = 120000;         // wall time
  bool scan_archive = true;                  // archives and compressed streams (libarchive)
  bool alert_exceeds_max = false;            // report Heuristics.Limits.Exceeded.* instead of skipping
  bool alert_encrypted = false;              // report Heuristics.Encrypted.* for encrypted members
};

class Engine;

// Loads and compiles signatures from files and/or directories.
Result<std::shared_ptr<const Engine>> LoadEngine(const std::vector<std::string>& db_paths,
                                                 const EngineOptions& options);

// Loads and compiles one database held in memory; `file_name` selects the
// format by its extension. Its signatures count as official (no
// ".UNOFFICIAL" suffix): used for the database built into vigil.
Result<std::shared_ptr<const Engine>> LoadEngineFromText(std::string_view file_name,
                                                         std::string_view text);

// Facts about a loaded engine.
struct EngineInfo {
  uint64_t known_signatures = 0;     // as clamscan's "Known viruses"
  uint64_t hash_signatures = 0;
  uint64_t body_signatures = 0;
  uint64_t allow_entries = 0;
  std::vector<std::string> warnings; // skipped databases, unevaluable signatures
  bool from_cache = false;
  double load_seconds = 0;
};
const EngineInfo& GetEngineInfo(const Engine& engine);

// Per-thread scanner. Not thread-safe; cheap to create once per worker.
class Scanner {
 public:
  explicit Scanner(std::shared_ptr<const Engine> engine);
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // Scans the file at `path` (symlinks are followed; the walker decides
  // which paths reach here). Only regular files are scanned.
  ScanResult ScanFile(const std::string& path, const ScanOptions& options);
  // Scans an open descriptor: a regular file is scanned whole from offset 0
  // whatever its current offset; a stream (stdin, a pipe) from where it is.
  ScanResult ScanFd(int fd, const ScanOptions& options);
  // Scans bytes in memory.
  ScanResult ScanBuffer(std::string_view data, const ScanOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
