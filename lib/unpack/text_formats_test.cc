#include <gtest/gtest.h>

#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

// BinHex 4.0 encoding of `raw` (already run-length encoded).
std::string BinhexEncode(const std::string& raw) {
  static const std::string a = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = acc << 8 | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += a[(acc >> bits) & 63];
    }
  }
  if (bits) out += a[(acc << (6 - bits)) & 63];
  std::string lines;
  for (size_t i = 0; i < out.size(); i += 64) lines += out.substr(i, 64) + "\n";
  return "(This file must be converted with BinHex 4.0)\n:" + lines + ":\n";
}

std::string Be32(uint32_t v) { return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)}; }

TEST(Binhex, DataForkWithRunLength) {
  std::string data = "AB" + std::string(9, 'C') + "\x90" + "D";
  // Header: name, version, type, creator, flags, lengths, CRC.
  std::string raw = std::string(1, 5) + "x.exe" + std::string(1, '\0') + "TEXTttxt" + std::string(2, '\0') +
                    Be32(static_cast<uint32_t>(data.size())) + Be32(0) + std::string(2, '\0');
  // "C" then 0x90 0x09 repeats it to 9; a literal 0x90 is 0x90 0x00.
  raw += std::string("ABC\x90\x09\x90\x00" "D", 8) + std::string(4, '\0');
  std::string bh = BinhexEncode(raw);
  ASSERT_EQ(DetectType(bh), FileType::kBinhex);
  auto s = testing::UnpackAll(bh);
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].first, "x.exe");
  EXPECT_EQ(s.members[0].second, data);
}

TEST(Binhex, RunLengthBombStopsAtTheLimit) {
  std::string raw = std::string(1, 1) + "x" + std::string(1, '\0') + "TEXTttxt" + std::string(2, '\0') + Be32(0xFFFFFFFF) +
                    Be32(0) + std::string(2, '\0') + "Z";
  for (int i = 0; i < 20000; ++i) raw += std::string("\x90\xFF", 2);
  Limits l;
  l.max_filesize = 1 << 20;
  auto s = testing::UnpackAll(BinhexEncode(raw), l);
  EXPECT_TRUE(s.members.empty());
  ASSERT_FALSE(s.limits.empty());
  EXPECT_EQ(s.limits[0], LimitHit::kFileSize);
}

TEST(Html, DataUris) {
  std::string html = "<html><a href=\"data:application/octet-stream;base64,TVpQAAIAAAA=\">x</a>"
                     "<img src='data:text/plain,%41%42C'></html>";
  ASSERT_EQ(DetectType(html), FileType::kHtml);
  auto s = testing::UnpackAll(html);
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[0].second, std::string("MZP\0\x02\0\0\0", 8));
  EXPECT_EQ(s.members[1].second, "ABC");
}

TEST(Mail, Base64AttachmentAndInlineUuencode) {
  std::string mail =
      "From: a@example.com\nTo: b@example.com\nSubject: t\nMIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
      "--b1\nContent-Type: text/plain\n\nhello\nbegin 644 cat.txt\n#0V%T\n`\nend\n\n"
      "--b1\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename*=UTF-8''a%20b.exe\n"
      "Content-Transfer-Encoding: base64\n\nTVpQAAIAAAA=\n--b1--\n";
  ASSERT_EQ(DetectType(mail), FileType::kMail);
  auto s = testing::UnpackAll(mail);
  ASSERT_EQ(s.members.size(), 3u);
  EXPECT_EQ(s.members[1].first, "cat.txt");
  EXPECT_EQ(s.members[1].second, "Cat");
  EXPECT_EQ(s.members[2].first, "a b.exe");  // RFC 2231
  EXPECT_EQ(s.members[2].second, std::string("MZP\0\x02\0\0\0", 8));
}

}  // namespace
}  // namespace vigil::unpack
