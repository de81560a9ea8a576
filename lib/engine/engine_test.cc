#include "vigil/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace vigil {
namespace {

std::shared_ptr<const Engine> Load(std::string_view ndb) {
  auto e = LoadEngineFromText("test.ndb", ndb);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return e.ok() ? std::move(e).value() : nullptr;
}

ScanResult Scan(const std::shared_ptr<const Engine>& engine, const std::string& data) {
  Scanner s(engine);
  return s.ScanBuffer(data, ScanOptions{});
}

// A signature with no literal worth prefiltering on and a long bounded gap:
// Hyperscan used to take minutes compiling the gap as a bounded repeat (a
// fuzzer-found input). The gap is now widened in the prefilter expression
// and enforced by verification.
TEST(EngineRegex, LongBoundedGapCompilesQuicklyAndIsStillEnforced) {
  auto t0 = std::chrono::steady_clock::now();
  auto engine = Load(
      "Weak.Gap:0:*:0?a04?7d?3a?{2}0?a04?7d?3a?{2}0400*ffff{-8100}b80000\n");
  ASSERT_TRUE(engine);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 20.0);  // was a libFuzzer timeout; a generous bound for noisy sanitizer runs

  std::string head = std::string("\x0a\xa0\x47\x7d\x13\xa5") + "xy" + "\x0a\xa0\x47\x7d\x13\xa5" +
                     "xy" + std::string("\x04\x00", 2) + "zz";
  std::string near = head + "\xff\xff" + std::string(8000, 'a') + std::string("\xb8\x00\x00", 3);
  std::string far = head + "\xff\xff" + std::string(8200, 'a') + std::string("\xb8\x00\x00", 3);
  EXPECT_EQ(Scan(engine, near).verdict, Verdict::kInfected);
  EXPECT_EQ(Scan(engine, far).verdict, Verdict::kClean);
}

// A widened expression's first match can fail verification while a later
// one succeeds: every match must reach the verifier, not only the first.
TEST(EngineRegex, WidenedExpressionReportsLaterMatches) {
  auto engine = Load("Weak.Later:0:*:0000{-300}ffff\n");
  ASSERT_TRUE(engine);
  std::string first_fails = std::string("\x00\x00", 2) + std::string(400, 'a') + "\xff\xff";
  EXPECT_EQ(Scan(engine, first_fails).verdict, Verdict::kClean);
  std::string later_matches = first_fails + std::string(50, 'b') + std::string("\x00\x00", 2) +
                              "cc" + "\xff\xff";
  auto r = Scan(engine, later_matches);
  EXPECT_EQ(r.verdict, Verdict::kInfected);
  ASSERT_EQ(r.names.size(), 1u);
  EXPECT_EQ(r.names[0], "Weak.Later");
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

std::string Hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) { out += d[c >> 4]; out += d[c & 15]; }
  return out;
}

ScanResult ScanAll(const std::shared_ptr<const Engine>& engine, const std::string& data) {
  Scanner s(engine);
  ScanOptions o;
  o.all_match = true;
  return s.ScanBuffer(data, o);
}

// File-type targets apply to files of that type only, and their hits come
// first, by position, as clamscan reports them (checked against clamscan
// 1.4.6: docs/CLAMAV-COMPAT.md section 15).
TEST(EngineTargets, TypedSignaturesApplyToTheirFileTypeAndComeFirst) {
  const std::string a = "\x8a\x1b\x2c\x3d\x4e\x5f\x60\x71\x82\x93\xa4\xb5";
  const std::string b = "\x1a\x2b\x3c\x4d\x5e\x6f\x70\x81\x92\xa3\xb4\xc5";
  auto engine = Load("Gen:0:*:" + Hex(a) + "\nElf:6:*:" + Hex(b) + "\nPe:1:*:" + Hex(b) +
                     "\nElfWild:6:*:" + Hex(b.substr(0, 4)) + "??" + Hex(b.substr(5)) + "\n");
  ASSERT_TRUE(engine);
  std::string body = std::string(60, '\0') + a + std::string(400, '\0') + b + std::string(20, '\0');
  auto elf = ScanAll(engine, "\x7f" "ELF" + body);
  EXPECT_EQ(elf.names, (std::vector<std::string>{"ElfWild", "Elf", "Gen"}));
  EXPECT_EQ(Scan(engine, "\x7f" "ELF" + body).names, (std::vector<std::string>{"ElfWild"}));
  auto pe = ScanAll(engine, "MZ" + body);
  EXPECT_EQ(pe.names, (std::vector<std::string>{"Pe", "Gen"}));
  auto other = ScanAll(engine, "\x01\x02" + body);
  EXPECT_EQ(other.names, (std::vector<std::string>{"Gen"}));
  // Typed signatures alone: nothing on an untyped file.
  EXPECT_EQ(Scan(engine, "\x01\x02" + std::string(60, '\0') + b + "zz").verdict, Verdict::kClean);
}

// Mail (type 4), as clamscan 1.4.6 reports it (docs/CLAMAV-COMPAT.md
// section 15; tests/e2e/mail_targets_test.py compares with clamscan itself).
TEST(EngineTargets, MailSignaturesByHowTheMailIsRecognised) {
  auto engine = Load("Mail4:4:*:" + Hex("vigilmailprobe01") + "\nPlain0:0:*:" + Hex("secondprobe02xyz") +
                     "\nText7:7:*:" + Hex("thirdprobe03abcd") + "\n");
  ASSERT_TRUE(engine);
  auto first = [&](const std::string& s) {
    auto r = Scan(engine, s);
    return r.names.empty() ? std::string() : r.names.front();
  };
  // Recognised early: the mail signature first, wherever it is.
  EXPECT_EQ(first("Subject: x\n\nbody secondprobe02xyz then vigilmailprobe01\n"), "Mail4");
  // ... and not a text file: no target-7 pass over it.
  auto early = ScanAll(engine, "Subject: x\n\nthirdprobe03abcd vigilmailprobe01\n");
  EXPECT_EQ(early.names.front(), "Mail4");
  // Recognised late: everything else first, the mail signature last.
  EXPECT_EQ(first("From: x\n\nbody vigilmailprobe01 then secondprobe02xyz\n"), "Plain0");
  EXPECT_EQ(first("Received: x\n\nbody thirdprobe03abcd then vigilmailprobe01\n"), "Text7");
  EXPECT_EQ(first("Received: x\n\nbody vigilmailprobe01 only\n"), "Mail4");
  auto late = ScanAll(engine, "From x\n\nvigilmailprobe01 secondprobe02xyz\n");
  EXPECT_EQ(late.names, (std::vector<std::string>{"Plain0", "Mail4"}));
  // Not a mail: the mail signature never applies.
  EXPECT_EQ(first("hello\nSubject: x\n\nvigilmailprobe01\n"), "");
  EXPECT_EQ(first("subject: x\n\nvigilmailprobe01\n"), "");
}

}  // namespace
}  // namespace vigil
