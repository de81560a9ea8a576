// The append-only audit log of every policy decision (allow and deny): a
// JSON-lines file whose records form a SHA-256 hash chain, so that editing,
// removing or reordering a line is detected when the log is read.
//
// Line format: the canonical JSON of the record (nlohmann dump: keys sorted,
// no spaces, ASCII only with \u escapes, invalid UTF-8 replaced by U+FFFD),
// then '\n'. Keys: action, endpoint, hash, inputs, outcome, prev_hash, reason,
// request_id, rule, seq, time.
//   hash = hex SHA-256(prev_hash || canonical JSON of the record without "hash")
// The first record has seq 1 and prev_hash "0" x 64. Removing the last lines
// cannot be detected from the file alone: compare its last seq/hash with a
// copy kept elsewhere for that.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/status.h"

namespace vigil::fleet {

template <typename T>
class GroupCommit;

struct AuditRecord {
  int64_t seq = 0;                  // assigned by the log: 1, 2, ...
  int64_t time = 0;                 // Unix seconds (server clock; tests fix it); 0 = now
  std::string request_id;           // unique per request
  std::string endpoint;             // "activate", "checkin", "manifest", "bundle", ...
  std::string action;               // "sell", "activate", "update", "download"
  std::string outcome;              // "allow" or "deny"
  std::string rule;                 // rule id or ""
  std::string reason;               // e.g. "rule", "denied-party", "default"
  nlohmann::json inputs;            // the inputs: license key, license country, ip, ip country, customer, screening score...
  std::string prev_hash, hash;      // hash chain (hex SHA-256), set by the log
};

class AuditLog {
 public:
  // A JSON-lines file, one record per line, opened for append (O_APPEND), created mode 0640.
  // On open, verifies the existing chain's tail (last two records) and continues it.
  // The file is locked (flock) against a second writer process.
  //
  // A torn last line (a crash in the middle of a write: bytes after the last
  // '\n' that start like a record, or are NUL bytes) was never acknowledged to
  // anyone, so it is truncated away; *warning (when given) then says so and
  // how many bytes went. Anything else after the last newline is Corruption.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path, std::string* warning = nullptr);

  // Appends with group commit: concurrent callers are batched, written and fdatasync'ed together
  // by one writer thread; returns after its record is durable. seq, prev_hash and hash of `r`
  // are ignored (the log sets them); outcome must be "allow" or "deny".
  // After a failed fdatasync every later Append fails (the file's state is unknown).
  Status Append(AuditRecord r);

  // The last record written (0 and "0"x64 for an empty log).
  int64_t last_seq() const;
  std::string last_hash() const;

  ~AuditLog();  // flushes
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

 private:
  struct Pending;
  AuditLog() = default;
  Status Flush(std::vector<Pending>& batch);

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;           // bytes of complete records in the file
  int64_t seq_ = 0;             // last written
  std::string hash_;            // last written
  Status broken_;               // sticky after a failed fdatasync
  mutable std::mutex mu_;      // guards seq_ and hash_ for the accessors
  std::unique_ptr<GroupCommit<Pending>> writer_;
};

struct AuditQuery {
  std::optional<int64_t> since, until;  // inclusive bounds on time
  std::string outcome, rule, action, endpoint;  // exact match when not empty
  std::string country;  // any inputs key "country" or "*_country" (any depth), case-insensitive
  std::string license;  // inputs key "license" or "license_key" (any depth)
  size_t limit = 0;     // > 0: only the last `limit` matches (still in seq order)
};

// Reads the file, verifying the whole chain (a modified, removed or reordered line is a Corruption
// error naming the line), and returns the records matching q (country matches any country in inputs).
// An incomplete last line (no '\n': being written right now, or torn by a crash) is not returned;
// *warning (when given) says it was ignored.
Result<std::vector<AuditRecord>> ReadAudit(const std::string& path, const AuditQuery& q,
                                           std::string* warning = nullptr);

}  // namespace vigil::fleet
