#include "policy/screening.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>

#include "policy/csv.h"

namespace vigil::policy {
namespace {

// ---- name normalisation ---------------------------------------------------

struct Fold {
  char32_t lo, hi;
  const char* to;  // "" drops the character, " " separates
};

// Latin-1 Supplement letters, Latin Extended-A and -B, folded to ASCII.
// Ranges hold letters of one base (upper and lower case alternate in them).
constexpr Fold kLatin[] = {
    {0xC0, 0xC5, "a"}, {0xC6, 0xC6, "ae"}, {0xC7, 0xC7, "c"}, {0xC8, 0xCB, "e"}, {0xCC, 0xCF, "i"},
    {0xD0, 0xD0, "d"}, {0xD1, 0xD1, "n"}, {0xD2, 0xD6, "o"}, {0xD7, 0xD7, " "}, {0xD8, 0xD8, "o"},
    {0xD9, 0xDC, "u"}, {0xDD, 0xDD, "y"}, {0xDE, 0xDE, "th"}, {0xDF, 0xDF, "ss"}, {0xE0, 0xE5, "a"},
    {0xE6, 0xE6, "ae"}, {0xE7, 0xE7, "c"}, {0xE8, 0xEB, "e"}, {0xEC, 0xEF, "i"}, {0xF0, 0xF0, "d"},
    {0xF1, 0xF1, "n"}, {0xF2, 0xF6, "o"}, {0xF7, 0xF7, " "}, {0xF8, 0xF8, "o"}, {0xF9, 0xFC, "u"},
    {0xFD, 0xFD, "y"}, {0xFE, 0xFE, "th"}, {0xFF, 0xFF, "y"},
    // Latin Extended-A
    {0x100, 0x105, "a"}, {0x106, 0x10D, "c"}, {0x10E, 0x111, "d"}, {0x112, 0x11B, "e"}, {0x11C, 0x123, "g"},
    {0x124, 0x127, "h"}, {0x128, 0x131, "i"}, {0x132, 0x133, "ij"}, {0x134, 0x135, "j"}, {0x136, 0x138, "k"},
    {0x139, 0x142, "l"}, {0x143, 0x14B, "n"}, {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"},
    {0x15A, 0x161, "s"}, {0x162, 0x167, "t"}, {0x168, 0x173, "u"}, {0x174, 0x175, "w"}, {0x176, 0x178, "y"},
    {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},
    // Latin Extended-B
    {0x180, 0x185, "b"}, {0x186, 0x186, "o"}, {0x187, 0x188, "c"}, {0x189, 0x18C, "d"}, {0x18D, 0x18D, ""},
    {0x18E, 0x190, "e"}, {0x191, 0x192, "f"}, {0x193, 0x194, "g"}, {0x195, 0x195, "hv"}, {0x196, 0x197, "i"},
    {0x198, 0x199, "k"}, {0x19A, 0x19B, "l"}, {0x19C, 0x19C, "m"}, {0x19D, 0x19E, "n"}, {0x19F, 0x1A1, "o"},
    {0x1A2, 0x1A3, "oi"}, {0x1A4, 0x1A5, "p"}, {0x1A6, 0x1A6, "r"}, {0x1A7, 0x1A8, "s"}, {0x1A9, 0x1AA, "sh"},
    {0x1AB, 0x1AE, "t"}, {0x1AF, 0x1B1, "u"}, {0x1B2, 0x1B2, "v"}, {0x1B3, 0x1B4, "y"}, {0x1B5, 0x1BB, "z"},
    {0x1BC, 0x1C3, ""}, {0x1C4, 0x1C6, "dz"}, {0x1C7, 0x1C9, "lj"}, {0x1CA, 0x1CC, "nj"}, {0x1CD, 0x1CE, "a"},
    {0x1CF, 0x1D0, "i"}, {0x1D1, 0x1D2, "o"}, {0x1D3, 0x1DC, "u"}, {0x1DD, 0x1DD, "e"}, {0x1DE, 0x1E1, "a"},
    {0x1E2, 0x1E3, "ae"}, {0x1E4, 0x1E7, "g"}, {0x1E8, 0x1E9, "k"}, {0x1EA, 0x1ED, "o"}, {0x1EE, 0x1EF, "z"},
    {0x1F0, 0x1F0, "j"}, {0x1F1, 0x1F3, "dz"}, {0x1F4, 0x1F5, "g"}, {0x1F6, 0x1F6, "hv"}, {0x1F7, 0x1F7, "w"},
    {0x1F8, 0x1F9, "n"}, {0x1FA, 0x1FB, "a"}, {0x1FC, 0x1FD, "ae"}, {0x1FE, 0x1FF, "o"}, {0x200, 0x203, "a"},
    {0x204, 0x207, "e"}, {0x208, 0x20B, "i"}, {0x20C, 0x20F, "o"}, {0x210, 0x213, "r"}, {0x214, 0x217, "u"},
    {0x218, 0x219, "s"}, {0x21A, 0x21B, "t"}, {0x21C, 0x21D, "y"}, {0x21E, 0x21F, "h"}, {0x220, 0x220, "n"},
    {0x221, 0x221, "d"}, {0x222, 0x223, "ou"}, {0x224, 0x225, "z"}, {0x226, 0x227, "a"}, {0x228, 0x229, "e"},
    {0x22A, 0x231, "o"}, {0x232, 0x233, "y"}, {0x234, 0x234, "l"}, {0x235, 0x235, "n"}, {0x236, 0x236, "t"},
    {0x237, 0x237, "j"}, {0x238, 0x238, "db"}, {0x239, 0x239, "qp"}, {0x23A, 0x23A, "a"}, {0x23B, 0x23C, "c"},
    {0x23D, 0x23D, "l"}, {0x23E, 0x23E, "t"}, {0x23F, 0x23F, "s"}, {0x240, 0x240, "z"}, {0x241, 0x242, ""},
    {0x243, 0x243, "b"}, {0x244, 0x244, "u"}, {0x245, 0x245, "v"}, {0x246, 0x247, "e"}, {0x248, 0x249, "j"},
    {0x24A, 0x24B, "q"}, {0x24C, 0x24D, "r"}, {0x24E, 0x24F, "y"},
};

// Cyrillic а..я (U+0430..U+044F), ICAO Doc 9303.
constexpr const char* kCyrillic[32] = {"a", "b", "v",  "g",  "d", "e",    "zh", "z", "i", "i", "k",
                                       "l", "m", "n",  "o",  "p", "r",    "s",  "t", "u", "f", "kh",
                                       "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia"};
// ѐ..џ (U+0450..U+045F): Ukrainian, Belarusian, Serbian and Macedonian letters.
constexpr const char* kCyrillicExt[16] = {"e", "e", "d", "g", "ie", "dz", "i", "i",
                                          "j", "lj", "nj", "c", "k", "i", "u", "dz"};
// Greek α..ω (U+03B1..U+03C9), ELOT 743; Greek() handles the digraphs.
constexpr const char* kGreek[25] = {"a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n",
                                    "x", "o", "p", "r", "s", "s", "t", "y", "f", "ch", "ps", "o"};

// Transliteration writes '.' as kDot, every other separator as ' '.
constexpr char kDot = '\x1f';
constexpr char kSeparators[] = {' ', kDot, '\0'};

// Decodes one UTF-8 code point at s[*i]; invalid input yields U+FFFD and
// consumes one byte.
char32_t Decode(std::string_view s, size_t* i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(*i);
  if (c < 0x80) { ++*i; return c; }
  int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (len == 0 || c > 0xF4 || *i + static_cast<size_t>(len) > s.size()) { ++*i; return 0xFFFD; }
  char32_t cp = c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    unsigned char d = b(*i + static_cast<size_t>(k));
    if ((d & 0xC0) != 0x80) { ++*i; return 0xFFFD; }
    cp = cp << 6 | (d & 0x3F);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { ++*i; return 0xFFFD; }
  *i += static_cast<size_t>(len);
  return cp;
}

// Greek letters to plain lower case (capitals, tonos); 0 for anything else.
// ϊ ϋ ΐ ΰ keep their dialytika: it marks a vowel that forms no diphthong.
char32_t GreekBase(char32_t cp) {
  switch (cp) {
    case 0x386: case 0x3AC: return 0x3B1;
    case 0x388: case 0x3AD: return 0x3B5;
    case 0x389: case 0x3AE: return 0x3B7;
    case 0x38A: case 0x3AF: return 0x3B9;
    case 0x38C: case 0x3CC: return 0x3BF;
    case 0x38E: case 0x3CD: return 0x3C5;
    case 0x38F: case 0x3CE: return 0x3C9;
    case 0x3AA: case 0x3CA: case 0x390: return 0x3CA;
    case 0x3AB: case 0x3CB: case 0x3B0: return 0x3CB;
    default: break;
  }
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 0x20;
  if (cp >= 0x3B1 && cp <= 0x3C9) return cp;
  return 0;
}

bool GreekVoiceless(char32_t g) {  // θ κ ξ π σ ς τ φ χ ψ
  return g == 0x3B8 || g == 0x3BA || g == 0x3BE || g == 0x3C0 || g == 0x3C2 || g == 0x3C3 || g == 0x3C4 ||
         g == 0x3C6 || g == 0x3C7 || g == 0x3C8;
}

// ELOT 743 for one Greek letter `g` between `prev` and `next` (GreekBase
// values, 0 for non-Greek): the digraphs ου -> ou, αυ/ευ/ηυ -> av/ev/iv or
// af/ef/if (before a voiceless consonant or at the end of a word), and γ
// before γ κ ξ χ -> n.
void Greek(char32_t prev, char32_t g, char32_t next, std::string* out) {
  if (g == 0x3CA) { out->push_back('i'); return; }
  if (g == 0x3CB) { out->push_back('y'); return; }
  if (g == 0x3C5) {
    if (prev == 0x3BF) { out->push_back('u'); return; }
    if (prev == 0x3B1 || prev == 0x3B5 || prev == 0x3B7) {
      out->push_back(next == 0 || GreekVoiceless(next) ? 'f' : 'v');
      return;
    }
  }
  if (g == 0x3B3 && (next == 0x3B3 || next == 0x3BA || next == 0x3BE || next == 0x3C7)) {
    out->push_back('n');
    return;
  }
  out->append(kGreek[g - 0x3B1]);
}

// Appends what `cp` becomes; `raw` is its UTF-8 for scripts kept as they
// are; `prev` and `next` are the neighbouring code points.
void Transliterate(char32_t prev, char32_t cp, char32_t next, std::string_view raw, NameFold fold, std::string* out) {
  if (cp < 0x80) {
    char c = static_cast<char>(cp);
    if (c >= 'A' && c <= 'Z') out->push_back(static_cast<char>(c - 'A' + 'a'));
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out->push_back(c);
    else if (c == '\'' || c == '`') {}  // O'Brien, D`Arcy: one word
    else if (c == '.') out->push_back(kDot);
    else out->push_back(' ');
    return;
  }
  if (fold == NameFold::kGermanUmlauts) {
    switch (cp) {
      case 0xC4: case 0xE4: out->append("ae"); return;  // Ä ä
      case 0xD6: case 0xF6: out->append("oe"); return;  // Ö ö
      case 0xDC: case 0xFC: out->append("ue"); return;  // Ü ü
      default: break;
    }
  }
  if (cp >= 0xC0 && cp <= 0x24F) {
    for (const Fold& f : kLatin)
      if (cp >= f.lo && cp <= f.hi) { out->append(f.to); return; }
  }
  if (cp >= 0x400 && cp <= 0x40F) cp += 0x50;  // Ѐ..Џ -> ѐ..џ
  if (cp >= 0x410 && cp <= 0x42F) cp += 0x20;  // А..Я -> а..я
  if (cp >= 0x430 && cp <= 0x44F) { out->append(kCyrillic[cp - 0x430]); return; }
  if (cp >= 0x450 && cp <= 0x45F) { out->append(kCyrillicExt[cp - 0x450]); return; }
  if (cp == 0x490 || cp == 0x491) { out->push_back('g'); return; }  // Ґ ґ
  if (char32_t g = GreekBase(cp)) { Greek(GreekBase(prev), g, GreekBase(next), out); return; }
  if (cp >= 0x300 && cp <= 0x36F) return;  // combining marks (decomposed accents)
  // Apostrophe-like marks, including the primes some transliterations use for ь.
  if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC || cp == 0x02B9 || cp == 0x02BA || cp == 0xB4 || cp == 0xFEFF) return;
  if ((cp >= 0x80 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x206F) || cp == 0x3000 || cp == 0xFFFD ||
      (cp >= 0x2E00 && cp <= 0x2E7F) || (cp >= 0x3001 && cp <= 0x3003) || (cp >= 0xFF01 && cp <= 0xFF0F)) {
    out->push_back(' ');
    return;
  }
  out->append(raw);
}

bool NoiseToken(std::string_view t) {
  // Legal forms and articles: present or not, they name the same party.
  static constexpr std::string_view kNoise[] = {
      "ab",   "ae",   "ag",      "ao",     "bv",   "cjsc",  "co",          "company", "corp",  "corporation", "epe", "ike",
      "gmbh", "inc",     "incorporated", "jsc",  "kg",    "limited", "llc",   "llp",   "lp",
      "ltd",  "nv",      "oao",    "ojsc", "ooo",   "pao",         "pjsc",    "plc",   "pte",
      "pty",  "sa",      "sarl",   "spa",  "srl",   "the",         "zao"};
  return std::find(std::begin(kNoise), std::end(kNoise), t) != std::end(kNoise);
}

// ---- list loading ----------------------------------------------------------

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> SplitList(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (true) {
    size_t p = s.find(sep);
    std::string_view part = Trim(s.substr(0, p));
    if (!part.empty()) out.emplace_back(part);
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return out;
}

void AddUnique(std::vector<std::string>* v, std::string s) {
  if (!s.empty() && std::find(v->begin(), v->end(), s) == v->end()) v->push_back(std::move(s));
}

enum class Format { kCsl, kOpenSanctions };

constexpr const char* kFormats =
    "expected the header of the US Consolidated Screening List CSV (source,entity_number,type,programs,name,"
    "...,alt_names,...) or of the OpenSanctions simple CSV (id,schema,name,aliases,...,countries,...,dataset,...)";

}  // namespace

namespace {

bool HasGermanUmlaut(std::string_view utf8) {
  // UTF-8 of Ä Ö Ü ä ö ü: C3 84, C3 96, C3 9C, C3 A4, C3 B6, C3 BC
  for (size_t i = 0; i + 1 < utf8.size(); ++i) {
    if (static_cast<unsigned char>(utf8[i]) != 0xC3) continue;
    switch (static_cast<unsigned char>(utf8[i + 1])) {
      case 0x84: case 0x96: case 0x9C: case 0xA4: case 0xB6: case 0xBC: return true;
      default: break;
    }
  }
  return false;
}

}  // namespace

std::string NormaliseName(std::string_view utf8, NameFold fold) {
  struct Cp {
    char32_t cp;
    std::string_view raw;
  };
  std::vector<Cp> cps;
  cps.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    size_t start = i;
    char32_t cp = Decode(utf8, &i);
    cps.push_back({cp, utf8.substr(start, i - start)});
  }
  std::string flat;
  flat.reserve(utf8.size());
  for (size_t i = 0; i < cps.size(); ++i)
    Transliterate(i ? cps[i - 1].cp : 0, cps[i].cp, i + 1 < cps.size() ? cps[i + 1].cp : 0, cps[i].raw, fold, &flat);
  // One-letter tokens joined by dots are initialisms: "A.E.", "S. A." and
  // "U.S.A." become "ae", "sa" and "usa" (then noise, for legal forms).
  // Only dots join, so normalising a normalised name changes nothing.
  std::vector<std::string> tokens;
  std::string_view rest = flat;
  bool joinable = false;  // the last token is an initialism that a dot left open
  while (!rest.empty()) {
    size_t p = rest.find_first_of(kSeparators);
    std::string_view tok = rest.substr(0, p);
    const bool dot_after = p != std::string_view::npos && rest[p] == kDot;
    if (!tok.empty()) {
      if (tok.size() == 1 && joinable) tokens.back().append(tok);
      else tokens.emplace_back(tok);
      joinable = tok.size() == 1 && dot_after;
    }
    if (p == std::string_view::npos) break;
    rest.remove_prefix(p + 1);
  }
  tokens.erase(std::remove_if(tokens.begin(), tokens.end(), [](const std::string& t) { return NoiseToken(t); }),
               tokens.end());
  std::sort(tokens.begin(), tokens.end());
  std::string out;
  for (const std::string& t : tokens) {
    if (!out.empty()) out.push_back(' ');
    out.append(t);
  }
  return out;
}

double JaroWinkler(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 1.0;
  if (a.empty() || b.empty()) return 0.0;
  if (a.size() > b.size()) std::swap(a, b);  // the score is symmetric
  const size_t window = b.size() / 2 >= 1 ? b.size() / 2 - 1 : 0;
  // Most names are short: keep the match flags on the stack.
  std::array<bool, 256> sa{}, sb{};
  std::vector<bool> va, vb;
  const bool small = b.size() <= sa.size();
  if (!small) { va.assign(a.size(), false); vb.assign(b.size(), false); }
  auto ma = [&](size_t i) -> bool { return small ? sa[i] : va[i]; };
  auto mb = [&](size_t i) -> bool { return small ? sb[i] : vb[i]; };
  auto set_a = [&](size_t i) { if (small) sa[i] = true; else va[i] = true; };
  auto set_b = [&](size_t i) { if (small) sb[i] = true; else vb[i] = true; };
  size_t m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    size_t lo = i > window ? i - window : 0;
    size_t hi = std::min(b.size(), i + window + 1);
    for (size_t j = lo; j < hi; ++j) {
      if (mb(j) || a[i] != b[j]) continue;
      set_a(i);
      set_b(j);
      ++m;
      break;
    }
  }
  if (m == 0) return 0.0;
  size_t half_transpositions = 0;
  for (size_t i = 0, j = 0; i < a.size(); ++i) {
    if (!ma(i)) continue;
    while (!mb(j)) ++j;
    if (a[i] != b[j]) ++half_transpositions;
    ++j;
  }
  const double md = static_cast<double>(m);
  const double t = static_cast<double>(half_transpositions / 2);
  const double jaro = (md / static_cast<double>(a.size()) + md / static_cast<double>(b.size()) + (md - t) / md) / 3.0;
  size_t prefix = 0;
  while (prefix < 4 && prefix < a.size() && a[prefix] == b[prefix]) ++prefix;
  return jaro + static_cast<double>(prefix) * 0.1 * (1.0 - jaro);
}

Result<std::vector<Party>> ParseDeniedParties(std::string_view text, const std::string& file_name) {
  auto csv = ParseCsvRecords(text, file_name);
  if (!csv.ok()) return csv.status();
  const std::vector<CsvRecord>& rows = *csv;
  if (rows.empty()) return Status::Corruption(file_name + ": empty list; " + kFormats);
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < rows[0].fields.size(); ++i) {
    std::string h(Trim(rows[0].fields[i]));
    for (char& c : h)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    col.emplace(h, i);
  }
  auto has = [&](std::initializer_list<const char*> names) {
    return std::all_of(names.begin(), names.end(), [&](const char* n) { return col.count(n) > 0; });
  };
  Format format;
  if (has({"source", "entity_number", "type", "programs", "name", "alt_names"})) format = Format::kCsl;
  else if (has({"id", "schema", "name", "aliases", "countries", "dataset"})) format = Format::kOpenSanctions;
  else return Status::Corruption(file_name + ":" + std::to_string(rows[0].line) + ": unrecognised header; " + kFormats);

  const size_t width = rows[0].fields.size();
  auto field = [&](const CsvRecord& r, const char* name) -> std::string_view {
    auto it = col.find(name);
    return it == col.end() ? std::string_view() : Trim(r.fields[it->second]);
  };
  std::vector<Party> out;
  for (size_t k = 1; k < rows.size(); ++k) {
    const CsvRecord& r = rows[k];
    if (r.fields.size() != width)
      return Status::Corruption(file_name + ":" + std::to_string(r.line) + ": row has " + std::to_string(r.fields.size()) +
                                " fields, the header has " + std::to_string(width));
    Party p;
    p.list_file = file_name;
    p.name = std::string(field(r, "name"));
    if (format == Format::kCsl) {
      p.id = std::string(field(r, "entity_number"));
      if (p.id.empty()) p.id = std::string(field(r, "_id"));
      p.source = std::string(field(r, "source"));
      for (auto& a : SplitList(field(r, "alt_names"), ';')) AddUnique(&p.aliases, std::move(a));
      // Each address ends with its country ("..., Moscow, 125212, RU").
      for (const auto& addr : SplitList(field(r, "addresses"), ';')) {
        size_t comma = addr.rfind(',');
        AddUnique(&p.countries, std::string(Trim(comma == std::string::npos ? std::string_view(addr)
                                                                              : std::string_view(addr).substr(comma + 1))));
      }
      for (const char* c : {"citizenships", "nationalities"})
        for (auto& v : SplitList(field(r, c), ';')) AddUnique(&p.countries, std::move(v));
    } else {
      p.id = std::string(field(r, "id"));
      p.source = std::string(field(r, "dataset"));
      for (auto& a : SplitList(field(r, "aliases"), ';')) AddUnique(&p.aliases, std::move(a));
      for (auto& c : SplitList(field(r, "countries"), ';')) AddUnique(&p.countries, std::move(c));
    }
    // A row without a name is screened by its first alias; one with
    // neither has nothing to screen.
    if (p.name.empty()) {
      if (p.aliases.empty()) continue;
      p.name = p.aliases.front();
      p.aliases.erase(p.aliases.begin());
    }
    p.aliases.erase(std::remove(p.aliases.begin(), p.aliases.end(), p.name), p.aliases.end());
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<Party>> LoadDeniedParties(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open the denied-party list");
  std::string text;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxListFile) return Status::InvalidArgument(path + ": list larger than 2 GiB");
  }
  if (in.bad()) return Status::IoError(path + ": read error");
  return ParseDeniedParties(text, path);
}

namespace {
// Names are compared whole; past this length a "name" is not one, and
// Jaro-Winkler's quadratic worst case would let one row slow every request.
constexpr size_t kMaxNameBytes = 512;

std::string Clip(std::string s) {
  if (s.size() <= kMaxNameBytes) return s;
  size_t cut = s.rfind(' ', kMaxNameBytes);
  s.resize(cut == std::string::npos || cut == 0 ? kMaxNameBytes : cut);
  return s;
}
}  // namespace

void Screener::Add(std::vector<Party> parties) {
  for (Party& p : parties) {
    const size_t idx = parties_.size();
    parties_.push_back(std::move(p));
    const Party& q = parties_.back();
    for (size_t n = 0; n <= q.aliases.size(); ++n) {
      const std::string& name = n == 0 ? q.name : q.aliases[n - 1];
      std::string norm = Clip(NormaliseName(name));
      if (norm.empty()) continue;
      // "Müller" is also written "Mueller": both spellings are entries.
      if (HasGermanUmlaut(name)) {
        std::string alt = Clip(NormaliseName(name, NameFold::kGermanUmlauts));
        if (alt != norm) entries_.push_back({std::move(alt), idx, n});
      }
      entries_.push_back({std::move(norm), idx, n});
    }
  }
}

std::optional<ScreenMatch> Screener::Screen(std::string_view name, double threshold) const {
  std::vector<std::string> queries{Clip(NormaliseName(name))};
  if (queries[0].empty()) return std::nullopt;
  if (HasGermanUmlaut(name)) {
    std::string alt = Clip(NormaliseName(name, NameFold::kGermanUmlauts));
    if (alt != queries[0]) queries.push_back(std::move(alt));
  }
  // Jaro-Winkler <= 0.6 * jaro + 0.4 and jaro <= (2 + short/long) / 3, so a
  // length ratio below this bound cannot reach the threshold.
  const double min_jaro = (threshold - 0.4) / 0.6;
  const double min_ratio = 3 * min_jaro - 2 - 1e-9;
  const Entry* best = nullptr;
  double best_score = -1;
  for (const Entry& e : entries_) {
    for (const std::string& q : queries) {
      const double lq = static_cast<double>(q.size()), le = static_cast<double>(e.normalised.size());
      if (std::min(lq, le) < min_ratio * std::max(lq, le)) continue;
      const double s = JaroWinkler(q, e.normalised);
      if (s >= threshold && s > best_score) {
        best = &e;
        best_score = s;
      }
    }
  }
  if (!best) return std::nullopt;
  const Party& p = parties_[best->party];
  return ScreenMatch{best_score, &p, best->name_index == 0 ? p.name : p.aliases[best->name_index - 1]};
}

}  // namespace vigil::policy
