#include "report/report.h"

#include <cinttypes>

namespace vigil::report {
namespace {

void PrintSummary(FILE* out, const Summary& s) {
  std::fprintf(out, "\n----------- SCAN SUMMARY -----------\n");
  std::fprintf(out, "Known viruses: %" PRIu64 "\n", s.known);
  std::fprintf(out, "Engine version: vigil " VIGIL_VERSION "\n");
  std::fprintf(out, "Scanned directories: %" PRIu64 "\n", s.directories);
  std::fprintf(out, "Scanned files: %" PRIu64 "\n", s.files);
  std::fprintf(out, "Infected files: %" PRIu64 "\n", s.infected);
  if (s.errors) std::fprintf(out, "Total errors: %" PRIu64 "\n", s.errors);
  double mb = static_cast<double>(s.bytes_scanned) / (1024.0 * 1024.0);
  double rd = static_cast<double>(s.bytes_read) / (1024.0 * 1024.0);
  std::fprintf(out, "Data scanned: %.2f MB\n", mb);
  std::fprintf(out, "Data read: %.2f MB (ratio %.2f:1)\n", rd, rd > 0 ? mb / rd : 0.0);
  auto secs = static_cast<long long>(s.seconds);
  std::fprintf(out, "Time: %.3f sec (%lld m %lld s)\n", s.seconds, secs / 60, secs % 60);
  std::fprintf(out, "Start Date: %s\n", s.start_date.c_str());
  std::fprintf(out, "End Date:   %s\n", s.end_date.c_str());
}

class TextPrinter : public Printer {
 public:
  TextPrinter(FILE* out, TextOptions o) : out_(out), opt_(o) {}
  void File(const std::string& path, const ScanResult& r, double) override {
    switch (r.verdict) {
      case Verdict::kInfected:
        for (const auto& n : r.names) std::fprintf(out_, "%s: %s FOUND\n", path.c_str(), n.c_str());
        break;
      case Verdict::kClean:
      case Verdict::kSkipped:  // clamscan prints files over --max-filesize as OK
        if (!opt_.infected_only) {
          if (r.empty) std::fprintf(out_, "%s: Empty file\n", path.c_str());
          else std::fprintf(out_, "%s: OK\n", path.c_str());
        }
        break;
      case Verdict::kError:
        std::fprintf(out_, "%s: %s\n", path.c_str(), r.error_text.c_str());
        break;
    }
  }
  void Finish(const Summary& s, bool print_summary) override {
    if (print_summary) PrintSummary(out_, s);
    std::fflush(out_);
  }

 private:
  FILE* out_;
  TextOptions opt_;
};

class JsonPrinter : public Printer {
 public:
  explicit JsonPrinter(FILE* out) : out_(out) {}
  void File(const std::string& path, const ScanResult& r, double seconds) override {
    const char* v = r.verdict == Verdict::kInfected ? "infected"
                    : r.verdict == Verdict::kClean  ? "clean"
                    : r.verdict == Verdict::kSkipped ? "skipped" : "error";
    std::string line = "{\"path\":\"" + JsonEscape(path) + "\",\"verdict\":\"" + v + "\",\"signatures\":[";
    for (size_t i = 0; i < r.names.size(); ++i) {
      if (i) line += ',';
      line += '"' + JsonEscape(r.names[i]) + '"';
    }
    line += "],\"size\":" + std::to_string(r.size);
    char t[32];
    std::snprintf(t, sizeof t, "%.6f", seconds);
    line += ",\"time\":" + std::string(t);
    if (r.verdict == Verdict::kError) line += ",\"error\":\"" + JsonEscape(r.error.message()) + "\"";
    // Where inside containers each signature matched: "outer.zip//dir/inner.doc".
    if (!r.locations.empty()) {
      line += ",\"detections\":[";
      for (size_t i = 0; i < r.names.size() && i < r.locations.size(); ++i) {
        if (i) line += ',';
        std::string where = r.locations[i].empty() ? path : path + "//" + r.locations[i];
        line += "{\"signature\":\"" + JsonEscape(r.names[i]) + "\",\"path\":\"" + JsonEscape(where) + "\"}";
      }
      line += ']';
    }
    if (r.members) line += ",\"members\":" + std::to_string(r.members);
    if (!r.warnings.empty()) {
      line += ",\"warnings\":[";
      for (size_t i = 0; i < r.warnings.size(); ++i) {
        if (i) line += ',';
        line += '"' + JsonEscape(r.warnings[i]) + '"';
      }
      line += ']';
    }
    line += "}\n";
    std::fputs(line.c_str(), out_);
  }
  void Finish(const Summary& s, bool print_summary) override {
    if (print_summary) {
      std::fprintf(out_,
                   "{\"summary\":{\"known_viruses\":%" PRIu64 ",\"scanned_directories\":%" PRIu64
                   ",\"scanned_files\":%" PRIu64 ",\"infected_files\":%" PRIu64
                   ",\"errors\":%" PRIu64 ",\"data_scanned\":%" PRIu64 ",\"time\":%.3f}}\n",
                   s.known, s.directories, s.files, s.infected, s.errors, s.bytes_scanned, s.seconds);
    }
    std::fflush(out_);
  }

 private:
  FILE* out_;
};

}  // namespace

std::string JsonEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    // Valid UTF-8 sequences pass through; stray bytes are escaped.
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (valid && len > 1) {
      // Well-formed means shortest form, no UTF-16 surrogates, at most U+10FFFF.
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      valid = len == 2   ? c >= 0xc2
              : len == 3 ? (c != 0xe0 || c1 >= 0xa0) && (c != 0xed || c1 < 0xa0)
                         : c <= 0xf4 && (c != 0xf0 || c1 >= 0x90) && (c != 0xf4 || c1 < 0x90);
    }
    if (!valid) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
      continue;
    }
    if (len > 1) { out.append(s, i, len); i += len; continue; }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  return out;
}

std::unique_ptr<Printer> MakeTextPrinter(FILE* out, TextOptions o) {
  return std::make_unique<TextPrinter>(out, o);
}
std::unique_ptr<Printer> MakeJsonPrinter(FILE* out) { return std::make_unique<JsonPrinter>(out); }

}  // namespace vigil::report
