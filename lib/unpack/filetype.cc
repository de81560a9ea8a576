#include "unpack/filetype.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>

#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

bool StartsWith(std::string_view d, std::string_view magic) {
  return d.size() >= magic.size() && std::memcmp(d.data(), magic.data(), magic.size()) == 0;
}
bool At(std::string_view d, size_t off, std::string_view magic) {
  return d.size() >= off + magic.size() && std::memcmp(d.data() + off, magic.data(), magic.size()) == 0;
}

// A tar header block: either "ustar" at 257, or an old-style header whose
// checksum (bytes 148..155, octal; the sum of the block with that field as
// spaces) is right.
bool LooksLikeTar(std::string_view d) {
  if (d.size() < 512) return false;
  if (At(d, 257, "ustar")) return true;
  const auto* p = reinterpret_cast<const uint8_t*>(d.data());
  if (p[0] == 0) return false;
  uint32_t want = 0;
  int digits = 0;
  for (int i = 148; i < 156; ++i) {
    if (p[i] >= '0' && p[i] <= '7') { want = want * 8 + (p[i] - '0'); ++digits; }
    else if (p[i] == ' ' || p[i] == 0) { if (digits) break; }
    else return false;
  }
  if (!digits) return false;
  uint32_t sum = 0;
  for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : p[i];
  return sum == want;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A mail message or mbox: an mbox "From " line, or a first header line
// whose name is one that mail messages carry.
bool LooksLikeMail(std::string_view d) {
  if (StartsWith(d, "From ") || StartsWith(d, "v:\nReceived: ") || StartsWith(d, "v:\r\nReceived: ")) return true;
  static constexpr std::array<std::string_view, 20> kHeaders = {
      "from", "to", "subject", "date", "received", "return-path", "message-id",
      "mime-version", "delivered-to", "reply-to", "sender", "cc", "envelope-to",
      "dkim-signature", "x-mailer", "user-agent", "references", "in-reply-to",
      "content-type", "x-originating-ip"};
  size_t colon = d.substr(0, 80).find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view name = d.substr(0, colon);
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  for (auto h : kHeaders)
    if (IEquals(name, h)) return true;
  return false;
}

bool LooksLikeHtml(std::string_view d) {
  std::string head(d.substr(0, 1024));
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t i = head.find_first_not_of(" \t\r\n");
  if (i == std::string::npos || head[i] != '<') return false;
  for (std::string_view tag : {"<html", "<!doctype html", "<head", "<body", "<script", "<a ",
                               "<img", "<iframe", "<meta", "<div", "<p>", "<table", "<form",
                               "<title", "<style", "<object", "<embed", "<!--"})
    if (head.find(tag) != std::string::npos) return true;
  return false;
}

}  // namespace

FileType DetectType(std::string_view d) {
  using namespace std::literals;
  if (d.size() < 2) return FileType::kUnknown;
  // Archives.
  if (StartsWith(d, "PK\x03\x04"sv) || StartsWith(d, "PK\x05\x06"sv) || StartsWith(d, "PK\x07\x08"sv) ||
      StartsWith(d, "PK00PK\x03\x04"sv))
    return FileType::kZip;
  if (StartsWith(d, "7z\xBC\xAF\x27\x1C"sv)) return FileType::k7z;
  if (StartsWith(d, "Rar!\x1A\x07"sv)) return FileType::kRar;
  if (StartsWith(d, "MSCF\0\0\0\0"sv)) return FileType::kCab;
  if (StartsWith(d, "!<arch>\n"sv)) return FileType::kAr;
  if (StartsWith(d, "xar!"sv)) return FileType::kXar;
  if (StartsWith(d, "070707"sv) || StartsWith(d, "070701"sv) || StartsWith(d, "070702"sv) ||
      StartsWith(d, "\xC7\x71"sv) || StartsWith(d, "\x71\xC7"sv))
    return FileType::kCpio;
  if (d.size() >= 22 && d[2] == '-' && d[3] == 'l' && (d[4] == 'h' || d[4] == 'z') && d[6] == '-')
    return FileType::kLha;
  // Compressed streams.
  if (StartsWith(d, "\x1F\x8B"sv)) return FileType::kGzip;
  if (StartsWith(d, "BZh"sv) && d.size() > 3 && d[3] >= '1' && d[3] <= '9') return FileType::kBzip2;
  if (StartsWith(d, "\xFD" "7zXZ\0"sv)) return FileType::kXz;
  if (StartsWith(d, "\x28\xB5\x2F\xFD"sv)) return FileType::kZstd;
  // LZMA-alone: properties byte 0x5d, a dictionary size with a zero top
  // byte, and an unknown (all ones) or plausible uncompressed size.
  if (d.size() >= 13 && static_cast<uint8_t>(d[0]) == 0x5D && d[4] == 0 &&
      (At(d, 5, "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"sv) || (d[11] == 0 && d[12] == 0)))
    return FileType::kLzma;
  // Executables and documents.
  if (StartsWith(d, "MZ"sv) && d.size() >= 0x40) {
    uint32_t pe = Le32(d, 0x3C);
    if (pe < d.size() && At(d, pe, "PE\0\0"sv)) return FileType::kPe;
  }
  if (StartsWith(d, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"sv)) return FileType::kOle2;
  if (StartsWith(d, "ITSF"sv)) return FileType::kChm;
  if (StartsWith(d, "SZDD\x88\xF0\x27\x33"sv)) return FileType::kSzdd;
  if (StartsWith(d, "KWAJ\x88\xF0\x27\xD1"sv)) return FileType::kKwaj;
  if (StartsWith(d, "\x78\x9F\x3E\x22"sv)) return FileType::kTnef;
  if (d.substr(0, 1024).find("%PDF-") != std::string_view::npos) return FileType::kPdf;
  if (StartsWith(d, "{\\rtf"sv)) return FileType::kRtf;
  if (d.substr(0, 512).find("(This file must be converted with BinHex") != std::string_view::npos)
    return FileType::kBinhex;
  if (LooksLikeSis(d)) return FileType::kSis;
  if (LooksLikeArj(d)) return FileType::kArj;
  // Formats found at fixed offsets further in.
  if (LooksLikeTar(d)) return FileType::kTar;
  if (At(d, 0x8001, "CD001"sv)) return FileType::kIso9660;
  if (LooksLikeMail(d)) return FileType::kMail;
  if (LooksLikeHtml(d)) return FileType::kHtml;
  return FileType::kUnknown;
}

std::string_view TypeName(FileType t) {
  switch (t) {
    case FileType::kUnknown: return "unknown";
    case FileType::kZip: return "zip";
    case FileType::k7z: return "7z";
    case FileType::kRar: return "rar";
    case FileType::kTar: return "tar";
    case FileType::kCpio: return "cpio";
    case FileType::kIso9660: return "iso9660";
    case FileType::kCab: return "cab";
    case FileType::kAr: return "ar";
    case FileType::kXar: return "xar";
    case FileType::kLha: return "lha";
    case FileType::kGzip: return "gzip";
    case FileType::kBzip2: return "bzip2";
    case FileType::kXz: return "xz";
    case FileType::kLzma: return "lzma";
    case FileType::kZstd: return "zstd";
    case FileType::kPe: return "pe";
    case FileType::kOle2: return "ole2";
    case FileType::kPdf: return "pdf";
    case FileType::kRtf: return "rtf";
    case FileType::kHtml: return "html";
    case FileType::kMail: return "mail";
    case FileType::kBinhex: return "binhex";
    case FileType::kTnef: return "tnef";
    case FileType::kChm: return "chm";
    case FileType::kSzdd: return "szdd";
    case FileType::kKwaj: return "kwaj";
    case FileType::kSis: return "sis";
    case FileType::kArj: return "arj";
  }
  return "unknown";
}

bool IsLibarchiveType(FileType t) {
  return t >= FileType::kZip && t <= FileType::kZstd;
}

}  // namespace vigil::unpack
