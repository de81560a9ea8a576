#include <gtest/gtest.h>
#include <lzma.h>

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

// An aPLib encoder written from the format's description (the inverse of
// the reader's decoder): 8-bit tags reserved in the output when their first
// bit is written, bytes interleaved; greedy matching with a plain search.
// Uses every code: literals, 10 (gamma offsets), 110 (short matches), 111
// (zero bytes).
class AplibWriter {
 public:
  std::string Encode(const std::string& in) {
    out_.push_back(in[0]);
    bool after_match = false;
    size_t i = 1;
    while (i < in.size()) {
      size_t best_len = 0, best_off = 0;
      for (size_t off = 1; off <= std::min<size_t>(i, 1200); ++off) {
        size_t n = 0;
        while (i + n < in.size() && in[i + n] == in[i + n - off] && n < 200) ++n;
        if (n > best_len) best_len = n, best_off = off;
      }
      if (best_len >= 4) {  // 10: gamma-coded offset
        Bit(1), Bit(0);
        Gamma((best_off >> 8) + (after_match ? 2 : 3));
        out_.push_back(static_cast<char>(best_off & 0xFF));
        Gamma(best_len - (best_off < 128 ? 2 : 0));
        after_match = true;
        i += best_len;
      } else if (best_len >= 2 && best_off < 128) {  // 110: short match
        size_t len = std::min<size_t>(best_len, 3);
        Bit(1), Bit(1), Bit(0);
        out_.push_back(static_cast<char>(best_off << 1 | (len - 2)));
        after_match = true;
        i += len;
      } else if (in[i] == '\0') {  // 111 0000: a zero byte
        Bit(1), Bit(1), Bit(1);
        for (int k = 0; k < 4; ++k) Bit(0);
        after_match = false;
        ++i;
      } else {
        Bit(0);
        out_.push_back(in[i++]);
        after_match = false;
      }
    }
    Bit(1), Bit(1), Bit(0);
    out_.push_back('\0');  // offset 0: the end
    return out_;
  }

 private:
  void Gamma(uint64_t v) {
    int top = 63;
    while (!(v >> top & 1)) --top;
    for (int b = top - 1; b >= 0; --b) {
      Bit(static_cast<int>(v >> b & 1));
      Bit(b == 0 ? 0 : 1);
    }
  }
  void Bit(int b) {
    if (left_ == 0) {
      tag_at_ = out_.size();
      out_.push_back('\0');
      left_ = 8;
    }
    --left_;
    if (b) out_[tag_at_] = static_cast<char>(out_[tag_at_] | 1 << left_);
  }
  std::string out_;
  size_t tag_at_ = 0;
  int left_ = 0;
};

// Raw LZMA (lc=4 lp=0 pb=2), as MEW's LZMA stage stores it.
std::string LzmaRaw(const std::string& in) {
  lzma_options_lzma opt{};
  lzma_lzma_preset(&opt, 6);
  opt.lc = 4;
  opt.lp = 0;
  opt.pb = 2;
  lzma_filter filters[2] = {{LZMA_FILTER_LZMA1, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
  std::string out(in.size() + 1024, '\0');
  size_t pos = 0;
  EXPECT_EQ(lzma_raw_buffer_encode(filters, nullptr, reinterpret_cast<const uint8_t*>(in.data()), in.size(),
                                   reinterpret_cast<uint8_t*>(out.data()), &pos, out.size()),
            LZMA_OK);
  out.resize(pos);
  return out;
}

// MEW's call transform (what the reader undoes): the u32 after each E8/E9
// becomes big-endian and relative to the byte after the opcode's position.
std::string CallsPacked(std::string s) {
  for (size_t k = 0; k + 5 < s.size(); ++k) {
    if (s[k] != '\xE8' && s[k] != '\xE9') continue;
    uint32_t v = static_cast<uint8_t>(s[k + 1]) | static_cast<uint8_t>(s[k + 2]) << 8 |
                 static_cast<uint8_t>(s[k + 3]) << 16 | static_cast<uint32_t>(static_cast<uint8_t>(s[k + 4])) << 24;
    v += static_cast<uint32_t>(k + 1);
    for (int j = 0; j < 4; ++j) s[k + 1 + j] = static_cast<char>(v >> (24 - 8 * j));
    k += 4;
  }
  return s;
}

constexpr uint32_t kBase = 0x400000;

// A MEW-like file: PE header at 0x0C, an empty section at 0x1000 (0x5000
// bytes) and the packed section at 0x6000 (raw at 0x200) whose record (at
// +0x10) lists `blocks` (image offset, bytes) as aPLib blocks, then the
// bytes of `stage` (an LZMA stage) when it is not empty, with the loader's
// call at +0x7B pointing at image offset 0.
std::string MewFile(const std::vector<std::pair<uint32_t, std::string>>& blocks, const std::string& stage = "") {
  std::string body(0x10, '\0');
  body += Le(kBase + 0x100, 4) + Le(kBase + 0x1000 + 0x20, 4) + Le(kBase + 0x1000 + blocks[0].first, 4);
  for (size_t i = 0; i < blocks.size(); ++i) {
    body += AplibWriter().Encode(blocks[i].second);
    body += Le(i + 1 < blocks.size() ? kBase + 0x1000 + blocks[i + 1].first : 0, 4);
  }
  body += stage;
  const uint32_t ep = 0x6000 + static_cast<uint32_t>(body.size());
  body += '\xE9' + Le(0x154 - (ep + 5), 4);
  std::string f(0x200, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x0C, 4, std::string("PE\0\0", 4));
  f.replace(0x10, 2, Le(0x14C, 2));
  f.replace(0x12, 2, Le(2, 2));
  f.replace(0x20, 2, Le(0xE0, 2));
  f.replace(0x24, 2, Le(0x10B, 2));
  f.replace(0x24 + 16, 4, Le(ep, 4));
  f.replace(0x24 + 28, 4, Le(kBase, 4));
  f.replace(0x3C, 4, Le(0x0C, 4));  // e_lfanew, in the optional header
  std::string secs = std::string("MEW\0\0\0\0\0", 8) + Le(0x5000, 4) + Le(0x1000, 4) + Le(0, 4) + Le(0, 4) +
                     std::string(16, '\0') + std::string(".b\0\0\0\0\0\0", 8) + Le(0x1000, 4) + Le(0x6000, 4) +
                     Le(body.size(), 4) + Le(0x200, 4) + std::string(16, '\0');
  f.replace(0x104, secs.size(), secs);
  f.replace(0x154, 5, '\xBE' + Le(kBase + 0x6010, 4));  // mov esi, record
  if (!stage.empty()) f.replace(0x154 + 0x7B, 5, '\xE8' + Le(0x1000 - (0x154 + 0x80), 4));
  return f + body;
}

testing::RecordingSink ReadMewInto(std::string_view data, Limits limits = {}) {
  auto sink = testing::RunReader(ReadMew, data, limits);
  EXPECT_TRUE(sink.reader_ok);
  return sink;
}

// The image part of a "mew-unpacked" member (behind its 0x200 bytes of headers).
std::string ImageOf(const testing::RecordingSink& r) {
  for (const auto& [name, data] : r.members)
    if (name == "mew-unpacked") return data.substr(0x200);
  return "";
}

std::string Sample() {
  std::string s = "MZ sample text, sample text, sample text\n";
  for (int i = 0; i < 40; ++i) s += "line " + std::to_string(i % 7) + std::string(i % 5, '\0') + "abcdefgh";
  return s;
}

TEST(Mew, AplibBlocksUnpackIntoTheImage) {
  std::string a = Sample(), b = std::string(3000, 'x') + Sample() + std::string(600, '\0') + "end";
  auto r = ReadMewInto(MewFile({{0, a}, {0x2000, b}}));
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  const std::string& file = r.members[0].second;
  EXPECT_EQ(file.substr(0, 2), "MZ");
  EXPECT_EQ(file.substr(0x40, 4), std::string("PE\0\0", 4));
  EXPECT_EQ(file[0x58 + 16], '\x20');  // entry point 0x1020
  std::string image = ImageOf(r);
  ASSERT_GE(image.size(), 0x2000 + b.size());
  EXPECT_EQ(image.substr(0, a.size()), a);
  EXPECT_EQ(image.substr(a.size(), 0x2000 - a.size()), std::string(0x2000 - a.size(), '\0'));
  EXPECT_EQ(image.substr(0x2000, b.size()), b);
  EXPECT_EQ(image.size() % 0x200, 0u);
}

TEST(Mew, ZipInTheImageIsFoundAsZipSfx) {
  std::string zip = std::string("PK\3\4", 4) + std::string(40, 'z') + std::string("PK\5\6", 4) + std::string(16, '\0') +
                    Le(3, 2) + "cmt";
  auto r = ReadMewInto(MewFile({{0, Sample() + zip + std::string(300, '\0')}}));
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(testing::SfxZip(r.members[0].second), zip);
}

TEST(Mew, LzmaStageStreams) {
  // Two streams one after the other, ended by a zero length.
  std::string code = "lzma code, no push here";
  std::string one = Sample() + Sample(), two = std::string(5000, 'q') + "two";
  std::string p1 = LzmaRaw(one), p2 = LzmaRaw(two);
  std::string stage = Le(kBase + 0x5000, 4) + Le(one.size(), 4) + Le(kBase + 0x1100, 4) + Le(p1.size(), 4) + '\0' +
                      p1 + Le(two.size(), 4) + Le(kBase + 0x3000, 4) + Le(p2.size(), 4) + '\0' + p2 + Le(0, 4);
  auto r = ReadMewInto(MewFile({{0, code}}, stage));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  std::string image = ImageOf(r);
  ASSERT_GE(image.size(), 0x2000 + two.size());
  EXPECT_EQ(image.substr(0, code.size()), code);
  EXPECT_EQ(image.substr(0x100, one.size()), one);
  EXPECT_EQ(image.substr(0x2000, two.size()), two);
}

TEST(Mew, LzmaStageWithCallFixUps) {
  // The stage's code has "push eax" at +8: one stream, then the calls fixed.
  std::string code = "12345678\x50 lzma code";
  std::string plain = Sample() + "\xE8\x10\x20\x30\x40 and " + std::string("\xE9\x01\x00\x00\x00 calls", 11) + Sample();
  std::string packed = LzmaRaw(CallsPacked(plain));
  std::string stage = Le(plain.size(), 4) + Le(kBase + 0x5000, 4) + Le(plain.size(), 4) + Le(kBase + 0x1800, 4) +
                      Le(packed.size(), 4) + '\0' + packed;
  auto r = ReadMewInto(MewFile({{0, code}}, stage));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  std::string image = ImageOf(r);
  ASSERT_GE(image.size(), 0x800 + plain.size());
  EXPECT_EQ(image.substr(0x800, plain.size()), plain);
}

TEST(Mew, OtherFilesAreLeftAlone) {
  std::string f = MewFile({{0, Sample()}});
  std::string not_jmp = f;
  not_jmp[not_jmp.size() - 5] = '\x90';
  std::string no_esi = f;
  no_esi[0x154] = '\x90';
  for (const std::string& g : {not_jmp, no_esi, std::string("MZ") + std::string(200, '\0')}) {
    auto r = ReadMewInto(g);
    EXPECT_TRUE(r.members.empty());
    EXPECT_TRUE(r.warnings.empty());
  }
}

TEST(Mew, TruncatedAndCorruptInputNeverCrashes) {
  std::string f = MewFile({{0, Sample()}, {0x3000, Sample() + Sample()}},
                          Le(kBase + 0x5000, 4) + Le(100, 4) + Le(kBase + 0x4000, 4) + Le(40, 4) + '\0' +
                              LzmaRaw(std::string(100, 'l')) + Le(0, 4));
  for (size_t n = 0; n < f.size(); n += (n < 0x200 ? 7 : 1)) (void)ReadMewInto(std::string_view(f).substr(0, n));
  // An LZMA stream cut short (the rest of the file still in place).
  std::string lz = LzmaRaw(Sample() + Sample());
  auto cut = ReadMewInto(MewFile({{0, Sample()}}, Le(kBase + 0x5000, 4) + Le(2 * Sample().size(), 4) +
                                                      Le(kBase + 0x4000, 4) + Le(lz.size(), 4) + '\0' +
                                                      lz.substr(0, lz.size() / 2)));
  EXPECT_FALSE(cut.warnings.empty());
  EXPECT_EQ(cut.members.size(), 1u);
  uint32_t seed = 1;
  for (int round = 0; round < 3000; ++round) {
    std::string g = f;
    for (int k = 0; k < 1 + round % 4; ++k) {
      seed = seed * 1103515245u + 12345u;
      size_t at = 0x200 + (seed >> 8) % (g.size() - 0x200);
      g[at] = static_cast<char>(g[at] ^ (1 << (seed >> 4 & 7)));
    }
    auto r = ReadMewInto(g);
    for (const auto& [name, data] : r.members) EXPECT_LE(data.size(), 0x200u + 0x6000u);
  }
}

TEST(Mew, MemberLimitIsKept) {
  Limits small;
  small.max_filesize = 0x1000;
  auto r = ReadMewInto(MewFile({{0, Sample()}, {0x3000, Sample()}}), small);
  for (const auto& [name, data] : r.members) EXPECT_LE(data.size(), 0x1000u);
}

TEST(Mew, ClamavTestfile) {
  const std::filesystem::path path = "/usr/share/clamav-testfiles/clam-mew.exe";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "clamav-testfiles is not installed (no clam-mew.exe)";
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  auto r = testing::UnpackAll(data);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "mew-unpacked");
  EXPECT_EQ(r.members[0].second.size(), 0x200u + 0x5000u);
  // The image carries a ZIP archive holding clam.exe (544 bytes), deflated.
  auto zip = testing::UnpackAll(testing::SfxZip(r.members[0].second));
  bool found = false;
  for (const auto& [name, bytes] : zip.members)
    if (bytes.size() == 544 && bytes.substr(0, 2) == "MZ") found = true;
  EXPECT_TRUE(found);
  // Truncations of the real file: no crash.
  for (size_t n = 0; n < data.size(); n += 3) (void)ReadMewInto(std::string_view(data).substr(0, n));
}

}  // namespace
}  // namespace vigil::unpack
