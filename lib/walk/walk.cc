#include "walk/walk.h"

#include <fcntl.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <set>

#include "walk/long_path.h"

namespace vigil::walk {
namespace {

bool Matches(const std::vector<std::regex>& res, const std::string& path) {
  for (const auto& re : res)
    if (std::regex_search(path, re)) return true;
  return false;
}

class Walker {
 public:
  Walker(const WalkOptions& o, const std::function<WalkState(Entry)>& v, WalkStats* s)
      : opt_(o), visit_(v), stats_(s) {
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf)) cwd_ = buf;
  }

  WalkState Root(const std::string& path) {
    struct stat st {};
    if (StatAnyLength(path, &st, /*follow=*/true) != 0) {
      const int err = errno;
      struct stat lst {};
      // A dangling or looping symlink on the command line is passed over
      // silently, as clamscan does.
      if (StatAnyLength(path, &lst, /*follow=*/false) == 0 && S_ISLNK(lst.st_mode)) return WalkState::kContinue;
      if (err == EACCES) return visit_(Entry{path, Entry::Kind::kError, "Access denied"});
      return visit_(Entry{path, Entry::Kind::kMissing, "No such file or directory"});
    }
    if (S_ISDIR(st.st_mode)) {
      if (Matches(opt_.exclude_dir, path)) return visit_(Entry{path, Entry::Kind::kNote, "Excluded"});
      return Dir(path, st);
    }
    if (!S_ISREG(st.st_mode)) return visit_(Entry{path, Entry::Kind::kWarning, "Not supported file type"});
    return File(path);
  }

 private:
  WalkState File(const std::string& path) {
    if (!opt_.exclude.empty()) {
      std::string abs = path.starts_with('/') || cwd_.empty() ? path : cwd_ + "/" + path;
      if (Matches(opt_.exclude, abs)) return visit_(Entry{path, Entry::Kind::kNote, "Excluded"});
    }
    return visit_(Entry{path, Entry::Kind::kFile, {}});
  }

  WalkState Dir(const std::string& path, const struct stat& st) {
    // A directory reached twice (bind mounts, followed links) is walked once.
    auto id = std::make_pair(st.st_dev, st.st_ino);
    if (!seen_.insert(id).second) return WalkState::kContinue;
    // Paths nested deeper than PATH_MAX are walked too (walk/long_path.h).
    const int fd = OpenAnyLength(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = fd >= 0 ? fdopendir(fd) : nullptr;
    if (d == nullptr && fd >= 0) close(fd);
    if (d == nullptr) return visit_(Entry{path, Entry::Kind::kError, "Can't open directory."});
    ++stats_->directories;
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    std::string base = path;
    if (!base.ends_with('/')) base += '/';
    for (const auto& n : names) {
      std::string child = base + n;
      struct stat cst {};
      if (StatAnyLength(child, &cst, /*follow=*/false) != 0) {
        if (errno == ENOENT) continue;  // vanished while walking
        if (visit_(Entry{child, Entry::Kind::kError, std::string(std::strerror(errno)) + " ERROR"}) ==
            WalkState::kQuit)
          return WalkState::kQuit;
        continue;
      }
      WalkState s = WalkState::kContinue;
      if (S_ISLNK(cst.st_mode)) {
        s = visit_(Entry{child, Entry::Kind::kNote, "Symbolic link"});
      } else if (S_ISDIR(cst.st_mode)) {
        if (!opt_.recursive) continue;
        if (Matches(opt_.exclude_dir, child)) s = visit_(Entry{child, Entry::Kind::kNote, "Excluded"});
        else s = Dir(child, cst);
      } else if (S_ISREG(cst.st_mode)) {
        s = File(child);
      }
      // Sockets, FIFOs and devices met while walking are passed over.
      if (s == WalkState::kQuit) return s;
    }
    return WalkState::kContinue;
  }

  const WalkOptions& opt_;
  const std::function<WalkState(Entry)>& visit_;
  WalkStats* stats_;
  std::string cwd_;
  std::set<std::pair<dev_t, ino_t>> seen_;
};

}  // namespace

WalkState Walk(const std::vector<std::string>& roots, const WalkOptions& options,
               const std::function<WalkState(Entry)>& visit, WalkStats* stats) {
  Walker w(options, visit, stats);
  for (const auto& r : roots)
    if (w.Root(r) == WalkState::kQuit) return WalkState::kQuit;
  return WalkState::kContinue;
}

}  // namespace vigil::walk
