#include "update/checkin.h"

#include "util/no_iostream_init.h"  // before httplib: see there
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "update/util.h"

namespace vigil::update {

ScanStats ReadScanStats(const std::string& state_dir) {
  ScanStats s;
  auto text = ReadFile(state_dir + "/scan-stats", 1 << 16);
  if (!text.ok()) return s;
  std::string_view t = *text;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    std::string_view line = t.substr(0, nl);
    t.remove_prefix(nl == std::string_view::npos ? t.size() : nl + 1);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    std::string key(line.substr(0, sp)), v(line.substr(sp + 1));
    uint64_t n = 0;
    if (!ParseU64(v, &n)) continue;
    if (key == "last-scan") s.last_scan = static_cast<int64_t>(n);
    else if (key == "detections") s.detections = n;
  }
  return s;
}

void RecordScan(const std::string& state_dir, int64_t when, uint64_t infected) {
  ScanStats s = ReadScanStats(state_dir);
  s.last_scan = when;
  s.detections += infected;
  (void)WriteFileAtomic(state_dir + "/scan-stats", "last-scan " + std::to_string(s.last_scan) + "\ndetections " +
                                                      std::to_string(s.detections) + "\n");
}

std::string CheckinJson(const UpdateConfig& cfg, const DbState& db, const ScanStats& scans, uint64_t quarantined,
                        int64_t now) {
  nlohmann::json j;
  j["endpoint_id"] = cfg.endpoint_id;
  j["license_key"] = cfg.license_key;
  j["engine_version"] = cfg.engine_version;
  j["db_version"] = db.version;
  j["db_time"] = db.built;
  j["db_age_seconds"] = db.built > 0 && now > db.built ? now - db.built : 0;
  j["last_scan"] = scans.last_scan;
  j["detections"] = scans.detections;
  j["quarantined"] = quarantined;
  j["last_update_outcome"] = db.last ? db.last->outcome : "";
  j["last_update_rule"] = db.last ? db.last->refusal.rule : "";
  return j.dump();
}

Status SendCheckin(const UpdateConfig& cfg, const std::string& json) {
  if (cfg.servers.empty()) return Status::InvalidArgument("no update server configured (--server URL)");
  if (cfg.endpoint_id.empty() || cfg.license_key.empty())
    return Status::InvalidArgument("a check-in needs the endpoint's --endpoint-id and --license");
  std::string errors;
  for (const std::string& server : cfg.servers) {
    size_t scheme = server.find("://");
    size_t slash = scheme == std::string::npos ? std::string::npos : server.find('/', scheme + 3);
    std::string origin = server.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : server.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    httplib::Client c(origin);
    c.set_connection_timeout(cfg.connect_timeout, 0);
    c.set_read_timeout(cfg.read_timeout, 0);
    c.set_tcp_nodelay(true);  // the body follows the headers in a second write
    auto res = c.Post(prefix + "/v1/checkin", json, "application/json");
    if (res && res->status == 200) return Status::Ok();
    std::string why = res ? "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 400)
                          : httplib::to_string(res.error());
    if (res && res->status == 451) return Status::Unsupported(why);
    errors += (errors.empty() ? "" : "; ") + server + ": " + why;
  }
  return Status::IoError("check-in failed: " + errors);
}

}  // namespace vigil::update
