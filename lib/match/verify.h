// Exact verification of one body signature at a known place in the data.
//
// The prefilter reports where a signature's anchor literal ends; the
// verifier then matches the rest of the pattern forward and backward from
// there, trying every way the gaps and variable alternatives can fall, and
// checks the signature's offset rule against where the match starts.
//
// Unbounded gaps ("*", "{n-}") make naive backtracking exponential on
// hostile input ("a*b*c*d" over a file full of a, b, c). The verifier
// remembers, per element, the position beyond which the rest of the pattern
// is known not to match, which keeps the work linear in the data per gap.
#pragma once

#include <cstddef>
#include <cstdint>

#include "compile/compiled_db.h"
#include "signatures/signature_set.h"

namespace vigil::match {

struct Data {
  const uint8_t* p;
  size_t n;
};

// Whether the offset rule lets a match start at `start` in data of size n.
bool OffsetAllows(const sig::Offset& o, size_t n, size_t start);

// The signature matches with its anchor ending at `end` (one past the last
// anchor byte).
bool VerifyAnchor(const sig::BodySig& s, const compile::Anchor& a, Data d, size_t end);

// The signature matches starting exactly at `start`.
bool VerifyAt(const sig::BodySig& s, Data d, size_t start);

// The signature matches ending exactly at `end` (one past its last byte),
// starting where its offset rule allows.
bool VerifyEndingAt(const sig::BodySig& s, Data d, size_t end);

// Candidate start positions for an offset-pinned signature: [lo, hi].
// Returns false when none lies inside the data.
bool PinnedRange(const sig::Offset& o, size_t n, size_t* lo, size_t* hi);

// Byte classes used by the specials (B) and (W).
bool IsBoundaryByte(uint8_t b);
bool IsNonAlnumByte(uint8_t b);

}  // namespace vigil::match
