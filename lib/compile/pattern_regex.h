// Translation of a body-signature pattern into a Hyperscan regular
// expression with the same language. Used for signatures that have no exact
// literal to prefilter on, and to benchmark whole-pattern matching.
#pragma once

#include <string>

#include "signatures/pattern.h"
#include "vigil/status.h"

namespace vigil::compile {

// Fails (kUnsupported) for constructs with no regex equivalent, such as a
// negated alternation of multi-byte sequences.
Result<std::string> PatternToRegex(const sig::Pattern& p);

}  // namespace vigil::compile
