#include "policy/csv.h"

#include <gtest/gtest.h>

namespace vigil::policy {
namespace {

using Rows = std::vector<std::vector<std::string>>;

Rows MustParse(std::string_view text) {
  auto r = ParseCsv(text, "list.csv");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Rows{};
}

std::string ErrorOf(std::string_view text) {
  auto r = ParseCsv(text, "list.csv");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(CsvTest, PlainQuotedAndEscaped) {
  EXPECT_EQ(MustParse("a,b,c\n1,2,3\n"), (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(MustParse("a,b,c\r\n1,2,3\r\n"), (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(MustParse("a,b,c\n1,2,3"), (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(MustParse("\"AO Kaspersky Lab\",\"Moscow, Russia\",\"He said \"\"no\"\"\"\n"),
            (Rows{{"AO Kaspersky Lab", "Moscow, Russia", "He said \"no\""}}));
  EXPECT_EQ(MustParse(",,\n"), (Rows{{"", "", ""}}));
  EXPECT_EQ(MustParse("a,\"\"\n"), (Rows{{"a", ""}}));
  EXPECT_EQ(MustParse(""), Rows{});
  EXPECT_EQ(MustParse("\xEF\xBB\xBFid,name\n"), (Rows{{"id", "name"}}));
  // Blank lines are skipped; a CR inside an unquoted field is data.
  EXPECT_EQ(MustParse("a\n\n\r\nb\n\n"), (Rows{{"a"}, {"b"}}));
  EXPECT_EQ(MustParse("a\rb,c\n"), (Rows{{"a\rb", "c"}}));
  EXPECT_EQ(MustParse("\xD0\x9A\xD0\xB0\xD1\x81,\xC3\xA9\n"), (Rows{{"\xD0\x9A\xD0\xB0\xD1\x81", "\xC3\xA9"}}));
}

TEST(CsvTest, EmbeddedNewlinesAndLineNumbers) {
  auto r = ParseCsvRecords("h1,h2\n\"line one\nline two\r\nline three\",x\n\nlast,row\n", "list.csv");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].line, 1);
  EXPECT_EQ((*r)[1].line, 2);
  EXPECT_EQ((*r)[1].fields[0], "line one\nline two\r\nline three");
  EXPECT_EQ((*r)[2].line, 6);
  EXPECT_EQ((*r)[2].fields, (std::vector<std::string>{"last", "row"}));
}

TEST(CsvTest, Errors) {
  EXPECT_EQ(ErrorOf("a,b\n\"open\nstill open,x\n"), "list.csv:2: unterminated quoted field");
  EXPECT_EQ(ErrorOf("a,b\n\"closed\"junk,x\n"), "list.csv:2: unexpected character after a closing quote");
  EXPECT_EQ(ErrorOf("a,b\n\"multi\nline\" x\n"), "list.csv:3: unexpected character after a closing quote");
  EXPECT_EQ(ErrorOf("a,b\nab\"c,d\n"), "list.csv:2: quote inside an unquoted field (quote the whole field)");
  EXPECT_EQ(ErrorOf(std::string_view("a,b\nx\0y,z\n", 10)), "list.csv:2: NUL byte");
  EXPECT_EQ(ErrorOf(std::string_view("a,b\n\"x\0\",z\n", 11)), "list.csv:2: NUL byte");
  EXPECT_EQ(ErrorOf("a\n" + std::string(kMaxCsvField + 1, 'x') + "\n"), "list.csv:2: field longer than 1 MiB");
  EXPECT_EQ(ErrorOf("a\n\"" + std::string(kMaxCsvField + 1, 'x') + "\"\n"), "list.csv:2: field longer than 1 MiB");
  EXPECT_TRUE(ParseCsv("a\n" + std::string(kMaxCsvField, 'x') + "\n", "list.csv").ok());
}

}  // namespace
}  // namespace vigil::policy
