// Printers for scan results, one interface (text like clamscan, JSON lines).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "vigil/verdict.h"

namespace vigil::report {

struct Summary {
  uint64_t known = 0;
  uint64_t directories = 0;
  uint64_t files = 0;
  uint64_t infected = 0;
  uint64_t errors = 0;
  uint64_t bytes_scanned = 0;
  uint64_t bytes_read = 0;
  double seconds = 0;
  std::string start_date, end_date;  // "YYYY:MM:DD HH:MM:SS"
};

class Printer {
 public:
  virtual ~Printer() = default;
  // One scanned file (or a path that could not be scanned).
  virtual void File(const std::string& path, const ScanResult& r, double seconds) = 0;
  virtual void Finish(const Summary& s, bool print_summary) = 0;
};

struct TextOptions {
  bool infected_only = false;  // -i: no "PATH: OK" lines
};

std::unique_ptr<Printer> MakeTextPrinter(FILE* out, TextOptions options);
std::unique_ptr<Printer> MakeJsonPrinter(FILE* out);

// JSON string escaping (bytes that are not valid UTF-8 become \u00XX).
std::string JsonEscape(const std::string& s);

}  // namespace vigil::report
