// Compiled AutoIt v3 programs (script formats "EA05" and "EA06"). What is
// known of the layout comes from public descriptions: ClamAV's AutoIt
// reader and the independent AutoIt-Ripper extractor; it was checked on
// clamav-testfiles' clam.ea05.exe and clam.ea06.exe.
//
// The program (usually after its last PE section, sometimes in a resource)
// carries a 16-byte subtype GUID (kMarker), "AU3!EA05" or "AU3!EA06", 16
// bytes (a password hash; in EA05 their byte sum is part of a key), then
// entries one after another; the GUID and marker are repeated at the end of
// the file. An entry (integers little-endian, each "xor K" with a constant
// that depends on the field and the version, see Scheme):
//   - 4 bytes "FILE", encrypted;
//   - u32 length xor K, then the subtype, encrypted: ">AUTOIT SCRIPT<" (or
//     with "UNICODE") in EA05, ">>>AUTOIT SCRIPT<<<" in EA06 for the
//     script; for a FileInstall payload, the path it was compiled from;
//   - u32 length xor K, then a second name, encrypted (not used here);
//   - u8 compressed flag, u32 stored size xor K, u32 expanded size xor K,
//     u32 checksum xor K (Adler-32 of the decrypted stored bytes), 16 bytes
//     of file times;
//   - the stored bytes, encrypted.
// EA05 counts its strings in bytes, EA06 in UTF-16 code units (the stored
// string is UTF-16LE).
//
// Encryption is an XOR with a keystream whose seed is a field constant
// (plus the string's length for strings). EA05 draws it from the standard
// 32-bit Mersenne Twister (MT19937), keeping bits 1..8 of each output. EA06
// uses a rotate-and-add generator over 17 words (see LameStream).
//
// Compressed stored bytes start with a 4-byte tag ("EA05", "JB00" or
// "EA06") and the expanded size (u32 big-endian), then a bit stream read
// most significant bit first from 16-bit big-endian words: a flag bit
// picks a literal (8 bits) or a back reference (15-bit distance, then a
// length in growing steps, see Expand). The flag's polarity is the only
// difference between the variants: a set bit means "back reference" for
// EA05/JB00 and "literal" for EA06.
//
// Each entry is a member: FileInstall payloads under their source file's
// name, the EA05 script as "script.au3". The EA06 script is stored in
// AutoIt's token form; like clamscan, it is turned back into text (see
// Detokenize) and handed on as "script.au3", or, when the tokens do not
// decode, as they are ("script.a3x") with a warning.
//
// The token form (as described by ClamAV's libclamav/autoit.c, whose word
// tables as of ClamAV 1.4.6 give the numbering below; everything
// little-endian): a u32 count of lines, then tokens, each one byte of kind
// and its operands:
//   0x00 u32  keyword number (kKeywords);
//   0x01 u32  built-in function number (kFunctions);
//   0x05 i32, 0x10 i64, 0x20 double  number literals;
//   0x30..0x37 u32 n, then n UTF-16 code units, each xor n: a name or a
//        string (0x32 macro "@", 0x33 variable "$", 0x34 user function,
//        0x35 object member ".", 0x36 string in quotes, 0x37 directive,
//        which clamscan writes without its "#"; 0x30 and 0x31 other words);
//   0x40..0x58  operators (kOperators);
//   0x7F  end of a line.
// The text is the one clamscan 1.4.6 writes (checked byte for byte on
// clamav-testfiles' clam.ea06.exe): words in upper case as the tables
// have them, each token followed by one space except user function names,
// integers as 0x and 8 or 16 lower-case hex digits, doubles as printf's
// "%g", lines ended by a bare "\n"; names and strings narrowed to bytes
// as clamscan does it (see Narrow).
#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

// Subtype GUID and the common start of the version markers.
constexpr std::string_view kMarker(
    "\xA3\x48\x4B\xBE\x98\x6C\x4A\xA9\x99\x4C\x53\x0A\x86\xD6\x48\x7D"
    "AU3!EA0",
    23);
constexpr size_t kHashSize = 16;     // after "AU3!EA0x"
constexpr size_t kTimesSize = 16;    // two FILETIMEs per entry
constexpr size_t kMaxNameChars = 4096;
constexpr std::string_view kEa06Script = ">>>AUTOIT SCRIPT<<<";
// A longer back reference than this is not believed (it would take some
// 16 MiB of 0xFF bytes to encode).
constexpr uint64_t kMaxRun = 1ull << 32;


uint32_t Be32(std::string_view d, size_t off) {
  const auto* p = reinterpret_cast<const uint8_t*>(d.data() + off);
  return static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

// EA05's keystream: MT19937 seeded with `seed`, each byte bits 1..8 of one
// output word.
void MtXor(uint32_t seed, std::string* bytes) {
  std::mt19937 mt(seed);
  for (char& c : *bytes) c = static_cast<char>(static_cast<uint8_t>(c) ^ static_cast<uint8_t>(mt() >> 1));
}

// EA06's keystream. 17 words, two indices walking down from 0 and 10 (and
// wrapping to 16); each step stores rotl(w[a], 9) + rotl(w[b], 13) in w[a].
// Seeding fills the words with s = 1 - s * 0x53A9B4FB and discards nine
// steps. A key byte takes two steps and is the top byte of the second
// (published implementations go through a double in [0, 1) times 256,
// which comes to the same byte).
class LameStream {
 public:
  explicit LameStream(uint32_t seed) {
    for (uint32_t& w : words_) {
      seed = 1 - seed * 0x53A9B4FBu;
      w = seed;
    }
    for (int i = 0; i < 9; ++i) Step();
  }
  uint8_t Next() {
    Step();
    return static_cast<uint8_t>(Step() >> 24);
  }

 private:
  static uint32_t Rotl(uint32_t v, int n) { return v << n | v >> (32 - n); }
  uint32_t Step() {
    uint32_t v = Rotl(words_[a_], 9) + Rotl(words_[b_], 13);
    words_[a_] = v;
    a_ = a_ == 0 ? 16 : a_ - 1;
    b_ = b_ == 0 ? 16 : b_ - 1;
    return v;
  }
  std::array<uint32_t, 17> words_{};
  size_t a_ = 0, b_ = 10;
};

void LameXor(uint32_t seed, std::string* bytes) {
  LameStream s(seed);
  for (char& c : *bytes) c = static_cast<char>(static_cast<uint8_t>(c) ^ s.Next());
}

// The constants of one version: the key of the "FILE" tag, for each string
// the xor of its length and the seed base (seed = base + length), the xor
// of the sizes and of the checksum, and the data's seed base.
struct Scheme {
  bool ea06;
  uint32_t tag_seed;
  uint32_t subtype_xor, subtype_seed;
  uint32_t name_xor, name_seed;
  uint32_t size_xor, sum_xor;
  uint32_t data_seed;  // EA05 adds the byte sum of the password hash
  void Decrypt(uint32_t seed, std::string* bytes) const { ea06 ? LameXor(seed, bytes) : MtXor(seed, bytes); }
};

constexpr Scheme kEa05{false, 0x16FA, 0x29BC, 0xA25E, 0x29AC, 0xF25E, 0x45AA, 0xC3D2, 0x22AF};
constexpr Scheme kEa06{true, 0x18EE, 0xADBC, 0xB33F, 0xF820, 0xF479, 0x87BC, 0xA685, 0x2477};

uint32_t Adler32(std::string_view d) {
  uint32_t a = 1, b = 0;
  size_t i = 0;
  while (i < d.size()) {
    size_t n = std::min<size_t>(d.size() - i, 5552);  // no overflow before the modulo
    for (size_t end = i + n; i < end; ++i) {
      a += static_cast<uint8_t>(d[i]);
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return b << 16 | a;
}

// Reads bits most significant first from 16-bit big-endian words.
class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}
  // False (and nothing read) when fewer than `n` bits are left.
  bool Read(int n, uint32_t* v) {
    *v = 0;
    for (int i = 0; i < n; ++i) {
      if (left_ == 0) {
        if (in_.size() - pos_ < 2) return false;
        word_ = static_cast<uint16_t>(static_cast<uint8_t>(in_[pos_]) << 8 | static_cast<uint8_t>(in_[pos_ + 1]));
        pos_ += 2;
        left_ = 16;
      }
      --left_;
      *v = *v << 1 | ((word_ >> left_) & 1);
    }
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  uint16_t word_ = 0;
  int left_ = 0;
};

enum class Expanded { kOk, kDamaged, kOverLimit, kUnknown };

// Expands a compressed entry (tag, size, bit stream) into `out`, up to the
// size it declares.
Expanded Expand(std::string_view in, MemberBuffer* out, LimitHit* hit) {
  if (in.size() < 8) return Expanded::kDamaged;
  std::string_view tag = in.substr(0, 4);
  bool literal_bit;
  if (tag == "EA05" || tag == "JB00") {
    literal_bit = false;
  } else if (tag == "EA06") {
    literal_bit = true;
  } else {
    return Expanded::kUnknown;
  }
  const uint64_t size = Be32(in, 4);
  BitReader bits(in.substr(8));
  while (out->size() < size) {
    uint32_t flag, v;
    if (!bits.Read(1, &flag)) return Expanded::kDamaged;
    if ((flag != 0) == literal_bit) {
      if (!bits.Read(8, &v)) return Expanded::kDamaged;
      const char c = static_cast<char>(v);
      if (!out->Append(&c, 1, hit)) return Expanded::kOverLimit;
      continue;
    }
    uint32_t distance;
    if (!bits.Read(15, &distance)) return Expanded::kDamaged;
    // Length: 3 plus a 2-bit field; a field at its maximum adds it and
    // reads the next, wider one (3, 5, then 8 bits); past the 8-bit one,
    // further bytes of 255 add up until a smaller byte ends the run.
    uint64_t length = 3;
    static constexpr int kWidths[] = {2, 3, 5, 8};
    bool more = true;
    for (int w : kWidths) {
      if (!bits.Read(w, &v)) return Expanded::kDamaged;
      length += v;
      if (v != (1u << w) - 1) {
        more = false;
        break;
      }
    }
    while (more) {
      if (!bits.Read(8, &v)) return Expanded::kDamaged;
      length += v;
      more = v == 255;
      if (length > kMaxRun) return Expanded::kDamaged;
    }
    if (distance == 0 || distance > out->size()) return Expanded::kDamaged;
    for (uint64_t i = 0; i < length && out->size() < size; ++i) {
      const char c = out->view()[out->size() - distance];
      if (!out->Append(&c, 1, hit)) return Expanded::kOverLimit;
    }
  }
  return Expanded::kOk;
}

// EA06 strings: UTF-16LE to UTF-8 (unpaired surrogates become '?').
std::string Utf16ToUtf8(std::string_view in) {
  std::string out;
  for (size_t i = 0; i + 1 < in.size(); i += 2) {
    uint32_t c = static_cast<uint8_t>(in[i]) | static_cast<uint8_t>(in[i + 1]) << 8;
    if (c >= 0xD800 && c < 0xDC00 && i + 3 < in.size()) {
      uint32_t lo = static_cast<uint8_t>(in[i + 2]) | static_cast<uint8_t>(in[i + 3]) << 8;
      if (lo >= 0xDC00 && lo < 0xE000) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        i += 2;
      }
    }
    if (c >= 0xD800 && c < 0xE000) c = '?';
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | c >> 6));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | c >> 12));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | c >> 18));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// The EA06 token form's words, by number, spelled as clamscan 1.4.6 spells
// them (keyword 0 is not a keyword; clamscan shows it as "UNKNOWN_0").
constexpr std::string_view kKeywords[] = {
    "UNKNOWN_0", "AND",          "OR",      "NOT",   "IF",        "THEN",    "ELSE",      "ELSEIF",       "ENDIF",
    "WHILE",     "WEND",         "DO",      "UNTIL", "FOR",       "NEXT",    "TO",        "STEP",         "IN",
    "EXITLOOP",  "CONTINUELOOP", "SELECT",  "CASE",  "ENDSELECT", "SWITCH",  "ENDSWITCH", "CONTINUECASE", "DIM",
    "REDIM",     "LOCAL",        "GLOBAL",  "CONST", "STATIC",    "FUNC",    "ENDFUNC",   "RETURN",       "EXIT",
    "BYREF",     "WITH",         "ENDWITH", "TRUE",  "FALSE",     "DEFAULT", "NULL",      "VOLATILE",     "ENUM"};

// AutoIt's built-in functions, in the order of their numbers.
// clang-format off
constexpr std::string_view kFunctions[] = {
    "ABS", "ACOS", "ADLIBREGISTER", "ADLIBUNREGISTER", "ASC", "ASCW", "ASIN", "ASSIGN", "ATAN", "AUTOITSETOPTION",
    "AUTOITWINGETTITLE", "AUTOITWINSETTITLE", "BEEP", "BINARY", "BINARYLEN", "BINARYMID", "BINARYTOSTRING",
    "BITAND", "BITNOT", "BITOR", "BITROTATE", "BITSHIFT", "BITXOR", "BLOCKINPUT", "BREAK", "CALL", "CDTRAY",
    "CEILING", "CHR", "CHRW", "CLIPGET", "CLIPPUT", "CONSOLEREAD", "CONSOLEWRITE", "CONSOLEWRITEERROR",
    "CONTROLCLICK", "CONTROLCOMMAND", "CONTROLDISABLE", "CONTROLENABLE", "CONTROLFOCUS", "CONTROLGETFOCUS",
    "CONTROLGETHANDLE", "CONTROLGETPOS", "CONTROLGETTEXT", "CONTROLHIDE", "CONTROLLISTVIEW", "CONTROLMOVE",
    "CONTROLSEND", "CONTROLSETTEXT", "CONTROLSHOW", "CONTROLTREEVIEW", "COS", "DEC", "DIRCOPY", "DIRCREATE",
    "DIRGETSIZE", "DIRMOVE", "DIRREMOVE", "DLLCALL", "DLLCALLADDRESS", "DLLCALLBACKFREE", "DLLCALLBACKGETPTR",
    "DLLCALLBACKREGISTER", "DLLCLOSE", "DLLOPEN", "DLLSTRUCTCREATE", "DLLSTRUCTGETDATA", "DLLSTRUCTGETPTR",
    "DLLSTRUCTGETSIZE", "DLLSTRUCTSETDATA", "DRIVEGETDRIVE", "DRIVEGETFILESYSTEM", "DRIVEGETLABEL",
    "DRIVEGETSERIAL", "DRIVEGETTYPE", "DRIVEMAPADD", "DRIVEMAPDEL", "DRIVEMAPGET", "DRIVESETLABEL",
    "DRIVESPACEFREE", "DRIVESPACETOTAL", "DRIVESTATUS", "DUMMYSPEEDTEST", "ENVGET", "ENVSET", "ENVUPDATE", "EVAL",
    "EXECUTE", "EXP", "FILECHANGEDIR", "FILECLOSE", "FILECOPY", "FILECREATENTFSLINK", "FILECREATESHORTCUT",
    "FILEDELETE", "FILEEXISTS", "FILEFINDFIRSTFILE", "FILEFINDNEXTFILE", "FILEFLUSH", "FILEGETATTRIB",
    "FILEGETENCODING", "FILEGETLONGNAME", "FILEGETPOS", "FILEGETSHORTCUT", "FILEGETSHORTNAME", "FILEGETSIZE",
    "FILEGETTIME", "FILEGETVERSION", "FILEINSTALL", "FILEMOVE", "FILEOPEN", "FILEOPENDIALOG", "FILEREAD",
    "FILEREADLINE", "FILEREADTOARRAY", "FILERECYCLE", "FILERECYCLEEMPTY", "FILESAVEDIALOG", "FILESELECTFOLDER",
    "FILESETATTRIB", "FILESETEND", "FILESETPOS", "FILESETTIME", "FILEWRITE", "FILEWRITELINE", "FLOOR",
    "FTPSETPROXY", "FUNCNAME", "GUICREATE", "GUICTRLCREATEAVI", "GUICTRLCREATEBUTTON", "GUICTRLCREATECHECKBOX",
    "GUICTRLCREATECOMBO", "GUICTRLCREATECONTEXTMENU", "GUICTRLCREATEDATE", "GUICTRLCREATEDUMMY",
    "GUICTRLCREATEEDIT", "GUICTRLCREATEGRAPHIC", "GUICTRLCREATEGROUP", "GUICTRLCREATEICON", "GUICTRLCREATEINPUT",
    "GUICTRLCREATELABEL", "GUICTRLCREATELIST", "GUICTRLCREATELISTVIEW", "GUICTRLCREATELISTVIEWITEM",
    "GUICTRLCREATEMENU", "GUICTRLCREATEMENUITEM", "GUICTRLCREATEMONTHCAL", "GUICTRLCREATEOBJ", "GUICTRLCREATEPIC",
    "GUICTRLCREATEPROGRESS", "GUICTRLCREATERADIO", "GUICTRLCREATESLIDER", "GUICTRLCREATETAB",
    "GUICTRLCREATETABITEM", "GUICTRLCREATETREEVIEW", "GUICTRLCREATETREEVIEWITEM", "GUICTRLCREATEUPDOWN",
    "GUICTRLDELETE", "GUICTRLGETHANDLE", "GUICTRLGETSTATE", "GUICTRLREAD", "GUICTRLRECVMSG",
    "GUICTRLREGISTERLISTVIEWSORT", "GUICTRLSENDMSG", "GUICTRLSENDTODUMMY", "GUICTRLSETBKCOLOR", "GUICTRLSETCOLOR",
    "GUICTRLSETCURSOR", "GUICTRLSETDATA", "GUICTRLSETDEFBKCOLOR", "GUICTRLSETDEFCOLOR", "GUICTRLSETFONT",
    "GUICTRLSETGRAPHIC", "GUICTRLSETIMAGE", "GUICTRLSETLIMIT", "GUICTRLSETONEVENT", "GUICTRLSETPOS",
    "GUICTRLSETRESIZING", "GUICTRLSETSTATE", "GUICTRLSETSTYLE", "GUICTRLSETTIP", "GUIDELETE", "GUIGETCURSORINFO",
    "GUIGETMSG", "GUIGETSTYLE", "GUIREGISTERMSG", "GUISETACCELERATORS", "GUISETBKCOLOR", "GUISETCOORD",
    "GUISETCURSOR", "GUISETFONT", "GUISETHELP", "GUISETICON", "GUISETONEVENT", "GUISETSTATE", "GUISETSTYLE",
    "GUISTARTGROUP", "GUISWITCH", "HEX", "HOTKEYSET", "HTTPSETPROXY", "HTTPSETUSERAGENT", "HWND", "INETCLOSE",
    "INETGET", "INETGETINFO", "INETGETSIZE", "INETREAD", "INIDELETE", "INIREAD", "INIREADSECTION",
    "INIREADSECTIONNAMES", "INIRENAMESECTION", "INIWRITE", "INIWRITESECTION", "INPUTBOX", "INT", "ISADMIN",
    "ISARRAY", "ISBINARY", "ISBOOL", "ISDECLARED", "ISDLLSTRUCT", "ISFLOAT", "ISFUNC", "ISHWND", "ISINT",
    "ISKEYWORD", "ISMAP", "ISNUMBER", "ISOBJ", "ISPTR", "ISSTRING", "LOG", "MAPAPPEND", "MAPEXISTS", "MAPKEYS",
    "MAPREMOVE", "MEMGETSTATS", "MOD", "MOUSECLICK", "MOUSECLICKDRAG", "MOUSEDOWN", "MOUSEGETCURSOR",
    "MOUSEGETPOS", "MOUSEMOVE", "MOUSEUP", "MOUSEWHEEL", "MSGBOX", "NUMBER", "OBJCREATE", "OBJCREATEINTERFACE",
    "OBJEVENT", "OBJGET", "OBJNAME", "ONAUTOITEXITREGISTER", "ONAUTOITEXITUNREGISTER", "OPT", "PING",
    "PIXELCHECKSUM", "PIXELGETCOLOR", "PIXELSEARCH", "PROCESSCLOSE", "PROCESSEXISTS", "PROCESSGETSTATS",
    "PROCESSLIST", "PROCESSSETPRIORITY", "PROCESSWAIT", "PROCESSWAITCLOSE", "PROGRESSOFF", "PROGRESSON",
    "PROGRESSSET", "PTR", "RANDOM", "REGDELETE", "REGENUMKEY", "REGENUMVAL", "REGREAD", "REGWRITE", "ROUND", "RUN",
    "RUNAS", "RUNASWAIT", "RUNWAIT", "SEND", "SENDKEEPACTIVE", "SETERROR", "SETEXTENDED", "SHELLEXECUTE",
    "SHELLEXECUTEWAIT", "SHUTDOWN", "SIN", "SLEEP", "SOUNDPLAY", "SOUNDSETWAVEVOLUME", "SPLASHIMAGEON",
    "SPLASHOFF", "SPLASHTEXTON", "SQRT", "SRANDOM", "STATUSBARGETTEXT", "STDERRREAD", "STDINWRITE", "STDIOCLOSE",
    "STDOUTREAD", "STRING", "STRINGADDCR", "STRINGCOMPARE", "STRINGFORMAT", "STRINGFROMASCIIARRAY", "STRINGINSTR",
    "STRINGISALNUM", "STRINGISALPHA", "STRINGISASCII", "STRINGISDIGIT", "STRINGISFLOAT", "STRINGISINT",
    "STRINGISLOWER", "STRINGISSPACE", "STRINGISUPPER", "STRINGISXDIGIT", "STRINGLEFT", "STRINGLEN", "STRINGLOWER",
    "STRINGMID", "STRINGREGEXP", "STRINGREGEXPREPLACE", "STRINGREPLACE", "STRINGREVERSE", "STRINGRIGHT",
    "STRINGSPLIT", "STRINGSTRIPCR", "STRINGSTRIPWS", "STRINGTOASCIIARRAY", "STRINGTOBINARY", "STRINGTRIMLEFT",
    "STRINGTRIMRIGHT", "STRINGUPPER", "TAN", "TCPACCEPT", "TCPCLOSESOCKET", "TCPCONNECT", "TCPLISTEN",
    "TCPNAMETOIP", "TCPRECV", "TCPSEND", "TCPSHUTDOWN", "TCPSTARTUP", "TIMERDIFF", "TIMERINIT", "TOOLTIP",
    "TRAYCREATEITEM", "TRAYCREATEMENU", "TRAYGETMSG", "TRAYITEMDELETE", "TRAYITEMGETHANDLE", "TRAYITEMGETSTATE",
    "TRAYITEMGETTEXT", "TRAYITEMSETONEVENT", "TRAYITEMSETSTATE", "TRAYITEMSETTEXT", "TRAYSETCLICK", "TRAYSETICON",
    "TRAYSETONEVENT", "TRAYSETPAUSEICON", "TRAYSETSTATE", "TRAYSETTOOLTIP", "TRAYTIP", "UBOUND", "UDPBIND",
    "UDPCLOSESOCKET", "UDPOPEN", "UDPRECV", "UDPSEND", "UDPSHUTDOWN", "UDPSTARTUP", "VARGETTYPE", "WINACTIVATE",
    "WINACTIVE", "WINCLOSE", "WINEXISTS", "WINFLASH", "WINGETCARETPOS", "WINGETCLASSLIST", "WINGETCLIENTSIZE",
    "WINGETHANDLE", "WINGETPOS", "WINGETPROCESS", "WINGETSTATE", "WINGETTEXT", "WINGETTITLE", "WINKILL", "WINLIST",
    "WINMENUSELECTITEM", "WINMINIMIZEALL", "WINMINIMIZEALLUNDO", "WINMOVE", "WINSETONTOP", "WINSETSTATE",
    "WINSETTITLE", "WINSETTRANS", "WINWAIT", "WINWAITACTIVE", "WINWAITCLOSE", "WINWAITNOTACTIVE"};
// clang-format on

// Operator tokens 0x40 and up.
constexpr std::string_view kOperators[] = {",", "=", ">", "<",  "<>", ">=", "<=", "(",  ")",  "+",  "-", "/", "*",
                                           "&", "[", "]", "==", "^",  "+=", "-=", "/=", "*=", "&=", "?", ":"};

// What a name or string token (0x30 + i) is written with: a leading mark
// (0 for none; clamscan 1.4.6 gives directives none either); strings also
// get a closing quote, and all but user function names a space.
constexpr char kNameMarks[] = {0, 0, '@', '$', 0, '.', '"', 0};
constexpr uint8_t kUserFunction = 0x34, kString = 0x36;

// A name or string's UTF-16 code units (already un-xored) narrowed to bytes
// the way clamscan does it, so that signatures written against its text
// match: for n units the text has n bytes. When at least half of the first
// (up to) ten units are in 1..255 the low byte of each unit is taken; a
// text that starts with a byte order mark (and more than two units, the
// second not a multiple of 256) loses the mark, so its last byte is
// whatever byte sits at position n - 1 of the UTF-16; anything else keeps
// its first n raw bytes, that is half its UTF-16.
std::string Narrow(std::string_view utf16) {
  const size_t n = utf16.size() / 2;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(utf16[i]); };
  std::string out;
  out.reserve(n);
  if (n > 2 && byte(0) == 0xFF && byte(1) == 0xFE && byte(2) != 0) {
    for (size_t u = 1; u < n; ++u) out.push_back(utf16[2 * u]);
    out.push_back(utf16[n - 1]);
    return out;
  }
  const size_t probe = std::min<size_t>(n, 10);
  size_t narrow = 0;
  for (size_t u = 0; u < probe; ++u) narrow += byte(2 * u) != 0 && byte(2 * u + 1) == 0;
  if (narrow * 2 < probe) return std::string(utf16.substr(0, n));
  for (size_t u = 0; u < n; ++u) out.push_back(utf16[2 * u]);
  return out;
}

enum class Detokenized { kOk, kCorrupt, kOverLimit };

// Writes the text of the EA06 token stream `in` to `out`. On kCorrupt,
// `*why` says what was wrong; on kOverLimit, `*hit` which limit was met.
// Every token takes at least one byte, so the loop ends within in.size()
// rounds.
Detokenized Detokenize(std::string_view in, MemberBuffer* out, LimitHit* hit, std::string* why) {
  if (in.size() < 4) {
    *why = "no line count";
    return Detokenized::kCorrupt;
  }
  uint32_t lines = Le32(in, 0);
  size_t pos = 4;
  auto put = [&](std::string_view s) { return out->Append(s.data(), s.size(), hit); };
  auto need = [&](uint64_t n, const char* what) {
    if (in.size() - pos >= n) return true;
    *why = std::string(what) + " cut short at offset " + std::to_string(pos);
    return false;
  };
  char num[64];
  while (lines > 0) {
    if (pos >= in.size()) {
      *why = std::to_string(lines) + " of its lines missing";
      return Detokenized::kCorrupt;
    }
    const auto kind = static_cast<uint8_t>(in[pos++]);
    std::string_view word;  // the token's text, before its trailing space
    std::string name;
    bool space = true;
    if (kind == 0x00 || kind == 0x01) {
      if (!need(4, "word number")) return Detokenized::kCorrupt;
      const uint32_t id = Le32(in, pos);
      pos += 4;
      const bool keyword = kind == 0x00;
      const size_t count = keyword ? std::size(kKeywords) : std::size(kFunctions);
      if (id >= count) {
        *why = std::string(keyword ? "keyword" : "function") + " number " + std::to_string(id) + " unknown";
        return Detokenized::kCorrupt;
      }
      word = keyword ? kKeywords[id] : kFunctions[id];
    } else if (kind == 0x05) {
      if (!need(4, "integer")) return Detokenized::kCorrupt;
      std::snprintf(num, sizeof num, "0x%08x", static_cast<unsigned>(Le32(in, pos)));
      pos += 4;
      word = num;
    } else if (kind == 0x10 || kind == 0x20) {
      if (!need(8, "number")) return Detokenized::kCorrupt;
      const uint64_t bits = Le32(in, pos) | uint64_t{Le32(in, pos + 4)} << 32;
      pos += 8;
      if (kind == 0x10) {
        std::snprintf(num, sizeof num, "0x%016llx", static_cast<unsigned long long>(bits));
      } else {
        std::snprintf(num, sizeof num, "%g", std::bit_cast<double>(bits));
      }
      word = num;
    } else if (kind >= 0x30 && kind <= 0x37) {
      if (!need(4, "name length")) return Detokenized::kCorrupt;
      const uint32_t units = Le32(in, pos);
      pos += 4;
      if (!need(uint64_t{units} * 2, "name")) return Detokenized::kCorrupt;
      // Each code unit is xor'ed with the low 16 bits of the length.
      std::string utf16(in.substr(pos, size_t{units} * 2));
      pos += utf16.size();
      for (size_t i = 0; i < utf16.size(); i += 2) {
        utf16[i] = static_cast<char>(static_cast<uint8_t>(utf16[i]) ^ static_cast<uint8_t>(units));
        utf16[i + 1] = static_cast<char>(static_cast<uint8_t>(utf16[i + 1]) ^ static_cast<uint8_t>(units >> 8));
      }
      if (const char mark = kNameMarks[kind - 0x30]) name.push_back(mark);
      name += Narrow(utf16);
      if (kind == kString) name.push_back('"');
      space = kind != kUserFunction;
      word = name;
    } else if (kind >= 0x40 && kind < 0x40 + std::size(kOperators)) {
      word = kOperators[kind - 0x40];
    } else if (kind == 0x7F) {
      --lines;
      word = "\n";
      space = false;
    } else {
      std::snprintf(num, sizeof num, "unknown token 0x%02x at offset %zu", kind, pos - 1);
      *why = num;
      return Detokenized::kCorrupt;
    }
    if (!put(word) || (space && !put(" "))) return Detokenized::kOverLimit;
  }
  return Detokenized::kOk;
}

// Hands on the EA06 script: as text when its tokens decode, else the
// tokens themselves with a warning. False when the sink ended the scan.
bool HandOnScript(std::string_view tokens, Context& ctx) {
  MemberBuffer text(ctx.budget);
  LimitHit hit = LimitHit::kNone;
  std::string why;
  switch (Detokenize(tokens, &text, &hit, &why)) {
    case Detokenized::kOk:
      return ctx.sink.Member("script.au3", text.view(), MemberKind::kFile);
    case Detokenized::kOverLimit:
      ctx.sink.LimitExceeded(hit);
      return true;
    case Detokenized::kCorrupt:
      break;
  }
  ctx.sink.Warn("autoit: script tokens do not decode (" + why + "); scanning them as script.a3x");
  return ctx.sink.Member("script.a3x", tokens, MemberKind::kFile);
}

// The member name for an entry of `subtype`: the scripts by convention,
// payloads by the last component of their source path, control characters
// (and, from EA05's 8-bit code page, bytes past ASCII) replaced.
std::string MemberName(const std::string& subtype, bool ea06, int index) {
  if (subtype == ">AUTOIT SCRIPT<" || subtype == ">AUTOIT UNICODE SCRIPT<") return "script.au3";
  if (subtype == kEa06Script) return "script.a3x";  // the tokens, when they do not decode
  const size_t slash = subtype.find_last_of("\\/");
  std::string base = subtype.substr(slash == std::string::npos ? 0 : slash + 1);
  for (char& c : base) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || (!ea06 && u >= 0x80)) c = '_';
  }
  if (base.empty() || base == "." || base == "..") return "file-" + std::to_string(index);
  return base;
}

// `s` with anything but printable ASCII shown as '?', for messages.
std::string Printable(std::string s) {
  for (char& c : s)
    if (c < 0x20 || c > 0x7E) c = '?';
  return s;
}

// Where the entries are read from.
struct Cursor {
  std::string_view d;
  size_t pos;
  bool Has(size_t n) const { return pos <= d.size() && d.size() - pos >= n; }
};

// One encrypted string of a length field xor `len_xor`, decrypted with
// base `seed`; false when it does not fit.
bool String(Cursor* c, const Scheme& s, uint32_t len_xor, uint32_t seed, std::string* out) {
  if (!c->Has(4)) return false;
  const uint32_t chars = Le32(c->d, c->pos) ^ len_xor;
  c->pos += 4;
  const uint64_t bytes = s.ea06 ? uint64_t{chars} * 2 : chars;
  if (chars > kMaxNameChars || !c->Has(bytes)) return false;
  std::string raw(c->d.substr(c->pos, static_cast<size_t>(bytes)));
  c->pos += static_cast<size_t>(bytes);
  s.Decrypt(seed + chars, &raw);
  *out = s.ea06 ? Utf16ToUtf8(raw) : raw;
  return true;
}

// The entries after the marker at `at`, counted in `*entries`; false when
// the sink ended the scan.
bool Entries(std::string_view data, size_t at, Context& ctx, int* entries) {
  const Scheme& s = data[at + kMarker.size()] == '6' ? kEa06 : kEa05;
  Cursor c{data, at + kMarker.size() + 1};
  uint32_t hash_sum = 0;
  for (size_t i = 0; i < kHashSize; ++i) hash_sum += static_cast<uint8_t>(data[c.pos + i]);
  c.pos += kHashSize;
  for (int& index = *entries; !ctx.Stopped(); ++index) {
    if (!c.Has(4)) return true;
    std::string tag(data.substr(c.pos, 4));
    s.Decrypt(s.tag_seed, &tag);
    // Anything else is the normal end (the trailing marker, or the rest
    // of the file).
    if (tag != "FILE") return true;
    c.pos += 4;
    std::string subtype, second_name;
    if (!String(&c, s, s.subtype_xor, s.subtype_seed, &subtype) ||
        !String(&c, s, s.name_xor, s.name_seed, &second_name) || !c.Has(13 + kTimesSize)) {
      ctx.sink.Warn("autoit: entry " + std::to_string(index) + " truncated or corrupt");
      return true;
    }
    const bool compressed = data[c.pos] == 1;
    uint64_t stored = Le32(data, c.pos + 1) ^ s.size_xor;
    const uint32_t expanded = Le32(data, c.pos + 5) ^ s.size_xor;
    const uint32_t checksum = Le32(data, c.pos + 9) ^ s.sum_xor;
    c.pos += 13 + kTimesSize;
    const std::string name = MemberName(subtype, s.ea06, index);
    bool damaged = false;
    if (!c.Has(stored)) {
      damaged = true;
      stored = data.size() - c.pos;
    }
    const size_t start = c.pos;
    c.pos += static_cast<size_t>(stored);
    // A marker entry that only tells the interpreter to refuse /AutoIt3ExecuteScript.
    if (subtype == ">>>AUTOIT NO CMDEXECUTE<<<") continue;
    if (!ctx.Admit(compressed ? expanded : stored)) {
      if (ctx.budget.exhausted()) return true;
      continue;
    }
    std::string bytes(data.substr(start, static_cast<size_t>(stored)));
    s.Decrypt(s.data_seed + (s.ea06 ? 0 : hash_sum), &bytes);
    if (damaged) {
      ctx.sink.Warn("autoit: " + name + " runs past the end; scanning what is there");
    } else if (Adler32(bytes) != checksum) {
      ctx.sink.Warn("autoit: " + name + ": checksum mismatch (corrupt or not decrypted right)");
    }
    MemberBuffer out(ctx.budget);
    std::string_view body = bytes;
    if (compressed) {
      LimitHit hit = LimitHit::kNone;
      switch (Expand(bytes, &out, &hit)) {
        case Expanded::kOverLimit:
          ctx.sink.LimitExceeded(hit);
          continue;
        case Expanded::kUnknown:
          ctx.sink.Warn("autoit: " + name + ": compression \"" + Printable(bytes.substr(0, 4)) + "\" not decoded");
          continue;
        case Expanded::kDamaged:
          ctx.sink.Warn("autoit: " + name + " is truncated or corrupt; scanning what decoded");
          break;
        case Expanded::kOk:
          break;
      }
      body = out.view();
    }
    if (s.ea06 && subtype == kEa06Script ? !HandOnScript(body, ctx) : !ctx.sink.Member(name, body, MemberKind::kFile))
      return false;
  }
  return true;
}

}  // namespace

Status ReadAutoIt(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  // The first marker followed by a version, the hash and entries; the copy
  // at the very end of the file has nothing after it, and a marker may
  // also occur as plain data (in a scanner's own code, say).
  bool seen = false;
  for (size_t at = data.find(kMarker); at != std::string_view::npos; at = data.find(kMarker, at + 1)) {
    const size_t after = at + kMarker.size();
    if (data.size() - after < 1 + kHashSize) break;
    if (data[after] != '5' && data[after] != '6') continue;
    seen = true;
    int entries = 0;
    *stop = !Entries(data, at, ctx, &entries);
    if (*stop || entries > 0 || ctx.Stopped()) return Status::Ok();
  }
  if (seen) ctx.sink.Warn("autoit: AU3!EA05/EA06 marker without entries after it");
  return Status::Ok();
}

}  // namespace vigil::unpack
