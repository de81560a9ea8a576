// SignatureSet: everything loaded from signature databases, before compiling.
// Plain data; produced by the per-format parsers, consumed by compile/.
#pragma once

#include <array>
#include <cstdint>
#include <string>
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
  HashKind kind = HashKind::kMd5;
  std::array<uint8_t, 32> digest{};  // first HashLength(kind) bytes used
  int64_t size = kAnySize;           // file size, or kAnySize for "*"
  uint32_t name = 0;                 // index into SignatureSet::names
};

// Where a body signature may start, relative to the scanned data.
struct Offset {
  enum class Kind : uint8_t {
    kAny,        // *
    kAbsolute,   // n[,maxshift]
    kFromEnd,    // EOF-n[,maxshift]
    kEntryPoint, // EP+n / EP-n            (executables; not evaluable yet)
    kSection,    // Sx+n                   (not evaluable yet)
    kSectionAll, // SEx                    (not evaluable yet)
    kLastSection // SL+n                   (not evaluable yet)
  };
  Kind kind = Kind::kAny;
  int64_t value = 0;       // n (signed for EP-n)
  uint32_t section = 0;    // x for Sx / SEx
  uint32_t max_shift = 0;  // floating offset: start in [value, value+max_shift]
  bool evaluable() const {
    return kind == Kind::kAny || kind == Kind::kAbsolute || kind == Kind::kFromEnd;
  }
};

// ClamAV target types. Only kAny and kAscii are evaluated by this engine so far.
enum TargetType : uint8_t {
  kTargetAny = 0, kTargetPe = 1, kTargetOle2 = 2, kTargetHtml = 3, kTargetMail = 4,
  kTargetGraphics = 5, kTargetElf = 6, kTargetAscii = 7, kTargetUnused = 8,
  kTargetMachO = 9, kTargetPdf = 10, kTargetFlash = 11, kTargetJava = 12,
  kTargetMax = 14,
};

struct BodySig {
  uint32_t name = 0;
  uint8_t target = kTargetAny;
  Offset offset;
  Pattern pattern;
  // Whether this engine can evaluate it now (target type and offset kind).
  // Signatures that cannot be evaluated are loaded and counted, never matched.
  bool evaluable = true;
};

struct SignatureSet {
  std::vector<std::string> names;    // printed names (".UNOFFICIAL" already applied)
  std::vector<HashSig> hashes;       // .hdb .hsb
  std::vector<HashSig> allow;        // .fp .sfp: a file with this hash is clean
  std::vector<BodySig> bodies;       // .ndb
  std::unordered_set<std::string> ignored;  // .ign2 names (as written, no suffix)
  uint64_t known = 0;                // "Known viruses" as clamscan counts it
  std::vector<std::string> warnings; // skipped files, unevaluable signatures

  uint32_t AddName(std::string n) {
    names.push_back(std::move(n));
    return static_cast<uint32_t>(names.size() - 1);
  }
};

}  // namespace vigil::sig
