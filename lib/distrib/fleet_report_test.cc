#include "distrib/fleet_report.h"

#include <gtest/gtest.h>

#include "distrib/service.h"

namespace vigil::distrib {
namespace {

constexpr int64_t kDay = 86400;

fleet::Checkin Endpoint(const std::string& id, const std::string& license, int64_t db_time,
                        const std::string& outcome = "installed", const std::string& rule = "",
                        const std::string& country = "DE") {
  fleet::Checkin c;
  c.endpoint_id = id;
  c.license_key = license;
  c.engine_version = "0.1.0";
  c.db_version = "stable 1";
  c.db_time = db_time;
  c.last_update_outcome = outcome;
  c.last_update_rule = rule;
  c.country = country;
  return c;
}

TEST(FleetReport, BucketsVersionsAndWithheld) {
  auto pol = policy::Policy::Parse(R"(version = 1
[[rule]]
id = "us-updates"
jurisdiction = "US"
action = ["update", "download"]
effective = 2024-09-29T00:00:00-04:00
message = "no updates"
reference = "test"
)",
                                   "p.toml");
  ASSERT_TRUE(pol.ok()) << pol.status().message();
  const int64_t now = 1730000000;  // 2024-10-27
  std::vector<fleet::Checkin> eps = {
      Endpoint("fresh", "DE-LICENSE-1", now - kDay / 2),
      Endpoint("stale", "DE-LICENSE-1", now - 5 * kDay),
      Endpoint("reported", "US-LICENSE-1", now - 40 * kDay, "refused", "us-updates", "US"),
      Endpoint("by-policy", "DE-LICENSE-2", now - 20 * kDay, "installed", "", "US"),  // DE license, US address
      Endpoint("unknown-age", "DE-LICENSE-1", 0),
  };
  eps[1].engine_version = "0.0.9";
  auto country = [](const std::string& key) { return key.substr(0, 2); };
  Fleet f = FleetReport(eps, &*pol, country, now, 3 * kDay);
  EXPECT_EQ(f.endpoints, 5u);
  EXPECT_EQ(f.stale, 4u);  // all but "fresh"
  std::map<std::string, size_t> by_age(f.by_age.begin(), f.by_age.end());
  EXPECT_EQ(by_age["under 1 day"], 1u);
  EXPECT_EQ(by_age["3-7 days"], 1u);
  EXPECT_EQ(by_age["14-30 days"], 1u);
  EXPECT_EQ(by_age["30-90 days"], 1u);
  EXPECT_EQ(by_age["unknown"], 1u);
  EXPECT_EQ(f.by_engine["0.1.0"], 4u);
  EXPECT_EQ(f.by_engine["0.0.9"], 1u);
  ASSERT_EQ(f.withheld.size(), 2u);
  EXPECT_EQ(f.withheld[0].endpoint_id, "reported");
  EXPECT_EQ(f.withheld[0].source, "check-in");
  EXPECT_EQ(f.withheld[0].age_days, 40);
  EXPECT_EQ(f.withheld[1].endpoint_id, "by-policy");
  EXPECT_EQ(f.withheld[1].source, "policy");
  EXPECT_EQ(f.withheld[1].rule, "us-updates");
  EXPECT_EQ(f.withheld[1].countries, "DE/US");
  // Before the rule, nothing applies by policy; the endpoint's own report stays.
  Fleet before = FleetReport(eps, &*pol, country, 1727000000, 3 * kDay);
  ASSERT_EQ(before.withheld.size(), 1u);
  EXPECT_EQ(before.withheld[0].endpoint_id, "reported");
  EXPECT_NE(FleetReportText(f).find("Withheld by a rule: 2"), std::string::npos);
  EXPECT_NE(FleetReportJson(f).find("\"by-policy\""), std::string::npos);
}

TEST(RequestFields, LicenseKeysAndEndpointIds) {
  EXPECT_TRUE(ValidLicenseKey("DE-LICENSE-1"));
  EXPECT_TRUE(ValidLicenseKey("abcdefgh"));
  EXPECT_FALSE(ValidLicenseKey("short"));
  EXPECT_FALSE(ValidLicenseKey(std::string(65, 'A')));
  EXPECT_FALSE(ValidLicenseKey("../../etc/passwd"));
  EXPECT_FALSE(ValidLicenseKey("KEY WITH SPACE"));
  EXPECT_TRUE(ValidEndpointId("host-1.example:42_a"));
  EXPECT_FALSE(ValidEndpointId(""));
  EXPECT_FALSE(ValidEndpointId("a/b"));
  EXPECT_FALSE(ValidEndpointId(std::string(129, 'e')));
}

}  // namespace
}  // namespace vigil::distrib
