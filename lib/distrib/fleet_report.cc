#include "distrib/fleet_report.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "policy/instant.h"

namespace vigil::distrib {
namespace {

struct Bucket {
  const char* name;
  int64_t below_days;  // the age (days) this bucket stops at
};
constexpr Bucket kBuckets[] = {{"under 1 day", 1},    {"1-3 days", 3},         {"3-7 days", 7},
                               {"7-14 days", 14},     {"14-30 days", 30},      {"30-90 days", 90},
                               {"90 days or more", INT64_MAX}};

}  // namespace

Fleet FleetReport(const std::vector<fleet::Checkin>& endpoints, const policy::Policy* pol,
                  const std::function<std::string(const std::string&)>& license_country, int64_t now,
                  int64_t stale_after) {
  Fleet f;
  f.now = now;
  f.endpoints = endpoints.size();
  std::vector<size_t> counts(std::size(kBuckets), 0);
  size_t unknown = 0;
  for (const fleet::Checkin& c : endpoints) {
    int64_t age_days = -1;
    if (c.db_time > 0) {
      int64_t age = now > c.db_time ? now - c.db_time : 0;
      age_days = age / 86400;
      for (size_t i = 0; i < std::size(kBuckets); ++i)
        if (age_days < kBuckets[i].below_days) {
          ++counts[i];
          break;
        }
      if (age > stale_after) ++f.stale;
    } else {
      ++unknown;
      ++f.stale;
    }
    ++f.by_engine[c.engine_version.empty() ? "(unknown)" : c.engine_version];
    ++f.by_db_version[c.db_version.empty() ? "(unknown)" : c.db_version];
    std::string lc = license_country(c.license_key);
    Withheld w;
    w.endpoint_id = c.endpoint_id;
    w.license_key = c.license_key;
    w.countries = lc + (c.country.empty() || c.country == lc ? "" : (lc.empty() ? "" : "/") + c.country);
    w.age_days = age_days;
    if (c.last_update_outcome == "refused") {
      w.rule = c.last_update_rule.empty() ? "(unnamed)" : c.last_update_rule;
      w.source = "check-in";
    } else if (pol) {
      policy::Decision d = pol->Decide(policy::Action::kUpdate, {lc, c.country}, now);
      if (!d.allowed) {
        w.rule = d.rule->id;
        w.source = "policy";
      }
    }
    if (!w.rule.empty()) f.withheld.push_back(std::move(w));
  }
  for (size_t i = 0; i < std::size(kBuckets); ++i) f.by_age.emplace_back(kBuckets[i].name, counts[i]);
  f.by_age.emplace_back("unknown", unknown);
  return f;
}

std::string FleetReportText(const Fleet& f) {
  std::string out = "Fleet at " + policy::FormatInstantUtc(f.now) + ": " + std::to_string(f.endpoints) +
                    " endpoints, " + std::to_string(f.stale) + " stale\n\nBy database age:\n";
  char line[256];
  for (const auto& [name, n] : f.by_age) {
    std::snprintf(line, sizeof line, "  %-18s %8zu\n", name.c_str(), n);
    out += line;
  }
  out += "\nBy engine version:\n";
  for (const auto& [v, n] : f.by_engine) {
    std::snprintf(line, sizeof line, "  %-18s %8zu\n", v.c_str(), n);
    out += line;
  }
  out += "\nBy database version:\n";
  for (const auto& [v, n] : f.by_db_version) {
    std::snprintf(line, sizeof line, "  %-18s %8zu\n", v.c_str(), n);
    out += line;
  }
  out += "\nWithheld by a rule: " + std::to_string(f.withheld.size()) + "\n";
  for (const Withheld& w : f.withheld) {
    out += "  " + w.endpoint_id + " license " + w.license_key + " (" + (w.countries.empty() ? "?" : w.countries) +
           ") rule " + w.rule + " [" + w.source + "], database " +
           (w.age_days < 0 ? std::string("of unknown age") : std::to_string(w.age_days) + " days old") + "\n";
  }
  return out;
}

std::string FleetReportJson(const Fleet& f) {
  nlohmann::json j;
  j["now"] = policy::FormatInstantUtc(f.now);
  j["endpoints"] = f.endpoints;
  j["stale"] = f.stale;
  j["by_age"] = nlohmann::json::array();
  for (const auto& [name, n] : f.by_age) j["by_age"].push_back({{"age", name}, {"endpoints", n}});
  j["by_engine"] = f.by_engine;
  j["by_db_version"] = f.by_db_version;
  j["withheld"] = nlohmann::json::array();
  for (const Withheld& w : f.withheld)
    j["withheld"].push_back({{"endpoint_id", w.endpoint_id},
                             {"license_key", w.license_key},
                             {"countries", w.countries},
                             {"rule", w.rule},
                             {"source", w.source},
                             {"db_age_days", w.age_days}});
  return j.dump(2) + "\n";
}

}  // namespace vigil::distrib
