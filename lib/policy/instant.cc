#include "policy/instant.h"

#include <cstdio>

namespace vigil::policy {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

Status Bad(std::string_view text, const char* why) {
  std::string shown(text.substr(0, 64));
  return Status::InvalidArgument("bad instant \"" + shown + "\": " + why);
}

struct Civil {
  int64_t y;
  unsigned m, d;
};

// The inverse of DaysFromCivil (H. Hinnant's era arithmetic, restated).
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                  // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                // March-based month
  const unsigned d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const unsigned m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

// Keeps formatting total on any int64 input (the fuzzers feed it garbage).
int64_t Clamp(int64_t t) { return t < kMinInstant ? kMinInstant : t > kMaxInstant ? kMaxInstant : t; }

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ValidDate(int64_t y, int m, int d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

Result<ParsedInstant> ParseInstantWithOffset(std::string_view text) {
  if (text.empty()) return Bad(text, "empty");
  // Unix seconds: an optional '-' and at most 12 digits keep it in range.
  size_t sign = text[0] == '-' ? 1 : 0;
  if (text.size() > sign && text.find_first_not_of("0123456789", sign) == std::string_view::npos) {
    if (text.size() - sign > 12) return Bad(text, "epoch seconds out of range");
    int64_t v = 0;
    for (size_t i = sign; i < text.size(); ++i) v = v * 10 + (text[i] - '0');
    if (sign) v = -v;
    if (v < kMinInstant || v > kMaxInstant) return Bad(text, "epoch seconds out of range");
    return ParsedInstant{v, 0};
  }
  int y, mo, d, h, mi, s;
  if (!Digits(text, 0, 4, &y) || text.size() < 5 || text[4] != '-' || !Digits(text, 5, 2, &mo) ||
      text.size() < 8 || text[7] != '-' || !Digits(text, 8, 2, &d))
    return Bad(text, "expected YYYY-MM-DDTHH:MM:SS with a zone (Z or +HH:MM), or Unix seconds");
  if (mo < 1 || mo > 12) return Bad(text, "month out of range");
  if (!ValidDate(y, mo, d)) return Bad(text, "day out of range for the month");
  if (text.size() == 10) return Bad(text, "a date alone is not an instant: needs a time and a time zone");
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return Bad(text, "expected 'T' after the date");
  if (!Digits(text, 11, 2, &h) || text.size() < 14 || text[13] != ':' || !Digits(text, 14, 2, &mi) ||
      text.size() < 17 || text[16] != ':' || !Digits(text, 17, 2, &s))
    return Bad(text, "expected HH:MM:SS after the date");
  if (h > 23) return Bad(text, "hour out of range");
  if (mi > 59) return Bad(text, "minute out of range");
  if (s > 59) return Bad(text, "second out of range (leap seconds are not supported)");
  size_t p = 19;
  if (p < text.size() && text[p] == '.') {
    size_t q = p + 1;
    while (q < text.size() && text[q] >= '0' && text[q] <= '9') ++q;
    if (q == p + 1) return Bad(text, "expected digits after '.'");
    p = q;
  }
  if (p == text.size()) return Bad(text, "needs a time zone (Z or an offset such as -04:00)");
  int offset = 0;
  if (text[p] == 'Z' || text[p] == 'z') {
    ++p;
  } else if (text[p] == '+' || text[p] == '-') {
    int oh, om;
    if (!Digits(text, p + 1, 2, &oh) || p + 3 >= text.size() || text[p + 3] != ':' || !Digits(text, p + 4, 2, &om))
      return Bad(text, "expected a zone offset of the form +HH:MM");
    if (oh > 23 || om > 59) return Bad(text, "zone offset out of range");
    offset = (oh * 60 + om) * (text[p] == '-' ? -1 : 1);
    p += 6;
  } else {
    return Bad(text, "needs a time zone (Z or an offset such as -04:00)");
  }
  if (p != text.size()) return Bad(text, "junk after the time zone");
  int64_t t = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + s -
              int64_t{offset} * 60;
  if (t < kMinInstant || t > kMaxInstant) return Bad(text, "out of range once converted to UTC");
  return ParsedInstant{t, offset};
}

Result<int64_t> ParseInstant(std::string_view text) {
  auto r = ParseInstantWithOffset(text);
  if (!r.ok()) return r.status();
  return r->seconds;
}

std::string FormatInstant(int64_t t, int offset_minutes) {
  if (offset_minutes < -1439 || offset_minutes > 1439) offset_minutes = 0;
  const int64_t local = Clamp(t) + int64_t{offset_minutes} * 60;
  const int64_t days = FloorDiv(local, 86400);
  const int64_t sec = local - days * 86400;
  const Civil c = CivilFromDays(days);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d", static_cast<long long>(c.y), c.m, c.d,
                        static_cast<int>(sec / 3600), static_cast<int>(sec / 60 % 60), static_cast<int>(sec % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (offset_minutes == 0) return out + "Z";
  const int a = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
  return out + buf;
}

std::string FormatInstantUtc(int64_t t) { return FormatInstant(t, 0); }

std::string FormatDate(int64_t t, int offset_minutes) { return FormatInstant(t, offset_minutes).substr(0, 10); }

}  // namespace vigil::policy
