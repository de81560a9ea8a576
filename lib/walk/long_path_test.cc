#include "walk/long_path.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "walk/walk.h"

namespace vigil::walk {
namespace {

namespace fs = std::filesystem;

// A file nested deeper than PATH_MAX, made one directory at a time.
class LongPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("vigil-long-path-" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    int fd = open(root_.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(fd, 0);
    deep_ = root_.string();
    const std::string comp(200, 'd');
    for (int i = 0; i < 25; ++i) {
      ASSERT_EQ(mkdirat(fd, comp.c_str(), 0755), 0);
      int next = openat(fd, comp.c_str(), O_RDONLY | O_DIRECTORY);
      close(fd);
      ASSERT_GE(next, 0);
      fd = next;
      deep_ += "/" + comp;
    }
    int f = openat(fd, "f", O_WRONLY | O_CREAT | O_EXCL, 0644);
    ASSERT_GE(f, 0);
    ASSERT_EQ(write(f, "deep", 4), 4);
    close(f);
    close(fd);
    file_ = deep_ + "/f";
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
  std::string deep_, file_;
};

TEST_F(LongPathTest, PlainCallsRefuseThePath) {
  ASSERT_GT(file_.size(), 4096u);
  struct stat st {};
  EXPECT_EQ(lstat(file_.c_str(), &st), -1);
  EXPECT_EQ(errno, ENAMETOOLONG);
}

TEST_F(LongPathTest, OpenAndStatReachTheFile) {
  int fd = OpenAnyLength(file_, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  char buf[8] = {};
  EXPECT_EQ(read(fd, buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf), "deep");
  close(fd);
  struct stat st {};
  ASSERT_EQ(StatAnyLength(file_, &st, false), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 4);
  ASSERT_EQ(StatAnyLength(deep_, &st, true), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(LongPathTest, ErrorsKeepTheirErrno) {
  struct stat st {};
  EXPECT_EQ(StatAnyLength(deep_ + "/missing", &st, false), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(OpenAnyLength(file_ + "/below-a-file", O_RDONLY), -1);
  EXPECT_EQ(errno, ENOTDIR);
  // Short paths take the plain call.
  EXPECT_EQ(OpenAnyLength((root_ / "nothing").string(), O_RDONLY), -1);
  EXPECT_EQ(errno, ENOENT);
}

TEST_F(LongPathTest, SymlinkInTheLastComponentFollowsTheFlags) {
  int dfd = OpenAnyLength(deep_, O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dfd, 0);
  ASSERT_EQ(symlinkat("f", dfd, "link"), 0);
  close(dfd);
  struct stat st {};
  ASSERT_EQ(StatAnyLength(deep_ + "/link", &st, false), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(StatAnyLength(deep_ + "/link", &st, true), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(OpenAnyLength(deep_ + "/link", O_RDONLY | O_NOFOLLOW), -1);
  EXPECT_EQ(errno, ELOOP);
}

TEST_F(LongPathTest, WalkFindsTheFile) {
  std::vector<std::string> files, errors;
  WalkStats stats;
  Walk({root_.string()}, WalkOptions{}, [&](Entry e) {
    if (e.kind == Entry::Kind::kFile) files.push_back(e.path);
    else errors.push_back(e.path + ": " + e.message);
    return WalkState::kContinue;
  }, &stats);
  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], file_);
  EXPECT_EQ(stats.directories, 26u);
}

}  // namespace
}  // namespace vigil::walk
