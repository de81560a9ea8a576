#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

using testing::Get32;
using testing::Le;

// Runs the WWPack32 reader alone on `data`.
testing::RecordingSink RunWwpack(std::string_view data, Limits limits = {}) {
  auto sink = testing::RunReader(ReadWwpack, data, limits);
  EXPECT_TRUE(sink.reader_ok);
  return sink;
}

// A WWPack32 block encoder written from the format's description (the
// inverse of the reader's decoder): bits MSB first in 32-bit little-endian
// words, the next word reserved as soon as one is full, literal bytes
// after the word in use. Greedy matching with a plain search; every copy
// kind and length code is used.
class WwWriter {
 public:
  std::string Encode(const std::string& in) {
    Reserve();
    size_t i = 0;
    while (i < in.size()) {
      size_t best_len = 0, best_off = 0;
      for (size_t off = 1; off <= std::min<size_t>(i, 24544); ++off) {
        size_t n = 0;
        while (i + n < in.size() && in[i + n] == in[i + n - off] && n < 600) ++n;
        if (n > best_len) best_len = n, best_off = off;
      }
      if (best_len == 2 && best_off < 0x161 + 0x1FF) {  // 0x161 + 0x1FF is the end code
        Short(static_cast<uint32_t>(best_off));
        i += 2;
      } else if (best_len >= 3) {
        Long(static_cast<uint32_t>(best_off), static_cast<uint32_t>(best_len));
        i += best_len;
      } else {
        Bit(0);
        out_.push_back(in[i++]);
      }
    }
    Bits(0x7, 3);  // 1, 11: a two-byte copy ...
    Bits(3, 2);
    Bits(0x1FF, 9);  // ... whose offset is the end code
    out_.resize((out_.size() + 3) / 4 * 4, '\0');
    return out_;
  }

 private:
  void Short(uint32_t dist) {
    static constexpr uint32_t kBase[4] = {0x1, 0x21, 0x61, 0x161};
    static constexpr int kWidth[4] = {5, 6, 8, 9};
    int t = 0;
    while (dist - kBase[t] >= (1u << kWidth[t])) ++t;
    Bits(0x7, 3);
    Bits(static_cast<uint32_t>(t), 2);
    Bits(dist - kBase[t], kWidth[t]);
  }
  void Long(uint32_t dist, uint32_t len) {
    uint32_t kind = len == 3 ? 1 : len == 4 ? 2 : 0;
    Bit(1);
    Bits(kind, 2);
    // Offset: the smallest width that holds it.
    static constexpr int kWidths[8] = {5, 6, 7, 8, 9, 10, 11, 12};
    bool done = false;
    for (int w : kWidths) {
      uint32_t lo = (1u << w) - 31, hi = lo + (1u << w) - 1;
      if (dist < lo || dist > hi) continue;
      if (w <= 7) {
        Bits(static_cast<uint32_t>(w - 5), 3);
      } else if (w <= 9) {
        Bits(3, 3);
        Bit(w - 8);
      } else if (w <= 11) {
        Bits(4, 3);
        Bit(w - 10);
      } else {
        Bits(5, 3);
      }
      Bits(dist - lo, w);
      done = true;
      break;
    }
    if (!done) {
      Bits(6, 3);
      Bits(dist - 0x1FE1, 14);
    }
    if (kind != 0) return;
    if (len <= 6) {
      Bit(0);
      Bit(static_cast<int>(len - 5));
    } else if (len <= 13) {
      Bit(1);
      Bits(len - 6, 3);
    } else if (len <= 28) {
      Bit(1);
      Bits(0, 3);
      Bits(len - 13, 4);
    } else {
      Bit(1);
      Bits(0, 3);
      Bits(0, 4);
      if (len < 61) {
        Bit(1);
        Bits(len - 29, 5);
      } else if (len < 125) {
        Bits(1, 2);
        Bits(len - 61, 6);
      } else if (len < 253) {
        Bits(1, 3);
        Bits(len - 125, 7);
      } else {
        Bits(0, 3);
        Bits(len, 14);
      }
    }
  }
  void Bits(uint32_t v, int n) {
    for (int b = n - 1; b >= 0; --b) Bit(static_cast<int>(v >> b & 1));
  }
  void Bit(int b) {
    if (b) {
      uint32_t w;
      std::memcpy(&w, out_.data() + word_at_, 4);
      w |= 1u << (31 - used_);
      std::memcpy(out_.data() + word_at_, &w, 4);
    }
    if (++used_ == 32) Reserve();
  }
  void Reserve() {
    word_at_ = out_.size();
    out_.append(4, '\0');
    used_ = 0;
  }
  std::string out_;
  size_t word_at_ = 0;
  int used_ = 0;
};

constexpr uint32_t kLoader = 0x11000, kOep = 0x1234;

// A WWPack32 file: ".text" (0x1000, raw at 0x400) holding the packed block
// at its start, and the loader ".WWP32" (kLoader) with the entry code, the
// final jump to kOep and one record.
std::string Packed(const std::string& payload) {
  std::string block = WwWriter().Encode(payload);
  std::string text = block;
  text.resize((text.size() + 0x1FF) / 0x200 * 0x200, '\0');
  std::string loader(0x400, '\0');
  loader.replace(0, 7, "\x53\x55\x8B\xE8\x33\xDB\xEB");
  loader.replace(0x68, 19,
                 std::string("\xE8\x00\x00\x00\x00\x58\x2D\x6D\x00\x00\x00\x50\x60\x33\xC9\x50\x58\x50\x50", 19));
  loader[0x294] = '\xE9';
  loader.replace(0x295, 4, Le(kOep - (kLoader + 0x299), 4));
  loader.replace(0x2A1, 17,
                 Le(kLoader - 0x1000, 4) + Le(0, 4) + Le(block.size() / 4, 4) + Le(block.size() - 4, 4) + '\0');
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x010F, 2);
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(kLoader, 4));
  opt.replace(28, 4, Le(0x400000, 4));
  opt.replace(32, 4, Le(0x1000, 4));
  opt.replace(36, 4, Le(0x200, 4));
  opt.replace(56, 4, Le(kLoader + 0x1000, 4));
  pe += opt;
  pe += std::string(".text\0\0\0", 8) + Le(kLoader - 0x1000, 4) + Le(0x1000, 4) + Le(text.size(), 4) + Le(0x400, 4) +
        std::string(16, '\0');
  pe += std::string(".WWP32\0\0", 8) + Le(0x1000, 4) + Le(kLoader, 4) + Le(loader.size(), 4) +
        Le(0x400 + text.size(), 4) + std::string(16, '\0');
  f.replace(0x80, pe.size(), pe);
  return f + text + loader;
}

std::string Payload() {
  std::string p = "MZ wwpack payload ";
  for (int i = 0; i < 300; ++i) p += "row " + std::to_string(i % 23) + (i % 5 ? " xy " : " ");
  p += std::string(4000, 'z') + "ab" + "ab" + "abcabc" + std::string(700, '\0') + "the end";
  std::mt19937 rng(5);
  std::string block(2500, '\0');
  for (char& c : block) c = static_cast<char>(rng());
  p += block + std::string(6000, '-') + block.substr(0, 400) + std::string(30, '=') + block.substr(100, 90);
  return p;
}

TEST(Wwpack, SyntheticFileUnpacksIntoTheImage) {
  const std::string payload = Payload();
  auto r = RunWwpack(Packed(payload));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "wwpack-unpacked");
  const std::string& img = r.members[0].second;
  ASSERT_EQ(img.size(), kLoader);
  ASSERT_TRUE(PeAt(img, 0));
  EXPECT_EQ(img.substr(0x1000, payload.size()), payload);
  const size_t pe = Get32(img, 0x3C);
  EXPECT_EQ(img[pe + 6], 1);                       // the loader section is gone
  EXPECT_EQ(Get32(img, pe + 24 + 16), kOep);       // the original entry point
  EXPECT_EQ(Get32(img, pe + 24 + 56), kLoader);    // image size less the loader's
  const size_t sec = pe + 24 + 0xE0;
  EXPECT_EQ(Get32(img, sec + 20), 0x1000u);        // raw data where it is mapped
  EXPECT_EQ(Get32(img, sec + 16), kLoader - 0x1000);
  EXPECT_EQ(img.substr(sec + 40, 40), std::string(40, '\0'));
}

TEST(Wwpack, ZipInTheImageIsFoundAsZipSfx) {
  std::string zip = std::string("PK\3\4", 4) + std::string(40, 'a') + std::string("PK\5\6", 4) +
                    std::string(16, '\0') + Le(3, 2) + "xyz";
  auto r = RunWwpack(Packed("MZ" + std::string(100, 'q') + zip + std::string(50, 'r')));
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(testing::SfxZip(r.members[0].second), zip);
}

TEST(Wwpack, OtherFilesAndLimits) {
  // Not WWPack32: the entry code differs.
  std::string other = Packed(Payload());
  const size_t loader_raw = other.size() - 0x400;
  other[loader_raw + 0x68] = '\x90';
  auto none = RunWwpack(other);
  EXPECT_TRUE(none.members.empty());
  EXPECT_TRUE(none.warnings.empty());
  // The image is over the member limit.
  Limits small;
  small.max_filesize = 0x2000;
  auto limited = RunWwpack(Packed(Payload()), small);
  EXPECT_TRUE(limited.members.empty());
  EXPECT_FALSE(limited.limits.empty());
  // A record that points out of the image: the image as it is, a warning.
  std::string bad = Packed(Payload());
  bad.replace(loader_raw + 0x2A1, 4, Le(0x7FFFF000, 4));
  auto broken = RunWwpack(bad);
  EXPECT_EQ(broken.members.size(), 1u);
  EXPECT_FALSE(broken.warnings.empty());
}

TEST(Wwpack, DamageNeverCrashes) {
  const std::string good = Packed(Payload());
  for (size_t n = 0; n < good.size(); n += 11) {
    auto r = RunWwpack(good.substr(0, n));
    for (const auto& m : r.members) EXPECT_LE(m.second.size(), 100u << 20);
  }
  std::mt19937 rng(9);
  for (int round = 0; round < 400; ++round) {
    std::string bad = good;
    for (int k = 0; k < 4; ++k) bad[0x400 + rng() % (bad.size() - 0x400)] = static_cast<char>(rng());
    (void)RunWwpack(bad);
  }
}

// clamav-testfiles' clam-wwpack.exe: its unpacked image has the original
// entry point and carries clam.exe in a ZIP (clamscan finds it as ZIP-SFX).
TEST(Wwpack, ClamavTestfile) {
  const std::filesystem::path path = "/usr/share/clamav-testfiles/clam-wwpack.exe";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = RunWwpack(data);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "wwpack-unpacked");
  const std::string& img = r.members[0].second;
  ASSERT_EQ(img.size(), 0x5000u);
  ASSERT_TRUE(PeAt(img, 0));
  const size_t pe = Get32(img, 0x3C);
  EXPECT_EQ(img[pe + 6], 4);
  EXPECT_EQ(Get32(img, pe + 24 + 16), 0x1020u);
  const std::string zip = testing::SfxZip(img);
  EXPECT_EQ(zip.substr(0, 4), std::string("PK\3\4", 4));
  EXPECT_NE(zip.find("clam.exe"), std::string::npos);
  EXPECT_EQ(zip.size(), 404u);

  for (size_t n = 0; n < data.size(); n += 13) (void)RunWwpack(data.substr(0, n));
  std::mt19937 rng(13);
  for (int round = 0; round < 300; ++round) {
    std::string bad = data;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)RunWwpack(bad);
  }
}

}  // namespace
}  // namespace vigil::unpack
