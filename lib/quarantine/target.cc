#include "quarantine/target.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "quarantine/fault.h"
#include "quarantine/vault_file.h"

namespace vigil::quarantine {
namespace {

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == ".") return name;
  return dir + (dir.ends_with('/') ? "" : "/") + name;
}

std::string TempName(const char* what) {
  unsigned char r[6];
  randombytes_buf(r, sizeof r);
  return std::string(".vigil-") + what + "-" + Hex(std::string_view(reinterpret_cast<char*>(r), sizeof r)) + ".tmp";
}

// The first free name among NAME, NAME.001, ... NAME.999; `place(candidate)`
// returns 0 or -1 with errno (EEXIST: try the next name).
Result<std::string> FreeName(const std::string& name, const std::function<int(const std::string&)>& place,
                             int* err = nullptr) {
  if (err) *err = 0;
  for (int n = 0; n < 1000; ++n) {
    char suffix[8] = "";
    if (n) std::snprintf(suffix, sizeof suffix, ".%03d", n);
    std::string cand = name + suffix;
    if (place(cand) == 0) return cand;
    if (errno != EEXIST) {
      if (err) *err = errno;
      return ErrnoStatus("cannot create " + cand, errno);
    }
  }
  return Status::IoError("no free name for " + name + " (tried " + name + ".001 to .999)");
}

// Writes a durable copy of the target into dest_dir (unnamed until linked),
// with the original's permission bits and times. Returns the file and the
// copied bytes' hash.
Result<std::pair<TempFile, std::string>> WriteCopy(const Target& t, int destfd, const std::string& dest_dir) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
  auto out = TempFile::Create(destfd, TempName("copy"), 0600);
  if (!out.ok()) return Status::IoError(out.status().message() + " in " + dest_dir);
  uint64_t size = 0;
  auto hash = CopyBytes(t.file.get(), out->fd(), &size);
  if (!hash.ok()) return Status::IoError("cannot copy " + t.path + " to " + dest_dir + ": " + hash.status().message());
  FaultPoint("copy: bytes written");
  fchmod(out->fd(), t.st.st_mode & 0777);
  struct timespec times[2] = {t.st.st_atim, t.st.st_mtim};
  futimens(out->fd(), times);
  if (fsync(out->fd()) != 0) return ErrnoStatus("cannot write " + dest_dir, errno);
  return std::make_pair(std::move(out).value(), *hash);
}

// ENOSPC, EROFS, EACCES... -> a message that says the original stayed.
Status LeftInPlace(const Target& t, const Status& why) {
  return Status::IoError(why.message() + "; " + t.path + " left in place");
}

}  // namespace

Result<std::string> CopyBytes(int src, int dst, uint64_t* size) {
  Sha256 h;
  auto n = ReadAllAt(src, [&](std::string_view d) {
    h.Update(d);
    return WriteAll(dst, d, "write");
  }, "read");
  if (!n.ok()) return n.status();
  if (size) *size = *n;
  return h.HexDigest();
}

Result<Target> OpenTarget(const std::string& path, int* err) {
  auto set = [&](int e) { if (err) *err = e; };
  set(0);
  auto [dir, base] = SplitPath(path);
  if (base.empty() || base == "." || base == ".." || base == "/") {
    set(EINVAL);
    return Status::InvalidArgument(path + ": not a regular file");
  }
  Target t;
  t.path = path;
  t.name = base;
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    t.dir.Reset(dfd);
  } else if (errno == ENAMETOOLONG) {
    auto d = OpenDirPath(dir, /*follow_symlinks=*/true);
    if (!d.ok()) {
      set(ENAMETOOLONG);
      return d.status();
    }
    t.dir = std::move(d).value();
  } else {
    set(errno);
    return ErrnoStatus(path, errno);
  }
  int fd = openat(t.dir.get(), base.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    // O_NOFOLLOW on a symlink fails with ELOOP.
    set(e);
    if (e == ELOOP) return Status::InvalidArgument(path + ": is a symbolic link");
    return ErrnoStatus(path, e);
  }
  t.file.Reset(fd);
  if (fstat(fd, &t.st) != 0) {
    set(errno);
    return ErrnoStatus(path, errno);
  }
  if (!S_ISREG(t.st.st_mode)) {
    set(EINVAL);
    return Status::InvalidArgument(path + ": not a regular file");
  }
  // A regular file never blocks; plain reads from here on.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return t;
}

std::string CanonicalPath(const Target& t) {
  std::string dir = DirPathOf(t.dir.get(), SplitPath(t.path).first);
  if (dir.empty()) return t.path;
  return dir == "/" ? "/" + t.name : dir + "/" + t.name;
}

Status CheckUnchanged(const Target& t) {
  struct stat now {};
  if (fstat(t.file.get(), &now) != 0) return ErrnoStatus(t.path, errno);
  if (!SameUnchanged(t.st, now))
    return Status::InvalidArgument(t.path + " changed since it was scanned; left in place");
  struct stat ent {};
  if (fstatat(t.dir.get(), t.name.c_str(), &ent, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return Status::InvalidArgument(t.path + " was moved or deleted since it was scanned");
    return ErrnoStatus(t.path, errno);
  }
  if (ent.st_dev != now.st_dev || ent.st_ino != now.st_ino)
    return Status::InvalidArgument(t.path + " was replaced since it was scanned (" +
                                   (S_ISLNK(ent.st_mode) ? "now a symbolic link" : "another file") +
                                   "); left in place");
  return Status::Ok();
}

Status RemoveTarget(const Target& t) {
  VIGIL_RETURN_IF_ERROR(CheckUnchanged(t));
  FaultPoint("remove: before unlink");
  if (unlinkat(t.dir.get(), t.name.c_str(), 0) != 0)
    return LeftInPlace(t, ErrnoStatus("cannot remove " + t.path, errno));
  FaultPoint("remove: unlinked, before directory sync");
  return FsyncDir(t.dir.get(), t.path);
}

Result<std::string> CopyTarget(const Target& t, const std::string& dest_dir) {
  VIGIL_RETURN_IF_ERROR(CheckUnchanged(t));
  auto d = OpenDirPath(dest_dir, /*follow_symlinks=*/true);
  if (!d.ok()) return Status::IoError("cannot open destination " + d.status().message());
  auto copy = WriteCopy(t, d->get(), dest_dir);
  if (!copy.ok()) return copy.status();
  auto& [tmp, hash] = *copy;
  VIGIL_RETURN_IF_ERROR(CheckUnchanged(t));
  auto& staged = tmp;  // clang before 16 cannot capture a structured binding
  auto placed = FreeName(t.name, [&](const std::string& n) { return staged.Link(n, /*replace=*/false); });
  if (!placed.ok())
    return Status::IoError("cannot copy " + t.path + " to " + dest_dir + ": " + placed.status().message());
  VIGIL_RETURN_IF_ERROR(FsyncDir(d->get(), dest_dir));
  return JoinPath(dest_dir, *placed);
}

Result<std::string> MoveTarget(const Target& t, const std::string& dest_dir) {
  VIGIL_RETURN_IF_ERROR(CheckUnchanged(t));
  auto d = OpenDirPath(dest_dir, /*follow_symlinks=*/true);
  if (!d.ok()) return LeftInPlace(t, Status::IoError("cannot open destination " + d.status().message()));
  int destfd = d->get();
  struct stat dst {};
  if (fstat(destfd, &dst) == 0 && dst.st_dev == t.st.st_dev) {
    // One file system: rename the very inode that was scanned.
    FaultPoint("move: before rename");
    int err = 0;
    auto placed = FreeName(t.name, [&](const std::string& n) {
      return RenameNoReplace(t.dir.get(), t.name, destfd, n);
    }, &err);
    if (placed.ok()) {
      struct stat moved {};
      if (fstatat(destfd, placed->c_str(), &moved, AT_SYMLINK_NOFOLLOW) != 0 ||
          moved.st_ino != t.st.st_ino || moved.st_dev != t.st.st_dev) {
        // Swapped between the check and the rename: put it back.
        RenameNoReplace(destfd, *placed, t.dir.get(), t.name);
        return Status::InvalidArgument(t.path + " was replaced since it was scanned; left in place");
      }
      FaultPoint("move: renamed, before directory sync");
      VIGIL_RETURN_IF_ERROR(FsyncDir(destfd, dest_dir));
      VIGIL_RETURN_IF_ERROR(FsyncDir(t.dir.get(), t.path));
      return JoinPath(dest_dir, *placed);
    }
    // EXDEV (another mount of the same file system): copy instead.
    if (err != EXDEV)
      return LeftInPlace(t, Status::IoError("cannot move " + t.path + " to " + dest_dir + ": " +
                                            placed.status().message()));
  }
  // Across file systems: durable copy, re-check, then remove the original.
  auto copy = WriteCopy(t, destfd, dest_dir);
  if (!copy.ok()) return LeftInPlace(t, copy.status());
  auto& [tmp, hash] = *copy;
  auto& staged = tmp;  // clang before 16 cannot capture a structured binding
  auto placed = FreeName(t.name, [&](const std::string& n) { return staged.Link(n, /*replace=*/false); });
  if (!placed.ok())
    return LeftInPlace(t, Status::IoError("cannot move " + t.path + " to " + dest_dir + ": " +
                                          placed.status().message()));
  VIGIL_RETURN_IF_ERROR(FsyncDir(destfd, dest_dir));
  FaultPoint("move: copy durable, before re-check");
  auto undo = [&](Status why) {
    unlinkat(destfd, placed->c_str(), 0);
    FsyncDir(destfd, dest_dir).ok();
    return why;
  };
  auto again = HashFd(t.file.get(), nullptr);
  if (!again.ok()) return undo(LeftInPlace(t, again.status()));
  if (*again != hash) return undo(Status::InvalidArgument(t.path + " changed while it was copied; left in place"));
  Status st = CheckUnchanged(t);
  if (!st.ok()) return undo(st);
  FaultPoint("move: re-checked, before unlink");
  if (unlinkat(t.dir.get(), t.name.c_str(), 0) != 0)
    return undo(LeftInPlace(t, ErrnoStatus("cannot remove " + t.path, errno)));
  FaultPoint("move: unlinked, before directory sync");
  VIGIL_RETURN_IF_ERROR(FsyncDir(t.dir.get(), t.path));
  return JoinPath(dest_dir, *placed);
}

}  // namespace vigil::quarantine
