// Fleet state kept by the update server: licenses (activations/purchases)
// and the latest check-in of every endpoint. SQLite for a single server,
// PostgreSQL when several servers share the state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil::fleet {

struct License {
  std::string key, customer, country;
  int64_t activated_at = 0;
  std::string activated_ip, ip_country;
};

struct Checkin {
  std::string endpoint_id, license_key, engine_version, db_version;
  int64_t db_time = 0;            // build time of the endpoint's database (Unix seconds), 0 unknown
  int64_t last_scan = 0;          // Unix seconds, 0 never
  uint64_t detections = 0, quarantined = 0;
  std::string last_update_outcome;  // e.g. "installed", "up-to-date", "refused", "failed"
  std::string last_update_rule;     // the policy rule id when refused
  int64_t received_at = 0;        // server time of the check-in
  std::string ip, country;        // where it came from
  uint64_t checkin_count = 0;     // Endpoints(): check-ins recorded for this endpoint (ignored by RecordCheckin)
};

class Store {
 public:
  virtual ~Store() = default;
  // "postgresql://..." or "postgres://..." -> PostgreSQL (libpq); "sqlite:PATH" or a plain path -> SQLite (WAL).
  // Creates the schema if missing (idempotent), versioned with a schema_version table.
  static Result<std::unique_ptr<Store>> Open(const std::string& url);
  virtual Result<std::optional<License>> GetLicense(const std::string& key) = 0;
  // Inserts; Status with code kInvalidArgument and message "already activated" when the key exists.
  virtual Status PutLicense(const License& l) = 0;
  // Upserts by endpoint_id (the latest check-in per endpoint is kept, plus a total check-in count per endpoint).
  // "Latest" is the most recently recorded, whatever its received_at. Group commit: concurrent
  // calls are batched into one transaction by writer threads; returns once its batch committed.
  // Thread-safe.
  virtual Status RecordCheckin(const Checkin& c) = 0;
  virtual Result<std::vector<Checkin>> Endpoints() = 0;   // latest check-in of every endpoint, by endpoint_id
  virtual std::string Describe() const = 0;               // "sqlite:/path" or "postgresql://host:port/db" (no password)
};

}  // namespace vigil::fleet
