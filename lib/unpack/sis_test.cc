#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <utility>
#include <vector>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

std::string Le16(uint32_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8)}; }
std::string Le32(uint32_t v) { return Le16(v) + Le16(v >> 16); }

std::string Zlib(const std::string& in) {
  uLongf n = compressBound(in.size());
  std::string out(n, '\0');
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(in.data()), in.size()), Z_OK);
  out.resize(n);
  return out;
}

std::string Utf16(const std::string& s) {
  std::string out;
  for (char c : s) out += std::string{c, '\0'};
  return out;
}

// A package with one language and simple file records (the layout in sis.cc).
std::string Sis(const std::vector<std::pair<std::string, std::string>>& files, bool release6, bool compress,
                const std::string& before_files = "") {
  const size_t hdr = release6 ? 0x64 : 0x44, rec = 4 + 24 + 8 + (release6 ? 12 : 0);
  const size_t files_ptr = hdr + 2 + before_files.size();
  size_t data_ptr = files_ptr + rec * files.size();
  std::string records, blobs;
  for (const auto& [name, data] : files) {
    std::string dest = Utf16(name), stored = release6 && compress ? Zlib(data) : data;
    const uint32_t dest_ptr = static_cast<uint32_t>(data_ptr + blobs.size());
    blobs += dest;
    const uint32_t file_ptr = static_cast<uint32_t>(data_ptr + blobs.size());
    blobs += stored;
    records += Le32(0) + Le32(0) + Le32(0) + Le32(0) + Le32(0) + Le32(static_cast<uint32_t>(dest.size())) + Le32(dest_ptr);
    records += Le32(static_cast<uint32_t>(stored.size())) + Le32(file_ptr);
    if (release6) records += Le32(static_cast<uint32_t>(data.size())) + Le32(0) + Le32(0);
  }
  std::string h = Le32(0x10000000) + Le32(release6 ? 0x10003A12 : 0x1000006D) + Le32(0x10000419) + Le32(0);
  h += Le16(0) + Le16(1) + Le16(static_cast<uint32_t>(files.size() + (before_files.empty() ? 0 : 2))) + Le16(0) +
       Le16(0) + Le16(0) + Le32(0x21) + Le32(200);
  h += Le16(compress ? 1 : 9) + Le16(0) + Le16(1) + Le16(0) + Le32(0);
  h += Le32(static_cast<uint32_t>(hdr)) + Le32(static_cast<uint32_t>(files_ptr)) + Le32(0) + Le32(0) + Le32(0);
  h.resize(hdr, '\0');
  return h + Le16(1) + before_files + records + blobs;
}

TEST(Sis, Release6CompressedFilesAreMembersByDestination) {
  std::string exe = "MZ" + std::string(300, 'x');
  std::string s = Sis({{"!:\\sys\\bin\\a.exe", exe}, {"!:\\b.txt", "hello"}}, true, true);
  ASSERT_EQ(DetectType(s), FileType::kSis);
  auto r = testing::UnpackAll(s);
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[0].first, "!:\\sys\\bin\\a.exe");
  EXPECT_EQ(r.members[0].second, exe);
  EXPECT_EQ(r.members[1].second, "hello");
  EXPECT_TRUE(r.warnings.empty());
}

TEST(Sis, StoredAndOlderReleases) {
  for (bool release6 : {true, false}) {
    auto r = testing::UnpackAll(Sis({{"!:\\a.dat", "plain bytes"}}, release6, false));
    ASSERT_EQ(r.members.size(), 1u) << release6;
    EXPECT_EQ(r.members[0].second, "plain bytes");
  }
}

TEST(Sis, ConditionRecordsAreSkipped) {
  // An if record with a 6-byte expression, then an end-if, before the file.
  std::string s = Sis({{"!:\\a", "data"}}, true, true, Le32(3) + Le32(6) + "expr!!" + Le32(6));
  auto r = testing::UnpackAll(s);
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].second, "data");
}

TEST(Sis, FileOutsideThePackageIsAWarningNotACrash) {
  std::string s = Sis({{"!:\\a", "data"}}, true, true);
  s.resize(s.size() - 3);  // the last file's bytes run past the end
  auto r = testing::UnpackAll(s);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.warnings.empty());
}

TEST(Sis, BombStopsAtTheMemberLimit) {
  Limits l;
  l.max_filesize = 1 << 20;
  auto r = testing::UnpackAll(Sis({{"!:\\zeros", std::string(8 << 20, '\0')}}, true, true), l);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());
}

}  // namespace
}  // namespace vigil::unpack
