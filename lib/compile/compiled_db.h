// CompiledDb: a SignatureSet turned into structures that scan fast.
//
//  - Hash signatures sorted by (size, kind, digest): a file whose size has no
//    entry (and no "any size" entry exists) is never hashed.
//  - Body signatures prefiltered by one Hyperscan literal database per target
//    group: each signature contributes its best exact literal run (its anchor);
//    a hit is verified exactly around the anchor (match/verify.h).
//  - Signatures whose offset pins the start (n, EOF-n with a small shift) are
//    verified directly at those positions, without prefilter.
//  - Signatures with no usable literal are compiled whole as Hyperscan
//    regular expressions (pattern_regex.h); a hit verifies from the offsets.
#pragma once

#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "signatures/signature_set.h"
#include "vigil/status.h"

namespace vigil::compile {

// Memory for a database deserialised in place (hs_deserialize_database_at):
// 64-byte aligned, and on transparent huge pages from a megabyte up.
void* HsAlloc(size_t n);
void HsFree(void* p);

struct HsDatabaseDeleter {
  bool placed = false;  // from HsAlloc, not from Hyperscan's allocator
  void operator()(hs_database_t* db) const;
};
using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

// A read-only array that owns its elements (after a compile) or borrows them
// from a mapped engine cache (compile/cache.h), which must outlive it.
template <typename T>
class Array {
 public:
  Array() = default;
  Array(std::vector<T> v) : owned_(std::move(v)) {}  // NOLINT: implicit on purpose
  Array& operator=(std::vector<T> v) {
    owned_ = std::move(v);
    borrowed_ = false;
    return *this;
  }
  static Array Borrow(std::span<const T> s) {
    Array a;
    a.view_ = s;
    a.borrowed_ = true;
    return a;
  }
  // The owned elements, for building; a borrowed array is copied first.
  std::vector<T>& edit() {
    if (borrowed_) {
      owned_.assign(view_.begin(), view_.end());
      borrowed_ = false;
    }
    return owned_;
  }
  std::span<const T> span() const { return borrowed_ ? view_ : std::span<const T>(owned_); }
  size_t size() const { return span().size(); }
  bool empty() const { return span().empty(); }
  const T& operator[](size_t i) const { return span()[i]; }
  auto begin() const { return span().begin(); }
  auto end() const { return span().end(); }
  bool operator==(const Array& o) const { return std::equal(begin(), end(), o.begin(), o.end()); }

 private:
  std::vector<T> owned_;
  std::span<const T> view_;
  bool borrowed_ = false;
};

// Entries are kept as loaded: one 48-byte record per hash signature.
using HashEntry = sig::HashSig;
bool HashLess(const HashEntry& a, const HashEntry& b);

// Hash signatures sorted by (size, kind, digest). The entries are owned
// (Build) or borrowed from a mapped engine cache (Borrow); borrowed entries
// are not checked one by one when mapped: a lookup skips an entry whose name
// index is out of range, and a corrupt order only makes lookups miss.
class HashIndex {
 public:
  void Build(std::vector<sig::HashSig> sigs);
  void Borrow(std::span<const HashEntry> entries, uint8_t any_size_kinds, size_t name_count);
  // Which hash kinds (bit 1<<kind) a file of this size needs; 0 = none.
  uint8_t KindsForSize(int64_t size) const;
  // Calls fn(name) for each entry matching (size, kind, digest).
  template <typename Fn>
  void Lookup(int64_t size, sig::HashKind kind, const uint8_t* digest, Fn&& fn) const;
  size_t size() const { return entries_.size(); }
  std::span<const HashEntry> entries() const { return entries_; }
  uint8_t any_size_kinds() const { return any_size_kinds_; }

 private:
  std::vector<HashEntry> owned_;
  std::span<const HashEntry> entries_;  // sorted; owned_ or borrowed
  uint8_t any_size_kinds_ = 0;
  size_t name_count_ = SIZE_MAX;
};

// What the scan loop needs of a body signature without its pattern: fixed
// size, so that the engine cache stores them as one array.
struct BodyHead {
  uint32_t name = 0;
  uint8_t target = 0;
  uint8_t literal = 0;      // the pattern is one exact byte string
  uint8_t offset_kind = 0;  // sig::Offset::Kind
  uint8_t reserved = 0;
  uint32_t section = 0;
  uint32_t max_shift = 0;
  int64_t value = 0;
  sig::Offset offset() const {
    sig::Offset o;
    o.kind = static_cast<sig::Offset::Kind>(offset_kind);
    o.value = value;
    o.section = section;
    o.max_shift = max_shift;
    return o;
  }
};
static_assert(sizeof(BodyHead) == 24);

// The evaluable body signatures. Owned after a compile; after a cache load
// the heads are borrowed from the mapping and each signature's pattern is
// decoded from it the first time a scan needs it (thread-safe), so that a
// start touches only the signatures it uses.
class BodyTable {
 public:
  BodyTable() = default;
  explicit BodyTable(std::vector<sig::BodySig> bodies);
  // `offsets` has size()+1 entries into `blob`, one encoded pattern each
  // (compile/cache.cc); `decode` turns one into a signature, or null when it
  // is malformed.
  using Decoder = std::unique_ptr<sig::BodySig> (*)(std::string_view bytes, const BodyHead& head);
  BodyTable(std::span<const BodyHead> heads, std::span<const uint64_t> offsets, std::string_view blob,
            Decoder decode);
  ~BodyTable();
  BodyTable(BodyTable&&) noexcept;
  BodyTable& operator=(BodyTable&&) noexcept;

  size_t size() const { return heads_.size(); }
  const BodyHead& head(size_t i) const { return heads_[i]; }
  // The whole signature, or null when its cached form is malformed (it then
  // never matches).
  const sig::BodySig* Get(size_t i) const;

 private:
  std::vector<sig::BodySig> owned_;
  std::vector<BodyHead> owned_heads_;
  std::span<const BodyHead> heads_;
  std::span<const uint64_t> offsets_;
  std::string_view blob_;
  Decoder decode_ = nullptr;
  struct FreeSlots {
    void operator()(std::atomic<sig::BodySig*>* p) const { std::free(p); }
  };
  std::unique_ptr<std::atomic<sig::BodySig*>, FreeSlots> decoded_;  // borrowed mode only
  // What was decoded, to free it (guarded by *decoded_mu_).
  mutable std::vector<sig::BodySig*> decoded_list_;
  std::unique_ptr<std::mutex> decoded_mu_;
  static sig::BodySig* Malformed();
  void FreeDecoded();
};

BodyHead MakeHead(const sig::BodySig& b);

// Where a signature's anchor sits inside its pattern.
struct Anchor {
  uint32_t sig;       // index into CompiledDb::bodies
  uint16_t elem;      // pattern element holding the anchor
  uint16_t alt;       // alternative index for kAlt elements, else 0
  uint32_t offset;    // byte offset of the anchor inside the element/alternative
  uint32_t length;    // anchor length in bytes
  bool operator==(const Anchor&) const = default;
};
static_assert(sizeof(Anchor) == 16);

// Whether an anchor lies inside its signature's pattern (verification would
// otherwise read out of bounds); checked before each use, since a cached
// pattern is decoded only when first needed.
bool AnchorFits(const sig::BodySig& b, const Anchor& a);

// One prefilter group: the signatures of one target type scanned over one
// view of the data (raw bytes, or normalised text).
struct Group {
  Array<uint32_t> positional;       // verified directly at their offsets
  Array<Anchor> anchors;            // per literal id: [lit_first[id], lit_first[id+1])
  Array<uint32_t> lit_first;
  Array<uint32_t> regex_sigs;       // hs id = literal count + i
  HsDatabase literals;                    // literal anchors and whole-pattern regexes
  size_t literal_count = 0;
  bool empty() const { return positional.empty() && anchors.empty() && regex_sigs.empty(); }
};

struct CompiledDb {
  // The mapped engine cache the tables below borrow from (null after a
  // compile). Declared first so that it is released last.
  std::shared_ptr<const void> backing;
  sig::NameTable names;
  HashIndex hashes;
  HashIndex allow;
  BodyTable bodies;                   // evaluable body signatures only
  Group raw;                          // target 0 over the raw bytes
  Group text;                         // target 7 over normalised text
  uint64_t known = 0;
  std::vector<std::string> warnings;
  size_t hs_scratch_hint = 0;
};

// How body signatures are prefiltered. kAnchor (the default) scans for one
// literal per signature and verifies around hits; kWholeRegex hands every
// pattern Hyperscan can express to it whole (kept to benchmark the two).
enum class Strategy { kAnchor, kWholeRegex };
// VIGIL_PREFILTER=regex selects kWholeRegex (benchmarks only).
Strategy StrategyFromEnv();

// Builds the compiled form. `set` is consumed.
Result<std::unique_ptr<CompiledDb>> Compile(sig::SignatureSet set,
                                            Strategy strategy = StrategyFromEnv());

// Compiles the Hyperscan databases of a group from its anchors/regex sigs.
Status BuildGroupDatabase(const std::vector<sig::BodySig>& bodies, Group* g);

template <typename Fn>
void HashIndex::Lookup(int64_t size, sig::HashKind kind, const uint8_t* digest, Fn&& fn) const {
  HashEntry key{};
  key.size = size;
  key.kind = kind;
  std::copy(digest, digest + sig::HashLength(kind), key.digest.begin());
  auto [lo, hi] = std::equal_range(entries_.begin(), entries_.end(), key, HashLess);
  for (auto it = lo; it != hi; ++it)
    if (it->name < name_count_) fn(it->name);
  if (any_size_kinds_ & (1u << static_cast<unsigned>(kind))) {
    key.size = sig::kAnySize;
    auto [lo2, hi2] = std::equal_range(entries_.begin(), entries_.end(), key, HashLess);
    for (auto it = lo2; it != hi2; ++it)
      if (it->name < name_count_) fn(it->name);
  }
}

}  // namespace vigil::compile
