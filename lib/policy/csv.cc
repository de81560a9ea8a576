#include "policy/csv.h"

namespace vigil::policy {
namespace {

Status Error(const std::string& file, int line, const std::string& why) {
  return Status::Corruption(file + ":" + std::to_string(line) + ": " + why);
}

}  // namespace

Result<std::vector<CsvRecord>> ParseCsvRecords(std::string_view text, const std::string& file_name) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> out;
  int line = 1;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    // A blank line (LF or CRLF alone) is not a record of one empty field.
    if (text[i] == '\n') { ++line; ++i; continue; }
    if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') { ++line; i += 2; continue; }
    CsvRecord rec;
    rec.line = line;
    for (;;) {  // one field per iteration
      std::string field;
      const int field_line = line;
      if (i < n && text[i] == '"') {
        ++i;
        for (;;) {
          if (i >= n) return Error(file_name, field_line, "unterminated quoted field");
          char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') { field.push_back('"'); i += 2; continue; }
            ++i;
            break;
          }
          if (c == '\0') return Error(file_name, line, "NUL byte");
          if (c == '\n') ++line;
          field.push_back(c);
          ++i;
          if (field.size() > kMaxCsvField) return Error(file_name, field_line, "field longer than 1 MiB");
        }
        if (i < n && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n'))
          return Error(file_name, line, "unexpected character after a closing quote");
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n') {
          char c = text[i];
          if (c == '\r' && i + 1 < n && text[i + 1] == '\n') break;
          if (c == '"') return Error(file_name, line, "quote inside an unquoted field (quote the whole field)");
          if (c == '\0') return Error(file_name, line, "NUL byte");
          field.push_back(c);
          ++i;
          if (field.size() > kMaxCsvField) return Error(file_name, field_line, "field longer than 1 MiB");
        }
      }
      rec.fields.push_back(std::move(field));
      if (i < n && text[i] == ',') { ++i; continue; }
      // End of record: LF, CRLF or the end of the text.
      if (i < n && text[i] == '\r') ++i;
      if (i < n && text[i] == '\n') { ++i; ++line; }
      break;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

Result<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text, const std::string& file_name) {
  auto records = ParseCsvRecords(text, file_name);
  if (!records.ok()) return records.status();
  std::vector<std::vector<std::string>> rows;
  rows.reserve(records->size());
  for (auto& r : *records) rows.push_back(std::move(r.fields));
  return rows;
}

}  // namespace vigil::policy
