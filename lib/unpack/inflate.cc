// Canonical-Huffman inflate (RFC 1951), written for clarity over speed: it
// only decodes the zip members libarchive cannot (Deflate64). Decoding
// tables are per block: counts of codes per length, and the symbols sorted
// by code, walked one bit at a time.
#include "unpack/inflate.h"

#include <array>
#include <vector>

namespace vigil::unpack {
namespace {

struct Bits {
  std::string_view in;
  size_t pos = 0;  // byte
  uint32_t buf = 0;
  int n = 0;
  bool eof = false;
  // Next `k` (<= 24) bits, least significant first; sets eof when short.
  uint32_t Get(int k) {
    while (n < k) {
      if (pos >= in.size()) { eof = true; return 0; }
      buf |= static_cast<uint32_t>(static_cast<uint8_t>(in[pos++])) << n;
      n += 8;
    }
    uint32_t v = buf & ((1u << k) - 1);
    buf >>= k;
    n -= k;
    return v;
  }
  void Align() { buf = 0; n = 0; }
};

struct Huffman {
  std::array<uint16_t, 16> count{};
  std::vector<uint16_t> symbol;
  // False for an over-subscribed code.
  bool Build(const uint8_t* lengths, int n) {
    count.fill(0);
    for (int i = 0; i < n; ++i) ++count[lengths[i]];
    count[0] = 0;
    int left = 1;
    for (int len = 1; len < 16; ++len) {
      left <<= 1;
      left -= count[len];
      if (left < 0) return false;
    }
    std::array<uint16_t, 16> offs{};
    for (int len = 1; len < 15; ++len) offs[len + 1] = static_cast<uint16_t>(offs[len] + count[len]);
    symbol.assign(static_cast<size_t>(n), 0);
    for (int i = 0; i < n; ++i)
      if (lengths[i]) symbol[offs[lengths[i]]++] = static_cast<uint16_t>(i);
    return true;
  }
  // The next symbol, or -1 (bad code or end of input).
  int Decode(Bits& b) const {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; ++len) {
      code |= static_cast<int>(b.Get(1));
      if (b.eof) return -1;
      int c = count[len];
      if (code - c < first) return symbol[static_cast<size_t>(index + (code - first))];
      index += c;
      first += c;
      first <<= 1;
      code <<= 1;
    }
    return -1;
  }
};

constexpr uint16_t kLenBase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                   35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr uint8_t kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr uint32_t kDistBase[32] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577, 32769, 49153};
constexpr uint8_t kDistExtra[32] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                    7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14};

}  // namespace

InflateResult Inflate(std::string_view in, bool deflate64, MemberBuffer* out, LimitHit* hit) {
  Bits b{in};
  Huffman lit, dist;
  const size_t window = deflate64 ? 65536 : 32768;
  const int dist_codes = deflate64 ? 32 : 30;
  auto put = [&](char c) { return out->Append(&c, 1, hit); };
  bool last = false;
  while (!last) {
    last = b.Get(1) != 0;
    uint32_t type = b.Get(2);
    if (b.eof) return InflateResult::kTruncated;
    if (type == 0) {
      b.Align();
      if (b.pos + 4 > in.size()) return InflateResult::kTruncated;
      uint32_t len = static_cast<uint8_t>(in[b.pos]) | static_cast<uint32_t>(static_cast<uint8_t>(in[b.pos + 1])) << 8;
      uint32_t nlen = static_cast<uint8_t>(in[b.pos + 2]) | static_cast<uint32_t>(static_cast<uint8_t>(in[b.pos + 3])) << 8;
      if ((len ^ 0xFFFF) != nlen) return InflateResult::kCorrupt;
      b.pos += 4;
      size_t have = std::min<size_t>(len, in.size() - b.pos);
      if (!out->Append(in.data() + b.pos, have, hit)) return InflateResult::kOverLimit;
      b.pos += have;
      if (have < len) return InflateResult::kTruncated;
      continue;
    }
    uint8_t lengths[320] = {};
    if (type == 1) {
      int i = 0;
      for (; i < 144; ++i) lengths[i] = 8;
      for (; i < 256; ++i) lengths[i] = 9;
      for (; i < 280; ++i) lengths[i] = 7;
      for (; i < 288; ++i) lengths[i] = 8;
      lit.Build(lengths, 288);
      for (i = 0; i < 32; ++i) lengths[i] = 5;
      dist.Build(lengths, 32);
    } else if (type == 2) {
      int nlen = static_cast<int>(b.Get(5)) + 257, ndist = static_cast<int>(b.Get(5)) + 1, ncode = static_cast<int>(b.Get(4)) + 4;
      if (b.eof) return InflateResult::kTruncated;
      if (nlen > 288 || ndist > 32) return InflateResult::kCorrupt;
      static constexpr uint8_t kOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
      uint8_t cl[19] = {};
      for (int i = 0; i < ncode; ++i) cl[kOrder[i]] = static_cast<uint8_t>(b.Get(3));
      Huffman lencode;
      if (b.eof) return InflateResult::kTruncated;
      if (!lencode.Build(cl, 19)) return InflateResult::kCorrupt;
      int i = 0;
      while (i < nlen + ndist) {
        int sym = lencode.Decode(b);
        if (sym < 0) return b.eof ? InflateResult::kTruncated : InflateResult::kCorrupt;
        if (sym < 16) { lengths[i++] = static_cast<uint8_t>(sym); continue; }
        uint8_t v = 0;
        int rep;
        if (sym == 16) {
          if (i == 0) return InflateResult::kCorrupt;
          v = lengths[i - 1];
          rep = 3 + static_cast<int>(b.Get(2));
        } else if (sym == 17) {
          rep = 3 + static_cast<int>(b.Get(3));
        } else {
          rep = 11 + static_cast<int>(b.Get(7));
        }
        if (i + rep > nlen + ndist) return InflateResult::kCorrupt;
        while (rep--) lengths[i++] = v;
      }
      if (!lit.Build(lengths, nlen) || !dist.Build(lengths + nlen, ndist)) return InflateResult::kCorrupt;
    } else {
      return InflateResult::kCorrupt;
    }
    while (true) {
      int sym = lit.Decode(b);
      if (sym < 0) return b.eof ? InflateResult::kTruncated : InflateResult::kCorrupt;
      if (sym < 256) {
        if (!put(static_cast<char>(sym))) return InflateResult::kOverLimit;
        continue;
      }
      if (sym == 256) break;
      sym -= 257;
      if (sym >= 29) return InflateResult::kCorrupt;
      uint32_t len;
      if (sym == 28 && deflate64) len = 3 + b.Get(16);
      else len = kLenBase[sym] + b.Get(kLenExtra[sym]);
      int dsym = dist.Decode(b);
      if (dsym < 0 || dsym >= dist_codes) return b.eof ? InflateResult::kTruncated : InflateResult::kCorrupt;
      uint32_t d = kDistBase[dsym] + b.Get(kDistExtra[dsym]);
      if (b.eof) return InflateResult::kTruncated;
      size_t have = out->size();
      if (d > have || d > window) return InflateResult::kCorrupt;
      for (uint32_t k = 0; k < len; ++k) {
        char c = out->view()[out->size() - d];
        if (!put(c)) return InflateResult::kOverLimit;
      }
    }
  }
  return InflateResult::kDone;
}

}  // namespace vigil::unpack
