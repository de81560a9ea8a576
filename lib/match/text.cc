#include "match/text.h"

#include <algorithm>
#include <cstdint>

namespace vigil::match {
namespace {

// How many leading bytes clamscan inspects to tell text from binary.
constexpr size_t kTextProbe = 1024;

// File types clamscan recognises by a magic number at a fixed offset before
// it looks for text (the built-in table of its engine, functionality level
// 216). Data starting like this is never scanned as text.
struct Magic {
  size_t offset;
  std::string_view bytes;
};

using namespace std::string_view_literals;

constexpr Magic kMagics[] = {
    {0, "\x00\x00\x00\x0cjP  \r\n\x87\n"sv},  // JPEG 2000
    {0, "\x00\x00\x01\xb3"sv}, {0, "\x00\x00\x01\xba"sv},  // MPEG
    {0, "\x1f\x8b"sv},                          // gzip
    {0, "#@~^"sv},                              // encoded script
    {0, "%!PS-Adobe-"sv},
    {0, "(This file must be converted with BinHex 4.0)"sv},
    {0, ".RMF"sv},
    {0, "BM"sv}, {0, "BZh"sv}, {0, "GIF"sv}, {0, "ID3"sv}, {0, "ITSF"sv}, {0, "MZ"sv},
    {0, "OggS"sv}, {0, "PK\x03\x04"sv}, {0, "PK00PK\x03\x04"sv}, {0, "RIFF"sv}, {0, "RIFX"sv},
    {0, "Rar!"sv}, {0, "SZDD"sv}, {0, "\x60\xea"sv}, {0, "\x78\x9f\x3e\x22"sv},
    {0, "\x7f" "ELF"sv}, {0, "\x89PNG"sv}, {0, "\xb6\xb9\xac\xae\xfe\xff\xff\xff"sv},
    {0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"sv}, {0, "\xff\xd8\xff"sv}, {0, "\xff\xfb\x90"sv},
    {0, "SIP-HIT (SIP/H"sv}, {0, "{\\rt"sv}, {257, "ustar"sv}, {0, "[aliases]"sv},
    {0, "\xce\xfa\xed\xfe"sv}, {0, "\xcf\xfa\xed\xfe"sv}, {0, "\xfe\xed\xfa\xce"sv},
    {0, "\xfe\xed\xfa\xcf"sv}, {0, "7z\xbc\xaf\x27\x1c"sv},
    {0, "070701"sv}, {0, "070702"sv}, {0, "070707"sv}, {0, "\x71\xc7"sv}, {0, "\xc7\x71"sv},
    {0, "%PDF-"sv}, {0, "SYMC\x01\x00"sv},
    {0, "\x37\x7f\x06\x82\x00\x2d\xe2\x18"sv}, {0, "\x37\x7f\x06\x83\x00\x2d\xe2\x18"sv},
    {0, "SQLite format 3\x00"sv}, {0, "\xd9\xd5\x05\xf9\x20\xa1\x63\xd7"sv},
    {0, "ZWS"sv}, {0, "CWS"sv}, {0, "FWS"sv}, {0, "MSCF\x00\x00\x00\x00"sv}, {0, "xar!"sv},
    {0, "\xfd" "7zXZ\x00"sv}, {512, "EFI PART"sv},
    {0, "{ \"Magic\": \"CLAMJSONv0\""sv}, {0, "II*\x00"sv}, {0, "MM"sv},
    {4, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"sv},
    {0, "HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05"sv},
    {0, "L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"sv},
    {0, "EGGA"sv},
    // Mail headers.
    {0, ">From "sv}, {0, "Date: "sv}, {0, "Delivered-To: "sv}, {0, "Delivery-date: "sv},
    {0, "Envelope-to: "sv}, {0, "For: "sv}, {0, "From "sv}, {0, "From: "sv},
    {0, "Hi. This is the qmail-send"sv}, {0, "Message-ID: "sv}, {0, "Message-Id: "sv},
    {0, "Received: "sv}, {0, "Return-Path: "sv}, {0, "Return-path: "sv}, {0, "Subject: "sv},
    {0, "To: "sv}, {0, "X-Apparently-To: "sv}, {0, "X-EVS"sv}, {0, "X-Envelope-From: "sv},
    {0, "X-Original-To: "sv}, {0, "X-Real-To: "sv}, {0, "X-Sieve: "sv}, {0, "X-Symantec-"sv},
    {0, "X-UIDL: "sv}, {0, "v:\nReceived: "sv}, {0, "v:\r\nReceived: "sv},
    {0, "Received-SPF: "sv}, {0, "begin "sv},
};

// file(1)'s classes of bytes in text.
enum CharClass : uint8_t { kNever, kText, kIso, kExtended };

CharClass Class(uint8_t c) {
  if (c >= 0xa0) return kIso;
  if (c >= 0x80) return c == 0x85 ? kText : kExtended;
  if (c == 0x7f) return kNever;
  if (c >= 0x20) return kText;
  switch (c) {
    case 0x07: case 0x08: case 0x09: case 0x0a: case 0x0c: case 0x0d: case 0x1b:
      return kText;
    default:
      return kNever;
  }
}

bool IsAscii(std::string_view b) {
  return std::none_of(b.begin(), b.end(), [](char c) { return Class(static_cast<uint8_t>(c)) == kNever; });
}

bool IsUtf8(std::string_view b) {
  bool seen_multibyte = false;
  for (size_t i = 0; i < b.size(); ++i) {
    uint8_t c = static_cast<uint8_t>(b[i]);
    if (c < 0x80) {
      if (Class(c) != kText) return false;
      continue;
    }
    if ((c & 0x40) == 0) return false;  // a continuation byte cannot lead
    size_t following = (c & 0x20) == 0 ? 1 : (c & 0x10) == 0 ? 2 : (c & 0x08) == 0 ? 3
                       : (c & 0x04) == 0 ? 4 : (c & 0x02) == 0 ? 5 : 0;
    if (following == 0) return false;
    for (size_t k = 0; k < following; ++k) {
      if (++i >= b.size()) return seen_multibyte;  // cut at the end of the probe
      uint8_t d = static_cast<uint8_t>(b[i]);
      if ((d & 0xc0) != 0x80) return false;
    }
    seen_multibyte = true;
  }
  return seen_multibyte;
}

bool IsUtf16(std::string_view b) {
  if (b.size() < 2) return false;
  auto at = [&](size_t i) { return static_cast<uint8_t>(b[i]); };
  bool big_endian = true, bom = true;
  if (at(0) == 0xff && at(1) == 0xfe) big_endian = false;
  else if (!(at(0) == 0xfe && at(1) == 0xff)) bom = false;
  size_t bad = 0;
  // The first unit is skipped, BOM or not.
  for (size_t i = 2; i + 1 < b.size(); i += 2) {
    unsigned u = big_endian ? at(i) << 8 | at(i + 1) : at(i + 1) << 8 | at(i);
    if (u == 0xfffe) return false;
    if (u < 0x80 && Class(static_cast<uint8_t>(u)) != kText) {
      if (!bom) return false;
      ++bad;
    }
  }
  return !bom || bad < b.size() / 2;
}

}  // namespace

bool LooksLikeText(std::string_view data) {
  for (const Magic& m : kMagics)
    if (data.size() >= m.offset + m.bytes.size() && data.substr(m.offset, m.bytes.size()) == m.bytes)
      return false;
  std::string_view probe = data.substr(0, std::min(data.size(), kTextProbe));
  return IsAscii(probe) || IsUtf8(probe) || IsUtf16(probe);
}

void NormalizeText(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  bool space = false;  // the last byte written is a space that absorbs more
  for (char ch : in) {
    auto c = static_cast<uint8_t>(ch);
    if ((c >= 0x09 && c <= 0x0d) || c == ' ') {
      if (!space) out->push_back(' ');
      space = true;
    } else if (c < 0x20 || c >= 0x80) {
      // removed; a space before it still absorbs the next one
    } else {
      if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c - 'A' + 'a');
      out->push_back(static_cast<char>(c));
      space = false;
    }
  }
}

}  // namespace vigil::match
