// vigild's configuration: clamd.conf's syntax and key names, for the
// options Vigil supports.
//
// Syntax: one "Key Value" per line, separated by blanks; '#' starts a
// comment line; blank lines are ignored. Keys are case-sensitive as in
// clamd. BOOL is yes/no/true/false/on/off/1/0; SIZE is a number with an
// optional K or M (or G) suffix. A key given twice keeps the last value,
// except the list keys (TCPAddr, ExcludePath), which accumulate. An unknown
// key or a malformed value is an error "FILE:LINE: reason".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::daemon {

struct Config {
  // Sockets.
  std::string local_socket;                 // LocalSocket; empty: none
  mode_t local_socket_mode = 0666;          // LocalSocketMode (octal)
  std::string local_socket_group;           // LocalSocketGroup; empty: unchanged
  int tcp_socket = 0;                       // TCPSocket port; 0: no TCP
  std::vector<std::string> tcp_addr;        // TCPAddr; empty means 127.0.0.1 only
  int max_connection_queue_length = 200;    // listen() backlog

  // Work.
  unsigned max_threads = 10;                // MaxThreads: the fixed worker pool
  unsigned max_queue = 100;                 // MaxQueue: commands waiting or running
  uint64_t stream_max_length = 100ull << 20;  // StreamMaxLength: bytes per INSTREAM
  unsigned read_timeout = 120;              // ReadTimeout: seconds between data reads
  unsigned command_read_timeout = 30;       // CommandReadTimeout: seconds for a command
  unsigned idle_timeout = 30;               // IdleTimeout: seconds an idle worker waits before exiting (0: never)
  unsigned send_buf_timeout = 500;          // SendBufTimeout: ms a reply may wait to be sent

  // Database.
  std::string database_directory;           // DatabaseDirectory
  unsigned self_check = 600;                // SelfCheck: seconds between database checks
  bool concurrent_database_reload = true;   // ConcurrentDatabaseReload

  // Logging and process.
  std::string log_file;                     // LogFile; empty: stderr when in foreground
  bool log_time = false;                    // LogTime
  bool log_verbose = false;                 // LogVerbose
  std::string pid_file;                     // PidFile
  bool foreground = false;                  // Foreground

  // Scanning.
  std::vector<std::string> exclude_path;    // ExcludePath (extended regular expressions)
  uint64_t max_scan_size = 400ull << 20;    // MaxScanSize
  uint64_t max_file_size = 100ull << 20;    // MaxFileSize: larger files are not scanned
  unsigned max_recursion = 17;              // MaxRecursion (containers)
  unsigned max_files = 10000;               // MaxFiles (containers)
  unsigned max_directory_recursion = 15;    // MaxDirectoryRecursion
  uint64_t max_scan_time = 120000;          // MaxScanTime (ms)
  uint64_t max_embedded_pe = 40ull << 20;   // MaxEmbeddedPE
  uint64_t max_html_normalize = 40ull << 20;  // MaxHTMLNormalize
  uint64_t max_html_no_tags = 8ull << 20;   // MaxHTMLNoTags
  uint64_t max_script_normalize = 20ull << 20;  // MaxScriptNormalize
  uint64_t max_zip_type_rcg = 1ull << 20;   // MaxZipTypeRcg
  unsigned max_partitions = 50;             // MaxPartitions
  unsigned max_icons_pe = 100;              // MaxIconsPE
  bool scan_archive = true;                 // ScanArchive
  bool alert_exceeds_max = false;           // AlertExceedsMax: Heuristics.Limits.Exceeded.*
  bool alert_encrypted = false;             // AlertEncrypted: Heuristics.Encrypted.*

  // Administrative commands.
  bool enable_shutdown_command = true;      // EnableShutdownCommand
  bool enable_reload_command = true;        // EnableReloadCommand
  bool enable_stats_command = true;         // EnableStatsCommand
  bool enable_version_command = true;       // EnableVersionCommand
};

// Parses configuration text; `file_name` is used in error messages.
Result<Config> ParseConfig(std::string_view text, std::string_view file_name);

// Reads and parses a configuration file.
Result<Config> LoadConfig(const std::string& path);

}  // namespace vigil::daemon
