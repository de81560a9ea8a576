// A Sink that records what readers hand it (unit tests of lib/unpack/).
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "unpack/unpack.h"

namespace vigil::unpack::testing {

class RecordingSink : public Sink {
 public:
  bool Member(std::string_view name, std::string_view data, MemberKind) override {
    members.emplace_back(std::string(name), std::string(data));
    return members.size() < stop_after;
  }
  void LimitExceeded(LimitHit hit) override { limits.push_back(hit); }
  void Encrypted(std::string_view format) override { encrypted.emplace_back(format); }
  void Warn(std::string message) override { warnings.push_back(std::move(message)); }

  std::vector<std::pair<std::string, std::string>> members;
  std::vector<LimitHit> limits;
  std::vector<std::string> encrypted, warnings;
  size_t stop_after = SIZE_MAX;
  bool reader_ok = true;  // set by RunReader
};

// `v` as `bytes` little-endian bytes, for building test inputs.
inline std::string Le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

// A minimal PE file with one section ending at 0x400: its overlay starts there.
inline std::string OverlayPe() {
  std::string s(0x400, '\0');
  s[0] = 'M';
  s[1] = 'Z';
  s.replace(0x3C, 4, Le(0x40, 4));
  s.replace(0x40, 4, std::string("PE\0\0", 4));
  s.replace(0x46, 2, Le(1, 2));                          // one section
  s.replace(0x58 + 16, 8, Le(0x200, 4) + Le(0x200, 4));  // raw size, raw pointer
  return s;
}

// Runs one reader that has a `stop` flag (the PE packers, the overlay
// readers) alone on `data`; `reader_ok` tells whether it returned ok.
template <typename Reader>
RecordingSink RunReader(Reader read, std::string_view data, Limits limits = {}) {
  RecordingSink sink;
  Budget budget(limits);
  Context ctx{budget, sink, 1};
  bool stop = false;
  sink.reader_ok = read(data, ctx, &stop).ok();
  return sink;
}

// The whole content of a file (empty when it cannot be read).
inline std::string ReadTestFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The little-endian u32 at `at`.
inline uint32_t Get32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(s[at + static_cast<size_t>(i)]);
  return v;
}

// Runs the reader for `data`'s detected type with `limits`.
inline RecordingSink UnpackAll(std::string_view data, Limits limits = {}) {
  RecordingSink sink;
  Budget budget(limits);
  Context ctx{budget, sink, 1};
  (void)Unpack(DetectType(data), data, MemberKind::kFile, ctx);
  return sink;
}

// The ZIP archive ReadSfxZip finds in a PE file (empty if none).
inline std::string SfxZip(std::string_view pe) {
  RecordingSink sink;
  Budget budget(Limits{});
  Context ctx{budget, sink, 1};
  (void)ReadSfxZip(pe, ctx);
  return sink.members.empty() ? std::string() : sink.members[0].second;
}

}  // namespace vigil::unpack::testing
