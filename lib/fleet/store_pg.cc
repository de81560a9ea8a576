// PostgreSQL backend (libpq). Check-ins go through group commit with two
// writer threads, each with its own connection: while one batch waits for its
// commit (WAL flush), the next one is being sent on the other connection.
// Rows in a batch are merged per endpoint and sorted, so concurrent batches
// lock rows in the same order (no deadlocks) and never touch a row twice.
// Reads and licenses use a small pool of further connections.
#include <libpq-fe.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>

#include "fleet/group_commit.h"
#include "fleet/store_impl.h"

namespace vigil::fleet::internal {
namespace {

constexpr int kWriters = 2;
constexpr size_t kPoolSize = 4;
constexpr size_t kMaxBatch = 1000;  // 15 params a row, libpq allows 65535
constexpr int kRetries = 3;
constexpr int64_t kSchemaLockId = 0x7669676c666c74;  // "viglflt": serialises schema creation

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

std::string Trimmed(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<PgConn> Connect(const std::string& url) {
  PgConn c(PQconnectdb(url.c_str()));
  if (!c) return Status::Internal("libpq: out of memory");
  if (PQstatus(c.get()) != CONNECTION_OK)
    return Status::IoError("cannot connect to PostgreSQL: " + Trimmed(PQerrorMessage(c.get())));
  // NOTICEs ("relation already exists, skipping") would go to stderr.
  PQsetNoticeProcessor(c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

// Runs one statement with text parameters. Re-opens a dropped connection
// before running (not after: the statement may have been executed).
Result<PgResult> Exec(PGconn* c, const std::string& sql, const std::vector<std::string>& params = {},
                      std::string* sqlstate = nullptr) {
  if (PQstatus(c) != CONNECTION_OK) {
    PQreset(c);
    if (PQstatus(c) != CONNECTION_OK)
      return Status::IoError("PostgreSQL connection lost: " + Trimmed(PQerrorMessage(c)));
  }
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) values[i] = params[i].c_str();
  PgResult r(params.empty() ? PQexec(c, sql.c_str())
                            : PQexecParams(c, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                           values.data(), nullptr, nullptr, 0));
  ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  if (sqlstate) {
    const char* code = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    *sqlstate = code ? code : "";
  }
  return Status::IoError("PostgreSQL: " + Trimmed(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(c)));
}

std::string Str(PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}
int64_t Int(PGresult* r, int row, int col) { return std::strtoll(PQgetvalue(r, row, col), nullptr, 10); }

// Deadlock and serialisation failures: the transaction can simply run again.
bool Retryable(const std::string& sqlstate) { return sqlstate == "40P01" || sqlstate == "40001"; }

class PgStore : public Store {
 public:
  explicit PgStore(std::string url) : url_(std::move(url)) {}
  ~PgStore() override { writer_.reset(); }

  Status Init() {
    auto c = Connect(url_);
    if (!c.ok()) return c.status();
    PGconn* conn = c->get();
    auto field = [](const char* v) { return std::string(v ? v : ""); };
    describe_ = "postgresql://" + field(PQhost(conn)) + ":" + field(PQport(conn)) + "/" + field(PQdb(conn));
    VIGIL_RETURN_IF_ERROR(CreateSchema(conn));
    pool_.push_back(std::move(*c));
    for (int i = 0; i < kWriters; ++i) {
      auto w = Connect(url_);
      if (!w.ok()) return w.status();
      writer_conns_.push_back(std::move(*w));
    }
    writer_ = std::make_unique<GroupCommit<CheckinRow>>(
        kWriters, kMaxBatch, [this](int w, std::vector<CheckinRow>& batch) { return Flush(w, batch); });
    return Status::Ok();
  }

  Result<std::optional<License>> GetLicense(const std::string& key) override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    Lease lease(this, std::move(*c));
    auto r = Exec(lease.get(), std::string("SELECT ") + kLicenseColumns + " FROM licenses WHERE key = $1", {key});
    if (!r.ok()) return r.status();
    PGresult* res = r->get();
    if (PQntuples(res) == 0) return std::optional<License>();
    License lic;
    lic.key = Str(res, 0, 0);
    lic.customer = Str(res, 0, 1);
    lic.country = Str(res, 0, 2);
    lic.activated_at = Int(res, 0, 3);
    lic.activated_ip = Str(res, 0, 4);
    lic.ip_country = Str(res, 0, 5);
    return std::optional<License>(std::move(lic));
  }

  Status PutLicense(const License& l) override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    Lease lease(this, std::move(*c));
    std::string sqlstate;
    auto r = Exec(lease.get(),
                  std::string("INSERT INTO licenses(") + kLicenseColumns + ") VALUES($1,$2,$3,$4,$5,$6)",
                  {l.key, l.customer, l.country, std::to_string(l.activated_at), l.activated_ip, l.ip_country},
                  &sqlstate);
    if (!r.ok()) {
      if (sqlstate == "23505") return Status::InvalidArgument("already activated");
      return r.status();
    }
    return Status::Ok();
  }

  Status RecordCheckin(const Checkin& c) override {
    if (c.endpoint_id.empty()) return Status::InvalidArgument("check-in without endpoint id");
    // The rev is taken at the call, so "latest" means the last call even
    // when two writers commit their batches in the other order.
    return writer_->Submit(CheckinRow{c, NextRev()});
  }

  Result<std::vector<Checkin>> Endpoints() override {
    auto c = Acquire();
    if (!c.ok()) return c.status();
    Lease lease(this, std::move(*c));
    auto r = Exec(lease.get(), std::string("SELECT ") + kCheckinColumns + " FROM checkins ORDER BY endpoint_id");
    if (!r.ok()) return r.status();
    PGresult* res = r->get();
    std::vector<Checkin> out;
    int n = PQntuples(res);
    out.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      Checkin ci;
      ci.endpoint_id = Str(res, i, 0);
      ci.license_key = Str(res, i, 1);
      ci.engine_version = Str(res, i, 2);
      ci.db_version = Str(res, i, 3);
      ci.db_time = Int(res, i, 4);
      ci.last_scan = Int(res, i, 5);
      ci.detections = static_cast<uint64_t>(Int(res, i, 6));
      ci.quarantined = static_cast<uint64_t>(Int(res, i, 7));
      ci.last_update_outcome = Str(res, i, 8);
      ci.last_update_rule = Str(res, i, 9);
      ci.received_at = Int(res, i, 10);
      ci.ip = Str(res, i, 11);
      ci.country = Str(res, i, 12);
      ci.checkin_count = static_cast<uint64_t>(Int(res, i, 13));
      out.push_back(std::move(ci));
    }
    return out;
  }

  std::string Describe() const override { return describe_; }

 private:
  // A pooled connection, returned on destruction.
  class Lease {
   public:
    Lease(PgStore* s, PgConn c) : s_(s), c_(std::move(c)) {}
    ~Lease() { s_->Release(std::move(c_)); }
    PGconn* get() { return c_.get(); }

   private:
    PgStore* s_;
    PgConn c_;
  };

  Result<PgConn> Acquire() {
    std::unique_lock<std::mutex> l(pool_mu_);
    pool_cv_.wait(l, [&] { return !pool_.empty() || open_ < kPoolSize; });
    if (!pool_.empty()) {
      PgConn c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
    ++open_;
    l.unlock();
    auto c = Connect(url_);
    if (!c.ok()) {
      l.lock();
      --open_;
      pool_cv_.notify_one();
    }
    return c;
  }

  void Release(PgConn c) {
    std::lock_guard<std::mutex> l(pool_mu_);
    pool_.push_back(std::move(c));
    pool_cv_.notify_one();
  }

  Status CreateSchema(PGconn* c) {
    auto run = [&]() -> Status {
      auto r = Exec(c, "BEGIN");
      if (!r.ok()) return r.status();
      // CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin.
      r = Exec(c, "SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLockId) + ")");
      if (!r.ok()) return r.status();
      r = Exec(c, SchemaSql());
      if (!r.ok()) return r.status();
      r = Exec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
      if (!r.ok()) return r.status();
      int64_t v = Int(r->get(), 0, 0);
      if (v > kSchemaVersion)
        return Status::Unsupported("fleet store has schema version " + std::to_string(v) +
                                   ", newer than this build (" + std::to_string(kSchemaVersion) + ")");
      if (v == 0) {
        r = Exec(c, "INSERT INTO schema_version(version) VALUES($1)", {std::to_string(kSchemaVersion)});
        if (!r.ok()) return r.status();
      }
      r = Exec(c, "COMMIT");
      return r.ok() ? Status::Ok() : r.status();
    };
    Status s = run();
    if (!s.ok()) (void)Exec(c, "ROLLBACK");
    return s;
  }

  Status Flush(int writer, std::vector<CheckinRow>& batch) {
    // Merge repeated endpoints: one upsert may not touch a row twice.
    std::map<std::string, std::pair<const CheckinRow*, int64_t>> rows;  // sorted: fixed lock order
    for (const CheckinRow& r : batch) {
      auto [it, fresh] = rows.try_emplace(r.c.endpoint_id, &r, 1);
      if (!fresh) {
        it->second.first = &r;  // later in the batch = later call
        ++it->second.second;
      }
    }
    std::vector<std::string> params;
    params.reserve(rows.size() * kCheckinParams);
    for (const auto& [id, row] : rows) {
      const Checkin& c = row.first->c;
      params.push_back(c.endpoint_id);
      params.push_back(c.license_key);
      params.push_back(c.engine_version);
      params.push_back(c.db_version);
      params.push_back(std::to_string(c.db_time));
      params.push_back(std::to_string(c.last_scan));
      params.push_back(std::to_string(static_cast<int64_t>(c.detections)));
      params.push_back(std::to_string(static_cast<int64_t>(c.quarantined)));
      params.push_back(c.last_update_outcome);
      params.push_back(c.last_update_rule);
      params.push_back(std::to_string(c.received_at));
      params.push_back(c.ip);
      params.push_back(c.country);
      params.push_back(std::to_string(row.second));
      params.push_back(std::to_string(row.first->rev));
    }
    std::string sql = UpsertCheckinsSql(rows.size(), "$");
    PGconn* conn = writer_conns_[static_cast<size_t>(writer)].get();
    Status last;
    for (int attempt = 0; attempt < kRetries; ++attempt) {
      // A single statement is its own transaction: one commit for the batch.
      std::string sqlstate;
      auto r = Exec(conn, sql, params, &sqlstate);
      if (r.ok()) return Status::Ok();
      last = r.status();
      if (!Retryable(sqlstate)) break;
    }
    return last;
  }

  std::string url_;
  std::string describe_;
  std::vector<PgConn> writer_conns_;
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<PgConn> pool_;
  size_t open_ = 1;  // connections of the pool, idle or leased
  std::unique_ptr<GroupCommit<CheckinRow>> writer_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgres(const std::string& url) {
  auto store = std::make_unique<PgStore>(url);
  VIGIL_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace vigil::fleet::internal
