// `vigil scan --daemon[=SOCKET]`: a small clamd-protocol client (daemon_client.cc).
#pragma once

#include <string>
#include <vector>

namespace vigil::cli {

struct DaemonScanOptions {
  bool all_match = false;      // ALLMATCHSCAN for directories
  bool infected_only = false;  // no "PATH: OK" lines
  bool summary = true;
};

// $VIGILD_SOCKET, else vigild's packaged socket path.
std::string DefaultDaemonSocket();

// Scans `paths` ("-" is standard input) through the daemon at
// `socket_path` (a Unix socket path or HOST:PORT; empty: the default).
// Returns 0 clean, 1 found, 2 error.
int DaemonScan(const std::string& socket_path, const std::vector<std::string>& paths,
               const DaemonScanOptions& options);

}  // namespace vigil::cli
