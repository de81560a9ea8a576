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
// match, never narrowed.
Result<std::string> PatternToRegex(const sig::Pattern& p);

}  // namespace vigil::compile
