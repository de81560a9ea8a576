#include <gtest/gtest.h>

#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

std::string Le32(uint32_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)}; }

std::string Package(const std::string& name, const std::string& data) {
  std::string path = "C:\\tmp\\" + name + std::string(1, '\0');
  return std::string("\x02\x00", 2) + name + std::string(1, '\0') + path + std::string("\x00\x00\x03\x00", 4) +
         Le32(static_cast<uint32_t>(path.size())) + path + Le32(static_cast<uint32_t>(data.size())) + data;
}

std::string Ole1(const std::string& cls, const std::string& native) {
  std::string c = cls + std::string(1, '\0');
  return Le32(0x0501) + Le32(2) + Le32(static_cast<uint32_t>(c.size())) + c + Le32(0) + Le32(0) +
         Le32(static_cast<uint32_t>(native.size())) + native;
}

std::string Hex(const std::string& b) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i && i % 32 == 0) out += "\r\n";
    out += d[static_cast<uint8_t>(b[i]) >> 4];
    out += d[static_cast<uint8_t>(b[i]) & 15];
  }
  return out;
}

TEST(Rtf, PackageObjectYieldsTheFile) {
  std::string payload = "MZ payload bytes\x00\x01\x02";
  std::string rtf = "{\\rtf1\\ansi {\\object\\objemb{\\*\\objclass Package}{\\*\\objdata " +
                    Hex(Ole1("Package", Package("clam.exe", payload))) + "}}}";
  ASSERT_EQ(DetectType(rtf), FileType::kRtf);
  auto s = testing::UnpackAll(rtf);
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[0].first, "objdata-1");
  EXPECT_EQ(s.members[1].first, "objdata-1//clam.exe");
  EXPECT_EQ(s.members[1].second, payload);
}

TEST(Rtf, NotOle1IsScannedAsDecodedBytes) {
  auto s = testing::UnpackAll("{\\rtf1 {\\*\\objdata 41424344}}");
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].second, "ABCD");
  EXPECT_FALSE(s.warnings.empty());
}

TEST(Rtf, TruncatedObject) {
  std::string obj = Ole1("Word.Document.8", std::string(100, 'w'));
  obj.resize(obj.size() - 40);
  auto s = testing::UnpackAll("{\\rtf1 {\\*\\objdata " + Hex(obj));
  ASSERT_EQ(s.members.size(), 1u);
  EXPECT_EQ(s.members[0].second, std::string(60, 'w'));
}

}  // namespace
}  // namespace vigil::unpack
