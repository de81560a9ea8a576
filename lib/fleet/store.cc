#include "fleet/store.h"

#include <atomic>
#include <chrono>

#include "fleet/store_impl.h"

namespace vigil::fleet {
namespace internal {

std::string SchemaSql() {
  return R"(
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS licenses(
  key          TEXT PRIMARY KEY,
  customer     TEXT NOT NULL,
  country      TEXT NOT NULL,
  activated_at BIGINT NOT NULL,
  activated_ip TEXT NOT NULL,
  ip_country   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkins(
  endpoint_id         TEXT PRIMARY KEY,
  license_key         TEXT NOT NULL,
  engine_version      TEXT NOT NULL,
  db_version          TEXT NOT NULL,
  db_time             BIGINT NOT NULL,
  last_scan           BIGINT NOT NULL,
  detections          BIGINT NOT NULL,
  quarantined         BIGINT NOT NULL,
  last_update_outcome TEXT NOT NULL,
  last_update_rule    TEXT NOT NULL,
  received_at         BIGINT NOT NULL,
  ip                  TEXT NOT NULL,
  country             TEXT NOT NULL,
  checkin_count       BIGINT NOT NULL,
  rev                 BIGINT NOT NULL
);
)";
}

std::string UpsertCheckinsSql(size_t rows, const char* mark) {
  static const char* kReplaced[] = {"license_key",        "engine_version",   "db_version", "db_time",
                                    "last_scan",          "detections",       "quarantined",
                                    "last_update_outcome", "last_update_rule", "received_at",
                                    "ip",                 "country",          "rev"};
  std::string sql = "INSERT INTO checkins(";
  sql += kCheckinColumns;
  sql += ", rev) VALUES ";
  int p = 1;
  for (size_t r = 0; r < rows; ++r) {
    sql += r ? ",(" : "(";
    for (int c = 0; c < kCheckinParams; ++c) {
      if (c) sql += ',';
      sql += mark + std::to_string(p++);
    }
    sql += ')';
  }
  sql += " ON CONFLICT(endpoint_id) DO UPDATE SET checkin_count = checkins.checkin_count + excluded.checkin_count";
  for (const char* col : kReplaced) {
    sql += std::string(", ") + col + " = CASE WHEN excluded.rev > checkins.rev THEN excluded." + col +
           " ELSE checkins." + col + " END";
  }
  return sql;
}

int64_t NextRev() {
  static std::atomic<int64_t> last{0};
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  int64_t prev = last.load(std::memory_order_relaxed);
  while (true) {
    int64_t next = now > prev ? now : prev + 1;
    if (last.compare_exchange_weak(prev, next, std::memory_order_relaxed)) return next;
  }
}

}  // namespace internal

Result<std::unique_ptr<Store>> Store::Open(const std::string& url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return internal::OpenPostgres(url);
  std::string path = url;
  if (path.rfind("sqlite:", 0) == 0) {
    path.erase(0, 7);
    if (path.rfind("///", 0) == 0) path.erase(0, 2);  // sqlite:///abs/path
  }
  if (path.empty()) return Status::InvalidArgument("empty fleet store path");
  if (path.find("://") != std::string::npos)
    return Status::InvalidArgument("unsupported fleet store URL '" + url + "' (postgresql://... or sqlite:PATH)");
  return internal::OpenSqlite(path);
}

}  // namespace vigil::fleet
