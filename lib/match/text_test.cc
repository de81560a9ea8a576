// Text detection and normalisation as clamscan does them. The "is text"
// answers were checked against clamscan 1.4.6: a target-7 signature
// "7a7a7a71" ("zzzq") matched the file exactly when clamscan took it for text.
#include "match/text.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::match {
namespace {

std::string Bytes(const char* s, size_t n) { return std::string(s, n); }

TEST(Text, DetectionAgreesWithClamscan) {
  struct Case {
    std::string data;
    bool text;
    const char* what;
  };
  std::string utf16le("\xff\xfe", 2);
  for (char c : std::string("Some text zzzq here\n")) utf16le += std::string{c, '\0'};
  const Case cases[] = {
      {"Some plain text zzzq here\n", true, "ASCII"},
      {Bytes("Some plain\0text zzzq here\n", 26), true, "one NUL: UTF-16 to clamscan"},
      {Bytes("Some plain\0\0text zzzq here\n", 27), false, "two NULs at an even offset"},
      {Bytes("Some plai\0\0ntext zzzq here\n", 27), true, "two NULs at an odd offset"},
      {"Some plain\x7ftext zzzq here\n", true, "DEL"},
      {Bytes("Some\x01pla\0\0text zzzq here\n", 26), false, "control byte, then a NUL pair"},
      {"Some\x1bplain\x0ctext zzzq here\n", true, "ESC and form feed"},
      {"Some pl\xc3\xa4in t\xe2\x82\xacxt zzzq here\n", true, "UTF-8"},
      {"Some pl\xe4in text zzzq here\n", true, "Latin-1 bytes"},
      {utf16le, true, "UTF-16LE with a byte-order mark"},
      {"MZ plain text zzzq here\n", false, "executable magic"},
      {"From: someone zzzq here\n", false, "mail header"},
      {std::string(1030, 'a') + Bytes("\0\0 zzzq here\n", 13), true, "NUL pair after 1024 bytes"},
      {std::string(1000, 'a') + Bytes("\0\0 zzzq here\n", 13), false, "NUL pair in the first 1024 bytes"},
  };
  for (const Case& c : cases) EXPECT_EQ(LooksLikeText(c.data), c.text) << c.what;
}

TEST(Text, Normalisation) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"Hello World", "hello world"},
      {"HELLO   \t\r\n World!!\n", "hello world!! "},
      {"  HELLO", " hello"},                          // leading space kept, collapsed
      {"Hel\x01lo W\x80orld\xff", "hello world"},     // control bytes and 80-ff removed
      {"Hello \x01 World", "hello world"},            // removed bytes do not end a space run
      {"a\x0b\x0c" "b", "a b"},                        // 09-0d are all whitespace
      {"~\x7f{}", "~\x7f{}"},                         // 21-7f otherwise unchanged
      {Bytes("A\0B\0C\0", 6), "abc"},                  // UTF-16 text loses its NULs
  };
  std::string out;
  for (const Case& c : cases) {
    NormalizeText(c.in, &out);
    EXPECT_EQ(out, c.out) << c.in;
  }
}

}  // namespace
}  // namespace vigil::match
