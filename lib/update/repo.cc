#include "update/repo.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <vector>

#include "update/archive.h"
#include "update/util.h"

namespace vigil::update {
namespace {

constexpr uint64_t kMaxDbFile = 4ull << 30;

// Holds private/lock for the life of the object.
class RepoLock {
 public:
  static Result<RepoLock> Acquire(const std::string& repo) {
    std::string path = repo + "/private/lock";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IoError(ErrnoText("cannot open " + path, errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      return Status::IoError("another publisher holds " + path);
    }
    return RepoLock(fd);
  }
  RepoLock(RepoLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~RepoLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  explicit RepoLock(int fd) : fd_(fd) {}
  int fd_;
};

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The manifests recorded in the log, parsed from their (trusted, own) text.
Result<std::vector<Manifest>> LoggedManifests(const LogStore& log) {
  std::vector<Manifest> out;
  for (uint64_t i = 0; i < log.size(); ++i) {
    auto e = log.ReadEntry(i);
    if (!e.ok()) return e.status();
    std::string_view text, sigs;
    if (!SplitNote(*e, &text, &sigs)) return Status::Corruption("log entry " + std::to_string(i) + " is not a note");
    auto m = ParseManifest(text);
    if (!m.ok()) return Status::Corruption("log entry " + std::to_string(i) + ": " + m.status().message());
    out.push_back(std::move(m.value()));
  }
  return out;
}

Result<FileSet> LoadReleaseFiles(const std::string& repo, const Manifest& m) {
  auto data = ReadFile(repo + "/" + paths::ReleaseFile(m.channel, m.version, m.bundle.name), m.bundle.size);
  if (!data.ok()) return data.status();
  if (data->size() != m.bundle.size || Sha256(*data) != m.bundle.sha256)
    return Status::Corruption("stored bundle of " + m.channel + " " + std::to_string(m.version) +
                              " does not match its manifest");
  auto raw = ZstdDecompress(*data, m.bundle.raw_size);
  if (!raw.ok()) return raw.status();
  return DecodeBundle(*raw);
}

Status WriteRelease(const std::string& dir, const std::string& name, std::string_view data) {
  return WriteFileAtomic(dir + "/" + name, data, 0644, /*sync=*/true);
}

}  // namespace

Result<FileSet> ReadDbDir(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return Status::NotFound(ErrnoText("cannot open database directory " + dir, errno));
  closedir(d);
  FileSet files;
  for (const std::string& name : ListDir(dir)) {
    if (name[0] == '.') continue;
    std::string path = dir + "/" + name;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (!ValidName(name))
      return Status::InvalidArgument("database file name not allowed in a release: " + path);
    auto content = ReadFile(path, kMaxDbFile);
    if (!content.ok()) return content.status();
    files.emplace(name, std::move(content.value()));
  }
  if (files.empty()) return Status::InvalidArgument("no database files in " + dir);
  return files;
}

Status WriteStaticView(const std::string& repo, LogStore& log, const NoteSigner& log_key) {
  uint64_t n = log.size();
  const MerkleTree& tree = log.tree();
  auto root = tree.Root(n);
  if (!root.ok()) return root.status();
  Checkpoint cp;
  cp.origin = log_key.name;
  cp.size = n;
  cp.root = *root;
  auto note = SignNote(FormatCheckpoint(cp), log_key);
  if (!note.ok()) return note.status();

  // Proofs against tree n for every entry and every earlier size.
  std::string inc_dir = repo + "/log/proof/inclusion/" + std::to_string(n);
  VIGIL_RETURN_IF_ERROR(MakeDirs(inc_dir));
  for (uint64_t i = 0; i < n; ++i) {
    auto path = tree.InclusionProof(i, n);
    if (!path.ok()) return path.status();
    InclusionProofMsg msg{i, n, std::move(path.value())};
    VIGIL_RETURN_IF_ERROR(
        WriteFileAtomic(repo + "/" + paths::Inclusion(n, tree.leaf(i)), FormatInclusionProof(msg), 0644, false));
  }
  for (uint64_t m = 1; m < n; ++m) {
    VIGIL_RETURN_IF_ERROR(MakeDirs(repo + "/log/proof/consistency/" + std::to_string(m)));
    auto path = tree.ConsistencyProof(m, n);
    if (!path.ok()) return path.status();
    ConsistencyProofMsg msg{m, n, std::move(path.value())};
    VIGIL_RETURN_IF_ERROR(
        WriteFileAtomic(repo + "/" + paths::Consistency(m, n), FormatConsistencyProof(msg), 0644, false));
  }
  // Make the proofs above durable in one call (before the checkpoint that
  // needs them), rather than one fsync per file.
  if (int fd = open(repo.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    int rc = syncfs(fd);
    int e = errno;
    close(fd);
    if (rc != 0) return Status::IoError(ErrnoText("syncfs " + repo, e));
  }
  VIGIL_RETURN_IF_ERROR(MakeDirs(repo + "/log/checkpoints"));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(repo + "/" + paths::CheckpointAt(n), *note));
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(repo + "/" + paths::Checkpoint(), *note));

  // Channel pointers last: a client that sees a new manifest finds a
  // checkpoint that contains it.
  std::map<std::string, uint64_t> latest;  // channel -> entry index
  auto manifests = LoggedManifests(log);
  if (!manifests.ok()) return manifests.status();
  for (uint64_t i = 0; i < manifests->size(); ++i) latest[(*manifests)[i].channel] = i;
  for (const auto& [channel, index] : latest) {
    auto entry = log.ReadEntry(index);
    if (!entry.ok()) return entry.status();
    VIGIL_RETURN_IF_ERROR(MakeDirs(repo + "/channels/" + channel));
    VIGIL_RETURN_IF_ERROR(WriteFileAtomic(repo + "/" + paths::ChannelManifest(channel), *entry));
  }

  // Keep proofs for the latest three tree sizes only.
  auto too_old = [&](const std::string& name) {
    uint64_t k;
    return ParseU64(name, &k) && k + 2 < n;
  };
  for (const auto& name : ListDir(repo + "/log/proof/inclusion"))
    if (too_old(name)) VIGIL_RETURN_IF_ERROR(RemoveTree(repo + "/log/proof/inclusion/" + name));
  for (const auto& m : ListDir(repo + "/log/proof/consistency"))
    for (const auto& name : ListDir(repo + "/log/proof/consistency/" + m))
      if (too_old(name)) VIGIL_RETURN_IF_ERROR(RemoveTree(repo + "/log/proof/consistency/" + m + "/" + name));
  return Status::Ok();
}

Result<PublishResult> Publish(const PublishOptions& o) {
  if (!ValidName(o.channel)) return Status::InvalidArgument("invalid channel name '" + o.channel + "'");
  int cmp;
  if (!CompareVersions(o.engine_min, o.engine_min, &cmp))
    return Status::InvalidArgument("invalid engine version '" + o.engine_min + "'");
  if (o.expires_in <= 0) return Status::InvalidArgument("expiry must be in the future");
  VIGIL_RETURN_IF_ERROR(MakeDirs(o.repo + "/private", 0700));
  auto lock = RepoLock::Acquire(o.repo);
  if (!lock.ok()) return lock.status();
  auto log = LogStore::Open(o.repo, /*create=*/true);
  if (!log.ok()) return log.status();
  VIGIL_RETURN_IF_ERROR((*log)->VerifyEntries());
  auto logged = LoggedManifests(**log);
  if (!logged.ok()) return logged.status();
  // Repair the static view if a previous publication crashed after appending.
  VIGIL_RETURN_IF_ERROR(WriteStaticView(o.repo, **log, o.log_key));

  std::vector<const Manifest*> previous;  // this channel's releases, newest first
  for (auto it = logged->rbegin(); it != logged->rend(); ++it)
    if (it->channel == o.channel) previous.push_back(&*it);

  auto files = ReadDbDir(o.db_dir);
  if (!files.ok()) return files.status();
  if (!o.validate) return Status::InvalidArgument("no database validator");
  auto sigs = o.validate(o.db_dir);
  if (!sigs.ok()) return Status::InvalidArgument("the database does not load: " + sigs.status().message());

  Manifest m;
  m.channel = o.channel;
  m.version = previous.empty() ? 1 : previous.front()->version + 1;
  m.created = o.now;
  m.expires = o.now + o.expires_in;
  m.engine_min = o.engine_min;
  m.signatures = *sigs;
  for (const auto& [name, content] : *files)
    m.files.push_back(ReleaseFile{name, content.size(), Sha256(content), CountSignatureLines(content)});

  // Build the release in a temporary directory, then rename it into place.
  std::string rel_dir = o.repo + "/" + paths::ReleaseDir(m.channel, m.version);
  std::string tmp_dir = o.repo + "/releases/" + m.channel + "/.tmp-" + std::to_string(m.version);
  VIGIL_RETURN_IF_ERROR(RemoveTree(tmp_dir));
  VIGIL_RETURN_IF_ERROR(RemoveTree(rel_dir));  // left by a crash before it was logged
  VIGIL_RETURN_IF_ERROR(MakeDirs(tmp_dir));

  PublishResult result;
  std::string raw = EncodeBundle(*files);
  std::string bundle = ZstdCompress(raw, o.zstd_level);
  if (bundle.empty()) return Status::Internal("zstd compression failed");
  m.bundle = Artifact{paths::BundleName(), bundle.size(), Sha256(bundle), raw.size()};
  VIGIL_RETURN_IF_ERROR(WriteRelease(tmp_dir, m.bundle.name, bundle));
  result.bundle_bytes = bundle.size();

  for (int k = 0; k < o.max_deltas && k < static_cast<int>(previous.size()); ++k) {
    const Manifest& base = *previous[k];
    auto base_files = LoadReleaseFiles(o.repo, base);
    if (!base_files.ok()) return base_files.status();
    std::string draw = MakeDelta(base.version, m.version, *base_files, *files);
    // Check the promise: applying the delta to release N gives release N+1.
    auto check = ApplyDelta(draw, *base_files);
    if (!check.ok() || *check != *files) return Status::Internal("delta self-check failed");
    std::string delta = ZstdCompress(draw, o.zstd_level);
    if (delta.empty()) return Status::Internal("zstd compression failed");
    if (delta.size() >= bundle.size()) continue;  // no gain over the full bundle
    DeltaArtifact d{base.version, Artifact{paths::DeltaName(base.version), delta.size(), Sha256(delta), draw.size()}};
    VIGIL_RETURN_IF_ERROR(WriteRelease(tmp_dir, d.artifact.name, delta));
    if (k == 0) result.delta_bytes = delta.size();
    m.deltas.push_back(std::move(d));
  }
  std::sort(m.deltas.begin(), m.deltas.end(),
            [](const DeltaArtifact& a, const DeltaArtifact& b) { return a.from_version < b.from_version; });

  auto note = SignNote(FormatManifest(m), o.release_key);
  if (!note.ok()) return note.status();
  VIGIL_RETURN_IF_ERROR(WriteRelease(tmp_dir, "manifest", *note));
  VIGIL_RETURN_IF_ERROR(MakeDirs(Dirname(rel_dir)));
  if (rename(tmp_dir.c_str(), rel_dir.c_str()) != 0)
    return Status::IoError(ErrnoText("cannot rename " + tmp_dir + " to " + rel_dir, errno));
  VIGIL_RETURN_IF_ERROR(FsyncPath(Dirname(rel_dir)));

  auto index = (*log)->Append(*note);
  if (!index.ok()) return index.status();
  VIGIL_RETURN_IF_ERROR(WriteStaticView(o.repo, **log, o.log_key));
  result.manifest = std::move(m);
  result.log_index = *index;
  result.tree_size = (*log)->size();
  return result;
}

}  // namespace vigil::update
