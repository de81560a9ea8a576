#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

using testing::Le;

testing::RecordingSink RunAspack(std::string_view data, Limits limits = {}) {
  auto sink = testing::RunReader(ReadAspack, data, limits);
  EXPECT_TRUE(sink.reader_ok);
  return sink;
}

constexpr uint8_t kOffsetExtra[58] = {0,  0,  0,  0,  1,  1,  2,  2,  3,  3,  4,  4,  5,  5,  6,  6,  7,  7,  8,  8,
                                      9,  9,  10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 16, 16, 17, 17, 17, 17,
                                      17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 18, 18};
constexpr uint8_t kLengthBase[28] = {0,    1,    2,    3,    4,    5,    6,    7,    8,    0x0A,
                                     0x0C, 0x0E, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x28, 0x30, 0x38,
                                     0x40, 0x50, 0x60, 0x70, 0x80, 0xA0, 0xC0, 0xE0};
constexpr uint8_t kLengthExtra[28] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5};

// An ASPack stream encoder written from the format's description (the
// inverse of the reader's decoder), with fixed complete codes: one table
// header (pre-code lengths 4 and 5, main code lengths 9 and 10, length
// code 4 and 5, aligned code all 3 so unused), then greedy matches with
// new distances or the last one.
class AspackWriter {
 public:
  std::string Encode(const std::string& in) {
    std::vector<uint8_t> pre(19), all(757);
    for (int i = 0; i < 19; ++i) pre[i] = i < 13 ? 4 : 5;
    for (int i = 0; i < 721; ++i) all[i] = i < 256 + 47 ? 9 : 10;
    for (int i = 0; i < 28; ++i) all[721 + i] = i < 4 ? 4 : 5;
    for (int i = 0; i < 8; ++i) all[749 + i] = 3;
    Bits(0, 1);  // fresh lengths
    for (uint8_t l : pre) Bits(l, 4);
    auto pre_codes = Canonical(pre);
    for (uint8_t l : all) Bits(pre_codes[l].first, pre_codes[l].second);  // deltas from zero
    main_ = Canonical(std::vector<uint8_t>(all.begin(), all.begin() + 721));
    len_ = Canonical(std::vector<uint8_t>(all.begin() + 721, all.begin() + 749));
    std::array<uint32_t, 58> base{};
    for (int i = 1; i < 58; ++i) base[i] = base[i - 1] + (1u << kOffsetExtra[i - 1]);
    size_t i = 0;
    uint32_t last = 0;
    while (i < in.size()) {
      size_t best = 0, best_d = 0;
      for (size_t d = 1; d <= std::min<size_t>(i, 4096); ++d) {
        size_t n = 0;
        while (i + n < in.size() && in[i + n] == in[i + n - d] && n < 264) ++n;
        if (n > best) best = n, best_d = d;
      }
      if (best < 3) {
        Sym(main_, static_cast<uint8_t>(in[i++]));
        continue;
      }
      uint32_t value = best_d - 1 == last ? 0 : static_cast<uint32_t>(best_d - 1 + 3);
      int slot = 57;
      while (base[slot] > value) --slot;
      int l = best >= 9 ? 7 : static_cast<int>(best - 2);
      Sym(main_, 256 + slot * 8 + l);
      if (l == 7) {
        int s = 27;
        while (kLengthBase[s] > best - 9) --s;
        Sym(len_, s);
        Bits(static_cast<uint32_t>(best - 9 - kLengthBase[s]), kLengthExtra[s]);
      }
      Bits(value - base[slot], kOffsetExtra[slot]);
      last = static_cast<uint32_t>(best_d - 1);
      i += best;
    }
    while (nbits_ % 8) Bits(0, 1);
    return out_;
  }

 private:
  using Codes = std::vector<std::pair<uint32_t, int>>;  // code, length
  static Codes Canonical(const std::vector<uint8_t>& lens) {
    Codes c(lens.size());
    uint32_t code = 0;
    for (int len = 1; len <= 15; ++len) {
      for (size_t s = 0; s < lens.size(); ++s)
        if (lens[s] == len) c[s] = {code++, len};
      code <<= 1;
    }
    return c;
  }
  void Sym(const Codes& c, int s) { Bits(c[s].first, c[s].second); }
  void Bits(uint32_t v, int n) {
    for (int b = n - 1; b >= 0; --b) {
      if (nbits_ % 8 == 0) out_.push_back('\0');
      if (v >> b & 1) out_.back() = static_cast<char>(out_.back() | 0x80 >> (nbits_ % 8));
      ++nbits_;
    }
  }
  std::string out_;
  size_t nbits_ = 0;
  Codes main_, len_;
};

constexpr char kMark = '\xAB';

// An ASPack 2.12 file: ".text" (0x1000) holding the packed `payload`,
// ".aspack" (0x2000) the loader's data, ".adata" (0x3000) no raw data.
std::string Packed(const std::string& payload, const std::string& stream) {
  const uint32_t text_raw = 0x400, text_rsize = static_cast<uint32_t>((stream.size() + 0x1FF) & ~0x1FFu);
  const uint32_t loader_raw = text_raw + text_rsize;
  std::string f(0x400, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(0x2001, 4));  // entry point
  opt.replace(28, 4, Le(0x400000, 4));
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(3, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x0102, 2) + opt;
  auto sec = [](const char* name, uint32_t vsize, uint32_t va, uint32_t rsize, uint32_t raw) {
    std::string s(name);
    s.resize(8, '\0');
    return s + Le(vsize, 4) + Le(va, 4) + Le(rsize, 4) + Le(raw, 4) + std::string(12, '\0') + Le(0xE0000040, 4);
  };
  pe += sec(".text", 0x1000, 0x1000, text_rsize, text_raw);
  pe += sec(".aspack", 0x1000, 0x2000, 0x800, loader_raw);
  pe += sec(".adata", 0x1000, 0x3000, 0, 0);
  f.replace(0x80, pe.size(), pe);
  std::string text = stream;
  text.resize(text_rsize, '\0');
  std::string loader(0x800, '\0');
  loader.replace(1, 8, std::string("\x60\xE8\x03\x00\x00\x00\xE9\xEB", 8));
  loader.replace(1 + 0x3B9, 6, std::string("\x68\x00\x00\x00\x00\xC3", 6));
  loader.replace(0x39B, 4, Le(0x1000, 4));
  loader[0x148] = kMark;
  loader.replace(0x57C, 16, Le(0x1000, 4) + Le(payload.size(), 4) + Le(0, 8));
  return f + text + loader;
}

std::string Payload() {
  std::string p = "MZ start of the code ";
  p += std::string("\xE8\xAB\x00\x10\x00", 5);  // a filtered call: target 0x1000 - its position
  p += std::string("\xE8\x12\x34\x56\x78", 5);  // not marked: left alone
  for (int i = 0; i < 40; ++i) p += "abcabcabc" + std::to_string(i * 7919 % 1000);
  p += std::string(600, 'z') + "the end";
  return p;
}

TEST(Aspack, SyntheticFileUnpacksIntoAnImage) {
  const std::string payload = Payload();
  const std::string stream = AspackWriter().Encode(payload);
  ASSERT_LT(stream.size(), payload.size());
  auto r = RunAspack(Packed(payload, stream));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "aspack-unpacked");
  const std::string& image = r.members[0].second;
  ASSERT_EQ(image.size(), 0x2000u);  // the loader's sections are dropped
  EXPECT_EQ(image.substr(0, 2), "MZ");
  EXPECT_EQ(image.substr(0x86, 2), Le(1, 2));                  // one section left
  EXPECT_EQ(image.substr(0x80 + 24 + 16, 4), Le(0x1000, 4));  // the original entry point
  EXPECT_EQ(image.substr(0x80 + 24 + 0xE0 + 16, 8), Le(0x1000, 4) + Le(0x1000, 4));  // raw at its address
  std::string expected = payload;
  const size_t call = expected.find('\xE8');
  expected.replace(call + 1, 4, Le(0x1000 - call, 4));
  EXPECT_EQ(image.substr(0x1000, payload.size()), expected);
}

TEST(Aspack, OtherFilesAreLeftAlone) {
  const std::string payload = Payload();
  std::string f = Packed(payload, AspackWriter().Encode(payload));
  // No version marker: no member, no warning.
  std::string no_marker = f;
  no_marker[no_marker.size() - 0x800 + 1 + 0x3B9] = '\x90';
  auto r = RunAspack(no_marker);
  EXPECT_TRUE(r.members.empty());
  EXPECT_TRUE(r.warnings.empty());
  std::string other_start = f;
  other_start[other_start.size() - 0x800 + 2] = '\x90';
  r = RunAspack(other_start);
  EXPECT_TRUE(r.members.empty());
  EXPECT_TRUE(r.warnings.empty());
}

TEST(Aspack, DamageIsAWarningNeverACrash) {
  const std::string payload = Payload();
  const std::string stream = AspackWriter().Encode(payload);
  std::string f = Packed(payload, stream);
  // Truncated files.
  for (size_t n = 0; n < f.size(); n += 7) (void)RunAspack(f.substr(0, n));
  // A damaged stream: a warning, and the image (partly unpacked) still comes.
  std::string bad = f;
  for (size_t i = 0x400 + stream.size() / 2; i < 0x400 + stream.size(); ++i) bad[i] = '\xFF';
  auto r = RunAspack(bad);
  EXPECT_FALSE(r.warnings.empty());
  // Corrupted bytes everywhere, and a block table pointing past the image.
  for (size_t i = 0; i < f.size(); i += 3) {
    std::string c = f;
    c[i] = static_cast<char>(c[i] ^ 0x5A);
    (void)RunAspack(c);
  }
  std::string far = f;
  far.replace(far.size() - 0x800 + 0x57C, 8, Le(0x2F00, 4) + Le(0x7FFFFFFF, 4));
  r = RunAspack(far);
  EXPECT_FALSE(r.warnings.empty());
  // An image over the member limit is a limit, not an allocation.
  Limits small;
  small.max_filesize = 0x1000;
  r = RunAspack(f, small);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());
}

// clamav-testfiles' ASPack 2.12 file: its image holds clam.exe.
TEST(Aspack, ClamavTestfile) {
  const std::filesystem::path dir = "/usr/share/clamav-testfiles";
  if (!std::filesystem::exists(dir / "clam-aspack.exe") || !std::filesystem::exists(dir / "clam.exe"))
    GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  const std::string data = testing::ReadTestFile((dir / "clam-aspack.exe").string());
  const std::string clam = testing::ReadTestFile((dir / "clam.exe").string());
  ASSERT_EQ(clam.size(), 544u);
  auto r = RunAspack(data);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "aspack-unpacked");
  const std::string& image = r.members[0].second;
  EXPECT_EQ(image.size(), 0x5000u);
  EXPECT_EQ(image.substr(0xC8 + 24 + 16, 4), Le(0x1020, 4));  // the original entry point
  EXPECT_NE(image.find(clam), std::string::npos);
  // Truncations and corruptions of the real file: no crash.
  for (size_t n = 0; n < data.size(); n += 61) (void)RunAspack(data.substr(0, n));
  for (size_t i = 0x400; i < data.size(); i += 13) {
    std::string c = data;
    c[i] = static_cast<char>(c[i] ^ 0xA5);
    (void)RunAspack(c);
  }
}

}  // namespace
}  // namespace vigil::unpack
