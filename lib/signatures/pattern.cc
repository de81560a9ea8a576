#include "signatures/pattern.h"

#include <algorithm>
#include <charconv>

namespace vigil::sig {
namespace {

// "{n}" below this many bytes stays inside a part (clamscan expands it to
// n "??"); from this size on it splits the pattern like "*".
constexpr uint32_t kMaxFixedGap = 127;
// The longest byte-anchored range "[x-y]" clamscan accepts.
constexpr uint32_t kMaxByteRange = 32;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses one byte position ("4d", "??", "4?", "?d") at s[i..i+2).
bool ParseBytePos(std::string_view s, size_t i, ByteMatch* out) {
  if (i + 2 > s.size()) return false;
  char hi = s[i], lo = s[i + 1];
  int h = hi == '?' ? -2 : HexValue(hi);
  int l = lo == '?' ? -2 : HexValue(lo);
  if (h == -1 || l == -1) return false;
  uint8_t mask = 0, value = 0;
  if (h >= 0) { mask |= 0xf0; value |= static_cast<uint8_t>(h << 4); }
  if (l >= 0) { mask |= 0x0f; value |= static_cast<uint8_t>(l); }
  *out = ByteMatch{value, mask};
  return true;
}

bool ParseUint(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

Elem MakeElem(ElemKind kind) {
  Elem e;
  e.kind = kind;
  return e;
}

bool IsSingleByte(const Elem& e) { return e.kind == ElemKind::kBytes && e.bytes.size() == 1; }

// One position of a part as clamscan's matcher sees it: a byte (exact or
// wildcard), or a "special" (an alternation, or a special inside the part).
// Zero-width specials and the single anchor byte of "[x-y]" are not
// positions.
struct Position {
  ByteMatch byte;
  bool special = false;
  bool alt_char = false;  // a special that is a set of single exact bytes
  size_t elem = 0;
  size_t offset = 0;      // byte index inside a kBytes element
};

using PartRange = PartBounds;

// Splits the elements into parts at the splitting gaps.
std::vector<PartRange> SplitParts(const std::vector<Elem>& e) {
  std::vector<PartRange> parts;
  size_t start = 0;
  for (size_t i = 0; i <= e.size(); ++i) {
    if (i == e.size() || e[i].split()) {
      PartRange r{start, i, start, i};
      // A "[x-y]" anchor byte must be the very first or last element of
      // its part (clamscan checks that side's text is one byte); the
      // zero-width specials at the edges come off next.
      size_t a = r.first, b = r.last;
      if (b - a >= 2 && IsSingleByte(e[a]) && e[a + 1].kind == ElemKind::kGap &&
          e[a + 1].gap_kind == GapKind::kByteRange)
        a += 2;
      if (b - a >= 2 && IsSingleByte(e[b - 1]) && e[b - 2].kind == ElemKind::kGap &&
          e[b - 2].gap_kind == GapKind::kByteRange)
        b -= 2;
      while (a < b && e[a].special() && e[a].place == Place::kBefore) ++a;
      while (b > a && e[b - 1].special() && e[b - 1].place == Place::kAfter) --b;
      r.core_first = a;
      r.core_last = b;
      parts.push_back(r);
      start = i + 1;
    }
  }
  return parts;
}

std::vector<Position> Positions(const std::vector<Elem>& e, const PartRange& r) {
  std::vector<Position> out;
  for (size_t i = r.core_first; i < r.core_last; ++i) {
    const Elem& x = e[i];
    switch (x.kind) {
      case ElemKind::kBytes:
        for (size_t k = 0; k < x.bytes.size(); ++k) out.push_back(Position{x.bytes[k], false, false, i, k});
        break;
      case ElemKind::kGap:
        if (x.gap_kind == GapKind::kFixed)
          for (uint32_t k = 0; k < x.gap_min; ++k) out.push_back(Position{ByteMatch{0, 0}, false, false, i});
        else
          out.push_back(Position{ByteMatch{0, 0}, true, false, i});  // misplaced range: rejected later
        break;
      case ElemKind::kAlt:
      case ElemKind::kNegAlt: {
        bool chars = std::all_of(x.alts.begin(), x.alts.end(), [](const auto& a) {
          return a.size() == 1 && a[0].exact();
        });
        out.push_back(Position{ByteMatch{0, 0}, true, chars, i});
        break;
      }
      case ElemKind::kBoundary:
      case ElemKind::kLine:
      case ElemKind::kNonAlnum:
        if (x.place == Place::kInside || x.place == Place::kPrefix)
          out.push_back(Position{ByteMatch{0, 0}, true, false, i});
        break;
    }
  }
  return out;
}

// Where clamscan anchors a part in its Aho-Corasick trie: the part is used
// as is when its first three positions are literal bytes, not all zero;
// otherwise at the best run of two or three literal bytes (a later run of
// the same length wins; runs starting with two zero bytes only as a last
// resort). Positions before the anchor are checked backwards, which matters
// for (L) and alternations (see Place::kPrefix). Returns the anchor's
// position index.
size_t ClamavAnchor(const std::vector<Position>& pos) {
  constexpr size_t kMinDepth = 2, kMaxDepth = 3;
  const size_t len = pos.size();
  auto wild = [&](size_t i) { return pos[i].special || !pos[i].byte.exact(); };
  // A wildcard position counts as non-zero, as in clamscan's encoding.
  auto nonzero = [&](size_t i) { return i < len && (wild(i) || pos[i].byte.value != 0); };
  bool wprefix = false, zprefix = true;
  for (size_t i = 0; i < std::min(kMaxDepth, len); ++i) {
    if (wild(i)) { wprefix = true; break; }
    if (pos[i].byte.value != 0) zprefix = false;
  }
  if (!wprefix && !zprefix) return 0;
  size_t plen = 0, ppos = 0, nzplen = 0, nzpos = 0;
  size_t pend = len >= kMinDepth ? len - kMinDepth + 1 : 0;
  for (size_t i = 0; i < pend; ++i) {
    for (size_t j = i; j < std::min(i + kMaxDepth, len); ++j) {
      if (wild(j)) break;
      if (j - i + 1 >= plen) { plen = j - i + 1; ppos = i; }
      if (nonzero(ppos) || nonzero(ppos + 1)) {
        if (plen >= kMaxDepth) break;
        if (plen >= kMinDepth && plen > nzplen) { nzplen = plen; nzpos = ppos; }
      }
    }
    if (plen >= kMaxDepth && (nonzero(ppos) || nonzero(ppos + 1))) break;
  }
  if (!nonzero(ppos) && !nonzero(ppos + 1) && nzplen) ppos = nzpos;
  return ppos;
}

// Marks each special and alternation with its place in its part (see Place).
void AssignPlaces(std::vector<Elem>* elems) {
  auto& e = *elems;
  size_t start = 0;
  for (size_t i = 0; i <= e.size(); ++i) {
    if (i < e.size() && !e[i].split()) continue;
    // Part [start, i).
    for (size_t k = start; k < i; ++k)
      if (e[k].special() || e[k].kind == ElemKind::kAlt) e[k].place = Place::kInside;
    if (start < i && e[start].special()) e[start].place = Place::kBefore;
    if (i - start >= 2 && e[i - 1].special()) e[i - 1].place = Place::kAfter;
    start = i + 1;
  }
  for (const PartRange& r : SplitParts(e)) {
    std::vector<Position> pos = Positions(e, r);
    size_t anchor = ClamavAnchor(pos);
    for (size_t k = 0; k < anchor && k < pos.size(); ++k) {
      Elem& x = e[pos[k].elem];
      if ((x.special() || x.kind == ElemKind::kAlt) && x.place == Place::kInside) x.place = Place::kPrefix;
    }
  }
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Pattern> Run() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '*') {
        if (auto st = AddSplit(0, kGapUnbounded); !st.ok()) return st;
        ++i_;
      } else if (c == '{') {
        if (auto st = ParseBraces(); !st.ok()) return st;
      } else if (c == '[') {
        if (auto st = ParseBrackets(); !st.ok()) return st;
      } else if (c == '!') {
        if (i_ + 1 >= s_.size() || s_[i_ + 1] != '(')
          return Err("'!' must be followed by '('");
        ++i_;
        if (auto st = ParseParens(true); !st.ok()) return st;
      } else if (c == '(') {
        if (auto st = ParseParens(false); !st.ok()) return st;
      } else {
        ByteMatch b;
        if (!ParseBytePos(s_, i_, &b)) {
          if (i_ + 1 >= s_.size()) return Err("odd number of hex digits");
          return Err(std::string("invalid character in hex signature near '") +
                     std::string(s_.substr(i_, 2)) + "'");
        }
        i_ += 2;
        AddByte(b);
      }
    }
    if (p_.elems.empty()) return Err("empty signature");
    auto edge_gap = [](const Elem& e) { return e.kind == ElemKind::kGap && e.gap_kind != GapKind::kFixed; };
    if (edge_gap(p_.elems.front()) || edge_gap(p_.elems.back()))
      return Err("signature cannot begin or end with a wildcard gap");
    AssignPlaces(&p_.elems);
    // "[x-y]" must sit between a single byte and the rest of its part.
    for (const PartRange& r : SplitParts(p_.elems))
      for (size_t k = r.core_first; k < r.core_last; ++k)
        if (p_.elems[k].kind == ElemKind::kGap && p_.elems[k].gap_kind == GapKind::kByteRange)
          return Err("byte-anchored range needs a single byte on one side of its part");
    p_.parts = PatternParts(p_);
    return std::move(p_);
  }

 private:
  Status Err(std::string m) { return Status::Corruption(std::move(m)); }

  void AddByte(ByteMatch b) {
    if (p_.elems.empty() || p_.elems.back().kind != ElemKind::kBytes) {
      p_.elems.push_back(MakeElem(ElemKind::kBytes));
    }
    p_.elems.back().bytes.push_back(b);
  }

  // A gap that ends a part. Two in a row would leave an empty part.
  Status AddSplit(uint32_t lo, uint32_t hi) {
    if (!p_.elems.empty() && p_.elems.back().kind == ElemKind::kGap &&
        p_.elems.back().gap_kind != GapKind::kFixed)
      return Err("empty part between two wildcard gaps");
    Elem e = MakeElem(ElemKind::kGap);
    e.gap_kind = GapKind::kSplit;
    e.gap_min = lo;
    e.gap_max = hi == 0 ? kGapUnbounded : hi;  // clamscan: no maximum distance
    p_.elems.push_back(std::move(e));
    return Status::Ok();
  }

  // n any-bytes inside a part; adjacent ones merge.
  void AddFixed(uint32_t n) {
    if (!p_.elems.empty() && p_.elems.back().kind == ElemKind::kGap &&
        p_.elems.back().gap_kind == GapKind::kFixed) {
      p_.elems.back().gap_min += n;
      p_.elems.back().gap_max += n;
      return;
    }
    Elem e = MakeElem(ElemKind::kGap);
    e.gap_kind = GapKind::kFixed;
    e.gap_min = e.gap_max = n;
    p_.elems.push_back(std::move(e));
  }

  Status ParseBraces() {
    size_t close = s_.find('}', i_);
    if (close == std::string_view::npos) return Err("unterminated '{'");
    std::string_view body = s_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    auto bad = [&] { return Err("bad gap '{" + std::string(body) + "}'"); };
    if (body.empty()) {  // "{}" acts like "*"
      braces_split_ = true;
      return AddSplit(0, kGapUnbounded);
    }
    size_t dash = body.find('-');
    if (dash == std::string_view::npos) {
      uint32_t n = 0;
      if (!ParseUint(body, &n)) return bad();
      // clamscan turns "{n}" into n "??" only while no brace that splits
      // came before it; after one, "{n}" splits too.
      if (n >= 1 && n <= kMaxFixedGap && !braces_split_) {
        AddFixed(n);
        return Status::Ok();
      }
      if (n == kGapUnbounded) return Err("gap too large");
      braces_split_ = true;
      return AddSplit(n, n);
    }
    braces_split_ = true;
    std::string_view a = body.substr(0, dash), b = body.substr(dash + 1);
    uint32_t lo = 0, hi = kGapUnbounded;
    if (a.empty() && b.empty()) return bad();
    if (!a.empty() && !ParseUint(a, &lo)) return bad();
    if (!b.empty() && !ParseUint(b, &hi)) return bad();
    if (lo == kGapUnbounded || (!b.empty() && hi == kGapUnbounded)) return Err("gap too large");
    return AddSplit(lo, hi);
  }

  Status ParseBrackets() {
    size_t close = s_.find(']', i_);
    if (close == std::string_view::npos) return Err("unterminated '['");
    std::string_view body = s_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    size_t dash = body.find('-');
    uint32_t lo = 0, hi = 0;
    if (dash == std::string_view::npos || !ParseUint(body.substr(0, dash), &lo) ||
        !ParseUint(body.substr(dash + 1), &hi) || hi < lo)
      return Err("bad byte-anchored range '[" + std::string(body) + "]'");
    if (hi > kMaxByteRange) return Err("byte-anchored range '[" + std::string(body) + "]' exceeds 32");
    if (!p_.elems.empty() && p_.elems.back().kind == ElemKind::kGap)
      return Err("byte-anchored range next to another gap");
    Elem e = MakeElem(ElemKind::kGap);
    e.gap_kind = GapKind::kByteRange;
    e.gap_min = lo;
    e.gap_max = hi;
    p_.elems.push_back(std::move(e));
    return Status::Ok();
  }

  // One alternative of "(..|..)": byte positions, and "{n}" (0 < n < 128)
  // as n any-bytes.
  Status ParseAlternative(std::string_view alt, std::vector<ByteMatch>* seq) {
    size_t k = 0;
    while (k < alt.size()) {
      if (alt[k] == '{') {
        size_t close = alt.find('}', k);
        uint32_t n = 0;
        if (close == std::string_view::npos || !ParseUint(alt.substr(k + 1, close - k - 1), &n) ||
            n < 1 || n > kMaxFixedGap)
          return Err("alternative '" + std::string(alt) + "' has a gap other than {n}");
        seq->insert(seq->end(), n, ByteMatch{0, 0});
        k = close + 1;
        continue;
      }
      if (k + 1 >= alt.size() && HexValue(alt[k]) >= 0)
        return Err("odd number of hex digits in alternative '" + std::string(alt) + "'");
      ByteMatch b;
      if (!ParseBytePos(alt, k, &b)) return Err("invalid alternative '" + std::string(alt) + "'");
      seq->push_back(b);
      k += 2;
    }
    return Status::Ok();
  }

  Status ParseParens(bool negated) {
    size_t close = s_.find(')', i_);
    if (close == std::string_view::npos) return Err("unterminated '('");
    std::string_view body = s_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    if (body.size() == 1 && (body[0] == 'B' || body[0] == 'L' || body[0] == 'W')) {
      if (negated) return Err("negated special '!(" + std::string(body) + ")' is not supported");
      ElemKind k = body[0] == 'B' ? ElemKind::kBoundary
                   : body[0] == 'L' ? ElemKind::kLine : ElemKind::kNonAlnum;
      p_.elems.push_back(MakeElem(k));
      return Status::Ok();
    }
    if (body.find('(') != std::string_view::npos)
      return Err("nested alternatives in '(" + std::string(body) + ")' are not supported");
    Elem e = MakeElem(negated ? ElemKind::kNegAlt : ElemKind::kAlt);
    size_t start = 0;
    while (true) {
      size_t bar = body.find('|', start);
      std::string_view alt = body.substr(start, bar == std::string_view::npos ? body.npos : bar - start);
      if (alt.empty()) {
        // An empty last alternative makes the group optional: clamscan
        // matches "616263(aa|)64" on "abcd" as well as on "abc\xaad".
        if (bar != std::string_view::npos || e.alts.empty() || negated)
          return Err("empty alternative in '(" + std::string(body) + ")'");
        e.alts.emplace_back();
        break;
      }
      std::vector<ByteMatch> seq;
      if (auto st = ParseAlternative(alt, &seq); !st.ok()) return st;
      e.alts.push_back(std::move(seq));
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    // "(aa)" stays an alternation of one: clamscan treats it as a special,
    // not as literal bytes (which matters for where it anchors a part).
    if (negated) {
      for (const auto& a : e.alts) {
        if (a.size() != e.alts[0].size())
          return Err("negated alternatives must all have the same length");
        for (ByteMatch b : a)
          if (!b.exact()) return Err("negated alternatives cannot contain wildcards");
      }
    }
    p_.elems.push_back(std::move(e));
    return Status::Ok();
  }

  std::string_view s_;
  size_t i_ = 0;
  bool braces_split_ = false;  // a "{..}" that splits was seen
  Pattern p_;
};

void AppendByte(std::string* out, ByteMatch b) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back((b.mask & 0xf0) ? kHex[b.value >> 4] : '?');
  out->push_back((b.mask & 0x0f) ? kHex[b.value & 0xf] : '?');
}

uint64_t SpecialMin(const Elem& e) {
  return (e.place == Place::kBefore || e.place == Place::kAfter) ? 0 : 1;
}

uint64_t SpecialMax(const Elem& e) {
  if (e.place == Place::kBefore || e.place == Place::kAfter) return 0;
  return e.kind == ElemKind::kLine ? 2 : 1;  // (L) may be CR LF
}

}  // namespace

Result<Pattern> ParsePattern(std::string_view hex) { return Parser(hex).Run(); }

std::vector<PartBounds> PatternParts(const Pattern& p) {
  std::vector<PartBounds> parts = SplitParts(p.elems);
  for (PartBounds& r : parts) {
    std::vector<Position> pos = Positions(p.elems, r);
    size_t anchor = ClamavAnchor(pos);
    if (anchor < pos.size()) {
      r.anchor_elem = pos[anchor].elem;
      r.anchor_offset = pos[anchor].offset;
    } else {
      r.anchor_elem = r.core_first;
    }
    for (size_t k = 0; k < anchor && k < pos.size(); ++k) {
      const Elem& e = p.elems[pos[k].elem];
      size_t lo = 1, hi = 1;
      if (e.special()) {
        lo = hi = 0;
      } else if (e.kind == ElemKind::kAlt || e.kind == ElemKind::kNegAlt) {
        lo = SIZE_MAX, hi = 0;
        for (const auto& a : e.alts) lo = std::min(lo, a.size()), hi = std::max(hi, a.size());
      }
      r.prefix_min += lo;
      r.prefix_max += hi;
    }
  }
  return parts;
}

Status CheckLoadLimits(const Pattern& p, const LoadLimits& limits) {
  if (limits.literal_min3 && p.elems.size() == 1 && p.elems[0].kind == ElemKind::kBytes &&
      p.elems[0].bytes.size() < 3)
    return Status::Corruption("literal signature shorter than 3 bytes");
  std::vector<PartRange> parts = SplitParts(p.elems);
  for (size_t n = 0; n < parts.size(); ++n) {
    std::string which = parts.size() > 1 ? "part " + std::to_string(n + 1) + " of the signature" : "signature";
    std::vector<Position> pos = Positions(p.elems, parts[n]);
    if (pos.size() < 2) return Status::Corruption(which + " is shorter than 2 bytes");
    size_t run = 0, best = 0;
    for (const Position& x : pos) {
      run = (!x.special && x.byte.exact()) ? run + 1 : 0;
      best = std::max(best, run);
    }
    if (best < 2) return Status::Corruption(which + " has no run of 2 literal bytes");
    if (limits.qgram_filter) {
      size_t k = 0;
      while (k < pos.size() && pos[k].special && !pos[k].alt_char) ++k;
      size_t count = 0;
      for (; k < pos.size(); ++k, ++count)
        if (pos[k].special && !pos[k].alt_char) break;
      if (k < pos.size() && count < 2)
        return Status::Corruption(which + " needs 2 byte positions before its first special or multi-byte alternative");
    }
  }
  return Status::Ok();
}

uint64_t Pattern::MinLength() const {
  uint64_t n = 0;
  for (const Elem& e : elems) {
    switch (e.kind) {
      case ElemKind::kBytes: n += e.bytes.size(); break;
      case ElemKind::kAlt: {
        size_t m = SIZE_MAX;
        for (const auto& a : e.alts) m = std::min(m, a.size());
        n += m;
        break;
      }
      case ElemKind::kNegAlt: n += e.alts[0].size(); break;
      case ElemKind::kGap: n += e.gap_min; break;
      case ElemKind::kBoundary: case ElemKind::kLine: case ElemKind::kNonAlnum: n += SpecialMin(e); break;
    }
  }
  return n;
}

uint64_t Pattern::MaxLength() const {
  uint64_t n = 0;
  for (const Elem& e : elems) {
    switch (e.kind) {
      case ElemKind::kBytes: n += e.bytes.size(); break;
      case ElemKind::kAlt: {
        size_t m = 0;
        for (const auto& a : e.alts) m = std::max(m, a.size());
        n += m;
        break;
      }
      case ElemKind::kNegAlt: n += e.alts[0].size(); break;
      case ElemKind::kGap:
        if (e.gap_max == kGapUnbounded) return kGapUnbounded;
        n += e.gap_max;
        break;
      case ElemKind::kBoundary: case ElemKind::kLine: case ElemKind::kNonAlnum: n += SpecialMax(e); break;
    }
  }
  return n;
}

size_t Pattern::PartCount() const {
  return 1 + static_cast<size_t>(std::count_if(elems.begin(), elems.end(), [](const Elem& e) { return e.split(); }));
}

bool Pattern::Impossible() const {
  return std::any_of(elems.begin(), elems.end(),
                     [](const Elem& e) { return e.kind == ElemKind::kGap && e.gap_min > e.gap_max; });
}

std::string FormatPattern(const Pattern& p) {
  std::string out;
  for (const Elem& e : p.elems) {
    switch (e.kind) {
      case ElemKind::kBytes:
        for (ByteMatch b : e.bytes) AppendByte(&out, b);
        break;
      case ElemKind::kAlt: case ElemKind::kNegAlt:
        if (e.kind == ElemKind::kNegAlt) out += '!';
        out += '(';
        for (size_t i = 0; i < e.alts.size(); ++i) {
          if (i) out += '|';
          for (ByteMatch b : e.alts[i]) AppendByte(&out, b);
        }
        out += ')';
        break;
      case ElemKind::kGap:
        if (e.gap_kind == GapKind::kFixed) {
          for (uint32_t left = e.gap_min; left > 0;) {
            uint32_t k = std::min(left, kMaxFixedGap);
            out += '{' + std::to_string(k) + '}';
            left -= k;
          }
        } else if (e.gap_kind == GapKind::kByteRange) {
          out += '[' + std::to_string(e.gap_min) + '-' + std::to_string(e.gap_max) + ']';
        } else if (e.gap_min == 0 && e.gap_max == kGapUnbounded) {
          out += '*';
        } else if (e.gap_max == kGapUnbounded) {
          out += '{' + std::to_string(e.gap_min) + "-}";
        } else if (e.gap_min == e.gap_max && e.gap_min > kMaxFixedGap) {
          out += '{' + std::to_string(e.gap_min) + '}';
        } else {
          out += '{' + std::to_string(e.gap_min) + '-' + std::to_string(e.gap_max) + '}';
        }
        break;
      case ElemKind::kBoundary: out += "(B)"; break;
      case ElemKind::kLine: out += "(L)"; break;
      case ElemKind::kNonAlnum: out += "(W)"; break;
    }
  }
  return out;
}

}  // namespace vigil::sig
