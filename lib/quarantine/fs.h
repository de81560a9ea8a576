// Small POSIX helpers the vault is built on: owned descriptors, full reads
// and writes, directory fsync, descriptor-relative path walking.
//
// Everything here works on descriptors so that a path is resolved once and
// every later step acts on the same inode.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "vigil/status.h"

namespace vigil::quarantine {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) { Reset(); fd_ = std::exchange(o.fd_, -1); }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// "what: strerror(err)" as an IoError.
Status ErrnoStatus(const std::string& what, int err);

// Writes all of `data`, retrying on EINTR and short writes.
Status WriteAll(int fd, std::string_view data, const std::string& what);

// Reads the whole file from offset 0 with pread (the file offset is left
// alone), calling chunk(bytes) for each piece. Returns the byte count.
Result<uint64_t> ReadAllAt(int fd, const std::function<Status(std::string_view)>& chunk,
                           const std::string& what);

// fsync a directory so that entries created, renamed or removed in it are durable.
Status FsyncDir(int dirfd, const std::string& what);

// Opens a directory path one component at a time (so paths longer than
// PATH_MAX work). With follow_symlinks false, any symlink on the way fails
// with ELOOP/ENOTDIR. An empty path or "." is the current directory.
Result<UniqueFd> OpenDirPath(const std::string& path, bool follow_symlinks);

// Splits "a/b/c" into ("a/b", "c"); "c" into (".", "c"); "/c" into ("/", "c").
// Trailing slashes are dropped.
std::pair<std::string, std::string> SplitPath(const std::string& path);

// The absolute path of an open directory, via /proc/self/fd (falls back to
// the given path made absolute). Empty on failure.
std::string DirPathOf(int dirfd, const std::string& fallback);

// Creates `path` and missing parents (parents 0755, the last one `mode`).
Status MakeDirs(const std::string& path, mode_t mode);

// renameat2(RENAME_NOREPLACE), falling back to link+unlink where the file
// system lacks it. -1 with errno EEXIST when `to` exists.
int RenameNoReplace(int from_dir, const std::string& from, int to_dir, const std::string& to);

// A new file in a directory that has no name until Link() gives it one, so a
// crash while it is being written leaves nothing behind (O_TMPFILE). Where
// the file system lacks O_TMPFILE it is a hidden named file instead
// (`fallback_name`), removed again on failure.
class TempFile {
 public:
  static Result<TempFile> Create(int dirfd, const std::string& fallback_name, mode_t mode);
  TempFile(TempFile&& o) noexcept
      : dirfd_(o.dirfd_), fd_(std::move(o.fd_)), named_(std::exchange(o.named_, std::string())) {}
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();
  int fd() const { return fd_.get(); }
  // Makes the file visible as `name` in the directory. Without `replace`
  // fails (-1, errno EEXIST) when the name exists. Returns 0 on success.
  int Link(const std::string& name, bool replace);

 private:
  TempFile() = default;
  int dirfd_ = -1;
  UniqueFd fd_;
  std::string named_;  // the fallback's name while it is still temporary
};

// Lowercase hex of bytes.
std::string Hex(std::string_view bytes);

// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string HexDigest();  // finishes; call once

 private:
  void* ctx_;
};

// SHA-256 (hex) of a whole open file, read with pread from offset 0.
Result<std::string> HashFd(int fd, uint64_t* size);

// True when two stats name the same, unmodified inode (device, inode, size,
// mtime and ctime all equal).
bool SameUnchanged(const struct stat& a, const struct stat& b);

}  // namespace vigil::quarantine
