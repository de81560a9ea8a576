// Text detection and normalisation for target type 7 ("ASCII text")
// signatures, following what clamscan does (docs/CLAMAV-COMPAT.md §2; each
// rule checked against clamscan 1.4.6).
#pragma once

#include <string>
#include <string_view>

namespace vigil::match {

// Whether clamscan treats the data as text (ASCII, UTF-8 or UTF-16), which
// makes it scan the normalised text as well. It judges by the first 1024
// bytes, after the file-type magic numbers it knows: data that starts like
// an executable, an archive, an image, a mail message and so on is not text.
//  - ASCII: none of those bytes is one that never appears in text
//    (00-06, 0b, 0e-1a, 1c-1f, 7f); bytes from 80 up are allowed.
//  - UTF-8: valid UTF-8 whose ASCII bytes are all text characters.
//  - UTF-16: with a byte-order mark, unless at least half its units are
//    control characters; without one, read as big-endian units from offset
//    2, unless some unit below 0x80 is not a text character.
bool LooksLikeText(std::string_view data);

// The normalised text target-7 signatures (and, a second time, target-0
// signatures) are matched against: upper case becomes lower case; 09-0d and
// 20 become a space, a run of them (and of removed bytes) one space; other
// control bytes (00-08, 0e-1f) and bytes from 80 up are removed.
void NormalizeText(std::string_view in, std::string* out);

}  // namespace vigil::match
