// Shared by the two Store backends (not part of the public API).
#pragma once

#include <memory>
#include <string>

#include "fleet/store.h"

namespace vigil::fleet::internal {

constexpr int kSchemaVersion = 1;
constexpr const char* kLicenseColumns = "key, customer, country, activated_at, activated_ip, ip_country";
constexpr const char* kCheckinColumns =
    "endpoint_id, license_key, engine_version, db_version, db_time, last_scan, detections, quarantined, "
    "last_update_outcome, last_update_rule, received_at, ip, country, checkin_count";
constexpr int kCheckinParams = 15;  // the columns above plus rev

// CREATE TABLE IF NOT EXISTS for both dialects (types are portable).
std::string SchemaSql();

// INSERT ... ON CONFLICT(endpoint_id) DO UPDATE for `rows` rows with
// placeholders `mark`1..N (mark "$" for PostgreSQL, "?" for SQLite), in the
// column order of kCheckinColumns then rev. The count always adds up; the
// other fields are replaced only by a newer rev, so batches committed out of
// order by parallel writers still leave the latest check-in.
std::string UpsertCheckinsSql(size_t rows, const char* mark);

// A check-in on its way to the writer, with its place in time.
struct CheckinRow {
  Checkin c;
  int64_t rev = 0;
};

// Strictly increasing per process and across restarts (wall clock in ns):
// orders check-ins by when RecordCheckin was called.
int64_t NextRev();

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path);
Result<std::unique_ptr<Store>> OpenPostgres(const std::string& url);

}  // namespace vigil::fleet::internal
