// vigild's server: clamd's protocol over a Unix socket and optional TCP.
//
// Threads:
//  - one event loop (epoll) accepts connections and reads commands. Idle
//    and slow clients cost a descriptor and a small buffer, never a thread.
//    Cheap commands (PING, VERSION, STATS, RELOAD, ...) are answered there.
//  - a pool of up to MaxThreads workers (started on demand, gone after
//    IdleTimeout seconds idle) runs the commands that scan
//    (SCAN, CONTSCAN, MULTISCAN, ALLMATCHSCAN, INSTREAM, FILDES), taken from
//    a queue of at most MaxQueue commands. A worker reads INSTREAM data
//    itself, so stream memory is bounded by MaxThreads x StreamMaxLength;
//    a stream too slow to keep a worker while others wait loses it.
//  - one reload thread compiles a new engine beside the live one, then
//    swaps a shared_ptr<const Engine>; scans in flight keep the engine they
//    started with; a failed load keeps the old engine and is logged.
// Signals (blocked in every thread by BlockSignals, read by the loop):
// SIGTERM/SIGINT stop, SIGUSR2 reloads, SIGHUP reopens the log file.
#pragma once

#include <memory>
#include <vector>

#include "daemon/config.h"
#include "daemon/log.h"
#include "vigil/status.h"

namespace vigil::daemon {

// Blocks the signals the server handles, in the calling thread and so in
// every thread it starts later. Call before Server::Start.
void BlockSignals();

// Descriptors passed by systemd socket activation (LISTEN_PID/LISTEN_FDS),
// or none. Clears the variables so that children do not inherit them.
std::vector<int> ActivatedSockets();

class Server {
 public:
  Server(Config config, Logger* log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the database and opens the sockets: the configured ones, or
  // `activated` (listening sockets from systemd) when not empty.
  Status Start(std::vector<int> activated);

  // Serves until SHUTDOWN, SIGTERM or SIGINT. In-flight commands get a
  // bounded time to finish; after it their connections are shut down.
  // Returns false if some worker still had not stopped (the caller should
  // then leave with _exit).
  bool Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::daemon
