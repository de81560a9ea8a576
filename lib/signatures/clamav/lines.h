// Line splitting shared by the text database parsers.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "signatures/loader.h"

namespace vigil::sig::internal {

// Calls fn(line, line_number) for every line that is not a '#' comment;
// a trailing CR is stripped. A blank line is an error, as clamscan treats it
// (a final newline does not make one). Stops at the first error, which is
// prefixed with "FILE:LINE: ".
template <typename Fn>
Status ForEachLine(std::string_view text, const DbSource& src, Fn&& fn) {
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == text.npos ? text.npos : nl - pos);
    pos = nl == text.npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && line.front() == '#') continue;
    Status st = line.empty() ? Status::Corruption("empty line") : fn(line, line_no);
    if (!st.ok()) {
      return Status::Corruption(src.name + ":" + std::to_string(line_no) + ": " + st.message());
    }
  }
  return Status::Ok();
}

// Fields of a line split at `sep`: at most kMaxFields are kept, size()
// tells how many there were (so "too many fields" is still detectable).
// No allocation: loaders split hundreds of thousands of lines.
class Fields {
 public:
  static constexpr size_t kMaxFields = 16;
  Fields(std::string_view s, char sep) {
    size_t start = 0;
    while (true) {
      size_t p = s.find(sep, start);
      if (n_ < kMaxFields) f_[n_] = s.substr(start, p == s.npos ? s.npos : p - start);
      ++n_;
      if (p == s.npos) break;
      start = p + 1;
    }
  }
  size_t size() const { return n_; }
  std::string_view operator[](size_t i) const { return i < kMaxFields ? f_[i] : std::string_view(); }

 private:
  std::string_view f_[kMaxFields];
  size_t n_ = 0;
};

inline Fields Split(std::string_view s, char sep) { return Fields(s, sep); }

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// The optional minimum functionality level at f[first] (0 when absent or
// not a number: clamscan ignores a non-numeric level).
inline int MinFlevel(const Fields& f, size_t first) {
  int lo = 0;
  if (f.size() > first && !ParseNumber(f[first], &lo)) lo = 0;
  return lo;
}

// Whether the optional min/max functionality-level fields f[first],
// f[first+1] admit this engine. Non-numeric fields are ignored, as clamscan
// ignores them; a signature that does not apply is skipped, uncounted.
inline bool FlevelApplies(const Fields& f, size_t first) {
  int lo = 0, hi = 0;
  if (f.size() > first && ParseNumber(f[first], &lo) && lo > kFunctionalityLevel) return false;
  if (f.size() > first + 1 && ParseNumber(f[first + 1], &hi) && hi < kFunctionalityLevel) return false;
  return true;
}

}  // namespace vigil::sig::internal
