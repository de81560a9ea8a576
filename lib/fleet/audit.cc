#include "fleet/audit.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>

namespace vigil::fleet {
namespace {

using json = nlohmann::json;

const std::string kGenesis(64, '0');
constexpr std::string_view kLineStart = "{\"action\":";
constexpr int kMaxDepth = 64;          // nesting allowed in a line (dump recurses)
constexpr size_t kMaxBatch = 4096;

std::string Errno(const std::string& what, int err) { return what + " (" + std::strerror(err) + ")"; }

std::string Sha256Hex(std::string_view a, std::string_view b) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, a.data(), a.size());
  EVP_DigestUpdate(ctx, b.data(), b.size());
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '\0');
  for (unsigned i = 0; i < n; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

bool IsHexHash(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The one serialisation used for hashing and for the file.
std::string Canonical(const json& j) { return j.dump(-1, ' ', true, json::error_handler_t::replace); }

// Bracket nesting outside strings; stops counting once over the limit.
bool DepthOk(std::string_view s, int limit = kMaxDepth) {
  int depth = 0;
  bool in_str = false, esc = false;
  for (char c : s) {
    if (in_str) {
      if (esc) esc = false;
      else if (c == '\\') esc = true;
      else if (c == '"') in_str = false;
    } else if (c == '"') {
      in_str = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// Parses one line (without '\n') and checks that it is canonical and that its
// hash matches its content. The chain links are the caller's business.
Status ParseLine(std::string_view line, AuditRecord* r) {
  if (!DepthOk(line)) return Status::Corruption("nested too deeply");
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Corruption("not JSON");
  if (!j.is_object()) return Status::Corruption("not a JSON object");
  static const char* kStrings[] = {"action", "endpoint", "hash", "outcome", "prev_hash", "reason", "request_id", "rule"};
  for (const char* k : kStrings) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string()) return Status::Corruption(std::string("missing or bad \"") + k + "\"");
  }
  for (const char* k : {"seq", "time"}) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_integer()) return Status::Corruption(std::string("missing or bad \"") + k + "\"");
  }
  if (!j.contains("inputs")) return Status::Corruption("missing \"inputs\"");
  if (j.size() != 11) return Status::Corruption("unexpected fields");
  if (Canonical(j) != line) return Status::Corruption("not in canonical form");
  r->action = j["action"].get<std::string>();
  r->endpoint = j["endpoint"].get<std::string>();
  r->hash = j["hash"].get<std::string>();
  r->outcome = j["outcome"].get<std::string>();
  r->prev_hash = j["prev_hash"].get<std::string>();
  r->reason = j["reason"].get<std::string>();
  r->request_id = j["request_id"].get<std::string>();
  r->rule = j["rule"].get<std::string>();
  r->seq = j["seq"].get<int64_t>();
  r->time = j["time"].get<int64_t>();
  r->inputs = std::move(j["inputs"]);
  if (!IsHexHash(r->hash) || !IsHexHash(r->prev_hash)) return Status::Corruption("bad hash field");
  // The line is canonical, so the record without "hash" is the line with the
  // hash member cut out ('"' inside string values is always escaped, so the
  // first `,"hash":"` is the member itself).
  std::string cut(line);
  std::string member = ",\"hash\":\"" + r->hash + "\"";
  size_t at = cut.find(member);
  if (at == std::string::npos) return Status::Corruption("hash member not found");
  cut.erase(at, member.size());
  if (Sha256Hex(r->prev_hash, cut) != r->hash) return Status::Corruption("hash mismatch (record modified)");
  return Status::Ok();
}

// Checks `r` follows the record with (seq, hash).
Status CheckLink(const AuditRecord& r, int64_t prev_seq, const std::string& prev_hash) {
  if (r.prev_hash != prev_hash) return Status::Corruption("prev_hash does not match the previous record (line removed, inserted or reordered)");
  if (r.seq != prev_seq + 1)
    return Status::Corruption("seq " + std::to_string(r.seq) + " where " + std::to_string(prev_seq + 1) + " was expected");
  return Status::Ok();
}

bool ContainsCountry(const json& j, const std::string& want, int depth) {
  if (depth > kMaxDepth) return false;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      bool country_key = k == "country" || (k.size() > 8 && k.compare(k.size() - 8, 8, "_country") == 0);
      if (country_key && it->is_string() && strcasecmp(it->get_ref<const std::string&>().c_str(), want.c_str()) == 0)
        return true;
      if (it->is_structured() && ContainsCountry(*it, want, depth + 1)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& v : j)
      if (v.is_structured() && ContainsCountry(v, want, depth + 1)) return true;
  }
  return false;
}

bool ContainsLicense(const json& j, const std::string& want, int depth) {
  if (depth > kMaxDepth) return false;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if ((it.key() == "license" || it.key() == "license_key") && it->is_string() &&
          it->get_ref<const std::string&>() == want)
        return true;
      if (it->is_structured() && ContainsLicense(*it, want, depth + 1)) return true;
    }
  } else if (j.is_array()) {
    for (const auto& v : j)
      if (v.is_structured() && ContainsLicense(v, want, depth + 1)) return true;
  }
  return false;
}

bool Matches(const AuditRecord& r, const AuditQuery& q) {
  if (q.since && r.time < *q.since) return false;
  if (q.until && r.time > *q.until) return false;
  if (!q.outcome.empty() && r.outcome != q.outcome) return false;
  if (!q.rule.empty() && r.rule != q.rule) return false;
  if (!q.action.empty() && r.action != q.action) return false;
  if (!q.endpoint.empty() && r.endpoint != q.endpoint) return false;
  if (!q.country.empty() && !ContainsCountry(r.inputs, q.country, 0)) return false;
  if (!q.license.empty() && !ContainsLicense(r.inputs, q.license, 0)) return false;
  return true;
}

// Could these bytes after the last newline be a record cut short by a crash?
bool LooksTorn(std::string_view tail) {
  bool zeros = true;
  for (char c : tail) zeros = zeros && c == '\0';
  if (zeros) return true;
  size_t n = std::min(tail.size(), kLineStart.size());
  return tail.substr(0, n) == kLineStart.substr(0, n);
}

Status PreadAll(int fd, char* buf, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t r = pread(fd, buf, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return Status::IoError(Errno("read", r < 0 ? errno : EIO));
    buf += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

}  // namespace

// A record serialised in the caller's thread, as the pieces around the
// fields only the writer knows (seq, prev_hash, hash), in canonical key order.
struct AuditLog::Pending {
  std::string head;    // {"action":..,"endpoint":..,
  std::string middle;  // "inputs":..,"outcome":..,
  std::string tail;    // "reason":..,"request_id":..,"rule":..,
  int64_t time = 0;
};

// The callers of one batch who wait for the same event: its write (kWritten),
// or an fdatasync covering it (kSynced). One condition per group, so that a
// release wakes only the callers it releases.
struct AuditLog::Group {
  std::condition_variable cv;
  bool done = false;  // guarded by mu_
  Status status;      // guarded by mu_; the callers' answer once done
  uint64_t end = 0;   // guarded by mu_; kSynced: file offset after the batch, set when written
};

// Records appended while the writer was busy, written together by one write().
struct AuditLog::Batch {
  std::vector<Pending> items;
  std::shared_ptr<Group> written, synced;  // null while no caller of that durability joined
};

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, std::string* warning) {
  if (warning) warning->clear();
  int fd = open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::IoError(Errno("cannot open audit log " + path, errno));
  std::unique_ptr<AuditLog> log(new AuditLog());
  log->path_ = path;
  log->fd_ = fd;
  // Two writers would fork the chain.
  if (flock(fd, LOCK_EX | LOCK_NB) != 0)
    return Status::IoError(Errno("audit log " + path + " is in use by another process", errno));
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::IoError(Errno("stat " + path, errno));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  log->hash_ = kGenesis;

  // Read a window at the end big enough to hold the last two complete lines.
  std::string buf;
  uint64_t window = 64 << 10;
  size_t torn = 0, last_nl = std::string::npos;
  std::vector<std::string_view> lines;  // last complete lines, newest first
  while (size > 0) {
    uint64_t n = std::min(window, size);
    buf.assign(n, '\0');
    VIGIL_RETURN_IF_ERROR(PreadAll(fd, buf.data(), n, size - n));
    bool whole = n == size;
    last_nl = buf.rfind('\n');
    lines.clear();
    if (last_nl != std::string::npos) {
      torn = buf.size() - last_nl - 1;
      size_t end = last_nl;
      while (lines.size() < 2) {
        size_t start = end == 0 ? std::string::npos : buf.rfind('\n', end - 1);
        if (start == std::string::npos) {
          if (!whole) break;  // the line may begin before the window
          lines.push_back(std::string_view(buf).substr(0, end));
          break;
        }
        lines.push_back(std::string_view(buf).substr(start + 1, end - start - 1));
        end = start;
      }
    } else if (whole) {
      torn = buf.size();
    }
    if (whole || lines.size() == 2) break;
    window *= 4;
  }

  if (torn > 0) {
    std::string_view tail = std::string_view(buf).substr(buf.size() - torn);
    if (!LooksTorn(tail))
      return Status::Corruption("audit log " + path + ": data after the last complete record at byte " +
                                std::to_string(size - torn) + " is not a record");
    if (ftruncate(fd, static_cast<off_t>(size - torn)) != 0 || fsync(fd) != 0)
      return Status::IoError(Errno("cannot truncate the torn tail of " + path, errno));
    if (warning)
      *warning = "audit log " + path + ": removed an incomplete last record of " + std::to_string(torn) +
                 " bytes (torn by a crash during a write)";
    size -= torn;
  }
  // A previous process may have crashed between its write and its
  // fdatasync: make what was written durable now.
  if (size > 0 && fdatasync(fd) != 0) return Status::IoError(Errno("cannot sync audit log " + path, errno));
  log->written_ = log->synced_ = size;

  if (!lines.empty()) {
    AuditRecord last;
    Status s = ParseLine(lines[0], &last);
    if (!s.ok()) return Status::Corruption("audit log " + path + ": last record: " + s.message());
    if (lines.size() == 2) {
      AuditRecord prev;
      s = ParseLine(lines[1], &prev);
      if (!s.ok()) return Status::Corruption("audit log " + path + ": second to last record: " + s.message());
      s = CheckLink(last, prev.seq, prev.hash);
    } else {
      s = CheckLink(last, 0, kGenesis);
    }
    if (!s.ok()) return Status::Corruption("audit log " + path + ": last record: " + s.message());
    log->seq_ = last.seq;
    log->hash_ = last.hash;
  }

  log->syncer_ = std::thread([self = log.get()] { self->SyncerLoop(); });
  return log;
}

AuditLog::AuditLog() : hash_(kGenesis) {}

AuditLog::~AuditLog() {
  {
    std::unique_lock<std::mutex> l(mu_);
    stop_ = true;
    // Write what is queued (callers may still be waiting for it).
    while (writing_ || !queue_.empty()) {
      if (!writing_) WriteFront(l);
      else drained_cv_.wait(l);
    }
    writer_done_ = true;
  }
  sync_cv_.notify_one();
  if (syncer_.joinable()) syncer_.join();  // syncs what is written, releases the kSynced callers
  if (fd_ >= 0) close(fd_);
}

int64_t AuditLog::last_seq() const {
  std::lock_guard<std::mutex> l(mu_);
  return seq_;
}

std::string AuditLog::last_hash() const {
  std::lock_guard<std::mutex> l(mu_);
  return hash_;
}

uint64_t AuditLog::synced_size() const {
  std::lock_guard<std::mutex> l(mu_);
  return synced_;
}

Status AuditLog::Append(AuditRecord r, Durability d) {
  if (r.outcome != "allow" && r.outcome != "deny")
    return Status::InvalidArgument("audit outcome must be allow or deny, not '" + r.outcome + "'");
  if (r.time == 0)
    r.time = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto str = [](const std::string& s) { return Canonical(json(s)); };
  Pending p;
  // Serialising here, in the callers' threads, keeps the single writer cheap.
  try {
    p.head = "{\"action\":" + str(r.action) + ",\"endpoint\":" + str(r.endpoint) + ",";
    p.middle = "\"inputs\":" + Canonical(r.inputs) + ",\"outcome\":" + str(r.outcome) + ",";
    p.tail = "\"reason\":" + str(r.reason) + ",\"request_id\":" + str(r.request_id) + ",\"rule\":" + str(r.rule) + ",";
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("audit record cannot be serialised: ") + e.what());
  }
  // The reader refuses deeper lines (the record object adds one level).
  if (!DepthOk(p.middle, kMaxDepth - 1))
    return Status::InvalidArgument("audit inputs nested deeper than " + std::to_string(kMaxDepth - 1));
  p.time = r.time;

  std::unique_lock<std::mutex> l(mu_);
  if (!broken_.ok()) return broken_;
  if (stop_) return Status::Internal("audit log " + path_ + " is closing");
  if (queue_.empty() || queue_.back().items.size() >= kMaxBatch) queue_.emplace_back();
  Batch& b = queue_.back();  // never the one being written: the writer pops its batch
  b.items.push_back(std::move(p));
  std::shared_ptr<Group>& slot = d == Durability::kSynced ? b.synced : b.written;
  if (!slot) slot = std::make_shared<Group>();
  std::shared_ptr<Group> g = slot;
  // Group commit without a writer thread: whoever finds no write under way
  // writes the oldest batch itself (its own, when the log is not busy: no
  // hand-off, no wake-up); the others wait for their batch's release, or to
  // be asked to write the next one.
  while (!g->done) {
    if (!writing_ && !queue_.empty()) {
      WriteFront(l);
      continue;
    }
    g->cv.wait(l);
  }
  return g->status;
}

void AuditLog::Release(const std::shared_ptr<Group>& g, const Status& st) {
  if (!g) return;
  g->status = st;
  g->done = true;
  g->cv.notify_all();  // every waiter on g is released
}

void AuditLog::FailSyncWaiters() {
  for (const auto& g : sync_waiting_) Release(g, broken_);
  sync_waiting_.clear();
}

void AuditLog::WriteFront(std::unique_lock<std::mutex>& l) {
  writing_ = true;
  Batch b = std::move(queue_.front());
  queue_.pop_front();
  WriteBatch(b, l);
  writing_ = false;
  // Hand the next batch to one of its own callers; wake the destructor when drained.
  if (!queue_.empty()) {
    Batch& next = queue_.front();
    if (next.written) next.written->cv.notify_one();
    if (next.synced) next.synced->cv.notify_one();
  } else if (stop_) {
    drained_cv_.notify_all();
  }
}

void AuditLog::WriteBatch(Batch& b, std::unique_lock<std::mutex>& l) {
  if (!broken_.ok()) {
    Release(b.written, broken_);
    Release(b.synced, broken_);
    return;
  }
  int64_t seq = seq_;
  std::string hash = hash_;
  const uint64_t base = written_;
  l.unlock();

  std::string out, body;
  for (const Pending& p : b.items) {
    ++seq;
    std::string prev = "\"prev_hash\":\"" + hash + "\",";
    std::string end = "\"seq\":" + std::to_string(seq) + ",\"time\":" + std::to_string(p.time) + "}";
    body.clear();
    body.append(p.head).append(p.middle).append(prev).append(p.tail).append(end);
    std::string h = Sha256Hex(hash, body);
    out.append(p.head).append("\"hash\":\"").append(h).append("\",");
    out.append(p.middle).append(prev).append(p.tail).append(end).push_back('\n');
    hash = std::move(h);
  }
  Status st, broke;
  const char* data = out.data();
  size_t left = out.size();
  while (left > 0) {
    ssize_t w = write(fd_, data, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int err = w < 0 ? errno : EIO;
      // Take back a partial batch so that the chain on disk stays whole and a
      // later Append can continue it.
      if (ftruncate(fd_, static_cast<off_t>(base)) != 0)
        broke = Status::IoError(Errno("audit log " + path_ + " is damaged: cannot undo a failed write", errno));
      st = Status::IoError(Errno("cannot write audit log " + path_, err));
      break;
    }
    data += w;
    left -= static_cast<size_t>(w);
  }

  l.lock();
  if (!st.ok()) {
    if (!broke.ok() && broken_.ok()) {
      broken_ = broke;
      FailSyncWaiters();
    }
    Release(b.written, st);
    Release(b.synced, st);
    return;
  }
  const bool was_clean = written_ == synced_;
  if (was_clean) dirty_since_ = std::chrono::steady_clock::now();
  written_ = base + out.size();
  seq_ = seq;
  hash_ = std::move(hash);
  Release(b.written, Status::Ok());
  if (b.synced) {
    if (!broken_.ok()) {
      Release(b.synced, broken_);  // a sync failed while this batch was being written
    } else {
      b.synced->end = written_;
      sync_waiting_.push_back(std::move(b.synced));
    }
  }
  // Wake the syncer when it has a caller to release, or a new interval to time.
  if (!sync_waiting_.empty() || was_clean) sync_cv_.notify_one();
}

void AuditLog::SyncerLoop() {
  using Clock = std::chrono::steady_clock;
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    if (!broken_.ok()) {
      FailSyncWaiters();
      if (writer_done_) break;
      sync_cv_.wait(l);
      continue;
    }
    const bool dirty = synced_ < written_;
    const bool due = !sync_waiting_.empty() ||
                     (dirty && (writer_done_ || Clock::now() >= dirty_since_ + kSyncInterval));
    if (!due) {
      if (writer_done_) break;  // everything written is synced
      if (dirty) sync_cv_.wait_until(l, dirty_since_ + kSyncInterval);
      else sync_cv_.wait(l);
      continue;
    }
    // Sync what is written now; the writer goes on appending meanwhile.
    const uint64_t target = written_;
    const Clock::time_point started = Clock::now();
    l.unlock();
    const int rc = fdatasync(fd_);
    const int err = errno;
    l.lock();
    if (rc != 0) {
      // After a failed fdatasync the kernel may have dropped the dirty pages:
      // nothing about the file can be trusted any more.
      broken_ = Status::IoError(Errno("cannot sync audit log " + path_, err));
      continue;  // fails the waiters above
    }
    synced_ = target;
    dirty_since_ = started;  // anything past target was written after this (only read while dirty)
    while (!sync_waiting_.empty() && sync_waiting_.front()->end <= target) {
      Release(sync_waiting_.front(), Status::Ok());
      sync_waiting_.pop_front();
    }
  }
}

Result<std::vector<AuditRecord>> ReadAudit(const std::string& path, const AuditQuery& q, std::string* warning) {
  if (warning) warning->clear();
  FILE* f = std::fopen(path.c_str(), "rbe");
  if (!f) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("no audit log " + path);
    return Status::IoError(Errno("cannot open audit log " + path, err));
  }
  std::deque<AuditRecord> out;
  char* line = nullptr;
  size_t cap = 0;
  ssize_t n;
  uint64_t line_no = 0;
  int64_t seq = 0;
  std::string hash = kGenesis;
  Status status;
  while ((n = getline(&line, &cap, f)) > 0) {
    ++line_no;
    std::string_view text(line, static_cast<size_t>(n));
    if (text.back() != '\n') {
      if (warning)
        *warning = "audit log " + path + " line " + std::to_string(line_no) +
                   ": incomplete last record ignored (being written, or torn by a crash)";
      break;
    }
    text.remove_suffix(1);
    AuditRecord r;
    Status s;
    try {
      s = ParseLine(text, &r);
    } catch (const std::exception& e) {
      s = Status::Corruption(e.what());
    }
    if (s.ok()) s = CheckLink(r, seq, hash);
    if (!s.ok()) {
      status = Status::Corruption("audit log " + path + " line " + std::to_string(line_no) + ": " + s.message());
      break;
    }
    seq = r.seq;
    hash = r.hash;
    if (Matches(r, q)) {
      out.push_back(std::move(r));
      if (q.limit > 0 && out.size() > q.limit) out.pop_front();
    }
  }
  if (status.ok() && std::ferror(f)) status = Status::IoError("cannot read audit log " + path);
  std::free(line);
  std::fclose(f);
  if (!status.ok()) return status;
  return std::vector<AuditRecord>(std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
}

}  // namespace vigil::fleet
