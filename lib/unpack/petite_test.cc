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

// Runs the Petite reader alone on `data`.
testing::RecordingSink RunPetite(std::string_view data, Limits limits = {}) {
  auto sink = testing::RunReader(ReadPetite, data, limits);
  EXPECT_TRUE(sink.reader_ok);
  return sink;
}

// A Petite section encoder written from the format's description (the
// inverse of the reader's decoder): the first byte as it is, then tag bits
// MSB first in bytes reserved in the output when their first bit is
// written, literals XORed with the count still to produce. Greedy matching
// with a plain search (inputs here are small, under 64 KiB: 5 extra
// offset bits), reusing the last offset when it matches.
class PetiteWriter {
 public:
  std::string Encode(const std::string& in) {
    out_.push_back(in[0]);
    size_t i = 1;
    uint32_t last = 0;
    while (i < in.size()) {
      size_t best_len = 0, best_off = 0;
      for (size_t off = 1; off <= std::min<size_t>(i, 0x3000); ++off) {
        size_t n = 0;
        while (i + n < in.size() && in[i + n] == in[i + n - off] && n < 400) ++n;
        if (n > best_len) best_len = n, best_off = off;
      }
      if (best_len >= 5) {
        Match(static_cast<uint32_t>(best_off), static_cast<uint32_t>(best_len), &last);
        i += best_len;
      } else {
        Bit(0);
        out_.push_back(static_cast<char>(static_cast<uint8_t>(in[i]) ^ ((in.size() - i) & 0xFF)));
        ++i;
      }
    }
    return out_;
  }

 private:
  void Match(uint32_t dist, uint32_t len, uint32_t* last) {
    Bit(1);
    uint32_t bonus = 0;
    if (dist == *last) {
      Gamma(2);
    } else {
      Gamma(((dist - 1) >> 5) + 3);
      for (int b = 4; b >= 0; --b) Bit(static_cast<int>((dist - 1) >> b & 1));
      bonus = 1 + (dist > 0x3A0 ? 1 : 0) + (dist > 0x3FA0 ? 1 : 0);
      *last = dist;
    }
    uint32_t base = len - bonus;  // len >= 5 > bonus
    if (base <= 3) {
      Bit(static_cast<int>(base >> 1));
      Bit(static_cast<int>(base & 1));
    } else {
      Bit(0);
      Bit(0);
      Gamma(base - 2);
    }
  }
  void Gamma(uint32_t v) {
    int top = 31;
    while (!(v >> top & 1)) --top;
    for (int b = top - 1; b >= 0; --b) {
      Bit(static_cast<int>(v >> b & 1));
      Bit(b == 0 ? 0 : 1);
    }
  }
  void Bit(int b) {
    if (count_ == 0) {
      tag_at_ = out_.size();
      out_.push_back('\0');
      count_ = 8;
    }
    --count_;
    if (b) out_[tag_at_] = static_cast<char>(out_[tag_at_] | 1 << count_);
  }
  std::string out_;
  size_t tag_at_ = 0;
  int count_ = 0;
};

constexpr uint32_t kBase = 0x400000, kLoader = 0x11000;

// A Petite 2.2 file: a first section (0x1000, nothing on disk) that the
// payload unpacks into, and ".petite" (kLoader, raw at 0x400) holding the
// entry point "mov eax, 0x411000" at +0x10, the table at +0x1B8 and the
// packed stream at +0x300.
std::string Packed(const std::string& payload, bool level_zero = false) {
  std::string stream = PetiteWriter().Encode(payload);
  std::string sec(0x300, '\0');
  sec[0x10] = '\xB8';
  sec.replace(0x11, 4, Le(kBase + kLoader, 4));
  if (level_zero) sec.replace(0x90, 4, Le(0x163C988D, 4));
  sec.replace(0x1B8, 20, Le(kLoader + 0x300, 4) + Le(payload.size(), 4) + Le(0x1000, 4) + Le(0, 4) + Le(0, 4));
  sec += stream;
  sec.resize((sec.size() + 0x1FF) / 0x200 * 0x200, '\0');
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x010F, 2);
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(kLoader + 0x10, 4));  // entry point
  opt.replace(28, 4, Le(kBase, 4));
  pe += opt;
  pe += std::string("\0\0\0\0\0\0\0\0", 8) + Le(kLoader - 0x1000, 4) + Le(0x1000, 4) + Le(0, 4) + Le(0, 4) +
        std::string(16, '\0');
  pe += std::string(".petite\0", 8) + Le(0x4000, 4) + Le(kLoader, 4) + Le(sec.size(), 4) + Le(0x400, 4) +
        std::string(16, '\0');
  f.replace(0x80, pe.size(), pe);
  return f + sec;
}

std::string Payload() {
  std::string p = "MZ petite payload ";
  for (int i = 0; i < 200; ++i) p += "line " + std::to_string(i % 17) + " of the payload; ";
  p += std::string(3000, 'z') + "abcabcabcabcabc" + std::string(1500, '\0') + "the end";
  // Bytes of every value, repeated from far back (offsets past 0x3A0).
  std::mt19937 rng(3);
  std::string block(1200, '\0');
  for (char& c : block) c = static_cast<char>(rng());
  p += block + std::string(500, '-') + block;
  return p;
}

TEST(Petite, SyntheticFileUnpacksIntoTheSection) {
  const std::string payload = Payload();
  auto r = RunPetite(Packed(payload));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "petite-unpacked");
  const std::string& file = r.members[0].second;
  ASSERT_TRUE(PeAt(file, 0));
  const size_t pe = Get32(file, 0x3C);
  EXPECT_EQ(file[pe + 6], 1);                // one section
  const size_t sec = pe + 24 + 0xE0;
  EXPECT_EQ(Get32(file, sec + 12), 0x1000u);  // its address
  const uint32_t raw = Get32(file, sec + 20);
  ASSERT_LE(raw + payload.size(), file.size());
  EXPECT_EQ(file.substr(raw, payload.size()), payload);
}

TEST(Petite, ZipInTheImageIsFoundAsZipSfx) {
  std::string zip = std::string("PK\3\4", 4) + std::string(40, 'a') + std::string("PK\5\6", 4) +
                    std::string(16, '\0') + Le(3, 2) + "xyz";
  auto r = RunPetite(Packed("MZ" + std::string(100, 'q') + zip + std::string(50, 'r')));
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(testing::SfxZip(r.members[0].second), zip);
}

TEST(Petite, OtherFilesAndLimits) {
  // Not Petite: the entry point's operand names no section.
  std::string other = Packed(Payload());
  other.replace(0x411, 4, Le(kBase + 0x5000, 4));
  auto none = RunPetite(other);
  EXPECT_TRUE(none.members.empty());
  EXPECT_TRUE(none.warnings.empty());
  // Level zero: recognised, not unpacked.
  auto zero = RunPetite(Packed(Payload(), /*level_zero=*/true));
  EXPECT_TRUE(zero.members.empty());
  ASSERT_EQ(zero.warnings.size(), 1u);
  EXPECT_NE(zero.warnings[0].find("level-zero"), std::string::npos);
  // The mapped image is over the member limit.
  Limits small;
  small.max_filesize = 0x1000;
  auto limited = RunPetite(Packed(Payload()), small);
  EXPECT_TRUE(limited.members.empty());
  EXPECT_FALSE(limited.limits.empty());
  // A table that points out of the image.
  std::string bad = Packed(Payload());
  bad.replace(0x400 + 0x1B8, 4, Le(0x7FFFF000, 4));
  auto broken = RunPetite(bad);
  EXPECT_TRUE(broken.members.empty());
  EXPECT_FALSE(broken.warnings.empty());
}

TEST(Petite, DamageNeverCrashes) {
  const std::string good = Packed(Payload());
  for (size_t n = 0; n < good.size(); n += 7) {
    auto r = RunPetite(good.substr(0, n));
    for (const auto& m : r.members) EXPECT_LE(m.second.size(), 100u << 20);
  }
  // A cut stream: what unpacked is scanned, with a warning.
  std::string cut = good.substr(0, 0x400 + 0x300 + 0x80);
  auto r = RunPetite(cut);
  EXPECT_FALSE(r.warnings.empty());
  std::mt19937 rng(7);
  for (int round = 0; round < 400; ++round) {
    std::string bad = good;
    for (int k = 0; k < 4; ++k) bad[0x400 + rng() % (bad.size() - 0x400)] = static_cast<char>(rng());
    (void)RunPetite(bad);
  }
}

// clamav-testfiles' clam-petite.exe (Petite 2.2): its unpacked image has
// the original entry point and sections clamscan reports, and carries
// clam.exe in a ZIP (clamscan finds it as ZIP-SFX).
TEST(Petite, ClamavTestfile) {
  const std::filesystem::path path = "/usr/share/clamav-testfiles/clam-petite.exe";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = RunPetite(data);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "petite-unpacked");
  const std::string& file = r.members[0].second;
  ASSERT_TRUE(PeAt(file, 0));
  const size_t pe = Get32(file, 0x3C);
  EXPECT_EQ(Get32(file, pe + 24 + 16), 0x1020u);  // the original entry point
  ASSERT_EQ(file[pe + 6], 3);
  const uint32_t want[3][2] = {{0x1000, 0xF7}, {0x2000, 0x123}, {0x4000, 0xFFC}};  // address, bytes unpacked
  for (int i = 0; i < 3; ++i) {
    const size_t sec = pe + 24 + 0xE0 + 40 * i;
    EXPECT_EQ(Get32(file, sec + 12), want[i][0]);
    EXPECT_EQ(Get32(file, sec + 16), (want[i][1] + 0x1FF) / 0x200 * 0x200);
  }
  const std::string zip = testing::SfxZip(file);
  EXPECT_EQ(zip.substr(0, 4), std::string("PK\3\4", 4));
  EXPECT_NE(zip.find("clam.exe"), std::string::npos);
  EXPECT_EQ(zip.size(), 404u);  // the archive clamscan extracts from

  // Every truncation and scattered damage: no crash, members within bounds.
  for (size_t n = 0; n < data.size(); n += 13) (void)RunPetite(data.substr(0, n));
  std::mt19937 rng(11);
  for (int round = 0; round < 300; ++round) {
    std::string bad = data;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)RunPetite(bad);
  }
}

}  // namespace
}  // namespace vigil::unpack
