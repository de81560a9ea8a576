// Exact verification of body signatures, with clamscan's semantics
// (docs/CLAMAV-COMPAT.md; every rule below was checked against clamscan).
//
// A pattern is a chain of parts (signatures/pattern.h). Inside a part the
// match is exact: every way the alternatives and byte ranges can fall is
// tried. A special in the middle of a part consumes one byte ((B): one of
// 0a 0d 20 22 27 2d 2e 2f 3c 3d 3e 40 5f; (W): not [0-9A-Za-z]; (L): LF, or
// CR LF). At the start of a part it tests the byte before ((B): 20 2d 2e 2f
// 3c 40 5f; (L): LF) and at the end the byte after ((B): 0a 0d 20 22 27 2d
// 2f 3d 3e 5f; (L): LF or CR LF), the edges of the data passing both.
// An offset rule constrains where the first part's core starts; when the
// first part has specials before clamscan's anchor, the start moved on by
// their number must pass the rule too (clamscan's first estimate of the
// start leaves them out).
//
// Parts are chained the way clamscan does it, which is not "some choice of
// occurrences fits": clamscan walks the data once, and for each part keeps
// the first end it has seen of the previous part plus the last 8 (in a ring).
// An occurrence of part k counts when one of those ends lies the right
// distance before it; a later part only remembers occurrences that counted.
// So a multi-part signature can miss where a regular expression would
// match: it is evaluated once per buffer, over the whole buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "compile/compiled_db.h"
#include "match/exe.h"
#include "signatures/signature_set.h"

namespace vigil::match {

// Answers computed over a whole buffer (multi-part signatures, and
// signatures found by a whole-pattern prefilter), kept for one scan of one
// buffer so that each is computed once however many prefilter hits ask.
class ScanMemo {
 public:
  // The stored answer for `s`, or nullptr.
  const bool* Find(const sig::BodySig* s) const {
    auto it = done_.find(s);
    return it == done_.end() ? nullptr : &it->second;
  }
  void Store(const sig::BodySig* s, bool matched) { done_[s] = matched; }

 private:
  std::unordered_map<const sig::BodySig*, bool> done_;
};

struct Data {
  const uint8_t* p;
  size_t n;
  // Optional memo for this buffer (see ScanMemo); without one, whole-buffer
  // answers are recomputed on each call.
  ScanMemo* memo = nullptr;
  // Whether offsets from the end ("EOF-n") can be evaluated on this buffer.
  // clamscan's in-memory pass over normalised text cannot: there, target-0
  // signatures with such offsets never match.
  bool eof_offsets = true;
  // The executable's layout, for EP and section offsets; without one they
  // never match.
  const ExeLayout* exe = nullptr;
};

// Whether the offset rule lets a match (its first part's core) start at
// `start` in data of size n.
bool OffsetAllows(const sig::Offset& o, size_t n, size_t start);

// The signature matches with its prefilter anchor ending at `end` (one past
// the last anchor byte); multi-part signatures are decided over the whole
// buffer.
bool VerifyAnchor(const sig::BodySig& s, const compile::Anchor& a, Data d, size_t end);

// The signature matches with its first part's core starting exactly at
// `start` (multi-part signatures: over the whole buffer, with the offset rule).
bool VerifyAt(const sig::BodySig& s, Data d, size_t start);

// The signature matches somewhere in the buffer, subject to its offset rule.
// Used for hits of a whole-pattern prefilter expression ending at `end`; the
// expression may accept more than the signature (zero-width specials, chains
// of parts), so the answer is computed over the whole buffer.
bool VerifyEndingAt(const sig::BodySig& s, Data d, size_t end);

// Candidate start positions for an offset-pinned signature: [lo, hi].
// Returns false when none lies inside the data. The first form knows no
// executable: EP and section offsets have no range there.
bool PinnedRange(const sig::Offset& o, size_t n, size_t* lo, size_t* hi);
bool PinnedRange(const sig::Offset& o, const Data& d, size_t* lo, size_t* hi);

// Byte classes of the specials: (B) in the middle of a part, before a part
// (left edge), after a part (right edge), and (W).
bool IsBoundaryByte(uint8_t b);
bool IsLeftBoundaryByte(uint8_t b);
bool IsRightBoundaryByte(uint8_t b);
bool IsNonAlnumByte(uint8_t b);

}  // namespace vigil::match
