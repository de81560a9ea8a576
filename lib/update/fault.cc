#include "update/fault.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vigil::update {

void FaultPoint(const char* step) {
  static const long kill_at = [] {
    const char* s = std::getenv("VIGIL_FAULT_STEP");
    return s && *s ? std::strtol(s, nullptr, 10) : 0L;
  }();
  static const bool trace = [] {
    const char* s = std::getenv("VIGIL_FAULT_TRACE");
    return s && *s && std::strcmp(s, "0") != 0;
  }();
  if (kill_at <= 0 && !trace) return;
  static std::atomic<long> count{0};
  long n = ++count;
  if (trace) {
    char line[160];
    int len = std::snprintf(line, sizeof line, "vigil-fault-step %ld %s\n", n, step);
    if (len > 0) (void)!write(STDERR_FILENO, line, static_cast<size_t>(len));
  }
  if (n == kill_at) {
    raise(SIGKILL);
    _exit(137);  // not reached
  }
}

}  // namespace vigil::update
