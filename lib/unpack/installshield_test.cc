#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

using testing::Le;

std::string Entry(const std::string& name, const std::string& path, const std::string& data) {
  return name + '\0' + path + '\0' + "1.0.0.0" + '\0' + std::to_string(data.size()) + '\0' + data;
}

std::string RawDeflate(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Common(uint32_t desc_offset) {
  return std::string("ISc(") + Le(0x01009500, 4) + Le(0, 4) + Le(desc_offset, 4) + Le(0x100, 4);
}

// A cabinet header holding one file of `size` bytes, compressed to
// `packed` bytes at 0x200 in volume 1.
std::string Header(const std::string& name, uint64_t size, uint64_t packed, uint16_t flags = 4) {
  std::string h = Common(0x200);
  h.resize(0x400, '\0');
  h.replace(0x200 + 0x0C, 4, Le(0x100, 4));  // file table at 0x300
  h.replace(0x200 + 0x28, 4, Le(1, 4));      // one file
  h.replace(0x200 + 0x2C, 4, Le(8, 4));      // descriptors at 0x308
  std::string d = Le(flags, 2) + Le(size, 8) + Le(packed, 8) + Le(0x200, 8) + std::string(32, '\0') +
                  Le(0x80, 4) + Le(0, 2) + std::string(12, '\0') + Le(0, 4) + Le(0, 4) + Le(0, 1) + Le(1, 2);
  EXPECT_EQ(d.size(), 0x57u);
  h.replace(0x308, d.size(), d);
  h.replace(0x380, name.size() + 1, name + '\0');
  return h;
}

TEST(InstallShield, OverlayEntriesAreMembers) {
  std::string s = testing::OverlayPe() + Entry("a.exe", "Disk1\\a.exe", "first file") + Entry("b.txt", "Disk1\\b.txt", "second");
  auto r = testing::UnpackAll(s);
  ASSERT_GE(r.members.size(), 2u);
  EXPECT_EQ(r.members[0].first, "Disk1\\a.exe");
  EXPECT_EQ(r.members[0].second, "first file");
  EXPECT_EQ(r.members[1].first, "Disk1\\b.txt");
  EXPECT_EQ(r.members[1].second, "second");
}

TEST(InstallShield, CabinetFilesAreInflatedFromTheirVolume) {
  std::string payload = "MZ" + std::string(1000, 'p') + "end";
  // Two chunks: u16 length, raw deflate.
  std::string c1 = RawDeflate(payload.substr(0, 600)), c2 = RawDeflate(payload.substr(600));
  std::string packed = Le(c1.size(), 2) + c1 + Le(c2.size(), 2) + c2;
  std::string volume = Common(0);
  volume.resize(0x200, '\0');
  volume += packed;
  std::string s = testing::OverlayPe() + Entry("data1.hdr", "Disk1\\data1.hdr", Header("clam.exe", payload.size(), packed.size())) +
                  Entry("data1.cab", "Disk1\\data1.cab", volume);
  auto r = testing::UnpackAll(s);
  bool found = false;
  for (const auto& [name, data] : r.members)
    if (name == "Disk1\\data1.hdr/clam.exe") {
      found = true;
      EXPECT_EQ(data, payload);
    }
  EXPECT_TRUE(found);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
}

TEST(InstallShield, DamageIsAWarningNotACrash) {
  std::string packed = Le(5000, 2) + "not deflate";
  std::string volume = Common(0);
  volume.resize(0x200, '\0');
  volume += packed;
  std::string s = testing::OverlayPe() + Entry("data1.hdr", "Disk1\\data1.hdr", Header("x", 1 << 20, 9999)) +
                  Entry("data1.cab", "Disk1\\data1.cab", volume);
  auto r = testing::UnpackAll(s);
  EXPECT_FALSE(r.warnings.empty());
  // A volume missing, and a descriptor pointing outside the header.
  std::string hdr = Header("y", 10, 10);
  hdr.resize(0x320);
  auto r2 = testing::UnpackAll(testing::OverlayPe() + Entry("data1.hdr", "Disk1\\data1.hdr", hdr));
  EXPECT_FALSE(r2.warnings.empty());
}

// zlib format (header, deflate, Adler-32), as the MSI wrapper stores files.
std::string Zlib(const std::string& in) {
  uLongf n = compressBound(in.size());
  std::string out(n, '\0');
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(in.data()), in.size(), 9),
            Z_OK);
  out.resize(n);
  return out;
}

// The inverse of the reader's de-obfuscation, written from the description:
// stored byte = rotate-by-4(~plain ^ key byte), key = name ^ 13 35 86 07,
// key position restarting every 1024 bytes.
std::string Obfuscate(const std::string& name, const std::string& plain) {
  const unsigned char x[4] = {0x13, 0x35, 0x86, 0x07};
  std::string out(plain.size(), '\0');
  for (size_t i = 0; i < plain.size(); ++i) {
    unsigned char k = static_cast<unsigned char>(name[(i % 1024) % name.size()]) ^ x[((i % 1024) % name.size()) % 4];
    auto v = static_cast<unsigned char>(~static_cast<unsigned char>(plain[i]) ^ k);
    out[i] = static_cast<char>(static_cast<unsigned char>(v << 4 | v >> 4));
  }
  return out;
}

std::string MsiEntry(const std::string& name, uint32_t flags, const std::string& stored) {
  std::string e = name;
  e.resize(260, '\0');
  e += Le(flags, 4) + Le(0, 4) + Le(stored.size(), 4);
  e.resize(312, '\0');
  return e + stored;
}

std::string MsiWrapper(uint16_t count, const std::string& entries) {
  std::string h("InstallShield\0", 14);
  h += Le(count, 2);
  h.resize(46, '\0');
  return testing::OverlayPe() + "NB10 debug data before the header" + h + entries;
}

TEST(InstallShield, MsiWrapperFilesAreDeobfuscatedAndInflated) {
  std::string big;  // past 1024 bytes, so that the key restarts
  for (int i = 0; i < 3000; ++i) big.push_back(static_cast<char>("MZ.wrapped\x90\x00"[i % 12] + i / 700));
  std::string text = "[Info]\r\nName=setup\r\n";
  std::string s = MsiWrapper(3, MsiEntry("clam.msi", 6, Obfuscate("clam.msi", Zlib(big))) +
                                    MsiEntry("Setup.ini", 6, Obfuscate("Setup.ini", Zlib(text))) +
                                    MsiEntry("plain.bin", 0, "as it is"));
  auto r = testing::UnpackAll(s);
  ASSERT_EQ(r.members.size(), 3u);
  EXPECT_EQ(r.members[0].first, "clam.msi");
  EXPECT_EQ(r.members[0].second, big);
  EXPECT_EQ(r.members[1].first, "Setup.ini");
  EXPECT_EQ(r.members[1].second, text);
  EXPECT_EQ(r.members[2].first, "plain.bin");
  EXPECT_EQ(r.members[2].second, "as it is");
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
}

TEST(InstallShield, MsiWrapperDamageIsAWarning) {
  std::string stored = Obfuscate("a.exe", Zlib(std::string(5000, 'a')));
  // The count promises two files, the second entry is cut; the first is
  // cut short inside its zlib stream.
  std::string s = MsiWrapper(2, MsiEntry("a.exe", 6, stored.substr(0, stored.size() / 2)));
  s.resize(s.size() - 10);
  auto r = testing::UnpackAll(s);
  EXPECT_FALSE(r.warnings.empty());
  ASSERT_GE(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "a.exe");
  EXPECT_EQ(r.members[0].second.find_first_not_of('a'), std::string::npos);
}

TEST(InstallShield, NotAnOverlayNoMembersFromIt) {
  auto r = testing::UnpackAll(testing::OverlayPe() + std::string(100, '\x01'));
  for (const auto& [name, data] : r.members) EXPECT_EQ(name.find("Disk1"), std::string::npos);
}

}  // namespace
}  // namespace vigil::unpack
