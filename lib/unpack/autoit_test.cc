#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

using testing::Le;

const std::string kGuid("\xA3\x48\x4B\xBE\x98\x6C\x4A\xA9\x99\x4C\x53\x0A\x86\xD6\x48\x7D", 16);

// The encoder side, written apart from the reader: the two keystreams.
std::string Mt(uint32_t seed, std::string s) {
  std::mt19937 g(seed);
  for (char& c : s) c = static_cast<char>(c ^ static_cast<char>((g() >> 1) & 0xFF));
  return s;
}

std::string Lame(uint32_t seed, std::string s) {
  std::array<uint32_t, 17> w{};
  for (auto& x : w) x = seed = 1 - seed * 0x53A9B4FBu;
  size_t a = 0, b = 10;
  auto rotl = [](uint32_t v, int n) { return v << n | v >> (32 - n); };
  auto step = [&] {
    uint32_t v = rotl(w[a], 9) + rotl(w[b], 13);
    w[a] = v;
    a = (a + 16) % 17;
    b = (b + 16) % 17;
    return v;
  };
  for (int i = 0; i < 9; ++i) step();
  for (char& c : s) {
    step();
    c = static_cast<char>(c ^ static_cast<char>(step() >> 24));
  }
  return s;
}

uint32_t Adler(const std::string& s) {
  uint32_t a = 1, b = 0;
  for (unsigned char c : s) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return b << 16 | a;
}

// Bits, most significant first, packed into 16-bit big-endian words.
class BitWriter {
 public:
  void Put(uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
      word_ = static_cast<uint16_t>(word_ << 1 | ((v >> i) & 1));
      if (++count_ == 16) Flush();
    }
  }
  std::string Finish() {
    if (count_) {
      word_ = static_cast<uint16_t>(word_ << (16 - count_));
      Flush();
    }
    return out_;
  }

 private:
  void Flush() {
    out_.push_back(static_cast<char>(word_ >> 8));
    out_.push_back(static_cast<char>(word_ & 0xFF));
    word_ = 0;
    count_ = 0;
  }
  std::string out_;
  uint16_t word_ = 0;
  int count_ = 0;
};

// A greedy compressor for the AutoIt bit stream (tag, BE size, bits).
std::string Compress(const std::string& in, bool ea06) {
  BitWriter w;
  const uint32_t literal = ea06 ? 1 : 0;
  size_t i = 0;
  while (i < in.size()) {
    size_t best = 0, dist = 0;
    for (size_t d = 1; d <= std::min<size_t>(i, 32767); ++d) {
      size_t n = 0;
      while (i + n < in.size() && in[i + n - d] == in[i + n]) ++n;
      if (n > best) best = n, dist = d;
    }
    if (best < 3) {
      w.Put(literal, 1);
      w.Put(static_cast<uint8_t>(in[i]), 8);
      ++i;
      continue;
    }
    w.Put(literal ^ 1, 1);
    w.Put(static_cast<uint32_t>(dist), 15);
    size_t l = best - 3;
    static constexpr int kWidths[] = {2, 3, 5, 8};
    bool done = false;
    for (int width : kWidths) {
      const size_t max = (1u << width) - 1;
      if (l < max) {
        w.Put(static_cast<uint32_t>(l), width);
        done = true;
        break;
      }
      w.Put(static_cast<uint32_t>(max), width);
      l -= max;
    }
    if (!done) {
      while (l >= 255) {
        w.Put(255, 8);
        l -= 255;
      }
      w.Put(static_cast<uint32_t>(l), 8);
    }
    i += best;
  }
  std::string size = {static_cast<char>(in.size() >> 24), static_cast<char>(in.size() >> 16),
                      static_cast<char>(in.size() >> 8), static_cast<char>(in.size())};
  return std::string(ea06 ? "EA06" : "EA05") + size + w.Finish();
}

std::string Utf16(const std::string& s) {
  std::string out;
  for (char c : s) out += std::string{c, '\0'};
  return out;
}

const std::string kHash = "0123456789abcdef";

uint32_t HashSum() {
  uint32_t sum = 0;
  for (unsigned char c : kHash) sum += c;
  return sum;
}

struct Item {
  std::string subtype;
  std::string data;
  bool compress = false;
};

// One entry; `stored` (the bytes before encryption) overrides the
// compressed or plain data when given.
std::string Entry(const Item& it, bool ea06, const std::string* stored = nullptr) {
  std::string body = stored ? *stored : it.compress ? Compress(it.data, ea06) : it.data;
  std::string out;
  if (!ea06) {
    out += Mt(0x16FA, "FILE");
    out += Le(it.subtype.size() ^ 0x29BC, 4) + Mt(0xA25E + static_cast<uint32_t>(it.subtype.size()), it.subtype);
    const std::string name = "dest";
    out += Le(name.size() ^ 0x29AC, 4) + Mt(0xF25E + static_cast<uint32_t>(name.size()), name);
    out += std::string(1, it.compress ? 1 : 0) + Le(body.size() ^ 0x45AA, 4) + Le(it.data.size() ^ 0x45AA, 4) +
           Le(Adler(body) ^ 0xC3D2, 4) + std::string(16, '\x11');
    out += Mt(0x22AF + HashSum(), body);
  } else {
    const auto chars = static_cast<uint32_t>(it.subtype.size());
    out += Lame(0x18EE, "FILE");
    out += Le(chars ^ 0xADBC, 4) + Lame(0xB33F + chars, Utf16(it.subtype));
    const std::string name = "dest";
    out += Le(name.size() ^ 0xF820, 4) + Lame(0xF479 + static_cast<uint32_t>(name.size()), Utf16(name));
    out += std::string(1, it.compress ? 1 : 0) + Le(body.size() ^ 0x87BC, 4) + Le(it.data.size() ^ 0x87BC, 4) +
           Le(Adler(body) ^ 0xA685, 4) + std::string(16, '\x11');
    out += Lame(0x2477, body);
  }
  return out;
}

std::string Program(const std::vector<Item>& items, bool ea06) {
  const std::string marker = kGuid + (ea06 ? "AU3!EA06" : "AU3!EA05");
  std::string s = testing::OverlayPe() + marker + kHash;
  for (const auto& it : items) s += Entry(it, ea06);
  return s + std::string(16, 'x') + marker;
}

const std::string kPayload = "MZ" + std::string(300, '\x90') + "payload payload payload payload" + std::string(50, 'z');

class AutoItTest : public ::testing::TestWithParam<bool> {};

TEST_P(AutoItTest, StoredAndCompressedEntriesAreMembers) {
  const bool ea06 = GetParam();
  // EA06: one line of tokens, MsgBox ( 0 ) (see the Tokens helpers below).
  const std::string script =
      ea06 ? std::string("\x01\0\0\0\x01\xf9\0\0\0\x47\x05\0\0\0\0\x48\x7f", 17) : "MsgBox(0, \"hi\", \"hi\")\r\n";
  std::vector<Item> items = {{ea06 ? ">>>AUTOIT SCRIPT<<<" : ">AUTOIT SCRIPT<", script, true},
                             {"C:\\build\\files\\clam.exe", kPayload, false},
                             {"D:/x/packed.bin", kPayload + kPayload + "tail", true},
                             {">>>AUTOIT NO CMDEXECUTE<<<", "", false}};
  auto r = testing::UnpackAll(Program(items, ea06));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 3u);
  EXPECT_EQ(r.members[0].first, "script.au3");
  EXPECT_EQ(r.members[0].second, ea06 ? "MSGBOX ( 0x00000000 ) \n" : script);
  EXPECT_EQ(r.members[1].first, "clam.exe");
  EXPECT_EQ(r.members[1].second, kPayload);
  EXPECT_EQ(r.members[2].first, "packed.bin");
  EXPECT_EQ(r.members[2].second, kPayload + kPayload + "tail");
}

TEST_P(AutoItTest, LongBackReferencesUseEveryLengthStep) {
  const bool ea06 = GetParam();
  // Runs of 4, 8, 20, 60, 400 and 1000 bytes exercise each length field.
  std::string data = "ab";
  for (size_t run : {4, 8, 20, 60, 400, 1000}) data += std::string(run, static_cast<char>('a' + run % 26)) + "|";
  const std::string packed = Compress(data, ea06);
  EXPECT_LT(packed.size(), data.size() / 4);
  auto r = testing::UnpackAll(Program({{"C:\\runs.txt", data, true}}, ea06));
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].second, data);
}

TEST_P(AutoItTest, TruncatedInputsWarnAndNeverCrash) {
  const bool ea06 = GetParam();
  const std::string full = Program({{"C:\\a.exe", kPayload, true}, {"C:\\b.exe", kPayload, false}}, ea06);
  const size_t start = testing::OverlayPe().size() + kGuid.size() + 8;
  size_t warned = 0;
  for (size_t cut = start; cut < full.size(); ++cut) {
    auto r = testing::UnpackAll(full.substr(0, cut));
    for (const auto& m : r.members) EXPECT_LE(m.second.size(), kPayload.size());
    if (!r.warnings.empty()) ++warned;
  }
  // Every cut inside an entry is reported (cuts between entries are a
  // normal end).
  EXPECT_GT(warned, (full.size() - start) * 3 / 4);
}

TEST_P(AutoItTest, CorruptEntriesWarn) {
  const bool ea06 = GetParam();
  // A flipped byte in the compressed data: checksum mismatch and/or a damaged stream.
  std::string s = Program({{"C:\\a.exe", kPayload, true}}, ea06);
  s[s.size() - 16 - 24 - 10] ^= 0x5A;
  auto r = testing::UnpackAll(s);
  EXPECT_FALSE(r.warnings.empty());

  // An unknown compression tag.
  Item it{"C:\\b.exe", kPayload, true};
  std::string odd = "ZZ99" + Compress(kPayload, ea06).substr(4);
  const std::string marker = kGuid + (ea06 ? "AU3!EA06" : "AU3!EA05");
  r = testing::UnpackAll(testing::OverlayPe() + marker + kHash + Entry(it, ea06, &odd));
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].find("ZZ99"), std::string::npos);
  EXPECT_TRUE(r.members.empty());

  // A back reference before the start of the output.
  BitWriter w;
  w.Put(ea06 ? 0 : 1, 1);
  w.Put(5, 15);
  w.Put(0, 2);
  std::string bad = std::string(ea06 ? "EA06" : "EA05") + std::string("\0\0\0\x10", 4) + w.Finish();
  r = testing::UnpackAll(testing::OverlayPe() + marker + kHash + Entry(it, ea06, &bad));
  EXPECT_FALSE(r.warnings.empty());

  // A marker with no entry after it.
  r = testing::UnpackAll(testing::OverlayPe() + marker + kHash + "garbage garbage");
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.warnings.empty());
}

TEST_P(AutoItTest, DeclaredSizesRespectTheMemberLimit) {
  const bool ea06 = GetParam();
  Limits l;
  l.max_filesize = 1000;
  // Declares 4 GiB and repeats one byte for ever: stopped at the limit.
  BitWriter w;
  w.Put(ea06 ? 1 : 0, 1);
  w.Put('A', 8);
  for (int i = 0; i < 200; ++i) {
    w.Put(ea06 ? 0 : 1, 1);
    w.Put(1, 15);
    w.Put(3, 2), w.Put(7, 3), w.Put(31, 5), w.Put(255, 8), w.Put(200, 8);
  }
  std::string bomb = std::string(ea06 ? "EA06" : "EA05") + std::string("\x00\x10\x00\x00", 4) + w.Finish();
  Item it{"C:\\bomb", std::string(900, 'A'), true};
  const std::string marker = kGuid + (ea06 ? "AU3!EA06" : "AU3!EA05");
  auto r = testing::UnpackAll(testing::OverlayPe() + marker + kHash + Entry(it, ea06, &bomb), l);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());

  // A stored entry over the limit is not extracted.
  r = testing::UnpackAll(Program({{"C:\\big", std::string(5000, 'b'), false}}, ea06), l);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());
}

TEST_P(AutoItTest, AMarkerInPlainDataIsPassedOver) {
  const bool ea06 = GetParam();
  const std::string marker = kGuid + (ea06 ? "AU3!EA06" : "AU3!EA05");
  std::string s = Program({{"C:\\a.exe", kPayload, true}}, ea06);
  s.insert(testing::OverlayPe().size(), marker + "not a hash, no entries either");
  auto r = testing::UnpackAll(s);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].second, kPayload);
}

TEST_P(AutoItTest, StopsWhenTheSinkSaysSo) {
  const bool ea06 = GetParam();
  std::string s = Program({{"C:\\a", "one", false}, {"C:\\b", "two", false}}, ea06);
  testing::RecordingSink sink;
  sink.stop_after = 1;
  Budget budget(Limits{});
  Context ctx{budget, sink, 1};
  bool stop = false;
  ASSERT_TRUE(ReadAutoIt(s, ctx, &stop).ok());
  EXPECT_TRUE(stop);
  EXPECT_EQ(sink.members.size(), 1u);
}

// EA06 token streams, built here: a line count, then tokens.
struct Tokens {
  std::string s;
  Tokens& Op(uint8_t kind) { return s.push_back(static_cast<char>(kind)), *this; }
  Tokens& Put(uint8_t kind, uint64_t v, int bytes) { return Op(kind), s += Le(v, bytes), *this; }
  Tokens& Word(uint8_t kind, uint32_t id) { return Put(kind, id, 4); }
  Tokens& Int(uint32_t v) { return Put(0x05, v, 4); }
  Tokens& Int64(uint64_t v) { return Put(0x10, v, 8); }
  Tokens& Double(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    return Put(0x20, bits, 8);
  }
  // A name or string: UTF-16 units, each xor the unit count.
  Tokens& Name(uint8_t kind, const std::u16string& text) {
    const auto n = static_cast<uint32_t>(text.size());
    Put(kind, n, 4);
    for (char16_t c : text) s += Le(static_cast<uint16_t>(c ^ n), 2);
    return *this;
  }
  Tokens& Eol() { return Op(0x7F); }
};

std::string Stream(uint32_t lines, const Tokens& t) { return Le(lines, 4) + t.s; }

// The script entry of an EA06 program carrying `tokens`.
testing::RecordingSink ScriptOf(const std::string& tokens, Limits l = {}) {
  return testing::UnpackAll(Program({{">>>AUTOIT SCRIPT<<<", tokens, true}}, true), l);
}

TEST(AutoItTokens, EveryTokenKindBecomesText) {
  Tokens t;
  t.Word(0, 32).Name(0x34, u"MyFunc").Op(0x47).Name(0x33, u"a").Op(0x40).Name(0x33, u"b").Op(0x48).Eol();
  t.Word(0, 28)
      .Name(0x33, u"x")
      .Op(0x41)
      .Int(42)
      .Op(0x49)
      .Int(0xFFFFFFFF)
      .Op(0x4C)
      .Int64(0x123456789AB)
      .Op(0x4B)
      .Double(1.5)
      .Op(0x4A)
      .Double(1e100)
      .Eol();
  t.Name(0x33, u"s").Op(0x41).Name(0x36, u"say \"hi\"").Op(0x4D).Name(0x32, u"CRLF").Op(0x4D).Name(0x36, u"").Eol();
  t.Name(0x33, u"o").Name(0x35, u"Item").Op(0x4E).Int(0).Op(0x4F).Op(0x52).Word(1, 249).Op(0x47).Op(0x48).Eol();
  t.Name(0x37, u"include-once").Name(0x30, u"construct").Name(0x31, u"command").Eol();
  // Every operator, then every keyword and the first and last function.
  for (uint8_t op = 0x40; op <= 0x58; ++op) t.Op(op);
  t.Eol();
  for (uint32_t k = 0; k <= 44; ++k) t.Word(0, k);
  t.Word(1, 0).Word(1, 405).Eol();
  auto r = ScriptOf(Stream(7, t));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].first, "script.au3");
  EXPECT_EQ(r.members[0].second,
            "FUNC MyFunc( $a , $b ) \n"
            "LOCAL $x = 0x0000002a + 0xffffffff * 0x00000123456789ab / 1.5 - 1e+100 \n"
            "$s = \"say \"hi\"\" & @CRLF & \"\" \n"
            "$o .Item [ 0x00000000 ] += MSGBOX ( ) \n"
            "include-once construct command \n"  // no "#", as in clamscan
            ", = > < <> >= <= ( ) + - / * & [ ] == ^ += -= /= *= &= ? : \n"
            "UNKNOWN_0 AND OR NOT IF THEN ELSE ELSEIF ENDIF WHILE WEND DO UNTIL FOR NEXT TO STEP IN EXITLOOP "
            "CONTINUELOOP SELECT CASE ENDSELECT SWITCH ENDSWITCH CONTINUECASE DIM REDIM LOCAL GLOBAL CONST STATIC "
            "FUNC ENDFUNC RETURN EXIT BYREF WITH ENDWITH TRUE FALSE DEFAULT NULL VOLATILE ENUM ABS "
            "WINWAITNOTACTIVE \n");
}

TEST(AutoItTokens, NamesAreNarrowedLikeClamscan) {
  // Text past ASCII keeps each unit's low byte; mostly wide text keeps half
  // its raw UTF-16; a byte order mark is dropped, and the last byte is then
  // the one at position n - 1 of the UTF-16 (here the high byte of 'a').
  Tokens t;
  t.Name(0x36, u"caf\u00e9 \u20ac").Eol();
  t.Name(0x36, u"\u4f60\u597d\u4e16\u754c").Eol();
  t.Name(0x36, u"\ufeffabc").Eol();
  auto r = ScriptOf(Stream(3, t));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].second, std::string("\"caf\xe9 \xac\" \n\"\x60\x4f\x7d\x59\" \n\"abc\0\" \n", 26));
}

TEST(AutoItTokens, LinesAfterTheCountAreIgnored) {
  Tokens t;
  t.Word(0, 35).Eol().Op(0x99).Op(0x99);
  auto r = ScriptOf(Stream(1, t));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].second, "EXIT \n");
}

TEST(AutoItTokens, CorruptOrTruncatedStreamsFallBackToTheTokens) {
  Tokens good;
  good.Word(0, 28)
      .Name(0x33, u"name")
      .Op(0x41)
      .Int(7)
      .Op(0x4D)
      .Int64(1)
      .Op(0x4D)
      .Double(2)
      .Op(0x4D)
      .Name(0x36, u"text")
      .Eol();
  const std::string full = Stream(1, good);
  // Every cut short of the end (the last byte is the line end) falls back.
  for (size_t cut = 0; cut < full.size(); ++cut) {
    SCOPED_TRACE(cut);
    const std::string tokens = full.substr(0, cut);
    auto r = ScriptOf(tokens);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings.back().find("script.a3x"), std::string::npos) << r.warnings.back();
    ASSERT_EQ(r.members.size(), 1u);
    EXPECT_EQ(r.members[0].first, "script.a3x");
    EXPECT_EQ(r.members[0].second, tokens);
  }
  // Unknown token kinds and word numbers, and a length past the end.
  for (const std::string& bad :
       {Stream(1, Tokens().Op(0x06).Eol()), Stream(1, Tokens().Op(0x59).Eol()), Stream(1, Tokens().Word(0, 45).Eol()),
        Stream(1, Tokens().Word(1, 406).Eol()), Stream(1, Tokens().Word(1, 0xFFFFFFFF).Eol()),
        Stream(1, Tokens().Put(0x36, 0x80000000u, 4).Op('a').Op('b').Eol())}) {
    auto r = ScriptOf(bad);
    ASSERT_EQ(r.warnings.size(), 1u);
    ASSERT_EQ(r.members.size(), 1u);
    EXPECT_EQ(r.members[0].first, "script.a3x");
    EXPECT_EQ(r.members[0].second, bad);
  }
  // Random damage never crashes and always ends in one member.
  std::mt19937 g(7);
  for (int i = 0; i < 300; ++i) {
    std::string s = full;
    s[g() % s.size()] = static_cast<char>(g());
    auto r = ScriptOf(s);
    EXPECT_EQ(r.members.size(), 1u);
  }
}

TEST(AutoItTokens, TextRespectsTheMemberLimit) {
  // 400 integer tokens (5 bytes each) become 4400 bytes of text.
  Tokens t;
  for (int i = 0; i < 400; ++i) t.Int(i);
  t.Eol();
  Limits l;
  l.max_filesize = 3000;
  auto r = ScriptOf(Stream(1, t), l);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.limits.empty());
}

INSTANTIATE_TEST_SUITE_P(Versions, AutoItTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "EA06" : "EA05"; });

std::string Sha256Hex(std::string_view d) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(d.data(), d.size(), md, &n, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += {kHex[md[i] >> 4], kHex[md[i] & 15]};
  return out;
}

// clamav-testfiles' AutoIt programs carry clam.exe as a FileInstall
// payload: it must come out exactly.
TEST(AutoIt, ClamavTestfiles) {
  const std::filesystem::path dir = "/usr/share/clamav-testfiles";
  if (!std::filesystem::exists(dir / "clam.ea05.exe"))
    GTEST_SKIP() << "clamav-testfiles not installed (scripts/setup.sh)";
  for (const char* name : {"clam.ea05.exe", "clam.ea06.exe"}) {
    SCOPED_TRACE(name);
    std::ifstream f(dir / name, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string data = ss.str();
    testing::RecordingSink sink;
    Budget budget(Limits{});
    Context ctx{budget, sink, 1};
    bool stop = false;
    ASSERT_TRUE(ReadAutoIt(data, ctx, &stop).ok());
    EXPECT_TRUE(sink.warnings.empty()) << sink.warnings.front();
    bool found = false;
    for (const auto& [member, bytes] : sink.members) {
      if (member != "clam.exe") continue;
      found = true;
      EXPECT_EQ(bytes.size(), 544u);
      EXPECT_EQ(Sha256Hex(bytes), "71e7b604d18aefd839e51a39c88df8383bb4c071dc31f87f00a2b5df580d4495");
    }
    EXPECT_TRUE(found);
    ASSERT_FALSE(sink.members.empty());
    EXPECT_EQ(sink.members[0].first, "script.au3");
    if (std::string(name) != "clam.ea06.exe") continue;
    // What clamscan 1.4.6 leaves of the script with --leave-temps (11960
    // bytes): the same text, byte for byte.
    const std::string& text = sink.members[0].second;
    const std::string start =
        "FUNC _FILECOUNTLINES( $SFILEPATH ) \n"
        "LOCAL $N = FILEGETSIZE ( $SFILEPATH ) - 0x00000001 \n"
        "IF @ERROR OR $N = - 0x00000001 THEN ";
    EXPECT_EQ(text.substr(0, start.size()), start);
    EXPECT_EQ(text.size(), 11960u);
    EXPECT_EQ(Sha256Hex(text), "97058294691076adf0f20aea3171116d25ad3080636d9617a6f465d33c625912");
  }
}

}  // namespace
}  // namespace vigil::unpack
