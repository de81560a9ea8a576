#include "walk/long_path.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace vigil::walk {
namespace {

// Splits at the last slash: ("a/b", "c"), ("/", "c"), (".", "c").
void Split(const std::string& path, std::string* dir, std::string* base) {
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;
  const std::string_view p(path.data(), end);
  const size_t slash = p.rfind('/');
  if (slash == std::string_view::npos) {
    dir->assign(".");
    base->assign(p);
  } else {
    dir->assign(p.substr(0, slash == 0 ? 1 : slash));
    base->assign(p.substr(slash + 1));
  }
}

// A descriptor for directory `dir`, opened one component at a time; -1 and
// errno on failure.
int OpenDirByComponents(const std::string& dir) {
  int cur = open(dir.starts_with('/') ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0) return -1;
  size_t i = 0;
  while (i < dir.size()) {
    size_t j = dir.find('/', i);
    if (j == std::string::npos) j = dir.size();
    std::string comp = dir.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    int next = openat(cur, comp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = errno;
    close(cur);
    if (next < 0) {
      errno = err;
      return -1;
    }
    cur = next;
  }
  return cur;
}

// Runs `op(dirfd, base)` in the directory holding `path`.
template <typename Op>
int InParent(const std::string& path, Op op) {
  std::string dir, base;
  Split(path, &dir, &base);
  if (base.empty() || base == "/") {
    errno = ENAMETOOLONG;
    return -1;
  }
  int dfd = OpenDirByComponents(dir);
  if (dfd < 0) return -1;
  int r = op(dfd, base);
  int err = errno;
  close(dfd);
  errno = err;
  return r;
}

}  // namespace

int OpenAnyLength(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags);
  if (fd >= 0 || errno != ENAMETOOLONG) return fd;
  return InParent(path, [&](int dfd, const std::string& base) { return openat(dfd, base.c_str(), flags); });
}

int StatAnyLength(const std::string& path, struct stat* st, bool follow) {
  int r = follow ? stat(path.c_str(), st) : lstat(path.c_str(), st);
  if (r == 0 || errno != ENAMETOOLONG) return r;
  return InParent(path, [&](int dfd, const std::string& base) {
    return fstatat(dfd, base.c_str(), st, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  });
}

}  // namespace vigil::walk
