#include "policy/screening.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace vigil::policy {
namespace {

// Fixtures in the two list formats. The entries are made up for the tests
// (shaped like real entries, with the names the scenario needs); they are
// not copies of the published lists.
constexpr const char* kCslHeader =
    "_id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,start_date,end_date,"
    "standard_order,license_requirement,license_policy,call_sign,vessel_type,gross_tonnage,"
    "gross_registered_tonnage,vessel_flag,vessel_owner,remarks,source_list_url,alt_names,citizenships,"
    "dates_of_birth,nationalities,places_of_birth,source_information_url,ids\r\n";
constexpr const char* kCslRows =
    "a1b2c3,Entity List (EL) - Bureau of Industry and Security,EL-1001,Entity,,AO Kaspersky Lab,,"
    "\"39A/3 Leningradskoe Shosse, Moscow, 125212, RU\",89 FR 79405,2024-09-30,,,For all items subject to the EAR,"
    "Presumption of denial,,,,,,,,https://example.invalid/el,"
    "\"Kaspersky Lab JSC; Kaspersky Laboratory; \xD0\x9B\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x80\xD0\xB0\xD1\x82\xD0\xBE"
    "\xD1\x80\xD0\xB8\xD1\x8F \xD0\x9A\xD0\xB0\xD1\x81\xD0\xBF\xD0\xB5\xD1\x80\xD1\x81\xD0\xBA\xD0\xBE\xD0\xB3\xD0\xBE\""
    ",,,,,https://example.invalid/info,\r\n"
    "d4e5f6,Entity List (EL) - Bureau of Industry and Security,EL-1002,Entity,,\"Kaspersky Labs Limited\",,"
    "\"1 Example Street, London, GB; 2 Example Road, Moscow, RU\",,,,,,,,,,,,,,,,,,,,,\r\n"
    "g7h8i9,Specially Designated Nationals (SDN) - Treasury Department,SDN-5001,Individual,CYBER2,"
    "\"IVANOVA, Anna Sergeyevna\",Chief Legal Officer,\"Moscow, RU\",,,,,,,,,,,,,,,"
    "\"IVANOVA, Anna Sergeevna; \xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD\xD0\xBE\xD0\xB2\xD0\xB0 \xD0\x90\xD0\xBD\xD0\xBD\xD0\xB0\""
    ",Russia,1976-05-14,Russia,\"Moscow, Russia\",,\r\n";

constexpr const char* kOsHeader =
    "id,schema,name,aliases,birth_date,countries,addresses,identifiers,sanctions,phones,emails,program_ids,dataset,"
    "first_seen,last_seen,last_change\n";
constexpr const char* kOsRows =
    // Евгений Касперский
    "fx-person-1,Person,\xD0\x95\xD0\xB2\xD0\xB3\xD0\xB5\xD0\xBD\xD0\xB8\xD0\xB9 \xD0\x9A\xD0\xB0\xD1\x81\xD0\xBF\xD0\xB5"
    "\xD1\x80\xD1\x81\xD0\xBA\xD0\xB8\xD0\xB9,\"Eugene Kaspersky;Yevgeny Kaspersky\",1965-10-04,ru,,,,,,,"
    "test_fixture,2024-06-12,2024-09-30,2024-06-12\n"
    "fx-company-2,Company,\"OOO \xC2\xABSecure Code Technologies\xC2\xBB\",\"Secure Code Tech LLC\",,ru;kz,"
    "\"Moscow\",\"INN: 7700000000\",,,,,test_fixture,2024-06-12,2024-09-30,2024-06-12\n"
    "fx-person-3,Person,Ivan Petrov,,1970-01-01,ru,,,,,,,test_fixture,2024-06-12,2024-09-30,\n"
    "fx-person-4,Person,\"J\xC3\xBCrgen M\xC3\xBCller-L\xC3\xBC" "densch\xC3\xA9id\",,,de,,,,,,,test_fixture,2024-06-12,2024-09-30,\n"
    "fx-company-5,Company,\"\xCE\x91\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1\xCF\x8A\xCE\xBA\xCE\xAE \xCE\x9D\xCE\xB1\xCF\x85"
    "\xCF\x84\xCE\xB9\xCE\xBB\xCE\xB9\xCE\xB1\xCE\xBA\xCE\xAE \xCE\x91.\xCE\x95.\",,,gr,,,,,,,test_fixture,,,\n";

class ScreeningTest : public ::testing::Test {
 protected:
  static std::string Write(const std::string& name, const std::string& text) {
    // One name per process: ctest runs the tests of this fixture in parallel.
    std::string path = ::testing::TempDir() + "/vigil-screening-" + std::to_string(getpid()) + "-" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  void SetUp() override {
    csl_path_ = Write("csl.csv", std::string("\xEF\xBB\xBF") + kCslHeader + kCslRows);
    os_path_ = Write("os.csv", std::string(kOsHeader) + kOsRows);
    auto csl = LoadDeniedParties(csl_path_);
    ASSERT_TRUE(csl.ok()) << csl.status().message();
    auto os = LoadDeniedParties(os_path_);
    ASSERT_TRUE(os.ok()) << os.status().message();
    csl_ = *csl;
    os_ = *os;
    screener_.Add(csl_);
    screener_.Add(os_);
  }
  std::string Match(std::string_view query) {
    auto m = screener_.Screen(query, Screener::kDefaultThreshold);
    return m ? m->party->id : "";
  }
  std::string csl_path_, os_path_;
  std::vector<Party> csl_, os_;
  Screener screener_;
};

TEST_F(ScreeningTest, LoadsTheConsolidatedScreeningList) {
  ASSERT_EQ(csl_.size(), 3u);
  const Party& lab = csl_[0];
  EXPECT_EQ(lab.id, "EL-1001");
  EXPECT_EQ(lab.name, "AO Kaspersky Lab");
  EXPECT_EQ(lab.aliases.size(), 3u);
  EXPECT_EQ(lab.aliases[1], "Kaspersky Laboratory");
  EXPECT_EQ(lab.countries, std::vector<std::string>{"RU"});
  EXPECT_EQ(lab.source, "Entity List (EL) - Bureau of Industry and Security");
  EXPECT_EQ(lab.list_file, csl_path_);
  EXPECT_EQ(csl_[1].countries, (std::vector<std::string>{"GB", "RU"}));
  EXPECT_EQ(csl_[2].name, "IVANOVA, Anna Sergeyevna");
  EXPECT_EQ(csl_[2].countries, (std::vector<std::string>{"RU", "Russia"}));
  EXPECT_EQ(csl_[2].source, "Specially Designated Nationals (SDN) - Treasury Department");
}

TEST_F(ScreeningTest, LoadsOpenSanctionsSimple) {
  ASSERT_EQ(os_.size(), 5u);
  EXPECT_EQ(os_[0].id, "fx-person-1");
  EXPECT_EQ(os_[0].aliases, (std::vector<std::string>{"Eugene Kaspersky", "Yevgeny Kaspersky"}));
  EXPECT_EQ(os_[0].countries, std::vector<std::string>{"ru"});
  EXPECT_EQ(os_[0].source, "test_fixture");
  EXPECT_EQ(os_[1].countries, (std::vector<std::string>{"ru", "kz"}));
  EXPECT_TRUE(os_[2].aliases.empty());
  EXPECT_EQ(screener_.size(), 8u);
}

TEST(NormaliseNameTest, Folding) {
  EXPECT_EQ(NormaliseName("AO Kaspersky Lab"), "kaspersky lab");
  EXPECT_EQ(NormaliseName("  Kaspersky,  Eugene  "), "eugene kaspersky");
  EXPECT_EQ(NormaliseName("Eugene KASPERSKY"), "eugene kaspersky");
  EXPECT_EQ(NormaliseName("\xD0\x95\xD0\xB2\xD0\xB3\xD0\xB5\xD0\xBD\xD0\xB8\xD0\xB9 \xD0\x9A\xD0\xB0\xD1\x81\xD0\xBF"
                          "\xD0\xB5\xD1\x80\xD1\x81\xD0\xBA\xD0\xB8\xD0\xB9"),
            "evgenii kasperskii");  // Евгений Касперский
  EXPECT_EQ(NormaliseName("\xD0\x9E\xD0\x9E\xD0\x9E \xD0\xA9\xD0\xB8\xD1\x82 \xD0\x9F\xD0\xBB\xD1\x8E\xD1\x81"),
            "plius shchit");  // ООО Щит Плюс
  EXPECT_EQ(NormaliseName("\xD0\xA5\xD0\xB0\xD1\x80\xD1\x8C\xD0\xBA\xD0\xBE\xD0\xB2 \xD0\x86\xD0\xB3\xD0\xBE\xD1\x80"),
            "igor kharkov");  // Харьков Ігор
  EXPECT_EQ(NormaliseName("J\xC3\xBCrgen M\xC3\xBCller-L\xC3\xBC" "densch\xC3\xA9id GmbH & Co. KG"),
            "jurgen ludenscheid muller");
  EXPECT_EQ(NormaliseName("Stra\xC3\x9F" "e \xC3\x98resund \xC5\x81\xC3\xB3\xC4\x91\xC5\xBA \xC3\x86r\xC3\xB8"),
            "aero lodz oresund strasse");
  EXPECT_EQ(NormaliseName("O'Brien \xE2\x80\x94 O\xE2\x80\x99Neill"), "obrien oneill");
  EXPECT_EQ(NormaliseName("Jos\x65\xCC\x81 (the) \"Company\", Inc."), "jose");  // decomposed é
  EXPECT_EQ(NormaliseName("\xCE\x91\xCE\xB8\xCE\xAE\xCE\xBD\xCE\xB1 \xCE\xA0\xCE\xBF\xCF\x85\xCE\xBB\xCE\xBF\xCF\x82"),
            "athina poulos");  // Αθήνα Πουλος
  // Αυγή Ευθυμίου Αγγελόπουλος Α.Ε.
  EXPECT_EQ(NormaliseName("\xCE\x91\xCF\x85\xCE\xB3\xCE\xAE \xCE\x95\xCF\x85\xCE\xB8\xCF\x85\xCE\xBC\xCE\xAF"
                          "\xCE\xBF\xCF\x85 \xCE\x91\xCE\xB3\xCE\xB3\xCE\xB5\xCE\xBB\xCF\x8C\xCF\x80\xCE\xBF"
                          "\xCF\x85\xCE\xBB\xCE\xBF\xCF\x82 \xCE\x91.\xCE\x95."),
            "angelopoulos avgi efthymiou");
  EXPECT_EQ(NormaliseName("U.S.A. Trading S. A."), "trading usa");
  EXPECT_EQ(NormaliseName("V. V. Petrov"), "petrov vv");
  EXPECT_EQ(NormaliseName("e zz a"), "a e zz");
  EXPECT_EQ(NormaliseName("a e zz"), "a e zz");  // idempotent: spaces never join
  EXPECT_EQ(NormaliseName("\xE5\x8C\x97\xE4\xBA\xAC Ltd"), "\xE5\x8C\x97\xE4\xBA\xAC");  // other scripts kept
  EXPECT_EQ(NormaliseName("LLC Ltd. Inc"), "");
  EXPECT_EQ(NormaliseName("xy\xFF\xC3" "cd"), "cd xy");  // invalid UTF-8 separates
  EXPECT_EQ(NormaliseName(""), "");
}

TEST(JaroWinklerTest, KnownValues) {
  EXPECT_NEAR(JaroWinkler("MARTHA", "MARHTA"), 0.9611, 5e-5);
  EXPECT_NEAR(JaroWinkler("DWAYNE", "DUANE"), 0.84, 5e-5);
  EXPECT_NEAR(JaroWinkler("DIXON", "DICKSONX"), 0.8133, 5e-5);
  EXPECT_NEAR(JaroWinkler("DICKSONX", "DIXON"), 0.8133, 5e-5);
  EXPECT_DOUBLE_EQ(JaroWinkler("kaspersky", "kaspersky"), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("", ""), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("a", ""), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "xyz"), 0.0);
  std::string long_a(1000, 'a'), long_b(999, 'a');
  EXPECT_GT(JaroWinkler(long_a, long_b), 0.99);
}

TEST_F(ScreeningTest, Matches) {
  EXPECT_EQ(Match("AO Kaspersky Lab"), "EL-1001");
  EXPECT_EQ(Match("kaspersky lab"), "EL-1001");
  EXPECT_EQ(Match("KASPERSKY LAB, JSC"), "EL-1001");
  EXPECT_EQ(Match("Kaspersky Laboratory Ltd."), "EL-1001");
  EXPECT_EQ(Match("Kaspersky Labs"), "EL-1002");
  EXPECT_EQ(Match("Kaspersky"), "EL-1001");  // the company's distinctive name alone
  // Лаборатория Касперского, by its alias
  auto m = screener_.Screen("\xD0\x9B\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x80\xD0\xB0\xD1\x82\xD0\xBE\xD1\x80\xD0\xB8\xD1\x8F "
                            "\xD0\x9A\xD0\xB0\xD1\x81\xD0\xBF\xD0\xB5\xD1\x80\xD1\x81\xD0\xBA\xD0\xBE\xD0\xB3\xD0\xBE",
                            0.92);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->party->id, "EL-1001");
  EXPECT_DOUBLE_EQ(m->score, 1.0);
  EXPECT_EQ(m->matched_name, csl_[0].aliases[2]);
  EXPECT_EQ(m->party->list_file, csl_path_);

  // People: order, case, punctuation, transliteration, aliases.
  m = screener_.Screen("Eugene Kaspersky", 0.92);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->party->id, "fx-person-1");
  EXPECT_EQ(m->matched_name, "Eugene Kaspersky");
  EXPECT_EQ(Match("Kaspersky Eugene"), "fx-person-1");
  EXPECT_EQ(Match("KASPERSKY, Eugene"), "fx-person-1");
  EXPECT_EQ(Match("Evgenii Kasperskii"), "fx-person-1");
  EXPECT_EQ(Match("Kasperskii, Evgenii"), "fx-person-1");
  EXPECT_EQ(Match("Evgeny Kaspersky"), "fx-person-1");
  EXPECT_EQ(Match("Yevgeniy Kaspersky"), "fx-person-1");
  EXPECT_EQ(Match("Anna Sergeevna Ivanova"), "SDN-5001");
  EXPECT_EQ(Match("Ivanova Anna Sergeyevna"), "SDN-5001");
  EXPECT_EQ(Match("\xD0\x90\xD0\xBD\xD0\xBD\xD0\xB0 \xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD\xD0\xBE\xD0\xB2\xD0\xB0"), "SDN-5001");
  EXPECT_EQ(Match("Jurgen Muller-Ludenscheid"), "fx-person-4");
  EXPECT_EQ(Match("JURGEN MULLER LUDENSCHEID"), "fx-person-4");
  EXPECT_EQ(Match("Secure Code Technologies"), "fx-company-2");
  EXPECT_EQ(Match("\"Secure-Code Technologies\" OOO"), "fx-company-2");
  EXPECT_EQ(Match("Athinaiki Naftiliaki"), "fx-company-5");
  EXPECT_EQ(Match("Ivan Petrov"), "fx-person-3");
  EXPECT_EQ(Match("Petrov, Ivan"), "fx-person-3");
}

// German names lose their umlauts two ways: dropped dots (Muller) or an
// added e (Mueller). Both spellings meet the umlaut and each other through it.
TEST(Screening, GermanUmlautSpellings) {
  EXPECT_EQ(NormaliseName("J\xC3\xBCrgen M\xC3\xBCller", NameFold::kGermanUmlauts), "juergen mueller");
  EXPECT_EQ(NormaliseName("J\xC3\xBCrgen M\xC3\xBCller"), "jurgen muller");
  EXPECT_EQ(NormaliseName("Stra\xC3\x9F" "e", NameFold::kGermanUmlauts), "strasse");
  Screener s;
  std::vector<Party> parties(3);
  parties[0] = {"p-umlaut", "J\xC3\xBCrgen M\xC3\xBCller-L\xC3\xBC" "denscheid", {}, {"DE"}, "test", "t.csv"};
  parties[1] = {"p-ascii", "Hans Schroeder", {"H. Schroeder"}, {"DE"}, "test", "t.csv"};
  parties[2] = {"p-other", "Bjoern Kaestner", {}, {"DE"}, "test", "t.csv"};
  s.Add(std::move(parties));
  auto id = [&](const char* q) {
    auto m = s.Screen(q, Screener::kDefaultThreshold);
    return m ? m->party->id + "@" + std::to_string(m->score).substr(0, 4) : std::string("none");
  };
  // The list has the umlaut; queries spell it every way.
  EXPECT_EQ(id("Juergen Mueller-Luedenscheid"), "p-umlaut@1.00");
  EXPECT_EQ(id("Jurgen Muller-Ludenscheid"), "p-umlaut@1.00");
  EXPECT_EQ(id("Mueller-Luedenscheid, Juergen"), "p-umlaut@1.00");
  // The list spells it out; the query has the umlaut.
  EXPECT_EQ(id("Hans Schr\xC3\xB6" "der"), "p-ascii@1.00");
  EXPECT_EQ(id("Bj\xC3\xB6rn K\xC3\xA4stner"), "p-other@1.00");
  // Names that only look alike still do not match.
  EXPECT_EQ(id("Hans Schneider"), "none");
  EXPECT_EQ(id("J\xC3\xBCrgen Meier"), "none");
}

TEST_F(ScreeningTest, NonMatches) {
  for (const char* q : {"Kasparov Software", "Kaspar Labs", "Casper Security Lab", "Eugene", "Ivan", "Anna",
                        "Ivan Sidorov", "Petra Ivanova", "Secure Technologies", "Code Technologies", "Lab", "",
                        "LLC", "Acme Antivirus GmbH"}) {
    auto m = screener_.Screen(q, Screener::kDefaultThreshold);
    EXPECT_FALSE(m) << q << " matched " << (m ? m->matched_name : "") << " at " << (m ? m->score : 0);
  }
}

TEST_F(ScreeningTest, ThresholdAndScore) {
  auto m = screener_.Screen("Kaspersky Labz", 0.5);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->party->id, "EL-1001");  // "kaspersky lab" beats "kaspersky labs"
  EXPECT_LT(m->score, 1.0);
  EXPECT_NEAR(m->score, JaroWinkler("kaspersky labz", "kaspersky lab"), 1e-12);
  EXPECT_FALSE(screener_.Screen("Kaspersky Labz", 1.0));
  EXPECT_TRUE(screener_.Screen("Kaspersky Labs", 1.0));
}

TEST_F(ScreeningTest, LoaderErrors) {
  auto r = LoadDeniedParties(Write("unknown.csv", "name,country\nAcme,RU\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown.csv:1: unrecognised header"), std::string::npos);
  EXPECT_NE(r.status().message().find("Consolidated Screening List"), std::string::npos);
  EXPECT_NE(r.status().message().find("OpenSanctions"), std::string::npos);

  std::string os = std::string(kOsHeader) + kOsRows + "\nfx-9,Person,Short Row,,ru\n";
  r = LoadDeniedParties(Write("short.csv", os));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("short.csv:8: row has 5 fields, the header has 16"), std::string::npos)
      << r.status().message();

  std::string csl = std::string(kCslHeader) + kCslRows + "x,EL,1,Entity,,\"Broken \"quote,,,,,,,,,,,,,,,,,,,,,,,\r\n";
  r = LoadDeniedParties(Write("broken.csv", csl));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("broken.csv:5: unexpected character after a closing quote"), std::string::npos)
      << r.status().message();

  r = LoadDeniedParties(Write("empty.csv", ""));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("empty.csv: empty list"), std::string::npos);

  r = LoadDeniedParties("/nonexistent/list.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/list.csv"), std::string::npos);

  // Header only: a valid, empty list.
  auto only = ParseDeniedParties(kOsHeader, "h.csv");
  ASSERT_TRUE(only.ok());
  EXPECT_TRUE(only->empty());
}

TEST(ScreenerTest, EmptyAndStablePointers) {
  Screener s;
  EXPECT_FALSE(s.Screen("anything", 0.0));
  Party a;
  a.id = "1";
  a.name = "First Party";
  s.Add({a});
  const Party* first = s.Screen("First Party", 0.92)->party;
  std::vector<Party> many(1000);
  for (size_t i = 0; i < many.size(); ++i) many[i].name = "Party Number " + std::to_string(i);
  s.Add(std::move(many));
  EXPECT_EQ(s.Screen("First Party", 0.92)->party, first);
  EXPECT_EQ(first->id, "1");
  EXPECT_EQ(s.size(), 1001u);
}

}  // namespace
}  // namespace vigil::policy
