#include "match/verify.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace vigil::match {
namespace {

using sig::ByteMatch;
using sig::Elem;
using sig::ElemKind;
using sig::PartBounds;
using sig::Place;

constexpr size_t kNone = SIZE_MAX;

bool MatchRun(const std::vector<ByteMatch>& run, const uint8_t* p) {
  for (size_t k = 0; k < run.size(); ++k)
    if (!run[k].Matches(p[k])) return false;
  return true;
}

// How clamscan tries the alternatives of an alternation whose
// alternatives differ in length or hold wildcards (a "generic" one): in
// order, duplicates dropped, and an alternative that matches and is
// "unique" is taken without trying the rest. An empty alternative ("(aa|)")
// makes the group optional going forwards; aligned on the group's end
// (before clamscan's anchor) it never matches. An alternative is unique
// unless some alternative of another length agrees with it on their common
// prefix (wildcards agreeing with bytes they cover, but not a wildcard on
// each side). Alternations of equal-length literals are sets.
struct AltRules {
  bool generic = false;
  std::vector<size_t> order;  // alternatives tried, in order
  std::vector<bool> unique;   // per entry of `order`
};

enum class Wild { kChar, kAny, kHigh, kLow };

Wild WildOf(ByteMatch b) {
  switch (b.mask) {
    case 0xff: return Wild::kChar;
    case 0x00: return Wild::kAny;
    case 0xf0: return Wild::kHigh;
    default: return Wild::kLow;
  }
}

// Whether a and b agree on their common prefix; *wild gets bit 1 when a
// has a wildcard covering a byte of b there, bit 2 for the converse.
bool CommonPrefixAgrees(const std::vector<ByteMatch>& a, const std::vector<ByteMatch>& b, int* wild) {
  int side = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    Wild wa = WildOf(a[i]), wb = WildOf(b[i]);
    uint8_t va = a[i].value, vb = b[i].value;
    if (wa == wb) {
      if (wa == Wild::kChar && va != vb) return false;
      if (wa == Wild::kHigh && (va & 0xf0) != (vb & 0xf0)) return false;
      if (wa == Wild::kLow && (va & 0x0f) != (vb & 0x0f)) return false;
    } else if (wa == Wild::kChar || wb == Wild::kChar) {
      Wild w = wa == Wild::kChar ? wb : wa;
      if (w == Wild::kHigh && (va & 0xf0) != (vb & 0xf0)) return false;
      if (w == Wild::kLow && (va & 0x0f) != (vb & 0x0f)) return false;
      side |= wa == Wild::kChar ? 2 : 1;
    } else if (wa == Wild::kAny || wb == Wild::kAny) {
      side |= wa == Wild::kAny ? 1 : 2;
    } else {
      side |= 3;
    }
    if (side == 3) return false;  // each side covers the other: told apart
  }
  *wild = side;
  return true;
}

AltRules MakeAltRules(const Elem& e) {
  AltRules r;
  bool fixed = std::all_of(e.alts.begin(), e.alts.end(), [&](const auto& a) {
    return a.size() == e.alts[0].size() &&
           std::all_of(a.begin(), a.end(), [](ByteMatch b) { return b.exact(); });
  });
  r.generic = e.kind == ElemKind::kAlt && !fixed;
  for (size_t k = 0; k < e.alts.size(); ++k) {
    bool unique = true, duplicate = false;
    for (size_t j = 0; j < r.order.size() && !duplicate; ++j) {
      int wild = 0;
      const auto& prev = e.alts[r.order[j]];
      if (!CommonPrefixAgrees(prev, e.alts[k], &wild)) continue;
      if (prev.size() != e.alts[k].size()) {
        unique = false;
        r.unique[j] = false;
      } else if (wild == 0) {
        duplicate = true;
      }
    }
    if (duplicate) continue;
    r.order.push_back(k);
    r.unique.push_back(unique);
  }
  return r;
}

// Whether clamscan, trying a generic alternation at `at` (its start, or its
// end when `from_end`), can take an alternative `len` bytes long.
bool AltAllows(const Elem& e, const AltRules& r, const Data& d, size_t at, bool from_end, size_t len) {
  for (size_t j = 0; j < r.order.size(); ++j) {
    const auto& a = e.alts[r.order[j]];
    size_t s;
    if (from_end) {
      // Aligned on its end, clamscan never takes an empty alternative.
      if (a.empty() || at < a.size()) continue;
      s = at - a.size();
    } else {
      if (at + a.size() > d.n) continue;
      s = at;
    }
    if (!MatchRun(a, d.p + s)) continue;
    if (a.size() == len) return true;
    if (r.unique[j]) return false;
  }
  return false;
}

bool Allows(const sig::Offset& o, const Data& d, size_t start) {
  if (o.kind == sig::Offset::Kind::kAny) return true;
  if (o.kind == sig::Offset::Kind::kFromEnd && !d.eof_offsets) return false;
  size_t lo, hi;
  return PinnedRange(o, d, &lo, &hi) && start >= lo && start <= hi;
}

// Whether a match whose first part's core starts at `start`, with
// clamscan's anchor at `anchor`, passes the signature's offset rule as
// clamscan checks it: before verifying, it estimates the start from the
// anchor without counting specials ([anchor - prefix_max, anchor -
// prefix_min]) and needs that range to meet the rule; then the real start
// must pass.
bool StartAllowed(const sig::BodySig& s, const PartBounds& first, const Data& d, size_t start,
                  size_t anchor) {
  if (s.offset.kind == sig::Offset::Kind::kAny) return true;
  if (!Allows(s.offset, d, start)) return false;
  if (anchor == kNone || anchor < first.prefix_max) return true;
  size_t lo, hi;
  if (!PinnedRange(s.offset, d, &lo, &hi)) return false;
  return anchor - first.prefix_max <= hi && anchor - first.prefix_min >= lo;
}

// Matches the elements of one part over one buffer. At elements that can
// end in several places, Fwd and BwdCore remember the (element, position)
// pairs from which no match exists, which keeps the work polynomial
// whatever the alternations and ranges.
class PartMatcher {
 public:
  PartMatcher(const std::vector<Elem>& e, const PartBounds& r, const Data& d) : e_(e), r_(r), d_(d) {}

  // The alternation rules of element e, one of ours (computed once).
  const AltRules& Rules(const Elem& e) {
    size_t i = static_cast<size_t>(&e - e_.data());
    if (rules_.size() <= i) rules_.resize(e_.size());
    if (!rules_[i]) rules_[i] = std::make_unique<AltRules>(MakeAltRules(e));
    return *rules_[i];
  }

  // elems[i, last) match starting at pos. On success core_end() is where
  // the part's core ended on the path found (the first in trial order).
  bool Fwd(size_t i, size_t pos) {
    if (i == r_.core_last) core_end_ = pos;
    if (i == r_.anchor_elem) anchor_ = pos + r_.anchor_offset;
    if (i == r_.last) return true;
    // Only elements that can end in several places make the search branch.
    if (!Branches(e_[i])) return ForEachEnd(e_[i], pos, [&](size_t q) { return Fwd(i + 1, q); });
    uint64_t key = Key(i, pos);
    if (fwd_failed_.count(key)) return false;
    bool ok = ForEachEnd(e_[i], pos, [&](size_t q) { return Fwd(i + 1, q); });
    if (!ok) fwd_failed_.insert(key);
    return ok;
  }
  size_t core_end() const { return core_end_; }
  // Where clamscan's anchor begins on the path last walked over it.
  size_t anchor() const { return anchor_; }

  // elems[core_first, i) match ending at `end`, at a start that
  // accept(start) allows and that the part's left edge fits before. `accept`
  // must be the same function for every call on one matcher; when its
  // answer depends on anchor() (where the path put clamscan's anchor), pass
  // remember = false.
  template <typename Accept>
  bool BwdCore(size_t i, size_t end, const Accept& accept, bool remember = true) {
    if (i == r_.anchor_elem) anchor_ = end + r_.anchor_offset;
    if (i == r_.core_first) return LeftFits(end) && accept(end);
    if (!Branches(e_[i - 1]))
      return ForEachStart(e_[i - 1], end, [&](size_t s) { return BwdCore(i - 1, s, accept, remember); });
    uint64_t key = Key(i, end);
    if (remember && bwd_failed_.count(key)) return false;
    bool ok = ForEachStart(e_[i - 1], end, [&](size_t s) { return BwdCore(i - 1, s, accept, remember); });
    if (!ok && remember) bwd_failed_.insert(key);
    return ok;
  }

  // The elements before the core (a zero-width special, the single byte and
  // range of a left "[x-y]") fit before a core starting at `start`.
  bool LeftFits(size_t start) { return BwdEdge(r_.core_first, start); }

 private:
  static uint64_t Key(size_t i, size_t pos) { return (uint64_t{i} << 48) ^ pos; }

  static bool Branches(const Elem& e) {
    switch (e.kind) {
      case ElemKind::kAlt: return e.alts.size() > 1;
      case ElemKind::kGap: return e.gap_min != e.gap_max;
      case ElemKind::kLine: return true;
      default: return false;
    }
  }

  bool BwdEdge(size_t i, size_t end) {
    if (i == r_.first) return true;
    return ForEachStart(e_[i - 1], end, [&](size_t s) { return BwdEdge(i - 1, s); });
  }

  uint8_t At(size_t i) const { return d_.p[i]; }

  bool LeftEdgeOk(ElemKind k, size_t pos) const {
    if (pos == 0) return true;
    uint8_t b = At(pos - 1);
    switch (k) {
      case ElemKind::kBoundary: return IsLeftBoundaryByte(b);
      case ElemKind::kLine: return b == '\n';
      default: return IsNonAlnumByte(b);
    }
  }

  bool RightEdgeOk(ElemKind k, size_t pos) const {
    if (pos == d_.n) return true;
    uint8_t b = At(pos);
    switch (k) {
      case ElemKind::kBoundary: return IsRightBoundaryByte(b);
      case ElemKind::kLine: return b == '\n' || (b == '\r' && pos + 1 < d_.n && At(pos + 1) == '\n');
      default: return IsNonAlnumByte(b);
    }
  }

  // Calls f(q) for each q such that element e can span [pos, q), in trial
  // order, until f returns true. Returns whether it did.
  template <typename F>
  bool ForEachEnd(const Elem& e, size_t pos, const F& f) {
    const size_t n = d_.n;
    switch (e.kind) {
      case ElemKind::kBytes:
        return pos + e.bytes.size() <= n && MatchRun(e.bytes, d_.p + pos) && f(pos + e.bytes.size());
      case ElemKind::kAlt: {
        const AltRules& r = Rules(e);
        if (!r.generic) {
          for (const auto& a : e.alts)
            if (pos + a.size() <= n && MatchRun(a, d_.p + pos) && f(pos + a.size())) return true;
          return false;
        }
        for (size_t j = 0; j < r.order.size(); ++j) {
          const auto& a = e.alts[r.order[j]];
          if (pos + a.size() > n || !MatchRun(a, d_.p + pos)) continue;
          if (e.place == Place::kPrefix) {  // clamscan goes the other way
            if (AltAllows(e, r, d_, pos + a.size(), true, a.size()) && f(pos + a.size())) return true;
            continue;
          }
          if (r.unique[j]) return f(pos + a.size());
          if (f(pos + a.size())) return true;
        }
        return false;
      }
      case ElemKind::kNegAlt: {
        size_t len = e.alts[0].size();
        if (pos + len > n) return false;
        for (const auto& a : e.alts)
          if (MatchRun(a, d_.p + pos)) return false;
        return f(pos + len);
      }
      case ElemKind::kGap: {
        if (e.gap_min > e.gap_max || pos + e.gap_min > n) return false;
        size_t hi = std::min<uint64_t>(n, uint64_t{pos} + e.gap_max);
        for (size_t q = pos + e.gap_min; q <= hi; ++q)
          if (f(q)) return true;
        return false;
      }
      case ElemKind::kBoundary:
      case ElemKind::kLine:
      case ElemKind::kNonAlnum:
        switch (e.place) {
          case Place::kBefore: return LeftEdgeOk(e.kind, pos) && f(pos);
          case Place::kAfter: return RightEdgeOk(e.kind, pos) && f(pos);
          case Place::kInside:
          case Place::kPrefix:
            if (pos >= n) return false;
            if (e.kind == ElemKind::kBoundary) return IsBoundaryByte(At(pos)) && f(pos + 1);
            if (e.kind == ElemKind::kNonAlnum) return IsNonAlnumByte(At(pos)) && f(pos + 1);
            if (At(pos) == '\n' && f(pos + 1)) return true;
            if (e.place == Place::kInside)
              return At(pos) == '\r' && pos + 1 < n && At(pos + 1) == '\n' && f(pos + 2);
            // Before the anchor clamscan reads (L) backwards from the byte
            // that follows it, and then takes "x CR" when that byte is LF.
            return pos + 2 < n && At(pos + 1) == '\r' && At(pos + 2) == '\n' && f(pos + 2);
        }
    }
    return false;
  }

  // Calls f(s) for each s such that element e can span [s, end), in trial
  // order, until f returns true. Returns whether it did.
  template <typename F>
  bool ForEachStart(const Elem& e, size_t end, const F& f) {
    const size_t n = d_.n;
    switch (e.kind) {
      case ElemKind::kBytes: {
        size_t len = e.bytes.size();
        return end >= len && MatchRun(e.bytes, d_.p + end - len) && f(end - len);
      }
      case ElemKind::kAlt: {
        const AltRules& r = Rules(e);
        if (!r.generic) {
          for (const auto& a : e.alts)
            if (end >= a.size() && MatchRun(a, d_.p + end - a.size()) && f(end - a.size())) return true;
          return false;
        }
        for (size_t j = 0; j < r.order.size(); ++j) {
          const auto& a = e.alts[r.order[j]];
          if (end < a.size() || !MatchRun(a, d_.p + end - a.size())) continue;
          if (a.empty() && e.place == Place::kPrefix) continue;  // see AltAllows
          if (e.place != Place::kPrefix) {  // clamscan goes the other way
            if (AltAllows(e, r, d_, end - a.size(), false, a.size()) && f(end - a.size())) return true;
            continue;
          }
          if (r.unique[j]) return f(end - a.size());
          if (f(end - a.size())) return true;
        }
        return false;
      }
      case ElemKind::kNegAlt: {
        size_t len = e.alts[0].size();
        if (end < len) return false;
        for (const auto& a : e.alts)
          if (MatchRun(a, d_.p + end - len)) return false;
        return f(end - len);
      }
      case ElemKind::kGap: {
        if (e.gap_min > e.gap_max || end < e.gap_min) return false;
        size_t lo = e.gap_max >= end ? 0 : end - e.gap_max;
        for (size_t s = end - e.gap_min + 1; s-- > lo;)
          if (f(s)) return true;
        return false;
      }
      case ElemKind::kBoundary:
      case ElemKind::kLine:
      case ElemKind::kNonAlnum:
        switch (e.place) {
          case Place::kBefore: return LeftEdgeOk(e.kind, end) && f(end);
          case Place::kAfter: return RightEdgeOk(e.kind, end) && f(end);
          case Place::kInside:
          case Place::kPrefix:
            if (end == 0) return false;
            if (e.kind == ElemKind::kBoundary) return IsBoundaryByte(At(end - 1)) && f(end - 1);
            if (e.kind == ElemKind::kNonAlnum) return IsNonAlnumByte(At(end - 1)) && f(end - 1);
            if (At(end - 1) == '\n' && f(end - 1)) return true;
            if (e.place == Place::kInside)
              return end >= 2 && At(end - 2) == '\r' && At(end - 1) == '\n' && f(end - 2);
            return end >= 2 && At(end - 1) == '\r' && end < n && At(end) == '\n' && f(end - 2);
        }
    }
    return false;
  }

  const std::vector<Elem>& e_;
  PartBounds r_;
  Data d_;
  size_t core_end_ = kNone;
  size_t anchor_ = kNone;
  std::unordered_set<uint64_t> fwd_failed_, bwd_failed_;
  std::vector<std::unique_ptr<AltRules>> rules_;
};

// The run of exact bytes (at most 8) inside one kBytes element of a part's
// core that should occur least often: where occurrences of the part are
// searched for. Zero and 0xff bytes, and repeated bytes, count for little.
struct Literal {
  size_t elem = 0, offset = 0, length = 0;
};

double ByteRarity(uint8_t b) {
  switch (b) {
    case 0x00: return 0.1;
    case 0xff: return 0.2;
    case 0x20: case 0x90: case 0xcc: return 0.5;
    default: return 1.0;
  }
}

Literal BestLiteral(const std::vector<Elem>& e, const PartBounds& r) {
  constexpr size_t kMaxLiteral = 8;
  Literal best;
  double best_score = -1;
  for (size_t i = r.core_first; i < r.core_last; ++i) {
    if (e[i].kind != ElemKind::kBytes) continue;
    const auto& b = e[i].bytes;
    for (size_t k = 0; k < b.size(); ++k) {
      double score = 0;
      for (size_t j = k; j < b.size() && j - k < kMaxLiteral && b[j].exact(); ++j) {
        double w = ByteRarity(b[j].value);
        if (j > k && b[j].value == b[j - 1].value) w *= 0.3;
        score += w;
        if (score > best_score) {
          best_score = score;
          best = Literal{i, k, j - k + 1};
        }
      }
    }
  }
  return best;
}

// One occurrence of a part: where clamscan would report it (the end of the
// searched literal stands in for the end of its trie anchor), and the
// core's start and end.
struct Occurrence {
  size_t report, start, end;
};

// Walks the occurrences of one part in increasing report order. For each
// place the part's literal occurs, the first start that accept(start)
// allows is taken, as clamscan checks one start per anchor hit.
template <typename Accept>
class OccurrenceCursor {
 public:
  // `remember`: see PartMatcher::BwdCore.
  OccurrenceCursor(const std::vector<Elem>& e, const PartBounds& r, const Data& d, Accept accept,
                   bool remember)
      : r_(r), d_(d), m_(e, r, d), lit_(BestLiteral(e, r)), accept_(std::move(accept)),
        remember_(remember) {
    for (size_t k = 0; k < lit_.length; ++k)
      needle_.push_back(static_cast<char>(e[lit_.elem].bytes[lit_.offset + k].value));
  }

  // The next occurrence, or false when there is none.
  bool Next(Occurrence* out) {
    while (true) {
      size_t es;  // where the searched element starts
      size_t report;
      if (needle_.empty()) {
        // No literal (not a loadable clamscan pattern): try every start.
        if (pos_ > d_.n) return false;
        es = pos_++;
        report = es;
        if (r_.core_first == r_.core_last) return false;
        if (!m_.Fwd(r_.core_first, es)) continue;
        size_t ce = m_.core_end();
        if (!m_.LeftFits(es) || !accept_(es, m_.anchor())) continue;
        *out = Occurrence{report, es, ce};
        return true;
      }
      if (pos_ + needle_.size() > d_.n) return false;
      const void* hit = memmem(d_.p + pos_, d_.n - pos_, needle_.data(), needle_.size());
      if (hit == nullptr) {
        pos_ = d_.n;
        return false;
      }
      size_t q = static_cast<size_t>(static_cast<const uint8_t*>(hit) - d_.p);
      pos_ = q + 1;
      if (q < lit_.offset) continue;
      es = q - lit_.offset;
      report = q + needle_.size();
      if (!m_.Fwd(lit_.elem, es)) continue;
      size_t ce = m_.core_end();
      size_t cs = kNone;
      if (!m_.BwdCore(
              lit_.elem, es,
              [&](size_t s) {
                if (!accept_(s, m_.anchor())) return false;
                cs = s;
                return true;
              },
              remember_))
        continue;
      *out = Occurrence{report, cs, ce};
      return true;
    }
  }

 private:
  PartBounds r_;
  Data d_;
  PartMatcher m_;
  Literal lit_;
  Accept accept_;
  bool remember_;
  std::string needle_;
  size_t pos_ = 0;
};

// The pattern's parts: computed at load, or here for a pattern built by hand.
const std::vector<PartBounds>& PartsOf(const sig::BodySig& s, std::vector<PartBounds>* local) {
  if (!s.pattern.parts.empty()) return s.pattern.parts;
  *local = sig::PatternParts(s.pattern);
  return *local;
}

// Whether a single-part signature matches anywhere its offset rule allows.
bool SearchSingle(const sig::BodySig& s, const Data& d) {
  std::vector<PartBounds> local;
  const std::vector<PartBounds>& parts = PartsOf(s, &local);
  auto accept = [&](size_t start, size_t anchor) { return StartAllowed(s, parts[0], d, start, anchor); };
  bool any = s.offset.kind == sig::Offset::Kind::kAny;
  OccurrenceCursor<decltype(accept)> cur(s.pattern.elems, parts[0], d, accept, any);
  Occurrence o;
  return cur.Next(&o);
}

// The ends of one part's occurrences that the next part can chain to:
// the first one seen and the last 8, as clamscan keeps them.
class Ring {
 public:
  Ring() { std::fill(slot_, slot_ + kSlots + 1, kNone); }
  void Add(size_t end) {
    if (count_ == kSlots) count_ = 1;  // slot 1 (the first end) stays
    slot_[++count_] = end;
  }
  // The first slot (1-based) whose end lies [lo, hi] bytes before `start`,
  // or 0.
  size_t Find(size_t start, uint64_t lo, uint64_t hi) const {
    for (size_t j = 1; j <= kSlots && slot_[j] != kNone; ++j) {
      if (start < slot_[j]) continue;
      uint64_t gap = start - slot_[j];
      if (gap >= lo && gap <= hi) return j;
    }
    return 0;
  }
  void SwapWithFirst(size_t j) { std::swap(slot_[1], slot_[j]); }

 private:
  static constexpr size_t kSlots = 9;
  size_t slot_[kSlots + 1];
  size_t count_ = 0;
};

// clamscan's evaluation of a multi-part signature over the whole buffer
// (see verify.h): occurrences of every part in report order, each part
// chaining to the ends the previous part's ring still holds.
bool Simulate(const sig::BodySig& s, const Data& d) {
  const auto& elems = s.pattern.elems;
  std::vector<PartBounds> local;
  const std::vector<PartBounds>& parts = PartsOf(s, &local);
  const size_t np = parts.size();
  auto first_accept = [&](size_t start, size_t anchor) { return StartAllowed(s, parts[0], d, start, anchor); };
  auto any = [](size_t, size_t) { return true; };
  using FirstCursor = OccurrenceCursor<decltype(first_accept)>;
  using OtherCursor = OccurrenceCursor<decltype(any)>;
  FirstCursor first(elems, parts[0], d, first_accept, s.offset.kind == sig::Offset::Kind::kAny);
  std::vector<std::unique_ptr<OtherCursor>> others;
  for (size_t k = 1; k < np; ++k)
    others.push_back(std::make_unique<OtherCursor>(elems, parts[k], d, any, true));
  auto next = [&](size_t k, Occurrence* o) { return k == 0 ? first.Next(o) : others[k - 1]->Next(o); };

  std::vector<Occurrence> pending(np);
  std::vector<bool> live(np);
  for (size_t k = 0; k < np; ++k)
    if (!(live[k] = next(k, &pending[k]))) return false;  // a part that never occurs
  std::vector<Ring> rings(np);
  while (true) {
    // The earliest pending occurrence; at equal positions the later part first.
    size_t k = kNone;
    for (size_t j = np; j-- > 0;)
      if (live[j] && (k == kNone || pending[j].report < pending[k].report)) k = j;
    if (k == kNone) return false;
    const Occurrence o = pending[k];
    live[k] = next(k, &pending[k]);
    if (k == 0) {
      rings[0].Add(o.end);
      continue;
    }
    const Elem& gap = elems[parts[k - 1].last];
    uint64_t hi = gap.gap_max == sig::kGapUnbounded ? UINT64_MAX : gap.gap_max;
    size_t j = rings[k - 1].Find(o.start, gap.gap_min, hi);
    if (j == 0) continue;
    if (k == 1 && j > 1) rings[0].SwapWithFirst(j);
    if (k + 1 == np) return true;
    rings[k].Add(o.end);
  }
}

// The answer over the whole buffer, through the memo.
bool Whole(const sig::BodySig& s, const Data& d) {
  if (d.memo)
    if (const bool* known = d.memo->Find(&s)) return *known;
  bool r = s.pattern.PartCount() > 1 ? Simulate(s, d) : SearchSingle(s, d);
  if (d.memo) d.memo->Store(&s, r);
  return r;
}

}  // namespace

bool IsNonAlnumByte(uint8_t b) {
  return !((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'));
}

bool IsBoundaryByte(uint8_t b) {
  return IsLeftBoundaryByte(b) || IsRightBoundaryByte(b);
}

bool IsLeftBoundaryByte(uint8_t b) {
  switch (b) {
    case ' ': case '-': case '.': case '/': case '<': case '@': case '_':
      return true;
    default:
      return false;
  }
}

bool IsRightBoundaryByte(uint8_t b) {
  switch (b) {
    case '\n': case '\r': case ' ': case '"': case '\'': case '-': case '/':
    case '=': case '>': case '_':
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

bool PinnedRange(const sig::Offset& o, const Data& d, size_t* lo, size_t* hi) {
  using K = sig::Offset::Kind;
  if (o.kind == K::kAny || o.kind == K::kAbsolute || o.kind == K::kFromEnd) return PinnedRange(o, d.n, lo, hi);
  if (!d.exe) return false;
  const ExeLayout& x = *d.exe;
  int64_t base;
  uint64_t shift = o.max_shift;
  switch (o.kind) {
    case K::kEntryPoint:
      if (!x.has_ep) return false;
      base = static_cast<int64_t>(x.ep) + o.value;
      break;
    case K::kSection:
      if (o.section >= x.sections.size()) return false;
      base = static_cast<int64_t>(x.sections[o.section].raw) + o.value;
      break;
    case K::kLastSection:
      if (x.sections.empty()) return false;
      base = static_cast<int64_t>(x.sections.back().raw) + o.value;
      break;
    case K::kSectionAll:
      if (o.section >= x.sections.size() || x.sections[o.section].size == 0) return false;
      base = static_cast<int64_t>(x.sections[o.section].raw);
      shift = x.sections[o.section].size - 1;
      break;
    default:
      return false;
  }
  if (base < 0 || static_cast<uint64_t>(base) >= d.n) return false;
  *lo = static_cast<size_t>(base);
  *hi = static_cast<size_t>(std::min<uint64_t>(d.n - 1, static_cast<uint64_t>(base) + shift));
  return true;
}

bool OffsetAllows(const sig::Offset& o, size_t n, size_t start) {
  if (o.kind == sig::Offset::Kind::kAny) return true;
  size_t lo, hi;
  return PinnedRange(o, n, &lo, &hi) && start >= lo && start <= hi;
}

bool VerifyAnchor(const sig::BodySig& s, const compile::Anchor& a, Data d, size_t end) {
  if (s.pattern.PartCount() > 1) return Whole(s, d);
  std::vector<PartBounds> local;
  const PartBounds& r = PartsOf(s, &local)[0];
  const Elem& e = s.pattern.elems[a.elem];
  if (a.elem < r.core_first || a.elem >= r.core_last) return Whole(s, d);
  const std::vector<ByteMatch>& run = e.kind == ElemKind::kAlt ? e.alts[a.alt] : e.bytes;
  if (end < size_t{a.length} + a.offset) return false;
  size_t start = end - a.length - a.offset;  // where element a.elem begins
  if (start + run.size() > d.n || !MatchRun(run, d.p + start)) return false;
  PartMatcher m(s.pattern.elems, r, d);
  if (e.kind == ElemKind::kAlt) {
    const AltRules& rules = m.Rules(e);
    bool from_end = e.place == Place::kPrefix;
    if (rules.generic &&
        !AltAllows(e, rules, d, from_end ? start + run.size() : start, from_end, run.size()))
      return false;
  }
  if (!m.Fwd(a.elem + 1u, start + run.size())) return false;
  return m.BwdCore(
      a.elem, start, [&](size_t st) { return StartAllowed(s, r, d, st, m.anchor()); },
      s.offset.kind == sig::Offset::Kind::kAny);
}

bool VerifyAt(const sig::BodySig& s, Data d, size_t start) {
  if (s.pattern.PartCount() > 1) return Whole(s, d);
  std::vector<PartBounds> local;
  const PartBounds& r = PartsOf(s, &local)[0];
  if (!Allows(s.offset, d, start)) return false;
  PartMatcher m(s.pattern.elems, r, d);
  return m.Fwd(r.core_first, start) && m.LeftFits(start) && StartAllowed(s, r, d, start, m.anchor());
}

bool VerifyEndingAt(const sig::BodySig& s, Data d, size_t /*end*/) { return Whole(s, d); }

}  // namespace vigil::match
