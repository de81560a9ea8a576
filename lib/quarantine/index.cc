#include "quarantine/index.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "quarantine/fault.h"

namespace vigil::quarantine {
namespace {

constexpr int kBusyTimeoutMs = 60000;

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS entries(
  id             TEXT PRIMARY KEY,
  path           BLOB NOT NULL,
  given_path     BLOB NOT NULL,
  uid            INTEGER NOT NULL,
  gid            INTEGER NOT NULL,
  owner          TEXT NOT NULL,
  grp            TEXT NOT NULL,
  mode           INTEGER NOT NULL,
  atime_sec      INTEGER NOT NULL,
  atime_nsec     INTEGER NOT NULL,
  mtime_sec      INTEGER NOT NULL,
  mtime_nsec     INTEGER NOT NULL,
  size           INTEGER NOT NULL,
  sha256         TEXT NOT NULL,
  detections     TEXT NOT NULL,
  quarantined_at INTEGER NOT NULL,
  db_version     TEXT NOT NULL,
  host           TEXT NOT NULL,
  vigil_version  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS xattrs(
  id    TEXT NOT NULL,
  name  BLOB NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY(id, name)
);
)";

constexpr const char* kColumns =
    "id, path, given_path, uid, gid, owner, grp, mode, atime_sec, atime_nsec, mtime_sec, "
    "mtime_nsec, size, sha256, detections, quarantined_at, db_version, host, vigil_version";

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  int Step() { return sqlite3_step(s_); }
  std::string ColStr(int i) {
    const void* p = sqlite3_column_blob(s_, i);
    int n = sqlite3_column_bytes(s_, i);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

Status DbError(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  std::string msg = what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_FULL) msg += " (disk full)";
  return Status::IoError(msg);
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "\n" : "") + v[i];
  return out;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('\n', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Entry RowToEntry(Stmt& q) {
  Entry e;
  int c = 0;
  e.id = q.ColStr(c++);
  e.path = q.ColStr(c++);
  e.given_path = q.ColStr(c++);
  e.uid = static_cast<uint32_t>(q.ColInt(c++));
  e.gid = static_cast<uint32_t>(q.ColInt(c++));
  e.owner = q.ColStr(c++);
  e.group = q.ColStr(c++);
  e.mode = static_cast<uint32_t>(q.ColInt(c++));
  e.atime_sec = q.ColInt(c++);
  e.atime_nsec = q.ColInt(c++);
  e.mtime_sec = q.ColInt(c++);
  e.mtime_nsec = q.ColInt(c++);
  e.size = static_cast<uint64_t>(q.ColInt(c++));
  e.sha256 = q.ColStr(c++);
  e.detections = SplitLines(q.ColStr(c++));
  e.quarantined_at = q.ColInt(c++);
  e.db_version = q.ColStr(c++);
  e.host = q.ColStr(c++);
  e.vigil_version = q.ColStr(c++);
  return e;
}

}  // namespace

Result<std::unique_ptr<Index>> Index::Open(const std::string& path) {
  // Create the file ourselves so that it is 0600 whatever the umask.
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::IoError("cannot open vault index " + path + ": " + std::strerror(errno));
  close(fd);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::IoError("cannot open vault index " + path + ": " + msg);
  }
  std::unique_ptr<Index> idx(new Index(db));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // Switching to WAL needs a moment without other writers; the busy handler
  // does not cover every case, so retry briefly.
  for (int attempt = 0;; ++attempt) {
    Stmt q(db, "PRAGMA journal_mode=WAL");
    int r = q.ok() ? q.Step() : SQLITE_ERROR;
    if (r == SQLITE_ROW) break;
    if ((r == SQLITE_BUSY || r == SQLITE_LOCKED) && attempt < 600) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    return DbError(db, "vault index " + path + ": cannot enable WAL");
  }
  // FULL: a committed row survives power loss, not only a process crash.
  VIGIL_RETURN_IF_ERROR(idx->Exec("PRAGMA synchronous=FULL"));
  {
    Stmt q(db, "PRAGMA user_version");
    if (!q.ok() || q.Step() != SQLITE_ROW) return DbError(db, "vault index " + path);
    int64_t v = q.ColInt(0);
    if (v > kIndexSchemaVersion)
      return Status::Unsupported("vault index " + path + " has schema version " + std::to_string(v) +
                                 "; this vigil understands up to " +
                                 std::to_string(kIndexSchemaVersion));
    if (v == kIndexSchemaVersion) return idx;
  }
  VIGIL_RETURN_IF_ERROR(idx->Exec("BEGIN IMMEDIATE"));
  Status st = idx->Exec(kSchema);
  if (st.ok()) st = idx->Exec(("PRAGMA user_version=" + std::to_string(kIndexSchemaVersion)).c_str());
  if (st.ok()) st = idx->Exec("COMMIT");
  if (!st.ok()) {
    (void)idx->Exec("ROLLBACK");
    return st;
  }
  return idx;
}

Index::~Index() { sqlite3_close(db_); }

Status Index::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    if (sqlite3_errcode(db_) == SQLITE_FULL) msg += " (disk full)";
    return Status::IoError("vault index: " + msg);
  }
  return Status::Ok();
}

Status Index::Insert(const Entry& e) {
  std::lock_guard<std::mutex> l(mu_);
  VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto fail = [&](Status st) {
    (void)Exec("ROLLBACK");
    return st;
  };
  {
    std::string sql = std::string("INSERT INTO entries(") + kColumns +
                      ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    Stmt q(db_, sql.c_str());
    if (!q.ok()) return fail(DbError(db_, "vault index insert"));
    int c = 1;
    q.Text(c++, e.id);
    q.Blob(c++, e.path);
    q.Blob(c++, e.given_path);
    q.Int(c++, e.uid);
    q.Int(c++, e.gid);
    q.Text(c++, e.owner);
    q.Text(c++, e.group);
    q.Int(c++, e.mode);
    q.Int(c++, e.atime_sec);
    q.Int(c++, e.atime_nsec);
    q.Int(c++, e.mtime_sec);
    q.Int(c++, e.mtime_nsec);
    q.Int(c++, static_cast<int64_t>(e.size));
    q.Text(c++, e.sha256);
    q.Text(c++, Join(e.detections));
    q.Int(c++, e.quarantined_at);
    q.Text(c++, e.db_version);
    q.Text(c++, e.host);
    q.Text(c++, e.vigil_version);
    if (q.Step() != SQLITE_DONE) return fail(DbError(db_, "vault index insert"));
  }
  for (const auto& [name, value] : e.xattrs) {
    Stmt q(db_, "INSERT INTO xattrs(id, name, value) VALUES(?,?,?)");
    if (!q.ok()) return fail(DbError(db_, "vault index insert"));
    q.Text(1, e.id);
    q.Blob(2, name);
    q.Blob(3, value);
    if (q.Step() != SQLITE_DONE) return fail(DbError(db_, "vault index insert"));
  }
  FaultPoint("index: row inserted, before commit");
  Status st = Exec("COMMIT");
  if (!st.ok()) return fail(st);
  return Status::Ok();
}

Status Index::Remove(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  int changes = 0;
  for (const char* sql : {"DELETE FROM xattrs WHERE id=?", "DELETE FROM entries WHERE id=?"}) {
    Stmt q(db_, sql);
    q.Text(1, id);
    if (!q.ok() || q.Step() != SQLITE_DONE) {
      Status st = DbError(db_, "vault index delete");
      (void)Exec("ROLLBACK");
      return st;
    }
    changes = sqlite3_changes(db_);
  }
  Status st = Exec("COMMIT");
  if (!st.ok()) {
    (void)Exec("ROLLBACK");
    return st;
  }
  if (changes == 0) return Status::NotFound("no vault entry " + id);
  return Status::Ok();
}

Result<std::optional<Entry>> Index::Get(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  std::string sql = std::string("SELECT ") + kColumns + " FROM entries WHERE id=?";
  Stmt q(db_, sql.c_str());
  if (!q.ok()) return DbError(db_, "vault index read");
  q.Text(1, id);
  int r = q.Step();
  if (r == SQLITE_DONE) return std::optional<Entry>();
  if (r != SQLITE_ROW) return DbError(db_, "vault index read");
  Entry e = RowToEntry(q);
  Stmt x(db_, "SELECT name, value FROM xattrs WHERE id=? ORDER BY name");
  if (!x.ok()) return DbError(db_, "vault index read");
  x.Text(1, id);
  while ((r = x.Step()) == SQLITE_ROW) e.xattrs.emplace_back(x.ColStr(0), x.ColStr(1));
  if (r != SQLITE_DONE) return DbError(db_, "vault index read");
  return std::optional<Entry>(std::move(e));
}

Result<std::vector<Entry>> Index::List() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> l(mu_);
    Stmt q(db_, "SELECT id FROM entries ORDER BY quarantined_at, id");
    if (!q.ok()) return DbError(db_, "vault index read");
    int r;
    while ((r = q.Step()) == SQLITE_ROW) ids.push_back(q.ColStr(0));
    if (r != SQLITE_DONE) return DbError(db_, "vault index read");
  }
  std::vector<Entry> out;
  for (const auto& id : ids) {
    auto e = Get(id);
    if (!e.ok()) return e.status();
    if (e->has_value()) out.push_back(std::move(**e));  // removed meanwhile: skip
  }
  return out;
}

Result<std::vector<std::string>> Index::IdsWithPrefix(const std::string& prefix) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt q(db_, "SELECT id FROM entries WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id");
  if (!q.ok()) return DbError(db_, "vault index read");
  q.Text(1, prefix);
  std::vector<std::string> out;
  int r;
  while ((r = q.Step()) == SQLITE_ROW) out.push_back(q.ColStr(0));
  if (r != SQLITE_DONE) return DbError(db_, "vault index read");
  return out;
}

Result<bool> Index::Has(const std::string& id) {
  auto e = Get(id);
  if (!e.ok()) return e.status();
  return e->has_value();
}

}  // namespace vigil::quarantine
