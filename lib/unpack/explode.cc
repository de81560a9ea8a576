#include "unpack/explode.h"

#include "unpack/canonical_code.h"

#include <algorithm>
#include <array>
#include <vector>

namespace vigil::unpack {
namespace {

// LSB-first bits; past the end reads zeros and says so.
class Bits {
 public:
  explicit Bits(std::string_view in) : in_(in) {}
  uint32_t Get(int n) {
    while (count_ < n) {
      uint32_t b = 0;
      if (pos_ < in_.size()) b = static_cast<uint8_t>(in_[pos_++]);
      else overrun_ = true;
      buf_ |= static_cast<uint64_t>(b) << count_;
      count_ += 8;
    }
    uint32_t v = static_cast<uint32_t>(buf_ & ((uint64_t{1} << n) - 1));
    buf_ >>= n;
    count_ -= n;
    return v;
  }
  bool overrun() const { return overrun_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  uint64_t buf_ = 0;
  int count_ = 0;
  bool overrun_ = false;
};

// A Shannon-Fano tree. Its codes are the complements of the canonical
// Huffman code of the same lengths (the longest code, of the last symbol,
// is all zeros), so decoding is canonical decoding of inverted bits.
class Tree {
 public:
  // Reads the tree's compressed bit-length table: a byte giving the number
  // of bytes that follow minus one, each byte (count - 1) << 4 | (length - 1).
  bool Read(Bits* b, int symbols) {
    int bytes = static_cast<int>(b->Get(8)) + 1;
    std::vector<uint8_t> lengths;
    for (int i = 0; i < bytes; ++i) {
      uint32_t v = b->Get(8);
      int count = static_cast<int>(v >> 4) + 1, len = static_cast<int>(v & 15) + 1;
      for (int k = 0; k < count; ++k) lengths.push_back(static_cast<uint8_t>(len));
    }
    if (b->overrun() || static_cast<int>(lengths.size()) != symbols) return false;
    return code_.Build(lengths.data(), lengths.size());
  }
  int Decode(Bits* b) const { return code_.Decode([b] { return b->Get(1) ^ 1u; }); }

 private:
  CanonicalCode code_;
};

}  // namespace

InflateResult Explode(std::string_view in, uint16_t flags, uint64_t size, MemberBuffer* out, LimitHit* hit) {
  const bool big_window = flags & 2, literal_tree = flags & 4;
  const int low_bits = big_window ? 7 : 6;
  const int min_match = literal_tree ? 3 : 2;
  Bits b(in);
  Tree literals, lengths, distances;
  if ((literal_tree && !literals.Read(&b, 256)) || !lengths.Read(&b, 64) || !distances.Read(&b, 64))
    return InflateResult::kCorrupt;
  while (out->size() < size) {
    if (b.overrun()) return InflateResult::kTruncated;
    if (b.Get(1)) {
      int c = literal_tree ? literals.Decode(&b) : static_cast<int>(b.Get(8));
      if (c < 0) return InflateResult::kCorrupt;
      char ch = static_cast<char>(c);
      if (!out->Append(&ch, 1, hit)) return InflateResult::kOverLimit;
      continue;
    }
    uint32_t low = b.Get(low_bits);
    int high = distances.Decode(&b);
    if (high < 0) return InflateResult::kCorrupt;
    size_t dist = (static_cast<size_t>(high) << low_bits | low) + 1;
    int len = lengths.Decode(&b);
    if (len < 0) return InflateResult::kCorrupt;
    if (len == 63) len += static_cast<int>(b.Get(8));
    len += min_match;
    for (int k = 0; k < len && out->size() < size; ++k) {
      size_t have = out->size();
      char c = dist <= have ? out->view()[have - dist] : '\0';  // before the start: zeros
      if (!out->Append(&c, 1, hit)) return InflateResult::kOverLimit;
    }
  }
  return b.overrun() ? InflateResult::kTruncated : InflateResult::kDone;
}

}  // namespace vigil::unpack
