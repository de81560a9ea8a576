#include "daemon/log.h"

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <ctime>

namespace vigil::daemon {

Logger::~Logger() {
  if (file_) std::fclose(file_);
}

Status Logger::Open(const std::string& path, bool with_time) {
  std::lock_guard<std::mutex> l(mu_);
  with_time_ = with_time;
  path_ = path;
  if (path.empty()) return Status::Ok();
  FILE* f = std::fopen(path.c_str(), "ae");
  if (!f) return Status::IoError(path + ": cannot open log file: " + std::strerror(errno));
  if (file_) std::fclose(file_);
  file_ = f;
  return Status::Ok();
}

Status Logger::Reopen() {
  std::lock_guard<std::mutex> l(mu_);
  if (path_.empty()) return Status::Ok();
  FILE* f = std::fopen(path_.c_str(), "ae");
  if (!f) return Status::IoError(path_ + ": cannot reopen log file: " + std::strerror(errno));
  if (file_) std::fclose(file_);
  file_ = f;
  return Status::Ok();
}

void Logger::Log(const char* format, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, format);
  std::vsnprintf(msg, sizeof msg, format, ap);
  va_end(ap);
  std::lock_guard<std::mutex> l(mu_);
  FILE* out = file_ ? file_ : stderr;
  if (with_time_) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char ts[64];
    std::strftime(ts, sizeof ts, "%a %b %e %H:%M:%S %Y", &tm);
    std::fprintf(out, "%s -> %s\n", ts, msg);
  } else {
    std::fprintf(out, "%s\n", msg);
  }
  std::fflush(out);
}

}  // namespace vigil::daemon
