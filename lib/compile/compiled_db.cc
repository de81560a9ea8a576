#include "compile/compiled_db.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string_view>
#include <tuple>

#include "compile/pattern_regex.h"

namespace vigil::compile {

bool HashLess(const HashEntry& a, const HashEntry& b) {
  return std::tie(a.size, a.kind, a.digest) < std::tie(b.size, b.kind, b.digest);
}

void HashIndex::Build(std::vector<sig::HashSig> sigs) { Restore(std::move(sigs)); }

void HashIndex::Restore(std::vector<HashEntry> entries) {
  entries_ = std::move(entries);
  // Stable: equal entries keep load order (the last loaded one wins a tie).
  std::stable_sort(entries_.begin(), entries_.end(), HashLess);
  any_size_kinds_ = 0;
  for (const auto& e : entries_) {
    if (e.size != sig::kAnySize) break;  // kAnySize (-1) sorts first
    any_size_kinds_ |= static_cast<uint8_t>(1u << static_cast<unsigned>(e.kind));
  }
}

uint8_t HashIndex::KindsForSize(int64_t size) const {
  uint8_t kinds = any_size_kinds_;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), size,
                             [](const HashEntry& e, int64_t s) { return e.size < s; });
  for (; it != entries_.end() && it->size == size; ++it)
    kinds |= static_cast<uint8_t>(1u << static_cast<unsigned>(it->kind));
  return kinds;
}

namespace {

// How much a byte narrows the search: common filler bytes are worth little.
double ByteWeight(uint8_t b) {
  switch (b) {
    case 0x00: return 0.25;
    case 0xff: return 0.4;
    case 0x20: case 0x90: case 0xcc: return 0.6;
    default: return 1.0;
  }
}

constexpr size_t kMaxAnchorLength = 16;

struct Candidate {
  double score = 0;
  uint16_t elem = 0;
  uint32_t offset = 0, length = 0;
  bool alt = false;
};

// Best window of exact bytes inside `run`; score counts repeated bytes once.
void BestWindow(const std::vector<sig::ByteMatch>& run, double* score, uint32_t* off, uint32_t* len) {
  *score = 0;
  size_t i = 0;
  while (i < run.size()) {
    if (!run[i].exact()) { ++i; continue; }
    size_t j = i;
    while (j < run.size() && run[j].exact()) ++j;
    // exact run [i, j): slide a window of at most kMaxAnchorLength.
    size_t w = std::min(j - i, kMaxAnchorLength);
    for (size_t s = i; s + w <= j; ++s) {
      double sc = 0;
      for (size_t k = s; k < s + w; ++k) {
        double bw = ByteWeight(run[k].value);
        if (k > s && run[k].value == run[k - 1].value) bw *= 0.3;
        sc += bw;
      }
      if (sc > *score) { *score = sc; *off = static_cast<uint32_t>(s); *len = static_cast<uint32_t>(w); }
    }
    i = j;
  }
}

Candidate ChooseAnchor(const sig::Pattern& p) {
  Candidate best;
  for (size_t ei = 0; ei < p.elems.size(); ++ei) {
    const sig::Elem& e = p.elems[ei];
    if (e.kind == sig::ElemKind::kBytes) {
      Candidate c;
      BestWindow(e.bytes, &c.score, &c.offset, &c.length);
      c.elem = static_cast<uint16_t>(ei);
      if (c.score > best.score) best = c;
    } else if (e.kind == sig::ElemKind::kAlt && e.alts.size() <= 16) {
      // Every alternative must be an exact literal; the weakest one counts.
      double worst = 1e9;
      for (const auto& a : e.alts) {
        bool exact = std::all_of(a.begin(), a.end(), [](sig::ByteMatch b) { return b.exact(); });
        if (!exact || a.empty()) { worst = 0; break; }
        double sc = 0;
        for (auto b : a) sc += ByteWeight(b.value);
        worst = std::min(worst, sc);
      }
      // Several literals fire more often than one: discount slightly.
      worst *= 0.8;
      if (worst > best.score) {
        best = Candidate{worst, static_cast<uint16_t>(ei), 0, 0, true};
      }
    }
  }
  return best;
}

// Offsets that pin the start to a handful of positions are cheaper to check
// directly than to prefilter.
constexpr uint32_t kMaxPinnedShift = 4096;
// Fewer than this many bytes' worth of anchor would fire too often.
constexpr double kMinAnchorScore = 2.0;

void AddSig(const std::vector<sig::BodySig>& bodies, uint32_t id, Strategy strategy,
            std::map<std::string, std::vector<Anchor>>* lits, Group* g) {
  const sig::BodySig& s = bodies[id];
  using K = sig::Offset::Kind;
  bool pinned = (s.offset.kind == K::kAbsolute || s.offset.kind == K::kFromEnd || s.offset.kind == K::kEntryPoint ||
                 s.offset.kind == K::kSection || s.offset.kind == K::kLastSection) &&
                s.offset.max_shift <= kMaxPinnedShift;
  if (pinned) { g->positional.push_back(id); return; }
  Candidate c = ChooseAnchor(s.pattern);
  if (c.score < kMinAnchorScore ||
      (strategy == Strategy::kWholeRegex && PatternToRegex(s.pattern).ok())) {
    g->regex_sigs.push_back(id);
    return;
  }
  const sig::Elem& e = s.pattern.elems[c.elem];
  if (!c.alt) {
    std::string lit;
    for (uint32_t k = 0; k < c.length; ++k) lit.push_back(static_cast<char>(e.bytes[c.offset + k].value));
    (*lits)[lit].push_back(Anchor{id, c.elem, 0, c.offset, c.length});
  } else {
    for (size_t ai = 0; ai < e.alts.size(); ++ai) {
      std::string lit;
      for (auto b : e.alts[ai]) lit.push_back(static_cast<char>(b.value));
      (*lits)[lit].push_back(Anchor{id, c.elem, static_cast<uint16_t>(ai), 0,
                                    static_cast<uint32_t>(lit.size())});
    }
  }
}

}  // namespace

Status BuildGroupDatabase(const std::vector<sig::BodySig>& bodies, Group* g) {
  std::vector<std::string> exprs;
  std::vector<unsigned> flags, ids;
  std::vector<size_t> lens;
  // Literal anchors: one Hyperscan id per distinct literal.
  std::vector<std::string> lits;
  for (size_t id = 0; id + 1 < g->lit_first.size(); ++id) {
    const Anchor& a = g->anchors[g->lit_first[id]];
    const sig::Elem& e = bodies[a.sig].pattern.elems[a.elem];
    const auto& run = e.kind == sig::ElemKind::kAlt ? e.alts[a.alt] : e.bytes;
    std::string lit;
    for (uint32_t k = 0; k < a.length; ++k) lit.push_back(static_cast<char>(run[a.offset + k].value));
    lits.push_back(std::move(lit));
  }
  g->literal_count = lits.size();
  std::vector<std::string> regexes;
  std::vector<uint32_t> kept_regex;
  std::vector<bool> regex_exact;
  for (uint32_t sid : g->regex_sigs) {
    bool exact = false;
    auto r = PatternToRegex(bodies[sid].pattern, &exact);
    if (!r.ok()) continue;
    regexes.push_back(std::move(r).value());
    regex_exact.push_back(exact);
    kept_regex.push_back(sid);
  }
  g->regex_sigs = kept_regex;
  if (lits.empty() && regexes.empty()) return Status::Ok();

  hs_compile_error_t* err = nullptr;
  hs_database_t* db = nullptr;
  if (regexes.empty()) {
    std::vector<const char*> ptrs;
    for (size_t i = 0; i < lits.size(); ++i) {
      ptrs.push_back(lits[i].data());
      lens.push_back(lits[i].size());
      flags.push_back(0);
      ids.push_back(static_cast<unsigned>(i));
    }
    if (hs_compile_lit_multi(ptrs.data(), flags.data(), ids.data(), lens.data(),
                             static_cast<unsigned>(ptrs.size()), HS_MODE_BLOCK, nullptr, &db,
                             &err) != HS_SUCCESS) {
      std::string m = err ? err->message : "unknown error";
      hs_free_compile_error(err);
      return Status::Internal("Hyperscan literal compile failed: " + m);
    }
  } else {
    // Mixed database: literals escaped as expressions, then whole-pattern regexes.
    for (const auto& l : lits) {
      std::string x;
      for (unsigned char c : l) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        x += buf;
      }
      exprs.push_back(std::move(x));
    }
    for (auto& r : regexes) exprs.push_back(std::move(r));
    std::vector<const char*> ptrs;
    for (size_t i = 0; i < exprs.size(); ++i) {
      ptrs.push_back(exprs[i].c_str());
      unsigned f = HS_FLAG_DOTALL;
      // An exact whole-pattern regex with no offset rule needs only its
      // first hit; a widened one may first match where verification fails.
      if (i >= lits.size() && regex_exact[i - lits.size()] &&
          bodies[g->regex_sigs[i - lits.size()]].offset.kind == sig::Offset::Kind::kAny)
        f |= HS_FLAG_SINGLEMATCH;
      flags.push_back(f);
      ids.push_back(static_cast<unsigned>(i));
    }
    if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(), static_cast<unsigned>(ptrs.size()),
                         HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
      std::string m = err ? err->message : "unknown error";
      int bad = err ? err->expression : -1;
      hs_free_compile_error(err);
      // One unsupported regex must not sink the others: drop it and retry.
      if (bad >= static_cast<int>(lits.size())) {
        g->regex_sigs.erase(g->regex_sigs.begin() + (bad - static_cast<int>(lits.size())));
        return BuildGroupDatabase(bodies, g);
      }
      return Status::Internal("Hyperscan compile failed: " + m);
    }
  }
  g->literals.reset(db);
  return Status::Ok();
}

Strategy StrategyFromEnv() {
  const char* v = std::getenv("VIGIL_PREFILTER");
  return v && std::string_view(v) == "regex" ? Strategy::kWholeRegex : Strategy::kAnchor;
}

Result<std::unique_ptr<CompiledDb>> Compile(sig::SignatureSet set, Strategy strategy) {
  auto db = std::make_unique<CompiledDb>();
  db->hashes.Build(std::move(set.hashes));
  db->allow.Build(std::move(set.allow));
  db->known = set.known;
  db->warnings = std::move(set.warnings);
  std::map<std::string, std::vector<Anchor>> raw_lits, text_lits;
  for (auto& b : set.bodies) {
    if (!b.evaluable) continue;
    db->bodies.push_back(std::move(b));
  }
  for (uint32_t id = 0; id < db->bodies.size(); ++id) {
    if (db->bodies[id].target == sig::kTargetAscii) AddSig(db->bodies, id, strategy, &text_lits, &db->text);
    else AddSig(db->bodies, id, strategy, &raw_lits, &db->raw);
  }
  for (auto [lits, g] : {std::pair{&raw_lits, &db->raw}, std::pair{&text_lits, &db->text}}) {
    for (auto& [lit, anchors] : *lits) {
      g->lit_first.push_back(static_cast<uint32_t>(g->anchors.size()));
      g->anchors.insert(g->anchors.end(), anchors.begin(), anchors.end());
    }
    g->lit_first.push_back(static_cast<uint32_t>(g->anchors.size()));
    size_t before = g->regex_sigs.size();
    VIGIL_RETURN_IF_ERROR(BuildGroupDatabase(db->bodies, g));
    if (g->regex_sigs.size() < before) {
      db->warnings.push_back(std::to_string(before - g->regex_sigs.size()) +
                             " signature(s) without a literal anchor could not be compiled; never matched");
    }
  }
  db->names = std::move(set.names);
  return db;
}

}  // namespace vigil::compile
