#include "match/target.h"

#include "signatures/signature_set.h"

namespace vigil::match {
namespace {

bool StartsWith(std::string_view d, std::string_view magic) { return d.substr(0, magic.size()) == magic; }

uint32_t Be32(std::string_view d, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(d[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

MailKind MailStart(std::string_view d) {
  using namespace std::literals;
  // Exact case and the space after the colon, as probed with clamscan 1.4.6.
  static constexpr std::string_view kEarly[] = {
      "Subject: "sv, "To: "sv, "Date: "sv, "Return-Path: "sv, "Return-path: "sv, "Delivered-To: "sv,
      "Message-Id: "sv, "Message-ID: "sv, "Envelope-to: "sv, "X-UIDL: "sv, ">From "sv, "Delivery-date: "sv,
      "For: "sv, "X-Apparently-To: "sv, "X-Envelope-From: "sv, "Received-SPF: "sv, "X-Real-To: "sv,
      "X-Sieve: "sv, "X-Original-To: "sv, "X-Symantec-"sv, "X-EVS"sv, "Hi. This is the qmail-send"sv,
  };
  static constexpr std::string_view kLate[] = {"From "sv, "From: "sv, "Received: "sv, "v:\nReceived: "sv,
                                               "v:\r\nReceived: "sv};
  for (std::string_view m : kEarly)
    if (StartsWith(d, m)) return MailKind::kEarly;
  for (std::string_view m : kLate)
    if (StartsWith(d, m)) return MailKind::kLate;
  return MailKind::kNone;
}

uint8_t TypedTarget(std::string_view d) {
  using namespace std::literals;
  // "MZ" alone is enough: clamscan applies PE signatures to a file with no
  // valid PE header behind it.
  if (StartsWith(d, "MZ"sv)) return sig::kTargetPe;
  if (StartsWith(d, "\x7F" "ELF"sv)) return sig::kTargetElf;
  if (StartsWith(d, "\xFE\xED\xFA\xCE"sv) || StartsWith(d, "\xCE\xFA\xED\xFE"sv) ||
      StartsWith(d, "\xFE\xED\xFA\xCF"sv) || StartsWith(d, "\xCF\xFA\xED\xFE"sv))
    return sig::kTargetMachO;
  if (StartsWith(d, "\xCA\xFE\xBA\xBE"sv)) {
    // Shared by Mach-O universal binaries (a count of architectures next)
    // and Java classes (minor and major version next).
    if (d.size() < 8) return sig::kTargetAny;
    uint32_t next = Be32(d, 4);
    if (next <= 31) return sig::kTargetMachO;
    if (next <= 63) return sig::kTargetJava;
    return sig::kTargetAny;
  }
  if (StartsWith(d, "GIF87a"sv) || StartsWith(d, "GIF89a"sv) || StartsWith(d, "\x89PNG"sv) ||
      StartsWith(d, "\xFF\xD8\xFF"sv) || StartsWith(d, "BM"sv) || StartsWith(d, "II*\0"sv) ||
      StartsWith(d, "MM\0*"sv))
    return sig::kTargetGraphics;
  if (StartsWith(d, "FWS"sv) || StartsWith(d, "CWS"sv) || StartsWith(d, "ZWS"sv)) return sig::kTargetFlash;
  if (StartsWith(d, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"sv)) return sig::kTargetOle2;
  // Before PDF: a mail with "%PDF-" in its first lines is a mail.
  if (MailStart(d) == MailKind::kEarly) return sig::kTargetMail;
  if (d.substr(0, 1024).find("%PDF-") != std::string_view::npos) return sig::kTargetPdf;
  return sig::kTargetAny;
}

}  // namespace vigil::match
