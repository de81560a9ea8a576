#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

using testing::UnpackAll;

// A ustar archive written by hand.
std::string Tar(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  for (const auto& [name, data] : files) {
    std::string h(512, '\0');
    h.replace(0, name.size(), name);
    h.replace(100, 7, "0000644");
    char size[13];
    std::snprintf(size, sizeof size, "%011o", static_cast<unsigned>(data.size()));
    h.replace(124, 11, size);
    h.replace(136, 11, "00000000000");
    h[156] = '0';
    h.replace(257, 6, std::string("ustar\0", 6));
    h.replace(263, 2, "00");
    unsigned sum = 0;
    for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    char cks[8];
    std::snprintf(cks, sizeof cks, "%06o", sum);
    h.replace(148, 6, cks, 6);
    h[154] = '\0';
    h[155] = ' ';
    out += h + data + std::string((512 - data.size() % 512) % 512, '\0');
  }
  return out + std::string(1024, '\0');
}

std::string Gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Archive, TarMembersInOrder) {
  auto s = UnpackAll(Tar({{"a.txt", "hello"}, {"dir/b.bin", std::string(700, 'x')}}));
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[0].first, "a.txt");
  EXPECT_EQ(s.members[0].second, "hello");
  EXPECT_EQ(s.members[1].first, "dir/b.bin");
  EXPECT_EQ(s.members[1].second.size(), 700u);
  EXPECT_TRUE(s.warnings.empty());
}

TEST(Archive, TarGzIsReadAsTar) {
  auto s = UnpackAll(Gzip(Tar({{"a.txt", "hello"}})));
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].second, "hello");
}

TEST(Archive, LoneGzipIsOneMember) {
  // Zeros first: a tar reader would take them for an empty archive.
  std::string data = std::string(2048, '\0') + "payload";
  auto s = UnpackAll(Gzip(data));
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].second, data);
}

TEST(Archive, TruncatedGzipIsScannedAsFarAsItGoes) {
  std::string tar = Tar({{"first", "first member"}, {"second", std::string(100000, 'r')}});
  std::string gz = Gzip(tar);
  std::string cut = gz.substr(0, gz.size() - 20);
  auto s = UnpackAll(cut);
  ASSERT_FALSE(s.members.empty());
  EXPECT_FALSE(s.warnings.empty());
}

TEST(Archive, MemberOverMaxFilesizeIsSkipped) {
  Limits l;
  l.max_filesize = 1000;
  auto s = UnpackAll(Tar({{"big", std::string(5000, 'b')}, {"small", "small"}}), l);
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].first, "small");
  ASSERT_EQ(s.limits.size(), 1u);
  EXPECT_EQ(s.limits[0], LimitHit::kFileSize);
}

TEST(Archive, StreamOverMaxFilesizeStopsAtTheLimit) {
  Limits l;
  l.max_filesize = 1 << 20;
  auto s = UnpackAll(Gzip(std::string(8 << 20, '\0')), l);
  EXPECT_TRUE(s.members.empty());
  ASSERT_FALSE(s.limits.empty());
  EXPECT_EQ(s.limits[0], LimitHit::kFileSize);
}

TEST(Archive, MaxFilesEndsExtraction) {
  Limits l;
  l.max_files = 2;
  auto s = UnpackAll(Tar({{"1", "one"}, {"2", "two"}, {"3", "three"}, {"4", "four"}}), l);
  EXPECT_EQ(s.members.size(), 2u);
  ASSERT_EQ(s.limits.size(), 1u);
  EXPECT_EQ(s.limits[0], LimitHit::kFiles);
}

TEST(Archive, SinkCanStopTheReader) {
  testing::RecordingSink sink;
  sink.stop_after = 1;
  Budget budget{Limits{}};
  Context ctx{budget, sink, 1};
  std::string tar = Tar({{"1", "one"}, {"2", "two"}});
  ASSERT_TRUE(Unpack(FileType::kTar, tar, MemberKind::kFile, ctx).ok());
  EXPECT_EQ(sink.members.size(), 1u);
}

TEST(Archive, ArByHand) {
  std::string ar = "!<arch>\n";
  auto add = [&](std::string name, std::string data) {
    char h[61];
    std::snprintf(h, sizeof h, "%-16s%-12d%-6d%-6d%-8s%-10zu`\n", (name + "/").c_str(), 0, 0, 0, "100644",
                  data.size());
    ar += std::string(h, 60) + data + (data.size() % 2 ? "\n" : "");
  };
  add("x.o", "object");
  add("y.txt", "odd");
  auto s = UnpackAll(ar);
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[1].second, "odd");
}

TEST(Archive, GarbageAfterMagicIsAWarningNotACrash) {
  for (std::string magic : {std::string("PK\x03\x04", 4), std::string("7z\xBC\xAF\x27\x1C", 6),
                            std::string("Rar!\x1A\x07\x00", 7), std::string("MSCF\0\0\0\0", 8),
                            std::string("\x1F\x8B\x08\x00", 4), std::string("xar!", 4)}) {
    std::string d = magic + std::string(300, '\x7f');
    auto s = UnpackAll(d);
    EXPECT_TRUE(s.members.size() <= 1) << TypeName(DetectType(d));
  }
}

// A one-member zip by hand with compression `method` and `comp` as data.
std::string Zip(const std::string& name, uint16_t method, const std::string& comp, const std::string& plain) {
  auto le16 = [](uint16_t v) { return std::string{static_cast<char>(v), static_cast<char>(v >> 8)}; };
  auto le32 = [](uint32_t v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
  };
  uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(plain.data()), static_cast<uInt>(plain.size())));
  auto n = static_cast<uint16_t>(name.size());
  std::string local = le32(0x04034B50) + le16(20) + le16(0) + le16(method) + le32(0) + le32(crc) +
                      le32(static_cast<uint32_t>(comp.size())) + le32(static_cast<uint32_t>(plain.size())) + le16(n) +
                      le16(0) + name + comp;
  std::string cd = le32(0x02014B50) + le16(20) + le16(20) + le16(0) + le16(method) + le32(0) + le32(crc) +
                   le32(static_cast<uint32_t>(comp.size())) + le32(static_cast<uint32_t>(plain.size())) + le16(n) +
                   le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(0) + name;
  return local + cd + le32(0x06054B50) + le16(0) + le16(0) + le16(1) + le16(1) + le32(static_cast<uint32_t>(cd.size())) +
         le32(static_cast<uint32_t>(local.size())) + le16(0);
}

TEST(Archive, ZipDeflate64MembersAreDecodedByOurInflater) {
  // Stored deflate blocks are valid Deflate64 as well; libarchive refuses method 9.
  std::string plain = "deflate64 member " + std::string(3000, 'q');
  z_stream z{};
  deflateInit2(&z, 0, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string comp(deflateBound(&z, plain.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(plain.data());
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(comp.data());
  z.avail_out = static_cast<uInt>(comp.size());
  deflate(&z, Z_FINISH);
  comp.resize(z.total_out);
  deflateEnd(&z);
  auto s = UnpackAll(Zip("d64.bin", 9, comp, plain));
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].first, "d64.bin");
  EXPECT_EQ(s.members[0].second, plain);
  // A central directory pointing past the end is skipped, not read.
  std::string bad = Zip("d64.bin", 9, comp, plain);
  bad[bad.size() - 6] = '\xff';
  bad[bad.size() - 5] = '\xff';
  (void)UnpackAll(bad);
}

TEST(MemberBuffer, NeverPassesTheCap) {
  Limits l;
  l.max_filesize = 10;
  Budget b(l);
  MemberBuffer buf(b);
  LimitHit hit = LimitHit::kNone;
  EXPECT_TRUE(buf.Append("0123456789", 10, &hit));
  EXPECT_FALSE(buf.Append("x", 1, &hit));
  EXPECT_EQ(hit, LimitHit::kFileSize);
  size_t got = 0;
  char* p = buf.Extend(100, &got, &hit);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(got, 1u);  // one byte past the cap shows the overflow
  EXPECT_EQ(buf.Over(), LimitHit::kFileSize);
  EXPECT_EQ(buf.Extend(100, &got, &hit), nullptr);
}

TEST(EmbeddedPe, FoundFromItsStartToTheEnd) {
  std::string pe(0x100, '\0');
  pe.replace(0, 2, "MZ");
  pe[0x3C] = '\x40';
  pe.replace(0x40, 4, std::string("PE\0\0", 4));
  pe[0x46] = 1;  // one section
  std::string outer = pe + "padding" + pe + "tail";
  EXPECT_TRUE(PeAt(outer, 0));
  EXPECT_FALSE(PeAt(outer, 1));
  auto s = UnpackAll(outer);
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].second, pe + "tail");
}

}  // namespace
}  // namespace vigil::unpack
