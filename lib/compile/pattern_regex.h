// Translation of a body-signature pattern into a Hyperscan regular
// expression that accepts at least every match of the pattern. Used for
// signatures that have no good exact literal to prefilter on, and to
// benchmark whole-pattern matching. The expression is a prefilter: what
// clamscan does with zero-width specials, (L) before its anchor and chains
// of parts has no regex equivalent, so hits are verified (match/verify.h).
#pragma once

#include <string>

#include "signatures/pattern.h"
#include "vigil/status.h"

namespace vigil::compile {

// Constructs a regex cannot express exactly (zero-width specials, negated
// multi-byte or wildcard alternations) are widened to what they could
// match, never narrowed. So are gaps longer than kMaxRegexRepeat: Hyperscan
// compiles a bounded repeat of thousands of bytes slowly (seconds to
// minutes), an open-ended one fast. `*exact`, when given, says whether the
// expression accepts exactly the pattern's matches (then the first match
// is enough); a widened one must report every match for verification.
constexpr uint32_t kMaxRegexRepeat = 256;
Result<std::string> PatternToRegex(const sig::Pattern& p, bool* exact = nullptr);

}  // namespace vigil::compile
