#include "unpack/budget.h"

#include <algorithm>

namespace vigil::unpack {

std::string_view HeuristicName(LimitHit hit) {
  switch (hit) {
    case LimitHit::kNone: return "";
    case LimitHit::kFileSize: return "Heuristics.Limits.Exceeded.MaxFileSize";
    case LimitHit::kScanSize: return "Heuristics.Limits.Exceeded.MaxScanSize";
    case LimitHit::kFiles: return "Heuristics.Limits.Exceeded.MaxFiles";
    case LimitHit::kRecursion: return "Heuristics.Limits.Exceeded.MaxRecursion";
    case LimitHit::kScanTime: return "Heuristics.Limits.Exceeded.MaxScanTime";
  }
  return "";
}

Budget::Budget(const Limits& limits) : limits_(limits) {
  deadline_ = limits_.max_scantime_ms
                  ? std::chrono::steady_clock::now() + std::chrono::milliseconds(limits_.max_scantime_ms)
                  : std::chrono::steady_clock::time_point::max();
}

LimitHit Budget::Check(uint32_t depth, uint64_t size, bool new_file) const {
  const Limits& l = limits_;
  if (expired_) return LimitHit::kScanTime;
  if (new_file && l.max_files && files_ >= l.max_files) return LimitHit::kFiles;
  if (l.max_recursion && depth > l.max_recursion) return LimitHit::kRecursion;
  if (size != UINT64_MAX) {
    if (l.max_filesize && size > l.max_filesize) return LimitHit::kFileSize;
    if (l.max_scansize && (scanned_ >= l.max_scansize || size > l.max_scansize - scanned_))
      return LimitHit::kScanSize;
  } else if (l.max_scansize && scanned_ >= l.max_scansize) {
    return LimitHit::kScanSize;
  }
  return LimitHit::kNone;
}

LimitHit Budget::Admit(uint32_t depth, uint64_t declared_size) {
  if (exhausted_ != LimitHit::kNone) return exhausted_;
  Expired();
  LimitHit hit = Check(depth, declared_size, /*new_file=*/true);
  if (hit == LimitHit::kFiles || hit == LimitHit::kScanTime) exhausted_ = hit;
  // A member that does not fit the scan size left ends the extraction too:
  // every later member would compete for the same remaining bytes.
  if (hit == LimitHit::kScanSize && limits_.max_scansize && scanned_ >= limits_.max_scansize)
    exhausted_ = hit;
  if (hit == LimitHit::kNone) ++files_;
  return hit;
}

LimitHit Budget::Grow(uint64_t size) const { return Check(0, size, /*new_file=*/false); }

uint64_t Budget::MemberCap() const {
  uint64_t cap = limits_.max_filesize ? limits_.max_filesize : UINT64_MAX;
  if (limits_.max_scansize)
    cap = std::min(cap, scanned_ >= limits_.max_scansize ? 0 : limits_.max_scansize - scanned_);
  return cap;
}

bool Budget::Expired() {
  if (expired_) return true;
  if ((ticks_++ & 63) != 0) return false;
  if (std::chrono::steady_clock::now() >= deadline_) {
    expired_ = true;
    exhausted_ = LimitHit::kScanTime;
  }
  return expired_;
}

}  // namespace vigil::unpack
