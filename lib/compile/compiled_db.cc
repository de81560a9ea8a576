#include "compile/compiled_db.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string_view>
#include <tuple>

#include "compile/pattern_regex.h"

namespace vigil::compile {

bool HashLess(const HashEntry& a, const HashEntry& b) {
  return std::tie(a.size, a.kind, a.digest) < std::tie(b.size, b.kind, b.digest);
}

namespace {

// Hyperscan databases of a megabyte or more are placed in 2 MiB-aligned
// mappings marked for transparent huge pages: filling one then takes a
// page fault or two instead of hundreds, which on a virtual machine is most
// of the time a cached engine takes to load (docs/PERFORMANCE.md).
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeFrom = size_t{1} << 20;
constexpr size_t kAllocHeader = 64;  // keeps the block 64-byte aligned
constexpr uint64_t kMapped = 0x4d41505045444442, kMalloced = 0x4d414c4c4f434442;
struct AllocHeader {
  uint64_t magic;
  size_t length;
  void* base;
};

}  // namespace

void* HsAlloc(size_t n) {
  if (n >= kHugeFrom && n < SIZE_MAX / 2) {
    size_t len = (n + kAllocHeader + kHugePage - 1) & ~(kHugePage - 1);
    void* raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw != MAP_FAILED) {
      auto start = reinterpret_cast<uintptr_t>(raw);
      uintptr_t base = (start + kHugePage - 1) & ~(kHugePage - 1);
      size_t head = base - start;
      if (head) munmap(raw, head);
      if (kHugePage - head) munmap(reinterpret_cast<void*>(base + len), kHugePage - head);
      madvise(reinterpret_cast<void*>(base), len, MADV_HUGEPAGE);
      auto* h = reinterpret_cast<AllocHeader*>(base);
      *h = AllocHeader{kMapped, len, reinterpret_cast<void*>(base)};
      return reinterpret_cast<char*>(base) + kAllocHeader;
    }
  }
  auto* p = static_cast<char*>(std::malloc(n + kAllocHeader));
  if (!p) return nullptr;
  *reinterpret_cast<AllocHeader*>(p) = AllocHeader{kMalloced, n, p};
  return p + kAllocHeader;
}

void HsFree(void* p) {
  if (!p) return;
  auto* h = reinterpret_cast<AllocHeader*>(static_cast<char*>(p) - kAllocHeader);
  if (h->magic == kMapped) munmap(h->base, h->length);
  else std::free(h);
}

void HsDatabaseDeleter::operator()(hs_database_t* db) const {
  if (placed) HsFree(db);
  else hs_free_database(db);
}

void HashIndex::Build(std::vector<sig::HashSig> sigs) {
  owned_ = std::move(sigs);
  // Stable: equal entries keep load order (the last loaded one wins a tie).
  std::stable_sort(owned_.begin(), owned_.end(), HashLess);
  entries_ = owned_;
  name_count_ = SIZE_MAX;
  any_size_kinds_ = 0;
  for (const auto& e : owned_) {
    if (e.size != sig::kAnySize) break;  // kAnySize (-1) sorts first
    any_size_kinds_ |= static_cast<uint8_t>(1u << static_cast<unsigned>(e.kind));
  }
}

void HashIndex::Borrow(std::span<const HashEntry> entries, uint8_t any_size_kinds, size_t name_count) {
  owned_.clear();
  entries_ = entries;
  any_size_kinds_ = any_size_kinds & 7u;
  name_count_ = name_count;
}

uint8_t HashIndex::KindsForSize(int64_t size) const {
  uint8_t kinds = any_size_kinds_;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), size,
                             [](const HashEntry& e, int64_t s) { return e.size < s; });
  for (; it != entries_.end() && it->size == size; ++it)
    kinds |= static_cast<uint8_t>(1u << (static_cast<unsigned>(it->kind) & 7u));
  return kinds;
}

BodyHead MakeHead(const sig::BodySig& b) {
  BodyHead h;
  h.name = b.name;
  h.target = b.target;
  const sig::Pattern& p = b.pattern;
  h.literal = p.elems.size() == 1 && p.elems[0].kind == sig::ElemKind::kBytes &&
              std::all_of(p.elems[0].bytes.begin(), p.elems[0].bytes.end(),
                          [](sig::ByteMatch m) { return m.exact(); });
  h.offset_kind = static_cast<uint8_t>(b.offset.kind);
  h.section = b.offset.section;
  h.max_shift = b.offset.max_shift;
  h.value = b.offset.value;
  return h;
}

bool AnchorFits(const sig::BodySig& b, const Anchor& a) {
  if (a.elem >= b.pattern.elems.size()) return false;
  const sig::Elem& e = b.pattern.elems[a.elem];
  const std::vector<sig::ByteMatch>* run;
  if (e.kind == sig::ElemKind::kAlt) {
    if (a.alt >= e.alts.size()) return false;
    run = &e.alts[a.alt];
  } else if (e.kind == sig::ElemKind::kBytes) {
    run = &e.bytes;
  } else {
    return false;
  }
  return a.length != 0 && size_t{a.offset} + a.length <= run->size();
}

BodyTable::BodyTable(std::vector<sig::BodySig> bodies) : owned_(std::move(bodies)) {
  owned_heads_.reserve(owned_.size());
  for (const auto& b : owned_) owned_heads_.push_back(MakeHead(b));
  heads_ = owned_heads_;
}

BodyTable::BodyTable(std::span<const BodyHead> heads, std::span<const uint64_t> offsets,
                     std::string_view blob, Decoder decode)
    : heads_(heads), offsets_(offsets), blob_(blob), decode_(decode) {
  // calloc: fresh zeroed memory is not written, so a start touches only the
  // slots of the signatures it decodes. A zero atomic pointer is null.
  static_assert(sizeof(std::atomic<sig::BodySig*>) == sizeof(void*));
  decoded_.reset(static_cast<std::atomic<sig::BodySig*>*>(std::calloc(heads.size() + 1, sizeof(void*))));
  if (!decoded_) throw std::bad_alloc();
  decoded_mu_ = std::make_unique<std::mutex>();
}

BodyTable::~BodyTable() { FreeDecoded(); }

void BodyTable::FreeDecoded() {
  // Only the decoded ones: walking every slot would touch pages a short
  // scan never used.
  for (sig::BodySig* b : decoded_list_) delete b;
  decoded_list_.clear();
  decoded_.reset();
}

BodyTable::BodyTable(BodyTable&& o) noexcept { *this = std::move(o); }

BodyTable& BodyTable::operator=(BodyTable&& o) noexcept {
  if (this == &o) return *this;
  FreeDecoded();
  // Moving a vector keeps its buffer, so spans over owned data stay valid.
  owned_ = std::move(o.owned_);
  owned_heads_ = std::move(o.owned_heads_);
  heads_ = o.heads_;
  offsets_ = o.offsets_;
  blob_ = o.blob_;
  decode_ = o.decode_;
  decoded_ = std::move(o.decoded_);
  decoded_list_ = std::move(o.decoded_list_);
  decoded_mu_ = std::move(o.decoded_mu_);
  o.heads_ = {};
  o.offsets_ = {};
  o.blob_ = {};
  return *this;
}

sig::BodySig* BodyTable::Malformed() {
  static sig::BodySig marker;
  return &marker;
}

const sig::BodySig* BodyTable::Get(size_t i) const {
  if (!decoded_) return &owned_[i];
  sig::BodySig* b = decoded_.get()[i].load(std::memory_order_acquire);
  if (!b) {
    // offsets_ was checked on load: non-decreasing, within blob_.
    auto fresh = decode_(blob_.substr(offsets_[i], offsets_[i + 1] - offsets_[i]), heads_[i]);
    sig::BodySig* mine = fresh ? fresh.release() : Malformed();
    sig::BodySig* expected = nullptr;
    if (decoded_.get()[i].compare_exchange_strong(expected, mine, std::memory_order_acq_rel)) {
      b = mine;
      if (mine != Malformed()) {
        std::lock_guard<std::mutex> lock(*decoded_mu_);
        decoded_list_.push_back(mine);
      }
    } else {  // another thread decoded it first
      if (mine != Malformed()) delete mine;
      b = expected;
    }
  }
  return b == Malformed() ? nullptr : b;
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
  if (pinned) { g->positional.edit().push_back(id); return; }
  Candidate c = ChooseAnchor(s.pattern);
  if (c.score < kMinAnchorScore ||
      (strategy == Strategy::kWholeRegex && PatternToRegex(s.pattern).ok())) {
    g->regex_sigs.edit().push_back(id);
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
        g->regex_sigs.edit().erase(g->regex_sigs.edit().begin() + (bad - static_cast<int>(lits.size())));
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
  std::vector<sig::BodySig> bodies;
  for (auto& b : set.bodies) {
    if (!b.evaluable) continue;
    bodies.push_back(std::move(b));
  }
  for (uint32_t id = 0; id < bodies.size(); ++id) {
    if (bodies[id].target == sig::kTargetAscii) AddSig(bodies, id, strategy, &text_lits, &db->text);
    else AddSig(bodies, id, strategy, &raw_lits, &db->raw);
  }
  for (auto [lits, g] : {std::pair{&raw_lits, &db->raw}, std::pair{&text_lits, &db->text}}) {
    for (auto& [lit, anchors] : *lits) {
      g->lit_first.edit().push_back(static_cast<uint32_t>(g->anchors.size()));
      g->anchors.edit().insert(g->anchors.edit().end(), anchors.begin(), anchors.end());
    }
    g->lit_first.edit().push_back(static_cast<uint32_t>(g->anchors.size()));
    size_t before = g->regex_sigs.size();
    VIGIL_RETURN_IF_ERROR(BuildGroupDatabase(bodies, g));
    if (g->regex_sigs.size() < before) {
      db->warnings.push_back(std::to_string(before - g->regex_sigs.size()) +
                             " signature(s) without a literal anchor could not be compiled; never matched");
    }
  }
  db->bodies = BodyTable(std::move(bodies));
  db->names = std::move(set.names);
  return db;
}

}  // namespace vigil::compile
