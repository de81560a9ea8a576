#include "quarantine/vault.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "quarantine/fault.h"
#include "report/report.h"

namespace vigil::quarantine {
namespace {

constexpr const char* kKeyFile = "vault.key";
constexpr const char* kLockFile = "vault.lock";
constexpr const char* kIndexFile = "index.sqlite";
constexpr const char* kDataDir = "data";
constexpr size_t kIdHexChars = 12;

std::string NewId() {
  unsigned char r[kIdHexChars / 2];
  randombytes_buf(r, sizeof r);
  return Hex(std::string_view(reinterpret_cast<char*>(r), sizeof r));
}

bool ValidIdPrefix(const std::string& s) {
  if (s.empty() || s.size() > kIdBytes) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string UserName(uid_t uid) {
  struct passwd pw {}, *res = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) return res->pw_name;
  return "";
}

std::string GroupName(gid_t gid) {
  struct group gr {}, *res = nullptr;
  char buf[4096];
  if (getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res) return res->gr_name;
  return "";
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

// Extended attributes of an open file; those that cannot be read are skipped.
std::vector<std::pair<std::string, std::string>> ReadXattrs(int fd) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t n = flistxattr(fd, nullptr, 0);
  if (n <= 0) return out;
  std::string names(static_cast<size_t>(n), '\0');
  n = flistxattr(fd, names.data(), names.size());
  if (n <= 0) return out;
  names.resize(static_cast<size_t>(n));
  size_t i = 0;
  while (i < names.size()) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (name.empty()) continue;
    ssize_t len = fgetxattr(fd, name.c_str(), nullptr, 0);
    if (len < 0) continue;
    std::string value(static_cast<size_t>(len), '\0');
    len = fgetxattr(fd, name.c_str(), value.data(), value.size());
    if (len < 0) continue;
    value.resize(static_cast<size_t>(len));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

Result<std::string> ReadSmallFileAt(int dirfd, const char* name) {
  UniqueFd fd(openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(name, errno);
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(name, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 1 << 16) return Status::Corruption(std::string(name) + ": too large");
  }
  return out;
}

// Reads the vault key, creating it when the vault is new. Two processes
// creating a vault at once agree on one key: each writes a temporary file
// and link() lets only the first become vault.key.
Result<VaultKey> LoadOrCreateKey(int dirfd, const std::string& dir, bool vault_has_entries) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto bytes = ReadSmallFileAt(dirfd, kKeyFile);
    if (bytes.ok()) {
      auto k = DecodeKeyFile(*bytes);
      if (!k.ok()) return Status::Corruption(dir + "/" + kKeyFile + ": " + k.status().message());
      return k;
    }
    if (faccessat(dirfd, kKeyFile, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
      return Status::IoError("cannot read vault key " + dir + "/" + kKeyFile + ": " + bytes.status().message());
    if (vault_has_entries)
      return Status::Corruption("vault key " + dir + "/" + kKeyFile +
                                " is missing but the vault has entries; refusing to create a new key");
    std::string tmp = std::string(kKeyFile) + ".tmp-" + NewId();
    UniqueFd fd(openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoStatus("cannot create vault key in " + dir, errno);
    VaultKey key = NewKey();
    std::string enc = EncodeKeyFile(key);
    sodium_memzero(key.data(), key.size());
    Status st = WriteAll(fd.get(), enc, "cannot write vault key in " + dir);
    sodium_memzero(enc.data(), enc.size());
    if (st.ok() && fsync(fd.get()) != 0) st = ErrnoStatus("cannot write vault key in " + dir, errno);
    if (st.ok() && linkat(dirfd, tmp.c_str(), dirfd, kKeyFile, 0) != 0 && errno != EEXIST)
      st = ErrnoStatus("cannot create vault key in " + dir, errno);
    unlinkat(dirfd, tmp.c_str(), 0);
    if (!st.ok()) return st;
    VIGIL_RETURN_IF_ERROR(FsyncDir(dirfd, dir));
  }
  return Status::Internal("vault key could not be created");
}

std::string Base64(std::string_view b) {
  std::string out(sodium_base64_encoded_len(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(b.data()), b.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string IsoTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Str(const std::string& s) {
  std::string out(1, '"');
  out += report::JsonEscape(s);
  out += '"';
  return out;
}

Status LockShared(int fd, const std::string& dir) {
  while (flock(fd, LOCK_SH) != 0) {
    if (errno != EINTR) return ErrnoStatus("cannot lock vault " + dir, errno);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> DefaultVaultDir() {
  if (const char* h = std::getenv("VIGIL_HOME"); h && *h) return std::string(h) + "/quarantine";
  if (geteuid() == 0) return std::string("/var/lib/vigil/quarantine");
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/vigil/quarantine";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/share/vigil/quarantine";
  return Status::NotFound("no vault directory: set --vault, VIGIL_HOME or HOME");
}

Result<std::unique_ptr<Vault>> Vault::Open(const std::string& dir) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialise");
  std::unique_ptr<Vault> v(new Vault());
  v->dir_ = dir;
  VIGIL_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  v->dirfd_.Reset(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!v->dirfd_.valid()) return ErrnoStatus("cannot open vault " + dir, errno);
  struct stat st {};
  if (fstat(v->dirfd_.get(), &st) != 0) return ErrnoStatus("cannot open vault " + dir, errno);
  if (st.st_uid != geteuid())
    return Status::IoError("vault " + dir + " belongs to uid " + std::to_string(st.st_uid) +
                           ", not to this user (uid " + std::to_string(geteuid()) + ")");
  if ((st.st_mode & 07777) != 0700 && fchmod(v->dirfd_.get(), 0700) != 0)
    return ErrnoStatus("cannot make vault " + dir + " private (mode 0700)", errno);
  if (mkdirat(v->dirfd_.get(), kDataDir, 0700) != 0 && errno != EEXIST)
    return ErrnoStatus("cannot create " + dir + "/" + kDataDir, errno);
  v->datafd_.Reset(openat(v->dirfd_.get(), kDataDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!v->datafd_.valid()) return ErrnoStatus("cannot open " + dir + "/" + kDataDir, errno);
  v->lockfd_.Reset(openat(v->dirfd_.get(), kLockFile, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!v->lockfd_.valid()) return ErrnoStatus("cannot create " + dir + "/" + kLockFile, errno);

  // The first process to open the vault holds it exclusively while it creates
  // the key and cleans up; everyone else waits for a shared lock, which they
  // get only once the vault is set up. Cleanup must never run while another
  // process is setting up (it would remove that process's half-created key) or
  // quarantining (a content file without an index row may be in progress).
  bool exclusive = flock(v->lockfd_.get(), LOCK_EX | LOCK_NB) == 0;
  if (!exclusive) VIGIL_RETURN_IF_ERROR(LockShared(v->lockfd_.get(), dir));

  auto index = Index::Open(dir + "/" + kIndexFile);
  if (!index.ok()) return index.status();
  v->index_ = std::move(index).value();
  auto ids = v->index_->IdsWithPrefix("");
  if (!ids.ok()) return ids.status();
  auto key = LoadOrCreateKey(v->dirfd_.get(), dir, !ids->empty());
  if (!key.ok()) return key.status();
  v->key_ = *key;

  if (exclusive) {
    v->Cleanup();
    VIGIL_RETURN_IF_ERROR(LockShared(v->lockfd_.get(), dir));
  }
  return v;
}

Vault::~Vault() { sodium_memzero(key_.data(), key_.size()); }

void Vault::Cleanup() {
  int fd = dup(datafd_.get());
  if (fd < 0) return;
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return;
  }
  rewinddir(d);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) names.emplace_back(e->d_name);
  closedir(d);
  bool removed = false;
  for (const auto& n : names) {
    std::string why;
    if (n.ends_with(".part")) {
      why = "half-written content file";
    } else if (n.ends_with(".vlt")) {
      auto has = index_->Has(n.substr(0, n.size() - 4));
      if (!has.ok() || *has) continue;
      why = "content file without an index entry";
    } else {
      continue;
    }
    if (unlinkat(datafd_.get(), n.c_str(), 0) == 0) {
      cleanup_notes_.push_back("removed " + why + " " + kDataDir + "/" + n);
      removed = true;
    }
  }
  // Key files a crashed vault creation left behind.
  int kfd = dup(dirfd_.get());
  if (kfd >= 0) {
    if (DIR* kd = fdopendir(kfd)) {
      rewinddir(kd);
      std::vector<std::string> stale;
      while (dirent* e = readdir(kd))
        if (std::string_view(e->d_name).starts_with(std::string(kKeyFile) + ".tmp-")) stale.emplace_back(e->d_name);
      closedir(kd);
      for (const auto& n : stale) unlinkat(dirfd_.get(), n.c_str(), 0);
    } else {
      close(kfd);
    }
  }
  if (removed) FsyncDir(datafd_.get(), dir_).ok();
}

bool Vault::HasContent(const std::string& id) const {
  struct stat st {};
  return fstatat(datafd_.get(), (id + ".vlt").c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

void Vault::Rollback(const Entry& e) {
  index_->Remove(e.id).ok();
  unlinkat(datafd_.get(), (e.id + ".vlt").c_str(), 0);
  FsyncDir(datafd_.get(), dir_).ok();
}

Result<Entry> Vault::Quarantine(const Target& t, const QuarantineInfo& info) {
  auto left = [&](const std::string& why) {
    return Status::IoError(why + "; " + t.path + " left in place");
  };
  VIGIL_RETURN_IF_ERROR(CheckUnchanged(t));
  // Find out now, before copying anything, whether the original could be removed.
  struct statvfs vfs {};
  if (fstatvfs(t.dir.get(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
    return left("cannot remove " + t.path + ": " + std::strerror(EROFS));
  if (faccessat(t.dir.get(), ".", W_OK | X_OK, AT_EACCESS) != 0)
    return left("cannot remove " + t.path + ": " + std::strerror(errno));

  Entry e;
  e.path = CanonicalPath(t);
  e.given_path = t.path;
  e.uid = t.st.st_uid;
  e.gid = t.st.st_gid;
  e.owner = UserName(t.st.st_uid);
  e.group = GroupName(t.st.st_gid);
  e.mode = t.st.st_mode;
  e.atime_sec = t.st.st_atim.tv_sec;
  e.atime_nsec = t.st.st_atim.tv_nsec;
  e.mtime_sec = t.st.st_mtim.tv_sec;
  e.mtime_nsec = t.st.st_mtim.tv_nsec;
  e.xattrs = ReadXattrs(t.file.get());
  e.size = static_cast<uint64_t>(t.st.st_size);
  e.detections = info.detections;
  e.quarantined_at = std::time(nullptr);
  e.db_version = info.db_version;
  e.host = HostName();
  e.vigil_version = VIGIL_VERSION;

  FaultPoint("quarantine: start");
  // 1. Copy, encrypted, into data/ID.part.
  UniqueFd out;
  std::string part, vlt;
  for (int attempt = 0; attempt < 8 && !out.valid(); ++attempt) {
    e.id = NewId();
    part = e.id + ".part";
    vlt = e.id + ".vlt";
    if (HasContent(e.id)) continue;
    out.Reset(openat(datafd_.get(), part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid() && errno != EEXIST) return left("cannot write to vault " + dir_ + ": " + std::strerror(errno));
  }
  if (!out.valid()) return Status::Internal("no free vault entry id");
  auto drop_part = [&](Status st) {
    unlinkat(datafd_.get(), part.c_str(), 0);
    return st;
  };
  Sha256 hash;
  {
    ContentWriter w(out.get(), key_, e.id, e.size);
    Status st = w.Begin();
    bool first = true;
    if (st.ok()) {
      auto n = ReadAllAt(t.file.get(), [&](std::string_view d) {
        hash.Update(d);
        Status s = w.Update(d);
        if (first) {
          FaultPoint("quarantine: first bytes copied");
          first = false;
        }
        return s;
      }, "cannot read " + t.path);
      if (!n.ok()) st = n.status();
      else if (*n != e.size)
        return drop_part(Status::InvalidArgument(t.path + " changed while it was copied; left in place"));
    }
    if (st.ok()) st = w.Finish();
    if (!st.ok()) return drop_part(left("cannot copy into vault " + dir_ + ": " + st.message()));
  }
  FaultPoint("quarantine: content written, before fsync");
  // 2. Make the copy durable: the file, then its name.
  if (fsync(out.get()) != 0) return drop_part(left("cannot write to vault " + dir_ + ": " + std::strerror(errno)));
  out.Reset();
  FaultPoint("quarantine: content synced, before rename");
  if (renameat(datafd_.get(), part.c_str(), datafd_.get(), vlt.c_str()) != 0)
    return drop_part(left("cannot write to vault " + dir_ + ": " + std::strerror(errno)));
  FaultPoint("quarantine: renamed, before directory sync");
  auto drop_vlt = [&](Status st) {
    unlinkat(datafd_.get(), vlt.c_str(), 0);
    return st;
  };
  Status st = FsyncDir(datafd_.get(), dir_ + "/" + kDataDir);
  if (!st.ok()) return drop_vlt(left(st.message()));
  e.sha256 = hash.HexDigest();
  st = CheckUnchanged(t);
  if (!st.ok()) return drop_vlt(st);
  FaultPoint("quarantine: content durable, before index commit");
  // 3. Commit the index row: from here on the file is in the vault.
  st = index_->Insert(e);
  if (!st.ok()) return drop_vlt(left("cannot record in vault index: " + st.message()));
  FaultPoint("quarantine: committed, before re-check");
  // 4. Re-check that the original is still what was scanned and copied.
  auto again = HashFd(t.file.get(), nullptr);
  if (!again.ok()) {
    Rollback(e);
    return left("cannot re-read " + t.path + ": " + again.status().message());
  }
  if (*again != e.sha256) {
    Rollback(e);
    return Status::InvalidArgument(t.path + " changed while it was copied; left in place");
  }
  st = CheckUnchanged(t);
  if (!st.ok()) {
    Rollback(e);
    return st;
  }
  FaultPoint("quarantine: re-checked, before unlink");
  // 5. Remove the original.
  if (unlinkat(t.dir.get(), t.name.c_str(), 0) != 0) {
    int err = errno;
    Rollback(e);
    return left("cannot remove " + t.path + ": " + std::strerror(err));
  }
  FaultPoint("quarantine: original removed, before directory sync");
  FsyncDir(t.dir.get(), t.path).ok();  // the file is safe in the vault either way
  FaultPoint("quarantine: done");
  return e;
}

Result<std::vector<Entry>> Vault::List() { return index_->List(); }

Result<Entry> Vault::Find(const std::string& id_or_prefix) {
  if (!ValidIdPrefix(id_or_prefix))
    return Status::InvalidArgument("'" + id_or_prefix + "' is not a vault entry id (lowercase hex)");
  auto ids = index_->IdsWithPrefix(id_or_prefix);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return Status::NotFound("no vault entry '" + id_or_prefix + "'");
  if (ids->size() > 1) return Status::InvalidArgument("'" + id_or_prefix + "' matches several entries; give more of the id");
  auto e = index_->Get(ids->front());
  if (!e.ok()) return e.status();
  if (!e->has_value()) return Status::NotFound("no vault entry '" + id_or_prefix + "'");
  return std::move(**e);
}

Status Vault::ReadContent(const Entry& e, const std::function<Status(std::string_view)>& sink) {
  UniqueFd fd(openat(datafd_.get(), (e.id + ".vlt").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("vault entry " + e.id + ": content file " + kDataDir + "/" + e.id + ".vlt", errno);
  Sha256 h;
  auto n = quarantine::ReadContent(fd.get(), key_, e.id, [&](std::string_view d) {
    h.Update(d);
    return sink(d);
  });
  if (!n.ok()) return Status::Corruption("vault entry " + e.id + ": " + n.status().message());
  if (*n != e.size || h.HexDigest() != e.sha256)
    return Status::Corruption("vault entry " + e.id + ": content does not match its recorded SHA-256");
  return Status::Ok();
}

Result<RestoreResult> Vault::Restore(const Entry& e, const RestoreOptions& o) {
  RestoreResult res;
  std::string dest = e.path;
  bool follow = false;  // the recorded path is canonical: no symlink on the way is trusted
  if (!o.to.empty()) {
    follow = true;
    struct stat st {};
    dest = o.to;
    if (stat(o.to.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      dest = o.to + (o.to.ends_with('/') ? "" : "/") + SplitPath(e.path).second;
  }
  auto [dir, name] = SplitPath(dest);
  res.path = dest;
  auto d = OpenDirPath(dir, follow);
  if (!d.ok()) {
    std::string hint = o.to.empty() ? " (restore elsewhere with --to PATH)" : "";
    return Status::IoError("cannot restore to " + dest + ": directory " + d.status().message() + hint);
  }
  int dirfd = d->get();
  struct stat existing {};
  if (fstatat(dirfd, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!o.force) return Status::InvalidArgument(dest + " exists; use --force to replace it");
    if (S_ISDIR(existing.st_mode)) return Status::InvalidArgument(dest + " is a directory");
  }
  // Unnamed until complete: a crash never leaves a partial file behind.
  auto tmp = TempFile::Create(dirfd, ".vigil-restore-" + e.id + ".tmp", 0600);
  if (!tmp.ok()) return Status::IoError("cannot restore to " + dest + ": " + tmp.status().message());
  int out = tmp->fd();
  Status st = ReadContent(e, [&](std::string_view data) { return WriteAll(out, data, "cannot restore to " + dest); });
  if (!st.ok()) return st;
  FaultPoint("restore: content written");
  if (fchown(out, e.uid, e.gid) != 0)
    res.warnings.push_back("owner " + std::to_string(e.uid) + ":" + std::to_string(e.gid) +
                           " not restored: " + std::strerror(errno));
  for (const auto& [xname, value] : e.xattrs)
    if (fsetxattr(out, xname.c_str(), value.data(), value.size(), 0) != 0)
      res.warnings.push_back("extended attribute " + xname + " not restored: " + std::strerror(errno));
  // After chown, which clears set-user-ID bits.
  if (fchmod(out, e.mode & 07777) != 0)
    res.warnings.push_back("mode not restored: " + std::string(std::strerror(errno)));
  struct timespec times[2] = {{static_cast<time_t>(e.atime_sec), static_cast<long>(e.atime_nsec)},
                              {static_cast<time_t>(e.mtime_sec), static_cast<long>(e.mtime_nsec)}};
  if (futimens(out, times) != 0)
    res.warnings.push_back("times not restored: " + std::string(std::strerror(errno)));
  if (fsync(out) != 0) return ErrnoStatus("cannot restore to " + dest, errno);
  FaultPoint("restore: synced, before linking it in place");
  if (tmp->Link(name, o.force) != 0) {
    if (errno == EEXIST) return Status::InvalidArgument(dest + " exists; use --force to replace it");
    return ErrnoStatus("cannot restore to " + dest, errno);
  }
  VIGIL_RETURN_IF_ERROR(FsyncDir(dirfd, dir));
  FaultPoint("restore: in place, before removal from the vault");
  if (!o.keep) {
    st = Delete(e);
    if (!st.ok()) res.warnings.push_back("restored, but the entry stays in the vault: " + st.message());
  }
  return res;
}

Status Vault::Delete(const Entry& e) {
  VIGIL_RETURN_IF_ERROR(index_->Remove(e.id));
  FaultPoint("delete: row removed, before content removal");
  if (unlinkat(datafd_.get(), (e.id + ".vlt").c_str(), 0) != 0 && errno != ENOENT)
    return ErrnoStatus("vault entry " + e.id + " removed from the index, but its content file stays", errno);
  return FsyncDir(datafd_.get(), dir_);
}

Status Vault::Export(const Entry& e, const std::string& to_file, const std::string& password) {
  auto [dir, name] = SplitPath(to_file);
  auto d = OpenDirPath(dir, /*follow_symlinks=*/true);
  if (!d.ok()) return Status::IoError("cannot export to " + to_file + ": " + d.status().message());
  struct stat st {};
  if (fstatat(d->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    return Status::InvalidArgument(to_file + " exists; not overwritten");
  std::string tmp = ".vigil-export-" + e.id + "-" + NewId() + ".tmp";
  UniqueFd out(openat(d->get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return ErrnoStatus("cannot export to " + to_file, errno);
  auto fail = [&](Status s) {
    unlinkat(d->get(), tmp.c_str(), 0);
    return s;
  };
  struct archive* a = archive_write_new();
  auto aerr = [&](const char* what) {
    Status s = Status::IoError(std::string("cannot export to ") + to_file + ": " + what + ": " +
                               (archive_error_string(a) ? archive_error_string(a) : "libarchive error"));
    archive_write_free(a);
    return fail(s);
  };
  if (archive_write_set_format_zip(a) != ARCHIVE_OK) return aerr("zip");
  if (archive_write_set_options(a, "zip:encryption=zipcrypt") != ARCHIVE_OK) return aerr("encryption");
  if (archive_write_set_passphrase(a, password.c_str()) != ARCHIVE_OK) return aerr("passphrase");
  if (archive_write_open_fd(a, out.get()) != ARCHIVE_OK) return aerr("open");
  auto add = [&](const std::string& member, uint64_t size,
                 const std::function<Status(const std::function<Status(std::string_view)>&)>& produce) -> Status {
    struct archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, member.c_str());
    archive_entry_set_size(ae, static_cast<la_int64_t>(size));
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0600);  // never executable
    archive_entry_set_mtime(ae, e.mtime_sec, e.mtime_nsec);
    int r = archive_write_header(a, ae);
    archive_entry_free(ae);
    if (r != ARCHIVE_OK) return Status::IoError(archive_error_string(a) ? archive_error_string(a) : "zip header");
    return produce([&](std::string_view data) {
      if (archive_write_data(a, data.data(), data.size()) < 0)
        return Status::IoError(archive_error_string(a) ? archive_error_string(a) : "zip write");
      return Status::Ok();
    });
  };
  std::string meta = EntryJson(e) + "\n";
  Status s = add("metadata.json", meta.size(), [&](const auto& write) { return write(meta); });
  if (s.ok())
    s = add(e.sha256, e.size, [&](const auto& write) { return ReadContent(e, write); });
  if (!s.ok()) {
    archive_write_free(a);
    return fail(Status::IoError("cannot export to " + to_file + ": " + s.message()));
  }
  if (archive_write_close(a) != ARCHIVE_OK) return aerr("close");
  archive_write_free(a);
  if (fsync(out.get()) != 0) return fail(ErrnoStatus("cannot export to " + to_file, errno));
  if (RenameNoReplace(d->get(), tmp, d->get(), name) != 0) {
    if (errno == EEXIST) return fail(Status::InvalidArgument(to_file + " exists; not overwritten"));
    return fail(ErrnoStatus("cannot export to " + to_file, errno));
  }
  return FsyncDir(d->get(), dir);
}

Status AppendAllowList(const std::string& sfp_path, const Entry& e) {
  UniqueFd fd(open(sfp_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("cannot open allow-list " + sfp_path, errno);
  while (flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return ErrnoStatus("cannot lock allow-list " + sfp_path, errno);
  std::string line;
  struct stat st {};
  if (fstat(fd.get(), &st) == 0 && st.st_size > 0) {
    char last = '\n';
    if (pread(fd.get(), &last, 1, st.st_size - 1) == 1 && last != '\n') line += '\n';
  }
  // A signature name may not contain ':'; the entry id keeps the line traceable.
  line += e.sha256 + ":" + std::to_string(e.size) + ":Vigil.Allowed." + e.id + "\n";
  VIGIL_RETURN_IF_ERROR(WriteAll(fd.get(), line, "cannot write allow-list " + sfp_path));
  if (fsync(fd.get()) != 0) return ErrnoStatus("cannot write allow-list " + sfp_path, errno);
  return Status::Ok();
}

std::string EntryJson(const Entry& e) {
  char mode[16];
  std::snprintf(mode, sizeof mode, "%04o", e.mode & 07777);
  std::string j = "{";
  auto key = [&](const char* k) {
    if (j.size() > 1) j += ',';
    j += '"';
    j += k;
    j += "\":";
  };
  auto str = [&](const char* k, const std::string& v) { key(k); j += Str(v); };
  auto num = [&](const char* k, int64_t v) { key(k); j += std::to_string(v); };
  str("id", e.id);
  str("path", e.path);
  str("path_base64", Base64(e.path));
  str("given_path", e.given_path);
  str("given_path_base64", Base64(e.given_path));
  num("uid", e.uid);
  num("gid", e.gid);
  str("owner", e.owner);
  str("group", e.group);
  str("mode", mode);
  num("atime", e.atime_sec);
  num("atime_nsec", e.atime_nsec);
  num("mtime", e.mtime_sec);
  num("mtime_nsec", e.mtime_nsec);
  num("size", static_cast<int64_t>(e.size));
  str("sha256", e.sha256);
  key("detections");
  j += '[';
  for (size_t i = 0; i < e.detections.size(); ++i) {
    if (i) j += ',';
    j += Str(e.detections[i]);
  }
  j += ']';
  num("quarantined_at", e.quarantined_at);
  str("quarantined_at_utc", IsoTime(e.quarantined_at));
  str("db_version", e.db_version);
  str("host", e.host);
  str("vigil_version", e.vigil_version);
  key("xattrs");
  j += '[';
  for (size_t i = 0; i < e.xattrs.size(); ++i) {
    if (i) j += ',';
    j += "{\"name\":";
    j += Str(e.xattrs[i].first);
    j += ",\"value_base64\":";
    j += Str(Base64(e.xattrs[i].second));
    j += '}';
  }
  j += "]}";
  return j;
}

bool ParseAge(const std::string& s, int64_t* seconds) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || end == s.c_str() || v < 0) return false;
  std::string unit(end);
  int64_t mul;
  if (unit.empty() || unit == "d") mul = 86400;
  else if (unit == "s") mul = 1;
  else if (unit == "m") mul = 60;
  else if (unit == "h") mul = 3600;
  else if (unit == "w") mul = 7 * 86400;
  else return false;
  if (v > INT64_MAX / mul) return false;
  *seconds = v * mul;
  return true;
}

}  // namespace vigil::quarantine
