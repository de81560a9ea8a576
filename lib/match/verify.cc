#include "match/verify.h"

#include <cstring>
#include <unordered_set>
#include <vector>

namespace vigil::match {
namespace {

using sig::ElemKind;
using sig::Elem;
using sig::ByteMatch;

bool MatchRun(const std::vector<ByteMatch>& run, const uint8_t* p) {
  for (size_t k = 0; k < run.size(); ++k)
    if (!run[k].Matches(p[k])) return false;
  return true;
}

// Backtracking matcher over one pattern and one buffer. See verify.h for the
// memoisation that bounds the work.
class Verifier {
 public:
  Verifier(const sig::Pattern& p, Data d) : e_(p.elems), d_(d) {}

  // elems[i..] match starting at pos.
  bool Fwd(size_t i, size_t pos) {
    if (i == e_.size()) return true;
    const Elem& e = e_[i];
    switch (e.kind) {
      case ElemKind::kBytes:
        return pos + e.bytes.size() <= d_.n && MatchRun(e.bytes, d_.p + pos) &&
               Fwd(i + 1, pos + e.bytes.size());
      case ElemKind::kAlt:
        for (const auto& a : e.alts)
          if (pos + a.size() <= d_.n && MatchRun(a, d_.p + pos) && Fwd(i + 1, pos + a.size()))
            return true;
        return false;
      case ElemKind::kNegAlt: {
        size_t len = e.alts[0].size();
        if (pos + len > d_.n) return false;
        for (const auto& a : e.alts)
          if (MatchRun(a, d_.p + pos)) return false;
        return Fwd(i + 1, pos + len);
      }
      case ElemKind::kNonAlnum:
        return pos < d_.n && IsNonAlnumByte(d_.p[pos]) && Fwd(i + 1, pos + 1);
      case ElemKind::kBoundary:
        // A boundary byte, or the very end of the data (zero width).
        if (pos == d_.n) return i + 1 == e_.size();
        return IsBoundaryByte(d_.p[pos]) && Fwd(i + 1, pos + 1);
      case ElemKind::kLine:
        if (pos == d_.n) return i + 1 == e_.size();
        if (d_.p[pos] == '\n') return Fwd(i + 1, pos + 1);
        if (d_.p[pos] == '\r') {
          if (pos + 1 < d_.n && d_.p[pos + 1] == '\n' && Fwd(i + 1, pos + 2)) return true;
          return Fwd(i + 1, pos + 1);
        }
        return false;
      case ElemKind::kGap:
        return FwdGap(i, pos);
    }
    return false;
  }

  // elems[..i] (i counts elements, so elems[0..i)) match ending at `end`,
  // with a start that accept(start) allows.
  template <typename Accept>
  bool Bwd(size_t i, size_t end, const Accept& accept) {
    if (i == 0) return accept(end);
    const Elem& e = e_[i - 1];
    switch (e.kind) {
      case ElemKind::kBytes: {
        size_t len = e.bytes.size();
        return end >= len && MatchRun(e.bytes, d_.p + end - len) && Bwd(i - 1, end - len, accept);
      }
      case ElemKind::kAlt:
        for (const auto& a : e.alts)
          if (end >= a.size() && MatchRun(a, d_.p + end - a.size()) &&
              Bwd(i - 1, end - a.size(), accept))
            return true;
        return false;
      case ElemKind::kNegAlt: {
        size_t len = e.alts[0].size();
        if (end < len) return false;
        for (const auto& a : e.alts)
          if (MatchRun(a, d_.p + end - len)) return false;
        return Bwd(i - 1, end - len, accept);
      }
      case ElemKind::kNonAlnum:
        return end >= 1 && IsNonAlnumByte(d_.p[end - 1]) && Bwd(i - 1, end - 1, accept);
      case ElemKind::kBoundary:
        if (end == 0) return i == 1 && accept(0);
        return IsBoundaryByte(d_.p[end - 1]) && Bwd(i - 1, end - 1, accept);
      case ElemKind::kLine:
        if (end == 0) return i == 1 && accept(0);
        if (d_.p[end - 1] == '\r') return Bwd(i - 1, end - 1, accept);
        if (d_.p[end - 1] == '\n') {
          if (end >= 2 && d_.p[end - 2] == '\r' && Bwd(i - 1, end - 2, accept)) return true;
          return Bwd(i - 1, end - 1, accept);
        }
        return false;
      case ElemKind::kGap:
        return BwdGap(i, end, accept);
    }
    return false;
  }

 private:
  static uint64_t Key(size_t i, size_t pos) { return (uint64_t{i} << 40) ^ pos; }

  bool FwdGap(size_t i, size_t pos) {
    const Elem& g = e_[i];
    if (pos + g.gap_min > d_.n) return false;
    size_t lo = pos + g.gap_min;
    size_t hi = g.gap_max == sig::kGapUnbounded ? d_.n
                                                 : std::min<size_t>(d_.n, pos + size_t{g.gap_max});
    if (g.gap_max == sig::kGapUnbounded) {
      // "exists q >= lo" only gets harder as lo grows: one failure covers all later lo.
      if (fwd_fail_from_.empty()) fwd_fail_from_.assign(e_.size(), SIZE_MAX);
      if (lo >= fwd_fail_from_[i]) return false;
    }
    const Elem& next = e_[i + 1];
    bool first_exact = next.kind == ElemKind::kBytes && next.bytes[0].exact();
    for (size_t q = lo; q <= hi; ++q) {
      if (first_exact) {
        if (q >= d_.n) break;
        size_t last = std::min(hi, d_.n - 1);
        const void* hit = std::memchr(d_.p + q, next.bytes[0].value, last - q + 1);
        if (hit == nullptr) break;
        q = static_cast<size_t>(static_cast<const uint8_t*>(hit) - d_.p);
      }
      if (failed_.count(Key(i + 1, q))) continue;
      if (Fwd(i + 1, q)) return true;
      failed_.insert(Key(i + 1, q));
    }
    if (g.gap_max == sig::kGapUnbounded) fwd_fail_from_[i] = std::min(fwd_fail_from_[i], lo);
    return false;
  }

  template <typename Accept>
  bool BwdGap(size_t i, size_t end, const Accept& accept) {
    const Elem& g = e_[i - 1];
    if (end < g.gap_min) return false;
    size_t hi = end - g.gap_min;  // the element before the gap ends at q <= hi
    size_t lo = (g.gap_max == sig::kGapUnbounded || g.gap_max > end) ? 0 : end - g.gap_max;
    if (g.gap_max == sig::kGapUnbounded) {
      if (bwd_fail_upto_.empty()) bwd_fail_upto_.assign(e_.size(), -1);
      if (static_cast<int64_t>(hi) <= bwd_fail_upto_[i - 1]) return false;
    }
    for (size_t q = hi + 1; q-- > lo;) {
      uint64_t key = Key(i - 1, q) | (uint64_t{1} << 63);
      if (failed_.count(key)) continue;
      if (Bwd(i - 1, q, accept)) return true;
      failed_.insert(key);
    }
    if (g.gap_max == sig::kGapUnbounded)
      bwd_fail_upto_[i - 1] = std::max<int64_t>(bwd_fail_upto_[i - 1], static_cast<int64_t>(hi));
    return false;
  }

  const std::vector<Elem>& e_;
  Data d_;
  std::vector<size_t> fwd_fail_from_;
  std::vector<int64_t> bwd_fail_upto_;
  std::unordered_set<uint64_t> failed_;
};

}  // namespace

bool IsNonAlnumByte(uint8_t b) {
  return !((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'));
}

bool IsBoundaryByte(uint8_t b) {
  // Whitespace and punctuation around words.
  switch (b) {
    case ' ': case '\t': case '\n': case '\r': case '\v': case '\f':
    case '!': case '"': case '#': case '$': case '%': case '&': case '\'':
    case '(': case ')': case '*': case '+': case ',': case '-': case '.':
    case '/': case ':': case ';': case '<': case '=': case '>': case '?':
    case '@': case '[': case '\\': case ']': case '^': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

bool PinnedRange(const sig::Offset& o, size_t n, size_t* lo, size_t* hi) {
  uint64_t base;
  if (o.kind == sig::Offset::Kind::kAbsolute) {
    base = static_cast<uint64_t>(o.value);
  } else if (o.kind == sig::Offset::Kind::kFromEnd) {
    if (static_cast<uint64_t>(o.value) > n) return false;
    base = n - static_cast<uint64_t>(o.value);
  } else {
    return false;
  }
  if (base >= n) return false;
  *lo = static_cast<size_t>(base);
  *hi = static_cast<size_t>(std::min<uint64_t>(n - 1, base + o.max_shift));
  return true;
}

bool OffsetAllows(const sig::Offset& o, size_t n, size_t start) {
  if (o.kind == sig::Offset::Kind::kAny) return true;
  size_t lo, hi;
  return PinnedRange(o, n, &lo, &hi) && start >= lo && start <= hi;
}

bool VerifyAnchor(const sig::BodySig& s, const compile::Anchor& a, Data d, size_t end) {
  const Elem& e = s.pattern.elems[a.elem];
  const std::vector<ByteMatch>& run = e.kind == ElemKind::kAlt ? e.alts[a.alt] : e.bytes;
  if (end < size_t{a.length} + a.offset) return false;
  size_t start = end - a.length - a.offset;  // where element a.elem begins
  if (start + run.size() > d.n || !MatchRun(run, d.p + start)) return false;
  Verifier v(s.pattern, d);
  if (!v.Fwd(a.elem + 1u, start + run.size())) return false;
  return v.Bwd(a.elem, start, [&](size_t st) { return OffsetAllows(s.offset, d.n, st); });
}

bool VerifyAt(const sig::BodySig& s, Data d, size_t start) {
  Verifier v(s.pattern, d);
  return v.Fwd(0, start);
}

bool VerifyEndingAt(const sig::BodySig& s, Data d, size_t end) {
  Verifier v(s.pattern, d);
  return v.Bwd(s.pattern.elems.size(), end,
               [&](size_t st) { return OffsetAllows(s.offset, d.n, st); });
}

}  // namespace vigil::match
