// SignatureSet: everything loaded from signature databases, before compiling.
// Plain data; produced by the per-format parsers, consumed by compile/.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "signatures/pattern.h"

namespace vigil::sig {

enum class HashKind : uint8_t { kMd5 = 0, kSha1 = 1, kSha256 = 2 };
inline constexpr size_t HashLength(HashKind k) {
  return k == HashKind::kMd5 ? 16 : k == HashKind::kSha1 ? 20 : 32;
}

inline constexpr int64_t kAnySize = -1;

struct HashSig {
  int64_t size = kAnySize;           // file size, or kAnySize for "*"
  uint32_t name = 0;                 // index into SignatureSet::names
  HashKind kind = HashKind::kMd5;
  std::array<uint8_t, 32> digest{};  // first HashLength(kind) bytes used, rest zero
};

// Where a body signature may start, relative to the scanned data.
struct Offset {
  enum class Kind : uint8_t {
    kAny,        // *
    kAbsolute,   // n[,maxshift]
    kFromEnd,    // EOF-n[,maxshift]
    kEntryPoint, // EP+n / EP-n            (executables; evaluated for PE files)
    kSection,    // Sx+n                   (the same)
    kSectionAll, // SEx                    (the same)
    kLastSection // SL+n                   (the same)
  };
  Kind kind = Kind::kAny;
  int64_t value = 0;       // n (signed for EP-n)
  uint32_t section = 0;    // x for Sx / SEx
  uint32_t max_shift = 0;  // floating offset: start in [value, value+max_shift]
  // Whether it can be evaluated on any buffer (not only on executables).
  bool evaluable() const {
    return kind == Kind::kAny || kind == Kind::kAbsolute || kind == Kind::kFromEnd;
  }
};

// ClamAV target types.
enum TargetType : uint8_t {
  kTargetAny = 0, kTargetPe = 1, kTargetOle2 = 2, kTargetHtml = 3, kTargetMail = 4,
  kTargetGraphics = 5, kTargetElf = 6, kTargetAscii = 7, kTargetUnused = 8,
  kTargetMachO = 9, kTargetPdf = 10, kTargetFlash = 11, kTargetJava = 12,
  kTargetMax = 14,
};

// Target types this engine evaluates: 0 (any file), 7 (normalised text) and
// the types that mean "the raw bytes of a file of this type" (1 PE, 2 OLE2,
// 4 mail, 5 graphics, 6 ELF, 9 Mach-O, 10 PDF, 11 Flash, 12 Java class), the
// type decided from the leading bytes as clamscan does (match/target.h). Not
// yet: 3 (normalised HTML), 13 and 14.
constexpr bool TargetEvaluable(uint8_t t) {
  return t == kTargetAny || t == kTargetAscii || t == kTargetPe || t == kTargetOle2 || t == kTargetHtml ||
         t == kTargetMail ||
         t == kTargetGraphics || t == kTargetElf || t == kTargetMachO || t == kTargetPdf ||
         t == kTargetFlash || t == kTargetJava;
}

struct BodySig {
  uint32_t name = 0;
  uint8_t target = kTargetAny;
  Offset offset;
  Pattern pattern;
  // Whether this engine can evaluate it now (target type and offset kind).
  // Signatures that cannot be evaluated are loaded and counted, never matched.
  bool evaluable = true;
};

// Signature names in one arena: hundreds of thousands of short strings
// without one allocation each, and a flat layout the engine cache can map.
// The arena is either owned (built by the loaders) or borrowed from a mapped
// engine cache (Borrow), whose mapping must outlive the table.
class NameTable {
 public:
  uint32_t Add(std::string_view n) {
    blob_.append(n);
    ends_.push_back(static_cast<uint32_t>(blob_.size()));
    return static_cast<uint32_t>(ends_.size() - 1);
  }
  std::string_view operator[](size_t i) const {
    std::span<const uint32_t> e = ends();
    size_t begin = i == 0 ? 0 : e[i - 1];
    return blob().substr(begin, e[i] - begin);
  }
  size_t size() const { return ends().size(); }
  bool empty() const { return ends().empty(); }

  // Iteration yields std::string_view.
  class Iterator {
   public:
    Iterator(const NameTable* t, size_t i) : t_(t), i_(i) {}
    std::string_view operator*() const { return (*t_)[i_]; }
    Iterator& operator++() { ++i_; return *this; }
    bool operator==(const Iterator& o) const { return i_ == o.i_; }
   private:
    const NameTable* t_;
    size_t i_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }
  void Reserve(size_t count, size_t bytes) { ends_.reserve(count); blob_.reserve(bytes); }
  // Drops names added after the first `count` (undoing a failed parse).
  void Truncate(size_t count) {
    if (count >= ends_.size()) return;
    ends_.resize(count);
    blob_.resize(count == 0 ? 0 : ends_.back());
  }
  std::string_view blob() const { return borrowed_ ? borrowed_blob_ : std::string_view(blob_); }
  std::span<const uint32_t> ends() const {
    return borrowed_ ? borrowed_ends_ : std::span<const uint32_t>(ends_);
  }
  // Replaces the contents; false (and unchanged) unless `ends` is
  // non-decreasing and within `blob`.
  bool Restore(std::string blob, std::vector<uint32_t> ends) {
    if (!Consistent(blob, ends)) return false;
    blob_ = std::move(blob);
    ends_ = std::move(ends);
    borrowed_ = false;
    return true;
  }
  // The same over memory the table does not own.
  bool Borrow(std::string_view blob, std::span<const uint32_t> ends) {
    if (!Consistent(blob, ends)) return false;
    blob_.clear();
    ends_.clear();
    borrowed_blob_ = blob;
    borrowed_ends_ = ends;
    borrowed_ = true;
    return true;
  }

 private:
  static bool Consistent(std::string_view blob, std::span<const uint32_t> ends) {
    uint32_t prev = 0;
    for (uint32_t e : ends) {
      if (e < prev || e > blob.size()) return false;
      prev = e;
    }
    return true;
  }
  std::string blob_;
  std::vector<uint32_t> ends_;  // end offset of each name in blob_
  bool borrowed_ = false;
  std::string_view borrowed_blob_;
  std::span<const uint32_t> borrowed_ends_;
};

struct SignatureSet {
  NameTable names;                   // printed names (".UNOFFICIAL" already applied)
  std::vector<HashSig> hashes;       // .hdb .hsb
  std::vector<HashSig> allow;        // .fp .sfp: a file with this hash is clean
  std::vector<BodySig> bodies;       // .ndb
  std::unordered_set<std::string> ignored;  // .ign2 names (as written, no suffix)
  uint64_t known = 0;                // "Known viruses" as clamscan counts it
  std::vector<std::string> warnings; // skipped files, unevaluable signatures

  uint32_t AddName(std::string_view n) { return names.Add(n); }
};

}  // namespace vigil::sig
