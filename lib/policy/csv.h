// An RFC 4180 CSV reader for denied-party lists: quoted fields with ""
// escapes and embedded newlines, CRLF or LF line ends, a leading UTF-8 BOM
// skipped. Blank lines are skipped (lists often end with one). Strict about
// malformed quoting: a screening list read wrongly screens nobody.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::policy {

inline constexpr size_t kMaxCsvField = 1 << 20;  // 1 MiB

struct CsvRecord {
  int line = 0;  // the line the record starts on (1-based)
  std::vector<std::string> fields;
};

// Errors are "FILE:LINE: reason": an unterminated quote, junk after a
// closing quote, a quote inside an unquoted field, a NUL byte, a field over
// kMaxCsvField bytes.
Result<std::vector<CsvRecord>> ParseCsvRecords(std::string_view text, const std::string& file_name);
Result<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text, const std::string& file_name);

}  // namespace vigil::policy
