// The body-signature pattern language of ClamAV's .ndb format, parsed into a
// flat list of elements. See docs.clamav.net "Body-based Signature Content
// Format". A pattern is matched as a whole (all elements in order); the
// compiler picks one exact literal run inside it as the prefilter anchor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::sig {

// One byte position: (input & mask) == value. mask 0xff exact, 0xf0 / 0x0f
// nibble, 0x00 any byte ("??").
struct ByteMatch {
  uint8_t value = 0;
  uint8_t mask = 0xff;
  bool Matches(uint8_t b) const { return (b & mask) == value; }
  bool exact() const { return mask == 0xff; }
  bool operator==(const ByteMatch&) const = default;
};

enum class ElemKind : uint8_t {
  kBytes,     // fixed run of ByteMatch
  kAlt,       // (a|b|..): one of several byte sequences; may differ in length
  kNegAlt,    // !(a|b|..): one position whose bytes match none of the alternatives
  kGap,       // {n-m}, *, [x-y]: skip between gap_min and gap_max bytes
  kBoundary,  // (B)
  kLine,      // (L)
  kNonAlnum,  // (W)
};

inline constexpr uint32_t kGapUnbounded = 0xffffffffu;

struct Elem {
  ElemKind kind = ElemKind::kBytes;
  std::vector<ByteMatch> bytes;                // kBytes
  std::vector<std::vector<ByteMatch>> alts;    // kAlt, kNegAlt
  uint32_t gap_min = 0, gap_max = 0;           // kGap
  bool operator==(const Elem&) const = default;
};

struct Pattern {
  std::vector<Elem> elems;
  // Fewest and most bytes a match can span (max may be kGapUnbounded).
  uint64_t MinLength() const;
  uint64_t MaxLength() const;
};

// Parses a hex signature body. Errors are plain reasons ("odd number of hex
// digits"), without file/line: the caller adds those.
Result<Pattern> ParsePattern(std::string_view hex);

// Renders a pattern back to ClamAV's syntax (canonical form; for messages
// and the golden tests).
std::string FormatPattern(const Pattern& p);

}  // namespace vigil::sig
