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

constexpr uint32_t kVa = 0x401000;  // image base 0x400000, first section at 0x1000
constexpr uint8_t kMark = 0x77;     // the byte after E8/E9 of calls to fix

// Raw LZMA (lc=3 lp=0 pb=0) as Upack stores it: without the leading zero byte.
std::string UpackLzma(const std::string& in) {
  lzma_options_lzma opt{};
  lzma_lzma_preset(&opt, 6);
  opt.lc = 3;
  opt.lp = 0;
  opt.pb = 0;
  lzma_filter filters[2] = {{LZMA_FILTER_LZMA1, &opt}, {LZMA_VLI_UNKNOWN, nullptr}};
  std::string out(in.size() + 1024, '\0');
  size_t pos = 0;
  EXPECT_EQ(lzma_raw_buffer_encode(filters, nullptr, reinterpret_cast<const uint8_t*>(in.data()), in.size(),
                                   reinterpret_cast<uint8_t*>(out.data()), &pos, out.size()),
            LZMA_OK);
  EXPECT_EQ(out[0], '\0');
  return out.substr(1, pos - 1);
}

// Upack's call transform on the calls at `at` (E8 then a small u32): the
// byte after the opcode becomes kMark, the next three the target plus the
// position after them, big-endian.
std::string CallsPacked(std::string s, const std::vector<size_t>& at) {
  for (size_t k : at) {
    uint32_t v = static_cast<uint8_t>(s[k + 1]) | static_cast<uint8_t>(s[k + 2]) << 8;
    v += static_cast<uint32_t>(k + 1 + 4);
    s[k + 1] = static_cast<char>(kMark);
    s[k + 2] = static_cast<char>(v >> 16);
    s[k + 3] = static_cast<char>(v >> 8);
    s[k + 4] = static_cast<char>(v);
  }
  return s;
}

void Put(std::string* f, size_t at, const std::string& bytes) { f->replace(at, bytes.size(), bytes); }

// A file laid out as Upack 0.39 lays out its three sections and loader
// (see upack.cc): headers and loader in the first 0x400 bytes (at 0x1000 and
// again at 0x7000 in memory), the LZMA data as the second section (0x5000).
std::string UpackFile(const std::string& plain, uint32_t calls, uint8_t shift = 5) {
  std::string data = UpackLzma(plain);
  std::string f(0x400, '\0');
  Put(&f, 0, "MZ");
  Put(&f, 0x3C, Le(0x40, 4));
  Put(&f, 0x40, std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(3, 2));
  Put(&f, 0x40 + 20, Le(0x148, 2));
  Put(&f, 0x40 + 24, Le(0x10B, 2));
  Put(&f, 0x40 + 24 + 16, Le(0x1220, 4));    // entry point
  Put(&f, 0x40 + 24 + 28, Le(0x400000, 4));  // image base
  const size_t table = 0x40 + 24 + 0x148;
  Put(&f, table, std::string(8, 'a') + Le(0x4000, 4) + Le(0x1000, 4) + Le(0x400, 4) + Le(0, 4) + std::string(16, '\0'));
  Put(&f, table + 40,
      std::string(8, 'b') + Le(0x2000, 4) + Le(0x5000, 4) + Le(data.size(), 4) + Le(0x400, 4) + std::string(16, '\0'));
  Put(&f, table + 80,
      std::string(8, 'c') + Le(0x1000, 4) + Le(0x7000, 4) + Le(0x400, 4) + Le(0, 4) + std::string(16, '\0'));
  // Entry (0x220): mov esi, record; lodsd; push eax; ...; jmp short L (0x23C).
  Put(&f, 0x220, '\xBE' + Le(kVa + 0x300, 4) + "\xAD\x50");
  Put(&f, 0x22A, std::string("\xEB\x10", 2));
  const size_t loader = 0x23C;
  Put(&f, loader + 7, '\xBE' + Le(kVa + 0x320, 4));                   // the decoder table
  Put(&f, loader + 0x1A, std::string("\xEB\x00", 2));                  // to mov ch at L + 0x26
  Put(&f, loader + 0x26, "\xB5\x1C");                                  // mov ch, n
  Put(&f, loader + 0x2F, '\xE9' + Le(0x280 - loader - 0x34, 4));       // to the decoder (0x280)
  Put(&f, 0x280 + 24, std::string("\xC1\xED", 2) + static_cast<char>(shift));  // shr ebp, 8 - lc
  Put(&f, 0x280 + 42, std::string("\xE3\x00", 2));                     // jecxz
  Put(&f, 0x2AC + 8, '\xE9' + Le(0x2E0 - 0x2AC - 40, 4));              // to cmp al, v (at 0x2E0)
  f[0x2E0] = static_cast<char>(kMark);
  Put(&f, 0x300, Le(kVa + 0x10, 4) + Le(0, 4) + Le(kVa, 4));  // original entry point 0x1010
  Put(&f, 0x320 + 0x98, Le(kVa + 0x4000, 4));                 // the LZMA data
  Put(&f, 0x320 + 0x9C + 4, Le(calls, 4));
  Put(&f, 0x320 + 0x9C + 0xC, Le(kVa, 4));                    // output start
  Put(&f, 0x320 + 0x9C + 0x34, Le(kVa + plain.size(), 4));    // output end
  return f + data;
}

testing::RecordingSink ReadUpackInto(std::string_view data, Limits limits = {}) {
  auto sink = testing::RunReader(ReadUpack, data, limits);
  EXPECT_TRUE(sink.reader_ok);
  return sink;
}

std::string Plain() {
  std::string s = "MZ upack plain text\n";
  for (int i = 0; i < 60; ++i) s += "row " + std::to_string(i % 9) + std::string(i % 4, '\0') + "klmnopq";
  return s;
}

TEST(Upack, LzmaDataUnpacksIntoTheImage) {
  std::string plain = Plain() + std::string("\xE8\x34\x12\x00\x00", 5) + "gap" +
                      std::string("\xE9\x10\x00\x00\x00", 5) + Plain();
  const size_t first = Plain().size(), second = first + 8;
  auto r = ReadUpackInto(UpackFile(CallsPacked(plain, {first, second}), 2));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "upack-unpacked");
  const std::string& file = r.members[0].second;
  EXPECT_EQ(file.substr(0, 2), "MZ");
  EXPECT_EQ(file.substr(0x40, 4), std::string("PE\0\0", 4));
  EXPECT_EQ(file.substr(0x58 + 16, 4), Le(0x1010, 4));
  ASSERT_GE(file.size(), 0x200 + plain.size());
  EXPECT_EQ(file.substr(0x200, plain.size()), plain);
}

TEST(Upack, ZipInTheImageIsFoundAsZipSfx) {
  std::string zip = std::string("PK\3\4", 4) + std::string(30, 'z') + std::string("PK\5\6", 4) + std::string(18, '\0');
  auto r = ReadUpackInto(UpackFile(Plain() + zip + "after", 0));
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(testing::SfxZip(r.members[0].second), zip);
}

TEST(Upack, OtherFilesAndBuildsAreLeftAloneOrWarned) {
  std::string f = UpackFile(Plain(), 0);
  std::string plain_pe = f;
  plain_pe[0x220] = '\x55';  // push ebp: not Upack's entry
  auto none = ReadUpackInto(plain_pe);
  EXPECT_TRUE(none.members.empty());
  EXPECT_TRUE(none.warnings.empty());
  std::string big_lc = UpackFile(Plain(), 0, /*shift=*/2);  // lc 6: beyond liblzma
  auto lc = ReadUpackInto(big_lc);
  EXPECT_TRUE(lc.members.empty());
  ASSERT_FALSE(lc.warnings.empty());
  EXPECT_NE(lc.warnings[0].find("literal context 6"), std::string::npos);
  std::string no_decoder = f;
  no_decoder[0x280 + 42] = '\x90';
  auto odd = ReadUpackInto(no_decoder);
  EXPECT_TRUE(odd.members.empty());
  EXPECT_FALSE(odd.warnings.empty());
}

void NoCrash(const std::string& f, size_t from) {
  for (size_t n = 0; n < f.size(); n += (n < from ? 5 : 1)) (void)ReadUpackInto(std::string_view(f).substr(0, n));
  uint32_t seed = 7;
  for (int round = 0; round < 3000; ++round) {
    std::string g = f;
    for (int k = 0; k < 1 + round % 4; ++k) {
      seed = seed * 1103515245u + 12345u;
      size_t at = (round % 2 ? 0x200 : 0) + (seed >> 8) % (g.size() - 0x200);
      g[at] = static_cast<char>(g[at] ^ (1 << (seed >> 4 & 7)));
    }
    (void)ReadUpackInto(g);
  }
}

TEST(Upack, TruncatedAndCorruptInputNeverCrashes) {
  std::string f = UpackFile(Plain() + Plain(), 3);
  NoCrash(f, 0x200);
  auto cut = ReadUpackInto(std::string_view(f).substr(0, f.size() - 40));
  EXPECT_FALSE(cut.warnings.empty());
  EXPECT_EQ(cut.members.size(), 1u);
}

TEST(Upack, MemberLimitIsKept) {
  Limits small;
  small.max_filesize = 0x1000;
  auto r = ReadUpackInto(UpackFile(Plain(), 0), small);
  for (const auto& [name, data] : r.members) EXPECT_LE(data.size(), 0x1000u);
}

TEST(Upack, ClamavTestfile) {
  const std::filesystem::path path = "/usr/share/clamav-testfiles/clam-upack.exe";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "clamav-testfiles is not installed (no clam-upack.exe)";
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  auto r = testing::UnpackAll(data);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "upack-unpacked");
  EXPECT_EQ(r.members[0].second.size(), 0x200u + 0x4200u);
  auto zip = testing::UnpackAll(testing::SfxZip(r.members[0].second));
  bool found = false;
  for (const auto& [name, bytes] : zip.members)
    if (bytes.size() == 544 && bytes.substr(0, 2) == "MZ") found = true;
  EXPECT_TRUE(found);
  NoCrash(data, 0x200);
}

}  // namespace
}  // namespace vigil::unpack
