#include "signatures/pattern.h"

#include <charconv>

namespace vigil::sig {
namespace {

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

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Pattern> Run() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '*') {
        if (auto st = AddGap(0, kGapUnbounded); !st.ok()) return st;
        ++i_;
      } else if (c == '{') {
        if (auto st = ParseBraces(); !st.ok()) return st;
      } else if (c == '[') {
        if (auto st = ParseBrackets(); !st.ok()) return st;
      } else if (c == '!' ) {
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
    if (p_.elems.front().kind == ElemKind::kGap || p_.elems.back().kind == ElemKind::kGap)
      return Err("signature cannot begin or end with a wildcard gap");
    return std::move(p_);
  }

 private:
  Status Err(std::string m) { return Status::Corruption(std::move(m)); }

  void AddByte(ByteMatch b) {
    if (p_.elems.empty() || p_.elems.back().kind != ElemKind::kBytes) {
      p_.elems.push_back(Elem{ElemKind::kBytes});
    }
    p_.elems.back().bytes.push_back(b);
  }
  // `hi` is kGapUnbounded for an open-ended gap; any other bound, and every
  // sum of merged bounds, must stay below it.
  Status AddGap(uint32_t lo, uint32_t hi) {
    // Adjacent gaps merge: "{2}*" is one gap {2-}.
    if (!p_.elems.empty() && p_.elems.back().kind == ElemKind::kGap) {
      Elem& g = p_.elems.back();
      uint64_t min = uint64_t{g.gap_min} + lo;
      uint64_t max = (g.gap_max == kGapUnbounded || hi == kGapUnbounded)
                         ? kGapUnbounded
                         : uint64_t{g.gap_max} + hi;
      if (min >= kGapUnbounded || (max >= kGapUnbounded && g.gap_max != kGapUnbounded &&
                                   hi != kGapUnbounded))
        return Err("gap too large");
      g.gap_min = static_cast<uint32_t>(min);
      g.gap_max = static_cast<uint32_t>(max);
      return Status::Ok();
    }
    if (lo >= kGapUnbounded) return Err("gap too large");
    Elem e{ElemKind::kGap};
    e.gap_min = lo;
    e.gap_max = hi;
    p_.elems.push_back(std::move(e));
    return Status::Ok();
  }

  Status ParseBraces() {
    size_t close = s_.find('}', i_);
    if (close == std::string_view::npos) return Err("unterminated '{'");
    std::string_view body = s_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    uint32_t lo = 0, hi = 0;
    size_t dash = body.find('-');
    if (dash == std::string_view::npos) {
      if (!ParseUint(body, &lo)) return Err("bad gap '{" + std::string(body) + "}'");
      hi = lo;
    } else {
      std::string_view a = body.substr(0, dash), b = body.substr(dash + 1);
      if (a.empty() && b.empty()) return Err("bad gap '{-}'");
      if (a.empty()) lo = 0; else if (!ParseUint(a, &lo)) return Err("bad gap '{" + std::string(body) + "}'");
      if (b.empty()) hi = kGapUnbounded; else if (!ParseUint(b, &hi)) return Err("bad gap '{" + std::string(body) + "}'");
      if (hi < lo) return Err("bad gap '{" + std::string(body) + "}': maximum below minimum");
    }
    if (hi == kGapUnbounded && (dash == std::string_view::npos || !body.ends_with('-')))
      return Err("gap too large");  // an explicit bound equal to the "unbounded" marker
    return AddGap(lo, hi);
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
    if (hi > 32) return Err("byte-anchored range '[" + std::string(body) + "]' exceeds 32");
    return AddGap(lo, hi);
  }

  Status ParseParens(bool negated) {
    size_t close = s_.find(')', i_);
    if (close == std::string_view::npos) return Err("unterminated '('");
    std::string_view body = s_.substr(i_ + 1, close - i_ - 1);
    i_ = close + 1;
    if (!negated && body.size() == 1) {
      ElemKind k;
      switch (body[0]) {
        case 'B': k = ElemKind::kBoundary; break;
        case 'L': k = ElemKind::kLine; break;
        case 'W': k = ElemKind::kNonAlnum; break;
        default: return Err("unknown special '(" + std::string(body) + ")'");
      }
      p_.elems.push_back(Elem{k});
      return Status::Ok();
    }
    Elem e{negated ? ElemKind::kNegAlt : ElemKind::kAlt};
    size_t start = 0;
    while (true) {
      size_t bar = body.find('|', start);
      std::string_view alt = body.substr(start, bar == std::string_view::npos ? body.npos : bar - start);
      if (alt.empty()) return Err("empty alternative in '(" + std::string(body) + ")'");
      if (alt.size() % 2) return Err("odd number of hex digits in alternative '" + std::string(alt) + "'");
      std::vector<ByteMatch> seq;
      for (size_t k = 0; k < alt.size(); k += 2) {
        ByteMatch b;
        if (!ParseBytePos(alt, k, &b)) return Err("invalid alternative '" + std::string(alt) + "'");
        seq.push_back(b);
      }
      e.alts.push_back(std::move(seq));
      if (bar == std::string_view::npos) break;
      start = bar + 1;
    }
    if (e.alts.size() < 2 && !negated) {
      // "(aa)" is a one-way alternation: just bytes.
      for (ByteMatch b : e.alts[0]) AddByte(b);
      return Status::Ok();
    }
    if (negated) {
      for (const auto& a : e.alts)
        if (a.size() != e.alts[0].size())
          return Err("negated alternatives must all have the same length");
    }
    p_.elems.push_back(std::move(e));
    return Status::Ok();
  }

  std::string_view s_;
  size_t i_ = 0;
  Pattern p_;
};

void AppendByte(std::string* out, ByteMatch b) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back((b.mask & 0xf0) ? kHex[b.value >> 4] : '?');
  out->push_back((b.mask & 0x0f) ? kHex[b.value & 0xf] : '?');
}

}  // namespace

Result<Pattern> ParsePattern(std::string_view hex) { return Parser(hex).Run(); }

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
      case ElemKind::kBoundary: case ElemKind::kLine: case ElemKind::kNonAlnum: n += 1; break;
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
      case ElemKind::kBoundary: case ElemKind::kNonAlnum: n += 1; break;
      case ElemKind::kLine: n += 2; break;  // CRLF
    }
  }
  return n;
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
        if (e.gap_min == 0 && e.gap_max == kGapUnbounded) out += '*';
        else if (e.gap_min == e.gap_max) out += '{' + std::to_string(e.gap_min) + '}';
        else if (e.gap_max == kGapUnbounded) out += '{' + std::to_string(e.gap_min) + "-}";
        else out += '{' + std::to_string(e.gap_min) + '-' + std::to_string(e.gap_max) + '}';
        break;
      case ElemKind::kBoundary: out += "(B)"; break;
      case ElemKind::kLine: out += "(L)"; break;
      case ElemKind::kNonAlnum: out += "(W)"; break;
    }
  }
  return out;
}

}  // namespace vigil::sig
