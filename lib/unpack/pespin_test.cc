#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

using testing::Get32;
using testing::Le;

testing::RecordingSink RunPespin(std::string_view data, Limits limits = {}) {
  auto sink = testing::RunReader(ReadPespin, data, limits);
  EXPECT_TRUE(sink.reader_ok);
  return sink;
}

// An aPLib encoder: literals, zero bytes (111 0000), short matches (110)
// of 2-3 bytes up to 127 back and gamma-coded matches (10) of 4-255 bytes
// up to 1279 back; enough to test the decoder's paths.
class AplibWriter {
 public:
  std::string Encode(const std::string& in) {
    out_.assign(1, in[0]);
    bool after_match = false;
    size_t i = 1;
    while (i < in.size()) {
      size_t best_len = 0, best_off = 0;
      for (size_t off = 1; off < 1280 && off <= i; ++off) {
        size_t len = 0;
        while (len < 255 && i + len < in.size() && in[i + len] == in[i + len - off]) ++len;
        if (len > best_len && (len >= 4 || off < 128)) best_len = len, best_off = off;
      }
      if (best_len >= 4) {
        Bits("10");
        Gamma((best_off >> 8) + (after_match ? 2 : 3));
        out_.push_back(static_cast<char>(best_off & 0xFF));
        Gamma(best_len - (best_off < 128 ? 2 : 0));
        i += best_len;
        after_match = true;
      } else if (best_len >= 2) {
        Bits("110");
        out_.push_back(static_cast<char>(best_off << 1 | (best_len - 2)));
        i += best_len;
        after_match = true;
      } else if (in[i] == '\0') {
        Bits("1110000");
        ++i;
        after_match = false;
      } else {
        Bits("0");
        out_.push_back(in[i++]);
        after_match = false;
      }
    }
    Bits("110");
    out_.push_back('\0');
    return out_;
  }

 private:
  void Bits(const char* bits) {
    for (const char* b = bits; *b; ++b) {
      if (left_ == 0) {
        tag_at_ = out_.size();
        out_.push_back('\0');
        left_ = 8;
      }
      --left_;
      if (*b == '1') out_[tag_at_] = static_cast<char>(out_[tag_at_] | 1 << left_);
    }
  }
  // v >= 2: its bits after the leading 1, each followed by 1 when more
  // follow, else 0.
  void Gamma(size_t v) {
    int top = 0;
    while ((v >> (top + 1)) != 0) ++top;
    for (int b = top - 1; b >= 0; --b) Bits((v >> b & 1) ? (b ? "11" : "10") : (b ? "01" : "00"));
  }
  std::string out_;
  size_t tag_at_ = 0;
  int left_ = 0;
};

// The shift-register cipher (its own inverse).
void XorStream(std::string* s, size_t at, size_t n, uint32_t key, uint32_t poly, bool when_one) {
  for (size_t i = 0; i < n; ++i) {
    const bool out = key & 1;
    key >>= 1;
    if (out == when_one) key ^= poly;
    (*s)[at + i] = static_cast<char>((*s)[at + i] ^ static_cast<char>(key & 0xFF));
  }
}

uint32_t Checksum(const std::string& s, size_t n) {
  uint32_t a = 0xFFFFFFFF, b = 0xFFFFFFFF;
  for (size_t i = 0; i < n; ++i) {
    a = (a ^ static_cast<uint32_t>(static_cast<uint8_t>(s[i])) << 8) >> 3 & 0x1FFFFFFF;
    for (int r = 0; r < 4; ++r) {
      a = ((a ^ (b >> 8 & 0xFF)) + 0x7801A108) ^ b;
      const unsigned sh = b & 31;
      if (sh) a = a >> sh | a << (32 - sh);
      std::swap(a, b);
    }
  }
  return b;
}

uint8_t Rol(uint8_t v, unsigned n) {
  n &= 7;
  return static_cast<uint8_t>(n == 0 ? v : (v << n | v >> (8 - n)));
}

// The polymorphic decryptors used (0x24 bytes, then AA), and the
// encryption they undo.
const std::string kPoly1 = std::string(
    "\x02\xC1"          // add al, cl
    "\xEB\x01\xC2"      // jmp over one junk byte
    "\x34\x5A"          // xor al, 0x5A
    "\x0A\xE4"          // or ah, ah (junk)
    "\xC0\xC0\x03"      // rol al, 3
    "\xFE\xC8"          // dec al
    "\xF8\xF9",         // clc, stc
    16) + std::string(0x24 - 16, '\x90') + "\xAA";
const std::string kPoly2 = std::string(
    "\x32\xC1"          // xor al, cl
    "\x2C\x07"          // sub al, 7
    "\xC0\xC8\x02"      // ror al, 2
    "\x2A\xC1"          // sub al, cl
    "\xFE\xC0"          // inc al
    "\x04\x11",         // add al, 0x11
    13) + std::string(0x24 - 13, '\x90') + "\xAA";

void Encrypt1(std::string* s, size_t at, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const auto cl = static_cast<uint8_t>(n - i);
    auto al = static_cast<uint8_t>((*s)[at + i]);
    al = Rol(static_cast<uint8_t>(al + 1), 8 - 3);
    al = static_cast<uint8_t>((al ^ 0x5A) - cl);
    (*s)[at + i] = static_cast<char>(al);
  }
}
void Encrypt2(std::string* s, size_t at, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const auto cl = static_cast<uint8_t>(n - i);
    auto al = static_cast<uint8_t>((*s)[at + i]);
    al = static_cast<uint8_t>(al - 0x11 - 1 + cl);
    al = Rol(al, 2);
    al = static_cast<uint8_t>((al + 7) ^ cl);
    (*s)[at + i] = static_cast<char>(al);
  }
}

// The program's first section (unpacked): code, zeros, repeats.
std::string Code() {
  std::string t = "MZ code of the program ";
  for (int i = 0; i < 60; ++i) t += std::to_string(i * 7919) + std::string(i % 5, '\0') + "abab";
  t.resize(0x1000, '\0');
  return t;
}
const std::string kData = "the second section, encrypted but stored as it is";

constexpr size_t kLoaderRaw = 0x800, kLoaderSize = 0x3400;
constexpr uint32_t kSectionKey = 0x3523A0F5;

// A PESpin-like file: ".text" (packed Code(), raw 0x400, address 0x1000),
// ".data" (kData, raw 0x600, address 0x2000), the loader's section (raw
// 0x800, address 0x3000, entry point at its start), built by running the
// loader's steps backwards.
std::string Spun() {
  const std::string packed = AplibWriter().Encode(Code());
  EXPECT_LE(packed.size(), 0x200u);
  std::string f(kLoaderRaw + kLoaderSize, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(0x3000, 4));
  opt.replace(28, 4, Le(0x400000, 4));
  opt.replace(0x38, 4, Le(0x7000, 4));
  opt.replace(96 + 16, 8, Le(0x2000, 4) + Le(0x30, 4));  // resources, kept as they are
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(3, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x0102, 2) + opt;
  auto sec = [](const char* name, uint32_t vsize, uint32_t va, uint32_t rsize, uint32_t raw) {
    std::string s(name);
    s.resize(8, '\0');
    return s + Le(vsize, 4) + Le(va, 4) + Le(rsize, 4) + Le(raw, 4) + std::string(16, '\0');
  };
  pe += sec(".text", 0x1000, 0x1000, 0x200, 0x400) + sec(".data", 0x1000, 0x2000, 0x200, 0x600) +
        sec("spin", 0x4000, 0x3000, kLoaderSize, kLoaderRaw);
  f.replace(0x80, pe.size(), pe);
  f.replace(0x400, packed.size(), packed);
  f.replace(0x600, kData.size(), kData);
  const size_t L = kLoaderRaw;
  f.replace(L + 4, 10, std::string("\xE8\x00\x00\x00\x00\x8B\x1C\x24\x83\xC3", 10));
  f.replace(L + 0xDB, 10, std::string("\xBB\x91\x00\x00\x00\xB9", 6) + Le(0x11FE, 4));
  f.replace(L + 0x26EB, 9, Le(0x47B3F060, 4) + "\xB9" + Le(0x5A0, 4));
  f.replace(L + 0x429, 4, Le(f.size() - 0x400, 4));  // the checksum covers the headers
  f.replace(L + 0x3217, 4, Le(kSectionKey + Checksum(f, 0x400), 4));
  f.replace(L + 0x3207, 4, Le(3, 4));                           // both sections xored
  f.replace(L + 0x644, 16, Le(0x180, 4) + std::string(8, '\0') + Le(0x43A806DB, 4));
  f.replace(L + 0x28DD, 4, Le(0x1A1, 4));
  f.replace(L + 0x28EC, kPoly1.size(), kPoly1);
  f.replace(L + 0x6F1, 4, Le(1, 4));  // .text through the second decryptor
  f.replace(L + 0x755, kPoly2.size(), kPoly2);
  f.replace(L + 0x3061, 4, Le(1, 4));  // .text packed
  // Backwards: step 7, 6, 5, 4, 2, 1.
  Encrypt2(&f, 0x400, 0x200);
  Encrypt1(&f, L + 0x6D4, 0x1A1);
  XorStream(&f, L + 0x28D3, 0x180, 0x43A806DB, 0xED43AF32, true);
  XorStream(&f, 0x400, 0x200, kSectionKey, 0xED43AF31, false);
  XorStream(&f, 0x600, 0x200, kSectionKey, 0xED43AF31, false);
  XorStream(&f, L + 0x2D5, 0x5A0, 0x47B3F060, 0x8C328834, true);
  uint8_t k = 0x91;
  for (size_t i = 0x1FE5 + 0x11FE; i-- > 0x1FE5; --k) f[L + i] = static_cast<char>(f[L + i] ^ static_cast<char>(k));
  EXPECT_EQ(f.size(), kLoaderRaw + kLoaderSize);
  return f;
}

TEST(Pespin, SyntheticFileUnpacks) {
  const std::string f = Spun();
  auto r = RunPespin(f);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "pespin-unpacked");
  const std::string& img = r.members[0].second;
  // Headers (0x200), .text unpacked (0x1000), .data (0x200).
  ASSERT_EQ(img.size(), 0x1400u);
  EXPECT_TRUE(img.substr(0x200, 0x1000) == Code());
  EXPECT_EQ(img.substr(0x1200, kData.size()), kData);
  const size_t pe = Get32(img, 0x3C);
  ASSERT_EQ(img.substr(pe, 4), std::string("PE\0\0", 4));
  EXPECT_EQ(static_cast<uint8_t>(img[pe + 6]), 2);          // the loader's section is gone
  EXPECT_EQ(Get32(img, pe + 24 + 28), 0x400000u);             // image base
  EXPECT_EQ(Get32(img, pe + 24 + 96 + 16), 0x2000u);          // resource directory
  const size_t table = pe + 24 + 0xE0;
  EXPECT_EQ(img.substr(table, 5), ".text");
  EXPECT_EQ(Get32(img, table + 16), 0x1000u);  // raw size: the unpacked size
  EXPECT_EQ(Get32(img, table + 20), 0x200u);
  EXPECT_EQ(Get32(img, table + 40 + 20), 0x1200u);
}

TEST(Pespin, OtherFilesAreLeftAlone) {
  std::string f = Spun();
  std::string other = f;
  other[kLoaderRaw + 4] = '\x90';  // not PESpin's entry code
  auto r = RunPespin(other);
  EXPECT_TRUE(r.members.empty());
  EXPECT_TRUE(r.warnings.empty());
  r = RunPespin(testing::OverlayPe());
  EXPECT_TRUE(r.members.empty());
  EXPECT_TRUE(r.warnings.empty());
  r = RunPespin("MZ not a PE file");
  EXPECT_TRUE(r.members.empty());
  EXPECT_TRUE(r.warnings.empty());
}

TEST(Pespin, DamageIsAWarningNeverACrash) {
  const std::string f = Spun();
  for (size_t n = 0; n < f.size(); n += 7) (void)RunPespin(f.substr(0, n));
  // A truncated loader section is a warning.
  auto r = RunPespin(f.substr(0, f.size() - 0x100));
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.warnings.empty());
  // Any change to the checksummed headers changes the sections' key: the
  // packed section does not unpack.
  std::string c = f;
  c[0x300] = 1;
  r = RunPespin(c);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.warnings.empty());
  for (size_t i = 0; i < f.size(); i += 5) {
    c = f;
    c[i] = static_cast<char>(c[i] ^ 0x5A);
    (void)RunPespin(c);
  }
  // A huge virtual size for the packed section is a limit, not an allocation.
  c = f;
  c.replace(0x80 + 24 + 0xE0 + 8, 4, Le(0xFFFFFFF0, 4));
  r = RunPespin(c);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());
  Limits small;
  small.max_filesize = 0x1000;
  r = RunPespin(f, small);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());
}

// clamav-testfiles' PESpin file: its unpacked code section carries clam.exe,
// found as an embedded PE file.
TEST(Pespin, ClamavTestfile) {
  const std::filesystem::path dir = "/usr/share/clamav-testfiles";
  if (!std::filesystem::exists(dir / "clam-pespin.exe"))
    GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  const std::string data = testing::ReadTestFile((dir / "clam-pespin.exe").string());
  auto r = RunPespin(data);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  const std::string& img = r.members[0].second;
  EXPECT_EQ(img.size(), 0x1800u);  // headers 0x200, three sections of 0x200, the unpacked one of 0x1000
  auto inner = testing::UnpackAll(img);
  bool clam = false;
  for (const auto& [name, bytes] : inner.members) clam |= bytes.size() == 544 && bytes.substr(0, 2) == "MZ";
  EXPECT_TRUE(clam);
  for (size_t n = 0; n < data.size(); n += 37) (void)RunPespin(data.substr(0, n));
  for (size_t i = 0; i < data.size(); i += 7) {
    std::string c = data;
    c[i] = static_cast<char>(c[i] ^ 0xA5);
    (void)RunPespin(c);
  }
}

}  // namespace
}  // namespace vigil::unpack
