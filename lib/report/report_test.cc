// JSON escaping of paths and names (which are bytes, not necessarily UTF-8)
// and the JSON printer's lines.
#include "report/report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace vigil::report {
namespace {

struct Case {
  std::string in;
  std::string want;
};

TEST(JsonEscape, Table) {
  const Case cases[] = {
      {"", ""},
      {"/home/user/file.txt", "/home/user/file.txt"},
      {"a\"b\\c", "a\\\"b\\\\c"},
      {"line1\nline2\r\n\ttab", "line1\\nline2\\r\\n\\ttab"},
      {std::string("nul\0x", 5), "nul\\u0000x"},
      {"\x01\x1f\x7f", "\\u0001\\u001f\x7f"},
      {"/", "/"},
      // Valid UTF-8 passes through unchanged: 2, 3 and 4 bytes.
      {"caf\xc3\xa9", "caf\xc3\xa9"},
      {"\xe2\x82\xac 5", "\xe2\x82\xac 5"},
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
      {"\xef\xbf\xbf", "\xef\xbf\xbf"},            // U+FFFF
      {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},    // U+10FFFF
      {"\xed\x9f\xbf", "\xed\x9f\xbf"},            // U+D7FF, just below the surrogates
      // Bytes that are not UTF-8 become \u00XX, one per byte.
      {"\xff", "\\u00ff"},
      {"\x80", "\\u0080"},
      {"a\xc3", "a\\u00c3"},                        // truncated sequence at the end
      {"\xc3(", "\\u00c3("},                        // bad continuation byte
      {"\xe2\x82", "\\u00e2\\u0082"},
      {"\xf0\x9f\x98", "\\u00f0\\u009f\\u0098"},
      {"latin1 caf\xe9.txt", "latin1 caf\\u00e9.txt"},
      // Well-formed UTF-8 only: no overlong forms, surrogates or code points
      // beyond U+10FFFF (a JSON parser would reject or mangle them).
      {"\xc0\xaf", "\\u00c0\\u00af"},               // overlong '/'
      {"\xc1\xbf", "\\u00c1\\u00bf"},
      {"\xe0\x80\xaf", "\\u00e0\\u0080\\u00af"},    // overlong, 3 bytes
      {"\xf0\x80\x80\xaf", "\\u00f0\\u0080\\u0080\\u00af"},
      {"\xed\xa0\x80", "\\u00ed\\u00a0\\u0080"},    // U+D800, a surrogate
      {"\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080"},  // U+110000
      {"\xf5\x80\x80\x80", "\\u00f5\\u0080\\u0080\\u0080"},
      {"\xf8\x88\x80\x80\x80", "\\u00f8\\u0088\\u0080\\u0080\\u0080"},
  };
  for (const auto& c : cases) EXPECT_EQ(JsonEscape(c.in), c.want) << testing::PrintToString(c.in);
}

TEST(JsonEscape, OutputIsAlwaysPrintableAsciiOrValidUtf8) {
  // Every byte value, alone and after a lead byte.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 17) {
      std::string s{static_cast<char>(a), static_cast<char>(b)};
      std::string out = JsonEscape(s);
      for (size_t i = 0; i < out.size(); ++i) {
        auto c = static_cast<unsigned char>(out[i]);
        ASSERT_GE(c, 0x20) << a << "," << b;
        if (c == '"') ASSERT_TRUE(i > 0 && out[i - 1] == '\\') << a << "," << b;
      }
    }
  }
}

// Captures what a printer writes.
class Capture {
 public:
  Capture() : f_(std::tmpfile()) {}
  ~Capture() { std::fclose(f_); }
  FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    std::rewind(f_);
    std::string s;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f_)) > 0) s.append(buf, n);
    return s;
  }

 private:
  FILE* f_;
};

TEST(JsonPrinter, OneLinePerFileWhateverThePath) {
  Capture cap;
  ASSERT_NE(cap.file(), nullptr);
  auto p = MakeJsonPrinter(cap.file());
  ScanResult infected;
  infected.verdict = Verdict::kInfected;
  infected.names = {"Eicar-Test-Signature", "Sig\"Quoted"};
  infected.size = 68;
  p->File("/tmp/new\nline/caf\xe9\x01.txt", infected, 0.5);
  ScanResult err;
  err.verdict = Verdict::kError;
  err.error = Status::IoError("Permission denied");
  err.error_text = "Permission denied";
  p->File("/tmp/x\"y", err, 0);
  p->Finish(Summary{}, false);
  std::string out = cap.text();
  ASSERT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  std::string first = out.substr(0, out.find('\n'));
  EXPECT_EQ(first.rfind("{\"path\":\"/tmp/new\\nline/caf\\u00e9\\u0001.txt\",\"verdict\":\"infected\","
                        "\"signatures\":[\"Eicar-Test-Signature\",\"Sig\\\"Quoted\"],\"size\":68,",
                        0),
            0u)
      << first;
  std::string second = out.substr(out.find('\n') + 1);
  EXPECT_EQ(second.rfind("{\"path\":\"/tmp/x\\\"y\",\"verdict\":\"error\"", 0), 0u) << second;
  EXPECT_NE(second.find("\"error\":\"Permission denied\""), std::string::npos) << second;
}

TEST(TextPrinter, ClamscanLines) {
  Capture cap;
  auto p = MakeTextPrinter(cap.file(), TextOptions{});
  ScanResult clean;
  ScanResult infected;
  infected.verdict = Verdict::kInfected;
  infected.names = {"A.UNOFFICIAL", "B"};
  p->File("/d/clean", clean, 0);
  p->File("/d/bad", infected, 0);
  p->Finish(Summary{}, false);
  EXPECT_EQ(cap.text(), "/d/clean: OK\n/d/bad: A.UNOFFICIAL FOUND\n/d/bad: B FOUND\n");

  Capture quiet;
  auto q = MakeTextPrinter(quiet.file(), TextOptions{.infected_only = true});
  q->File("/d/clean", clean, 0);
  q->File("/d/bad", infected, 0);
  q->Finish(Summary{}, false);
  EXPECT_EQ(quiet.text(), "/d/bad: A.UNOFFICIAL FOUND\n/d/bad: B FOUND\n");
}

}  // namespace
}  // namespace vigil::report
