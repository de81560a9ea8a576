#include <gtest/gtest.h>

#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

std::string Le32(uint32_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)}; }

std::string Attr(uint8_t level, uint32_t id, const std::string& value) {
  return std::string(1, static_cast<char>(level)) + Le32(id) + Le32(static_cast<uint32_t>(value.size())) + value +
         std::string("\xAB\xCD", 2);  // a wrong checksum: ignored
}

std::string Tnef(const std::string& body) { return Le32(0x223E9F78) + std::string("\x01\x00", 2) + body; }

TEST(Tnef, AttachmentsByTitle) {
  std::string t = Tnef(Attr(1, 0x00089006, "xxxx") + Attr(2, 0x00069002, "r") + Attr(2, 0x00018010, std::string("a.exe\0", 6)) +
                       Attr(2, 0x0006800F, "first data") + Attr(2, 0x00069002, "r") + Attr(2, 0x0006800F, "second"));
  ASSERT_EQ(DetectType(t), FileType::kTnef);
  auto s = testing::UnpackAll(t);
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[0].first, "a.exe");
  EXPECT_EQ(s.members[0].second, "first data");
  EXPECT_EQ(s.members[1].first, "attachment-2");
  EXPECT_EQ(s.members[1].second, "second");
}

TEST(Tnef, TruncatedAttributeIsScannedAsFarAsItGoes) {
  std::string t = Tnef(Attr(2, 0x0006800F, "0123456789"));
  t.resize(t.size() - 6);
  auto s = testing::UnpackAll(t);
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].second, "012345");
  EXPECT_FALSE(s.warnings.empty());
}

TEST(Tnef, HugeLengthDoesNotReadPastTheEnd) {
  std::string t = Tnef(std::string(1, '\x02') + Le32(0x0006800F) + Le32(0xFFFFFFF0) + "abc");
  auto s = testing::UnpackAll(t);
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].second, "abc");
}

}  // namespace
}  // namespace vigil::unpack
