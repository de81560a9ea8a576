#include "walk/walk.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace vigil::walk {
namespace {

bool Excluded(const std::vector<std::regex>& res, const std::string& path) {
  for (const auto& re : res)
    if (std::regex_search(path, re)) return true;
  return false;
}

class Walker {
 public:
  Walker(const WalkOptions& o, const std::function<WalkState(Entry)>& v, WalkStats* s)
      : opt_(o), visit_(v), stats_(s) {}

  WalkState Root(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      return visit_(Entry{path, Entry::Kind::kError,
                          errno == ENOENT || errno == ENOTDIR ? "No such file or directory"
                          : errno == ELOOP                    ? "Too many levels of symbolic links"
                                                              : std::strerror(errno)});
    }
    if (S_ISDIR(st.st_mode)) {
      if (Excluded(opt_.exclude_dir, path)) return WalkState::kContinue;
      return Dir(path, st);
    }
    if (Excluded(opt_.exclude, path)) return WalkState::kContinue;
    return visit_(Entry{path, Entry::Kind::kFile, {}});
  }

 private:
  WalkState Dir(const std::string& path, const struct stat& st) {
    // A directory reached twice (bind mounts, followed links) is walked once.
    auto id = std::make_pair(st.st_dev, st.st_ino);
    if (!seen_.insert(id).second) return WalkState::kContinue;
    ++stats_->directories;
    DIR* d = opendir(path.c_str());
    if (d == nullptr)
      return visit_(Entry{path, Entry::Kind::kError, "Can't open directory"});
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
      if (lstat(child.c_str(), &cst) != 0) {
        if (visit_(Entry{child, Entry::Kind::kError, "No such file or directory"}) == WalkState::kQuit)
          return WalkState::kQuit;
        continue;
      }
      WalkState s = WalkState::kContinue;
      if (S_ISLNK(cst.st_mode)) {
        continue;  // symlinks inside directories are not followed (clamscan's default)
      } else if (S_ISDIR(cst.st_mode)) {
        if (!opt_.recursive || Excluded(opt_.exclude_dir, child)) continue;
        s = Dir(child, cst);
      } else if (S_ISREG(cst.st_mode)) {
        if (Excluded(opt_.exclude, child)) continue;
        s = visit_(Entry{child, Entry::Kind::kFile, {}});
      } else {
        continue;  // sockets, FIFOs, devices met while walking are skipped
      }
      if (s == WalkState::kQuit) return s;
    }
    return WalkState::kContinue;
  }

  const WalkOptions& opt_;
  const std::function<WalkState(Entry)>& visit_;
  WalkStats* stats_;
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
