#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

using testing::Le;

// An NRV2B encoder written from the format's description (the inverse of
// the reader's decoder): bits MSB first in 32-bit little-endian words that
// are reserved in the output when their first bit is written, bytes
// interleaved. Greedy matching with a plain search: inputs here are small.
class Nrv2bWriter {
 public:
  std::string Encode(const std::string& in) {
    size_t i = 0;
    uint64_t last = 0;
    while (i < in.size()) {
      size_t best_len = 0, best_off = 0;
      for (size_t off = 1; off <= std::min<size_t>(i, 0xC00); ++off) {
        size_t n = 0;
        while (i + n < in.size() && in[i + n] == in[i + n - off] && n < 300) ++n;
        if (n > best_len) best_len = n, best_off = off;
      }
      if (best_len >= 3) {
        Match(best_off, best_len, &last);
        i += best_len;
      } else {
        Bit(1);
        out_.push_back(in[i++]);
      }
    }
    // End: offset code (0x1000002 - 3) * 256 + 0xFF = 0xFFFFFFFF.
    Bit(0);
    Gamma(0x1000002);
    out_.push_back('\xFF');
    while (count_ != 0) Bit(0);
    return out_;
  }

 private:
  void Match(uint64_t off, uint64_t total, uint64_t* last) {
    Bit(0);
    if (off == *last) {
      Gamma(2);
    } else {
      Gamma(((off - 1) >> 8) + 3);
      out_.push_back(static_cast<char>((off - 1) & 0xFF));
      *last = off;
    }
    uint64_t len = total - 1;  // offsets here stay at or below 0xD00
    if (len <= 3) {
      Bit(static_cast<int>(len >> 1));
      Bit(static_cast<int>(len & 1));
    } else {
      Bit(0);
      Bit(0);
      Gamma(len - 2);
    }
  }
  void Gamma(uint64_t v) {
    int top = 63;
    while (!(v >> top & 1)) --top;
    for (int b = top - 1; b >= 0; --b) {
      Bit(static_cast<int>(v >> b & 1));
      Bit(b == 0 ? 1 : 0);
    }
  }
  void Bit(int b) {
    if (count_ == 0) {
      word_at_ = out_.size();
      out_.append(4, '\0');
      count_ = 32;
    }
    --count_;
    if (b) {
      uint32_t w;
      std::memcpy(&w, out_.data() + word_at_, 4);
      w |= 1u << count_;
      std::memcpy(out_.data() + word_at_, &w, 4);
    }
  }
  std::string out_;
  size_t word_at_ = 0;
  int count_ = 0;
};

// A UPX-packed PE file whose original is one ".data" section (at 0x400 in
// the original file, address 0x1000) holding `payload`.
std::string Packed(const std::string& payload, uint8_t method = 2, bool cut = false) {
  std::string original_header = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(1, 2) + std::string(12, '\0') +
                                Le(0xE0, 2) + Le(0x0102, 2) + std::string(0xE0, '\0');
  std::string sec = std::string(".data\0\0\0", 8) + Le(0x1000, 4) + Le(0x1000, 4) + Le(payload.size(), 4) +
                    Le(0x400, 4) + std::string(16, '\0');
  std::string image = payload;
  image.resize(0x1000, '\0');
  std::string stream = image + "imports" + original_header + sec;
  std::string packed = Nrv2bWriter().Encode(stream);
  if (cut) packed.resize(packed.size() / 2);
  // The packed file: UPX0 (no raw data, at 0x1000), UPX1 (raw at 0x400).
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x0102, 2) + std::string(0xE0, '\0');
  pe += std::string("UPX0\0\0\0\0", 8) + Le(0x2000, 4) + Le(0x1000, 4) + Le(0, 4) + Le(0, 4) + std::string(16, '\0');
  pe += std::string("UPX1\0\0\0\0", 8) + Le(0x1000, 4) + Le(0x3000, 4) + Le(packed.size(), 4) + Le(0x400, 4) +
        std::string(16, '\0');
  f.replace(0x80, pe.size(), pe);
  std::string hdr = std::string("UPX!") + '\x0d' + '\x09' + static_cast<char>(method) + '\x08' + Le(0, 4) + Le(0, 4) +
                    Le(stream.size(), 4) + Le(packed.size(), 4) + Le(0x400 + payload.size(), 4);
  f.replace(0x3E0, hdr.size(), hdr);
  return f + packed;
}

TEST(Upx, Nrv2bStreamUnpacksIntoTheOriginalFile) {
  std::string payload = "MZ embedded " + std::string(700, 'z') + "abcabcabcabc the end";
  auto r = testing::UnpackAll(Packed(payload));
  ASSERT_GE(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "upx-unpacked");
  const std::string& file = r.members[0].second;
  ASSERT_EQ(file.size(), 0x400 + payload.size());
  EXPECT_EQ(file.substr(0, 2), "MZ");
  EXPECT_EQ(file.substr(0x80, 4), std::string("PE\0\0", 4));
  EXPECT_EQ(file.substr(0x400), payload);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
}

TEST(Upx, OtherMethodsAndDamageAreWarnings) {
  auto other = testing::UnpackAll(Packed("payload", /*method=*/5));  // NRV2D
  ASSERT_FALSE(other.warnings.empty());
  EXPECT_NE(other.warnings[0].find("method 5"), std::string::npos);
  auto cut = testing::UnpackAll(Packed(std::string(3000, 'q') + "tail", 2, /*cut=*/true));
  EXPECT_FALSE(cut.warnings.empty());
  // A plain PE file is no UPX file: no member, no warning from this reader.
  std::string plain = Packed("x");
  plain.replace(0x3E0, 4, "NOPE");
  auto none = testing::UnpackAll(plain);
  for (const auto& [name, data] : none.members) EXPECT_EQ(name.find("upx"), std::string::npos);
}

}  // namespace
}  // namespace vigil::unpack
