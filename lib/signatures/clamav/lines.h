// Line splitting shared by the text database parsers.
#pragma once

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "signatures/loader.h"

namespace vigil::sig::internal {

// Calls fn(line, line_number) for every line that is neither empty nor a
// '#' comment; trailing CR is stripped. Stops at the first error, which is
// prefixed with "FILE:LINE: ".
template <typename Fn>
Status ForEachLine(std::string_view text, const DbSource& src, Fn&& fn) {
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == text.npos ? text.npos : nl - pos);
    pos = nl == text.npos ? text.size() : nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    Status st = fn(line, line_no);
    if (!st.ok()) {
      return Status::Corruption(src.name + ":" + std::to_string(line_no) + ": " + st.message());
    }
  }
  return Status::Ok();
}

inline std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == s.npos ? s.npos : p - start));
    if (p == s.npos) break;
    start = p + 1;
  }
  return out;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Checks optional min/max functionality-level fields. Returns false (with
// *error set when malformed) when the signature does not apply to this engine.
inline bool FlevelApplies(const std::vector<std::string_view>& f, size_t first, Status* error) {
  int lo = 0, hi = 0;
  if (f.size() > first && !f[first].empty()) {
    if (!ParseNumber(f[first], &lo)) { *error = Status::Corruption("bad functionality level '" + std::string(f[first]) + "'"); return false; }
    if (lo > kFunctionalityLevel) return false;
  }
  if (f.size() > first + 1 && !f[first + 1].empty()) {
    if (!ParseNumber(f[first + 1], &hi)) { *error = Status::Corruption("bad functionality level '" + std::string(f[first + 1]) + "'"); return false; }
    if (hi < kFunctionalityLevel) return false;
  }
  return true;
}

}  // namespace vigil::sig::internal
