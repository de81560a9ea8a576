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
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "signatures/signature_set.h"
#include "vigil/status.h"

namespace vigil::compile {

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

// Entries are kept as loaded: one 48-byte record per hash signature.
using HashEntry = sig::HashSig;
bool HashLess(const HashEntry& a, const HashEntry& b);

class HashIndex {
 public:
  void Build(std::vector<sig::HashSig> sigs);
  // Which hash kinds (bit 1<<kind) a file of this size needs; 0 = none.
  uint8_t KindsForSize(int64_t size) const;
  // Calls fn(name) for each entry matching (size, kind, digest).
  template <typename Fn>
  void Lookup(int64_t size, sig::HashKind kind, const uint8_t* digest, Fn&& fn) const;
  size_t size() const { return entries_.size(); }
  const std::vector<HashEntry>& entries() const { return entries_; }
  void Restore(std::vector<HashEntry> entries);

 private:
  std::vector<HashEntry> entries_;  // sorted
  uint8_t any_size_kinds_ = 0;
};

// Where a signature's anchor sits inside its pattern.
struct Anchor {
  uint32_t sig;       // index into CompiledDb::bodies
  uint16_t elem;      // pattern element holding the anchor
  uint16_t alt;       // alternative index for kAlt elements, else 0
  uint32_t offset;    // byte offset of the anchor inside the element/alternative
  uint32_t length;    // anchor length in bytes
};

// One prefilter group: the signatures of one target type scanned over one
// view of the data (raw bytes, or normalised text).
struct Group {
  std::vector<uint32_t> positional;       // verified directly at their offsets
  std::vector<Anchor> anchors;            // per literal id: [lit_first[id], lit_first[id+1])
  std::vector<uint32_t> lit_first;
  std::vector<uint32_t> regex_sigs;       // hs id = literal count + i
  HsDatabase literals;                    // literal anchors and whole-pattern regexes
  size_t literal_count = 0;
  bool empty() const { return positional.empty() && anchors.empty() && regex_sigs.empty(); }
};

struct CompiledDb {
  sig::NameTable names;
  HashIndex hashes;
  HashIndex allow;
  std::vector<sig::BodySig> bodies;   // evaluable body signatures only
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
  for (auto it = lo; it != hi; ++it) fn(it->name);
  if (any_size_kinds_ & (1u << static_cast<unsigned>(kind))) {
    key.size = sig::kAnySize;
    auto [lo2, hi2] = std::equal_range(entries_.begin(), entries_.end(), key, HashLess);
    for (auto it = lo2; it != hi2; ++it) fn(it->name);
  }
}

}  // namespace vigil::compile
