#include "update/log_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "update/util.h"

namespace vigil::update {
namespace {
constexpr uint64_t kMaxEntry = 1 << 20;
std::string LeavesPath(const std::string& repo) { return repo + "/private/leaves"; }
std::string Key(const Hash& h) { return std::string(reinterpret_cast<const char*>(h.data()), h.size()); }
}  // namespace

Result<std::unique_ptr<LogStore>> LogStore::Open(const std::string& repo, bool create) {
  if (create) {
    VIGIL_RETURN_IF_ERROR(MakeDirs(repo + "/private", 0700));
    VIGIL_RETURN_IF_ERROR(MakeDirs(repo + "/log/entries"));
    if (!PathExists(LeavesPath(repo))) VIGIL_RETURN_IF_ERROR(WriteFileAtomic(LeavesPath(repo), ""));
  }
  std::unique_ptr<LogStore> s(new LogStore(repo));
  VIGIL_RETURN_IF_ERROR(s->Refresh());
  return s;
}

void LogStore::AddLeaf(const Hash& h) {
  index_.try_emplace(Key(h), tree_.size());
  tree_.Append(h);
}

std::optional<uint64_t> LogStore::IndexOf(const Hash& leaf_hash) const {
  auto it = index_.find(Key(leaf_hash));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::string LogStore::EntryPath(uint64_t index) const {
  return repo_ + "/log/entries/" + std::to_string(index);
}

Result<std::string> LogStore::ReadEntry(uint64_t index) const {
  if (index >= size()) return Status::NotFound("no log entry " + std::to_string(index));
  return ReadFile(EntryPath(index), kMaxEntry);
}

Status LogStore::VerifyEntries() const {
  for (uint64_t i = 0; i < size(); ++i) {
    auto e = ReadEntry(i);
    if (!e.ok()) return e.status();
    if (LeafHash(*e) != tree_.leaf(i))
      return Status::Corruption("log entry " + std::to_string(i) + " does not match its leaf hash");
  }
  return Status::Ok();
}

Status LogStore::Refresh() {
  int fd = open(LeavesPath(repo_).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(ErrnoText("cannot open " + LeavesPath(repo_), errno));
  struct stat st {};
  fstat(fd, &st);
  uint64_t complete = static_cast<uint64_t>(st.st_size) / 32;
  for (uint64_t i = size(); i < complete; ++i) {
    Hash h;
    if (pread(fd, h.data(), 32, static_cast<off_t>(i * 32)) != 32) {
      int e = errno;
      close(fd);
      return Status::IoError(ErrnoText("cannot read " + LeavesPath(repo_), e));
    }
    AddLeaf(h);
  }
  close(fd);
  return Status::Ok();
}

Result<uint64_t> LogStore::Append(std::string_view entry) {
  if (entry.size() > kMaxEntry) return Status::InvalidArgument("log entry too large");
  uint64_t index = size();
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(EntryPath(index), entry));
  int fd = open(LeavesPath(repo_).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::IoError(ErrnoText("cannot open " + LeavesPath(repo_), errno));
  // Drop a partial hash left by a crash, then append.
  if (ftruncate(fd, static_cast<off_t>(index * 32)) != 0) {
    int e = errno;
    close(fd);
    return Status::IoError(ErrnoText("cannot truncate " + LeavesPath(repo_), e));
  }
  Hash h = LeafHash(entry);
  ssize_t n = pwrite(fd, h.data(), 32, static_cast<off_t>(index * 32));
  int e = errno;
  if (n != 32 || fsync(fd) != 0) {
    if (n == 32) e = errno;
    close(fd);
    return Status::IoError(ErrnoText("cannot append to " + LeavesPath(repo_), e));
  }
  close(fd);
  AddLeaf(h);
  return index;
}

}  // namespace vigil::update
