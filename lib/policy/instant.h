// Instants for policy rules: RFC 3339 date-times that carry their zone, or
// Unix seconds. A rule that takes effect "at midnight" without saying where
// is ambiguous by up to 26 hours, so a time without a zone is an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::policy {

// The range every instant must lie in: 0000-01-01T00:00:00Z ..
// 9999-12-31T23:59:59Z (four-digit years, as RFC 3339 has them).
inline constexpr int64_t kMinInstant = -62167219200;
inline constexpr int64_t kMaxInstant = 253402300799;

struct ParsedInstant {
  int64_t seconds = 0;     // Unix seconds (fractions truncated toward the past)
  int offset_minutes = 0;  // the zone it was written in; 0 for Z and for epoch seconds
};

// "2024-09-29T00:00:00-04:00", "2024-09-29T04:00:00Z", "...T04:00:00.250Z"
// ('T' may be 't' or one space, 'Z' may be 'z'), or a bare integer of Unix
// seconds such as "1727582400". Leap seconds (:60) are rejected: Unix time
// cannot name them.
Result<ParsedInstant> ParseInstantWithOffset(std::string_view text);
Result<int64_t> ParseInstant(std::string_view text);

// "2024-09-29T04:00:00Z".
std::string FormatInstantUtc(int64_t t);
// "2024-09-29T00:00:00-04:00" (Z when the offset is 0).
std::string FormatInstant(int64_t t, int offset_minutes);
// The calendar date of `t` at that UTC offset: "2024-09-29".
std::string FormatDate(int64_t t, int offset_minutes);

// Days since 1970-01-01 of a proleptic Gregorian date (no range checks).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
bool ValidDate(int64_t y, int m, int d);

}  // namespace vigil::policy
