// `vigil-server fleet`: the endpoints by database age and by version, and
// those withheld from updates by a jurisdiction rule.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fleet/store.h"
#include "policy/policy.h"

namespace vigil::distrib {

struct Withheld {
  std::string endpoint_id, license_key, countries, rule;
  std::string source;    // "check-in" (the endpoint reported a refusal) or "policy" (the rule applies now)
  int64_t age_days = -1;
};

struct Fleet {
  int64_t now = 0;
  size_t endpoints = 0;
  std::vector<std::pair<std::string, size_t>> by_age;  // fixed buckets, youngest first
  std::map<std::string, size_t> by_engine, by_db_version;
  std::vector<Withheld> withheld;
  size_t stale = 0;  // older than the stale age
};

// `license_country(key)` gives a license's registered country ("" unknown).
Fleet FleetReport(const std::vector<fleet::Checkin>& endpoints, const policy::Policy* policy,
                  const std::function<std::string(const std::string&)>& license_country, int64_t now,
                  int64_t stale_after);
std::string FleetReportText(const Fleet& f);
std::string FleetReportJson(const Fleet& f);

}  // namespace vigil::distrib
