// The vault index: one SQLite database (WAL mode) with a row per entry.
//
// Thread safety: an Index may be used from several threads (calls are
// serialised inside). Several processes may use the same index at once:
// writes are single IMMEDIATE transactions and wait (busy timeout) for one
// another, so the index stays consistent. Schema: docs/formats/vault.md.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vigil/status.h"

struct sqlite3;

namespace vigil::quarantine {

inline constexpr int kIndexSchemaVersion = 1;

// Everything recorded about one quarantined file.
struct Entry {
  std::string id;
  std::string path;        // absolute path the file had (bytes, any encoding)
  std::string given_path;  // the path as the scan named it
  uint32_t uid = 0, gid = 0;
  std::string owner, group;  // names at quarantine time ("" when unknown)
  uint32_t mode = 0;         // st_mode (type and permission bits)
  int64_t atime_sec = 0, atime_nsec = 0, mtime_sec = 0, mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, value
  uint64_t size = 0;
  std::string sha256;                   // hex, of the original bytes
  std::vector<std::string> detections;  // every signature name
  int64_t quarantined_at = 0;           // Unix seconds
  std::string db_version;               // the signature databases' version
  std::string host;                     // host name
  std::string vigil_version;
};

class Index {
 public:
  // Opens or creates the index (mode 0600) and its schema.
  static Result<std::unique_ptr<Index>> Open(const std::string& path);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  Status Insert(const Entry& e);
  // NotFound when there is no such row.
  Status Remove(const std::string& id);
  Result<std::optional<Entry>> Get(const std::string& id);
  // Every entry, oldest first.
  Result<std::vector<Entry>> List();
  // Ids starting with `prefix` (lowercase hex), for short ids on the command line.
  Result<std::vector<std::string>> IdsWithPrefix(const std::string& prefix);
  Result<bool> Has(const std::string& id);

 private:
  explicit Index(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  sqlite3* db_;
  std::mutex mu_;
};

}  // namespace vigil::quarantine
