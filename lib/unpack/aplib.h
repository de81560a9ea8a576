// aPLib decompression (used by the MEW and PESpin loaders), after Joergen
// Ibsen's description of the aPLib format.
//
// A stream is a first literal byte, then a bit stream (tag bytes read MSB
// first, whole bytes read in between as needed):
//   0    a literal byte follows;
//   10   a gamma-coded number g (1, then data bits each followed by a
//        continue bit); right after a literal, g = 2 repeats the last
//        offset with a gamma-coded length; otherwise the offset is
//        (g - 3, or g - 2 after a match) * 256 + the next byte, and the
//        length a gamma number, one more from offset 1280 and from 32000,
//        two more below 128;
//   110  a byte: offset = byte >> 1 (0 ends the stream), length 2 + its low bit;
//   111  four bits: one byte from up to 15 back, or a zero byte for 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vigil::unpack::aplib {

enum class Result { kDone, kTruncated, kCorrupt, kOverLimit };

// Unpacks the stream at in[*pos] into `out` (a container with push_back,
// size and operator[], empty at the start), at most `limit` bytes; on
// kDone `*pos` is just after the stream's end code.
template <typename Out>
Result Unpack(std::string_view in, size_t* pos, size_t limit, Out& out) {
  size_t p = *pos;
  uint8_t tag = 0;
  int left = 0;
  auto bit = [&]() -> int {
    if (left == 0) {
      if (p >= in.size()) return -1;
      tag = static_cast<uint8_t>(in[p++]);
      left = 8;
    }
    --left;
    return tag >> left & 1;
  };
  auto byte = [&]() -> int { return p < in.size() ? static_cast<uint8_t>(in[p++]) : -1; };
  auto gamma = [&](uint64_t* v) {
    *v = 1;
    for (;;) {
      int b = bit(), more = b < 0 ? -1 : bit();
      if (more < 0) return false;
      *v = *v * 2 + static_cast<uint64_t>(b);
      if (*v > 0xFFFFFFFFull) return false;
      if (!more) return true;
    }
  };

  const int first = byte();
  if (first < 0) return Result::kTruncated;
  if (limit == 0) return Result::kOverLimit;
  out.push_back(static_cast<char>(first));
  bool after_match = false;
  uint64_t last = 0;
  for (;;) {
    int b = bit();
    if (b < 0) return Result::kTruncated;
    uint64_t off, len;
    if (b == 0) {  // 0: literal
      const int c = byte();
      if (c < 0) return Result::kTruncated;
      if (out.size() >= limit) return Result::kOverLimit;
      out.push_back(static_cast<char>(c));
      after_match = false;
      continue;
    }
    if ((b = bit()) < 0) return Result::kTruncated;
    if (b == 0) {  // 10: gamma-coded offset
      uint64_t g;
      if (!gamma(&g)) return Result::kTruncated;
      if (!after_match && g == 2) {
        off = last;
        if (!gamma(&len)) return Result::kTruncated;
      } else {
        const int low = byte();
        if (low < 0 || !gamma(&len)) return Result::kTruncated;
        if (g < (after_match ? 2u : 3u)) return Result::kCorrupt;
        off = ((g - (after_match ? 2 : 3)) << 8) + static_cast<uint64_t>(low);
        if (off >= 32000) ++len;
        if (off >= 1280) ++len;
        if (off < 128) len += 2;
        last = off;
      }
      after_match = true;
    } else {
      if ((b = bit()) < 0) return Result::kTruncated;
      if (b == 0) {  // 110: short match, or the end
        const int c = byte();
        if (c < 0) return Result::kTruncated;
        off = static_cast<uint64_t>(c) >> 1;
        if (off == 0) {
          *pos = p;
          return Result::kDone;
        }
        len = 2 + static_cast<uint64_t>(c & 1);
        last = off;
        after_match = true;
      } else {  // 111: one byte from up to 15 back, or a zero byte
        off = 0;
        for (int i = 0; i < 4; ++i) {
          if ((b = bit()) < 0) return Result::kTruncated;
          off = off * 2 + static_cast<uint64_t>(b);
        }
        after_match = false;
        len = 1;
        if (off == 0) {
          if (out.size() >= limit) return Result::kOverLimit;
          out.push_back('\0');
          continue;
        }
      }
    }
    if (off == 0 || off > out.size()) return Result::kCorrupt;
    if (len > limit - out.size()) return Result::kOverLimit;
    const size_t from = out.size() - static_cast<size_t>(off);
    for (uint64_t i = 0; i < len; ++i) out.push_back(out[from + static_cast<size_t>(i)]);
  }
}

}  // namespace vigil::unpack::aplib
