#include "quarantine/fs.h"

#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace vigil::quarantine {

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

Status ErrnoStatus(const std::string& what, int err) {
  return Status::IoError(what + ": " + std::strerror(err));
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(what, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<uint64_t> ReadAllAt(int fd, const std::function<Status(std::string_view)>& chunk,
                           const std::string& what) {
  static constexpr size_t kChunk = 1 << 16;
  std::string buf(kChunk, '\0');
  uint64_t off = 0;
  while (true) {
    ssize_t n = pread(fd, buf.data(), buf.size(), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(what, errno);
    }
    if (n == 0) break;
    off += static_cast<uint64_t>(n);
    VIGIL_RETURN_IF_ERROR(chunk(std::string_view(buf.data(), static_cast<size_t>(n))));
  }
  return off;
}

Status FsyncDir(int dirfd, const std::string& what) {
  if (fsync(dirfd) != 0 && errno != EINVAL) return ErrnoStatus(what, errno);
  return Status::Ok();
}

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {".", p};
  return {p.substr(0, slash == 0 ? 1 : slash), p.substr(slash + 1)};
}

Result<UniqueFd> OpenDirPath(const std::string& path, bool follow_symlinks) {
  const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_symlinks ? 0 : O_NOFOLLOW);
  UniqueFd cur(open(path.starts_with('/') ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur.valid()) return ErrnoStatus(path, errno);
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string comp = path.substr(i, j - i);
    i = j + 1;
    if (comp.empty() || comp == ".") continue;
    UniqueFd next(openat(cur.get(), comp.c_str(), flags));
    if (!next.valid()) return ErrnoStatus(path, errno);
    cur = std::move(next);
  }
  return cur;
}

std::string DirPathOf(int dirfd, const std::string& fallback) {
  std::string link = "/proc/self/fd/" + std::to_string(dirfd);
  std::string buf(PATH_MAX + 1, '\0');
  ssize_t n = readlink(link.c_str(), buf.data(), buf.size());
  if (n > 0 && static_cast<size_t>(n) < buf.size() && buf[0] == '/') {
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  if (fallback.starts_with('/')) return fallback;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return "";
  std::string out = cwd;
  if (fallback != ".") out += "/" + fallback;
  return out;
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Status::InvalidArgument("empty directory path");
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    i = j + 1;
    if (cur.empty()) continue;
    bool last = j >= path.size() || path.find_first_not_of('/', j) == std::string::npos;
    if (mkdir(cur.c_str(), last ? mode : 0755) != 0 && errno != EEXIST)
      return ErrnoStatus("cannot create directory " + cur, errno);
    if (last) break;
  }
  return Status::Ok();
}

int RenameNoReplace(int from_dir, const std::string& from, int to_dir, const std::string& to) {
  if (renameat2(from_dir, from.c_str(), to_dir, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // No RENAME_NOREPLACE on this file system: link() refuses to overwrite too.
  if (linkat(from_dir, from.c_str(), to_dir, to.c_str(), 0) != 0) return -1;
  if (unlinkat(from_dir, from.c_str(), 0) != 0) {
    int e = errno;
    unlinkat(to_dir, to.c_str(), 0);
    errno = e;
    return -1;
  }
  return 0;
}

Result<TempFile> TempFile::Create(int dirfd, const std::string& fallback_name, mode_t mode) {
  TempFile t;
  t.dirfd_ = dirfd;
  t.fd_.Reset(openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
  if (t.fd_.valid()) return t;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT)
    return ErrnoStatus("cannot create a file", errno);
  unlinkat(dirfd, fallback_name.c_str(), 0);  // left by an earlier, interrupted run
  t.fd_.Reset(openat(dirfd, fallback_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!t.fd_.valid()) return ErrnoStatus("cannot create a file", errno);
  t.named_ = fallback_name;
  return t;
}

TempFile::~TempFile() {
  if (!named_.empty() && dirfd_ >= 0) unlinkat(dirfd_, named_.c_str(), 0);
}

int TempFile::Link(const std::string& name, bool replace) {
  if (!named_.empty()) {
    int r = replace ? renameat(dirfd_, named_.c_str(), dirfd_, name.c_str())
                    : RenameNoReplace(dirfd_, named_, dirfd_, name);
    if (r == 0) named_.clear();
    return r;
  }
  // An O_TMPFILE file is linked through /proc (AT_EMPTY_PATH would need
  // CAP_DAC_READ_SEARCH); link() never overwrites.
  std::string self = "/proc/self/fd/" + std::to_string(fd_.get());
  auto link_as = [&](const std::string& n) {
    if (linkat(AT_FDCWD, self.c_str(), dirfd_, n.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
    if (errno == ENOENT || errno == EPERM) return linkat(fd_.get(), "", dirfd_, n.c_str(), AT_EMPTY_PATH);
    return -1;
  };
  if (!replace) return link_as(name);
  // Replacing: link under a private name, then rename over the target.
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string tmp = ".vigil-link-" + std::to_string(getpid()) + "-" + std::to_string(attempt) + ".tmp";
    if (link_as(tmp) != 0) {
      if (errno == EEXIST) continue;
      return -1;
    }
    if (renameat(dirfd_, tmp.c_str(), dirfd_, name.c_str()) == 0) return 0;
    int e = errno;
    unlinkat(dirfd_, tmp.c_str(), 0);
    errno = e;
    return -1;
  }
  errno = EEXIST;
  return -1;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::Update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Sha256::HexDigest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len);
  return Hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

Result<std::string> HashFd(int fd, uint64_t* size) {
  Sha256 h;
  auto n = ReadAllAt(fd, [&](std::string_view d) { h.Update(d); return Status::Ok(); }, "read");
  if (!n.ok()) return n.status();
  if (size) *size = *n;
  return h.HexDigest();
}

bool SameUnchanged(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

}  // namespace vigil::quarantine
