// Endpoint check-ins: what an endpoint tells its update server about its
// protection (POST /v1/checkin), so the vendor can see stale or withheld
// endpoints. Sent by `vigil checkin` and after every `vigil update`.
#pragma once

#include <cstdint>
#include <string>

#include "update/client.h"
#include "update/freshness.h"
#include "vigil/status.h"

namespace vigil::update {

struct ScanStats {
  int64_t last_scan = 0;      // end of the last `vigil scan` (Unix seconds), 0 never
  uint64_t detections = 0;    // infected files found, over all scans
};

// <state_dir>/scan-stats: "last-scan T" and "detections N" lines.
ScanStats ReadScanStats(const std::string& state_dir);
// Adds one scan's result; best effort (a scan never fails for this).
void RecordScan(const std::string& state_dir, int64_t when, uint64_t infected);

// The JSON body of a check-in.
std::string CheckinJson(const UpdateConfig& cfg, const DbState& db, const ScanStats& scans, uint64_t quarantined,
                        int64_t now);

// POSTs it to the first server that answers 200. A 451 answer is returned as
// an error whose message holds the server's JSON.
Status SendCheckin(const UpdateConfig& cfg, const std::string& json);

}  // namespace vigil::update
