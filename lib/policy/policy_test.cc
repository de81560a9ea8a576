#include "policy/policy.h"

#include <gtest/gtest.h>

#include <fstream>

#include "policy/instant.h"

namespace vigil::policy {
namespace {

const std::string kExample = VIGIL_SOURCE_DIR "/examples/policy/us-2024.toml";
constexpr int64_t kSalesBan = 1721448000;    // 2024-07-20T00:00:00-04:00
constexpr int64_t kUpdatesBan = 1727582400;  // 2024-09-29T00:00:00-04:00
constexpr Action kAllActions[] = {Action::kSell, Action::kActivate, Action::kUpdate, Action::kDownload};

Policy MustParse(const std::string& text) {
  auto p = Policy::Parse(text, "test.toml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(p).value() : Policy();
}

// The error for `text`, which must fail to load.
std::string ErrorOf(const std::string& text) {
  auto p = Policy::Parse(text, "test.toml");
  EXPECT_FALSE(p.ok()) << text;
  return p.ok() ? "" : p.status().message();
}

#define EXPECT_POLICY_ERROR(text, line, part)                                       \
  do {                                                                              \
    std::string err_ = ErrorOf(text);                                               \
    EXPECT_EQ(err_.rfind("test.toml:" + std::to_string(line) + ": ", 0), 0u) << err_; \
    EXPECT_NE(err_.find(part), std::string::npos) << err_;                          \
  } while (0)

TEST(PolicyTest, ActionNames) {
  for (Action a : kAllActions) EXPECT_EQ(ParseAction(ActionName(a)), a);
  EXPECT_STREQ(ActionName(Action::kSell), "sell");
  EXPECT_STREQ(ActionName(Action::kDownload), "download");
  EXPECT_FALSE(ParseAction("Sell"));
  EXPECT_FALSE(ParseAction(""));
}

TEST(PolicyTest, LoadsTheUs2024Example) {
  auto p = Policy::Load(kExample);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->rules().size(), 2u);
  const Rule& sales = p->rules()[0];
  EXPECT_EQ(sales.id, "us-2024-sales");
  EXPECT_EQ(sales.effective, kSalesBan);
  EXPECT_EQ(sales.effective_text, "2024-07-20T00:00:00-04:00");
  EXPECT_EQ(sales.effective_offset_minutes, -240);
  EXPECT_EQ(FormatDate(sales.effective, sales.effective_offset_minutes), "2024-07-20");
  EXPECT_EQ(sales.actions, std::vector<Action>{Action::kSell});
  EXPECT_TRUE(sales.deny);
  EXPECT_FALSE(sales.end);
  EXPECT_EQ(sales.message, "For legal compliance reasons, this product cannot be purchased from your country.");
  EXPECT_NE(sales.reference.find("89 FR 52434"), std::string::npos);
  EXPECT_EQ(sales.jurisdictions, std::vector<std::string>{"us-and-territories"});
  EXPECT_EQ(sales.countries, (std::set<std::string>{"US", "PR", "GU", "VI", "AS", "MP", "UM"}));
  EXPECT_EQ(sales.file, kExample);
  EXPECT_GT(sales.line, 1);
  const Rule& updates = p->rules()[1];
  EXPECT_EQ(updates.id, "us-2024-updates");
  EXPECT_EQ(updates.effective, kUpdatesBan);
  EXPECT_EQ(updates.effective_text, "2024-09-29T00:00:00-04:00");
  EXPECT_EQ(FormatInstantUtc(updates.effective), "2024-09-29T04:00:00Z");
  EXPECT_EQ(updates.actions, (std::vector<Action>{Action::kUpdate, Action::kDownload, Action::kActivate}));
  EXPECT_NE(updates.message.find("no longer available in your jurisdiction"), std::string::npos);
  EXPECT_EQ(p->groups().at("us-and-territories").size(), 7u);
  EXPECT_EQ(p->source_sha256().size(), 64u);
  EXPECT_EQ(p->FindRule("us-2024-updates"), &updates);
}

TEST(PolicyTest, Us2024DecisionsAtEveryBoundary) {
  auto p = Policy::Load(kExample);
  ASSERT_TRUE(p.ok()) << p.status().message();
  int checked = 0;
  for (int64_t boundary : {kSalesBan, kUpdatesBan}) {
    for (int64_t now : {boundary - 1, boundary, boundary + 1}) {
      for (const char* country : {"US", "PR", "GU", "UM", "DE"}) {
        for (Action a : kAllActions) {
          const bool us = std::string(country) != "DE";
          const int64_t from = a == Action::kSell ? kSalesBan : kUpdatesBan;
          const bool denied = us && now >= from;
          Decision d = p->Decide(a, {country}, now);
          SCOPED_TRACE(std::string(country) + " " + ActionName(a) + " at " + FormatInstantUtc(now));
          EXPECT_EQ(d.allowed, !denied);
          EXPECT_EQ(d.action, a);
          EXPECT_EQ(d.countries, std::vector<std::string>{country});
          if (denied) {
            ASSERT_NE(d.rule, nullptr);
            EXPECT_EQ(d.rule->id, a == Action::kSell ? "us-2024-sales" : "us-2024-updates");
            EXPECT_EQ(d.country, country);
          } else {
            EXPECT_EQ(d.rule, nullptr);
            EXPECT_EQ(d.country, "");
          }
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 2 * 3 * 5 * 4);
}

TEST(PolicyTest, AnyCountryOfTheRequestCounts) {
  auto p = Policy::Load(kExample);
  ASSERT_TRUE(p.ok()) << p.status().message();
  // License bought in Germany, used from a US address.
  Decision d = p->Decide(Action::kUpdate, {"DE", "US"}, kUpdatesBan + 86400);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.country, "US");
  EXPECT_EQ(d.countries, (std::vector<std::string>{"DE", "US"}));
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->id, "us-2024-updates");
  // Empty strings (unknown IP country) are ignored; lower case is compared as upper.
  d = p->Decide(Action::kUpdate, {"", "de", ""}, kUpdatesBan + 86400);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.countries, std::vector<std::string>{"DE"});
  d = p->Decide(Action::kDownload, {"pr"}, kUpdatesBan);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.country, "PR");
  d = p->Decide(Action::kSell, {}, kUpdatesBan);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.countries.empty());
}

// A realistic file: several jurisdictions, exceptions, expiring rules, and
// values written in every accepted form.
constexpr const char* kMany = R"(# Vigil distribution policy, test copy
version = 1

[groups]
eu = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
      "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]
us-and-territories = ["US", "PR", "GU", "VI", "AS", "MP", "UM"]
embargoed = ["CU", "IR", "KP", "SY"]

[[rule]]
id = "us-2024-sales"
jurisdiction = "us-and-territories"
action = "sell"
effective = 2024-07-20T00:00:00-04:00
message = "No sales."
reference = "89 FR 52434"

[[rule]]
id = "us-2024-updates"
jurisdiction = "us-and-territories"
action = ["update", "download", "activate"]
effective = "2024-09-29T00:00:00-04:00"
message = "No updates."

[[rule]]
id = "embargo"
jurisdiction = ["embargoed", "RU", "BY"]
action = ["sell", "activate", "update", "download"]
effect = "deny"
effective = 1646092800
message = "Not available."

[[rule]]
id = "pr-transition"
jurisdiction = "PR"
action = "download"
effect = "allow"
effective = 2024-09-01T00:00:00Z
end = 2024-12-31T00:00:00-04:00
message = "Transition downloads for Puerto Rico (superseded by the US ban)."

[[rule]]
id = "eu-grace"
jurisdiction = "eu"
action = ["update", "download"]
effect = "allow"
effective = 2024-01-01T00:00:00+01:00
end = 2025-01-01T00:00:00+01:00
message = "Updates continue in the EU."

[[rule]]
id = "de-maintenance"
jurisdiction = "DE"
action = "update"
effective = 2024-11-02T22:00:00Z
end = 2024-11-03T02:00:00Z
message = "Update service paused for maintenance."

[[rule]]
id = "de-later-deny"
jurisdiction = ["DE"]
action = "update"
effective = 2024-11-02T21:00:00-01:00
message = "Later deny, effective at the same instant as de-maintenance."

[[rule]]
id = "ru-early"
jurisdiction = "RU"
action = "sell"
effective = 2022-02-24T00:00:00+03:00
message = "Earliest deny for Russia."
)";

TEST(PolicyTest, ManyRules) {
  Policy p = MustParse(kMany);
  ASSERT_EQ(p.rules().size(), 8u);
  EXPECT_EQ(p.groups().at("eu").size(), 27u);
  EXPECT_EQ(p.rules()[1].effective, kUpdatesBan);
  EXPECT_EQ(p.rules()[1].effective_text, "2024-09-29T00:00:00-04:00");
  EXPECT_EQ(p.rules()[2].effective, 1646092800);
  EXPECT_EQ(p.rules()[2].effective_text, "1646092800");
  EXPECT_EQ(p.rules()[2].countries, (std::set<std::string>{"CU", "IR", "KP", "SY", "RU", "BY"}));
  EXPECT_EQ(p.rules()[3].line, 33);
  ASSERT_TRUE(p.rules()[3].end);
  EXPECT_EQ(*p.rules()[3].end, 1735617600);

  // Strictest wins: PR download is allowed by pr-transition, denied by the US ban.
  Decision d = p.Decide(Action::kDownload, {"PR"}, kUpdatesBan + 10);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule->id, "us-2024-updates");
  // Before the US ban only the exception applies: allowed, and documented.
  d = p.Decide(Action::kDownload, {"PR"}, kUpdatesBan - 10);
  EXPECT_TRUE(d.allowed);
  ASSERT_NE(d.rule, nullptr);
  EXPECT_EQ(d.rule->id, "pr-transition");
  EXPECT_EQ(d.country, "PR");
  // The exception ends (exclusive) and nothing applies in between.
  EXPECT_EQ(p.Decide(Action::kDownload, {"PR"}, *p.rules()[3].end - 1 - 86400 * 200).rule, nullptr);

  // EU: allowed by the grace rule, which ends 2025-01-01 CET.
  const int64_t eu_end = ParseInstant("2025-01-01T00:00:00+01:00").value();
  d = p.Decide(Action::kUpdate, {"FR"}, eu_end - 1);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule->id, "eu-grace");
  d = p.Decide(Action::kUpdate, {"FR"}, eu_end);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule, nullptr);

  // DE maintenance window [22:00Z, 02:00Z): deny beats the EU allow; two
  // deny rules effective at the same instant: the first in the file wins.
  const int64_t m0 = ParseInstant("2024-11-02T22:00:00Z").value();
  d = p.Decide(Action::kUpdate, {"DE"}, m0 - 1);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.rule->id, "eu-grace");
  d = p.Decide(Action::kUpdate, {"DE"}, m0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule->id, "de-maintenance");
  d = p.Decide(Action::kUpdate, {"DE"}, m0 + 4 * 3600);  // maintenance over, the later deny stays
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule->id, "de-later-deny");
  d = p.Decide(Action::kDownload, {"DE"}, m0 + 4 * 3600);
  EXPECT_TRUE(d.allowed);

  // Among applying denies the earliest effective wins, whatever the file order.
  d = p.Decide(Action::kSell, {"RU"}, kUpdatesBan);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule->id, "ru-early");
  d = p.Decide(Action::kSell, {"DE", "US", "RU"}, kUpdatesBan);
  EXPECT_EQ(d.rule->id, "ru-early");
  EXPECT_EQ(d.country, "RU");
  d = p.Decide(Action::kUpdate, {"US", "IR"}, kUpdatesBan);
  EXPECT_EQ(d.rule->id, "embargo");
  EXPECT_EQ(d.country, "IR");
  d = p.Decide(Action::kUpdate, {"FR", "US"}, kUpdatesBan);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule->id, "us-2024-updates");
  EXPECT_EQ(d.country, "US");
}

TEST(PolicyTest, HashOfTheBytes) {
  Policy a = MustParse("version = 1\n");
  Policy b = MustParse("version = 1\n\n");
  EXPECT_EQ(a.source_sha256().size(), 64u);
  EXPECT_NE(a.source_sha256(), b.source_sha256());
  // echo 'version = 1' | sha256sum
  EXPECT_EQ(a.source_sha256(), "dbab12665d98aef021ba64953c61b0ed8a908cfb56a1c01e2fcb4b052b71a2a1");
}

const std::string kHead = "version = 1\n[groups]\nnorth-america = [\"US\", \"CA\"]\n";  // lines 1-3
std::string Rule1(const std::string& body) { return kHead + "[[rule]]\n" + body; }  // body from line 5
const std::string kOk =
    "id = \"r1\"\njurisdiction = \"US\"\naction = \"sell\"\neffective = 2024-07-20T00:00:00-04:00\nmessage = \"m\"\n";

TEST(PolicyTest, ValidationErrors) {
  EXPECT_TRUE(Policy::Parse(Rule1(kOk), "test.toml").ok());
  EXPECT_POLICY_ERROR("version = 1\nx = [1,\n", 2, "");                       // TOML syntax
  EXPECT_POLICY_ERROR("version = 1\nid = \"a\"\nid = \"b\"\n", 3, "");          // TOML duplicate key
  EXPECT_POLICY_ERROR("\n", 1, "missing version");
  EXPECT_POLICY_ERROR("version = 2\n", 1, "unsupported version 2");
  EXPECT_POLICY_ERROR("version = \"1\"\n", 1, "must be an integer");
  EXPECT_POLICY_ERROR("version = 1\n\nrules = []\n", 3, "unknown key \"rules\"");
  EXPECT_POLICY_ERROR("version = 1\n[groups]\nnorth-america = [\"US\"]\nEU = [\"DE\"]\n", 4, "bad group name");
  EXPECT_POLICY_ERROR("version = 1\n[groups]\nus = [\"US\"]\n", 3, "is a country code");
  EXPECT_POLICY_ERROR("version = 1\n[groups]\nnorth-america = [\"US\",\n  \"XX\"]\n", 4, "unknown country code \"XX\"");
  EXPECT_POLICY_ERROR("version = 1\n[groups]\nnorth-america = [\"us\"]\n", 3, "did you mean \"US\"");
  EXPECT_POLICY_ERROR("version = 1\n[groups]\nnorth-america = []\n", 3, "is empty");
  EXPECT_POLICY_ERROR("version = 1\n[groups]\nnorth-america = \"US\"\n", 3, "must be an array");
  EXPECT_POLICY_ERROR("version = 1\n[groups]\nnorth-america = [1]\n", 3, "holds an integer");
  EXPECT_POLICY_ERROR("version = 1\ngroups = 3\n", 2, "groups must be a table");
  EXPECT_POLICY_ERROR("version = 1\nrule = 3\n", 2, "rule must be [[rule]] tables");

  // In a rule (the [[rule]] header is line 4, its body starts at line 5).
  EXPECT_POLICY_ERROR(Rule1(kOk + "efective = 2024-07-20T00:00:00Z\n"), 10, "unknown key \"efective\"");
  EXPECT_POLICY_ERROR(Rule1("jurisdiction = \"US\"\naction = \"sell\"\neffective = 1\nmessage = \"m\"\n"), 4,
                      "rule without an id");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\naction = \"sell\"\neffective = 1\nmessage = \"m\"\n"), 4, "has no jurisdiction");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\njurisdiction = \"US\"\neffective = 1\nmessage = \"m\"\n"), 4, "has no action");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\njurisdiction = \"US\"\naction = \"sell\"\nmessage = \"m\"\n"), 4,
                      "has no effective");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\njurisdiction = \"US\"\naction = \"sell\"\neffective = 1\n"), 4, "has no message");
  EXPECT_POLICY_ERROR(Rule1(kOk + "[[rule]]\n" + kOk), 11, "duplicate rule id \"r1\" (first defined at line 4)");
  EXPECT_POLICY_ERROR(Rule1("id = \"R1\"\n"), 5, "bad rule id");
  EXPECT_POLICY_ERROR(Rule1("id = 7\n"), 5, "rule.id must be a string, not an integer");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\njurisdiction = \"XX\"\n"), 6, "unknown country code or group \"XX\"");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\njurisdiction = [\"US\", \"us\"]\n"), 6, "did you mean \"US\"");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\njurisdiction = \"europe\"\n"), 6, "unknown country code or group \"europe\"");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\njurisdiction = []\n"), 6, "jurisdiction is an empty array");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\njurisdiction = 1\n"), 6, "must be a string or an array of strings");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\naction = [\"sell\", \"buy\"]\n"), 6, "unknown action \"buy\"");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\naction = [\"sell\", 3]\n"), 6, "action holds an integer");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffect = \"block\"\n"), 6, "unknown effect \"block\"");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = 2024-07-20T00:00:00\n"), 6, "needs a time zone");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = \"2024-07-20T00:00:00\"\n"), 6, "needs a time zone");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = 2024-07-20\n"), 6, "a date alone");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = 00:00:00\n"), 6, "a time alone");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = \"2024-02-30T00:00:00Z\"\n"), 6, "day out of range");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = \"2024-13-01T00:00:00Z\"\n"), 6, "month out of range");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = \"2024-07-20T25:00:00Z\"\n"), 6, "hour out of range");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = 2024-02-30T00:00:00Z\n"), 6, "");  // toml++ rejects it
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\neffective = true\n"), 6, "must be a date-time with a zone, not a boolean");
  EXPECT_POLICY_ERROR(Rule1(kOk + "end = 2024-07-20T00:00:00-04:00\n"), 10, "is not after effective");
  EXPECT_POLICY_ERROR(Rule1(kOk + "end = 2024-07-20T03:59:59Z\n"), 10, "is not after effective");
  EXPECT_POLICY_ERROR(Rule1(kOk + "end = 2024-07-20T04:00:00\n"), 10, "needs a time zone");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\nmessage = \"\"\n"), 6, "rule.message is empty");
  EXPECT_POLICY_ERROR(Rule1("id = \"r\"\nreference = [\"a\"]\n"), 6, "rule.reference must be a string, not an array");
  // A later error still loads nothing.
  EXPECT_POLICY_ERROR(Rule1(kOk + "[[rule]]\nid = \"r2\"\n"), 10, "has no jurisdiction");
  EXPECT_TRUE(Policy::Parse(Rule1(kOk + "end = 2024-07-20T04:00:01Z\n"), "test.toml").ok());
}

TEST(PolicyTest, LoadErrors) {
  auto p = Policy::Load("/nonexistent/policy.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("/nonexistent/policy.toml"), std::string::npos);
  std::string path = ::testing::TempDir() + "/vigil-policy-bad.toml";
  std::ofstream(path) << "version = 1\n\n[[rule]]\nid = \"x\"\njurisdiction = \"XX\"\n";
  p = Policy::Load(path);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().rfind(path + ":5: unknown country code or group \"XX\"", 0), 0u) << p.status().message();
}

}  // namespace
}  // namespace vigil::policy
