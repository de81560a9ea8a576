#include "match/target.h"

#include <gtest/gtest.h>

#include <string>

#include "signatures/signature_set.h"

namespace vigil::match {
namespace {

using namespace std::literals;

std::string Pad(std::string_view head) { return std::string(head) + std::string(64, '\0'); }

// Each case was checked against clamscan 1.4.6 with one signature per
// target type over the same bytes (docs/CLAMAV-COMPAT.md section 15).
TEST(TypedTarget, ByLeadingBytes) {
  EXPECT_EQ(TypedTarget(Pad("MZ")), sig::kTargetPe);  // no PE header needed
  EXPECT_EQ(TypedTarget("MZ is a text\n"), sig::kTargetPe);
  EXPECT_EQ(TypedTarget(Pad("ZM")), sig::kTargetAny);
  EXPECT_EQ(TypedTarget(Pad("\x7F" "ELF")), sig::kTargetElf);
  for (auto m : {"\xFE\xED\xFA\xCE"sv, "\xCE\xFA\xED\xFE"sv, "\xFE\xED\xFA\xCF"sv, "\xCF\xFA\xED\xFE"sv})
    EXPECT_EQ(TypedTarget(Pad(m)), sig::kTargetMachO);
  for (auto m : {"GIF87a"sv, "GIF89a"sv, "\x89PNG\r\n\x1A\n"sv, "\xFF\xD8\xFF\xE0"sv, "BM"sv, "II*\0"sv, "MM\0*"sv})
    EXPECT_EQ(TypedTarget(Pad(m)), sig::kTargetGraphics) << m;
  for (auto m : {"FWS"sv, "CWS"sv, "ZWS"sv}) EXPECT_EQ(TypedTarget(Pad(m)), sig::kTargetFlash);
  EXPECT_EQ(TypedTarget(Pad("%PDF-1.4")), sig::kTargetPdf);
  // OLE2 by its whole magic, before "%PDF-" (clamscan 1.4.6).
  EXPECT_EQ(TypedTarget(Pad("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1%PDF-1.4")), sig::kTargetOle2);
  EXPECT_EQ(TypedTarget(Pad("\xD0\xCF\x11\xE0\xA1\xB1\x1A")), sig::kTargetAny);
  EXPECT_EQ(TypedTarget(Pad("\xD0\xCF\x11\xE0")), sig::kTargetAny);
  EXPECT_EQ(TypedTarget(std::string(500, '\0') + "%PDF-1.4"), sig::kTargetPdf);
  EXPECT_EQ(TypedTarget(std::string(2000, '\0') + "%PDF-1.4"), sig::kTargetAny);  // beyond 1 KiB
  EXPECT_EQ(TypedTarget(Pad("MZ" + std::string(10, '\0') + "%PDF-1.4")), sig::kTargetPe);
  EXPECT_EQ(TypedTarget(Pad("\x01\x02junk")), sig::kTargetAny);
  EXPECT_EQ(TypedTarget(""), sig::kTargetAny);
}

TEST(TypedTarget, CafebabeIsMachOOrJavaByTheNextWord) {
  auto cb = [](uint32_t n) {
    std::string s = "\xCA\xFE\xBA\xBE";
    for (int sh = 24; sh >= 0; sh -= 8) s.push_back(static_cast<char>(n >> sh));
    return Pad(s);
  };
  for (uint32_t n : {0u, 1u, 20u, 31u}) EXPECT_EQ(TypedTarget(cb(n)), sig::kTargetMachO) << n;
  for (uint32_t n : {32u, 45u, 50u, 63u}) EXPECT_EQ(TypedTarget(cb(n)), sig::kTargetJava) << n;
  for (uint32_t n : {64u, 100u, 0x10000u, 0x0003002Du}) EXPECT_EQ(TypedTarget(cb(n)), sig::kTargetAny) << n;
  EXPECT_EQ(TypedTarget("\xCA\xFE\xBA\xBE\0\0"sv), sig::kTargetAny);  // too short to tell
}

TEST(TypedTarget, MailFromItsFirstHeaderExactly) {
  // Observed with clamscan 1.4.6 (docs/CLAMAV-COMPAT.md section 15).
  for (std::string_view h : {"Subject: x"sv, "To: y"sv, "Date: x"sv, "Return-path: x"sv, "Message-ID: x"sv,
                             "X-UIDL: x"sv, ">From x"sv, "Received-SPF: x"sv, "X-Symantec-Spam: x"sv}) {
    EXPECT_EQ(MailStart(h), MailKind::kEarly) << h;
    EXPECT_EQ(TypedTarget(Pad(std::string(h) + "\n\n%PDF-1.4")), sig::kTargetMail) << h;
  }
  for (std::string_view h : {"From x"sv, "From: x"sv, "Received: x"sv, "v:\nReceived: x"sv}) {
    EXPECT_EQ(MailStart(h), MailKind::kLate) << h;
    EXPECT_EQ(TypedTarget(Pad(std::string(h))), sig::kTargetAny) << h;
  }
  for (std::string_view h : {"SUBJECT: x"sv, "Subject:x"sv, "to: y"sv, "Date:"sv, "received: x"sv, "FROM x"sv,
                             "Cc: x"sv, "Content-Type: text/plain"sv, "X-Symantec: x"sv, "hello\nSubject: x"sv})
    EXPECT_EQ(MailStart(h), MailKind::kNone) << h;
}

}  // namespace
}  // namespace vigil::match
