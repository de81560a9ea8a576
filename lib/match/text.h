// Text detection and normalisation for target type 7 ("ASCII text")
// signatures, following what clamscan does (docs/CLAMAV-COMPAT.md).
#pragma once

#include <string>
#include <string_view>

namespace vigil::match {

// Whether the data is plain text by its leading bytes.
bool LooksLikeText(std::string_view data);

// Normalised form against which type-7 signatures are matched.
void NormalizeText(std::string_view in, std::string* out);

}  // namespace vigil::match
