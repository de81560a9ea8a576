#include "policy/instant.h"

#include <gtest/gtest.h>

#include "policy/countries.h"

namespace vigil::policy {
namespace {

TEST(CountriesTest, AllAssignedCodes) {
  EXPECT_EQ(AllCountryCodes().size(), 249u);
  EXPECT_TRUE(std::is_sorted(AllCountryCodes().begin(), AllCountryCodes().end()));
  for (const char* c : {"US", "DE", "RU", "PR", "GU", "VI", "AS", "MP", "UM", "AX", "SS", "XK"})
    EXPECT_EQ(IsCountryCode(c), std::string_view(c) != "XK") << c;
  for (const char* c : {"us", "Us", "EU", "UK", "XX", "", "USA", "U"}) EXPECT_FALSE(IsCountryCode(c)) << c;
}

TEST(InstantTest, ParsesZonesAndEpochSeconds) {
  EXPECT_EQ(ParseInstant("2024-09-29T00:00:00-04:00").value(), 1727582400);
  EXPECT_EQ(ParseInstant("2024-09-29T04:00:00Z").value(), 1727582400);
  EXPECT_EQ(ParseInstant("2024-09-29t04:00:00z").value(), 1727582400);
  EXPECT_EQ(ParseInstant("2024-09-29 04:00:00+00:00").value(), 1727582400);
  EXPECT_EQ(ParseInstant("2024-09-29T09:30:00+05:30").value(), 1727582400);
  EXPECT_EQ(ParseInstant("2024-09-29T04:00:00.999999Z").value(), 1727582400);
  EXPECT_EQ(ParseInstant("1727582400").value(), 1727582400);
  EXPECT_EQ(ParseInstant("0").value(), 0);
  EXPECT_EQ(ParseInstant("-1").value(), -1);
  EXPECT_EQ(ParseInstant("1970-01-01T00:00:00Z").value(), 0);
  EXPECT_EQ(ParseInstant("2000-02-29T00:00:00Z").value(), 951782400);
  EXPECT_EQ(ParseInstant("1969-12-31T23:59:59Z").value(), -1);
  EXPECT_EQ(ParseInstant("9999-12-31T23:59:59Z").value(), kMaxInstant);
  EXPECT_EQ(ParseInstant("0000-01-01T00:00:00Z").value(), kMinInstant);
  auto p = ParseInstantWithOffset("2024-07-20T00:00:00-04:00");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->offset_minutes, -240);
  EXPECT_EQ(p->seconds, 1721448000);
}

TEST(InstantTest, RejectsBadInstants) {
  for (const char* bad : {"", "2024-09-29T00:00:00", "2024-09-29", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z", "2024-09-29T25:00:00Z",
                          "2024-09-29T24:00:00Z", "2024-09-29T23:60:00Z", "2024-09-29T23:59:60Z",
                          "2024-09-29T00:00:00+24:00", "2024-09-29T00:00:00-04", "2024-09-29T00:00:00Zjunk",
                          "2024-09-29T00:00:00.Z", "2024-9-29T00:00:00Z", "24-09-29T00:00:00Z", "1e9", "12345678901234",
                          "+5", "-", "2024-09-29X00:00:00Z", "9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00"})
    EXPECT_FALSE(ParseInstant(bad).ok()) << bad;
  EXPECT_NE(ParseInstant("2024-09-29T00:00:00").status().message().find("needs a time zone"), std::string::npos);
}

TEST(InstantTest, Formats) {
  EXPECT_EQ(FormatInstantUtc(1727582400), "2024-09-29T04:00:00Z");
  EXPECT_EQ(FormatInstant(1727582400, -240), "2024-09-29T00:00:00-04:00");
  EXPECT_EQ(FormatInstant(1727582400, 330), "2024-09-29T09:30:00+05:30");
  EXPECT_EQ(FormatDate(1727582400, -240), "2024-09-29");
  EXPECT_EQ(FormatDate(1727582399, -240), "2024-09-28");
  EXPECT_EQ(FormatDate(1727582400, 0), "2024-09-29");
  EXPECT_EQ(FormatDate(1727582400 - 4 * 3600 - 1, 0), "2024-09-28");
  EXPECT_EQ(FormatInstantUtc(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatInstantUtc(951782400), "2000-02-29T00:00:00Z");
  // Every day of a few centuries round-trips.
  for (int64_t t = -5000000000; t < 5000000000; t += 86400 * 7 + 3599) {
    auto back = ParseInstant(FormatInstantUtc(t));
    ASSERT_TRUE(back.ok()) << FormatInstantUtc(t);
    EXPECT_EQ(*back, t);
  }
  // Total on any input.
  EXPECT_EQ(FormatInstantUtc(INT64_MAX), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatInstantUtc(INT64_MIN), "0000-01-01T00:00:00Z");
}

}  // namespace
}  // namespace vigil::policy
