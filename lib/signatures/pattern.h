// The body-signature pattern language of ClamAV's .ndb format, parsed into a
// flat list of elements. See docs.clamav.net "Body-based Signature Content
// Format" and docs/CLAMAV-COMPAT.md for what clamscan really does with it.
//
// clamscan cuts a pattern into "parts" at its unbounded or ranged gaps ("*",
// "{n-m}", ...); each part is matched on its own and the parts are chained
// by distance (match/verify.h explains how, quirks included). Inside a part,
// "{n}" (0 < n < 128) is n any-bytes, "[x-y]" ties one single anchor byte to
// the rest of the part, and a special (B)/(L)/(W) at either end of a part is
// a zero-width test of the neighbouring byte rather than a byte of the match.
// The compiler picks one exact literal run inside the pattern as the
// prefilter anchor.
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
  kGap,       // *, {..}, [x-y]: skip between gap_min and gap_max bytes (see GapKind)
  kBoundary,  // (B)
  kLine,      // (L)
  kNonAlnum,  // (W)
};

// How a gap was written, which decides how clamscan matches across it.
enum class GapKind : uint8_t {
  kSplit,      // "*", "{n-m}", "{n-}", "{-n}", "{0}", "{n}" with n >= 128, and any
               // "{n}" after one of those braces: ends a part. A maximum of 0
               // means unbounded ("{0}", "{-0}" act like "*").
  kFixed,      // "{n}" with 0 < n < 128 before any splitting brace: n any-bytes
               // inside a part
  kByteRange,  // "[x-y]": x..y any-bytes between a part's single anchor byte and the rest
};

// Where a special (B), (L), (W) or an alternation sits in its part, which
// decides how clamscan applies it (the parser decides).
enum class Place : uint8_t {
  kInside,  // matched forwards from clamscan's anchor; a special consumes one
            // byte ((L): LF or CR LF)
  kPrefix,  // before the part's clamscan anchor, so checked backwards: (L) takes
            // LF, or any byte then CR when LF follows; alternatives are tried
            // aligned on their end
  kBefore,  // a special that is the first element of a part: zero-width, the
            // byte before (or the start of the data)
  kAfter,   // a special that is the last element of a part: zero-width, the
            // byte after (or the end of the data)
};

inline constexpr uint32_t kGapUnbounded = 0xffffffffu;

struct Elem {
  ElemKind kind = ElemKind::kBytes;
  std::vector<ByteMatch> bytes;                // kBytes
  std::vector<std::vector<ByteMatch>> alts;    // kAlt, kNegAlt
  uint32_t gap_min = 0, gap_max = 0;           // kGap (min > max: never matches)
  GapKind gap_kind = GapKind::kSplit;          // kGap
  Place place = Place::kInside;                // specials, kAlt
  bool operator==(const Elem&) const = default;
  bool special() const {
    return kind == ElemKind::kBoundary || kind == ElemKind::kLine || kind == ElemKind::kNonAlnum;
  }
  bool split() const { return kind == ElemKind::kGap && gap_kind == GapKind::kSplit; }
};

// One part of a pattern: elements [first, last). [core_first, core_last) is
// what is left without the zero-width specials at its edges and without the
// single anchor byte and range of a "[x-y]" on either side; clamscan measures
// offsets and distances between parts on this core.
struct PartBounds {
  size_t first, last;
  size_t core_first, core_last;
  // clamscan's anchor in the core: it begins at byte anchor_offset of
  // element anchor_elem (a kBytes element). The positions before it
  // ("prefix") span prefix_min..prefix_max bytes in clamscan's reckoning,
  // which counts specials as 0 bytes; before a match is verified, an offset
  // rule must admit some start in [anchor - prefix_max, anchor - prefix_min].
  size_t anchor_elem = 0, anchor_offset = 0;
  size_t prefix_min = 0, prefix_max = 0;
};
struct Pattern {
  std::vector<Elem> elems;
  // PatternParts(*this), computed once by ParsePattern and the engine cache
  // loader so that matching never recomputes it (empty otherwise).
  std::vector<PartBounds> parts;
  // Fewest and most bytes a match can span (max may be kGapUnbounded).
  // Zero-width specials count 0.
  uint64_t MinLength() const;
  uint64_t MaxLength() const;
  // Number of parts: one more than the number of splitting gaps.
  size_t PartCount() const;
  // Whether some gap can never be satisfied ("{3-1}"): clamscan loads such a
  // signature but it never matches.
  bool Impossible() const;
};

std::vector<PartBounds> PatternParts(const Pattern& p);

// Parses a hex signature body. Errors are plain reasons ("odd number of hex
// digits"), without file/line: the caller adds those.
Result<Pattern> ParsePattern(std::string_view hex);

// The further limits clamscan puts on a parsed pattern when it loads it
// (its matchers need literal bytes to index). See docs/CLAMAV-COMPAT.md.
struct LoadLimits {
  // A pure literal goes to clamscan's Boyer-Moore matcher, which needs 3
  // bytes (target 0 always; target 1 unless the offset is "*" or floating).
  bool literal_min3 = false;
  // The target's matcher uses clamscan's q-gram filter, which needs two byte
  // positions before the first special or multi-byte alternative
  // (targets 0, 1, 4 and 7).
  bool qgram_filter = true;
};

// Checks a parsed pattern against those limits; every part needs a run of
// two literal bytes, among others. Errors are plain reasons.
Status CheckLoadLimits(const Pattern& p, const LoadLimits& limits);

// Renders a pattern back to ClamAV's syntax (canonical form; for messages
// and the golden tests). Parsing the canonical form gives the same pattern.
std::string FormatPattern(const Pattern& p);

}  // namespace vigil::sig
