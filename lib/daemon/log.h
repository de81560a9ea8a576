// vigild's log: a file (reopened on SIGHUP, for logrotate) or stderr.
// Thread-safe; each message is one line.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include "vigil/status.h"

namespace vigil::daemon {

class Logger {
 public:
  Logger() = default;
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Logs to `path` (appending), or to stderr when `path` is empty.
  // `with_time` prefixes each line with the local time, as clamd's LogTime.
  Status Open(const std::string& path, bool with_time);
  // Closes and opens the file again (after the file was rotated away).
  Status Reopen();
  void Log(const char* format, ...) __attribute__((format(printf, 2, 3)));

 private:
  std::mutex mu_;
  FILE* file_ = nullptr;  // nullptr: stderr
  std::string path_;
  bool with_time_ = false;
};

}  // namespace vigil::daemon
