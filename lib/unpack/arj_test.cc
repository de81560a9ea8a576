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

// Archives made by the real `arj` (Debian package arj, installed by
// scripts/setup.sh) with every method, decoded back to the same bytes.
class ArjTool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v arj >/dev/null 2>&1") != 0) GTEST_SKIP() << "arj not installed (scripts/setup.sh)";
    std::ostringstream name;
    name << "vigil-arj-" << getpid();
    dir_ = fs::temp_directory_path() / name.str();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Compressible text, incompressible bytes past the 26,624-byte window,
    // and a file with long repeats.
    std::string text;
    for (int i = 0; i < 3000; ++i) {
      std::ostringstream line;
      line << "line " << i % 37 << " of some text\n";
      text += line.str();
    }
    std::string noise;
    uint32_t x = 12345;
    for (int i = 0; i < 70000; ++i) {
      x = x * 1103515245 + 12345;
      noise.push_back(static_cast<char>(x >> 16));
    }
    files_ = {{"text.txt", text}, {"noise.bin", noise}, {"runs.bin", std::string(50000, 'z') + noise.substr(0, 999)}};
    for (const auto& [name, data] : files_) std::ofstream(dir_ / name, std::ios::binary) << data;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Runs `arj ARGS` in the test directory.
  int Arj(const std::string& args) {
    std::ostringstream cmd;
    cmd << "cd '" << dir_.string() << "' && arj " << args << " >/dev/null 2>&1";
    return std::system(cmd.str().c_str());
  }
  std::string Make(int method) {
    std::ostringstream arc, args;
    arc << 'm' << method << ".arj";
    args << "a -m" << method << " -y " << arc.str() << " text.txt noise.bin runs.bin";
    EXPECT_EQ(Arj(args.str()), 0) << args.str();
    return ReadFile(dir_ / arc.str());
  }

  fs::path dir_;
  std::vector<std::pair<std::string, std::string>> files_;
};

TEST_F(ArjTool, EveryMethodDecodesToTheOriginalBytes) {
  for (int method = 0; method <= 4; ++method) {
    std::string arc = Make(method);
    ASSERT_EQ(DetectType(arc), FileType::kArj) << method;
    auto r = testing::UnpackAll(arc);
    ASSERT_EQ(r.members.size(), files_.size()) << "method " << method;
    for (size_t i = 0; i < files_.size(); ++i) {
      EXPECT_EQ(r.members[i].first, files_[i].first) << method;
      EXPECT_TRUE(r.members[i].second == files_[i].second) << "method " << method << ", " << files_[i].first;
    }
    EXPECT_TRUE(r.warnings.empty()) << method << ": " << r.warnings.front();
  }
}

TEST_F(ArjTool, TruncationAndDamageAreWarningsNeverCrashes) {
  std::string arc = Make(1);
  for (size_t cut : {size_t{10}, size_t{40}, arc.size() / 3, arc.size() / 2, arc.size() - 5}) {
    auto r = testing::UnpackAll(arc.substr(0, cut));
    (void)r;  // any members, any warnings: what matters is no crash and bounded output
  }
  std::string flipped = arc;
  for (size_t i = 200; i < flipped.size(); i += 97) flipped[i] = static_cast<char>(flipped[i] ^ 0x5A);
  auto r = testing::UnpackAll(flipped);
  EXPECT_FALSE(r.warnings.empty());
}

TEST_F(ArjTool, MemberLimitStopsABomb) {
  std::ofstream(dir_ / "zeros.bin", std::ios::binary) << std::string(4 << 20, '\0');
  ASSERT_EQ(Arj("a -m1 -y z.arj zeros.bin"), 0);
  Limits l;
  l.max_filesize = 1 << 20;
  auto r = testing::UnpackAll(ReadFile(dir_ / "z.arj"), l);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());
}

TEST(Arj, NotArjIsNotDetected) {
  EXPECT_NE(DetectType(std::string("\x60\xEA\x00\x00", 4) + std::string(64, 'x')), FileType::kArj);
  EXPECT_NE(DetectType("`\xEA plain text that starts with a backquote"), FileType::kArj);
}

}  // namespace
}  // namespace vigil::unpack
