// SQLite backend: one connection in WAL mode behind a mutex; check-ins go
// through a group-commit writer so that many concurrent RecordCheckin calls
// share one transaction (and one fsync).
#include <sqlite3.h>

#include <mutex>

#include "fleet/group_commit.h"
#include "fleet/store_impl.h"

namespace vigil::fleet::internal {
namespace {

constexpr int kBusyTimeoutMs = 60000;
constexpr size_t kMaxBatch = 2048;

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) { rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  int Step() { return sqlite3_step(s_); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  std::string ColStr(int i) {
    const unsigned char* p = sqlite3_column_text(s_, i);
    int n = sqlite3_column_bytes(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

Status DbError(sqlite3* db, const std::string& what) {
  return Status::IoError(what + ": " + sqlite3_errmsg(db));
}

class SqliteStore : public Store {
 public:
  SqliteStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteStore() override {
    writer_.reset();  // drains queued check-ins while db_ is still open
    sqlite3_close_v2(db_);
  }

  Status Init() {
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    sqlite3_extended_result_codes(db_, 1);
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    // FULL: a check-in acknowledged to the endpoint survives a power loss.
    VIGIL_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
    VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = CreateSchema();
    if (!s.ok()) {
      (void)Exec("ROLLBACK");
      return s;
    }
    VIGIL_RETURN_IF_ERROR(Exec("COMMIT"));
    writer_ = std::make_unique<GroupCommit<CheckinRow>>(
        1, kMaxBatch, [this](int, std::vector<CheckinRow>& batch) { return Flush(batch); });
    return Status::Ok();
  }

  Result<std::optional<License>> GetLicense(const std::string& key) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt st(db_, std::string("SELECT ") + kLicenseColumns + " FROM licenses WHERE key = ?1");
    if (!st.ok()) return DbError(db_, "prepare");
    st.Text(1, key);
    int rc = st.Step();
    if (rc == SQLITE_DONE) return std::optional<License>();
    if (rc != SQLITE_ROW) return DbError(db_, "read license");
    License lic;
    lic.key = st.ColStr(0);
    lic.customer = st.ColStr(1);
    lic.country = st.ColStr(2);
    lic.activated_at = st.ColInt(3);
    lic.activated_ip = st.ColStr(4);
    lic.ip_country = st.ColStr(5);
    return std::optional<License>(std::move(lic));
  }

  Status PutLicense(const License& lic) override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt st(db_, std::string("INSERT INTO licenses(") + kLicenseColumns + ") VALUES(?1,?2,?3,?4,?5,?6)");
    if (!st.ok()) return DbError(db_, "prepare");
    st.Text(1, lic.key);
    st.Text(2, lic.customer);
    st.Text(3, lic.country);
    st.Int(4, lic.activated_at);
    st.Text(5, lic.activated_ip);
    st.Text(6, lic.ip_country);
    int rc = st.Step();
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
      return Status::InvalidArgument("already activated");
    if (rc != SQLITE_DONE) return DbError(db_, "insert license");
    return Status::Ok();
  }

  Status RecordCheckin(const Checkin& c) override {
    if (c.endpoint_id.empty()) return Status::InvalidArgument("check-in without endpoint id");
    return writer_->Submit(CheckinRow{c, NextRev()});
  }

  Result<std::vector<Checkin>> Endpoints() override {
    std::lock_guard<std::mutex> l(mu_);
    Stmt st(db_, std::string("SELECT ") + kCheckinColumns + " FROM checkins ORDER BY endpoint_id");
    if (!st.ok()) return DbError(db_, "prepare");
    std::vector<Checkin> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      Checkin c;
      c.endpoint_id = st.ColStr(0);
      c.license_key = st.ColStr(1);
      c.engine_version = st.ColStr(2);
      c.db_version = st.ColStr(3);
      c.db_time = st.ColInt(4);
      c.last_scan = st.ColInt(5);
      c.detections = static_cast<uint64_t>(st.ColInt(6));
      c.quarantined = static_cast<uint64_t>(st.ColInt(7));
      c.last_update_outcome = st.ColStr(8);
      c.last_update_rule = st.ColStr(9);
      c.received_at = st.ColInt(10);
      c.ip = st.ColStr(11);
      c.country = st.ColStr(12);
      c.checkin_count = static_cast<uint64_t>(st.ColInt(13));
      out.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) return DbError(db_, "read check-ins");
    return out;
  }

  std::string Describe() const override { return "sqlite:" + path_; }

 private:
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      return Status::IoError(std::string("sqlite: ") + m);
    }
    return Status::Ok();
  }

  Status CreateSchema() {
    VIGIL_RETURN_IF_ERROR(Exec(SchemaSql().c_str()));
    Stmt st(db_, "SELECT max(version) FROM schema_version");
    if (!st.ok() || st.Step() != SQLITE_ROW) return DbError(db_, "read schema version");
    int64_t v = st.ColInt(0);  // NULL (no row yet) reads as 0
    if (v > kSchemaVersion)
      return Status::Unsupported("fleet store " + path_ + " has schema version " + std::to_string(v) +
                                 ", newer than this build (" + std::to_string(kSchemaVersion) + ")");
    if (v == 0) {
      Stmt ins(db_, "INSERT INTO schema_version(version) VALUES(?1)");
      if (!ins.ok()) return DbError(db_, "prepare");
      ins.Int(1, kSchemaVersion);
      if (ins.Step() != SQLITE_DONE) return DbError(db_, "write schema version");
    }
    return Status::Ok();
  }

  Status Flush(std::vector<CheckinRow>& batch) {
    std::lock_guard<std::mutex> l(mu_);
    VIGIL_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status s = [&]() -> Status {
      Stmt st(db_, UpsertCheckinsSql(1, "?"));
      if (!st.ok()) return DbError(db_, "prepare");
      for (const CheckinRow& row : batch) {
        const Checkin& c = row.c;
        st.Text(1, c.endpoint_id);
        st.Text(2, c.license_key);
        st.Text(3, c.engine_version);
        st.Text(4, c.db_version);
        st.Int(5, c.db_time);
        st.Int(6, c.last_scan);
        st.Int(7, static_cast<int64_t>(c.detections));
        st.Int(8, static_cast<int64_t>(c.quarantined));
        st.Text(9, c.last_update_outcome);
        st.Text(10, c.last_update_rule);
        st.Int(11, c.received_at);
        st.Text(12, c.ip);
        st.Text(13, c.country);
        st.Int(14, 1);
        st.Int(15, row.rev);
        if (st.Step() != SQLITE_DONE) return DbError(db_, "record check-in");
        st.Reset();
      }
      return Status::Ok();
    }();
    if (!s.ok()) {
      (void)Exec("ROLLBACK");
      return s;
    }
    return Exec("COMMIT");
  }

  sqlite3* db_;
  std::string path_;
  std::mutex mu_;  // one statement at a time on db_
  std::unique_ptr<GroupCommit<CheckinRow>> writer_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IoError("cannot open fleet store " + path + ": " + m);
  }
  auto store = std::make_unique<SqliteStore>(db, path);
  VIGIL_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace vigil::fleet::internal
