// A canonical Huffman code built from code lengths (codes assigned by
// length, then by symbol), decoded one bit at a time, the code's first bit
// first. Shared by the ARJ (arj.cc) and implode (explode.cc) decoders.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vigil::unpack {

class CanonicalCode {
 public:
  static constexpr int kMaxLength = 16;

  // False when a length exceeds kMaxLength or the code is over-subscribed.
  // Symbols of length 0 have no code.
  bool Build(const uint8_t* lengths, size_t n) {
    count_.fill(0);
    symbols_.clear();
    for (size_t i = 0; i < n; ++i) {
      if (lengths[i] > kMaxLength) return false;
      ++count_[lengths[i]];
    }
    count_[0] = 0;
    int left = 1;
    for (int len = 1; len <= kMaxLength; ++len) {
      left = left * 2 - count_[len];
      if (left < 0) return false;
    }
    for (int len = 1; len <= kMaxLength; ++len)
      for (size_t i = 0; i < n; ++i)
        if (lengths[i] == len) symbols_.push_back(static_cast<uint16_t>(i));
    return true;
  }
  bool empty() const { return symbols_.empty(); }
  // The next symbol, taking bits (0 or 1) from `next_bit()`; -1 when they
  // match no code.
  template <typename NextBit>
  int Decode(NextBit next_bit) const {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= kMaxLength; ++len) {
      code |= static_cast<int>(next_bit());
      int c = count_[len];
      if (code - first < c) return symbols_[static_cast<size_t>(index + code - first)];
      index += c;
      first = (first + c) << 1;
      code <<= 1;
    }
    return -1;
  }

 private:
  std::array<int, kMaxLength + 1> count_{};
  std::vector<uint16_t> symbols_;
};

}  // namespace vigil::unpack
