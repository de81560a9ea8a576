#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Installers built by the real makensis (Debian package nsis, installed by
// scripts/setup.sh), with each compressor, solid and not.
class Makensis : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v makensis >/dev/null 2>&1") != 0) GTEST_SKIP() << "makensis not installed (scripts/setup.sh)";
    std::ostringstream name;
    name << "vigil-nsis-" << getpid();
    dir_ = fs::temp_directory_path() / name.str();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    payload_ = "MZ";
    uint32_t x = 7;
    for (int i = 0; i < 40000; ++i) {
      x = x * 1664525 + 1013904223;
      payload_.push_back(static_cast<char>(i % 3 ? 'a' + i % 7 : x >> 24));
    }
    std::ofstream(dir_ / "payload.bin", std::ios::binary) << payload_;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string Build(const std::string& compressor, bool solid) {
    std::ostringstream script;
    script << "SetCompressor " << (solid ? "/SOLID " : "") << compressor << "\n"
           << "OutFile \"out.exe\"\nInstallDir \"$TEMP\\x\"\nSection\nSetOutPath \"$INSTDIR\"\n"
           << "File \"payload.bin\"\nSectionEnd\n";
    std::ofstream(dir_ / "t.nsi") << script.str();
    std::ostringstream cmd;
    cmd << "cd '" << dir_.string() << "' && makensis -V1 t.nsi >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.str().c_str()), 0);
    return ReadFile(dir_ / "out.exe");
  }
  bool HasPayload(const testing::RecordingSink& r) {
    for (const auto& [name, data] : r.members)
      if (data == payload_) return true;
    return false;
  }

  fs::path dir_;
  std::string payload_;
};

TEST_F(Makensis, ZlibAndLzmaSolidAndNotYieldTheInstalledFile) {
  for (const char* compressor : {"zlib", "lzma"}) {
    for (bool solid : {false, true}) {
      auto r = testing::UnpackAll(Build(compressor, solid));
      EXPECT_TRUE(HasPayload(r)) << compressor << (solid ? " solid" : "");
      EXPECT_TRUE(r.warnings.empty()) << compressor << ": " << r.warnings.front();
    }
  }
}

TEST_F(Makensis, Bzip2IsAWarningNotASilentMiss) {
  auto r = testing::UnpackAll(Build("bzip2", false));
  EXPECT_FALSE(HasPayload(r));
  bool warned = false;
  for (const auto& w : r.warnings) warned |= w.find("nsis:") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST_F(Makensis, TruncatedInstallersStopCleanly) {
  std::string exe = Build("lzma", true);
  size_t fh = exe.find("NullsoftInst");
  ASSERT_NE(fh, std::string::npos);
  // Cut anywhere in the first four fifths of the data: never a crash, and
  // never the whole file from part of its stream.
  const size_t span = (exe.size() - fh) * 4 / 5;
  for (size_t cut = fh; cut < fh + span; cut += span / 13 + 1) {
    auto r = testing::UnpackAll(exe.substr(0, cut));
    EXPECT_FALSE(HasPayload(r)) << cut;
  }
}

}  // namespace
}  // namespace vigil::unpack
