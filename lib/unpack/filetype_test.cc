#include "unpack/filetype.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::unpack {
namespace {

using namespace std::literals;

FileType Of(std::string s) {
  s.resize(std::max<size_t>(s.size(), 64), '\0');
  return DetectType(s);
}

TEST(FileType, ArchiveMagic) {
  EXPECT_EQ(Of("PK\x03\x04"s), FileType::kZip);
  EXPECT_EQ(Of("PK\x05\x06"s), FileType::kZip);
  EXPECT_EQ(Of("7z\xBC\xAF\x27\x1C"s), FileType::k7z);
  EXPECT_EQ(Of("Rar!\x1A\x07\x00"s), FileType::kRar);
  EXPECT_EQ(Of("Rar!\x1A\x07\x01\x00"s), FileType::kRar);
  EXPECT_EQ(Of("MSCF\0\0\0\0"s), FileType::kCab);
  EXPECT_EQ(Of("!<arch>\n"s), FileType::kAr);
  EXPECT_EQ(Of("xar!"s), FileType::kXar);
  EXPECT_EQ(Of("070701"s), FileType::kCpio);
  EXPECT_EQ(Of("070707"s), FileType::kCpio);
  EXPECT_EQ(Of("\xC7\x71"s), FileType::kCpio);
  EXPECT_EQ(Of("xx-lh5-"s), FileType::kLha);
  EXPECT_EQ(Of("\x1F\x8B\x08"s), FileType::kGzip);
  EXPECT_EQ(Of("BZh9"s), FileType::kBzip2);
  EXPECT_EQ(Of("BZhx"s), FileType::kUnknown);
  EXPECT_EQ(Of("\xFD" "7zXZ\0"s), FileType::kXz);
  EXPECT_EQ(Of("\x28\xB5\x2F\xFD"s), FileType::kZstd);
  EXPECT_EQ(Of("\x5D\0\0\x80\0\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"s), FileType::kLzma);
}

TEST(FileType, TarByUstarOrChecksum) {
  std::string h(512, '\0');
  h.replace(0, 5, "hello");
  h.replace(257, 5, "ustar");
  EXPECT_EQ(DetectType(h), FileType::kTar);
  // Old-style header: no magic, a right checksum.
  std::string old(512, '\0');
  old.replace(0, 5, "hello");
  old.replace(100, 7, "0000644");
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(old[i]);
  char cks[8];
  std::snprintf(cks, sizeof cks, "%06o", sum);
  old.replace(148, 6, cks, 6);
  old[154] = '\0';
  old[155] = ' ';
  EXPECT_EQ(DetectType(old), FileType::kTar);
  old[0] = 'j';  // checksum now wrong
  EXPECT_EQ(DetectType(old), FileType::kUnknown);
}

TEST(FileType, Iso9660AtSector16) {
  std::string iso(0x8010, '\0');
  iso.replace(0x8001, 5, "CD001");
  EXPECT_EQ(DetectType(iso), FileType::kIso9660);
}

TEST(FileType, PeNeedsTheCoffHeader) {
  std::string pe(0x200, '\0');
  pe.replace(0, 2, "MZ");
  pe[0x3C] = '\x80';
  EXPECT_EQ(DetectType(pe), FileType::kUnknown);  // "MZ" alone is not a PE
  pe.replace(0x80, 4, "PE\0\0"s);
  EXPECT_EQ(DetectType(pe), FileType::kPe);
}

TEST(FileType, DocumentsAndMail) {
  EXPECT_EQ(Of("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"s), FileType::kOle2);
  EXPECT_EQ(Of("%PDF-1.4\n"), FileType::kPdf);
  EXPECT_EQ(Of("{\\rtf1\\ansi"), FileType::kRtf);
  EXPECT_EQ(Of("From someone@example.com Mon Jan 1 00:00:00 2024\n"), FileType::kMail);
  EXPECT_EQ(Of("Received: from x\nSubject: y\n\nbody"), FileType::kMail);
  EXPECT_EQ(Of("Subjectless: no\n"), FileType::kUnknown);
  EXPECT_EQ(Of("  <html><body>hi</body></html>"), FileType::kHtml);
  EXPECT_EQ(Of("(This file must be converted with BinHex 4.0)\n:abc"), FileType::kBinhex);
  EXPECT_EQ(Of("ITSF\x03\0\0\0"s), FileType::kChm);
  EXPECT_EQ(Of("SZDD\x88\xF0\x27\x33"s), FileType::kSzdd);
  EXPECT_EQ(Of("\x78\x9F\x3E\x22"s), FileType::kTnef);
}

TEST(FileType, NeverTheNameAndNothingForPlainData) {
  EXPECT_EQ(DetectType(""), FileType::kUnknown);
  EXPECT_EQ(DetectType("P"), FileType::kUnknown);
  EXPECT_EQ(Of("just some text that is not a container"), FileType::kUnknown);
}

}  // namespace
}  // namespace vigil::unpack
