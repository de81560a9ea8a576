#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

using testing::Le;

testing::RecordingSink RunYc(std::string_view data, Limits limits = {}) {
  auto sink = testing::RunReader(ReadYc, data, limits);
  EXPECT_TRUE(sink.reader_ok);
  return sink;
}

uint8_t Rol(uint8_t v, unsigned n) {
  n &= 7;
  return static_cast<uint8_t>(n == 0 ? v : (v << n | v >> (8 - n)));
}

// The two decryptors used here (0x30 bytes each, as the crypter makes
// them: a few steps, junk jumped over, nops), and the encryption that
// they undo, written from the instruction set's definition.
const std::string kFirst = std::string(
    "\x2A\xC1"       // sub al, cl
    "\xC0\xC0\x03"   // rol al, 3
    "\xEB\x02\xFF\xFF"  // jmp over two junk bytes
    "\x34\x5A"       // xor al, 0x5A
    "\xFE\xC8"       // dec al
    "\xF8\xF9",      // clc, stc
    15) + std::string(0x30 - 15, '\x90');
const std::string kSecond = std::string(
    "\x32\xC1"       // xor al, cl
    "\xD2\xC8"       // ror al, cl
    "\x04\x11"       // add al, 0x11
    "\xC0\xC8\x02"   // ror al, 2
    "\x02\xC1"       // add al, cl
    "\xD2\xC0"       // rol al, cl
    "\x2C\x07",      // sub al, 7
    15) + std::string(0x30 - 15, '\x90');

void EncryptFirst(std::string* s, size_t at, size_t n, uint32_t count) {
  auto cl = static_cast<uint8_t>(count);
  for (size_t i = 0; i < n; ++i, --cl) {
    auto al = static_cast<uint8_t>((*s)[at + i]);
    al = static_cast<uint8_t>(al + 1);
    al ^= 0x5A;
    al = Rol(al, 8 - 3);
    al = static_cast<uint8_t>(al + cl);
    (*s)[at + i] = static_cast<char>(al);
  }
}

void EncryptSecond(std::string* s, size_t at, size_t n, uint32_t count) {
  auto cl = static_cast<uint8_t>(count);
  for (size_t i = 0; i < n; ++i, --cl) {
    auto al = static_cast<uint8_t>((*s)[at + i]);
    al = static_cast<uint8_t>(al + 7);
    al = Rol(al, 8 - (cl & 7u));
    al = static_cast<uint8_t>(al - cl);
    al = Rol(al, 2);
    al = static_cast<uint8_t>(al - 0x11);
    al = Rol(al, cl);
    al ^= cl;
    (*s)[at + i] = static_cast<char>(al);
  }
}

constexpr uint32_t kLength = 0xB6B, kOep = 0x1234;

// The original file: ".text" (raw 0x400) and ".rsrc" (raw 0x600).
std::string Original(const std::string& text) {
  std::string f(0x800, '\0');
  f[0] = 'M';
  f[1] = 'Z';
  f.replace(0x3C, 4, Le(0x80, 4));
  std::string opt(0xE0, '\0');
  opt.replace(0, 2, Le(0x10B, 2));
  opt.replace(16, 4, Le(kOep, 4));
  opt.replace(0x38, 4, Le(0x3000, 4));  // SizeOfImage
  std::string pe = std::string("PE\0\0", 4) + Le(0x14C, 2) + Le(2, 2) + std::string(12, '\0') + Le(0xE0, 2) +
                   Le(0x0102, 2) + opt;
  auto sec = [](const char* name, uint32_t vsize, uint32_t va, uint32_t rsize, uint32_t raw) {
    std::string s(name);
    s.resize(8, '\0');
    return s + Le(vsize, 4) + Le(va, 4) + Le(rsize, 4) + Le(raw, 4) + std::string(16, '\0');
  };
  pe += sec(".text", 0x1000, 0x1000, 0x200, 0x400) + sec(".rsrc", 0x1000, 0x2000, 0x200, 0x600);
  f.replace(0x80, pe.size(), pe);
  f.replace(0x400, text.size(), text);
  f.replace(0x600, 12, "resource ok!");
  return f;
}

// The same file as yoda's Crypter (variant A) leaves it: ".text"
// encrypted, a "yC" section (raw 0x800, address 0x3000) with the loader.
std::string Crypted(const std::string& original) {
  std::string f = original;
  const size_t pe = 0x80, opt = pe + 24;
  f.replace(pe + 6, 2, Le(3, 2));
  f.replace(opt + 16, 4, Le(0x3060, 4));
  f.replace(opt + 0x38, 4, Le(0x4000, 4));
  f.replace(opt + 0x68, 8, Le(0x3A00, 4) + Le(0x50, 4));  // the loader's imports
  std::string sec = std::string("yC\0\0\0\0\0\0", 8) + Le(0x1000, 4) + Le(0x3000, 4) + Le(0xE00, 4) + Le(0x800, 4) +
                    std::string(16, '\0');
  f.replace(opt + 0xE0 + 80, 40, sec);
  EncryptSecond(&f, 0x400, 0x200, 0x200);
  std::string yc(0xE00, '\0');
  const uint32_t a = 0x401000, c = 0x402000;
  std::string ep = std::string("\x55\x8B\xEC\x53\x56\x57\x60\xE8\x00\x00\x00\x00\x5D\x81\xED", 15) + Le(a, 4) +
                   "\xB9" + Le(c + kLength, 4) + "\x81\xE9" + Le(c, 4) + "\x8B\xD5\x81\xC2" + Le(a - 0x6C + 0xC6, 4) +
                   std::string("\x8D\x3A\x8B\xF7\x33\xC0\xEB\x04\x90\xEB\x01\xC2\xAC", 13) + kFirst + "\xAA\xE2\xCC";
  yc.replace(0x60, ep.size(), ep);
  for (size_t i = 0xC6; i < 0xC6 + kLength; ++i) yc[i] = static_cast<char>(i * 31);  // the loader's body
  yc.replace(0x457, kSecond.size(), kSecond);
  yc.replace(0xA0F, 4, Le(kOep, 4));
  EncryptFirst(&yc, 0xC6, kLength, kLength);
  return f + yc;
}

std::string Text() {
  std::string t = "MZ the code section ";
  for (int i = 0; i < 40; ++i) t += std::to_string(i * 7919);
  return t;
}

TEST(Yc, SyntheticFileDecryptsIntoTheOriginal) {
  const std::string original = Original(Text()), crypted = Crypted(original);
  auto r = RunYc(crypted);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "yc-decrypted");
  // The original, but for the crypter's section entry left (unused) after
  // the table, as ClamAV leaves it.
  std::string expected = original;
  const size_t entry = 0x80 + 24 + 0xE0 + 80;
  expected.replace(entry, 40, crypted.substr(entry, 40));
  EXPECT_TRUE(r.members[0].second == expected);
}

TEST(Yc, OtherFilesAreLeftAlone) {
  std::string f = Crypted(Original(Text()));
  std::string plain = Original(Text());
  auto r = RunYc(plain);
  EXPECT_TRUE(r.members.empty());
  EXPECT_TRUE(r.warnings.empty());
  std::string no_marker = f;
  no_marker[0x800 + 0xC3] = '\x90';
  r = RunYc(no_marker);
  EXPECT_TRUE(r.members.empty());
  EXPECT_TRUE(r.warnings.empty());
}

TEST(Yc, DamageIsAWarningNeverACrash) {
  const std::string f = Crypted(Original(Text()));
  for (size_t n = 0; n < f.size(); n += 5) (void)RunYc(f.substr(0, n));
  // An instruction outside the crypter's set in the first decryptor.
  std::string bad = f;
  bad[0x800 + 0x93] = '\x0F';
  auto r = RunYc(bad);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.warnings.empty());
  // A jump going round for ever.
  std::string loop = f;
  loop.replace(0x800 + 0x93, 2, "\xEB\xFE");
  r = RunYc(loop);
  EXPECT_FALSE(r.warnings.empty());
  for (size_t i = 0; i < f.size(); i += 3) {
    std::string c = f;
    c[i] = static_cast<char>(c[i] ^ 0x5A);
    (void)RunYc(c);
  }
  // A file over the member limit is a limit, not an allocation.
  Limits small;
  small.max_filesize = 0x1000;
  r = RunYc(f, small);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());
}

// clamav-testfiles' yC file: its decrypted file is UPX-packed clam.exe,
// which the UPX reader unpacks in turn.
TEST(Yc, ClamavTestfile) {
  const std::filesystem::path dir = "/usr/share/clamav-testfiles";
  if (!std::filesystem::exists(dir / "clam-yc.exe")) GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  const std::string data = testing::ReadTestFile((dir / "clam-yc.exe").string());
  auto r = RunYc(data);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  const std::string& file = r.members[0].second;
  EXPECT_EQ(file.size(), 3072u);
  auto inner = testing::UnpackAll(file);
  bool upx = false;
  for (const auto& [name, bytes] : inner.members) upx |= name == "upx-unpacked";
  EXPECT_TRUE(upx);
  EXPECT_TRUE(inner.warnings.empty()) << inner.warnings.front();
  for (size_t n = 0; n < data.size(); n += 37) (void)RunYc(data.substr(0, n));
  for (size_t i = 0xC00; i < data.size(); i += 7) {
    std::string c = data;
    c[i] = static_cast<char>(c[i] ^ 0xA5);
    (void)RunYc(c);
  }
}

}  // namespace
}  // namespace vigil::unpack
