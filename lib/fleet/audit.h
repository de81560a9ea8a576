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

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/status.h"

namespace vigil::fleet {

// How far a record must have gone before AuditLog::Append returns.
enum class Durability {
  kSynced,   // Append returns after the record is on disk (fdatasync): purchases/activations
  kWritten,  // Append returns after the record is written (write(2)) to the file, in chain order: it survives a
             // crash of the process; an fdatasync follows within kSyncInterval (10 ms) - update checks
};

// The longest a written record stays without an fdatasync (plus the time of that fdatasync).
inline constexpr std::chrono::milliseconds kSyncInterval{10};

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

  // Appends with group commit: the records queued while a write is under way form the next batch,
  // which one of their callers chains and write()s at once (a lone caller writes its own record,
  // with no thread hand-off); a separate syncer thread fdatasync()s. Writers never wait for the
  // syncer, so writing the next batch overlaps syncing the previous ones.
  //   kSynced:  returns once an fdatasync that began after the record was written has succeeded.
  //   kWritten: returns once the record is written to the file (readable by ReadAudit, kept by a
  //             crash of this process); the syncer fdatasyncs it within kSyncInterval.
  // seq, prev_hash and hash of `r` are ignored (the log sets them); outcome must be "allow" or "deny".
  // A failed write is rolled back (ftruncate) and fails its batch. After a failed fdatasync (or a
  // rollback that failed) the log is broken for good: the kSynced callers waiting fail, and every
  // later Append fails (the file's state is unknown).
  Status Append(AuditRecord r, Durability d = Durability::kSynced);

  // The last record written (0 and "0"x64 for an empty log).
  int64_t last_seq() const;
  std::string last_hash() const;
  // Bytes of the file known to be on disk (fdatasync'ed); the file holds more while a sync is due.
  uint64_t synced_size() const;

  ~AuditLog();  // drains the queue, writes it, fdatasyncs, then returns
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

 private:
  struct Pending;  // a record serialised by its caller
  struct Group;    // the callers of one batch that wait for the same event (written, or synced)
  struct Batch;    // records taken and written together, with their callers' groups
  AuditLog();
  void WriteFront(std::unique_lock<std::mutex>& l);            // needs mu_, !writing_, a queued batch
  void WriteBatch(Batch& b, std::unique_lock<std::mutex>& l);   // releases mu_ during the write
  void SyncerLoop();
  void Release(const std::shared_ptr<Group>& g, const Status& st);  // needs mu_
  void FailSyncWaiters();                                            // needs mu_

  // Set by Open before the threads start, then read-only.
  std::string path_;
  int fd_ = -1;

  // mu_ guards every member below it. Nothing does I/O while holding it: the writing caller chains
  // and write()s, and the syncer fdatasync()s, with mu_ released.
  mutable std::mutex mu_;
  std::condition_variable drained_cv_;  // the destructor waits: no write under way
  std::condition_variable sync_cv_;  // syncer waits: something to sync, or writer_done_
  std::deque<Batch> queue_;          // not yet being written, in append order
  bool writing_ = false;             // a caller is writing a batch (one at a time: the chain is serial)
  std::deque<std::shared_ptr<Group>> sync_waiting_;  // kSynced groups written, in file order (Group::end)
  int64_t seq_ = 0;                  // last written
  std::string hash_;                 // last written
  uint64_t written_ = 0;             // bytes of complete records in the file (changed by the writer only)
  uint64_t synced_ = 0;              // prefix of the file known to be on disk (changed by the syncer only)
  std::chrono::steady_clock::time_point dirty_since_;  // when synced_ < written_: the oldest unsynced write (or earlier)
  Status broken_;                    // sticky after a failed fdatasync or a failed rollback
  bool stop_ = false;                // the destructor began: Append refuses, the queue is drained
  bool writer_done_ = false;         // nothing more will be written: the syncer syncs what is left and exits

  std::thread syncer_;
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
