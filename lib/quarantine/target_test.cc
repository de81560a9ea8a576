#include "quarantine/target.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil::quarantine {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vigil-target-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "src");
    fs::create_directories(root_ / "dst");
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path Make(const std::string& name, const std::string& data) {
    fs::path p = root_ / "src" / name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }
  fs::path root_;
};

TEST_F(TargetTest, RemoveUnlinksTheScannedFile) {
  auto p = Make("r", "bad");
  auto t = OpenTarget(p.string());
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(RemoveTarget(*t).ok());
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(TargetTest, RemoveLeavesAReplacedFile) {
  auto p = Make("r", "bad");
  auto t = OpenTarget(p.string());
  ASSERT_TRUE(t.ok());
  fs::remove(p);
  Make("r", "good, new file");
  EXPECT_FALSE(RemoveTarget(*t).ok());
  EXPECT_EQ(ReadFile(p), "good, new file");
}

TEST_F(TargetTest, CopyKeepsTheOriginalAndPicksAFreeName) {
  auto p = Make("c", "copy me");
  std::ofstream(root_ / "dst" / "c") << "taken";
  auto t = OpenTarget(p.string());
  ASSERT_TRUE(t.ok());
  auto dest = CopyTarget(*t, (root_ / "dst").string());
  ASSERT_TRUE(dest.ok()) << dest.status().message();
  EXPECT_EQ(*dest, (root_ / "dst" / "c.001").string());
  EXPECT_EQ(ReadFile(*dest), "copy me");
  EXPECT_EQ(ReadFile(p), "copy me");
  EXPECT_EQ(ReadFile(root_ / "dst" / "c"), "taken");
}

TEST_F(TargetTest, MoveWithinOneFileSystemRenames) {
  auto p = Make("m", "move me");
  auto t = OpenTarget(p.string());
  ASSERT_TRUE(t.ok());
  auto dest = MoveTarget(*t, (root_ / "dst").string());
  ASSERT_TRUE(dest.ok()) << dest.status().message();
  EXPECT_FALSE(fs::exists(p));
  EXPECT_EQ(ReadFile(*dest), "move me");
  struct stat st {};
  ASSERT_EQ(stat(dest->c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, t->st.st_ino);
}

TEST_F(TargetTest, MoveToAMissingDirectoryLeavesTheFile) {
  auto p = Make("m", "stay");
  auto t = OpenTarget(p.string());
  ASSERT_TRUE(t.ok());
  auto dest = MoveTarget(*t, (root_ / "nope").string());
  ASSERT_FALSE(dest.ok());
  EXPECT_NE(dest.status().message().find("left in place"), std::string::npos);
  EXPECT_EQ(ReadFile(p), "stay");
}

TEST_F(TargetTest, LongPathsBeyondPathMax) {
  // Build a directory chain longer than PATH_MAX using relative steps.
  fs::path dir = root_ / "src";
  std::string comp(200, 'd');
  std::string rel;
  fs::path cwd = fs::current_path();
  fs::current_path(dir);
  for (int i = 0; i < 25; ++i) {
    fs::create_directory(comp);
    fs::current_path(comp);
    rel += comp + "/";
  }
  std::ofstream("f") << "deep";
  fs::current_path(cwd);
  std::string full = dir.string() + "/" + rel + "f";
  ASSERT_GT(full.size(), 4096u);
  auto t = OpenTarget(full);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->st.st_size, 4);
  auto d = OpenDirPath(dir.string() + "/" + rel, true);
  EXPECT_TRUE(d.ok());
}

TEST(SplitPathTest, Cases) {
  EXPECT_EQ(SplitPath("a/b/c"), (std::pair<std::string, std::string>{"a/b", "c"}));
  EXPECT_EQ(SplitPath("c"), (std::pair<std::string, std::string>{".", "c"}));
  EXPECT_EQ(SplitPath("/c"), (std::pair<std::string, std::string>{"/", "c"}));
  EXPECT_EQ(SplitPath("a/b/"), (std::pair<std::string, std::string>{"a", "b"}));
}

}  // namespace
}  // namespace vigil::quarantine
