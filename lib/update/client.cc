#include "update/client.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>

#include "util/no_iostream_init.h"  // before httplib: see there
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "update/archive.h"
#include "update/fault.h"
#include "update/manifest.h"
#include "update/merkle.h"
#include "update/note.h"
#include "update/repo.h"
#include "update/util.h"

namespace vigil::update {
namespace {

constexpr uint64_t kMaxNoteBytes = 1 << 20;
constexpr uint64_t kMaxProofBytes = 64 << 10;

// ---------------------------------------------------------------- HTTP

struct Url {
  std::string origin;  // scheme://host[:port]
  std::string prefix;  // path prefix without a trailing '/'
};

Result<Url> ParseUrl(const std::string& s) {
  size_t scheme_end = s.find("://");
  if (scheme_end == std::string::npos || (s.substr(0, scheme_end) != "http" && s.substr(0, scheme_end) != "https"))
    return Status::InvalidArgument("server URL must start with http:// or https://: '" + s + "'");
  size_t slash = s.find('/', scheme_end + 3);
  Url u;
  u.origin = s.substr(0, slash);
  if (slash != std::string::npos) u.prefix = s.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  if (u.origin.size() <= scheme_end + 3) return Status::InvalidArgument("server URL without a host: '" + s + "'");
  return u;
}

class Fetcher {
 public:
  Fetcher(const Url& url, const UpdateConfig& cfg) : url_(url), cfg_(cfg), client_(url.origin) {
    client_.set_connection_timeout(cfg.connect_timeout, 0);
    client_.set_read_timeout(cfg.read_timeout, 0);
    client_.set_write_timeout(cfg.read_timeout, 0);
    client_.set_keep_alive(true);
    client_.set_decompress(false);
    httplib::Headers h;
    if (!cfg.license_key.empty()) h.emplace("Vigil-License", cfg.license_key);
    if (!cfg.endpoint_id.empty()) h.emplace("Vigil-Endpoint", cfg.endpoint_id);
    h.emplace("User-Agent", std::string("vigil/") + cfg.engine_version);
    client_.set_default_headers(h);
  }

  // Set when the server refused a request for legal reasons (HTTP 451).
  const std::optional<Refusal>& refusal() const { return refusal_; }

  std::string Where(const std::string& rel) const { return url_.origin + url_.prefix + "/" + rel; }

  // A small object (note, proof) of at most `max` bytes.
  Result<std::string> Get(const std::string& rel, uint64_t max) {
    int status = 0;
    std::string body;
    bool too_big = false;
    auto res = client_.Get(
        url_.prefix + "/" + rel, [&](const httplib::Response& r) { status = r.status; return true; },
        [&](const char* d, size_t n) {
          if (body.size() + n > max) {
            too_big = true;
            return false;
          }
          body.append(d, n);
          return true;
        });
    if (too_big) return Status::Corruption(Where(rel) + " is larger than " + std::to_string(max) + " bytes");
    if (!res) return Status::IoError("cannot fetch " + Where(rel) + ": " + httplib::to_string(res.error()));
    if (status != 200) return HttpError(rel, status, body);
    return body;
  }

  // Streams an artifact into `fd`, hashing as it goes; refuses more than
  // `size` bytes, and fails unless exactly `size` bytes with `sha256` came.
  Status Download(const std::string& rel, int fd, uint64_t size, const Hash& sha256, uint64_t* got) {
    int status = 0;
    std::string error_body;
    Sha256Stream hash;
    *got = 0;
    bool too_big = false, write_failed = false, too_slow = false;
    int write_errno = 0;
    auto start = std::chrono::steady_clock::now();
    auto res = client_.Get(
        url_.prefix + "/" + rel, [&](const httplib::Response& r) { status = r.status; return true; },
        [&](const char* d, size_t n) {
          if (status != 200) {
            if (error_body.size() < 4096) error_body.append(d, std::min<size_t>(n, 4096));
            return true;
          }
          if (*got + n > size) {
            too_big = true;
            return false;
          }
          if (std::chrono::steady_clock::now() - start > std::chrono::seconds(cfg_.download_timeout)) {
            too_slow = true;
            return false;
          }
          for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, d + off, n - off);
            if (w < 0) {
              if (errno == EINTR) continue;
              write_failed = true;
              write_errno = errno;
              return false;
            }
            off += static_cast<size_t>(w);
          }
          hash.Update(d, n);
          *got += n;
          return true;
        });
    std::string what = Where(rel);
    if (write_failed) return Status::IoError(ErrnoText("cannot write the download of " + what, write_errno));
    if (too_big) return Status::Corruption(what + " is larger than the manifest says (" + std::to_string(size) + " bytes)");
    if (too_slow)
      return Status::IoError(what + ": download took longer than " + std::to_string(cfg_.download_timeout) +
                             " s; stopped after " + std::to_string(*got) + " of " + std::to_string(size) + " bytes");
    if (!res)
      return Status::IoError("download of " + what + " interrupted after " + std::to_string(*got) + " of " +
                             std::to_string(size) + " bytes (" + httplib::to_string(res.error()) + ")");
    if (status != 200) return HttpError(rel, status, error_body);
    if (*got != size)
      return Status::Corruption("download of " + what + " truncated: " + std::to_string(*got) + " of " +
                                std::to_string(size) + " bytes");
    if (hash.Final() != sha256) return Status::Corruption(what + " does not match the SHA-256 in the signed manifest");
    return Status::Ok();
  }

 private:
  Status HttpError(const std::string& rel, int status, const std::string& body) {
    std::string what = Where(rel);
    if (status == 404) return Status::NotFound(what + ": HTTP 404 Not Found");
    std::string excerpt = body.substr(0, 600);
    for (char& c : excerpt)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    if (status == 451) {
      refusal_ = ParseRefusal(body);
      return Status::Unsupported("the server refuses updates for legal reasons (HTTP 451): " + excerpt);
    }
    return Status::IoError(what + ": HTTP " + std::to_string(status) + (excerpt.empty() ? "" : ": " + excerpt));
  }

  static Refusal ParseRefusal(const std::string& body) {
    Refusal r;
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (!j.is_object()) {
      r.message = body.substr(0, 600);
      return r;
    }
    auto field = [&](const char* k) {
      auto it = j.find(k);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    r.rule = field("rule");
    r.action = field("action");
    r.jurisdiction = field("jurisdiction");
    r.effective = field("effective");
    r.message = field("message");
    r.reference = field("reference");
    return r;
  }

  std::optional<Refusal> refusal_;
  Url url_;
  const UpdateConfig& cfg_;
  httplib::Client client_;
};

// ---------------------------------------------------------------- local state

struct Live {
  bool present = false;
  std::string channel;
  uint64_t version = 0;
  std::string dir;  // the release directory the symlink points to
};

std::string ReleaseId(const std::string& channel, uint64_t v) { return channel + "-" + std::to_string(v); }

bool ParseReleaseId(const std::string& id, std::string* channel, uint64_t* v) {
  size_t dash = id.rfind('-');
  if (dash == std::string::npos || dash == 0) return false;
  *channel = id.substr(0, dash);
  return ValidName(*channel) && ParseU64(id.substr(dash + 1), v) && *v > 0;
}

std::string AbsPath(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return p;
  return std::string(cwd) + "/" + p;
}

struct State {
  std::map<std::string, uint64_t> highest;  // per channel: the highest version ever accepted
  std::map<std::string, uint64_t> skip;     // per channel: a version the user rolled back from
};

class Session {
 public:
  Session(const UpdateConfig& cfg) : cfg_(cfg) {
    db_dir_ = AbsPath(cfg.db_dir);
    while (db_dir_.size() > 1 && db_dir_.back() == '/') db_dir_.pop_back();
    state_dir_ = AbsPath(cfg.state_dir.empty() ? db_dir_ + ".update" : cfg.state_dir);
    now_ = cfg.now ? cfg.now : static_cast<int64_t>(std::time(nullptr));
  }
  ~Session() {
    if (lock_fd_ >= 0) close(lock_fd_);
  }

  Status Init() {
    if (cfg_.db_dir.empty()) return Status::InvalidArgument("no database directory (--db-dir)");
    auto rk = ReadFile(cfg_.release_pubkey, 4096);
    if (cfg_.release_pubkey.empty() || !rk.ok())
      return Status::InvalidArgument("cannot read the release public key (--release-pubkey): " + rk.status().message());
    auto rv = ParseVerifierKey(*rk);
    if (!rv.ok()) return Status::InvalidArgument(cfg_.release_pubkey + ": " + rv.status().message());
    release_key_ = *rv;
    auto lk = ReadFile(cfg_.log_pubkey, 4096);
    if (cfg_.log_pubkey.empty() || !lk.ok())
      return Status::InvalidArgument("cannot read the log public key (--log-pubkey): " + lk.status().message());
    auto lv = ParseVerifierKey(*lk);
    if (!lv.ok()) return Status::InvalidArgument(cfg_.log_pubkey + ": " + lv.status().message());
    log_key_ = *lv;
    VIGIL_RETURN_IF_ERROR(MakeDirs(Dirname(db_dir_), 0755));
    for (const char* sub : {"", "/releases", "/manifests", "/staging", "/evidence"})
      VIGIL_RETURN_IF_ERROR(MakeDirs(state_dir_ + sub, 0755));
    std::string lock = state_dir_ + "/lock";
    lock_fd_ = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return Status::IoError(ErrnoText("cannot open " + lock, errno));
    if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
      return Status::IoError("another `vigil update` is running (" + lock + " is locked)");
    // Leftovers of an interrupted run.
    VIGIL_RETURN_IF_ERROR(RemoveTree(state_dir_ + "/staging"));
    VIGIL_RETURN_IF_ERROR(MakeDirs(state_dir_ + "/staging"));
    (void)unlink((db_dir_ + ".vigil-new-link").c_str());
    VIGIL_RETURN_IF_ERROR(LoadState());
    live_ = ReadLive();
    return Status::Ok();
  }

  const UpdateConfig& cfg() const { return cfg_; }
  const Live& live() const { return live_; }
  const State& state() const { return state_; }
  int64_t now() const { return now_; }
  const NoteVerifier& release_key() const { return release_key_; }
  const NoteVerifier& log_key() const { return log_key_; }
  const std::string& state_dir() const { return state_dir_; }
  const std::string& db_dir() const { return db_dir_; }

  void Progress(const std::string& line) const {
    if (cfg_.progress) cfg_.progress(line);
  }

  Live ReadLive() const {
    Live l;
    char buf[PATH_MAX];
    ssize_t n = readlink(db_dir_.c_str(), buf, sizeof buf - 1);
    if (n <= 0) return l;
    buf[n] = 0;
    std::string target = buf;
    if (Dirname(target) != state_dir_ + "/releases") return l;
    if (!ParseReleaseId(Basename(target), &l.channel, &l.version)) return l;
    l.present = true;
    l.dir = target;
    return l;
  }

  Status LoadState() {
    auto text = ReadFile(state_dir_ + "/state", 1 << 20);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) return Status::Ok();
      return text.status();
    }
    std::string_view t = *text;
    while (!t.empty()) {
      size_t nl = t.find('\n');
      std::string_view line = t.substr(0, nl);
      t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
      size_t a = line.find(' '), b = line.rfind(' ');
      uint64_t v;
      if (a == std::string_view::npos || a == b || !ParseU64(line.substr(b + 1), &v))
        return Status::Corruption(state_dir_ + "/state: malformed line");
      std::string key(line.substr(0, a)), ch(line.substr(a + 1, b - a - 1));
      if (key == "highest") state_.highest[ch] = v;
      else if (key == "skip") state_.skip[ch] = v;
    }
    return Status::Ok();
  }

  Status SaveState(const State& s) {
    std::string out;
    for (const auto& [ch, v] : s.highest) out += "highest " + ch + " " + std::to_string(v) + "\n";
    for (const auto& [ch, v] : s.skip) out += "skip " + ch + " " + std::to_string(v) + "\n";
    VIGIL_RETURN_IF_ERROR(WriteFileAtomic(state_dir_ + "/state", out));
    state_ = s;
    return Status::Ok();
  }

  // The trusted checkpoint, verified again with the log key (nullopt: none yet).
  Result<std::optional<std::pair<Checkpoint, std::string>>> Trusted() const {
    auto note = ReadFile(state_dir_ + "/trusted-checkpoint", kMaxNoteBytes);
    if (!note.ok()) {
      if (note.status().code() == StatusCode::kNotFound) return std::optional<std::pair<Checkpoint, std::string>>();
      return note.status();
    }
    auto text = OpenNote(*note, log_key_);
    if (!text.ok()) return Status::Corruption("the trusted checkpoint does not verify: " + text.status().message());
    auto cp = ParseCheckpoint(*text);
    if (!cp.ok()) return cp.status();
    return std::optional<std::pair<Checkpoint, std::string>>(std::make_pair(*cp, *note));
  }

  // Points the database directory at `release_dir`, atomically.
  Status SwitchTo(const std::string& release_dir) {
    std::string tmp = db_dir_ + ".vigil-new-link";
    (void)unlink(tmp.c_str());
    if (symlink(release_dir.c_str(), tmp.c_str()) != 0)
      return Status::IoError(ErrnoText("cannot create symlink " + tmp, errno));
    FaultPoint("link-created");
    struct stat st {};
    if (lstat(db_dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      // A plain directory (a database installed by hand): swap it with the
      // link atomically and keep its content beside the releases.
      if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, db_dir_.c_str(), RENAME_EXCHANGE) != 0) {
        int e = errno;
        (void)unlink(tmp.c_str());
        return Status::IoError(ErrnoText("cannot switch " + db_dir_ + " to the new release", e));
      }
      std::string keep = state_dir_ + "/preexisting-" + std::to_string(now_);
      if (rename(tmp.c_str(), keep.c_str()) == 0) Progress("the previous database directory was kept in " + keep);
    } else if (rename(tmp.c_str(), db_dir_.c_str()) != 0) {
      int e = errno;
      (void)unlink(tmp.c_str());
      return Status::IoError(ErrnoText("cannot switch " + db_dir_ + " to the new release", e));
    }
    VIGIL_RETURN_IF_ERROR(FsyncPath(Dirname(db_dir_)));
    FaultPoint("switched");
    return Status::Ok();
  }

  void WriteLastUpdate(const UpdateReport& r, const char* outcome) const {
    std::string msg = r.message;
    for (char& c : msg)
      if (c == '\n') c = ' ';
    std::string out = "time " + FormatTime(now_) + "\noutcome " + outcome + "\nchannel " + r.channel +
                      "\nversion " + std::to_string(r.to_version ? r.to_version : r.from_version) +
                      "\nmessage " + msg + "\n";
    if (r.outcome == Outcome::kRefused) {
      auto line = [&](const char* k, std::string v) {
        for (char& c : v)
          if (c == '\n' || c == '\r') c = ' ';
        if (!v.empty()) out += std::string(k) + " " + v + "\n";
      };
      line("rule", r.refusal.rule);
      line("action", r.refusal.action);
      line("jurisdiction", r.refusal.jurisdiction);
      line("effective", r.refusal.effective);
      line("policy-message", r.refusal.message);
      line("reference", r.refusal.reference);
    }
    (void)WriteFileAtomic(state_dir_ + "/last-update", out);
  }

 private:
  const UpdateConfig& cfg_;
  std::string db_dir_, state_dir_;
  int64_t now_ = 0;
  int lock_fd_ = -1;
  NoteVerifier release_key_, log_key_;
  State state_;
  Live live_;
};

// Verifies a file set against the manifest's list, exactly.
Status CheckFiles(const FileSet& files, const Manifest& m) {
  if (files.size() != m.files.size())
    return Status::Corruption("release has " + std::to_string(files.size()) + " files, the manifest lists " +
                              std::to_string(m.files.size()));
  for (const ReleaseFile& f : m.files) {
    auto it = files.find(f.name);
    if (it == files.end()) return Status::Corruption("release lacks " + f.name);
    if (it->second.size() != f.size || Sha256(it->second) != f.sha256)
      return Status::Corruption(f.name + " does not match the signed manifest");
  }
  return Status::Ok();
}

Result<Manifest> OpenManifest(const std::string& note, const NoteVerifier& key) {
  auto text = OpenNote(note, key);
  if (!text.ok()) return Status::Corruption("manifest signature: " + text.status().message());
  return ParseManifest(*text);
}

std::string SaveForkEvidence(const Session& s, const std::string& server, const std::string& trusted,
                             const std::string& offered, const std::string& proof, const std::string& why) {
  std::string dir = s.state_dir() + "/evidence/fork-" + FormatTime(s.now()) + "-" + std::to_string(getpid());
  for (char& c : dir)
    if (c == ':') c = '-';
  if (!MakeDirs(dir).ok()) return "";
  (void)WriteFileAtomic(dir + "/trusted-checkpoint", trusted);
  (void)WriteFileAtomic(dir + "/offered-checkpoint", offered);
  if (!proof.empty()) (void)WriteFileAtomic(dir + "/consistency-proof", proof);
  (void)WriteFileAtomic(dir + "/README",
                        "A transparency log served two histories that cannot both be true.\n"
                        "trusted-checkpoint: the checkpoint this machine had verified before.\n"
                        "offered-checkpoint: the checkpoint " + server + " served at " + FormatTime(s.now()) + ".\n"
                        "Both are signed by the log key; together they prove that the log (or its key)\n"
                        "was used to show different content to different clients. Reason: " + why + "\n");
  return dir;
}

Status NotifyVigild(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(ErrnoText("socket", errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    close(fd);
    return Status::InvalidArgument("socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    close(fd);
    return Status::IoError(ErrnoText("cannot connect to vigild at " + path, e));
  }
  const char cmd[] = "nRELOAD\n";
  if (write(fd, cmd, sizeof cmd - 1) != static_cast<ssize_t>(sizeof cmd - 1)) {
    int e = errno;
    close(fd);
    return Status::IoError(ErrnoText("cannot send RELOAD to vigild", e));
  }
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return Status::IoError("vigild did not answer RELOAD");
  buf[n] = 0;
  if (std::strncmp(buf, "RELOADING", 9) != 0) return Status::IoError(std::string("vigild answered: ") + buf);
  return Status::Ok();
}

// ---------------------------------------------------------------- one attempt

struct Attempt {
  Outcome outcome = Outcome::kFailed;
  std::string message;
  bool stop = false;  // do not try further servers (forked log)
  Refusal refusal;    // when outcome is kRefused
};

Attempt Fail(Outcome o, std::string msg, bool stop = false) {
  Attempt a;
  a.outcome = o;
  a.message = std::move(msg);
  a.stop = stop;
  return a;
}

Result<FileSet> FetchRelease(Session& s, Fetcher& f, const Manifest& m, const Artifact& a, uint64_t* downloaded,
                             const FileSet* base) {
  std::string rel = paths::ReleaseFile(m.channel, m.version, a.name);
  std::string part = s.state_dir() + "/staging/" + a.name + ".part";
  int fd = open(part.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(ErrnoText("cannot create " + part, errno));
  uint64_t got = 0;
  Status st = f.Download(rel, fd, a.size, a.sha256, &got);
  *downloaded += got;
  if (!st.ok()) {
    close(fd);
    return st;
  }
  FaultPoint("downloaded");
  std::string data(a.size, '\0');
  ssize_t n = pread(fd, data.data(), data.size(), 0);
  close(fd);
  (void)unlink(part.c_str());
  // Hash again what we read back (the disk may lie; it is cheap).
  if (n != static_cast<ssize_t>(a.size) || Sha256(data) != a.sha256)
    return Status::IoError("the downloaded " + a.name + " changed on disk");
  auto raw = ZstdDecompress(data, a.raw_size);
  if (!raw.ok()) return raw.status();
  if (base) return ApplyDelta(*raw, *base);
  return DecodeBundle(*raw);
}

Attempt TryServerWith(Session& s, Fetcher& f, const std::string& server, const EngineCheck& check, bool check_only,
                      UpdateReport* report);

// A request the server refused for legal reasons makes the whole attempt a
// refusal, whichever request it was (manifest, bundle or delta).
Attempt TryServer(Session& s, const std::string& server, const EngineCheck& check, bool check_only,
                  UpdateReport* report) {
  auto url = ParseUrl(server);
  if (!url.ok()) return Fail(Outcome::kFailed, url.status().message());
  Fetcher f(*url, s.cfg());
  Attempt a = TryServerWith(s, f, server, check, check_only, report);
  if (a.outcome == Outcome::kFailed && f.refusal()) {
    a.outcome = Outcome::kRefused;
    a.refusal = *f.refusal();
  }
  return a;
}

Attempt TryServerWith(Session& s, Fetcher& f, const std::string& server, const EngineCheck& check, bool check_only,
                      UpdateReport* report) {
  const std::string& channel = s.cfg().channel;

  // 1. The channel's manifest, then the checkpoint (published after it, so
  //    it contains it).
  auto manifest_note = f.Get(paths::ChannelManifest(channel), kMaxNoteBytes);
  if (!manifest_note.ok()) return Fail(Outcome::kFailed, manifest_note.status().message());
  auto cp_note = f.Get(paths::Checkpoint(), kMaxNoteBytes);
  if (!cp_note.ok()) return Fail(Outcome::kFailed, cp_note.status().message());

  // 2. Checkpoint: signature, then consistency with the trusted one.
  auto cp_text = OpenNote(*cp_note, s.log_key());
  if (!cp_text.ok())
    return Fail(Outcome::kSecurity, "checkpoint from " + f.Where(paths::Checkpoint()) +
                                        " is not validly signed by the log key: " + cp_text.status().message());
  auto cp = ParseCheckpoint(*cp_text);
  if (!cp.ok()) return Fail(Outcome::kSecurity, cp.status().message());
  if (cp->origin != s.log_key().name)
    return Fail(Outcome::kSecurity, "checkpoint is for log '" + cp->origin + "', expected '" + s.log_key().name + "'");
  auto trusted = s.Trusted();
  if (!trusted.ok()) return Fail(Outcome::kFailed, trusted.status().message());
  if (trusted->has_value()) {
    const Checkpoint& old = (*trusted)->first;
    const std::string& old_note = (*trusted)->second;
    if (cp->size < old.size)
      return Fail(Outcome::kFailed, "the server's log has " + std::to_string(cp->size) +
                                        " entries, fewer than the " + std::to_string(old.size) +
                                        " this machine already verified (a stale mirror, or a log rolled back)");
    std::string proof_text;
    Status consistent = Status::Ok();
    if (cp->size == old.size) {
      if (cp->root != old.root) consistent = Status::Corruption("same tree size, different root hashes");
    } else if (old.size > 0) {
      auto p = f.Get(paths::Consistency(old.size, cp->size), kMaxProofBytes);
      if (!p.ok()) {
        if (p.status().code() != StatusCode::kNotFound) return Fail(Outcome::kFailed, p.status().message());
        consistent = Status::Corruption("the server has no consistency proof from tree size " +
                                        std::to_string(old.size) + " to " + std::to_string(cp->size));
      } else {
        proof_text = *p;
        auto proof = ParseConsistencyProof(*p);
        if (!proof.ok()) consistent = proof.status();
        else if (proof->old_size != old.size || proof->new_size != cp->size)
          consistent = Status::Corruption("consistency proof for other tree sizes");
        else consistent = VerifyConsistency(old.size, cp->size, old.root, cp->root, proof->path);
      }
    }
    if (!consistent.ok()) {
      std::string dir = SaveForkEvidence(s, server, old_note, *cp_note, proof_text, consistent.message());
      report->evidence_dir = dir;
      return Fail(Outcome::kSecurity,
                  "SECURITY: the log served by " + server + " (size " + std::to_string(cp->size) +
                      ") is not consistent with the checkpoint this machine trusted (size " +
                      std::to_string(old.size) + "): " + consistent.message() +
                      ". The log was forked or rewritten; both checkpoints are saved as evidence in " + dir,
                  /*stop=*/true);
    }
  }
  if (!trusted->has_value() || (*trusted)->second != *cp_note) {
    Status st = WriteFileAtomic(s.state_dir() + "/trusted-checkpoint", *cp_note);
    if (!st.ok()) return Fail(Outcome::kFailed, st.message());
  }
  FaultPoint("checkpoint-trusted");

  // 3. Manifest: signature, inclusion, then the release rules.
  auto m = OpenManifest(*manifest_note, s.release_key());
  if (!m.ok()) return Fail(Outcome::kSecurity, "manifest from " + f.Where(paths::ChannelManifest(channel)) + ": " + m.status().message());
  if (m->channel != channel)
    return Fail(Outcome::kSecurity, "the server offers a manifest of channel '" + m->channel + "' for '" + channel + "'");
  Hash leaf = LeafHash(*manifest_note);
  auto ip_text = f.Get(paths::Inclusion(cp->size, leaf), kMaxProofBytes);
  if (!ip_text.ok()) {
    if (ip_text.status().code() == StatusCode::kNotFound)
      return Fail(Outcome::kSecurity, "manifest " + channel + " " + std::to_string(m->version) +
                                          " is not in the transparency log (no inclusion proof in tree size " +
                                          std::to_string(cp->size) + ")");
    return Fail(Outcome::kFailed, ip_text.status().message());
  }
  auto ip = ParseInclusionProof(*ip_text);
  Status included = ip.ok() ? (ip->tree_size == cp->size
                                   ? VerifyInclusion(ip->index, cp->size, leaf, ip->path, cp->root)
                                   : Status::Corruption("inclusion proof for another tree size"))
                            : ip.status();
  if (!included.ok())
    return Fail(Outcome::kSecurity, "manifest " + channel + " " + std::to_string(m->version) +
                                        " is not proven to be in the transparency log: " + included.message());

  report->to_version = m->version;
  report->signatures = m->signatures;
  const Live& live = s.live();
  uint64_t installed = live.present && live.channel == channel ? live.version : 0;
  uint64_t highest = std::max(installed, s.state().highest.count(channel) ? s.state().highest.at(channel) : 0);
  if (m->version < highest)
    return Fail(Outcome::kSecurity, "refusing rollback: the server offers " + channel + " " +
                                        std::to_string(m->version) + ", older than version " +
                                        std::to_string(highest) + " already accepted");
  if (s.now() > m->expires)
    return Fail(Outcome::kSecurity, "the manifest of " + channel + " " + std::to_string(m->version) +
                                        " expired at " + FormatTime(m->expires) + " (now " + FormatTime(s.now()) +
                                        "): the server may be withholding newer releases (freeze), or publishing stopped");
  int cmp;
  if (!s.cfg().engine_version.empty() && CompareVersions(s.cfg().engine_version, m->engine_min, &cmp) && cmp < 0)
    return Fail(Outcome::kFailed, channel + " " + std::to_string(m->version) + " needs engine " + m->engine_min +
                                      " or later; this is " + s.cfg().engine_version + ": upgrade Vigil");
  if (m->version == installed) return Fail(Outcome::kUpToDate, channel + " " + std::to_string(installed) + " is the latest release");
  if (s.state().skip.count(channel) && s.state().skip.at(channel) == m->version && installed)
    return Fail(Outcome::kUpToDate, channel + " " + std::to_string(m->version) +
                                        " was rolled back by the user; waiting for a newer release");
  if (check_only)
    return Fail(Outcome::kAvailable, channel + " " + std::to_string(m->version) + " is available (installed: " +
                                         (installed ? std::to_string(installed) : std::string("none")) + ")");

  // 4-5. Delta from the installed release when the manifest has one and the
  //      installed files are intact; the full bundle otherwise.
  std::optional<FileSet> files;
  std::string why_bundle;
  const DeltaArtifact* delta = nullptr;
  for (const auto& d : m->deltas)
    if (installed && d.from_version == installed) delta = &d;
  if (delta) {
    auto base_note = ReadFile(s.state_dir() + "/manifests/" + ReleaseId(channel, installed), kMaxNoteBytes);
    auto base_m = base_note.ok() ? OpenManifest(*base_note, s.release_key()) : Result<Manifest>(base_note.status());
    auto base = ReadDbDir(live.dir);
    Status base_ok = !base_m.ok() ? base_m.status() : !base.ok() ? base.status() : CheckFiles(*base, *base_m);
    if (!base_ok.ok()) {
      why_bundle = "installed release cannot serve as a delta base (" + base_ok.message() + ")";
    } else {
      s.Progress("downloading delta " + std::to_string(installed) + " -> " + std::to_string(m->version) + " (" +
                 std::to_string(delta->artifact.size) + " bytes)");
      auto got = FetchRelease(s, f, *m, delta->artifact, &report->downloaded, &*base);
      Status ok = got.ok() ? CheckFiles(*got, *m) : got.status();
      if (ok.ok()) {
        files = std::move(got.value());
        report->used_delta = true;
      } else if (got.status().code() == StatusCode::kIoError && !got.ok()) {
        return Fail(Outcome::kFailed, ok.message());
      } else {
        why_bundle = "delta failed (" + ok.message() + ")";
      }
    }
  }
  if (!files) {
    if (!why_bundle.empty()) s.Progress(why_bundle + "; downloading the full bundle");
    s.Progress("downloading bundle of " + channel + " " + std::to_string(m->version) + " (" +
               std::to_string(m->bundle.size) + " bytes)");
    auto got = FetchRelease(s, f, *m, m->bundle, &report->downloaded, nullptr);
    if (!got.ok()) {
      bool tampered = got.status().code() == StatusCode::kCorruption;
      return Fail(tampered ? Outcome::kSecurity : Outcome::kFailed, got.status().message());
    }
    Status ok = CheckFiles(*got, *m);
    if (!ok.ok()) return Fail(Outcome::kSecurity, "bundle: " + ok.message());
    files = std::move(got.value());
  }

  // 5. Stage.
  std::string id = ReleaseId(channel, m->version);
  std::string staging = s.state_dir() + "/staging/" + id;
  Status st = MakeDirs(staging);
  for (auto it = files->begin(); st.ok() && it != files->end(); ++it)
    st = WriteFileAtomic(staging + "/" + it->first, it->second);
  if (st.ok()) st = FsyncPath(staging);
  if (!st.ok()) return Fail(Outcome::kFailed, "cannot stage the release: " + st.message());
  FaultPoint("staged");

  // 6. A release that does not load is never installed.
  auto loaded = check(staging);
  if (!loaded.ok())
    return Fail(Outcome::kFailed, channel + " " + std::to_string(m->version) +
                                      " does not load with this engine, not installed: " + loaded.status().message());
  FaultPoint("loaded");

  // 7. Install and switch.
  std::string release_dir = s.state_dir() + "/releases/" + id;
  if (!(st = RemoveTree(release_dir)).ok()) return Fail(Outcome::kFailed, st.message());
  if (rename(staging.c_str(), release_dir.c_str()) != 0)
    return Fail(Outcome::kFailed, ErrnoText("cannot move the staged release into place", errno));
  if (!(st = FsyncPath(s.state_dir() + "/releases")).ok()) return Fail(Outcome::kFailed, st.message());
  FaultPoint("release-in-place");
  if (!(st = WriteFileAtomic(s.state_dir() + "/manifests/" + id, *manifest_note)).ok())
    return Fail(Outcome::kFailed, st.message());
  FaultPoint("manifest-saved");
  if (!(st = s.SwitchTo(release_dir)).ok()) return Fail(Outcome::kFailed, st.message());

  State next = s.state();
  next.highest[channel] = std::max(highest, m->version);
  if (next.skip.count(channel) && next.skip[channel] <= m->version) next.skip.erase(channel);
  if (!(st = s.SaveState(next)).ok())
    s.Progress("warning: installed, but cannot save the update state: " + st.message());
  FaultPoint("state-saved");

  // Keep the live release and the one it replaced; remove the rest.
  if (DIR* d = opendir((s.state_dir() + "/releases").c_str())) {
    std::vector<std::string> names;
    while (struct dirent* e = readdir(d)) names.push_back(e->d_name);
    closedir(d);
    for (const auto& n : names) {
      if (n == "." || n == ".." || n == id || (live.present && n == Basename(live.dir))) continue;
      (void)RemoveTree(s.state_dir() + "/releases/" + n);
      (void)unlink((s.state_dir() + "/manifests/" + n).c_str());
    }
  }
  FaultPoint("cleaned");
  report->signatures = *loaded;
  std::string msg = channel + " " + (installed ? std::to_string(installed) : std::string("(none)")) + " -> " +
                    std::to_string(m->version) + " installed from " + server + " (" +
                    (report->used_delta ? "delta" : "full bundle") + ", " + std::to_string(report->downloaded) +
                    " bytes; " + std::to_string(*loaded) + " signatures)";
  return Fail(Outcome::kInstalled, msg);
}

}  // namespace

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kRefused: return "refused";
    case Outcome::kInstalled: return "installed";
    case Outcome::kUpToDate: return "up-to-date";
    case Outcome::kAvailable: return "available";
    case Outcome::kRolledBack: return "rolled-back";
    case Outcome::kFailed: return "failed";
    case Outcome::kSecurity: return "security";
  }
  return "failed";
}

namespace {

void Notify(Session& s, UpdateReport* r) {
  if (s.cfg().vigild_socket.empty()) return;
  Status st = NotifyVigild(s.cfg().vigild_socket);
  if (st.ok()) {
    r->message += "; vigild reloaded";
  } else {
    r->message += "; warning: " + st.message() + " (vigild keeps the old database until it reloads)";
  }
  FaultPoint("notified");
}

}  // namespace

Status LoadUpdateConfig(const std::string& path, UpdateConfig* c) {
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) return text.status();
  std::string_view t = *text;
  int lineno = 0;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    std::string_view line = t.substr(0, nl);
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
    ++lineno;
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
      return s;
    };
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.find_first_of(" \t=");
    std::string key(line.substr(0, sp));
    std::string_view rest = sp == std::string_view::npos ? "" : trim(line.substr(sp));
    if (!rest.empty() && rest[0] == '=') rest = trim(rest.substr(1));
    std::string value(rest);
    auto err = [&](const std::string& why) {
      return Status::InvalidArgument(path + ":" + std::to_string(lineno) + ": " + why);
    };
    if (value.empty()) return err("'" + key + "' needs a value");
    auto number = [&](int* out) {
      uint64_t v;
      if (!ParseU64(value, &v) || v == 0 || v > 86400) return false;
      *out = static_cast<int>(v);
      return true;
    };
    if (key == "server") c->servers.push_back(value);
    else if (key == "channel") c->channel = value;
    else if (key == "release-pubkey") c->release_pubkey = value;
    else if (key == "log-pubkey") c->log_pubkey = value;
    else if (key == "db-dir") c->db_dir = value;
    else if (key == "state-dir") c->state_dir = value;
    else if (key == "vigild-socket") c->vigild_socket = value;
    else if (key == "license") c->license_key = value;
    else if (key == "endpoint-id") c->endpoint_id = value;
    else if (key == "connect-timeout") { if (!number(&c->connect_timeout)) return err("bad connect-timeout"); }
    else if (key == "read-timeout") { if (!number(&c->read_timeout)) return err("bad read-timeout"); }
    else if (key == "download-timeout") { if (!number(&c->download_timeout)) return err("bad download-timeout"); }
    else return err("unknown key '" + key + "'");
  }
  return Status::Ok();
}

Result<LastUpdate> ReadLastUpdate(const std::string& state_dir) {
  auto text = ReadFile(state_dir + "/last-update", 1 << 20);
  if (!text.ok()) return text.status();
  LastUpdate u;
  std::string_view t = *text;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    std::string_view line = t.substr(0, nl);
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    std::string key(line.substr(0, sp)), v(line.substr(sp + 1));
    if (key == "time") (void)ParseTimeOrSeconds(v, &u.time);
    else if (key == "outcome") u.outcome = v;
    else if (key == "channel") u.channel = v;
    else if (key == "version") (void)ParseU64(v, &u.version);
    else if (key == "message") u.message = v;
    else if (key == "rule") u.refusal.rule = v;
    else if (key == "action") u.refusal.action = v;
    else if (key == "jurisdiction") u.refusal.jurisdiction = v;
    else if (key == "effective") u.refusal.effective = v;
    else if (key == "policy-message") u.refusal.message = v;
    else if (key == "reference") u.refusal.reference = v;
  }
  if (u.outcome.empty()) return Status::Corruption(state_dir + "/last-update: no outcome");
  return u;
}

UpdateReport RunUpdate(const UpdateConfig& cfg, const EngineCheck& check, bool check_only) {
  UpdateReport r;
  r.channel = cfg.channel;
  if (!ValidName(cfg.channel)) {
    r.message = "invalid channel name '" + cfg.channel + "'";
    return r;
  }
  if (cfg.servers.empty()) {
    r.message = "no update server configured (--server URL)";
    return r;
  }
  Session s(cfg);
  Status st = s.Init();
  if (!st.ok()) {
    r.message = st.message();
    return r;
  }
  r.from_version = s.live().present && s.live().channel == cfg.channel ? s.live().version : 0;
  std::vector<std::string> failures;
  Outcome worst = Outcome::kFailed;
  for (const std::string& server : cfg.servers) {
    Attempt a = TryServer(s, server, check, check_only, &r);
    if (a.outcome == Outcome::kInstalled || a.outcome == Outcome::kUpToDate || a.outcome == Outcome::kAvailable) {
      r.outcome = a.outcome;
      r.server = server;
      r.message = a.message;
      if (!failures.empty()) {
        r.message += " (after failures: ";
        for (size_t i = 0; i < failures.size(); ++i) r.message += (i ? "; " : "") + failures[i];
        r.message += ")";
      }
      if (a.outcome == Outcome::kInstalled) Notify(s, &r);
      if (!check_only) s.WriteLastUpdate(r, OutcomeName(r.outcome));
      (void)RemoveTree(s.state_dir() + "/staging");
      return r;
    }
    if (a.outcome == Outcome::kSecurity) worst = Outcome::kSecurity;
    if (a.outcome == Outcome::kRefused && worst == Outcome::kFailed) {
      worst = Outcome::kRefused;
      r.refusal = a.refusal;
    }
    failures.push_back(server + ": " + a.message);
    s.Progress("failed: " + failures.back());
    (void)RemoveTree(s.state_dir() + "/staging");
    (void)MakeDirs(s.state_dir() + "/staging");
    if (a.stop) break;
  }
  r.outcome = worst;
  r.to_version = 0;
  for (size_t i = 0; i < failures.size(); ++i) r.message += (i ? "\n" : "") + failures[i];
  Live live = s.ReadLive();
  r.message += "\nnothing was changed: the installed database (" +
               (live.present ? live.channel + " " + std::to_string(live.version) : std::string("none")) +
               ") stays live";
  if (!check_only) s.WriteLastUpdate(r, OutcomeName(r.outcome));
  return r;
}

UpdateReport RollbackUpdate(const UpdateConfig& cfg, const EngineCheck& check) {
  UpdateReport r;
  Session s(cfg);
  Status st = s.Init();
  if (!st.ok()) {
    r.message = st.message();
    return r;
  }
  const Live& live = s.live();
  if (!live.present) {
    r.message = "no release installed by vigil update in " + s.db_dir();
    return r;
  }
  r.channel = live.channel;
  r.from_version = live.version;
  uint64_t best = 0;
  if (DIR* d = opendir((s.state_dir() + "/releases").c_str())) {
    while (struct dirent* e = readdir(d)) {
      std::string ch;
      uint64_t v;
      if (ParseReleaseId(e->d_name, &ch, &v) && ch == live.channel && v < live.version) best = std::max(best, v);
    }
    closedir(d);
  }
  if (!best) {
    r.message = "no previous release of " + live.channel + " is kept; nothing to roll back to";
    return r;
  }
  std::string id = ReleaseId(live.channel, best);
  std::string dir = s.state_dir() + "/releases/" + id;
  auto note = ReadFile(s.state_dir() + "/manifests/" + id, kMaxNoteBytes);
  auto m = note.ok() ? OpenManifest(*note, s.release_key()) : Result<Manifest>(note.status());
  auto files = ReadDbDir(dir);
  st = !m.ok() ? m.status() : !files.ok() ? files.status() : CheckFiles(*files, *m);
  if (st.ok()) {
    auto loaded = check(dir);
    if (!loaded.ok()) st = loaded.status();
    else r.signatures = *loaded;
  }
  if (st.ok()) st = s.SwitchTo(dir);
  if (!st.ok()) {
    r.message = "cannot roll back to " + id + ": " + st.message() + "; " + live.channel + " " +
                std::to_string(live.version) + " stays live";
    s.WriteLastUpdate(r, "failed");
    return r;
  }
  State next = s.state();
  next.skip[live.channel] = live.version;
  (void)s.SaveState(next);
  r.outcome = Outcome::kRolledBack;
  r.to_version = best;
  r.message = live.channel + " " + std::to_string(live.version) + " -> " + std::to_string(best) +
              " (rolled back; version " + std::to_string(live.version) + " will not be reinstalled)";
  Notify(s, &r);
  s.WriteLastUpdate(r, "rolled-back");
  return r;
}

Result<std::string> VerifyLog(const std::string& server, const std::string& log_pubkey,
                              const std::string& release_pubkey, const std::string& state_dir,
                              const UpdateConfig& net) {
  auto url = ParseUrl(server);
  if (!url.ok()) return url.status();
  auto lk = ReadFile(log_pubkey, 4096);
  if (!lk.ok()) return Status::InvalidArgument("cannot read the log public key: " + lk.status().message());
  auto log_key = ParseVerifierKey(*lk);
  if (!log_key.ok()) return log_key.status();
  std::optional<NoteVerifier> release_key;
  if (!release_pubkey.empty()) {
    auto rk = ReadFile(release_pubkey, 4096);
    if (!rk.ok()) return Status::InvalidArgument("cannot read the release public key: " + rk.status().message());
    auto v = ParseVerifierKey(*rk);
    if (!v.ok()) return v.status();
    release_key = *v;
  }
  Fetcher f(*url, net);
  auto cp_note = f.Get(paths::Checkpoint(), kMaxNoteBytes);
  if (!cp_note.ok()) return cp_note.status();
  auto cp_text = OpenNote(*cp_note, *log_key);
  if (!cp_text.ok()) return Status::Corruption("checkpoint: " + cp_text.status().message());
  auto cp = ParseCheckpoint(*cp_text);
  if (!cp.ok()) return cp.status();
  if (cp->origin != log_key->name) return Status::Corruption("checkpoint of another log: " + cp->origin);

  MerkleTree tree;
  std::map<std::string, uint64_t> last_version;
  for (uint64_t i = 0; i < cp->size; ++i) {
    auto e = f.Get(paths::Entry(i), kMaxNoteBytes);
    if (!e.ok()) return Status::Corruption("entry " + std::to_string(i) + ": " + e.status().message());
    tree.Append(LeafHash(*e));
    std::string_view text, sigs;
    if (!SplitNote(*e, &text, &sigs)) return Status::Corruption("entry " + std::to_string(i) + " is not a signed note");
    auto m = release_key ? OpenManifest(*e, *release_key) : ParseManifest(text);
    if (!m.ok()) return Status::Corruption("entry " + std::to_string(i) + ": " + m.status().message());
    uint64_t& last = last_version[m->channel];
    if (m->version <= last)
      return Status::Corruption("entry " + std::to_string(i) + ": " + m->channel + " version " +
                                std::to_string(m->version) + " does not grow (after " + std::to_string(last) + ")");
    last = m->version;
  }
  Hash root = tree.Root(cp->size).value();
  if (root != cp->root)
    return Status::Corruption("the entries do not hash to the checkpoint's root: the log's content was rewritten");
  // Every checkpoint the log kept must match the tree it claims.
  uint64_t checked = 0;
  for (uint64_t n = 1; n < cp->size; ++n) {
    auto old = f.Get(paths::CheckpointAt(n), kMaxNoteBytes);
    if (!old.ok()) {
      if (old.status().code() == StatusCode::kNotFound) continue;
      return old.status();
    }
    auto t = OpenNote(*old, *log_key);
    auto c = t.ok() ? ParseCheckpoint(*t) : Result<Checkpoint>(t.status());
    if (!c.ok()) return Status::Corruption("checkpoint " + std::to_string(n) + ": " + c.status().message());
    if (c->size != n || c->root != tree.Root(n).value())
      return Status::Corruption("the log signed checkpoint " + std::to_string(n) +
                                " with a root that is not the root of its first " + std::to_string(n) + " entries");
    ++checked;
  }
  std::string report = "log " + cp->origin + " at " + server + ": " + std::to_string(cp->size) +
                       " entries verified against the signed checkpoint (root " +
                       Base64Encode(std::string_view(reinterpret_cast<const char*>(root.data()), 32)) + "); " +
                       std::to_string(checked) + " earlier checkpoints consistent";
  if (!state_dir.empty()) {
    auto note = ReadFile(state_dir + "/trusted-checkpoint", kMaxNoteBytes);
    if (note.ok()) {
      auto t = OpenNote(*note, *log_key);
      auto c = t.ok() ? ParseCheckpoint(*t) : Result<Checkpoint>(t.status());
      if (!c.ok()) return Status::Corruption("trusted checkpoint: " + c.status().message());
      if (c->size > cp->size || tree.Root(c->size).value() != c->root)
        return Status::Corruption("the log is not consistent with this machine's trusted checkpoint (size " +
                                  std::to_string(c->size) + ")");
      report += "; consistent with this machine's trusted checkpoint (size " + std::to_string(c->size) + ")";
    }
  }
  for (const auto& [ch, v] : last_version) report += "; " + ch + " up to version " + std::to_string(v);
  return report;
}

}  // namespace vigil::update
