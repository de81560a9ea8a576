#include "daemon/config.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vigil::daemon {
namespace {

// Each value parser returns an empty string on success, else the reason.
using Setter = std::string (*)(Config&, std::string_view);

std::string ParseBool(std::string_view v, bool* out) {
  std::string s(v);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "yes" || s == "true" || s == "on" || s == "1") *out = true;
  else if (s == "no" || s == "false" || s == "off" || s == "0") *out = false;
  else return "expected yes or no, got '" + std::string(v) + "'";
  return {};
}

std::string ParseU64(std::string_view v, uint64_t max, uint64_t* out) {
  if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos)
    return "expected a number, got '" + std::string(v) + "'";
  std::string s(v);
  errno = 0;
  unsigned long long n = std::strtoull(s.c_str(), nullptr, 10);
  if (errno == ERANGE || n > max) return "number out of range: " + s;
  *out = n;
  return {};
}

std::string ParseUnsigned(std::string_view v, unsigned max, unsigned* out) {
  uint64_t n = 0;
  std::string e = ParseU64(v, max, &n);
  if (e.empty()) *out = static_cast<unsigned>(n);
  return e;
}

// A size: digits and an optional K, M or G suffix (either case).
std::string ParseSize(std::string_view v, uint64_t* out) {
  if (v.empty()) return "expected a size";
  uint64_t mult = 1;
  switch (v.back()) {
    case 'k': case 'K': mult = 1ull << 10; v.remove_suffix(1); break;
    case 'm': case 'M': mult = 1ull << 20; v.remove_suffix(1); break;
    case 'g': case 'G': mult = 1ull << 30; v.remove_suffix(1); break;
    default: break;
  }
  uint64_t n = 0;
  std::string e = ParseU64(v, (1ull << 50) / mult, &n);
  if (!e.empty()) return "expected a size such as 25M, got '" + std::string(v) + "'";
  *out = n * mult;
  return {};
}

#define VIGIL_STRING(field) \
  [](Config& c, std::string_view v) -> std::string { c.field = std::string(v); return {}; }
#define VIGIL_LIST(field) \
  [](Config& c, std::string_view v) -> std::string { c.field.emplace_back(v); return {}; }
#define VIGIL_BOOL(field) \
  [](Config& c, std::string_view v) -> std::string { return ParseBool(v, &c.field); }
#define VIGIL_NUM(field, max) \
  [](Config& c, std::string_view v) -> std::string { return ParseUnsigned(v, max, &c.field); }
#define VIGIL_SIZE(field) \
  [](Config& c, std::string_view v) -> std::string { return ParseSize(v, &c.field); }
#define VIGIL_MS(field) \
  [](Config& c, std::string_view v) -> std::string { return ParseU64(v, 1ull << 40, &c.field); }

struct Key {
  std::string_view name;
  Setter set;
};

const Key kKeys[] = {
    {"LocalSocket", VIGIL_STRING(local_socket)},
    {"LocalSocketMode",
     [](Config& c, std::string_view v) -> std::string {
       if (v.empty() || v.size() > 4 || v.find_first_not_of("01234567") != std::string_view::npos)
         return "expected an octal mode such as 660, got '" + std::string(v) + "'";
       c.local_socket_mode = static_cast<mode_t>(std::strtoul(std::string(v).c_str(), nullptr, 8));
       return {};
     }},
    {"LocalSocketGroup", VIGIL_STRING(local_socket_group)},
    {"TCPSocket",
     [](Config& c, std::string_view v) -> std::string {
       unsigned port = 0;
       std::string e = ParseUnsigned(v, 65535, &port);
       if (e.empty() && port == 0) e = "port must be 1 to 65535";
       c.tcp_socket = static_cast<int>(port);
       return e;
     }},
    {"TCPAddr", VIGIL_LIST(tcp_addr)},
    {"MaxConnectionQueueLength",
     [](Config& c, std::string_view v) -> std::string {
       unsigned n = 0;
       std::string e = ParseUnsigned(v, 65535, &n);
       if (e.empty() && n == 0) e = "must be at least 1";
       c.max_connection_queue_length = static_cast<int>(n);
       return e;
     }},
    {"MaxThreads",
     [](Config& c, std::string_view v) -> std::string {
       std::string e = ParseUnsigned(v, 1024, &c.max_threads);
       if (e.empty() && c.max_threads == 0) e = "must be at least 1";
       return e;
     }},
    {"MaxQueue",
     [](Config& c, std::string_view v) -> std::string {
       std::string e = ParseUnsigned(v, 1u << 20, &c.max_queue);
       if (e.empty() && c.max_queue == 0) e = "must be at least 1";
       return e;
     }},
    {"StreamMaxLength",
     [](Config& c, std::string_view v) -> std::string {
       std::string e = ParseSize(v, &c.stream_max_length);
       if (e.empty() && c.stream_max_length >= (4ull << 30)) e = "must be under 4G";
       if (e.empty() && c.stream_max_length == 0) e = "must be at least 1";
       return e;
     }},
    {"ReadTimeout", VIGIL_NUM(read_timeout, 86400)},
    {"CommandReadTimeout", VIGIL_NUM(command_read_timeout, 86400)},
    {"IdleTimeout", VIGIL_NUM(idle_timeout, 86400)},
    {"SendBufTimeout", VIGIL_NUM(send_buf_timeout, 3600000)},
    {"DatabaseDirectory", VIGIL_STRING(database_directory)},
    {"SelfCheck", VIGIL_NUM(self_check, 86400 * 7)},
    {"ConcurrentDatabaseReload", VIGIL_BOOL(concurrent_database_reload)},
    {"LogFile", VIGIL_STRING(log_file)},
    {"LogTime", VIGIL_BOOL(log_time)},
    {"LogVerbose", VIGIL_BOOL(log_verbose)},
    {"PidFile", VIGIL_STRING(pid_file)},
    {"Foreground", VIGIL_BOOL(foreground)},
    {"ExcludePath", VIGIL_LIST(exclude_path)},
    {"MaxScanSize", VIGIL_SIZE(max_scan_size)},
    {"MaxFileSize", VIGIL_SIZE(max_file_size)},
    {"MaxRecursion", VIGIL_NUM(max_recursion, 4096)},
    {"MaxFiles", VIGIL_NUM(max_files, 1u << 30)},
    {"MaxDirectoryRecursion", VIGIL_NUM(max_directory_recursion, 4096)},
    {"MaxScanTime", VIGIL_MS(max_scan_time)},
    {"MaxEmbeddedPE", VIGIL_SIZE(max_embedded_pe)},
    {"MaxHTMLNormalize", VIGIL_SIZE(max_html_normalize)},
    {"MaxHTMLNoTags", VIGIL_SIZE(max_html_no_tags)},
    {"MaxScriptNormalize", VIGIL_SIZE(max_script_normalize)},
    {"MaxZipTypeRcg", VIGIL_SIZE(max_zip_type_rcg)},
    {"MaxPartitions", VIGIL_NUM(max_partitions, 1u << 20)},
    {"MaxIconsPE", VIGIL_NUM(max_icons_pe, 1u << 20)},
    {"ScanArchive", VIGIL_BOOL(scan_archive)},
    {"AlertExceedsMax", VIGIL_BOOL(alert_exceeds_max)},
    {"AlertEncrypted", VIGIL_BOOL(alert_encrypted)},
    {"EnableShutdownCommand", VIGIL_BOOL(enable_shutdown_command)},
    {"EnableReloadCommand", VIGIL_BOOL(enable_reload_command)},
    {"EnableStatsCommand", VIGIL_BOOL(enable_stats_command)},
    {"EnableVersionCommand", VIGIL_BOOL(enable_version_command)},
};

#undef VIGIL_STRING
#undef VIGIL_LIST
#undef VIGIL_BOOL
#undef VIGIL_NUM
#undef VIGIL_SIZE
#undef VIGIL_MS

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

Result<Config> ParseConfig(std::string_view text, std::string_view file_name) {
  Config c;
  size_t line_no = 0;
  auto fail = [&](const std::string& reason) {
    return Status::InvalidArgument(std::string(file_name) + ":" + std::to_string(line_no) + ": " +
                                   reason);
  };
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.find('\0') != std::string_view::npos) return fail("NUL byte in line");
    size_t sp = 0;
    while (sp < line.size() && !IsBlank(line[sp])) ++sp;
    std::string_view name = line.substr(0, sp);
    std::string_view value = Trim(line.substr(sp));
    if (name == "Example") return fail("remove the 'Example' line to use this file");
    const Key* key = nullptr;
    for (const Key& k : kKeys)
      if (k.name == name) key = &k;
    if (key == nullptr) {
      for (const Key& k : kKeys)
        if (EqualsIgnoreCase(k.name, name))
          return fail("unknown option '" + std::string(name) + "' (did you mean '" +
                      std::string(k.name) + "'?)");
      return fail("unknown option '" + std::string(name) + "'");
    }
    if (value.empty()) return fail("option '" + std::string(name) + "' needs a value");
    // clamd.conf allows a value in double quotes (paths with blanks).
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    std::string err = key->set(c, value);
    if (!err.empty()) return fail(std::string(name) + ": " + err);
  }
  return c;
}

Result<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError(path + ": cannot read configuration file");
  return ParseConfig(ss.str(), path);
}

}  // namespace vigil::daemon
