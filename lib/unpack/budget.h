// The limits on looking inside one scanned file, in one place (habit 11).
//
// A Budget is made for each top-level file. Every reader asks it before it
// extracts a member (Admit), while it streams a member's bytes (Grow), and
// between slow steps (Expired). All of them funnel into Check(), so that the
// rules — clamscan's --max-filesize, --max-scansize, --max-files,
// --max-recursion and --max-scantime — are written once.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace vigil::unpack {

// clamscan's options and their defaults. 0 means "no limit" for each.
struct Limits {
  uint64_t max_filesize = 100ull << 20;   // bytes of one file (or extracted member)
  uint64_t max_scansize = 400ull << 20;   // bytes scanned for one top-level file, all members
  uint64_t max_files = 10000;             // members extracted from one top-level file
  uint32_t max_recursion = 17;            // container nesting depth
  uint32_t max_scantime_ms = 120000;      // wall time for one top-level file
};

// Which limit was hit; kNone when within all of them.
enum class LimitHit : uint8_t { kNone, kFileSize, kScanSize, kFiles, kRecursion, kScanTime };

// clamscan's detection name for a hit limit ("Heuristics.Limits.Exceeded.MaxFileSize").
std::string_view HeuristicName(LimitHit hit);

class Budget {
 public:
  explicit Budget(const Limits& limits);

  // Before extracting a member that will be scanned at `depth` (the
  // top-level file is depth 0). `declared_size` is the size the container
  // claims, or UINT64_MAX when unknown. Counts the member towards
  // max-files when admitted.
  LimitHit Admit(uint32_t depth, uint64_t declared_size);

  // While streaming a member: may it grow to `size` bytes? A member is
  // skipped once it exceeds max-filesize or what remains of max-scansize.
  LimitHit Grow(uint64_t size) const;
  // The most bytes a member may have now (UINT64_MAX when unlimited): the
  // largest size for which Grow() says kNone.
  uint64_t MemberCap() const;

  // Records bytes that were scanned (counted against max-scansize).
  void Charge(uint64_t bytes) { scanned_ += bytes; }

  // Whether the time limit has passed. Cheap: reads the clock only every
  // 64th call (a heartbeat, so hot loops may call it freely).
  bool Expired();

  // Once a global limit (scan size, files, time) is hit, nothing more is
  // extracted from this top-level file.
  bool exhausted() const { return exhausted_ != LimitHit::kNone; }
  LimitHit exhausted_by() const { return exhausted_; }

  const Limits& limits() const { return limits_; }
  uint64_t files() const { return files_; }
  uint64_t scanned() const { return scanned_; }

 private:
  // The one place where limits are compared.
  LimitHit Check(uint32_t depth, uint64_t size, bool new_file) const;

  Limits limits_;
  std::chrono::steady_clock::time_point deadline_;
  uint64_t files_ = 0;
  uint64_t scanned_ = 0;
  uint32_t ticks_ = 0;
  bool expired_ = false;
  LimitHit exhausted_ = LimitHit::kNone;
};

}  // namespace vigil::unpack
